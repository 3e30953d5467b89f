/**
 * Governance of one capture in one read: QA (verdict with reasons), the contracts assigned to its rig and
 * site, schema evolution of its message definitions, and the class labels its messages carry. Used by the
 * ingest analyzer ("qa") before the capture's rows commit, and by `strata qa run` / `contract check` on a
 * stored capture. Everything it writes goes in one transaction with a `qa` lineage run and audit events.
 */
import { type Catalog, computeSchemaHash, type JsonObject } from "../../catalog/index.ts";
import type { LogReader, LogSummary } from "../../formats/index.ts";
import {
  type ContractCheck,
  type ContractVersion,
  contractsForCapture,
  evaluateContract,
  insertContractCheck,
  type SchemaComparison,
  syncTopicsOf,
} from "../contracts/index.ts";
import type { AnalyzerResult, CaptureAnalyzer } from "../ingest/ingest.ts";
import { activeOntology, insertLabels, OBSERVED_LABEL_SOURCE } from "../ontology/index.ts";
import type { RegistryAnalysis } from "../registry/index.ts";
import { classifySchemaChange, detectSchemaEvolution, type SchemaEvolutionEvent } from "../schemas/index.ts";
import { type CalibrationChange, type CaptureMeasurements, runQa } from "./qa.ts";
import { insertQaResult } from "./store.ts";
import { type QaPolicyInput, type QaResult, resolvePolicy } from "./types.ts";

export const QA_ANALYZER_NAME = "qa";

export interface GovernanceInput {
  catalog: Catalog;
  reader: LogReader;
  summary: LogSummary;
  sizeBytes: number;
  capture: { rig: string | null; site: string | null };
  /** Contracts to check (default: the latest versions assigned to the capture's rig and site). */
  contracts?: readonly ContractVersion[];
  /** Overrides the contract's QA policy (e.g. `{ sampling: { mode: "full" } }`). */
  policy?: QaPolicyInput;
  /** Calibration changes found by the registry (otherwise /tf_static is examined here). */
  registryDrift?: readonly CalibrationChange[];
  /** Look for new definitions of known types (ingest only: a stored capture's definitions are already known). */
  detectSchemaChanges?: boolean;
  /** Sorted log times per topic, when ingest already has them. */
  logTimesByTopic?: ReadonlyMap<string, BigInt64Array>;
}

export interface GovernanceAnalysis {
  qa: QaResult;
  measurements: CaptureMeasurements;
  contracts: ContractVersion[];
  contractChecks: ContractCheck[];
  schemaEvents: SchemaEvolutionEvent[];
  /** QA failed, or a contract with `enforcement: quarantine` was violated. */
  quarantine: boolean;
  warnings: string[];
}

function schemaText(schema: { encoding: string; data: Uint8Array }): string {
  return schema.encoding === "protobuf"
    ? Buffer.from(schema.data).toString("base64")
    : Buffer.from(schema.data).toString("utf8");
}

/** The capture's definition of each topic: name, encoding, text and registry hash. */
function topicDefinitions(
  summary: LogSummary,
): Map<string, { name: string; encoding: string; text: string; hash: string }> {
  const out = new Map<string, { name: string; encoding: string; text: string; hash: string }>();
  for (const channel of summary.channels) {
    if (out.has(channel.topic)) continue;
    const schema = summary.schemas.find((s) => s.id === channel.schemaId);
    if (!schema || schema.encoding === "") continue;
    const text = schemaText(schema);
    out.set(channel.topic, {
      name: schema.name,
      encoding: schema.encoding,
      text,
      hash: computeSchemaHash(schema.encoding, schema.name, text),
    });
  }
  return out;
}

