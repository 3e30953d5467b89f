/**
 * The portability bundle: everything a Strata home holds, in open formats, with a manifest of hashes.
 *
 * ```
 * DIR/manifest.json               what is inside, with the SHA-256 and size of every file (no wall-clock
 *                                 values, so the same content always gives the same manifest)
 * DIR/catalog/<table>.jsonl       one catalog table per file, one row per line, in a stable order: captures,
 *                                 topics, schemas, lineage runs, the audit chain, datasets, and whatever
 *                                 tables later modules add (calibrations, contracts, ontology, …)
 * DIR/blobs/sha256/ab/<sha256>    the raw bytes of every capture file (and any other stored blob)
 * ```
 * API tokens are never exported (they are credentials of the home, not data).
 *
 * Export reads every table inside one catalog transaction (a consistent snapshot), then copies blobs
 * (immutable) with their hashes verified, and publishes the directory by rename. Import checks every
 * hash first, stores the blobs, restores all rows in one transaction into an empty home, and verifies
 * the restored audit chain against the manifest. Import writes no audit event or run of its own: the
 * restored home is the exported one, row for row, so exporting it again gives the same manifest; the
 * chain continues from the restored head with the next change.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Catalog, MIGRATIONS } from "../../catalog/index.ts";
import { StrataError, type Sha256Hex, canonicalJson, isSha256Hex, sha256Hex } from "../../core/index.ts";
import type { BlobStore } from "../../storage/index.ts";
import {
  advanceIdentities,
  type ColumnKind,
  catalogTables,
  countRows,
  decodeRow,
  foreignKeyParents,
  encodeRow,
  insertRows,
  type JsonRow,
  readRows,
  type Row,
  type TableShape,
} from "./bundle-rows.ts";
import { hashFile } from "./window.ts";

export const BUNDLE_FORMAT = "strata-bundle";
export const BUNDLE_FORMAT_VERSION = 1;
export const MANIFEST_FILE = "manifest.json";

/** Tables that never travel. */
const EXCLUDED_TABLES = ["api_tokens"];

/**
 * Row order of the tables this module knows, and their preferred place in the restore order (which
 * follows the database's foreign keys first). Other tables' rows are ordered by every column; a table
 * that references itself needs its rows parents-first (as dataset_versions gets below).
 */
const TABLE_RULES: ReadonlyArray<{ table: string; orderBy: string[] }> = [
  { table: "captures", orderBy: ["capture_id"] },
  { table: "capture_files", orderBy: ["capture_id", "ordinal"] },
  { table: "topics", orderBy: ["capture_id", "topic"] },
  { table: "topic_histogram", orderBy: ["capture_id", "topic", "bucket_start_ns"] },
  { table: "schemas", orderBy: ["schema_hash"] },
  { table: "runs", orderBy: ["started_at_ns", "run_id"] },
  { table: "audit_events", orderBy: ["seq"] },
  { table: "datasets", orderBy: ["name"] },
  // Parents before children: see orderedDatasetVersions.
  { table: "dataset_versions", orderBy: ["created_at_ns", "version_id"] },
];

export type BundleScope = { kind: "all" } | { kind: "datasets"; datasets: string[] };

export interface BundleTableEntry {
  name: string;
  path: string;
  rows: number;
  sizeBytes: number;
  sha256: Sha256Hex;
  columns: { name: string; kind: ColumnKind }[];
}

export interface BundleBlobEntry {
  sha256: Sha256Hex;
  sizeBytes: number;
  path: string;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  scope: BundleScope;
  /** Catalog migrations the rows were written under. */
  migrations: string[];
  tables: BundleTableEntry[];
  blobs: BundleBlobEntry[];
  /** The audit chain as exported: event count and the head hash a restore must reproduce. */
  audit: { events: number; headHash: string | null };
  excludedTables: string[];
}

export interface BundleDeps {
  catalog: Catalog;
  blobs: BlobStore;
}

