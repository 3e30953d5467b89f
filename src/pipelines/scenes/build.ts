/**
 * Scene building for one capture: observe (one streamed pass) → ego series (the registry's stored
 * trajectory, else one collected from TF / odometry / GNSS in the same pass) → agents placed in the ego and
 * lane frames → events → windows → per window features, tags, scene graph, trajectory and embedding.
 * `writeCaptureScenes` then replaces the capture's scenes in the search index and the catalog.
 *
 * Pure with respect to storage: the reader, the stored trajectory, metrics and QA arrive as arguments.
 */
import type { Catalog, JsonObject } from "../../catalog/index.ts";
import { sha256Hex, StrataError } from "../../core/index.ts";
import type { LogReader } from "../../formats/index.ts";
import type { SceneGraph, SceneIndex, SceneRow } from "../../search/index.ts";
import type { PoseTrajectory } from "../registry/index.ts";
import { builtinEmbedder, type Embedder } from "./embed.ts";
import { type EgoSeries, egoSeriesFromTrajectory, nearestSample, wrapAngle, yawOfQuat } from "./ego.ts";
import { detectEvents, type SceneEvent } from "./events.ts";
import { type SceneQaInput, windowFeatures, windowTags } from "./features.ts";
import { buildSceneGraph } from "./graph.ts";
import { type CaptureObservations, observeCapture } from "./observe.ts";
import { resolveSceneOptions, type SceneOptions } from "./options.ts";
import { segmentCapture, type WindowKind } from "./segment.ts";
import { replaceCaptureScenes } from "./store.ts";
import { placeAgents } from "./tracks.ts";

export interface CaptureSceneSource {
  captureId: string;
  /** The capture's time range (ns since the epoch). */
  startNs: bigint;
  endNs: bigint;
  site: string | null;
  rig: string | null;
  quarantined: boolean;
}

export interface StoredEgoTrajectory {
  source: string;
  frame: string;
  trajectory: PoseTrajectory;
}

export interface BuildCaptureScenesInput {
  capture: CaptureSceneSource;
  reader: LogReader;
  /** The registry's stored ego trajectory; without it the pass collects one from the log. */
  storedEgo?: StoredEgoTrajectory;
  /** The capture's stored trajectory metrics (ATE/RPE RMSE, m). */
  metrics?: { ateRmseM: number; rpeRmseM: number };
  qa?: SceneQaInput;
  options?: SceneOptions;
  /** The embedder of the index's `vector` column. Default: the built-in one. */
  embedder?: Embedder;
}

export interface BuiltScene {
  row: SceneRow;
  graph: SceneGraph;
  kind: WindowKind;
  meta: JsonObject;
}

export interface CaptureScenes {
  captureId: string;
  /** Where the ego motion came from (`stored:` prefix when read from the registry), or null without any. */
  egoSource: string | null;
  egoFrame: string | null;
  events: SceneEvent[];
  scenes: BuiltScene[];
  counts: {
    perceptionFrames: number;
    agentTracks: number;
    imageSamples: number;
    lidarSamples: number;
    dropouts: number;
  };
  warnings: string[];
}

/** Scene ids are deterministic: rebuilding a capture gives the same ids for the same windows. */
export function sceneIdOf(captureId: string, startNs: bigint, endNs: bigint): string {
  return `scn_${sha256Hex(`${captureId}:${startNs}:${endNs}`).slice(0, 16)}`;
}

