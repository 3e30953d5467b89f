/**
 * The registry's ingest analyzer ("registry"): one streamed pass over the capture's CameraInfo, TF, pose,
 * odometry and NavSatFix topics gives
 * - the calibration the capture was recorded with (camera intrinsics from the first CameraInfo of each topic,
 *   extrinsics from the first `/tf_static` value of each edge), versioned per rig by content hash;
 * - calibration drift: `/tf_static` edges that change within the capture, and edges that differ from the
 *   rig's last accepted calibration, beyond the thresholds (default 0.5°, 2 cm);
 * - ego-motion trajectories (TF, odometry, poses, GNSS → ENU), the preferred one marked primary.
 * Everything is written in the capture's ingest transaction. Drift results go to later analyzers (QA) as `data`.
 */
import type { Catalog, JsonObject } from "../../catalog/index.ts";
import { StrataError } from "../../core/index.ts";
import {
  type CameraCalibration,
  type CameraInfoMessage,
  calibrationFromCameraInfo,
  type Decoder,
  decoderFor,
  type LogSummary,
} from "../../formats/index.ts";
import type { AnalyzerContext, AnalyzerResult, CaptureAnalyzer } from "../ingest/ingest.ts";
import {
  type CalibrationBody,
  calibrationIdOf,
  type DriftEvent,
  insertDriftEvents,
  lastAcceptedCalibration,
  linkCaptureCalibration,
  normalizeCalibrationBody,
  putCalibration,
  versionCalibration,
} from "./calibration-store.ts";
import { compareExtrinsics, type DriftThresholds, type Extrinsic, StaticTfChangeDetector } from "./drift.ts";
import {
  EgoMotionCollector,
  type EgoMotionOptions,
  type EgoTrajectory,
  registryMessageKind,
  transformsOfMessage,
} from "./ego-motion.ts";
import { insertTrajectories } from "./store.ts";
import { normalizeFrameId } from "./tf-buffer.ts";

export interface RegistryAnalyzerOptions extends EgoMotionOptions {
  /** Drift thresholds (default 0.5° rotation, 0.02 m translation; flagged when strictly above). */
  drift?: DriftThresholds;
}

/** What the registry analyzer hands to the analyzers after it (`context.earlier.get("registry").data`). */
export interface RegistryAnalysis {
  calibrationId: string | null;
  /** The rig's accepted calibration the capture was compared with, if any. */
  acceptedCalibrationId: string | null;
  thresholds: { maxRotationDeg: number; maxTranslationM: number };
  /** Flagged drift, time order within each kind. */
  drift: DriftEvent[];
  /** Cameras whose intrinsics changed within the capture (CameraInfo differing from the topic's first). */
  intrinsicsChanged: Array<{ topic: string; atNs: bigint }>;
  trajectories: Array<{ source: string; frame: string; poseCount: number; primary: boolean }>;
}

export const REGISTRY_ANALYZER_NAME = "registry";

export function registryAnalyzer(options: RegistryAnalyzerOptions = {}): CaptureAnalyzer {
  const thresholds = {
    maxRotationDeg: options.drift?.maxRotationDeg ?? 0.5,
    maxTranslationM: options.drift?.maxTranslationM ?? 0.02,
  };
  if (!(thresholds.maxRotationDeg >= 0) || !(thresholds.maxTranslationM >= 0)) {
    throw new StrataError("STRATA_E_USAGE", "drift thresholds must be ≥ 0", { ...thresholds });
  }
  return {
    name: REGISTRY_ANALYZER_NAME,
    analyze: (context) => analyzeCapture(context, options, thresholds),
  };
}

interface CameraState {
  /** Undefined when the topic's CameraInfo gives no usable calibration (warned once). */
  calibration?: CameraCalibration;
  firstNs: bigint;
  changedAtNs?: bigint;
}

