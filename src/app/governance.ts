/**
 * Governance for the CLI and the server: data contracts, QA verdicts (re-run, show, steward override),
 * the schema registry and the ontology under change control. Thin over pipelines' qa, contracts,
 * schemas and ontology; every change is audited there or here.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { CaptureRecord } from "../catalog/index.ts";
import { StrataError, isSha256Hex } from "../core/index.ts";
import { openLog } from "../formats/index.ts";
import {
  analyzeGovernance,
  approveProposal,
  type ApprovalResult,
  addContractVersion,
  activeOntology,
  type Bump,
  type CalibrationChange,
  commitGovernance,
  type ContractCheck,
  type ContractVersion,
  contractJsonSchema as pipelinesContractJsonSchema,
  contractsForCapture,
  diffSchemas,
  type DriftReport,
  driftReport,
  getContractVersion,
  getOntologyVersion,
  insertLabels,
  insertQaOverride,
  type LabelInput,
  type LabelRecord,
  listContractChecks,
  listContractVersions,
  listDriftEvents,
  listLabels,
  listLatestContracts,
  listOntologyVersions,
  listProposals,
  listQaOverrides,
  listQaResults,
  listSchemaTypes,
  captureCalibrationId,
  type OntologyChange,
  type OntologyProposal,
  type OntologyVersion,
  ontologyJsonSchema as pipelinesOntologyJsonSchema,
  initOntology,
  parseChanges,
  type ProposalStatus,
  proposeChanges,
  type QaOverride,
  type QaPolicyInput,
  rejectProposal,
  type SchemaTypeHistory,
  type SchemaTypeSummary,
  type StoredContractCheck,
  type StoredQaResult,
  showSchemaType,
  storedCapturePath,
} from "../pipelines/index.ts";
import type { Strata } from "./strata.ts";

/** The JSON Schema contracts are validated against (draft 2020-12); the server serves it. */
export function contractJsonSchema(): Record<string, unknown> {
  return pipelinesContractJsonSchema();
}

/** The JSON Schema of ontology documents and change lists. */
export function ontologyJsonSchema(): Record<string, unknown> {
  return pipelinesOntologyJsonSchema();
}

const actorOf = (actor: string | undefined): string => actor ?? `cli:${process.env.USER ?? "local"}`;

