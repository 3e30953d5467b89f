/**
 * The spatial registry's programmatic API (the CLI and server share it): calibration import, versions,
 * acceptance and diff; capture drift; stored trajectories (`trajectoryOf` for the spatial index); trajectory
 * metrics between files, logs and captures, and ATE/RPE stored as properties of a capture.
 *
 * Functions take the app handle structurally (`RegistryHost`: what `Strata` has) so `createStrata` can use
 * `registryAnalyzerFor` without an import cycle.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Catalog, CaptureRecord, JsonObject } from "../catalog/index.ts";
import { isSha256Hex, nowNs, StrataError } from "../core/index.ts";
import { detectFormat, openLog, parseCalibrationYaml } from "../formats/index.ts";
import {
  acceptCalibration as acceptRigCalibration,
  type AlignMode,
  type CalibrationDiff,
  type CalibrationRecord,
  calibrationBodyFromCameras,
  captureCalibrationId,
  capturesWithCalibration,
  type CaptureMetricsFilter,
  type CaptureMetricsRecord,
  type DeltaUnit,
  type DriftEvent,
  type DriftThresholds,
  diffCalibrations,
  evaluateApe,
  evaluateRpe,
  getCalibration,
  listCaptureMetrics,
  listDriftEvents,
  listRigCalibrations,
  listTrajectories,
  type MetricResult,
  type PoseTrajectory,
  type PoseRelation,
  parseTrajectory,
  putCalibration,
  putCaptureMetrics,
  type RegistryAnalyzerOptions,
  type RigCalibrationRecord,
  readTrajectory,
  readTrajectoryFromLog,
  registryAnalyzer,
  type StoredTrajectory,
  type TrajectoryFormat,
  type TrajectoryInfo,
  type TrajectorySelector,
  versionCalibration,
  writeTrajectory,
} from "../pipelines/index.ts";
import type { StrataConfig } from "./config.ts";

/** What the registry needs of the app (a `Strata` has all of it). */
export interface RegistryHost {
  readonly config: StrataConfig;
  readonly catalog: Catalog;
  readonly blobs: { path(sha256: string): string };
}

const defaultActor = (): string => `cli:${process.env.USER ?? "local"}`;

// ---------------------------------------------------------------- the ingest analyzer

/**
 * The registry analyzer with the settings of `<home>/config.json`'s optional `registry` section:
 * `{"registry": {"drift": {"maxRotationDeg": 0.5, "maxTranslationM": 0.02}, "baseFrame": "base_link", "fixedFrame": "map"}}`.
 */
export function registryAnalyzerFor(
  config: StrataConfig,
  overrides: RegistryAnalyzerOptions = {},
): ReturnType<typeof registryAnalyzer> {
  return registryAnalyzer({ ...registrySettings(config), ...overrides });
}

export function registrySettings(config: StrataConfig): RegistryAnalyzerOptions {
  const file = path.join(config.home, "config.json");
  if (!existsSync(file)) return {};
  let section: unknown;
  try {
    section = (JSON.parse(readFileSync(file, "utf8")) as { registry?: unknown }).registry;
  } catch (cause) {
    throw new StrataError("STRATA_E_USAGE", `cannot parse ${file}`, { file }, { cause });
  }
  if (section === undefined) return {};
  const s = section as {
    drift?: { maxRotationDeg?: unknown; maxTranslationM?: unknown };
    baseFrame?: unknown;
    fixedFrame?: unknown;
  };
  const number = (v: unknown, name: string): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !(v >= 0))
      throw new StrataError("STRATA_E_USAGE", `${file}: registry.${name} must be a number ≥ 0`, { file });
    return v;
  };
  const text = (v: unknown, name: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "string" || v === "")
      throw new StrataError("STRATA_E_USAGE", `${file}: registry.${name} must be a frame name`, { file });
    return v;
  };
  const maxRotationDeg = number(s.drift?.maxRotationDeg, "drift.maxRotationDeg");
  const maxTranslationM = number(s.drift?.maxTranslationM, "drift.maxTranslationM");
  const baseFrame = text(s.baseFrame, "baseFrame");
  const fixedFrame = text(s.fixedFrame, "fixedFrame");
  return {
    drift: {
      ...(maxRotationDeg !== undefined ? { maxRotationDeg } : {}),
      ...(maxTranslationM !== undefined ? { maxTranslationM } : {}),
    },
    ...(baseFrame ? { baseFrame } : {}),
    ...(fixedFrame ? { fixedFrame } : {}),
  };
}