async function analyzeCapture(
  context: AnalyzerContext,
  options: RegistryAnalyzerOptions,
  thresholds: RegistryAnalysis["thresholds"],
): Promise<AnalyzerResult> {
  const warnings: string[] = [];
  const kinds = new Map<string, NonNullable<ReturnType<typeof registryMessageKind>>>();
  for (const t of context.summary.topics) {
    const kind = registryMessageKind(t.topic, t.schemaName);
    if (kind && t.messageCount > 0n) kinds.set(t.topic, kind);
  }
  const ego = new EgoMotionCollector(options);
  const detector = new StaticTfChangeDetector(thresholds);
  const firstExtrinsics = new Map<string, Extrinsic & { atNs: bigint }>();
  const cameras = new Map<string, CameraState>();
  const undecodable = new Map<string, number>();

  if (kinds.size > 0) {
    // Decoded here, message by message, so one undecodable message is a warning rather than a failed ingest.
    const decode = messageDecoder(context.summary);
    for await (const message of context.reader.messages({ topics: [...kinds.keys()] })) {
      const kind = kinds.get(message.topic);
      if (!kind) continue;
      const decoded = decode(message.channelId, message.data);
      if (decoded === undefined) {
        undecodable.set(message.topic, (undecodable.get(message.topic) ?? 0) + 1);
        continue;
      }
      if (kind === "camera-info") {
        readCameraInfo(message.topic, decoded, message.logTimeNs, cameras, warnings);
        continue;
      }
      if (kind === "tf-static") {
        for (const t of transformsOfMessage(decoded)) {
          const extrinsic = extrinsicOf(t);
          if (!extrinsic) continue;
          const key = `${extrinsic.childFrame}\u0000${extrinsic.parentFrame}`;
          if (!firstExtrinsics.has(key)) firstExtrinsics.set(key, { ...extrinsic, atNs: message.logTimeNs });
          detector.push(message.logTimeNs, extrinsic);
        }
      }
      ego.push(kind, message.topic, decoded, message.logTimeNs);
    }
  }
  for (const [topic, count] of undecodable)
    warnings.push(`registry: ${count} messages on ${topic} could not be decoded`);

  // The calibration the capture was recorded with.
  const cameraList = nameCameras([...cameras.entries()]);
  const extrinsics = [...firstExtrinsics.values()].map(({ atNs: _atNs, ...e }) => e);
  const body: CalibrationBody | undefined =
    cameraList.length > 0 || extrinsics.length > 0
      ? normalizeCalibrationBody({ cameras: cameraList, extrinsics })
      : undefined;
  const calibrationId = body ? calibrationIdOf(body).calibrationId : null;

  // Drift within the capture, then against the rig's accepted calibration.
  const drift: DriftEvent[] = detector.events.map((e) => ({
    kind: "within-capture",
    frame: e.frame,
    parentFrame: e.parentFrame,
    atNs: e.atNs,
    rotationDeg: e.rotationDeg,
    translationM: e.translationM,
    referenceCalibrationId: null,
  }));
  const rig = context.options.rig ?? null;
  const accepted = rig && body ? await lastAcceptedCalibration(context.catalog, rig) : undefined;
  if (accepted && body && accepted.calibrationId !== calibrationId) {
    const comparison = compareExtrinsics(accepted.body.extrinsics, body.extrinsics, thresholds);
    for (const d of comparison.deltas) {
      if (!d.drifted) continue;
      const first = firstExtrinsics.get(`${d.childFrame}\u0000${d.parentFrame}`);
      drift.push({
        kind: "vs-accepted",
        frame: d.childFrame,
        parentFrame: d.parentFrame,
        atNs: first?.atNs ?? context.stats.startNs ?? 0n,
        rotationDeg: d.rotationDeg,
        translationM: d.translationM,
        referenceCalibrationId: accepted.calibrationId,
      });
    }
  }
  for (const e of drift) {
    warnings.push(
      `registry: calibration drift (${e.kind}) of ${e.parentFrame} → ${e.frame} at ${e.atNs} ns: ` +
        `${e.rotationDeg.toFixed(3)}°, ${(e.translationM * 100).toFixed(2)} cm`,
    );
  }
  const intrinsicsChanged = [...cameras.entries()]
    .filter(([, c]) => c.changedAtNs !== undefined)
    .map(([topic, c]) => ({ topic, atNs: c.changedAtNs as bigint }));
  for (const c of intrinsicsChanged)
    warnings.push(`registry: camera intrinsics on ${c.topic} changed at ${c.atNs} ns`);

  const trajectories: EgoTrajectory[] = ego.finish();
  const recordedAtNs = context.stats.startNs ?? 0n;
  const analysis: RegistryAnalysis = {
    calibrationId,
    acceptedCalibrationId: accepted?.calibrationId ?? null,
    thresholds,
    drift,
    intrinsicsChanged,
    trajectories: trajectories.map((t, i) => ({
      source: t.source,
      frame: t.frame,
      poseCount: t.trajectory.timestampsSecs.length,
      primary: i === 0,
    })),
  };
  const outputs: JsonObject = {
    calibrationId,
    cameras: cameraList.length,
    extrinsics: extrinsics.length,
    driftEvents: drift.length,
    trajectories: analysis.trajectories.map((t) => ({
      source: t.source,
      frame: t.frame,
      poses: t.poseCount,
    })),
  };

  return {
    warnings,
    outputs,
    data: analysis,
    async commit(tx: Catalog, captureId: string) {
      if (body && calibrationId) {
        await putCalibration(tx, { body, source: "capture", sourceRef: captureId, rig, recordedAtNs });
        if (rig) {
          const version = await versionCalibration(tx, rig, calibrationId);
          if (version.created) {
            await tx.appendAudit({
              actor: context.options.actor,
              action: "calibration.version",
              target: calibrationId,
              details: { rig, version: version.version, source: "capture", captureId },
            });
          }
        }
        await linkCaptureCalibration(tx, captureId, calibrationId);
      }
      await insertDriftEvents(tx, captureId, drift);
      await insertTrajectories(tx, captureId, trajectories);
    },
  };
}

