/**
 * Read models behind the web UI's graph, split, map and cockpit views (and their HTTP routes): the lineage
 * graph of one target with scenes and what was derived from a capture, a dataset version's splits with
 * its leakage check, captures' trajectories thinned for a 2D map, and the time-to-scenario and
 * time-to-first-dataset figures computed from the catalog's own recorded times. Reads only.
 */
import type { CaptureRecord, JsonValue, RunRecord } from "../catalog/index.ts";
import { toStrataError } from "../core/index.ts";
import {
  checkVersionLeakage,
  DEFAULT_RESOLVERS,
  getScenes,
  type LeakageReport,
  type LineageGraph,
  type LineageLink,
  type LineageNode,
  type LineageResolver,
  lineageGraph,
  nodeId,
  requireVersion,
  runsReferencing,
  SPLITS,
  type Split,
  type SplitPolicy,
  type StoredScene,
  traceLineage,
} from "../pipelines/index.ts";
import { requireCapture } from "./present.ts";
import { trajectoryOf } from "./registry.ts";
import type { Strata } from "./strata.ts";

// ---------------------------------------------------------------- lineage graph

export interface LineageViewRequest {
  /** A dataset version, sample, capture (id or SHA-256) or run; the whole catalog when omitted. */
  of?: string;
  /** Default 400. */
  maxNodes?: number;
  /** Re-hash every raw blob reached (reads all their bytes). Default false. */
  verify?: boolean;
}

/** Run kinds already drawn through their facts (QA verdict) or as the capture's own source (ingest). */
const NOT_DOWNSTREAM = new Set(["ingest", "import", "import.legacy", "qa"]);

const blank = (kind: string, key: string, label = key): Omit<LineageNode, "id"> => ({
  kind,
  key,
  label,
  attributes: {},
});

function objectsOf(value: JsonValue | null): Array<{ [key: string]: JsonValue }> {
  const list = Array.isArray(value) ? value : value === null ? [] : [value];
  return list.filter(
    (v): v is { [key: string]: JsonValue } => typeof v === "object" && v !== null && !Array.isArray(v),
  );
}

/**
 * The lineage of one target, walked towards its sources like `strata lineage trace`, with two additions
 * for viewing: scenes (a version's items name them; a scene comes from a `scenes` run over a capture
 * window), and, when the target is a capture, what was derived from it (scene builds, dataset versions,
 * exports), drawn one step deep without walking their other sources.
 */
export async function lineageView(strata: Strata, request: LineageViewRequest = {}): Promise<LineageGraph> {
  const maxNodes = request.maxNodes ?? 400;
  const deps = { catalog: strata.catalog, ...(request.verify === true ? { blobs: strata.blobs } : {}) };
  /** Nodes reached downstream of the target: described, but their own sources are not walked. */
  const frontier = new Set<string>();
  const scenes = new Map<string, StoredScene | undefined>();
  const sceneOf = async (sceneId: string): Promise<StoredScene | undefined> => {
    if (!scenes.has(sceneId)) scenes.set(sceneId, (await getScenes(strata.catalog, [sceneId]))[0]);
    return scenes.get(sceneId);
  };
  const downstream = (node: Omit<LineageNode, "id">, relation: string): LineageLink => {
    frontier.add(nodeId(node.kind, node.key));
    return { node, relation, direction: "downstream" };
  };

  const wrapped: LineageResolver[] = DEFAULT_RESOLVERS.map((resolver) => ({
    kind: resolver.kind,
    async resolve(node, ctx) {
      const links = await resolver.resolve(node, ctx);
      return frontier.has(node.id) ? [] : links;
    },
  }));

  const versionScenes: LineageResolver = {
    kind: "dataset_version",
    async resolve(node) {
      if (frontier.has(node.id)) return [];
      const version = await requireVersion(node.key, { catalog: strata.catalog }).catch(() => undefined);
      const sceneIds = new Set<string>();
      for (const item of version?.manifest.items ?? []) if (item.sceneId) sceneIds.add(item.sceneId);
      return [...sceneIds].map((sceneId) => ({
        node: blank("scene", sceneId),
        relation: "member",
        direction: "upstream",
      }));
    },
  };

  const scene: LineageResolver = {
    kind: "scene",
    async resolve(node) {
      const stored = await sceneOf(node.key);
      if (stored === undefined) {
        node.attributes.missing = true;
        return [];
      }
      Object.assign(node.attributes, {
        captureId: stored.captureId,
        startNs: stored.startNs.toString(),
        endNs: stored.endNs.toString(),
        kind: stored.kind,
        tags: stored.tags,
      });
      if (frontier.has(node.id)) return [];
      const links: LineageLink[] = [];
      if (stored.runId !== null) {
        links.push({ node: blank("run", stored.runId), relation: "output", direction: "upstream" });
      } else {
        links.push({ node: blank("capture", stored.captureId), relation: "window", direction: "upstream" });
      }
      return links;
    },
  };

  const root = request.of?.trim();
  const rootCapture =
    root === undefined || root.startsWith("dsv_") || root.startsWith("run_")
      ? undefined
      : await requireCapture(strata, root).catch(() => undefined);

  const derivedFromCapture: LineageResolver = {
    kind: "capture",
    async resolve(node) {
      if (rootCapture === undefined || node.key !== rootCapture.captureId) return [];
      const runs = await runsReferencing(strata.catalog, "inputs", "captureId", node.key);
      return runs
        .filter((run) => !NOT_DOWNSTREAM.has(run.kind) && run.status === "completed")
        .map((run) => downstream(blank("run", run.runId), "input"));
    },
  };

  /** A downstream run's outputs: scenes, dataset versions (the frontier moves one step). */
  const runOutputs: LineageResolver = {
    kind: "run",
    async resolve(node, ctx) {
      if (!frontier.has(node.id) && !(ctx.mode === "graph" && node.attributes.kind === "scenes")) return [];
      const run = await strata.catalog.getRun(node.key);
      const links: LineageLink[] = [];
      for (const entry of objectsOf(run?.outputs ?? null)) {
        const sceneIds = Array.isArray(entry.sceneIds) ? entry.sceneIds : [];
        for (const sceneId of sceneIds) {
          if (typeof sceneId !== "string") continue;
          links.push(
            ctx.mode === "graph"
              ? { node: blank("scene", sceneId), relation: "output", direction: "downstream" }
              : downstream(blank("scene", sceneId), "output"),
          );
        }
        if (ctx.mode === "trace" && typeof entry.datasetVersionId === "string") {
          links.push(downstream(blank("dataset_version", entry.datasetVersionId), "output"));
        }
      }
      return links;
    },
  };

  const resolvers = [...wrapped, versionScenes, scene, derivedFromCapture, runOutputs];
  if (root === undefined) return await lineageGraph(deps, { resolvers, maxNodes });
  return await traceLineage(rootCapture?.captureId ?? root, deps, { resolvers, maxNodes });
}

