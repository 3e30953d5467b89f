/**
 * The schema registry over the catalog's `schemas` rows (every (type, encoding, definition hash) ingest
 * has seen, with first/last capture): versions per type in order of first sight, each classified
 * against the one before, and diffs between any two definitions.
 */
import type { Catalog, SchemaRecord } from "../../catalog/index.ts";
import { StrataError } from "../../core/index.ts";
import { normalizeTypeName } from "../../formats/index.ts";
import { classifySchemaChange, type SchemaDiff } from "./evolution.ts";

export interface SchemaVersionInfo {
  /** 1 for the first definition of the type seen. */
  version: number;
  schemaHash: string;
  name: string;
  encoding: string;
  firstSeenNs: bigint;
  firstCaptureId: string | null;
  lastCaptureId: string | null;
  /** Capture topics recorded with this definition. */
  topicCount: number;
  /** Against the previous version (absent for version 1). */
  change?: SchemaDiff;
}

export interface SchemaTypeSummary {
  name: string;
  encoding: string;
  versions: number;
  latestHash: string;
  firstSeenNs: bigint;
  lastCaptureId: string | null;
  topicCount: number;
  breakingChanges: number;
  compatibleChanges: number;
}

export interface SchemaTypeHistory {
  name: string;
  encoding: string;
  versions: SchemaVersionInfo[];
}

async function allSchemas(catalog: Catalog): Promise<SchemaRecord[]> {
  const rows = await catalog.db
    .selectFrom("schemas")
    .selectAll()
    .orderBy("first_seen_ns", "asc")
    .orderBy("schema_hash")
    .execute();
  return rows.map((r) => ({
    schemaHash: r.schema_hash,
    name: r.name,
    encoding: r.encoding,
    definition: r.definition,
    firstCaptureId: r.first_capture_id,
    lastCaptureId: r.last_capture_id,
    firstSeenNs: r.first_seen_ns,
  }));
}

async function topicCounts(catalog: Catalog): Promise<Map<string, number>> {
  const rows = await catalog.db
    .selectFrom("topics")
    .select((eb) => ["schema_hash", eb.fn.countAll<number | bigint | string>().as("n")])
    .where("schema_hash", "is not", null)
    .groupBy("schema_hash")
    .execute();
  return new Map(rows.map((r) => [r.schema_hash as string, Number(r.n)]));
}

/** Every (name, encoding) with its versions in order of first sight, each classified against the previous. */
export async function schemaHistories(catalog: Catalog): Promise<SchemaTypeHistory[]> {
  const [schemas, counts] = await Promise.all([allSchemas(catalog), topicCounts(catalog)]);
  const groups = new Map<string, SchemaRecord[]>();
  for (const s of schemas) {
    const key = `${s.name}\u0000${s.encoding}`;
    const list = groups.get(key) ?? [];
    list.push(s);
    groups.set(key, list);
  }
  const out: SchemaTypeHistory[] = [];
  for (const list of groups.values()) {
    const first = list[0] as SchemaRecord;
    const versions = list.map((s, i): SchemaVersionInfo => {
      const info: SchemaVersionInfo = {
        version: i + 1,
        schemaHash: s.schemaHash,
        name: s.name,
        encoding: s.encoding,
        firstSeenNs: s.firstSeenNs,
        firstCaptureId: s.firstCaptureId,
        lastCaptureId: s.lastCaptureId,
        topicCount: counts.get(s.schemaHash) ?? 0,
      };
      const previous = list[i - 1];
      if (previous)
        info.change = classifySchemaChange(
          s.name,
          { encoding: previous.encoding, text: previous.definition },
          { encoding: s.encoding, text: s.definition },
        );
      return info;
    });
    out.push({ name: first.name, encoding: first.encoding, versions });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || a.encoding.localeCompare(b.encoding));
}

export async function listSchemaTypes(catalog: Catalog): Promise<SchemaTypeSummary[]> {
  return (await schemaHistories(catalog)).map((h) => {
    const latest = h.versions[h.versions.length - 1] as SchemaVersionInfo;
    const first = h.versions[0] as SchemaVersionInfo;
    return {
      name: h.name,
      encoding: h.encoding,
      versions: h.versions.length,
      latestHash: latest.schemaHash,
      firstSeenNs: first.firstSeenNs,
      lastCaptureId: latest.lastCaptureId,
      topicCount: h.versions.reduce((n, v) => n + v.topicCount, 0),
      breakingChanges: h.versions.filter((v) => v.change?.compatibility === "breaking").length,
      compatibleChanges: h.versions.filter((v) => v.change?.compatibility === "compatible").length,
    };
  });
}