export interface BundleExportResult {
  dir: string;
  manifest: BundleManifest;
  /** SHA-256 of manifest.json (the bundle's identity). */
  manifestSha256: Sha256Hex;
  totalBytes: number;
}

export interface BundleImportResult {
  dir: string;
  manifestSha256: Sha256Hex;
  tables: { name: string; rows: number }[];
  blobs: number;
  blobBytes: number;
  audit: { events: number; headHash: string | null };
}

// ---------------------------------------------------------------------------------------------
// export

/** Writes a bundle of `scope` to `outDir` (which must not exist, or be empty). */
export async function exportBundle(
  deps: BundleDeps,
  options: { outDir: string; scope: BundleScope },
): Promise<BundleExportResult> {
  const outDir = path.resolve(options.outDir);
  await requireEmptyOrMissing(outDir);
  const work = `${outDir}.partial-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  await mkdir(path.join(work, "catalog"), { recursive: true });
  try {
    const shapes = (await catalogTables(deps.catalog)).filter((t) => !EXCLUDED_TABLES.includes(t.name));
    const ordered = restoreOrder(shapes, await foreignKeyParents(deps.catalog));
    // 1. Rows: one transaction, so every table shows the same moment.
    const { tables, blobRefs, audit } = await deps.catalog.transaction(async (tx) => {
      const scope = await resolveScope(tx, shapes, options.scope);
      const written: BundleTableEntry[] = [];
      for (const table of ordered) written.push(await writeTable(tx, table, scope, work));
      return { tables: written, blobRefs: scope.blobRefs, audit: scope.audit };
    });
    // 2. Blobs (immutable, so outside the transaction), verified while copied.
    const blobList: BundleBlobEntry[] = [];
    const wanted =
      options.scope.kind === "all" ? await allBlobs(deps.blobs) : [...blobRefs].filter(isSha256Hex).sort();
    for (const sha256 of wanted) {
      if (options.scope.kind !== "all" && !(await deps.blobs.has(sha256))) continue;
      blobList.push(await copyBlob(deps.blobs, sha256, work));
    }
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      formatVersion: BUNDLE_FORMAT_VERSION,
      scope:
        options.scope.kind === "all"
          ? { kind: "all" }
          : { kind: "datasets", datasets: [...options.scope.datasets].sort() },
      migrations: MIGRATIONS.map(([name]) => name),
      tables,
      blobs: blobList,
      audit,
      excludedTables: [...EXCLUDED_TABLES],
    };
    const manifestText = manifestJson(manifest);
    await writeFile(path.join(work, MANIFEST_FILE), manifestText);
    await rm(outDir, { recursive: true, force: true });
    await mkdir(path.dirname(outDir), { recursive: true });
    await rename(work, outDir);
    const totalBytes =
      Buffer.byteLength(manifestText) +
      tables.reduce((sum, t) => sum + t.sizeBytes, 0) +
      blobList.reduce((sum, b) => sum + b.sizeBytes, 0);
    return { dir: outDir, manifest, manifestSha256: sha256Hex(manifestText), totalBytes };
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

/** Deterministic, readable manifest text: keys sorted, two-space indent. */
export function manifestJson(manifest: BundleManifest): string {
  return `${JSON.stringify(JSON.parse(canonicalJson(manifest)), null, 2)}\n`;
}

async function requireEmptyOrMissing(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return;
    if ((error as { code?: string }).code === "ENOTDIR") {
      throw new StrataError("STRATA_E_USAGE", `${dir} is a file, not a directory`, { file: dir });
    }
    throw error;
  }
  if (entries.length > 0) {
    throw new StrataError(
      "STRATA_E_CONFLICT",
      `${dir} is not empty`,
      { file: dir },
      { hint: "Write the bundle to a new directory." },
    );
  }
}

/**
 * Parents before children by the database's own foreign keys; among tables free to go, those this
 * module knows first (TABLE_RULES order), then by name.
 */
function restoreOrder(shapes: readonly TableShape[], parents: Map<string, Set<string>>): TableShape[] {
  const rank = (name: string) => {
    const i = TABLE_RULES.findIndex((r) => r.table === name);
    return i < 0 ? TABLE_RULES.length : i;
  };
  const names = new Set(shapes.map((s) => s.name));
  const remaining = [...shapes].sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : 1));
  const placed = new Set<string>();
  const out: TableShape[] = [];
  while (remaining.length > 0) {
    const index = remaining.findIndex((t) =>
      [...(parents.get(t.name) ?? [])].every((p) => placed.has(p) || !names.has(p)),
    );
    // A cycle between tables (none today): fall back to the preferred order for the rest.
    const [next] = remaining.splice(index < 0 ? 0 : index, 1);
    if (!next) break;
    placed.add(next.name);
    out.push(next);
  }
  return out;
}

function orderOf(table: TableShape): string[] {
  const columns = new Set(table.columns.map((c) => c.name));
  return (TABLE_RULES.find((r) => r.table === table.name)?.orderBy ?? []).filter((c) => columns.has(c));
}

interface ResolvedScope {
  kind: BundleScope["kind"];
  /** Captures in scope (dataset scope only). */
  captureIds: Set<string>;
  captureShas: Set<string>;
  datasets: Set<string>;
  versionIds: Set<string>;
  blobRefs: Set<string>;
  audit: { events: number; headHash: string | null };
}

async function resolveScope(
  tx: Catalog,
  shapes: readonly TableShape[],
  scope: BundleScope,
): Promise<ResolvedScope> {
  const events = await countRows(tx.db, "audit_events");
  const head = await tx.listAudit({ limit: 1, order: "desc" });
  const resolved: ResolvedScope = {
    kind: scope.kind,
    captureIds: new Set(),
    captureShas: new Set(),
    datasets: new Set(),
    versionIds: new Set(),
    blobRefs: new Set(),
    audit: { events, headHash: head[0]?.hash ?? null },
  };
  if (scope.kind === "all") return resolved;
  const datasetTable = shapes.find((s) => s.name === "datasets");
  const versionTable = shapes.find((s) => s.name === "dataset_versions");
  if (!datasetTable || !versionTable) {
    throw new StrataError("STRATA_E_UNSUPPORTED", "this catalog has no datasets tables");
  }
  const names = [...new Set(scope.datasets)].sort();
  const found = new Set<string>();
  for await (const row of readRows(tx.db, datasetTable, ["name"], {
    where: { column: "name", values: names },
  })) {
    found.add(String(row.name));
  }
  const missing = names.filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no dataset ${missing.join(", ")}`,
      {},
      {
        hint: "List datasets with `strata datasets list`.",
      },
    );
  }
  for (const name of names) resolved.datasets.add(name);
  for await (const row of readRows(tx.db, versionTable, ["version_id"], {
    where: { column: "dataset", values: names },
  })) {
    resolved.versionIds.add(String(row.version_id));
    const manifest = JSON.parse(String(row.manifest)) as { items?: { captureId?: unknown }[] };
    for (const item of manifest.items ?? []) {
      if (typeof item.captureId === "string") resolved.captureIds.add(item.captureId);
    }
  }
  const capturesTable = shapes.find((s) => s.name === "captures");
  if (capturesTable) {
    for await (const row of readRows(tx.db, capturesTable, ["capture_id"], {
      where: { column: "capture_id", values: [...resolved.captureIds] },
    })) {
      resolved.captureShas.add(String(row.sha256));
    }
  }
  return resolved;
}