// ---------------------------------------------------------------- dataset splits

export interface SplitSummary {
  split: Split;
  itemCount: number;
  captureCount: number;
  durationNs: bigint;
}

export interface DatasetSplitsView {
  versionId: string;
  datasetName: string;
  itemCount: number;
  splitPolicy: SplitPolicy | null;
  splits: SplitSummary[];
  leakage: LeakageReport;
}

/** Items, captures and window time per split of a version, and the version's leakage check. */
export async function datasetSplits(strata: Strata, versionId: string): Promise<DatasetSplitsView> {
  const version = await requireVersion(versionId, { catalog: strata.catalog });
  const splits: SplitSummary[] = SPLITS.map((split) => {
    const items = version.manifest.items.filter((item) => item.split === split);
    return {
      split,
      itemCount: items.length,
      captureCount: new Set(items.map((item) => item.captureId)).size,
      durationNs: items.reduce((sum, item) => sum + (item.endNs - item.startNs), 0n),
    };
  });
  return {
    versionId: version.versionId,
    datasetName: version.datasetName,
    itemCount: version.manifest.items.length,
    splitPolicy: version.manifest.splitPolicy,
    splits,
    leakage: await checkVersionLeakage(version.versionId, { catalog: strata.catalog }),
  };
}

// ---------------------------------------------------------------- trajectory map

export interface TrajectoryMapRequest {
  /** Default: the newest `limit` captures that have a trajectory. */
  captureIds?: readonly string[];
  /** Default 50. */
  limit?: number;
  /** Most points kept per trajectory (evenly thinned, the last pose always kept). Default 500. */
  maxPoints?: number;
}

export interface TrajectoryMapEntry {
  captureId: string;
  site: string | null;
  rig: string | null;
  source: string;
  frame: string;
  poseCount: number;
  lengthM: number;
  startNs: bigint | null;
  tOffsetSecs: number[];
  xM: number[];
  yM: number[];
}