// ---------------------------------------------------------------- calibrations

async function findCapture(catalog: Catalog, captureIdOrSha: string): Promise<CaptureRecord | undefined> {
  return isSha256Hex(captureIdOrSha)
    ? await catalog.findCaptureBySha256(captureIdOrSha)
    : await catalog.getCapture(captureIdOrSha);
}

async function requireCaptureRecord(catalog: Catalog, captureIdOrSha: string): Promise<CaptureRecord> {
  const capture = await findCapture(catalog, captureIdOrSha);
  if (!capture) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no capture ${captureIdOrSha}`,
      { captureId: captureIdOrSha },
      { hint: "List captures with `strata captures list`." },
    );
  }
  return capture;
}

/** A calibration by id (`cal_…`), content SHA-256, or the id of a capture recorded with it. */
export async function requireCalibration(host: RegistryHost, id: string): Promise<CalibrationRecord> {
  let calibration = await getCalibration(host.catalog, id);
  if (!calibration && (id.startsWith("cap_") || isSha256Hex(id))) {
    const capture = await findCapture(host.catalog, id);
    const linked = capture ? await captureCalibrationId(host.catalog, capture.captureId) : undefined;
    if (linked) calibration = await getCalibration(host.catalog, linked);
  }
  if (!calibration) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no calibration ${id}`,
      { calibrationId: id },
      { hint: "List calibrations with `strata calib list`." },
    );
  }
  return calibration;
}

export interface ImportCalibrationResult {
  calibrationId: string;
  rig: string;
  version: number;
  /** false when the same values were already stored (nothing new was written). */
  created: boolean;
  versionCreated: boolean;
  cameras: number;
  extrinsics: number;
}

/** Imports a ROS camera_info YAML or a Kalibr camchain(-imucam) YAML as a version of `rig`. */
export async function importCalibration(
  host: RegistryHost,
  file: string,
  options: { rig: string; actor?: string; imuFrame?: string },
): Promise<ImportCalibrationResult> {
  if (!options.rig)
    throw new StrataError("STRATA_E_USAGE", "a calibration is imported for a rig: pass --rig");
  const absolute = path.resolve(file);
  const bytes = await readFile(absolute).catch((cause: unknown) => {
    throw new StrataError("STRATA_E_FILE_NOT_FOUND", undefined, { file: absolute }, { cause });
  });
  const cameras = parseCalibrationYaml(bytes, {
    source: absolute,
    ...(options.imuFrame ? { imuFrame: options.imuFrame } : {}),
  });
  const body = calibrationBodyFromCameras(cameras);
  const actor = options.actor ?? defaultActor();
  return await host.catalog.transaction(async (tx) => {
    const stored = await putCalibration(tx, {
      body,
      source: "import",
      sourceRef: absolute,
      rig: options.rig,
      recordedAtNs: nowNs(),
    });
    const version = await versionCalibration(tx, options.rig, stored.calibrationId);
    if (stored.created || version.created)
      await tx.appendAudit({
        actor,
        action: "calibration.import",
        target: stored.calibrationId,
        details: {
          rig: options.rig,
          file: absolute,
          version: version.version,
          created: stored.created,
          versionCreated: version.created,
        },
      });
    return {
      calibrationId: stored.calibrationId,
      rig: options.rig,
      version: version.version,
      created: stored.created,
      versionCreated: version.created,
      cameras: body.cameras.length,
      extrinsics: body.extrinsics.length,
    };
  });
}

