/**
 * The ontology under change control, in the catalog: versions (the greatest is active), change
 * proposals that a steward approves or rejects (approval writes the next version and migrates stored
 * labels in the same transaction), labels, and the taxonomy drift report.
 */
import type { Catalog } from "../../catalog/index.ts";
import { StrataError, canonicalJson, newId, nowNs } from "../../core/index.ts";
import {
  applyChanges,
  type MigrationRule,
  migrateLabel,
  type Ontology,
  type OntologyChange,
  parseOntology,
  validateOntology,
} from "./model.ts";
import { type Bump, compareSemver } from "./semver.ts";

/** Labels with this source prefix are class names seen in messages (not annotations): never rewritten. */
export const OBSERVED_LABEL_SOURCE = "topic:";

export interface OntologyVersion {
  version: string;
  ontology: Ontology;
  proposalId: string | null;
  createdAtNs: bigint;
  createdBy: string;
}

export type ProposalStatus = "proposed" | "approved" | "rejected";

export interface OntologyProposal {
  proposalId: string;
  baseVersion: string;
  changes: OntologyChange[];
  note: string;
  bump: Bump | null;
  status: ProposalStatus;
  proposedBy: string;
  proposedAtNs: bigint;
  decidedBy: string | null;
  decidedAtNs: bigint | null;
  decisionReason: string | null;
  resultVersion: string | null;
  migration: MigrationRule[] | null;
}

export async function listOntologyVersions(catalog: Catalog): Promise<OntologyVersion[]> {
  const rows = await catalog.db.selectFrom("ontology_versions").selectAll().execute();
  return rows
    .map((r) => ({
      version: r.version,
      ontology: JSON.parse(r.document) as Ontology,
      proposalId: r.proposal_id,
      createdAtNs: r.created_at_ns,
      createdBy: r.created_by,
    }))
    .sort((a, b) => compareSemver(a.version, b.version));
}

/** The active (greatest) version, or undefined before `initOntology`. */
export async function activeOntology(catalog: Catalog): Promise<OntologyVersion | undefined> {
  const versions = await listOntologyVersions(catalog);
  return versions[versions.length - 1];
}

export async function getOntologyVersion(catalog: Catalog, version?: string): Promise<OntologyVersion> {
  const versions = await listOntologyVersions(catalog);
  const found =
    version === undefined ? versions[versions.length - 1] : versions.find((v) => v.version === version);
  if (!found)
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      version === undefined ? "no ontology yet" : `no ontology version ${version}`,
      {},
      { hint: "Create the first version with `strata ontology init FILE`." },
    );
  return found;
}

/** Stores the first version from a document. Later versions come only from approved proposals. */
export async function initOntology(
  catalog: Catalog,
  text: string,
  options: { actor: string; origin?: string },
): Promise<OntologyVersion> {
  const ontology = parseOntology(text, options.origin);
  return catalog.transaction(async (tx) => {
    const existing = await listOntologyVersions(tx);
    if (existing.length > 0)
      throw new StrataError(
        "STRATA_E_CONFLICT",
        `the ontology already exists (active ${existing[existing.length - 1]?.version})`,
        {},
        { hint: "Change it with `strata ontology propose FILE`, then have a steward approve it." },
      );
    const createdAtNs = nowNs();
    await tx.db
      .insertInto("ontology_versions")
      .values({
        version: ontology.version,
        document: canonicalJson(ontology),
        proposal_id: null,
        created_at_ns: createdAtNs,
        created_by: options.actor,
      })
      .execute();
    await tx.appendAudit({
      actor: options.actor,
      action: "ontology.init",
      target: `ontology:${ontology.name}@${ontology.version}`,
      details: { classes: ontology.classes.length },
    });
    return { version: ontology.version, ontology, proposalId: null, createdAtNs, createdBy: options.actor };
  });
}