export async function analyzeGovernance(input: GovernanceInput): Promise<GovernanceAnalysis> {
  const { catalog, summary } = input;
  const contracts = [...(input.contracts ?? (await contractsForCapture(catalog, input.capture)))];
  const policyFrom = contracts.find((c) => c.contract.qa !== undefined)?.contract.qa ?? {};
  const policy = resolvePolicy({
    sampling: { ...policyFrom.sampling, ...input.policy?.sampling },
    thresholds: { ...policyFrom.thresholds, ...input.policy?.thresholds },
    severity: { ...policyFrom.severity, ...input.policy?.severity },
  });
  const { result, measurements } = await runQa({
    reader: input.reader,
    summary,
    sizeBytes: input.sizeBytes,
    policy,
    keepStampsFor: syncTopicsOf(contracts.map((c) => c.contract)),
    ...(input.registryDrift ? { registryDrift: input.registryDrift } : {}),
    ...(input.logTimesByTopic ? { logTimesByTopic: input.logTimesByTopic } : {}),
  });

  const definitions = topicDefinitions(summary);
  const schemaEvents = input.detectSchemaChanges
    ? await detectSchemaEvolution(
        catalog,
        [...new Map([...definitions.values()].map((d) => [d.hash, d])).values()].map((d) => ({
          name: d.name,
          encoding: d.encoding,
          definition: d.text,
          schemaHash: d.hash,
        })),
      )
    : [];

  const ontology = await activeOntology(catalog);
  const contractChecks: ContractCheck[] = [];
  for (const version of contracts) {
    const baselineText = new Map<string, string>();
    for (const b of Object.values(version.baselines)) {
      const row = await catalog.getSchema(b.schemaHash);
      if (row) baselineText.set(b.schemaHash, row.definition);
    }
    contractChecks.push(
      evaluateContract(version.contract, measurements, {
        ontologyVersion: ontology?.version ?? null,
        schemaOf: (topic): SchemaComparison | { skipped: string } | undefined => {
          const baseline = version.baselines[topic];
          const mine = definitions.get(topic);
          if (!baseline) return undefined;
          if (!mine) return { skipped: "the topic has no schema in this capture" };
          const base = { baselineHash: baseline.schemaHash, captureHash: mine.hash };
          if (mine.hash === baseline.schemaHash)
            return { compatibility: "identical", summary: "same definition", ...base };
          if (mine.encoding !== baseline.encoding)
            return { skipped: `capture uses ${mine.encoding}, the baseline ${baseline.encoding}` };
          const text = baselineText.get(baseline.schemaHash);
          if (text === undefined) return { skipped: "the baseline definition is no longer in the registry" };
          const diff = classifySchemaChange(
            mine.name,
            { encoding: baseline.encoding, text },
            { encoding: mine.encoding, text: mine.text },
          );
          return { compatibility: diff.compatibility, summary: diff.summary, ...base };
        },
      }),
    );
  }

  const warnings: string[] = [];
  const fails = result.reasons.filter((r) => r.severity === "fail");
  const warns = result.reasons.filter((r) => r.severity === "warn");
  if (result.verdict !== "pass") {
    const checks = [...new Set(fails.concat(warns).map((r) => `${r.check} ${r.topic}`))]
      .slice(0, 6)
      .join(", ");
    warnings.push(
      `qa: ${result.verdict} (${fails.length} fail, ${warns.length} warn: ${checks}); see \`strata qa show\``,
    );
  }
  for (const check of contractChecks)
    for (const v of check.violations)
      warnings.push(`contract ${check.contract}@${check.version}: ${v.rule} ${v.message}`);
  for (const e of schemaEvents) warnings.push(`schema: new definition of ${e.name} (${e.diff.summary})`);

  const enforced = new Map(
    contracts.map((c) => [
      `${c.name}@${c.version}`,
      (c.contract.enforcement ?? "quarantine") === "quarantine",
    ]),
  );
  const quarantine =
    result.verdict === "fail" ||
    contractChecks.some((c) => !c.passed && enforced.get(`${c.contract}@${c.version}`) === true);
  return { qa: result, measurements, contracts, contractChecks, schemaEvents, quarantine, warnings };
}

/**
 * Writes an analysis: a `qa` lineage run, the QA result, the contract checks, the class labels seen in
 * messages (replacing earlier ones of the capture) and audit events. Call inside a transaction.
 */
