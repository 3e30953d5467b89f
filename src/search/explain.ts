/** What `explain(plan)` returns, and its printed form for `strata search --explain`. */
import type { QueryPlan } from "./plan.ts";

export type ExplainStage =
  | "spatial-grid"
  | "scene-graph"
  | "scalar-filter"
  | "vector-search"
  | "scan"
  | "post-filter";

export interface ExplainStep {
  stage: ExplainStage;
  /** The predicate this step applies, as text. */
  predicate: string;
  /** The index that answers it ("trajectory grid (64 m cells)", "BTree(speedMaxMps)", "IVF_PQ(vector)", "none: full scan"). */
  index: string;
  /** Rows matching this step's predicate on its own. */
  matchingAlone: number;
  /** Estimated rows left after this step and every step before it. */
  estimatedRows: number;
}

export interface ExplainResult {
  /** The canonical text of the query. */
  query: string;
  plan: QueryPlan;
  totalRows: number;
  /** Steps in execution order; the first one filters first. */
  steps: ExplainStep[];
  /** The filter sent to LanceDB (long id lists abbreviated). */
  lanceFilter: string | undefined;
  /** LanceDB's own physical plan of the final table query (`explainPlan(true)`). */
  lancePlan: string;
}

export function formatExplain(result: ExplainResult): string {
  const lines = [
    `query: ${result.query}`,
    `scenes in index: ${result.totalRows}`,
    "steps (in execution order):",
  ];
  result.steps.forEach((step, i) => {
    lines.push(
      `  ${i + 1}. ${step.stage.padEnd(13)} ${step.predicate}`,
      `     index: ${step.index}; matching alone: ${step.matchingAlone}; rows after: ~${step.estimatedRows}`,
    );
  });
  if (result.lanceFilter !== undefined) lines.push(`LanceDB filter: ${result.lanceFilter}`);
  lines.push(
    "LanceDB plan:",
    ...result.lancePlan.split("\n").map((l) => `  ${l.length > 240 ? `${l.slice(0, 240)}…` : l}`),
  );
  return lines.join("\n");
}