/** Each capture's primary stored trajectory, thinned for plotting; captures without one are left out. */
export async function trajectoryMap(
  strata: Strata,
  request: TrajectoryMapRequest = {},
): Promise<TrajectoryMapEntry[]> {
  const maxPoints = Math.max(2, request.maxPoints ?? 500);
  const captures: CaptureRecord[] = [];
  if (request.captureIds !== undefined) {
    for (const id of request.captureIds) captures.push(await requireCapture(strata, id));
  } else {
    captures.push(...(await strata.catalog.listCaptures({ limit: request.limit ?? 50, offset: 0 })));
  }
  const out: TrajectoryMapEntry[] = [];
  for (const capture of captures) {
    let stored: Awaited<ReturnType<typeof trajectoryOf>>;
    try {
      stored = await trajectoryOf(strata, capture.captureId);
    } catch (error) {
      if (toStrataError(error).code === "STRATA_E_NOT_FOUND") continue;
      throw error;
    }
    const { trajectory } = stored;
    const n = trajectory.timestampsSecs.length;
    if (n === 0) continue;
    const stride = n <= maxPoints ? 1 : (n - 1) / (maxPoints - 1);
    const picks: number[] = [];
    for (let k = 0; k < Math.min(n, maxPoints); k++) {
      const i = Math.min(n - 1, Math.round(k * stride));
      if (picks[picks.length - 1] !== i) picks.push(i);
    }
    const stamps = trajectory.timestampsNs;
    const firstNs = stamps?.[0] ?? stored.startNs;
    const firstSecs = trajectory.timestampsSecs[0] ?? 0;
    const offset = (i: number): number => {
      const ns = stamps?.[i];
      if (ns !== undefined && stamps?.[0] !== undefined) return Number(ns - stamps[0]) / 1e9;
      return (trajectory.timestampsSecs[i] ?? firstSecs) - firstSecs;
    };
    out.push({
      captureId: capture.captureId,
      site: capture.site,
      rig: capture.rig,
      source: stored.source,
      frame: stored.frame,
      poseCount: n,
      lengthM: stored.lengthM,
      startNs: trajectory.timeBase === "index" ? null : (firstNs ?? null),
      tOffsetSecs: picks.map(offset),
      xM: picks.map((i) => trajectory.positions[3 * i] ?? 0),
      yM: picks.map((i) => trajectory.positions[3 * i + 1] ?? 0),
    });
  }
  return out;
}

// ---------------------------------------------------------------- cockpit figures

export interface CockpitSample {
  captureId: string;
  ingestedAtNs: bigint;
  reachedAtNs: bigint;
  secs: number;
}

export interface CockpitFigure {
  definition: string;
  count: number;
  pending: number;
  medianSecs: number | null;
  p90Secs: number | null;
  minSecs: number | null;
  maxSecs: number | null;
  recent: CockpitSample[];
}

export interface CockpitView {
  captureCount: number;
  timeToScenario: CockpitFigure;
  timeToFirstDataset: CockpitFigure;
}

async function allCaptureRecords(strata: Strata): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await strata.catalog.listCaptures({ limit: 1000, offset });
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

async function completedRuns(strata: Strata, kind: string): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await strata.catalog.listRuns({ kind, status: "completed", limit: 1000, offset });
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

/** Per capture, the earliest end of a completed run of `kind` that read it. */
function firstRunPerCapture(runs: readonly RunRecord[]): Map<string, bigint> {
  const first = new Map<string, bigint>();
  for (const run of runs) {
    const atNs = run.endedAtNs ?? run.startedAtNs;
    for (const entry of objectsOf(run.inputs)) {
      if (typeof entry.captureId !== "string") continue;
      const seen = first.get(entry.captureId);
      if (seen === undefined || atNs < seen) first.set(entry.captureId, atNs);
    }
  }
  return first;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = q * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

function figure(
  definition: string,
  captures: readonly CaptureRecord[],
  reached: ReadonlyMap<string, bigint>,
): CockpitFigure {
  const samples: CockpitSample[] = [];
  for (const capture of captures) {
    const reachedAtNs = reached.get(capture.captureId);
    // A milestone recorded before the capture's ingest time (e.g. a re-imported capture) measures nothing.
    if (reachedAtNs === undefined || reachedAtNs < capture.ingestedAtNs) continue;
    samples.push({
      captureId: capture.captureId,
      ingestedAtNs: capture.ingestedAtNs,
      reachedAtNs,
      secs: Number(reachedAtNs - capture.ingestedAtNs) / 1e9,
    });
  }
  const secs = samples.map((s) => s.secs).sort((a, b) => a - b);
  samples.sort((a, b) => (a.ingestedAtNs > b.ingestedAtNs ? -1 : a.ingestedAtNs < b.ingestedAtNs ? 1 : 0));
  return {
    definition,
    count: samples.length,
    pending: captures.length - samples.length,
    medianSecs: quantile(secs, 0.5),
    p90Secs: quantile(secs, 0.9),
    minSecs: secs[0] ?? null,
    maxSecs: secs[secs.length - 1] ?? null,
    recent: samples.slice(0, 10),
  };
}

/**
 * Time-to-scenario: from a capture's ingest to the end of the first completed scene build over it (its
 * scenes became searchable). Time-to-first-dataset: from its ingest to the end of the first completed run
 * that froze a dataset version containing it.
 */
export async function cockpitFigures(strata: Strata): Promise<CockpitView> {
  const [captures, scenesRuns, datasetRuns] = await Promise.all([
    allCaptureRecords(strata),
    completedRuns(strata, "scenes"),
    completedRuns(strata, "dataset"),
  ]);
  return {
    captureCount: captures.length,
    timeToScenario: figure(
      "capture ingested → first completed scene build over it (its scenes searchable)",
      captures,
      firstRunPerCapture(scenesRuns),
    ),
    timeToFirstDataset: figure(
      "capture ingested → first dataset version containing it frozen",
      captures,
      firstRunPerCapture(datasetRuns),
    ),
  };
}
