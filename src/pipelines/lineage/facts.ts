/**
 * What a capture's lineage says about its quality: the calibration it was recorded with and its QA verdict.
 * The registry and QA modules own those records; until they expose them, facts are read from their runs
 * and from the capture's provenance, by these conventions:
 *   - a completed run whose outputs hold `{captureId, calibrationVersion}` (or `calibrationId`) names the
 *     capture's calibration; the newest wins;
 *   - a completed run of kind `qa` whose outputs hold `{captureId, verdict}` (verdict pass|warn|fail, with
 *     optional `reasons: [{check | code, …}]`) gives the QA verdict; the newest wins;
 *   - otherwise `provenance.calibrationVersion` / `provenance.qaVerdict` of the capture.
 * Other sources plug in as `CaptureFactSource`s (first non-null value per fact wins).
 */
import type { Catalog, CaptureRecord, JsonValue } from "../../catalog/index.ts";
import { CATALOG_FACT_SOURCES } from "./catalog-facts.ts";
import { entriesOf, runsReferencing } from "./runs.ts";

export interface CaptureFacts {
  captureId: string;
  calibrationVersion: string | null;
  /** The run that established the calibration, when one did. */
  calibrationRunId: string | null;
  /** `pass`, `warn` or `fail` (null: never checked). */
  qaVerdict: string | null;
  /** The checks behind a warn/fail verdict (e.g. `gap`, `rate`, `calibration_drift`), sorted, distinct. */
  qaFlags: string[];
  qaRunId: string | null;
}

export type CaptureFactSource = (
  capture: CaptureRecord,
  deps: { catalog: Catalog },
) => Promise<Partial<Omit<CaptureFacts, "captureId">>>;

/** Calibration and QA verdicts recorded by runs (see the module comment). */
export const runFactSource: CaptureFactSource = async (capture, { catalog }) => {
  const facts: Partial<Omit<CaptureFacts, "captureId">> = {};
  for (const run of await runsReferencing(catalog, "outputs", "captureId", capture.captureId)) {
    if (run.status !== "completed") continue;
    for (const entry of entriesOf(run.outputs)) {
      if (entry.captureId !== capture.captureId) continue;
      const calibration = entry.calibrationVersion ?? entry.calibrationId;
      if (facts.calibrationVersion === undefined && typeof calibration === "string") {
        facts.calibrationVersion = calibration;
        facts.calibrationRunId = run.runId;
      }
      if (facts.qaVerdict === undefined && run.kind === "qa" && typeof entry.verdict === "string") {
        facts.qaVerdict = entry.verdict;
        facts.qaFlags = flagsOf(entry.reasons ?? null);
        facts.qaRunId = run.runId;
      }
    }
  }
  return facts;
};

/** `provenance.calibrationVersion` and `provenance.qaVerdict` / `provenance.qaFlags` of the capture. */
export const provenanceFactSource: CaptureFactSource = async (capture) => {
  const p = capture.provenance;
  const facts: Partial<Omit<CaptureFacts, "captureId">> = {};
  if (typeof p.calibrationVersion === "string") facts.calibrationVersion = p.calibrationVersion;
  if (typeof p.qaVerdict === "string") {
    facts.qaVerdict = p.qaVerdict;
    facts.qaFlags = Array.isArray(p.qaFlags)
      ? p.qaFlags.filter((f): f is string => typeof f === "string")
      : [];
  }
  return facts;
};

/** The QA and calibration tables first (catalog-facts.ts), then run conventions, then provenance. */
export const DEFAULT_FACT_SOURCES: readonly CaptureFactSource[] = [
  ...CATALOG_FACT_SOURCES,
  runFactSource,
  provenanceFactSource,
];

export async function captureFacts(
  capture: CaptureRecord,
  deps: { catalog: Catalog; factSources?: readonly CaptureFactSource[] },
): Promise<CaptureFacts> {
  const facts: CaptureFacts = {
    captureId: capture.captureId,
    calibrationVersion: null,
    calibrationRunId: null,
    qaVerdict: null,
    qaFlags: [],
    qaRunId: null,
  };
  let haveCalibration = false;
  let haveQa = false;
  for (const source of deps.factSources ?? DEFAULT_FACT_SOURCES) {
    const found = await source(capture, deps);
    if (!haveCalibration && found.calibrationVersion != null) {
      haveCalibration = true;
      facts.calibrationVersion = found.calibrationVersion;
      facts.calibrationRunId = found.calibrationRunId ?? null;
    }
    if (!haveQa && found.qaVerdict != null) {
      haveQa = true;
      facts.qaVerdict = found.qaVerdict;
      facts.qaFlags = [...new Set(found.qaFlags ?? [])].sort();
      facts.qaRunId = found.qaRunId ?? null;
    }
    if (haveCalibration && haveQa) break;
  }
  return facts;
}

function flagsOf(reasons: JsonValue): string[] {
  const flags = entriesOf(reasons)
    .map((r) => r.check ?? r.code ?? r.flag)
    .filter((f): f is string => typeof f === "string");
  return [...new Set(flags)].sort();
}