function toProposal(r: {
  proposal_id: string;
  base_version: string;
  changes: string;
  note: string;
  status: string;
  proposed_by: string;
  proposed_at_ns: bigint;
  decided_by: string | null;
  decided_at_ns: bigint | null;
  decision_reason: string | null;
  result_version: string | null;
  migration: string | null;
}): OntologyProposal {
  const body = JSON.parse(r.changes) as { changes: OntologyChange[]; bump: Bump | null };
  return {
    proposalId: r.proposal_id,
    baseVersion: r.base_version,
    changes: body.changes,
    bump: body.bump,
    note: r.note,
    status: r.status as ProposalStatus,
    proposedBy: r.proposed_by,
    proposedAtNs: r.proposed_at_ns,
    decidedBy: r.decided_by,
    decidedAtNs: r.decided_at_ns,
    decisionReason: r.decision_reason,
    resultVersion: r.result_version,
    migration: r.migration === null ? null : (JSON.parse(r.migration) as MigrationRule[]),
  };
}

export async function listProposals(catalog: Catalog, status?: ProposalStatus): Promise<OntologyProposal[]> {
  let query = catalog.db.selectFrom("ontology_proposals").selectAll();
  if (status !== undefined) query = query.where("status", "=", status);
  const rows = await query.orderBy("proposed_at_ns", "desc").execute();
  return rows.map(toProposal);
}

