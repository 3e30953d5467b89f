/**
 * Datasets in the catalog: create an immutable version from an explicit list of items or from scenes
 * (e.g. search hits), list datasets and versions, read a version back. A version, its `dataset` lineage
 * run and its audit event commit in one transaction; creating the same content twice is one version.
 */
import type { Catalog, CaptureRecord } from "../../catalog/index.ts";
import { StrataError, nowNs } from "../../core/index.ts";
import { checkLeakage, type LeakageReport } from "./leakage.ts";
import { isVersionId, manifestJson, normalizeManifest, parseManifest, versionIdOf } from "./manifest.ts";
import { assignSplits } from "./splits.ts";
import type {
  DatasetItem,
  DatasetManifest,
  DatasetSummary,
  DatasetVersion,
  Split,
  SplitPolicy,
} from "./types.ts";

export interface DatasetDeps {
  catalog: Catalog;
  /** Recorded on the lineage run of a new version (package version + git sha). Default `unknown`. */
  codeVersion?: string;
}

/** One item as the caller names it; what is left out is filled from the capture. */
export interface ItemInput {
  /** The capture, by id or by SHA-256 (at least one). */
  captureId?: string;
  captureSha256?: string;
  /** Default: the capture's first message time. */
  startNs?: bigint;
  /** Exclusive. Default: just after the capture's last message. */
  endNs?: bigint;
  /** Default: every topic of the capture. */
  topics?: readonly string[];
  sceneId?: string;
  /** Required for every item when no split policy is given; not allowed with one. */
  split?: Split;
}

/** A scene as the scenes/search modules describe it: a window of a capture with an id. */
export interface SceneRef {
  sceneId: string;
  captureId: string;
  startNs: bigint;
  endNs: bigint;
  topics?: readonly string[];
}

export interface CreateDatasetVersionInput {
  /** The dataset (created on its first version). */
  name: string;
  items?: readonly ItemInput[];
  /** Items from scenes; may be combined with `items`. */
  fromScenes?: readonly SceneRef[];
  /** Assigns splits (leakage-free by group); otherwise every item carries its own split. */
  splitPolicy?: SplitPolicy;
  parentVersionId?: string | null;
  /** The search query that produced the items. */
  query?: string | null;
  ontologyVersion?: string | null;
  contractVersion?: string | null;
  /** Who asked (audit log), e.g. `cli:alice`. */
  actor: string;
  /** Allow captures QA has quarantined (default false: they are refused). */
  allowQuarantined?: boolean;
  /** Create the version even when checkLeakage reports errors (default false: refused). */
  allowLeakage?: boolean;
}

export interface CreateDatasetVersionResult {
  version: DatasetVersion;
  /** false when a version with this exact content already existed (nothing was written). */
  created: boolean;
  /** The `dataset` lineage run that created it (null when it already existed). */
  runId: string | null;
  leakage: LeakageReport;
}

