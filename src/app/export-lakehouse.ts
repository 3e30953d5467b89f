/**
 * Open-format exports at the app level: the Parquet lakehouse (`strata export parquet`), LeRobot episodes
 * of a dataset version (`strata export lerobot`) and a USD stage of a capture window (`strata export usd`).
 * Wires the catalog, the blob store, the registry's stored trajectories and calibrations and (when the
 * home has one) the scene index's graphs into the export pipelines, and records a lineage run (inputs,
 * outputs, params, code version) and an audit event for every export.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { CaptureRecord, JsonObject, JsonValue } from "../catalog/index.ts";
import { StrataError, toStrataError } from "../core/index.ts";
import { openLog } from "../formats/index.ts";
import {
  captureCalibrationId,
  describeLakehousePlan,
  describeLerobotPlan,
  describeUsdPlan,
  executeLakehouseExport,
  executeLerobotExport,
  executeUsdExport,
  getCalibration,
  type LakehouseExportResult,
  type LakehouseSource,
  type LerobotEpisodeSource,
  type LerobotExportResult,
  type LerobotPlan,
  type LerobotPlannedEpisode,
  lakehouseOutputs,
  type PoseTrajectory,
  parseWindowBound,
  planLakehouseExport,
  planLerobotExport,
  planUsdExport,
  readTrajectoryFromLog,
  removeLerobotOutput,
  resolveDatasetVersion,
  storedCapturePath,
  type UsdExportInputs,
  type UsdExportPlan,
  type UsdExportResult,
  type VideoMode,
} from "../pipelines/index.ts";
import { openSceneIndex, type SceneIndex, searchDir } from "../search/index.ts";
import { requireCapture } from "./present.ts";
import { trajectoryOf } from "./registry.ts";
import type { Strata } from "./strata.ts";

function defaultActor(): string {
  return `cli:${process.env.USER ?? "local"}`;
}

function sourceDeps(strata: Strata) {
  return { catalog: strata.catalog, blobs: strata.blobs, tempDir: path.join(strata.config.home, "tmp") };
}

/** Runs `work` inside a lineage run: finished as completed with its outputs, or failed with the error. */
async function withRun<T>(
  strata: Strata,
  run: { kind: string; inputs: JsonValue; params: JsonValue },
  work: (runId: string) => Promise<{ value: T; outputs: JsonValue }>,
): Promise<{ value: T; runId: string }> {
  const started = await strata.catalog.startRun({ ...run, codeVersion: strata.codeVersion });
  let done: { value: T; outputs: JsonValue };
  try {
    done = await work(started.runId);
  } catch (error) {
    const e = toStrataError(error);
    await strata.catalog
      .finishRun(started.runId, { status: "failed", error: e.toJSON() as unknown as JsonValue })
      .catch(() => undefined);
    throw e;
  }
  await strata.catalog.finishRun(started.runId, { status: "completed", outputs: done.outputs });
  return { value: done.value, runId: started.runId };
}

// ---------------------------------------------------------------- lakehouse

export interface LakehouseExportAppRequest {
  /** The lakehouse directory. */
  out: string;
  /** Only captures not yet written to `out`. */
  incremental?: boolean;
  actor?: string;
}

export interface LakehouseExportOutcome extends LakehouseExportResult {
  /** Lineage run (also the `part-<runId>-…` prefix of this run's files). */
  runId: string;
}

/** The scene index's graph store when this home has a scene index (closed by the returned function). */
async function sceneGraphsOf(
  strata: Strata,
): Promise<{ source: LakehouseSource["sceneGraphs"]; close(): Promise<void> }> {
  const dir = searchDir(strata.config.home);
  if (!existsSync(dir)) return { source: undefined, close: async () => {} };
  let index: SceneIndex;
  try {
    index = await openSceneIndex({ dir });
  } catch {
    return { source: undefined, close: async () => {} };
  }
  return { source: index.graphs, close: () => index.close() };
}