export async function listCalibrations(
  host: RegistryHost,
  filter: { rig?: string } = {},
): Promise<RigCalibrationRecord[]> {
  return await listRigCalibrations(host.catalog, filter);
}

export interface CalibrationDetail extends CalibrationRecord {
  versions: RigCalibrationRecord[];
  captures: string[];
}

export async function showCalibration(host: RegistryHost, id: string): Promise<CalibrationDetail> {
  const calibration = await requireCalibration(host, id);
  const [versions, captures] = await Promise.all([
    listRigCalibrations(host.catalog, { calibrationId: calibration.calibrationId }),
    capturesWithCalibration(host.catalog, calibration.calibrationId),
  ]);
  return { ...calibration, versions, captures };
}

export async function diffCalibration(
  host: RegistryHost,
  a: string,
  b: string,
  thresholds: DriftThresholds = {},
): Promise<CalibrationDiff & { a: string; b: string }> {
  const [ca, cb] = await Promise.all([requireCalibration(host, a), requireCalibration(host, b)]);
  return { a: ca.calibrationId, b: cb.calibrationId, ...diffCalibrations(ca.body, cb.body, thresholds) };
}

/** Accepts a calibration for a rig (the rig is needed only when the calibration is a version of several). */
export async function acceptCalibration(
  host: RegistryHost,
  id: string,
  options: { rig?: string; actor?: string } = {},
): Promise<RigCalibrationRecord> {
  const calibration = await requireCalibration(host, id);
  const versions = await listRigCalibrations(host.catalog, { calibrationId: calibration.calibrationId });
  let rig = options.rig;
  if (rig === undefined) {
    if (versions.length !== 1) {
      throw new StrataError(
        "STRATA_E_USAGE",
        versions.length === 0
          ? `calibration ${calibration.calibrationId} belongs to no rig (its capture was ingested without --rig)`
          : `calibration ${calibration.calibrationId} is a version of rigs ${versions.map((v) => v.rig).join(", ")}: pass --rig`,
      );
    }
    rig = (versions[0] as RigCalibrationRecord).rig;
  }
  const actor = options.actor ?? defaultActor();
  const chosenRig = rig;
  return await host.catalog.transaction(async (tx) => {
    const before = versions.find((v) => v.rig === chosenRig);
    const accepted = await acceptRigCalibration(tx, chosenRig, calibration.calibrationId, actor);
    if (!before?.accepted) {
      await tx.appendAudit({
        actor,
        action: "calibration.accept",
        target: calibration.calibrationId,
        details: { rig: chosenRig, version: accepted.version },
      });
    }
    return accepted;
  });
}

export interface CaptureDrift {
  captureId: string;
  calibrationId: string | null;
  drift: DriftEvent[];
}

export async function captureDrift(host: RegistryHost, captureIdOrSha: string): Promise<CaptureDrift> {
  const capture = await requireCaptureRecord(host.catalog, captureIdOrSha);
  const [calibrationId, drift] = await Promise.all([
    captureCalibrationId(host.catalog, capture.captureId),
    listDriftEvents(host.catalog, capture.captureId),
  ]);
  return { captureId: capture.captureId, calibrationId: calibrationId ?? null, drift };
}

// ---------------------------------------------------------------- trajectories

/**
 * A stored trajectory of a capture (the primary one unless a source or frame is named): what the spatial
 * index reads to index trajectory points.
 */
export async function trajectoryOf(
  host: RegistryHost,
  captureIdOrSha: string,
  selector: TrajectorySelector = {},
): Promise<StoredTrajectory> {
  const capture = await requireCaptureRecord(host.catalog, captureIdOrSha);
  return await readTrajectory(host.catalog, capture.captureId, selector);
}