export async function createDatasetVersion(
  input: CreateDatasetVersionInput,
  deps: DatasetDeps,
): Promise<CreateDatasetVersionResult> {
  const startedAtNs = nowNs();
  const { catalog } = deps;
  const requested: ItemInput[] = [
    ...(input.items ?? []),
    ...(input.fromScenes ?? []).map((s) => ({
      captureId: s.captureId,
      startNs: s.startNs,
      endNs: s.endNs,
      sceneId: s.sceneId,
      ...(s.topics === undefined ? {} : { topics: s.topics }),
    })),
  ];
  if (requested.length === 0)
    throw new StrataError("STRATA_E_USAGE", "a dataset version needs at least one item");
  const parentVersionId = input.parentVersionId ?? null;
  if (parentVersionId !== null && (await getVersion(parentVersionId, deps)) === undefined) {
    throw new StrataError("STRATA_E_NOT_FOUND", `parent version ${parentVersionId}`, {
      versionId: parentVersionId,
    });
  }

  const captures = new Map<string, CaptureRecord>();
  const topicsOf = new Map<string, string[]>();
  const resolved: Array<
    Omit<DatasetItem, "split"> & { split?: Split; site: string | null; rig: string | null }
  > = [];
  for (const [position, item] of requested.entries()) {
    const capture = await resolveCapture(item, captures, catalog, position);
    if (capture.status === "quarantined" && input.allowQuarantined !== true) {
      throw new StrataError(
        "STRATA_E_CONFLICT",
        `capture ${capture.captureId} is quarantined by QA (item ${position})`,
        { captureId: capture.captureId },
        { hint: "Leave it out, have a steward release it, or pass allowQuarantined." },
      );
    }
    if (capture.status !== "ready" && capture.status !== "quarantined") {
      throw new StrataError("STRATA_E_CONFLICT", `capture ${capture.captureId} is ${capture.status}`, {
        captureId: capture.captureId,
      });
    }
    let known = topicsOf.get(capture.captureId);
    if (known === undefined) {
      known = (await catalog.listTopics(capture.captureId)).map((t) => t.topic);
      topicsOf.set(capture.captureId, known);
    }
    const topics = item.topics === undefined ? known : [...item.topics];
    const unknown = topics.filter((t) => !known.includes(t));
    if (unknown.length > 0) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `item ${position}: capture has no topic ${unknown.join(", ")}`,
        {
          captureId: capture.captureId,
          topic: unknown[0],
        },
      );
    }
    const firstNs = capture.startNs;
    const endOfCaptureNs = capture.endNs === null ? null : capture.endNs + 1n;
    const startNs = item.startNs ?? firstNs;
    const endNs = item.endNs ?? endOfCaptureNs;
    if (startNs === null || endNs === null || firstNs === null || endOfCaptureNs === null) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `item ${position}: capture ${capture.captureId} has no messages`,
        {
          captureId: capture.captureId,
        },
      );
    }
    if (startNs < firstNs || endNs > endOfCaptureNs || endNs <= startNs) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `item ${position}: window [${startNs}, ${endNs}) is empty or outside the capture [${firstNs}, ${endOfCaptureNs})`,
        { captureId: capture.captureId },
      );
    }
    if (input.splitPolicy !== undefined && item.split !== undefined) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `item ${position}: give per-item splits or a split policy, not both`,
      );
    }
    if (input.splitPolicy === undefined && item.split === undefined) {
      throw new StrataError("STRATA_E_USAGE", `item ${position} has no split and no split policy was given`);
    }
    resolved.push({
      captureSha256: capture.sha256,
      captureId: capture.captureId,
      startNs,
      endNs,
      topics,
      ...(item.sceneId === undefined ? {} : { sceneId: item.sceneId }),
      ...(item.split === undefined ? {} : { split: item.split }),
      site: capture.site,
      rig: capture.rig,
    });
  }

  const withSplits =
    input.splitPolicy === undefined
      ? resolved.map((r) => ({ ...r, split: r.split as Split }))
      : assignSplits(resolved, input.splitPolicy);
  const manifest = normalizeManifest({
    datasetName: input.name,
    items: withSplits.map(({ site: _site, rig: _rig, ...item }) => item),
    ontologyVersion: input.ontologyVersion ?? null,
    contractVersion: input.contractVersion ?? null,
    query: input.query ?? null,
    parentVersionId,
    splitPolicy: input.splitPolicy ?? null,
  });
  const leakage = checkLeakage(manifest, { captures });
  if (!leakage.ok && input.allowLeakage !== true) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `the splits leak: ${leakage.findings
        .filter((f) => f.severity === "error")
        .slice(0, 3)
        .map((f) => f.message)
        .join("; ")}`,
      { findings: leakage.findings.length },
      { hint: "Use a split policy (groupBy capture, site or rig), or pass allowLeakage to keep it as is." },
    );
  }

  const versionId = versionIdOf(manifest);
  const text = manifestJson(manifest);
  const createdAtNs = nowNs();
  const outcome = await catalog.transaction(async (tx) => {
    await guard("createDatasetVersion", () =>
      tx.db
        .insertInto("datasets")
        .values({ name: manifest.datasetName, created_at_ns: createdAtNs, created_by: input.actor })
        .onConflict((oc) => oc.column("name").doNothing())
        .execute(),
    );
    const inserted = await guard("createDatasetVersion", () =>
      tx.db
        .insertInto("dataset_versions")
        .values({
          version_id: versionId,
          dataset: manifest.datasetName,
          parent: parentVersionId,
          manifest: text,
          created_at_ns: createdAtNs,
          created_by: input.actor,
        })
        .onConflict((oc) => oc.column("version_id").doNothing())
        .executeTakeFirst(),
    );
    if (inserted.numInsertedOrUpdatedRows === 0n) return { runId: null };
    const captureInputs = [
      ...new Map(manifest.items.map((i) => [i.captureId, i.captureSha256])).entries(),
    ].map(([captureId, sha256]) => ({ captureId, sha256 }));
    const run = await tx.startRun({
      kind: "dataset",
      inputs: [
        ...(parentVersionId === null ? [] : [{ datasetVersionId: parentVersionId }]),
        ...captureInputs,
      ],
      params: {
        name: manifest.datasetName,
        query: manifest.query,
        ontologyVersion: manifest.ontologyVersion,
        contractVersion: manifest.contractVersion,
        splitPolicy: manifest.splitPolicy === null ? null : { ...manifest.splitPolicy },
      },
      codeVersion: deps.codeVersion ?? "unknown",
      startedAtNs,
    });
    await tx.finishRun(run.runId, {
      status: "completed",
      outputs: [
        { datasetVersionId: versionId, datasetName: manifest.datasetName, itemCount: manifest.items.length },
      ],
    });
    await tx.appendAudit({
      actor: input.actor,
      action: "dataset.version.create",
      target: versionId,
      details: { dataset: manifest.datasetName, runId: run.runId, itemCount: manifest.items.length },
    });
    return { runId: run.runId };
  });
  const version = await requireVersion(versionId, deps);
  return { version, created: outcome.runId !== null, runId: outcome.runId, leakage };
}