export async function getProposal(catalog: Catalog, proposalId: string): Promise<OntologyProposal> {
  const row = await catalog.db
    .selectFrom("ontology_proposals")
    .selectAll()
    .where("proposal_id", "=", proposalId)
    .executeTakeFirst();
  if (!row)
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no ontology proposal ${proposalId}`,
      {},
      { hint: "List them with `strata ontology proposals`." },
    );
  return toProposal(row);
}

/**
 * Records a change proposal against the active version. The changes are applied once here so that a
 * proposal that cannot apply is refused up front; the preview (next version, migration map) is returned.
 */
export async function proposeChanges(
  catalog: Catalog,
  input: { changes: OntologyChange[]; note?: string; bump?: Bump; actor: string },
): Promise<{ proposal: OntologyProposal; preview: { version: string; migration: MigrationRule[] } }> {
  return catalog.transaction(async (tx) => {
    const base = await getOntologyVersion(tx);
    const preview = applyChanges(base.ontology, input.changes, input.bump);
    const proposalId = newId("onp");
    const proposedAtNs = nowNs();
    await tx.db
      .insertInto("ontology_proposals")
      .values({
        proposal_id: proposalId,
        base_version: base.version,
        changes: canonicalJson({ changes: input.changes, bump: input.bump ?? null }),
        note: input.note ?? "",
        status: "proposed",
        proposed_by: input.actor,
        proposed_at_ns: proposedAtNs,
        decided_by: null,
        decided_at_ns: null,
        decision_reason: null,
        result_version: null,
        migration: null,
      })
      .execute();
    await tx.appendAudit({
      actor: input.actor,
      action: "ontology.propose",
      target: `proposal:${proposalId}`,
      details: {
        baseVersion: base.version,
        changes: input.changes.map((c) => c.op),
        nextVersion: preview.ontology.version,
      },
    });
    return {
      proposal: await getProposal(tx, proposalId),
      preview: { version: preview.ontology.version, migration: preview.migration },
    };
  });
}

export interface ApprovalResult {
  proposal: OntologyProposal;
  version: OntologyVersion;
  /** Stored labels rewritten, per migration rule (`from → to`). */
  migratedLabels: Record<string, number>;
}

/**
 * A steward approves a proposal: the next version is written, stored annotation labels are migrated
 * through the map, and the decision is audited, all in one transaction. The proposal must be based on
 * the active version (otherwise it is stale: propose again).
 */
export async function approveProposal(
  catalog: Catalog,
  proposalId: string,
  input: { actor: string; reason: string },
): Promise<ApprovalResult> {
  return catalog.transaction(async (tx) => {
    const proposal = await getProposal(tx, proposalId);
    if (proposal.status !== "proposed")
      throw new StrataError("STRATA_E_CONFLICT", `proposal ${proposalId} is already ${proposal.status}`);
    const active = await getOntologyVersion(tx);
    if (active.version !== proposal.baseVersion)
      throw new StrataError(
        "STRATA_E_CONFLICT",
        `proposal ${proposalId} was made against ${proposal.baseVersion}, the active version is ${active.version}`,
        {},
        { hint: "Reject it and propose the changes again against the active version." },
      );
    const { ontology, migration } = applyChanges(
      active.ontology,
      proposal.changes,
      proposal.bump ?? undefined,
    );
    const atNs = nowNs();
    await tx.db
      .insertInto("ontology_versions")
      .values({
        version: ontology.version,
        document: canonicalJson(ontology),
        proposal_id: proposalId,
        created_at_ns: atNs,
        created_by: input.actor,
      })
      .execute();
    const migratedLabels = await migrateLabels(tx, migration, ontology.version);
    await tx.db
      .updateTable("ontology_proposals")
      .set({
        status: "approved",
        decided_by: input.actor,
        decided_at_ns: atNs,
        decision_reason: input.reason,
        result_version: ontology.version,
        migration: canonicalJson(migration),
      })
      .where("proposal_id", "=", proposalId)
      .execute();
    await tx.appendAudit({
      actor: input.actor,
      action: "ontology.approve",
      target: `proposal:${proposalId}`,
      details: {
        reason: input.reason,
        fromVersion: active.version,
        toVersion: ontology.version,
        proposedBy: proposal.proposedBy,
        migratedLabels,
      },
    });
    return {
      proposal: await getProposal(tx, proposalId),
      version: { version: ontology.version, ontology, proposalId, createdAtNs: atNs, createdBy: input.actor },
      migratedLabels,
    };
  });
}

export async function rejectProposal(
  catalog: Catalog,
  proposalId: string,
  input: { actor: string; reason: string },
): Promise<OntologyProposal> {
  return catalog.transaction(async (tx) => {
    const proposal = await getProposal(tx, proposalId);
    if (proposal.status !== "proposed")
      throw new StrataError("STRATA_E_CONFLICT", `proposal ${proposalId} is already ${proposal.status}`);
    await tx.db
      .updateTable("ontology_proposals")
      .set({
        status: "rejected",
        decided_by: input.actor,
        decided_at_ns: nowNs(),
        decision_reason: input.reason,
      })
      .where("proposal_id", "=", proposalId)
      .execute();
    await tx.appendAudit({
      actor: input.actor,
      action: "ontology.reject",
      target: `proposal:${proposalId}`,
      details: { reason: input.reason },
    });
    return getProposal(tx, proposalId);
  });
}

async function migrateLabels(
  tx: Catalog,
  migration: readonly MigrationRule[],
  version: string,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const sources = [...new Set(migration.map((r) => r.from))];
  if (sources.length === 0) return counts;
  const rows = await tx.db
    .selectFrom("labels")
    .select(["label_id", "class_name", "attributes", "source"])
    .where("class_name", "in", sources)
    .execute();
  for (const row of rows) {
    if (row.source.startsWith(OBSERVED_LABEL_SOURCE)) continue;
    const target = migrateLabel(
      migration,
      row.class_name,
      JSON.parse(row.attributes) as Record<string, unknown>,
    );
    if (target === undefined) continue;
    await tx.db
      .updateTable("labels")
      .set({ class_name: target, ontology_version: version })
      .where("label_id", "=", row.label_id)
      .execute();
    const key = `${row.class_name} → ${target}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

// ---------------------------------------------------------------- labels

export interface LabelInput {
  className: string;
  captureId?: string | null;
  topic?: string | null;
  attributes?: Record<string, unknown>;
  startNs?: bigint | null;
  endNs?: bigint | null;
  /** Occurrences this row stands for (default 1). */
  count?: number;
}

export interface LabelRecord {
  labelId: string;
  className: string;
  captureId: string | null;
  topic: string | null;
  attributes: Record<string, unknown>;
  startNs: bigint | null;
  endNs: bigint | null;
  source: string;
  count: number;
  ontologyVersion: string | null;
  createdAtNs: bigint;
}

/** Inserts labels (annotations: source e.g. `import:annotations.jsonl`; observed class names: `topic:/…`). */
export async function insertLabels(
  catalog: Catalog,
  labels: readonly LabelInput[],
  options: { source: string; ontologyVersion?: string | null },
): Promise<number> {
  const createdAtNs = nowNs();
  for (let i = 0; i < labels.length; i += 500) {
    const batch = labels.slice(i, i + 500);
    await catalog.db
      .insertInto("labels")
      .values(
        batch.map((l) => ({
          label_id: newId("lbl"),
          capture_id: l.captureId ?? null,
          topic: l.topic ?? null,
          class_name: l.className,
          attributes: canonicalJson(l.attributes ?? {}),
          start_ns: l.startNs ?? null,
          end_ns: l.endNs ?? null,
          source: options.source,
          count: l.count ?? 1,
          ontology_version: options.ontologyVersion ?? null,
          created_at_ns: createdAtNs,
        })),
      )
      .execute();
  }
  return labels.length;
}

export async function listLabels(
  catalog: Catalog,
  filter: { className?: string; captureId?: string; source?: string; limit?: number } = {},
): Promise<LabelRecord[]> {
  let query = catalog.db.selectFrom("labels").selectAll();
  if (filter.className !== undefined) query = query.where("class_name", "=", filter.className);
  if (filter.captureId !== undefined) query = query.where("capture_id", "=", filter.captureId);
  if (filter.source !== undefined) query = query.where("source", "=", filter.source);
  const rows = await query
    .orderBy("created_at_ns")
    .orderBy("label_id")
    .limit(filter.limit ?? 1000)
    .execute();
  return rows.map((r) => ({
    labelId: r.label_id,
    className: r.class_name,
    captureId: r.capture_id,
    topic: r.topic,
    attributes: JSON.parse(r.attributes) as Record<string, unknown>,
    startNs: r.start_ns,
    endNs: r.end_ns,
    source: r.source,
    count: Number(r.count),
    ontologyVersion: r.ontology_version,
    createdAtNs: r.created_at_ns,
  }));
}

// ---------------------------------------------------------------- drift

export interface DriftEntry {
  className: string;
  /** Occurrences (sum of label counts). */
  count: number;
  /** Label rows. */
  rows: number;
  sources: string[];
  captures: string[];
  /** What the migration history says this name became, if it was renamed/merged/split away. */
  suggestion?: string;
}

export interface DriftReport {
  ontologyVersion: string | null;
  /** Labels whose class is not in the active ontology. */
  unknown: DriftEntry[];
  /** Labels whose class is deprecated in the active ontology. */
  deprecated: Array<DriftEntry & { replacedBy?: string }>;
  /** Classes of the active ontology and how many labels use them. */
  used: Array<{ className: string; count: number }>;
}

/** Taxonomy drift: class names in labels (annotations and names seen in messages) against the active ontology. */
export async function driftReport(catalog: Catalog): Promise<DriftReport> {
  const active = await activeOntology(catalog);
  const classes = new Map((active?.ontology.classes ?? []).map((c) => [c.name, c]));
  const rows = await catalog.db
    .selectFrom("labels")
    .select(["class_name", "source", "capture_id", "count"])
    .execute();
  const byClass = new Map<
    string,
    { count: number; rows: number; sources: Set<string>; captures: Set<string> }
  >();
  for (const r of rows) {
    const entry = byClass.get(r.class_name) ?? { count: 0, rows: 0, sources: new Set(), captures: new Set() };
    entry.count += Number(r.count);
    entry.rows++;
    entry.sources.add(r.source);
    if (r.capture_id !== null) entry.captures.add(r.capture_id);
    byClass.set(r.class_name, entry);
  }
  const history = (await listProposals(catalog, "approved")).reverse().flatMap((p) => p.migration ?? []);
  const report: DriftReport = {
    ontologyVersion: active?.version ?? null,
    unknown: [],
    deprecated: [],
    used: [],
  };
  for (const [className, e] of [...byClass.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const entry: DriftEntry = {
      className,
      count: e.count,
      rows: e.rows,
      sources: [...e.sources].sort(),
      captures: [...e.captures].sort(),
    };
    const c = classes.get(className);
    if (!c) {
      const targets = [...new Set(history.filter((r) => r.from === className).map((r) => r.to))];
      if (targets.length > 0) entry.suggestion = targets.join(" | ");
      report.unknown.push(entry);
    } else if (c.deprecated)
      report.deprecated.push({
        ...entry,
        ...(c.replacedBy === undefined ? {} : { replacedBy: c.replacedBy }),
      });
    else report.used.push({ className, count: e.count });
  }
  return report;
}