/** The poses of a trajectory within [startNs, endNs], with interpolated poses at both bounds. */
export function trajectoryWindow(
  trajectory: PoseTrajectory,
  startNs: bigint,
  endNs: bigint,
): { xM: number[]; yM: number[]; headingRad: number[] } {
  const out = { xM: [] as number[], yM: [] as number[], headingRad: [] as number[] };
  const stamps = trajectory.timestampsNs;
  const n = trajectory.timestampsSecs.length;
  if (!stamps || n === 0) return out;
  const p = trajectory.positions;
  const q = trajectory.orientations;
  const yawAt = (i: number) =>
    yawOfQuat(q[4 * i] as number, q[4 * i + 1] as number, q[4 * i + 2] as number, q[4 * i + 3] as number);
  const push = (x: number, y: number, yaw: number) => {
    out.xM.push(x);
    out.yM.push(y);
    out.headingRad.push(wrapAngle(yaw));
  };
  const interpolate = (tNs: bigint) => {
    // First pose at or after tNs.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((stamps[mid] as bigint) < tNs) lo = mid + 1;
      else hi = mid;
    }
    // Outside the trajectory, or exactly on a pose (which is kept as is).
    if (lo === 0 || lo === n || stamps[lo] === tNs) return undefined;
    const a = lo - 1;
    const b = lo;
    const f = Number(tNs - (stamps[a] as bigint)) / Number((stamps[b] as bigint) - (stamps[a] as bigint));
    const yawA = yawAt(a);
    return {
      x: (p[3 * a] as number) + f * ((p[3 * b] as number) - (p[3 * a] as number)),
      y: (p[3 * a + 1] as number) + f * ((p[3 * b + 1] as number) - (p[3 * a + 1] as number)),
      yaw: yawA + f * wrapAngle(yawAt(b) - yawA),
    };
  };
  const first = interpolate(startNs);
  if (first) push(first.x, first.y, first.yaw);
  for (let i = 0; i < n; i++) {
    const t = stamps[i] as bigint;
    if (t < startNs) continue;
    if (t > endNs) break;
    push(p[3 * i] as number, p[3 * i + 1] as number, yawAt(i));
  }
  const last = endNs > startNs ? interpolate(endNs) : undefined;
  if (last) push(last.x, last.y, last.yaw);
  return out;
}

/** Computes the scenes of one capture (no writes). */
export async function buildCaptureScenes(input: BuildCaptureScenesInput): Promise<CaptureScenes> {
  const options = resolveSceneOptions(input.options);
  const embedder = input.embedder ?? builtinEmbedder;
  const { capture } = input;
  const observations: CaptureObservations = await observeCapture(input.reader, {
    imageSamplePeriodSecs: options.imageSamplePeriodSecs,
    lidarSamplePeriodSecs: options.lidarSamplePeriodSecs,
    dropoutGapFactor: options.dropoutGapFactor,
  });
  const warnings = [...observations.warnings];

  // Ego: the stored trajectory, else the first one the pass found.
  let egoTrajectory: StoredEgoTrajectory | undefined = input.storedEgo
    ? { ...input.storedEgo, source: `stored:${input.storedEgo.source}` }
    : undefined;
  if (!egoTrajectory) {
    const found = observations.egoTrajectories.find((t) => t.trajectory.timestampsSecs.length >= 2);
    if (found) egoTrajectory = { source: found.source, frame: found.frame, trajectory: found.trajectory };
    else
      warnings.push(
        "scenes: the capture has no ego motion (no stored trajectory, TF, odometry or GNSS); ego features are 0",
      );
  }
  let ego: EgoSeries | undefined;
  if (egoTrajectory && egoTrajectory.trajectory.timestampsSecs.length >= 2) {
    ego = egoSeriesFromTrajectory(egoTrajectory.trajectory, egoTrajectory, {
      periodSecs: options.egoPeriodSecs,
      derivativeHalfWindowSecs: options.derivativeHalfWindowSecs,
    });
  }
  const placed = ego ? placeAgents(observations.agentFrames, ego) : { frames: [], tracks: [] };
  if (!ego && observations.agentFrames.length > 0)
    warnings.push("scenes: agents are ignored without ego motion");
  const events = ego ? detectEvents(ego, placed.tracks, options) : [];

  const windows = segmentCapture(capture.startNs, capture.endNs, events, options);
  const context = {
    ego,
    frames: placed.frames,
    observations,
    events,
    ...(input.metrics ? { metrics: input.metrics } : {}),
    ...(input.qa ? { qa: input.qa } : {}),
    options,
  };
  const drafts = windows.map((window) => {
    const sceneId = sceneIdOf(capture.captureId, window.startNs, window.endNs);
    const features = windowFeatures(window, context);
    const tags = windowTags(window, features, context);
    const graph = buildSceneGraph(
      { sceneId, captureId: capture.captureId, startNs: window.startNs, endNs: window.endNs },
      placed.frames,
      options,
    );
    const trajectory = egoTrajectory
      ? trajectoryWindow(egoTrajectory.trajectory, window.startNs, window.endNs)
      : { xM: [], yM: [], headingRad: [] };
    let xM = 0;
    let yM = 0;
    let headingRad = 0;
    if (ego) {
      const mid = nearestSample(ego, (window.startNs + window.endNs) / 2n);
      xM = ego.xM[mid] as number;
      yM = ego.yM[mid] as number;
      headingRad = wrapAngle(ego.yawRad[mid] as number);
    }
    return { window, sceneId, features, tags, graph, trajectory, xM, yM, headingRad };
  });
  const vectors = await embedder.embed(
    drafts.map((d) => ({
      sceneId: d.sceneId,
      features: d.features,
      tags: d.tags,
      graph: d.graph,
      durationSecs: Number(d.window.endNs - d.window.startNs) / 1e9,
    })),
  );
  if (vectors.length !== drafts.length) {
    throw new StrataError(
      "STRATA_E_INTERNAL",
      `embedder ${embedder.name} returned ${vectors.length} vectors for ${drafts.length} scenes`,
    );
  }
  const scenes: BuiltScene[] = drafts.map((d, i) => ({
    kind: d.window.kind,
    graph: d.graph,
    meta: {
      egoSource: egoTrajectory?.source ?? null,
      egoFrame: egoTrajectory?.frame ?? null,
      alignedTo: d.window.alignedTo,
      relations: d.graph.relations.length,
      agents: d.graph.nodes.length - 1,
    },
    row: {
      sceneId: d.sceneId,
      captureId: capture.captureId,
      startNs: d.window.startNs,
      endNs: d.window.endNs,
      site: capture.site ?? "",
      rig: capture.rig ?? "",
      quarantined: capture.quarantined,
      tags: d.tags,
      features: d.features,
      vector: vectors[i] as Float32Array,
      xM: d.xM,
      yM: d.yM,
      headingRad: d.headingRad,
      ...(d.trajectory.xM.length > 0 ? { trajectory: d.trajectory } : {}),
    },
  }));
  return {
    captureId: capture.captureId,
    egoSource: egoTrajectory?.source ?? null,
    egoFrame: egoTrajectory?.frame ?? null,
    events,
    scenes,
    counts: {
      perceptionFrames: observations.agentFrames.length,
      agentTracks: placed.tracks.length,
      imageSamples: observations.brightness.length,
      lidarSamples: observations.lidarClutter.length,
      dropouts: observations.dropouts.length,
    },
    warnings,
  };
}