/**
 * Decodes a message of a channel through its schema (else the standard definition of its type); undefined
 * when there is no decoder or the bytes do not decode.
 */
function messageDecoder(summary: LogSummary): (channelId: number, data: Uint8Array) => unknown {
  const decoders = new Map<number, Decoder | undefined>();
  const decoderOf = (channelId: number): Decoder | undefined => {
    if (decoders.has(channelId)) return decoders.get(channelId);
    const channel = summary.channels.find((c) => c.id === channelId);
    let decoder: Decoder | undefined;
    if (channel) {
      const schema = summary.schemas.find((s) => s.id === channel.schemaId);
      for (const candidate of [schema, undefined]) {
        try {
          decoder = decoderFor(channel, candidate);
        } catch {
          decoder = undefined;
        }
        if (decoder) break;
      }
    }
    decoders.set(channelId, decoder);
    return decoder;
  };
  return (channelId, data) => {
    const decoder = decoderOf(channelId);
    if (!decoder) return undefined;
    try {
      return decoder(data);
    } catch {
      return undefined;
    }
  };
}

function extrinsicOf(t: ReturnType<typeof transformsOfMessage>[number]): Extrinsic | undefined {
  const tr = t.transform;
  if (!tr) return undefined;
  const values = [
    tr.translation.x,
    tr.translation.y,
    tr.translation.z,
    tr.rotation.x,
    tr.rotation.y,
    tr.rotation.z,
    tr.rotation.w,
  ];
  if (!values.every(Number.isFinite)) return undefined;
  return {
    parentFrame: normalizeFrameId(t.header?.frame_id ?? ""),
    childFrame: normalizeFrameId(t.child_frame_id ?? ""),
    translation: { x: tr.translation.x, y: tr.translation.y, z: tr.translation.z },
    rotation: { x: tr.rotation.x, y: tr.rotation.y, z: tr.rotation.z, w: tr.rotation.w },
  };
}

/** First CameraInfo of a topic is its calibration; a later one with other values marks a change. */
function readCameraInfo(
  topic: string,
  decoded: unknown,
  logTimeNs: bigint,
  cameras: Map<string, CameraState>,
  warnings: string[],
): void {
  const state = cameras.get(topic);
  if (state) {
    if (!state.calibration || state.changedAtNs !== undefined) return;
    const m = decoded as CameraInfoMessage;
    const k = m.K ?? m.k;
    const d = m.D ?? m.d;
    const same =
      m.width === state.calibration.width &&
      m.height === state.calibration.height &&
      sameNumbers(k, state.calibration.K) &&
      sameNumbers(d, state.calibration.D);
    if (!same) state.changedAtNs = logTimeNs;
    return;
  }
  let calibration: CameraCalibration;
  try {
    calibration = calibrationFromCameraInfo(decoded as CameraInfoMessage, { topic });
  } catch (error) {
    if (!(error instanceof StrataError)) throw error;
    warnings.push(`registry: ${topic}: ${error.message}`);
    cameras.set(topic, { firstNs: logTimeNs });
    return;
  }
  if (calibration.K.every((v) => v === 0)) {
    warnings.push(`registry: ${topic}: the camera is not calibrated (K is all zeros)`);
    cameras.set(topic, { firstNs: logTimeNs });
    return;
  }
  cameras.set(topic, { calibration: { ...calibration, topic }, firstNs: logTimeNs });
}

function sameNumbers(a: ArrayLike<number> | undefined, b: readonly number[]): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (Number(a[i]) !== b[i]) return false;
  return true;
}

/** Usable cameras, named by frame id; two topics with one frame id are told apart by topic. */
function nameCameras(entries: Array<[string, CameraState]>): CameraCalibration[] {
  const usable = entries.flatMap(([topic, c]) =>
    c.calibration ? [{ topic, calibration: c.calibration }] : [],
  );
  const counts = new Map<string, number>();
  for (const { calibration } of usable)
    counts.set(calibration.cameraName, (counts.get(calibration.cameraName) ?? 0) + 1);
  return usable.map(({ topic, calibration }) =>
    (counts.get(calibration.cameraName) ?? 0) > 1
      ? { ...calibration, cameraName: `${calibration.cameraName}@${topic}` }
      : calibration,
  );
}