/** Whether a row belongs in a dataset-scoped bundle, and the row as bundled (out-of-scope capture refs nulled). */
function scopeRow(table: TableShape, row: Row, scope: ResolvedScope): Row | undefined {
  if (scope.kind === "all") return row;
  const columns = new Set(table.columns.map((c) => c.name));
  switch (table.name) {
    case "audit_events":
      // The chain is kept whole: a chain with events left out cannot be verified.
      return row;
    case "datasets":
      return scope.datasets.has(String(row.name)) ? row : undefined;
    case "dataset_versions":
      return scope.datasets.has(String(row.dataset)) ? row : undefined;
    case "runs": {
      const text = `${String(row.inputs)}${String(row.outputs)}${String(row.params)}`;
      const mentions = (ids: Set<string>) => [...ids].some((id) => text.includes(JSON.stringify(id)));
      return mentions(scope.captureIds) || mentions(scope.captureShas) || mentions(scope.versionIds)
        ? row
        : undefined;
    }
  }
  if (columns.has("capture_id")) return scope.captureIds.has(String(row.capture_id)) ? row : undefined;
  // Global tables (schemas, ontology, contracts, …) travel whole; references to captures outside the
  // bundle become null, as they would after those captures were deleted.
  const out = { ...row };
  for (const column of table.columns) {
    if (!column.name.endsWith("capture_id") || !column.nullable) continue;
    const value = out[column.name];
    if (typeof value === "string" && !scope.captureIds.has(value)) out[column.name] = null;
  }
  return out;
}