/** What `strata export parquet --explain` prints: tables, partitions, skipped tables; writes nothing. */
export async function planLakehouse(
  strata: Strata,
  request: LakehouseExportAppRequest,
): Promise<ReturnType<typeof describeLakehousePlan>> {
  const graphs = await sceneGraphsOf(strata);
  try {
    const plan = await planLakehouseExport(
      { catalog: strata.catalog, ...(graphs.source ? { sceneGraphs: graphs.source } : {}) },
      { outDir: request.out, incremental: request.incremental, runId: "explain" },
    );
    return describeLakehousePlan(plan);
  } finally {
    await graphs.close();
  }
}

/** Writes (or extends, with `incremental`) the Parquet lakehouse and records the run. */
export async function exportLakehouse(
  strata: Strata,
  request: LakehouseExportAppRequest,
): Promise<LakehouseExportOutcome> {
  const outDir = path.resolve(request.out);
  const graphs = await sceneGraphsOf(strata);
  try {
    const source: LakehouseSource = {
      catalog: strata.catalog,
      ...(graphs.source ? { sceneGraphs: graphs.source } : {}),
    };
    const { value: result, runId } = await withRun(
      strata,
      {
        kind: "export.parquet",
        inputs: [{ kind: "catalog", dialect: strata.catalog.dialect }],
        params: { outDir, incremental: request.incremental === true },
      },
      async (runId) => {
        const plan = await planLakehouseExport(source, { outDir, incremental: request.incremental, runId });
        const result = await executeLakehouseExport(plan, source);
        const outputs = lakehouseOutputs(result) as JsonObject;
        outputs.captureIds = result.captureIds.slice(0, 1000);
        outputs.skipped = plan.skipped as unknown as JsonValue;
        return { value: result, outputs };
      },
    );
    await strata.catalog.appendAudit({
      actor: request.actor ?? defaultActor(),
      action: "lakehouse.export",
      target: outDir,
      details: {
        runId,
        mode: result.mode,
        captures: result.captureIds.length,
        tables: result.tables.map((t) => ({ name: t.name, rowsWritten: t.rowsWritten })),
      },
    });
    return { ...result, runId };
  } finally {
    await graphs.close();
  }
}

// ---------------------------------------------------------------- ego trajectory of a capture

interface Ego {
  trajectory: PoseTrajectory;
  frame: string;
  childFrame: string;
  source: string;
}

/**
 * The capture's stored primary trajectory (registry), or one read from the log (`/odom`-like odometry,
 * else TF `odom → base_link`) when none is stored.
 */
async function egoOf(strata: Strata, capture: CaptureRecord, logPath: string): Promise<Ego | undefined> {
  try {
    const stored = await trajectoryOf(strata, capture.captureId);
    if (stored.trajectory.timestampsNs && stored.trajectory.timestampsNs.length > 0) {
      return {
        trajectory: stored.trajectory,
        frame: stored.frame,
        childFrame: stored.childFrame ?? "base_link",
        source: stored.source,
      };
    }
  } catch (error) {
    if (toStrataError(error).code !== "STRATA_E_NOT_FOUND") throw error;
  }
  const topics = await strata.catalog.listTopics(capture.captureId);
  const odometry = topics.find((t) => /(^|\/)(msg\/)?Odometry$/.test(t.schemaName));
  const reader = await openLog(logPath);
  try {
    const spec = odometry ? odometry.topic : "/tf:odom.base_link";
    const trajectory = await readTrajectoryFromLog(reader, spec);
    if (!trajectory.timestampsNs || trajectory.timestampsNs.length === 0) return undefined;
    return {
      trajectory,
      frame: trajectory.frameId ?? "odom",
      childFrame: "base_link",
      source: odometry ? `odom:${odometry.topic}` : "tf:odom->base_link",
    };
  } catch (error) {
    const code = toStrataError(error).code;
    if (code === "STRATA_E_NOT_FOUND" || code === "STRATA_E_TF_DISCONNECTED" || code === "STRATA_E_USAGE")
      return undefined;
    throw error;
  } finally {
    await reader.close();
  }
}

// ---------------------------------------------------------------- LeRobot

export interface LerobotExportAppRequest {
  /** `DATASET@VERSION` (full id, unique prefix, or `latest`). */
  dataset: string;
  out: string;
  fps?: number;
  video?: VideoMode;
  task?: string;
  actor?: string;
}

