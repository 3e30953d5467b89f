/**
 * Legacy import: a directory of existing logs (ROS 1 bags, MCAP files, ROS 2 bag directories) from
 * another system, with a provenance sidecar, ingested so that the provenance stays with each capture
 * (`capture.provenance.legacy`).
 *
 * Sidecars (JSON or YAML):
 * - `provenance.json|yaml|yml` in the directory: defaults for every log, plus optional per-file
 *   entries under `files: { "<name>": {…} }`;
 * - `<name>.provenance.json|yaml|yml` beside a log: that log's own values (win over the above).
 * Every log needs `sourceSystem`, `originalPath` (or a directory-level `originalRoot` it is joined to),
 * `collectionDate` (ISO 8601 date or date-time) and `operator`; `rig` and `site` are passed to ingest;
 * any other field is kept as given. snake_case and kebab-case names are accepted.
 * The plan is checked whole before anything is ingested, so a missing field stops the import early.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { JsonObject, JsonValue } from "../../catalog/index.ts";
import { StrataError, sha256Hex, toStrataError } from "../../core/index.ts";
import { detectFormat } from "../../formats/index.ts";

export interface LegacyProvenance {
  sourceSystem: string;
  originalPath: string;
  collectionDate: string;
  operator: string;
  /** Sidecar files that gave these values (relative to the directory) with their SHA-256. */
  sidecars: { path: string; sha256: string }[];
  /** Other fields of the sidecar, kept as given. */
  extra: JsonObject;
}

export interface LegacyItem {
  /** Name inside the legacy directory. */
  name: string;
  path: string;
  provenance: LegacyProvenance;
  rig?: string;
  site?: string;
}

export interface LegacyPlan {
  dir: string;
  items: LegacyItem[];
  /** Entries that are not logs (with why). */
  skipped: { name: string; reason: string }[];
}

const DIRECTORY_SIDECARS = ["provenance.json", "provenance.yaml", "provenance.yml"];
const FILE_SIDECAR = /\.provenance\.(json|ya?ml)$/;
const REQUIRED = ["sourceSystem", "originalPath", "collectionDate", "operator"] as const;

/** Lists the directory, reads the sidecars and resolves every log's provenance (no ingest). */
export async function planLegacyImport(dir: string): Promise<LegacyPlan> {
  const root = path.resolve(dir);
  let entries: string[];
  try {
    entries = (await readdir(root)).sort();
  } catch (error) {
    throw toStrataError(error, { file: root });
  }
  const directorySidecar = entries.find((e) => DIRECTORY_SIDECARS.includes(e));
  const defaults = directorySidecar ? await readSidecar(root, directorySidecar) : undefined;
  const perFile = objectAt(defaults?.values.files);
  const items: LegacyItem[] = [];
  const skipped: LegacyPlan["skipped"] = [];
  for (const name of entries) {
    if (name.startsWith(".") || DIRECTORY_SIDECARS.includes(name) || FILE_SIDECAR.test(name)) continue;
    const full = path.join(root, name);
    const kind = await logKind(full);
    if (kind !== "log") {
      skipped.push({ name, reason: kind });
      continue;
    }
    const own = entries.find((e) => FILE_SIDECAR.test(e) && e.replace(FILE_SIDECAR, "") === name);
    const ownSidecar = own ? await readSidecar(root, own) : undefined;
    const merged: Record<string, JsonValue> = {
      ...withoutKey(defaults?.values ?? {}, "files"),
      ...normalize(objectAt(perFile[name])),
      ...(ownSidecar?.values ?? {}),
    };
    if (typeof merged.originalPath !== "string" && typeof merged.originalRoot === "string") {
      merged.originalPath = path.posix.join(merged.originalRoot, name);
    }
    const missing = REQUIRED.filter((field) => typeof merged[field] !== "string" || merged[field] === "");
    if (missing.length > 0) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `${name} has no ${missing.join(", ")} in its provenance sidecar`,
        { file: full },
        {
          hint: `Add them to ${own ?? directorySidecar ?? "provenance.json"} (fields: sourceSystem, originalPath or originalRoot, collectionDate, operator).`,
        },
      );
    }
    const collectionDate = String(merged.collectionDate);
    if (!/^\d{4}-\d{2}-\d{2}/.test(collectionDate) || Number.isNaN(Date.parse(collectionDate))) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `${name}: collectionDate ${collectionDate} is not an ISO 8601 date`,
        {
          file: full,
        },
      );
    }
    const { sourceSystem, originalPath, operator, rig, site, originalRoot: _root, ...extra } = merged;
    delete extra.collectionDate;
    const item: LegacyItem = {
      name,
      path: full,
      provenance: {
        sourceSystem: String(sourceSystem),
        originalPath: String(originalPath),
        collectionDate,
        operator: String(operator),
        sidecars: [defaults, ownSidecar].flatMap((s) => (s ? [{ path: s.path, sha256: s.sha256 }] : [])),
        extra,
      },
    };
    if (typeof rig === "string") item.rig = rig;
    if (typeof site === "string") item.site = site;
    items.push(item);
  }
  return { dir: root, items, skipped };
}

