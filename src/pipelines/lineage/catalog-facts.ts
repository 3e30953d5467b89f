/**
 * Capture facts from the tables that own them (rather than from run conventions):
 *   - QA: the newest row of `qa_results` for the capture (migration 003) gives the verdict, and the
 *     distinct `check`s of its reasons the flags; a later steward override (`qa_overrides`) adds the
 *     flag `override`.
 *   - calibration: `capture_calibration` (migration 004) names the calibration the capture was recorded
 *     with (`cal_…`, content-addressed, so equal calibrations share one value).
 * Both come before the run/provenance sources in DEFAULT_FACT_SOURCES.
 */
import type { CaptureRecord, Catalog, JsonValue } from "../../catalog/index.ts";
import { StrataError } from "../../core/index.ts";
import { entriesOf } from "./runs.ts";

/**
 * The shape of `CaptureFactSource` (facts.ts), restated so facts.ts can put these sources into its
 * defaults without an import cycle.
 */
type Found = {
  calibrationVersion?: string | null;
  calibrationRunId?: string | null;
  qaVerdict?: string | null;
  qaFlags?: string[];
  qaRunId?: string | null;
};
type CaptureFactSource = (capture: CaptureRecord, deps: { catalog: Catalog }) => Promise<Found>;

/** The verdict of the capture's newest QA result, with its checks as flags. */
export const qaTableFactSource: CaptureFactSource = async (capture, { catalog }) => {
  const row = await guard("qaTableFactSource", () =>
    catalog.db
      .selectFrom("qa_results")
      .select(["run_id", "verdict", "reasons", "created_at_ns"])
      .where("capture_id", "=", capture.captureId)
      .orderBy("created_at_ns", "desc")
      .orderBy("run_id", "desc")
      .limit(1)
      .executeTakeFirst(),
  );
  if (row === undefined) return {};
  const flags = new Set<string>();
  for (const reason of entriesOf(parseJson(row.reasons))) {
    const check = reason.check ?? reason.code;
    if (typeof check === "string") flags.add(check);
  }
  const override = await guard("qaTableFactSource", () =>
    catalog.db
      .selectFrom("qa_overrides")
      .select("override_id")
      .where("capture_id", "=", capture.captureId)
      .where("at_ns", ">=", row.created_at_ns)
      .limit(1)
      .executeTakeFirst(),
  );
  if (override !== undefined) flags.add("override");
  const found: Found = { qaVerdict: row.verdict, qaFlags: [...flags].sort(), qaRunId: row.run_id };
  return found;
};

/** The calibration the capture was recorded with (`capture_calibration`). */
export const captureCalibrationFactSource: CaptureFactSource = async (capture, { catalog }) => {
  const row = await guard("captureCalibrationFactSource", () =>
    catalog.db
      .selectFrom("capture_calibration")
      .select("calibration_id")
      .where("capture_id", "=", capture.captureId)
      .orderBy("calibration_id")
      .limit(1)
      .executeTakeFirst(),
  );
  return row === undefined ? {} : { calibrationVersion: row.calibration_id };
};

/** The table-backed sources, most authoritative first. */
export const CATALOG_FACT_SOURCES: readonly CaptureFactSource[] = [
  qaTableFactSource,
  captureCalibrationFactSource,
];

function parseJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return null;
  }
}

async function guard<T>(operation: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw new StrataError(
      "STRATA_E_CATALOG",
      `${operation}: ${error instanceof Error ? error.message : String(error)}`,
      { operation },
      { cause: error },
    );
  }
}