export async function commitGovernance(
  tx: Catalog,
  captureId: string,
  analysis: GovernanceAnalysis,
  options: {
    actor: string;
    codeVersion: string;
    trigger: "ingest" | "rerun";
    ontologyVersion?: string | null;
  },
): Promise<{ runId: string }> {
  const { qa } = analysis;
  const run = await tx.startRun({
    kind: "qa",
    inputs: [{ captureId }],
    params: {
      trigger: options.trigger,
      mode: qa.plan.mode,
      contracts: analysis.contracts.map((c) => `${c.name}@${c.version}`),
    },
    codeVersion: options.codeVersion,
  });
  await insertQaResult(tx, { captureId, runId: run.runId, result: qa });
  for (const check of analysis.contractChecks)
    await insertContractCheck(tx, { captureId, runId: run.runId, check });
  await tx.db
    .deleteFrom("labels")
    .where("capture_id", "=", captureId)
    .where("source", "like", `${OBSERVED_LABEL_SOURCE}%`)
    .execute();
  for (const [topic, labels] of analysis.measurements.labels) {
    await insertLabels(
      tx,
      [...labels.entries()].map(([className, count]) => ({
        className,
        captureId,
        topic,
        count,
        startNs: analysis.measurements.startNs,
        endNs: analysis.measurements.endNs,
      })),
      { source: `${OBSERVED_LABEL_SOURCE}${topic}`, ontologyVersion: options.ontologyVersion ?? null },
    );
  }
  const outputs = governanceOutputs(analysis);
  await tx.finishRun(run.runId, { status: "completed", outputs: [{ captureId, ...outputs }] });
  await tx.appendAudit({
    actor: options.actor,
    action: "qa.verdict",
    target: captureId,
    details: { runId: run.runId, ...outputs },
  });
  for (const e of analysis.schemaEvents) {
    await tx.appendAudit({
      actor: options.actor,
      action: "schema.evolve",
      target: `schema:${e.schemaHash}`,
      details: {
        name: e.name,
        encoding: e.encoding,
        previousHash: e.previousHash,
        compatibility: e.diff.compatibility,
        captureId,
      },
    });
  }
  return { runId: run.runId };
}

function governanceOutputs(analysis: GovernanceAnalysis): JsonObject {
  const { qa } = analysis;
  return {
    verdict: qa.verdict,
    fail: qa.reasons.filter((r) => r.severity === "fail").length,
    warn: qa.reasons.filter((r) => r.severity === "warn").length,
    checks: [...new Set(qa.reasons.map((r) => r.check))],
    mode: qa.plan.mode,
    contracts: analysis.contractChecks.map((c) => ({
      contract: c.contract,
      version: c.version,
      passed: c.passed,
      violations: c.violations.length,
    })),
    schemaChanges: analysis.schemaEvents.map((e) => ({ name: e.name, compatibility: e.diff.compatibility })),
    quarantine: analysis.quarantine,
  };
}

export interface QaAnalyzerOptions {
  codeVersion: string;
  /** Overrides the contracts' QA policy for every ingest. */
  policy?: QaPolicyInput;
}

/**
 * The ingest analyzer "qa": runs after the registry analyzer (whose drift it uses when present), holds the
 * capture in quarantine when QA fails or an enforced contract is violated, and commits its rows with the
 * capture.
 */
export function qaAnalyzer(options: QaAnalyzerOptions): CaptureAnalyzer {
  return {
    name: QA_ANALYZER_NAME,
    async analyze(context): Promise<AnalyzerResult> {
      const registry = context.earlier.get("registry")?.data as Partial<RegistryAnalysis> | undefined;
      const analysis = await analyzeGovernance({
        catalog: context.catalog,
        reader: context.reader,
        summary: context.summary,
        sizeBytes: Number(context.summary.sizeBytes),
        capture: { rig: context.options.rig ?? null, site: context.options.site ?? null },
        ...(options.policy ? { policy: options.policy } : {}),
        ...(Array.isArray(registry?.drift) ? { registryDrift: registry.drift } : {}),
        logTimesByTopic: new Map(context.stats.topics.map((t) => [t.topic, t.logTimesNs])),
        detectSchemaChanges: true,
      });
      const ontologyVersion = (await activeOntology(context.catalog))?.version ?? null;
      return {
        status: analysis.quarantine ? "quarantined" : "ready",
        warnings: analysis.warnings,
        outputs: governanceOutputs(analysis),
        data: analysis,
        commit: async (tx, captureId) => {
          await commitGovernance(tx, captureId, analysis, {
            actor: context.options.actor,
            codeVersion: options.codeVersion,
            trigger: "ingest",
            ontologyVersion,
          });
        },
      };
    },
  };
}