export interface LerobotExportOutcome extends LerobotExportResult {
  runId: string;
  versionId: string;
}

async function planLerobot(strata: Strata, request: LerobotExportAppRequest): Promise<LerobotPlan> {
  const version = await resolveDatasetVersion(request.dataset, { catalog: strata.catalog });
  const topicsByCapture = new Map<string, Array<{ topic: string; schemaName: string }>>();
  for (const item of version.manifest.items) {
    if (!topicsByCapture.has(item.captureId)) {
      topicsByCapture.set(item.captureId, await strata.catalog.listTopics(item.captureId));
    }
  }
  const first = version.manifest.items[0];
  const firstCapture = first ? await strata.catalog.getCapture(first.captureId) : undefined;
  return await planLerobotExport(version, topicsByCapture, {
    outDir: request.out,
    ...(request.fps !== undefined ? { fps: request.fps } : {}),
    ...(request.video !== undefined ? { video: request.video } : {}),
    ...(request.task !== undefined ? { task: request.task } : {}),
    rigOfFirstCapture: firstCapture?.rig ?? null,
  });
}

/** What `strata export lerobot --explain` prints. */
export async function planLerobotDataset(
  strata: Strata,
  request: LerobotExportAppRequest,
): Promise<Record<string, unknown>> {
  return describeLerobotPlan(await planLerobot(strata, request));
}

/** Writes a dataset version as LeRobot v3 episodes and records the run. */
export async function exportLerobotDataset(
  strata: Strata,
  request: LerobotExportAppRequest,
): Promise<LerobotExportOutcome> {
  const plan = await planLerobot(strata, request);
  const openEpisode = async (item: LerobotPlannedEpisode["item"]): Promise<LerobotEpisodeSource> => {
    const capture = await requireCapture(strata, item.captureId);
    const stored = await storedCapturePath(sourceDeps(strata), capture);
    try {
      return {
        logPath: stored.path,
        ego: await egoOf(strata, capture, stored.path),
        release: stored.release,
      };
    } catch (error) {
      await stored.release();
      throw error;
    }
  };
  const { value: result, runId } = await withRun(
    strata,
    {
      kind: "export.lerobot",
      inputs: [
        { datasetVersionId: plan.versionId, dataset: plan.datasetName },
        ...[...new Set(plan.episodes.map((e) => e.item.captureSha256))].map((sha256) => ({ sha256 })),
      ],
      params: {
        outDir: plan.outDir,
        fps: plan.fps,
        video: plan.video,
        task: plan.task,
        action: plan.action.kind,
      },
    },
    async () => {
      let result: LerobotExportResult;
      try {
        result = await executeLerobotExport(plan, openEpisode);
      } catch (error) {
        await removeLerobotOutput(plan.outDir);
        throw error;
      }
      return {
        value: result,
        outputs: [
          {
            path: result.outDir,
            format: "lerobot-v3.0",
            episodes: result.episodes,
            frames: result.frames,
            video: result.video,
            dataFiles: result.dataFiles,
            videoFiles: result.videoFiles,
            warnings: result.warnings.slice(0, 50),
          },
        ],
      };
    },
  );
  await strata.catalog.appendAudit({
    actor: request.actor ?? defaultActor(),
    action: "dataset.export.lerobot",
    target: plan.versionId,
    details: {
      runId,
      dataset: plan.datasetName,
      path: result.outDir,
      episodes: result.episodes,
      frames: result.frames,
    },
  });
  return { ...result, runId, versionId: plan.versionId };
}

// ---------------------------------------------------------------- USD

export interface UsdExportAppRequest {
  /** Capture id (`cap_…`) or full SHA-256. */
  capture: string;
  /** Inclusive bounds: ns since the epoch or `+DURATION` from the capture start. Default: the whole capture. */
  start?: string;
  end?: string;
  out: string;
  timeCodesPerSecond?: number;
  lidarKeyframeSecs?: number;
  maxPointsPerKeyframe?: number;
  actor?: string;
}

export interface UsdExportOutcome {
  plan: UsdExportPlan;
  result: UsdExportResult;
  runId: string;
}