export interface WriteScenesDeps {
  index: SceneIndex;
  catalog: Catalog;
}

/**
 * Replaces the capture's scenes: in the index (rows, trajectories, graphs; extra embedders' vectors as named
 * sets), then in the catalog (one transaction). Rebuilding is idempotent: same windows, same ids.
 */
export async function writeCaptureScenes(
  deps: WriteScenesDeps,
  built: CaptureScenes,
  options: { runId: string | null; extraEmbedders?: readonly Embedder[] },
): Promise<void> {
  await deps.index.deleteByCapture(built.captureId);
  await deps.index.upsert(built.scenes.map((s) => s.row));
  await deps.index.graphs.put(built.scenes.map((s) => s.graph));
  for (const embedder of options.extraEmbedders ?? []) {
    const vectors = await embedder.embed(
      built.scenes.map((s) => ({
        sceneId: s.row.sceneId,
        features: s.row.features,
        tags: s.row.tags,
        graph: s.graph,
        durationSecs: Number(s.row.endNs - s.row.startNs) / 1e9,
      })),
    );
    await deps.index.attachVectors(
      embedder.name,
      built.scenes.map((s, i) => ({ sceneId: s.row.sceneId, vector: vectors[i] as Float32Array })),
    );
  }
  await replaceCaptureScenes(
    deps.catalog,
    built.captureId,
    built.scenes.map((s) => ({
      sceneId: s.row.sceneId,
      captureId: s.row.captureId,
      startNs: s.row.startNs,
      endNs: s.row.endNs,
      kind: s.kind,
      tags: [...s.row.tags],
      features: s.row.features,
      meta: s.meta,
      runId: options.runId,
    })),
  );
}