async function writeTable(
  tx: Catalog,
  table: TableShape,
  scope: ResolvedScope,
  work: string,
): Promise<BundleTableEntry> {
  const relative = `catalog/${table.name}.jsonl`;
  const file = path.join(work, relative);
  const out = createWriteStream(file);
  let rows = 0;
  const source =
    table.name === "dataset_versions"
      ? orderedDatasetVersions(tx, table)
      : readRows(tx.db, table, orderOf(table));
  try {
    for await (const raw of source) {
      const row = scopeRow(table, raw, scope);
      if (!row) continue;
      for (const column of table.columns) {
        if (column.name.endsWith("sha256") && typeof row[column.name] === "string")
          scope.blobRefs.add(row[column.name] as string);
      }
      const line = `${JSON.stringify(encodeRow(table, row))}\n`;
      if (!out.write(line)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
      rows += 1;
    }
  } finally {
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  const { sha256, sizeBytes } = await hashFile(file);
  return {
    name: table.name,
    path: relative,
    rows,
    sizeBytes,
    sha256,
    columns: table.columns.map((c) => ({ name: c.name, kind: c.kind })),
  };
}

/** Dataset versions with every parent before its children (creation times may tie). */
async function* orderedDatasetVersions(tx: Catalog, table: TableShape): AsyncIterable<Row> {
  const keys: { id: string; parent: string | null }[] = [];
  for await (const row of readRows(
    tx.db,
    {
      name: table.name,
      columns: table.columns.filter((c) => ["version_id", "parent", "created_at_ns"].includes(c.name)),
    },
    ["created_at_ns", "version_id"],
  )) {
    keys.push({ id: String(row.version_id), parent: row.parent === null ? null : String(row.parent) });
  }
  const emitted = new Set<string>();
  const ids = new Set(keys.map((k) => k.id));
  let pending = keys;
  while (pending.length > 0) {
    const ready = pending.filter((k) => k.parent === null || emitted.has(k.parent) || !ids.has(k.parent));
    if (ready.length === 0) throw new StrataError("STRATA_E_CATALOG", "dataset versions form a parent cycle");
    for (const key of ready) {
      for await (const row of readRows(tx.db, table, ["version_id"], {
        where: { column: "version_id", values: [key.id] },
      }))
        yield row;
      emitted.add(key.id);
    }
    pending = pending.filter((k) => !emitted.has(k.id));
  }
}

async function allBlobs(blobs: BlobStore): Promise<Sha256Hex[]> {
  const out: Sha256Hex[] = [];
  for await (const blob of blobs.list()) out.push(blob.sha256);
  return out.sort();
}

function blobRelativePath(sha256: Sha256Hex): string {
  return `blobs/sha256/${sha256.slice(0, 2)}/${sha256}`;
}

async function copyBlob(blobs: BlobStore, sha256: Sha256Hex, work: string): Promise<BundleBlobEntry> {
  const relative = blobRelativePath(sha256);
  const file = path.join(work, relative);
  await mkdir(path.dirname(file), { recursive: true });
  let sizeBytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sizeBytes += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(await blobs.get(sha256, { verify: true }), counter, createWriteStream(file));
  return { sha256, sizeBytes, path: relative };
}

// ---------------------------------------------------------------------------------------------
// import

/** Reads and checks a bundle's manifest (format, version, paths). */
export async function readBundleManifest(
  dir: string,
): Promise<{ manifest: BundleManifest; manifestSha256: Sha256Hex }> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `${file} is missing: not a Strata bundle`,
      { file },
      { cause: error },
    );
  }
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(text) as BundleManifest;
  } catch (error) {
    throw new StrataError("STRATA_E_CORRUPT_LOG", `${MANIFEST_FILE} is not JSON`, { file }, { cause: error });
  }
  if (
    manifest.format !== BUNDLE_FORMAT ||
    !Array.isArray(manifest.tables) ||
    !Array.isArray(manifest.blobs)
  ) {
    throw new StrataError("STRATA_E_UNKNOWN_FORMAT", `${file} is not a Strata bundle manifest`, { file });
  }
  if (manifest.formatVersion > BUNDLE_FORMAT_VERSION) {
    throw new StrataError(
      "STRATA_E_UNSUPPORTED",
      `bundle format version ${manifest.formatVersion}`,
      { file },
      {
        hint: "Import it with a newer Strata.",
      },
    );
  }
  for (const entry of [...manifest.tables, ...manifest.blobs]) {
    const resolved = path.resolve(dir, entry.path);
    if (!resolved.startsWith(path.resolve(dir) + path.sep)) {
      throw new StrataError("STRATA_E_CORRUPT_LOG", `manifest path ${entry.path} leaves the bundle`, {
        file,
      });
    }
  }
  return { manifest, manifestSha256: sha256Hex(text) };
}