async function requireCaptureRecord(strata: Strata, captureIdOrSha: string): Promise<CaptureRecord> {
  const record = isSha256Hex(captureIdOrSha)
    ? await strata.catalog.findCaptureBySha256(captureIdOrSha)
    : await strata.catalog.getCapture(captureIdOrSha);
  if (!record)
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no capture ${captureIdOrSha}`,
      {},
      { hint: "List captures with `strata captures list`." },
    );
  return record;
}

async function readText(file: string): Promise<string> {
  return readFile(file, "utf8").catch((cause: unknown) => {
    throw new StrataError("STRATA_E_FILE_NOT_FOUND", undefined, { file: path.resolve(file) }, { cause });
  });
}

// ---------------------------------------------------------------- contracts

export async function addContract(
  strata: Strata,
  input: { file?: string; text?: string; actor?: string },
): Promise<{ version: ContractVersion; created: boolean }> {
  const text = input.text ?? (input.file !== undefined ? await readText(input.file) : undefined);
  if (text === undefined) throw new StrataError("STRATA_E_USAGE", "a contract needs a file or text");
  return addContractVersion(strata.catalog, text, {
    actor: actorOf(input.actor),
    origin: input.file ?? "contract",
  });
}

export interface ContractListEntry {
  name: string;
  latestVersion: string;
  versions: string[];
  appliesTo: ContractVersion["contract"]["appliesTo"] | null;
  enforcement: "quarantine" | "warn";
  description: string | null;
}

export async function listContracts(strata: Strata): Promise<ContractListEntry[]> {
  const all = await listContractVersions(strata.catalog);
  const latest = await listLatestContracts(strata.catalog);
  return latest.map((v) => ({
    name: v.name,
    latestVersion: v.version,
    versions: all.filter((a) => a.name === v.name).map((a) => a.version),
    appliesTo: v.contract.appliesTo ?? null,
    enforcement: v.contract.enforcement ?? "quarantine",
    description: v.contract.description ?? null,
  }));
}

/** `name` or `name@version`. */
function splitRef(ref: string): { name: string; version?: string } {
  const at = ref.lastIndexOf("@");
  return at > 0 ? { name: ref.slice(0, at), version: ref.slice(at + 1) } : { name: ref };
}

export async function showContract(
  strata: Strata,
  ref: string,
): Promise<ContractVersion & { checks: StoredContractCheck[]; breakingCaptures: string[] }> {
  const { name, version } = splitRef(ref);
  const found = await getContractVersion(strata.catalog, name, version);
  const checks = await listContractChecks(strata.catalog, {
    contract: found.name,
    version: found.version,
    limit: 100,
  });
  // Which captures break this version through schema evolution.
  const breakingCaptures = [
    ...new Set(
      checks.filter((c) => c.violations.some((v) => v.rule === "schema.compatible")).map((c) => c.captureId),
    ),
  ];
  return { ...found, checks, breakingCaptures };
}

export interface ContractCheckOutcome {
  captureId: string;
  runId: string;
  checks: ContractCheck[];
  /** The capture's status after the check. */
  status: string;
}

/**
 * Checks a stored capture against a contract (`name[@version]`), or against every contract assigned to
 * its rig and site. Stores the checks (and a QA result of the same read) under a `qa` run; a violated
 * assigned contract with `enforcement: quarantine` quarantines a ready capture.
 */
export async function checkContract(
  strata: Strata,
  captureIdOrSha: string,
  options: { contract?: string; actor?: string; policy?: QaPolicyInput } = {},
): Promise<ContractCheckOutcome> {
  const capture = await requireCaptureRecord(strata, captureIdOrSha);
  let contracts: ContractVersion[];
  if (options.contract !== undefined) {
    const { name, version } = splitRef(options.contract);
    contracts = [await getContractVersion(strata.catalog, name, version)];
  } else {
    contracts = await contractsForCapture(strata.catalog, capture);
    if (contracts.length === 0)
      throw new StrataError(
        "STRATA_E_NOT_FOUND",
        `no contract applies to ${capture.captureId} (rig ${capture.rig ?? "-"}, site ${capture.site ?? "-"})`,
        {},
        { hint: "Name one with --contract NAME[@VERSION], or assign one with appliesTo." },
      );
  }
  const outcome = await rerun(strata, capture, {
    contracts,
    actor: options.actor,
    policy: options.policy,
    assigned: options.contract === undefined,
  });
  return {
    captureId: capture.captureId,
    runId: outcome.runId,
    checks: outcome.checks,
    status: outcome.status,
  };
}

// ---------------------------------------------------------------- QA

export interface QaRunOutcome {
  captureId: string;
  runId: string;
  result: StoredQaResult;
  checks: ContractCheck[];
  status: string;
}

/** Re-runs QA (and the assigned contracts) on a stored capture; `full` decodes every message. */
export async function runCaptureQa(
  strata: Strata,
  captureIdOrSha: string,
  options: { full?: boolean; actor?: string; policy?: QaPolicyInput } = {},
): Promise<QaRunOutcome> {
  const capture = await requireCaptureRecord(strata, captureIdOrSha);
  const policy: QaPolicyInput = {
    ...options.policy,
    ...(options.full ? { sampling: { ...options.policy?.sampling, mode: "full" as const } } : {}),
  };
  const contracts = await contractsForCapture(strata.catalog, capture);
  const outcome = await rerun(strata, capture, { contracts, actor: options.actor, policy, assigned: true });
  const result = (await listQaResults(strata.catalog, capture.captureId)).find(
    (r) => r.runId === outcome.runId,
  );
  if (!result) throw new StrataError("STRATA_E_INTERNAL", `QA run ${outcome.runId} was not stored`);
  return {
    captureId: capture.captureId,
    runId: outcome.runId,
    result,
    checks: outcome.checks,
    status: outcome.status,
  };
}

async function registryDriftOf(strata: Strata, captureId: string): Promise<CalibrationChange[] | undefined> {
  // The registry's stored drift stands when the registry analysed the capture (it linked a calibration).
  const events = await listDriftEvents(strata.catalog, captureId);
  if (events.length > 0) return events;
  return (await captureCalibrationId(strata.catalog, captureId)) === undefined ? undefined : [];
}

async function rerun(
  strata: Strata,
  capture: CaptureRecord,
  options: {
    contracts: ContractVersion[];
    actor: string | undefined;
    policy: QaPolicyInput | undefined;
    assigned: boolean;
  },
): Promise<{ runId: string; checks: ContractCheck[]; status: string }> {
  const actor = actorOf(options.actor);
  const stored = await storedCapturePath(
    { catalog: strata.catalog, blobs: strata.blobs, tempDir: path.join(strata.config.home, "tmp") },
    capture,
  );
  let analysis: Awaited<ReturnType<typeof analyzeGovernance>>;
  try {
    const reader = await openLog(stored.path);
    try {
      const summary = await reader.summary();
      const registryDrift = await registryDriftOf(strata, capture.captureId);
      analysis = await analyzeGovernance({
        catalog: strata.catalog,
        reader,
        summary,
        sizeBytes: Number(capture.sizeBytes),
        capture,
        contracts: options.contracts,
        ...(options.policy ? { policy: options.policy } : {}),
        ...(registryDrift ? { registryDrift } : {}),
      });
    } finally {
      await reader.close();
    }
  } finally {
    await stored.release();
  }
  const ontologyVersion = (await activeOntology(strata.catalog))?.version ?? null;
  return strata.catalog.transaction(async (tx) => {
    const { runId } = await commitGovernance(tx, capture.captureId, analysis, {
      actor,
      codeVersion: strata.codeVersion,
      trigger: "rerun",
      ontologyVersion,
    });
    let status: string = capture.status;
    // A re-run only ever holds a capture back; releasing one takes a steward override.
    const quarantine = analysis.quarantine && (options.assigned || analysis.qa.verdict === "fail");
    if (quarantine && capture.status === "ready") {
      await tx.setCaptureStatus(capture.captureId, "quarantined");
      await tx.appendAudit({
        actor,
        action: "capture.quarantine",
        target: capture.captureId,
        details: {
          runId,
          verdict: analysis.qa.verdict,
          contracts: analysis.contractChecks
            .filter((c) => !c.passed)
            .map((c) => `${c.contract}@${c.version}`),
        },
      });
      status = "quarantined";
    }
    return { runId, checks: analysis.contractChecks, status };
  });
}

export interface QaShow {
  captureId: string;
  status: string;
  /** The capture's first message time (reason windows are shown relative to it). */
  startNs: bigint | null;
  /** The newest QA result (undefined before any QA ran). */
  latest: StoredQaResult | undefined;
  /** Earlier runs, newest first (verdicts only). */
  history: Array<{ runId: string; verdict: string; createdAtNs: bigint; reasons: number }>;
  contractChecks: StoredContractCheck[];
  overrides: QaOverride[];
}

export async function showCaptureQa(strata: Strata, captureIdOrSha: string): Promise<QaShow> {
  const capture = await requireCaptureRecord(strata, captureIdOrSha);
  const results = await listQaResults(strata.catalog, capture.captureId);
  const latest = results[0];
  const checks = await listContractChecks(strata.catalog, { captureId: capture.captureId, limit: 100 });
  return {
    captureId: capture.captureId,
    status: capture.status,
    startNs: capture.startNs,
    latest,
    history: results.map((r) => ({
      runId: r.runId,
      verdict: r.verdict,
      createdAtNs: r.createdAtNs,
      reasons: r.reasons.length,
    })),
    contractChecks: latest ? checks.filter((c) => c.runId === latest.runId) : checks,
    overrides: await listQaOverrides(strata.catalog, capture.captureId),
  };
}

/** A steward releases a quarantined capture; the reason and the overridden run are audited. */
export async function overrideCaptureQa(
  strata: Strata,
  captureIdOrSha: string,
  input: { reason: string; actor?: string },
): Promise<{ override: QaOverride; status: string }> {
  const reason = input.reason.trim();
  if (reason === "") throw new StrataError("STRATA_E_USAGE", "an override needs a reason (--reason)");
  const actor = actorOf(input.actor);
  const capture = await requireCaptureRecord(strata, captureIdOrSha);
  return strata.catalog.transaction(async (tx) => {
    const current = await tx.getCapture(capture.captureId);
    if (current?.status !== "quarantined")
      throw new StrataError(
        "STRATA_E_CONFLICT",
        `capture ${capture.captureId} is ${current?.status ?? "gone"}, not quarantined`,
      );
    const latest = (await listQaResults(tx, capture.captureId, 1))[0];
    const override = await insertQaOverride(tx, {
      captureId: capture.captureId,
      runId: latest?.runId ?? null,
      actor,
      reason,
    });
    await tx.setCaptureStatus(capture.captureId, "ready");
    await tx.appendAudit({
      actor,
      action: "qa.override",
      target: capture.captureId,
      details: {
        reason,
        runId: latest?.runId ?? null,
        verdict: latest?.verdict ?? null,
        overrideId: override.overrideId,
      },
    });
    return { override, status: "ready" };
  });
}

// ---------------------------------------------------------------- schemas

export async function listSchemas(strata: Strata): Promise<SchemaTypeSummary[]> {
  return listSchemaTypes(strata.catalog);
}

export async function showSchema(strata: Strata, ref: string): Promise<SchemaTypeHistory[]> {
  return showSchemaType(strata.catalog, ref);
}

export async function diffSchema(
  strata: Strata,
  fromRef: string,
  toRef: string,
): ReturnType<typeof diffSchemas> {
  return diffSchemas(strata.catalog, fromRef, toRef);
}

// ---------------------------------------------------------------- ontology

export async function initOntologyFromFile(
  strata: Strata,
  input: { file: string; actor?: string },
): Promise<OntologyVersion> {
  return initOntology(strata.catalog, await readText(input.file), {
    actor: actorOf(input.actor),
    origin: input.file,
  });
}

export async function showOntology(strata: Strata, version?: string): Promise<OntologyVersion> {
  return getOntologyVersion(strata.catalog, version);
}

export async function listOntology(
  strata: Strata,
): Promise<Array<Omit<OntologyVersion, "ontology"> & { classes: number }>> {
  return (await listOntologyVersions(strata.catalog)).map(({ ontology, ...v }) => ({
    ...v,
    classes: ontology.classes.length,
  }));
}

export async function proposeOntologyChanges(
  strata: Strata,
  input: { file?: string; changes?: OntologyChange[]; note?: string; bump?: Bump; actor?: string },
): ReturnType<typeof proposeChanges> {
  let changes = input.changes;
  let note = input.note;
  let bump = input.bump;
  if (input.file !== undefined) {
    const parsed = parseChanges(await readText(input.file), input.file);
    changes = parsed.changes;
    note ??= parsed.note;
    bump ??= parsed.bump;
  }
  if (!changes || changes.length === 0)
    throw new StrataError("STRATA_E_USAGE", "a proposal needs at least one change");
  return proposeChanges(strata.catalog, {
    changes,
    actor: actorOf(input.actor),
    ...(note === undefined ? {} : { note }),
    ...(bump === undefined ? {} : { bump }),
  });
}

export async function listOntologyProposals(
  strata: Strata,
  status?: ProposalStatus,
): Promise<OntologyProposal[]> {
  return listProposals(strata.catalog, status);
}

export async function approveOntologyProposal(
  strata: Strata,
  proposalId: string,
  input: { reason: string; actor?: string },
): Promise<ApprovalResult> {
  if (input.reason.trim() === "")
    throw new StrataError("STRATA_E_USAGE", "an approval needs a reason (--reason)");
  return approveProposal(strata.catalog, proposalId, { actor: actorOf(input.actor), reason: input.reason });
}

export async function rejectOntologyProposal(
  strata: Strata,
  proposalId: string,
  input: { reason: string; actor?: string },
): Promise<OntologyProposal> {
  if (input.reason.trim() === "")
    throw new StrataError("STRATA_E_USAGE", "a rejection needs a reason (--reason)");
  return rejectProposal(strata.catalog, proposalId, { actor: actorOf(input.actor), reason: input.reason });
}

export async function ontologyDrift(strata: Strata): Promise<DriftReport> {
  return driftReport(strata.catalog);
}

/**
 * Imports annotation labels from a JSON array or JSON Lines file of
 * `{className, captureId?, topic?, attributes?, startNs?, endNs?}` (times as decimal strings of ns).
 */
export async function importLabels(
  strata: Strata,
  input: { file: string; source?: string; actor?: string },
): Promise<{ imported: number; source: string }> {
  const text = await readText(input.file);
  const trimmed = text.trim();
  let items: unknown[];
  try {
    items = trimmed.startsWith("[")
      ? (JSON.parse(trimmed) as unknown[])
      : trimmed
          .split("\n")
          .filter((l) => l.trim() !== "")
          .map((l) => JSON.parse(l) as unknown);
  } catch (cause) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `${input.file} is not JSON or JSON Lines: ${(cause as Error).message}`,
      { file: input.file },
      { cause },
    );
  }
  const labels: LabelInput[] = items.map((item, i) => {
    const o = item as Record<string, unknown>;
    if (typeof o?.className !== "string" || o.className === "")
      throw new StrataError("STRATA_E_USAGE", `label ${i + 1} has no className`, { file: input.file });
    const ns = (v: unknown) => (typeof v === "string" || typeof v === "number" ? BigInt(v) : null);
    return {
      className: o.className,
      captureId: typeof o.captureId === "string" ? o.captureId : null,
      topic: typeof o.topic === "string" ? o.topic : null,
      attributes: (o.attributes as Record<string, unknown> | undefined) ?? {},
      startNs: ns(o.startNs),
      endNs: ns(o.endNs),
    };
  });
  const source = input.source ?? `import:${path.basename(input.file)}`;
  if (source.startsWith("topic:"))
    throw new StrataError(
      "STRATA_E_USAGE",
      "label sources starting with topic: are reserved for labels seen in messages",
    );
  const actor = actorOf(input.actor);
  const version = (await activeOntology(strata.catalog))?.version ?? null;
  const imported = await strata.catalog.transaction(async (tx) => {
    const n = await insertLabels(tx, labels, { source, ontologyVersion: version });
    await tx.appendAudit({
      actor,
      action: "labels.import",
      target: `labels:${source}`,
      details: { count: n, file: path.resolve(input.file) },
    });
    return n;
  });
  return { imported, source };
}

export async function labelsOf(
  strata: Strata,
  filter: { className?: string; captureId?: string; source?: string; limit?: number } = {},
): Promise<LabelRecord[]> {
  return listLabels(strata.catalog, filter);
}