async function usdInputs(strata: Strata, logPath: string, capture: CaptureRecord): Promise<UsdExportInputs> {
  const ego = await egoOf(strata, capture, logPath);
  if (!ego) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `capture ${capture.captureId} has no ego trajectory (no stored trajectory, odometry or odom → base_link TF)`,
      { captureId: capture.captureId },
    );
  }
  const calibrationId = await captureCalibrationId(strata.catalog, capture.captureId).catch(() => undefined);
  const calibration = calibrationId ? await getCalibration(strata.catalog, calibrationId) : undefined;
  const topics = await strata.catalog.listTopics(capture.captureId);
  return {
    capture: { captureId: capture.captureId, sha256: capture.sha256 },
    logPath,
    ego,
    ...(calibration
      ? {
          calibration: {
            calibrationId: calibration.calibrationId,
            cameras: calibration.body.cameras,
            extrinsics: calibration.body.extrinsics,
          },
        }
      : {}),
    topics,
  };
}

function usdPlanOf(
  inputs: UsdExportInputs,
  capture: CaptureRecord,
  request: UsdExportAppRequest,
): UsdExportPlan {
  if (capture.startNs === null || capture.endNs === null) {
    throw new StrataError("STRATA_E_USAGE", `capture ${capture.captureId} has no messages`);
  }
  return planUsdExport(inputs, {
    outPath: request.out,
    startNs: request.start === undefined ? capture.startNs : parseWindowBound(request.start, capture.startNs),
    endNs: request.end === undefined ? capture.endNs : parseWindowBound(request.end, capture.startNs),
    ...(request.timeCodesPerSecond !== undefined ? { timeCodesPerSecond: request.timeCodesPerSecond } : {}),
    ...(request.lidarKeyframeSecs !== undefined ? { lidarKeyframeSecs: request.lidarKeyframeSecs } : {}),
    ...(request.maxPointsPerKeyframe !== undefined
      ? { maxPointsPerKeyframe: request.maxPointsPerKeyframe }
      : {}),
  });
}

/** What `strata export usd --explain` prints. */
export async function planCaptureUsd(
  strata: Strata,
  request: UsdExportAppRequest,
): Promise<Record<string, unknown>> {
  const capture = await requireCapture(strata, request.capture);
  const stored = await storedCapturePath(sourceDeps(strata), capture);
  try {
    return describeUsdPlan(usdPlanOf(await usdInputs(strata, stored.path, capture), capture, request));
  } finally {
    await stored.release();
  }
}

/** Writes a USD stage of a capture window and records the run. */
export async function exportCaptureUsd(
  strata: Strata,
  request: UsdExportAppRequest,
): Promise<UsdExportOutcome> {
  const capture = await requireCapture(strata, request.capture);
  const stored = await storedCapturePath(sourceDeps(strata), capture);
  try {
    const inputs = await usdInputs(strata, stored.path, capture);
    const plan = usdPlanOf(inputs, capture, request);
    const { value: result, runId } = await withRun(
      strata,
      {
        kind: "export.usd",
        inputs: [
          {
            captureId: capture.captureId,
            sha256: capture.sha256,
            startNs: plan.window.startNs.toString(),
            endNs: plan.window.endNs.toString(),
            egoSource: plan.egoSource,
            calibrationId: inputs.calibration?.calibrationId ?? null,
          },
        ],
        params: describeUsdPlan(plan) as JsonObject,
      },
      async () => {
        const result = await executeUsdExport(plan, inputs);
        return {
          value: result,
          outputs: [{ ...result, format: "usda" } as unknown as JsonObject],
        };
      },
    );
    await strata.catalog.appendAudit({
      actor: request.actor ?? defaultActor(),
      action: "capture.export.usd",
      target: capture.captureId,
      details: {
        runId,
        path: result.path,
        startNs: plan.window.startNs.toString(),
        endNs: plan.window.endNs.toString(),
        agents: result.agents,
        lidarKeyframes: result.lidarKeyframes,
      },
    });
    return { plan, result, runId };
  } finally {
    await stored.release();
  }
}