export async function getVersion(
  versionId: string,
  deps: Pick<DatasetDeps, "catalog">,
): Promise<DatasetVersion | undefined> {
  if (!isVersionId(versionId)) return undefined;
  const row = await guard("getVersion", () =>
    deps.catalog.db
      .selectFrom("dataset_versions")
      .selectAll()
      .where("version_id", "=", versionId)
      .executeTakeFirst(),
  );
  return row === undefined ? undefined : toVersion(row);
}

/** getVersion, or STRATA_E_NOT_FOUND. */
export async function requireVersion(
  versionId: string,
  deps: Pick<DatasetDeps, "catalog">,
): Promise<DatasetVersion> {
  const version = await getVersion(versionId, deps);
  if (version === undefined) {
    throw new StrataError("STRATA_E_NOT_FOUND", `dataset version ${versionId}`, { versionId });
  }
  return version;
}

/** Datasets by name, each with its version count and newest version. */
export async function listDatasets(deps: Pick<DatasetDeps, "catalog">): Promise<DatasetSummary[]> {
  const { db } = deps.catalog;
  const datasets = await guard("listDatasets", () =>
    db.selectFrom("datasets").selectAll().orderBy("name").execute(),
  );
  const versions = await guard("listDatasets", () =>
    db
      .selectFrom("dataset_versions")
      .select(["dataset", "version_id", "created_at_ns"])
      .orderBy("created_at_ns", "desc")
      .orderBy("version_id")
      .execute(),
  );
  return datasets.map((d) => {
    const own = versions.filter((v) => v.dataset === d.name);
    return {
      name: d.name,
      createdAtNs: BigInt(d.created_at_ns),
      createdBy: d.created_by,
      versionCount: own.length,
      latestVersionId: own[0]?.version_id ?? null,
    };
  });
}

/** The versions of one dataset, newest first. */
export async function listVersions(
  name: string,
  deps: Pick<DatasetDeps, "catalog">,
): Promise<DatasetVersion[]> {
  const rows = await guard("listVersions", () =>
    deps.catalog.db
      .selectFrom("dataset_versions")
      .selectAll()
      .where("dataset", "=", name)
      .orderBy("created_at_ns", "desc")
      .orderBy("version_id")
      .execute(),
  );
  return rows.map(toVersion);
}

/** Leakage check of a stored version, with each capture's site and rig from the catalog. */
export async function checkVersionLeakage(
  versionId: string,
  deps: Pick<DatasetDeps, "catalog">,
): Promise<LeakageReport> {
  const version = await requireVersion(versionId, deps);
  const captures = new Map<string, { site: string | null; rig: string | null }>();
  for (const captureId of new Set(version.manifest.items.map((i) => i.captureId))) {
    const capture = await deps.catalog.getCapture(captureId);
    if (capture !== undefined) captures.set(captureId, { site: capture.site, rig: capture.rig });
  }
  return checkLeakage(version.manifest, { captures });
}

function toVersion(row: {
  version_id: string;
  dataset: string;
  parent: string | null;
  manifest: string;
  created_at_ns: bigint;
  created_by: string;
}): DatasetVersion {
  const manifest: DatasetManifest = parseManifest(row.manifest);
  return {
    versionId: row.version_id,
    datasetName: row.dataset,
    parentVersionId: row.parent,
    manifest,
    createdAtNs: BigInt(row.created_at_ns),
    createdBy: row.created_by,
  };
}

async function resolveCapture(
  item: ItemInput,
  cache: Map<string, CaptureRecord>,
  catalog: Catalog,
  position: number,
): Promise<CaptureRecord> {
  if (item.captureId !== undefined) {
    const cached = cache.get(item.captureId);
    if (cached !== undefined) return check(cached);
  }
  const capture =
    item.captureId !== undefined
      ? await catalog.getCapture(item.captureId)
      : item.captureSha256 !== undefined
        ? await catalog.findCaptureBySha256(item.captureSha256)
        : undefined;
  if (item.captureId === undefined && item.captureSha256 === undefined) {
    throw new StrataError("STRATA_E_USAGE", `item ${position} names no capture (captureId or captureSha256)`);
  }
  if (capture === undefined) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `capture ${item.captureId ?? item.captureSha256} (item ${position})`,
      {
        captureId: item.captureId,
      },
    );
  }
  cache.set(capture.captureId, capture);
  return check(capture);

  function check(capture: CaptureRecord): CaptureRecord {
    if (item.captureSha256 !== undefined && item.captureSha256 !== capture.sha256) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `item ${position}: captureId and captureSha256 name different captures`,
        {
          captureId: capture.captureId,
        },
      );
    }
    return capture;
  }
}

/** Queries through `catalog.db` raise catalogue errors like the Catalog's own methods. */
async function guard<T>(operation: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw new StrataError(
      "STRATA_E_CATALOG",
      `${operation}: ${error instanceof Error ? error.message : String(error)}`,
      {
        operation,
      },
      { cause: error },
    );
  }
}