export async function captureTrajectories(
  host: RegistryHost,
  captureIdOrSha: string,
): Promise<TrajectoryInfo[]> {
  const capture = await requireCaptureRecord(host.catalog, captureIdOrSha);
  return await listTrajectories(host.catalog, capture.captureId);
}

/** TUM or KITTI text of a stored trajectory. */
export async function exportTrajectory(
  host: RegistryHost,
  captureIdOrSha: string,
  options: TrajectorySelector & { format: "tum" | "kitti" },
): Promise<{ text: string; trajectory: TrajectoryInfo }> {
  const stored = await trajectoryOf(host, captureIdOrSha, options);
  const { trajectory, ...info } = stored;
  return { text: writeTrajectory(trajectory, options.format), trajectory: info };
}

export interface TrajectorySourceSpec {
  /** A trajectory file (TUM / KITTI / EuRoC), a log (bag, MCAP, ROS 2 bag directory), or a capture id. */
  src: string;
  /** Text format of a trajectory file (default: `euroc` for `.csv`, else `tum`). */
  format?: TrajectoryFormat;
  /** Topic of a log (`/pose`, or `/tf:map.base_link`), or the stored source/topic of a capture. */
  topic?: string;
}

export type TrajectorySourceKind = "file" | "log" | "capture";

/** What a SRC names: an existing path is a log (by content) or a trajectory file; anything else a capture. */
export async function trajectorySourceKind(src: string): Promise<TrajectorySourceKind> {
  const info = await stat(src).catch(() => undefined);
  if (!info) return "capture";
  if (info.isDirectory()) return "log";
  try {
    await detectFormat(src);
    return "log";
  } catch (error) {
    if (
      error instanceof StrataError &&
      (error.code === "STRATA_E_UNKNOWN_FORMAT" || error.code === "STRATA_E_EMPTY_FILE")
    )
      return "file";
    throw error;
  }
}

/** Loads a trajectory from a file, a log's topic, or a capture (host needed for captures only). */
export async function loadTrajectory(
  spec: TrajectorySourceSpec,
  host?: RegistryHost,
): Promise<{ trajectory: PoseTrajectory; label: string }> {
  const kind = await trajectorySourceKind(spec.src);
  if (kind === "file") {
    const format = spec.format ?? (spec.src.toLowerCase().endsWith(".csv") ? "euroc" : "tum");
    const text = await readFile(spec.src);
    return { trajectory: parseTrajectory(text, format, { source: spec.src }), label: path.resolve(spec.src) };
  }
  if (kind === "log") {
    if (!spec.topic) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `${spec.src} is a log: name the topic to read (--ref-topic / --est-topic)`,
        { file: spec.src },
      );
    }
    const reader = await openLog(spec.src);
    try {
      return {
        trajectory: await readTrajectoryFromLog(reader, spec.topic),
        label: `${path.resolve(spec.src)}#${spec.topic}`,
      };
    } finally {
      await reader.close();
    }
  }
  if (!host) throw new StrataError("STRATA_E_INTERNAL", "a capture source needs the catalog");
  const stored = await trajectoryOf(host, spec.src, spec.topic ? { source: spec.topic } : {});
  return { trajectory: stored.trajectory, label: `${stored.captureId}#${stored.source}` };
}

export interface MetricOptions {
  align?: AlignMode;
  relation?: PoseRelation;
  delta?: number;
  deltaUnit?: DeltaUnit;
  maxDiffSecs?: number;
  offsetSecs?: number;
}

/** The JSON of `strata traj ape|rpe`. */
export interface MetricSummary {
  pairs: number;
  rmse: number;
  mean: number;
  median: number;
  std: number;
  min: number;
  max: number;
  sse: number;
  scale?: number;
}

