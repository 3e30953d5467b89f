/**
 * Finding runs by what they read or wrote. Runs keep inputs/outputs as canonical JSON text, so a key/value
 * pair appears verbatim (`"captureId":"cap_…"`); a LIKE narrows the rows and the parsed JSON decides.
 */
import type { Catalog, JsonValue, RunRecord } from "../../catalog/index.ts";
import { StrataError } from "../../core/index.ts";

export type RunReferenceKey = "captureId" | "datasetVersionId" | "sha256";

/** Runs whose `inputs` (or `outputs`) hold an object with `key: value`, newest first. */
export async function runsReferencing(
  catalog: Catalog,
  side: "inputs" | "outputs",
  key: RunReferenceKey,
  value: string,
): Promise<RunRecord[]> {
  const pattern = `%${JSON.stringify(key)}:${JSON.stringify(value)}%`;
  let rows: Array<{ run_id: string }>;
  try {
    rows = await catalog.db
      .selectFrom("runs")
      .select("run_id")
      .where(side, "like", pattern)
      .orderBy("started_at_ns", "desc")
      .orderBy("run_id", "desc")
      .execute();
  } catch (error) {
    throw new StrataError(
      "STRATA_E_CATALOG",
      `runsReferencing: ${String(error)}`,
      { key, value },
      { cause: error },
    );
  }
  const out: RunRecord[] = [];
  for (const { run_id } of rows) {
    const run = await catalog.getRun(run_id);
    if (run !== undefined && holds(side === "inputs" ? run.inputs : run.outputs, key, value)) out.push(run);
  }
  return out;
}

/** Every run, newest first, page by page. */
export async function* allRuns(catalog: Catalog, pageSize = 1000): AsyncIterable<RunRecord> {
  for (let offset = 0; ; offset += pageSize) {
    const page = await catalog.listRuns({ limit: pageSize, offset });
    yield* page;
    if (page.length < pageSize) return;
  }
}

/** The entries of a run's inputs or outputs (an array, or one object). */
export function entriesOf(value: JsonValue | null): Array<{ [key: string]: JsonValue }> {
  const list = Array.isArray(value) ? value : value === null ? [] : [value];
  return list.filter(
    (v): v is { [key: string]: JsonValue } => typeof v === "object" && v !== null && !Array.isArray(v),
  );
}

/** true when `value` holds, at any depth, an object whose `key` is `expected`. */
export function holds(value: JsonValue | null, key: string, expected: string): boolean {
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some((v) => holds(v, key, expected));
  if (value[key] === expected) return true;
  return Object.values(value).some((v) => holds(v, key, expected));
}