/** The histories of a type (`pkg/Type` and `pkg/msg/Type` match), or of the type a hash (prefix) belongs to. */
export async function showSchemaType(catalog: Catalog, ref: string): Promise<SchemaTypeHistory[]> {
  const histories = await schemaHistories(catalog);
  const byHash = /^[0-9a-f]{6,64}$/.test(ref)
    ? histories.filter((h) => h.versions.some((v) => v.schemaHash.startsWith(ref)))
    : [];
  const found =
    byHash.length > 0
      ? byHash
      : histories.filter((h) => normalizeTypeName(h.name) === normalizeTypeName(ref));
  if (found.length === 0)
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no schema ${ref}`,
      {},
      { hint: "List schemas with `strata schema list`." },
    );
  return found;
}

/**
 * One definition by reference: a SHA-256 hash or a unique prefix of at least 6 hex digits, or
 * `TYPE@N` (the N-th definition of TYPE seen; `TYPE@latest` for the newest).
 */
export async function resolveSchema(
  catalog: Catalog,
  ref: string,
): Promise<SchemaRecord & { version: number }> {
  const schemas = await allSchemas(catalog);
  const at = /^(.+)@(\d+|latest)$/.exec(ref);
  if (at) {
    const name = normalizeTypeName(at[1] as string);
    const list = schemas.filter((s) => normalizeTypeName(s.name) === name);
    const encodings = new Set(list.map((s) => s.encoding));
    if (encodings.size > 1)
      throw new StrataError(
        "STRATA_E_USAGE",
        `${at[1]} exists in several encodings (${[...encodings].join(", ")}); use a hash`,
      );
    const index = at[2] === "latest" ? list.length - 1 : Number(at[2]) - 1;
    const found = list[index];
    if (!found)
      throw new StrataError(
        "STRATA_E_NOT_FOUND",
        `no schema ${ref}`,
        {},
        { hint: "See `strata schema show TYPE`." },
      );
    return { ...found, version: index + 1 };
  }
  if (!/^[0-9a-f]{6,64}$/.test(ref))
    throw new StrataError("STRATA_E_USAGE", `not a schema reference: ${ref} (use a hash or TYPE@N)`);
  const matches = schemas.filter((s) => s.schemaHash.startsWith(ref));
  if (matches.length === 0) throw new StrataError("STRATA_E_NOT_FOUND", `no schema ${ref}`);
  if (matches.length > 1)
    throw new StrataError("STRATA_E_USAGE", `schema prefix ${ref} is ambiguous (${matches.length} matches)`);
  const found = matches[0] as SchemaRecord;
  const sameType = schemas.filter((s) => s.name === found.name && s.encoding === found.encoding);
  return { ...found, version: sameType.findIndex((s) => s.schemaHash === found.schemaHash) + 1 };
}

export interface SchemaRefInfo {
  schemaHash: string;
  name: string;
  encoding: string;
  version: number;
}

export async function diffSchemas(
  catalog: Catalog,
  fromRef: string,
  toRef: string,
): Promise<{ from: SchemaRefInfo; to: SchemaRefInfo; diff: SchemaDiff }> {
  const a = await resolveSchema(catalog, fromRef);
  const b = await resolveSchema(catalog, toRef);
  const info = (s: typeof a): SchemaRefInfo => ({
    schemaHash: s.schemaHash,
    name: s.name,
    encoding: s.encoding,
    version: s.version,
  });
  return {
    from: info(a),
    to: info(b),
    diff: classifySchemaChange(
      b.name,
      { encoding: a.encoding, text: a.definition },
      { encoding: b.encoding, text: b.definition },
    ),
  };
}

/** A definition a capture brings for a type the registry already knows under other definitions. */
export interface SchemaEvolutionEvent {
  name: string;
  encoding: string;
  previousHash: string;
  schemaHash: string;
  diff: SchemaDiff;
}

/**
 * For a capture about to be committed: each of its definitions that is new for an already known
 * (name, encoding), compared with the newest known definition of that type.
 */
export async function detectSchemaEvolution(
  catalog: Catalog,
  definitions: ReadonlyArray<{ name: string; encoding: string; definition: string; schemaHash: string }>,
): Promise<SchemaEvolutionEvent[]> {
  if (definitions.length === 0) return [];
  const known = await allSchemas(catalog);
  const out: SchemaEvolutionEvent[] = [];
  for (const d of definitions) {
    if (known.some((k) => k.schemaHash === d.schemaHash)) continue;
    const same = known.filter((k) => k.name === d.name && k.encoding === d.encoding);
    const newest = same[same.length - 1];
    if (!newest) continue;
    out.push({
      name: d.name,
      encoding: d.encoding,
      previousHash: newest.schemaHash,
      schemaHash: d.schemaHash,
      diff: classifySchemaChange(
        d.name,
        { encoding: newest.encoding, text: newest.definition },
        { encoding: d.encoding, text: d.definition },
      ),
    });
  }
  return out;
}