export function summarizeMetric(result: MetricResult): MetricSummary {
  return {
    pairs: result.pairs,
    rmse: result.rmse,
    mean: result.mean,
    median: result.median,
    std: result.std,
    min: result.min,
    max: result.max,
    sse: result.sse,
    ...(result.scale !== undefined ? { scale: result.scale } : {}),
  };
}

/** APE or RPE (evo's conventions) of an estimate against a reference. */
export function evaluateTrajectories(
  metric: "ape" | "rpe",
  ref: PoseTrajectory,
  est: PoseTrajectory,
  options: MetricOptions = {},
): MetricSummary {
  const common = {
    align: options.align ?? "none",
    relation: options.relation ?? "trans",
    ...(options.maxDiffSecs !== undefined ? { maxDiffSecs: options.maxDiffSecs } : {}),
    ...(options.offsetSecs !== undefined ? { offsetSecs: options.offsetSecs } : {}),
  };
  const result =
    metric === "ape"
      ? evaluateApe(ref, est, common)
      : evaluateRpe(ref, est, {
          ...common,
          ...(options.delta !== undefined ? { delta: options.delta } : {}),
          ...(options.deltaUnit !== undefined ? { deltaUnit: options.deltaUnit } : {}),
        });
  return summarizeMetric(result);
}

export interface CaptureMetricsRequest {
  ref: TrajectorySourceSpec;
  /** The capture's trajectory to evaluate (source or topic); default the primary one. */
  estimateSource?: string;
  /** Default `se3` (ATE after rigid alignment). */
  align?: AlignMode;
  /** RPE pair distance (default 1 frame). */
  delta?: number;
  deltaUnit?: DeltaUnit;
  maxDiffSecs?: number;
  actor?: string;
}

/** ATE (APE translation) and RPE (translation) of a capture against a reference, stored on the capture. */
export async function computeCaptureMetrics(
  host: RegistryHost,
  captureIdOrSha: string,
  request: CaptureMetricsRequest,
): Promise<CaptureMetricsRecord> {
  const capture = await requireCaptureRecord(host.catalog, captureIdOrSha);
  const estimate = await readTrajectory(
    host.catalog,
    capture.captureId,
    request.estimateSource ? { source: request.estimateSource } : {},
  );
  const reference = await loadTrajectory(request.ref, host);
  const align = request.align ?? "se3";
  const options: MetricOptions = {
    align,
    relation: "trans",
    delta: request.delta ?? 1,
    deltaUnit: request.deltaUnit ?? "frames",
    ...(request.maxDiffSecs !== undefined ? { maxDiffSecs: request.maxDiffSecs } : {}),
  };
  const apeResult = evaluateTrajectories("ape", reference.trajectory, estimate.trajectory, options);
  const rpeResult = evaluateTrajectories("rpe", reference.trajectory, estimate.trajectory, options);
  const params: JsonObject = {
    relation: "trans",
    delta: options.delta ?? 1,
    deltaUnit: options.deltaUnit ?? "frames",
    maxDiffSecs: options.maxDiffSecs ?? 0.01,
    ...(request.ref.format ? { refFormat: request.ref.format } : {}),
  };
  const actor = request.actor ?? defaultActor();
  return await host.catalog.transaction(async (tx) => {
    const record = await putCaptureMetrics(tx, {
      captureId: capture.captureId,
      reference: reference.label,
      estimateSource: estimate.source,
      align,
      ape: apeResult,
      rpe: rpeResult,
      scale: apeResult.scale ?? null,
      params,
    });
    await tx.appendAudit({
      actor,
      action: "capture.metrics",
      target: capture.captureId,
      details: {
        reference: reference.label,
        estimateSource: estimate.source,
        align,
        apeRmse: apeResult.rmse,
        rpeRmse: rpeResult.rmse,
      },
    });
    return record;
  });
}

export async function queryCaptureMetrics(
  host: RegistryHost,
  filter: CaptureMetricsFilter = {},
): Promise<CaptureMetricsRecord[]> {
  return await listCaptureMetrics(host.catalog, filter);
}
