/**
 * QA results and steward overrides in the catalog (tables `qa_results`, `qa_overrides` of migration
 * 003). One row per QA run; bigint times are stored as decimal strings inside the JSON columns.
 */
import type { Catalog } from "../../catalog/index.ts";
import { canonicalJson, newId, nowNs } from "../../core/index.ts";
import type { QaCoverage, QaPolicy, QaReason, QaResult, SamplingPlan, Verdict } from "./types.ts";

export interface StoredQaResult extends QaResult {
  runId: string;
  captureId: string;
  createdAtNs: bigint;
}

export interface QaOverride {
  overrideId: string;
  captureId: string;
  /** The QA run whose verdict was overridden (null when the capture had none). */
  runId: string | null;
  actor: string;
  reason: string;
  atNs: bigint;
}

export async function insertQaResult(
  catalog: Catalog,
  row: { captureId: string; runId: string; result: QaResult; atNs?: bigint },
): Promise<void> {
  const { result } = row;
  await catalog.db
    .insertInto("qa_results")
    .values({
      run_id: row.runId,
      capture_id: row.captureId,
      verdict: result.verdict,
      reasons: canonicalJson(result.reasons),
      plan: canonicalJson(result.plan),
      coverage: canonicalJson(result.coverage),
      policy: canonicalJson(result.policy),
      drift_source: result.driftSource,
      created_at_ns: row.atNs ?? nowNs(),
    })
    .execute();
}

/** Newest first. */
export async function listQaResults(
  catalog: Catalog,
  captureId: string,
  limit = 100,
): Promise<StoredQaResult[]> {
  const rows = await catalog.db
    .selectFrom("qa_results")
    .selectAll()
    .where("capture_id", "=", captureId)
    .orderBy("created_at_ns", "desc")
    .orderBy("run_id", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    runId: r.run_id,
    captureId: r.capture_id,
    createdAtNs: r.created_at_ns,
    verdict: r.verdict as Verdict,
    reasons: (JSON.parse(r.reasons) as Array<QaReason & { startNs: string; endNs: string }>).map((x) => ({
      ...x,
      startNs: BigInt(x.startNs),
      endNs: BigInt(x.endNs),
    })),
    plan: reviveWindows(JSON.parse(r.plan) as SamplingPlan),
    coverage: JSON.parse(r.coverage) as QaCoverage,
    policy: JSON.parse(r.policy) as QaPolicy,
    driftSource: r.drift_source as QaResult["driftSource"],
  }));
}

export async function latestQaResult(
  catalog: Catalog,
  captureId: string,
): Promise<StoredQaResult | undefined> {
  return (await listQaResults(catalog, captureId, 1))[0];
}

function reviveWindows(plan: SamplingPlan): SamplingPlan {
  return {
    ...plan,
    windows: plan.windows.map((w) => ({ startNs: BigInt(w.startNs), endNs: BigInt(w.endNs) })),
  };
}

export async function insertQaOverride(
  catalog: Catalog,
  input: { captureId: string; runId: string | null; actor: string; reason: string; atNs?: bigint },
): Promise<QaOverride> {
  const override: QaOverride = {
    overrideId: newId("qao"),
    captureId: input.captureId,
    runId: input.runId,
    actor: input.actor,
    reason: input.reason,
    atNs: input.atNs ?? nowNs(),
  };
  await catalog.db
    .insertInto("qa_overrides")
    .values({
      override_id: override.overrideId,
      capture_id: override.captureId,
      run_id: override.runId,
      actor: override.actor,
      reason: override.reason,
      at_ns: override.atNs,
    })
    .execute();
  return override;
}

/** Newest first. */
export async function listQaOverrides(catalog: Catalog, captureId: string): Promise<QaOverride[]> {
  const rows = await catalog.db
    .selectFrom("qa_overrides")
    .selectAll()
    .where("capture_id", "=", captureId)
    .orderBy("at_ns", "desc")
    .execute();
  return rows.map((r) => ({
    overrideId: r.override_id,
    captureId: r.capture_id,
    runId: r.run_id,
    actor: r.actor,
    reason: r.reason,
    atNs: r.at_ns,
  }));
}