/** Verifies every file of the bundle against the manifest (size and SHA-256), streaming. */
export async function verifyBundle(dir: string, manifest: BundleManifest): Promise<void> {
  for (const entry of [...manifest.tables, ...manifest.blobs]) {
    const file = path.join(dir, entry.path);
    let actual: { sha256: string; sizeBytes: number };
    try {
      actual = await hashFile(file);
    } catch (error) {
      throw new StrataError(
        "STRATA_E_NOT_FOUND",
        `${entry.path} is missing from the bundle`,
        { file },
        { cause: error },
      );
    }
    if (actual.sha256 !== entry.sha256 || actual.sizeBytes !== entry.sizeBytes) {
      throw new StrataError(
        "STRATA_E_CRC_MISMATCH",
        `${entry.path} has SHA-256 ${actual.sha256} (${actual.sizeBytes} bytes); the manifest says ${entry.sha256} (${entry.sizeBytes} bytes)`,
        { file },
      );
    }
  }
}

/** Restores a bundle into an empty home (see the module comment). */
export async function importBundle(deps: BundleDeps, options: { dir: string }): Promise<BundleImportResult> {
  const dir = path.resolve(options.dir);
  const { manifest, manifestSha256 } = await readBundleManifest(dir);
  const known = new Set(MIGRATIONS.map(([name]) => name));
  const newer = manifest.migrations.filter((m) => !known.has(m));
  if (newer.length > 0) {
    throw new StrataError(
      "STRATA_E_UNSUPPORTED",
      `the bundle's catalog has migrations this Strata lacks: ${newer.join(", ")}`,
      {},
      {
        hint: "Import it with the Strata version that wrote it, or newer.",
      },
    );
  }
  await verifyBundle(dir, manifest);

  const shapes = new Map((await catalogTables(deps.catalog)).map((t) => [t.name, t]));
  for (const entry of manifest.tables) {
    const target = shapes.get(entry.name);
    if (!target) {
      throw new StrataError("STRATA_E_UNSUPPORTED", `this catalog has no table ${entry.name}`, {
        file: entry.path,
      });
    }
    const missing = entry.columns.filter((c) => !target.columns.some((t) => t.name === c.name));
    if (missing.length > 0) {
      throw new StrataError(
        "STRATA_E_UNSUPPORTED",
        `table ${entry.name} here lacks column ${missing.map((c) => c.name).join(", ")}`,
      );
    }
    const present = await countRows(deps.catalog.db, entry.name);
    if (present > 0) {
      throw new StrataError(
        "STRATA_E_CONFLICT",
        `the home is not empty: ${entry.name} has ${present} rows`,
        {},
        {
          hint: "Import a bundle into a new, empty home (--home DIR).",
        },
      );
    }
  }

  let blobBytes = 0;
  for (const blob of manifest.blobs) {
    const put = await deps.blobs.put(
      createReadStream(path.join(dir, blob.path), { highWaterMark: 4 << 20 }),
      {
        expectedSha256: blob.sha256,
      },
    );
    blobBytes += put.sizeBytes;
  }

  const ordered = restoreOrder(
    manifest.tables.flatMap((e) => shapes.get(e.name) ?? []),
    await foreignKeyParents(deps.catalog),
  );
  const entries = new Map(manifest.tables.map((e) => [e.name, e]));
  const restored = await deps.catalog.transaction(async (tx) => {
    const counts: { name: string; rows: number }[] = [];
    for (const target of ordered) {
      const entry = entries.get(target.name);
      if (!entry) continue;
      // Decode by the bundle's column kinds, insert by the target's names.
      const shape: TableShape = {
        name: target.name,
        columns: entry.columns.map((c) => ({
          name: c.name,
          kind: c.kind,
          nullable: true,
          autoIncrement: false,
        })),
      };
      let rows = 0;
      let batch: Row[] = [];
      const lines = createInterface({
        input: createReadStream(path.join(dir, entry.path)),
        crlfDelay: Infinity,
      });
      for await (const line of lines) {
        if (line === "") continue;
        batch.push(decodeRow(shape, JSON.parse(line) as JsonRow));
        rows += 1;
        if (batch.length >= 1000) {
          await insertRows(tx.db, shape, batch);
          batch = [];
        }
      }
      await insertRows(tx.db, shape, batch);
      if (rows !== entry.rows) {
        throw new StrataError(
          "STRATA_E_CORRUPT_LOG",
          `${entry.path} holds ${rows} rows; the manifest says ${entry.rows}`,
        );
      }
      if (rows > 0) await advanceIdentities(tx, tx.db, target);
      counts.push({ name: target.name, rows });
    }
    const chain = await tx.verifyAuditChain();
    const head = await tx.listAudit({ limit: 1, order: "desc" });
    const headHash = head[0]?.hash ?? null;
    if (!chain.ok || headHash !== manifest.audit.headHash || chain.eventCount !== manifest.audit.events) {
      throw new StrataError(
        "STRATA_E_CRC_MISMATCH",
        chain.ok
          ? `the restored audit chain ends at ${headHash} after ${chain.eventCount} events; the manifest says ${manifest.audit.headHash} after ${manifest.audit.events}`
          : `the restored audit chain breaks at seq ${chain.seq}: ${chain.reason}`,
      );
    }
    return { counts, headHash, events: chain.eventCount };
  });
  return {
    dir,
    manifestSha256,
    tables: restored.counts,
    blobs: manifest.blobs.length,
    blobBytes,
    audit: { events: restored.events, headHash: restored.headHash },
  };
}