/** The provenance object stored with the capture. */
export function legacyProvenance(item: LegacyItem, dir: string): JsonObject {
  const p = item.provenance;
  return {
    legacy: {
      ...p.extra,
      sourceSystem: p.sourceSystem,
      originalPath: p.originalPath,
      collectionDate: p.collectionDate,
      operator: p.operator,
      importedFrom: path.join(dir, item.name),
      sidecars: p.sidecars,
    },
  };
}

export interface LegacyIngestOutcome {
  name: string;
  status: "ingested" | "already-ingested" | "failed";
  captureId?: string;
  sha256?: string;
  messageCount?: number;
  error?: { code: string; message: string };
}

/**
 * Ingests every planned log, one after another, through `ingest` (which stores the provenance). A log
 * that fails is reported and the others still go in (ingest records the failure as a failed run).
 */
export async function runLegacyImport(
  plan: LegacyPlan,
  ingest: (
    item: LegacyItem,
    provenance: JsonObject,
  ) => Promise<{ captureId: string; sha256: string; created: boolean; messageCount: number }>,
): Promise<LegacyIngestOutcome[]> {
  const outcomes: LegacyIngestOutcome[] = [];
  for (const item of plan.items) {
    try {
      const result = await ingest(item, legacyProvenance(item, plan.dir));
      outcomes.push({
        name: item.name,
        status: result.created ? "ingested" : "already-ingested",
        captureId: result.captureId,
        sha256: result.sha256,
        messageCount: result.messageCount,
      });
    } catch (error) {
      const e = toStrataError(error, { file: item.path });
      outcomes.push({ name: item.name, status: "failed", error: { code: e.code, message: e.message } });
    }
  }
  return outcomes;
}

async function logKind(full: string): Promise<"log" | string> {
  const info = await stat(full);
  if (info.isDirectory()) {
    const inside = await readdir(full);
    if (inside.includes("metadata.yaml") || inside.some((f) => f.endsWith(".db3") || f.endsWith(".mcap"))) {
      return "log";
    }
    return "a directory without metadata.yaml, .db3 or .mcap files";
  }
  if (!info.isFile()) return "not a regular file";
  try {
    await detectFormat(full);
    return "log";
  } catch (error) {
    return toStrataError(error).message;
  }
}

async function readSidecar(
  root: string,
  name: string,
): Promise<{ path: string; sha256: string; values: Record<string, JsonValue> }> {
  const file = path.join(root, name);
  const text = await readFile(file, "utf8");
  let parsed: unknown;
  try {
    parsed = name.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new StrataError("STRATA_E_USAGE", `cannot parse the provenance sidecar ${name}: ${String(error)}`, {
      file,
    });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new StrataError("STRATA_E_USAGE", `the provenance sidecar ${name} must hold an object`, { file });
  }
  const values = normalize(parsed as Record<string, unknown>);
  // Dates in YAML parse as strings with the default schema; keep every value JSON-safe.
  return { path: name, sha256: sha256Hex(text), values };
}

/** Keys as camelCase (`source_system`, `source-system` → `sourceSystem`); values JSON-safe. */
function normalize(values: Record<string, unknown>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(values)) {
    const camel = key.replace(/[-_]+([a-zA-Z0-9])/g, (_m, c: string) => c.toUpperCase());
    out[camel] =
      key === "files" ? (value as JsonValue) : (JSON.parse(JSON.stringify(value ?? null)) as JsonValue);
  }
  return out;
}

function objectAt(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function withoutKey(values: Record<string, JsonValue>, key: string): Record<string, JsonValue> {
  const { [key]: _dropped, ...rest } = values;
  return rest;
}
