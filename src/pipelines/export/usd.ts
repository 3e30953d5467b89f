/**
 * Log → USD: a time window of a capture as a text USD stage (`.usda`) for simulators and DCC tools.
 *
 * Stage conventions: `upAxis = "Z"`, `metersPerUnit = 1`, the capture's fixed frame (the ego trajectory's
 * frame, e.g. `odom`, REP 103/105: x forward, y left, z up) is the stage's world, and time code 0 is the
 * window start: `timeCode = (tNs − startNs) · timeCodesPerSecond / 1e9`.
 *
 * - `/World/Ego` (Xform): time-sampled `xformOp:translate` (double3, metres) and `xformOp:orient` (quatf,
 *   USD order (w, x, y, z)) of the base frame, sampled from the trajectory at every integer time code. Its
 *   children: a `Body` Cube (the vehicle box) and one `Camera` per calibrated camera, placed by the
 *   extrinsics (`baseFromCamera`) and turned from the ROS optical frame (z forward, y down) to USD's camera
 *   frame (−z forward, y up). Focal length and apertures come from K and the image size: only their ratios
 *   matter (`horizontalAperture / focalLength = width / fx`), so the filmback is fixed at the USD default
 *   width (20.955) and the rest follows; principal point offsets go into the aperture offsets.
 * - `/World/Agents/track_<id>` (Cube, `size = 1`): time-sampled translate / orient / scale (box length,
 *   width, height in metres) and visibility, `customData = {agentClass, trackId, sourceTopic}`.
 * - `/World/Lidar/scan_<n>` (Points): one prim per lidar keyframe (every `lidarKeyframeSecs`), points in
 *   the lidar frame, placed at the lidar's pose at its stamp, visible from its time code until the next.
 *
 * Memory: the trajectory of the capture and the agents' samples of the window are held (a few numbers per
 * sample); point clouds stream through a spool file, one keyframe at a time.
 */
import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import {
  nsFromRosTime,
  type Quat,
  quatFromMat3,
  type Se3,
  se3Compose,
  se3FromTranslationQuat,
  StrataError,
  type Vec3,
} from "../../core/index.ts";
import { type CameraCalibration, type LogReader, openLog } from "../../formats/index.ts";
import { type Extrinsic, type PoseTrajectory, TfBuffer, transformsOfMessage } from "../registry/index.ts";

export const USD_FORMAT = "strata.usd/1";

export interface UsdExportOptions {
  /** Output `.usda` file (written through FILE.tmp, renamed when complete). */
  outPath: string;
  /** Inclusive window, ns since the Unix epoch. */
  startNs: bigint;
  endNs: bigint;
  /** Time codes per second of the stage (integer, default 30); the ego is sampled at each time code. */
  timeCodesPerSecond?: number;
  /** One lidar keyframe every this many seconds (default 1; 0 leaves the lidar out). */
  lidarKeyframeSecs?: number;
  /** Points per keyframe at most (evenly thinned; default 20 000). */
  maxPointsPerKeyframe?: number;
  /** The ego box in the base frame (default a 4.6 × 1.9 × 1.6 m car centred 1.3 m ahead of base_link). */
  egoBox?: { centerM: Vec3; sizeM: Vec3 };
}

/** What a USD export reads: the log, the ego trajectory, calibration and the topic list. */
export interface UsdExportInputs {
  capture: { captureId: string; sha256: string };
  /** A readable path of the capture (file or ROS 2 bag directory). */
  logPath: string;
  /** The ego trajectory: poses of `childFrame` in `frame` with ns stamps. */
  ego: { trajectory: PoseTrajectory; frame: string; childFrame: string; source: string };
  /** The capture's calibration (cameras with K and size, extrinsics `parentFromChild`). */
  calibration?: {
    calibrationId?: string;
    cameras: readonly CameraCalibration[];
    extrinsics: readonly Extrinsic[];
  };
  topics: ReadonlyArray<{ topic: string; schemaName: string }>;
}

export interface UsdCameraPlan {
  /** Prim name. */
  name: string;
  /** Frame of the camera (its optical frame). */
  frameId: string;
  width: number;
  height: number;
  /** Row-major 3×3. */
  K: number[];
}

export interface UsdExportPlan {
  captureId: string;
  window: { startNs: bigint; endNs: bigint };
  timeCodesPerSecond: number;
  startTimeCode: number;
  endTimeCode: number;
  fixedFrame: string;
  baseFrame: string;
  egoSource: string;
  lidar: { topic: string; keyframeNs: bigint; maxPoints: number } | undefined;
  objects: { topic: string; schemaName: string } | undefined;
  tfStaticTopics: string[];
  cameras: UsdCameraPlan[];
  outPath: string;
}

export interface UsdExportResult {
  path: string;
  sizeBytes: number;
  egoSamples: number;
  agents: number;
  agentSamples: number;
  lidarKeyframes: number;
  points: number;
  cameras: number;
  /** Things left out, with the reason (unplaced cameras, undecodable messages, …). */
  warnings: string[];
}

const DEFAULT_EGO_BOX = { centerM: { x: 1.3, y: 0, z: 0.8 }, sizeM: { x: 4.6, y: 1.9, z: 1.6 } };
/** USD's default horizontal aperture (35 mm film back, in the spec's units); the focal length follows. */
const HORIZONTAL_APERTURE = 20.955;
/** `opticalFromUsdCamera`: a half turn about x (USD cameras look along −z with +y up). */
const OPTICAL_FROM_USD_CAMERA: Se3 = {
  rotation: Float64Array.of(1, 0, 0, 0, -1, 0, 0, 0, -1),
  translation: { x: 0, y: 0, z: 0 },
};

// ---------------------------------------------------------------- plan

/** Picks topics, cameras and time codes; reads nothing. */
export function planUsdExport(inputs: UsdExportInputs, options: UsdExportOptions): UsdExportPlan {
  const tcps = options.timeCodesPerSecond ?? 30;
  if (!Number.isInteger(tcps) || tcps < 1 || tcps > 1000) {
    throw new StrataError("STRATA_E_USAGE", `timeCodesPerSecond must be an integer in 1…1000, got ${tcps}`);
  }
  if (options.endNs <= options.startNs) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `the window end (${options.endNs}) must be after its start (${options.startNs})`,
    );
  }
  const keyframeSecs = options.lidarKeyframeSecs ?? 1;
  if (!(keyframeSecs >= 0) || !Number.isFinite(keyframeSecs)) {
    throw new StrataError("STRATA_E_USAGE", `lidarKeyframeSecs must be ≥ 0, got ${keyframeSecs}`);
  }
  const maxPoints = options.maxPointsPerKeyframe ?? 20_000;
  if (!Number.isInteger(maxPoints) || maxPoints < 1) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `maxPointsPerKeyframe must be a positive integer, got ${maxPoints}`,
    );
  }
  if (!inputs.ego.trajectory.timestampsNs || inputs.ego.trajectory.timestampsNs.length === 0) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `capture ${inputs.capture.captureId} has no ego poses with ns stamps`,
    );
  }
  const clouds = inputs.topics.filter((t) => t.schemaName.endsWith("PointCloud2"));
  const lidarTopic = (clouds.find((t) => /lidar|velodyne|ouster|points/i.test(t.topic)) ?? clouds[0])?.topic;
  const objects = inputs.topics.find((t) => /ObjectArray$|Detection3DArray$/.test(t.schemaName));
  const usedNames = new Set<string>();
  const cameras: UsdCameraPlan[] = [];
  for (const c of inputs.calibration?.cameras ?? []) {
    if (c.K.length !== 9 || !(c.width > 0) || !(c.height > 0)) continue;
    const base = usdIdentifier(c.cameraName.replace(/_optical(_frame)?$/, ""));
    let name = base;
    for (let i = 2; usedNames.has(name); i++) name = `${base}_${i}`;
    usedNames.add(name);
    cameras.push({ name, frameId: c.cameraName, width: c.width, height: c.height, K: [...c.K] });
  }
  const durationNs = options.endNs - options.startNs;
  return {
    captureId: inputs.capture.captureId,
    window: { startNs: options.startNs, endNs: options.endNs },
    timeCodesPerSecond: tcps,
    startTimeCode: 0,
    endTimeCode: timeCodeOf(durationNs, tcps),
    fixedFrame: inputs.ego.frame,
    baseFrame: inputs.ego.childFrame,
    egoSource: inputs.ego.source,
    lidar:
      lidarTopic && keyframeSecs > 0
        ? { topic: lidarTopic, keyframeNs: BigInt(Math.round(keyframeSecs * 1e9)), maxPoints }
        : undefined,
    objects: objects ? { topic: objects.topic, schemaName: objects.schemaName } : undefined,
    tfStaticTopics: inputs.topics
      .filter((t) => t.topic === "/tf_static" || t.topic.endsWith("/tf_static"))
      .map((t) => t.topic),
    cameras,
    outPath: path.resolve(options.outPath),
  };
}

/** A JSON view of a plan (for `--explain` and lineage params). */
export function describeUsdPlan(plan: UsdExportPlan): Record<string, unknown> {
  return {
    ...plan,
    window: { startNs: plan.window.startNs.toString(), endNs: plan.window.endNs.toString() },
    lidar: plan.lidar ? { ...plan.lidar, keyframeNs: plan.lidar.keyframeNs.toString() } : null,
    objects: plan.objects ?? null,
    cameras: plan.cameras.map((c) => ({
      name: c.name,
      frameId: c.frameId,
      width: c.width,
      height: c.height,
    })),
  };
}

const timeCodeOf = (offsetNs: bigint, tcps: number): number => (Number(offsetNs) * tcps) / 1e9;

// ---------------------------------------------------------------- text helpers

/** A valid USD prim name: letters, digits and `_`, not starting with a digit. */
export function usdIdentifier(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, "_").replace(/^_+/, "");
  if (cleaned === "") return "_";
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/** A number in USD text: finite, rounded to `decimals`, no `-0`. */
function num(v: number, decimals = 6): string {
  if (!Number.isFinite(v))
    throw new StrataError("STRATA_E_INTERNAL", `non-finite number ${v} in a USD value`);
  const f = 10 ** decimals;
  const r = Math.round(v * f) / f;
  return Object.is(r, -0) ? "0" : String(r);
}

const vec = (v: Vec3, decimals = 6): string =>
  `(${num(v.x, decimals)}, ${num(v.y, decimals)}, ${num(v.z, decimals)})`;
/** USD quaternions are written (real, i, j, k) = (w, x, y, z). */
const quat = (q: Quat): string => `(${num(q.w, 7)}, ${num(q.x, 7)}, ${num(q.y, 7)}, ${num(q.z, 7)})`;
const str = (s: string): string => JSON.stringify(s);
const timeCode = (tc: number): string => num(tc, 6);

/** A buffered writer with back-pressure. */
class TextSink {
  private buffered: string[] = [];
  private size = 0;
  bytes = 0;

  constructor(private readonly stream: WriteStream) {}

  async line(depth: number, text: string): Promise<void> {
    await this.raw(`${"    ".repeat(depth)}${text}\n`);
  }

  async raw(text: string): Promise<void> {
    this.buffered.push(text);
    this.size += text.length;
    if (this.size >= 1 << 16) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffered.length === 0) return;
    const chunk = this.buffered.join("");
    this.buffered = [];
    this.size = 0;
    this.bytes += Buffer.byteLength(chunk);
    if (!this.stream.write(chunk)) await once(this.stream, "drain");
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => {
      this.stream.once("error", reject);
      this.stream.end(() => resolve());
    });
  }
}

// ---------------------------------------------------------------- decoding helpers

interface Decoded {
  [key: string]: unknown;
}
const asObject = (v: unknown): Decoded | undefined =>
  typeof v === "object" && v !== null ? (v as Decoded) : undefined;
const asNumber = (v: unknown): number | undefined =>
  typeof v === "number" && Number.isFinite(v) ? v : undefined;

function vec3Of(v: unknown): Vec3 | undefined {
  const o = asObject(v);
  const x = asNumber(o?.x);
  const y = asNumber(o?.y);
  const z = asNumber(o?.z);
  return x === undefined || y === undefined || z === undefined ? undefined : { x, y, z };
}

function quatOf(v: unknown): Quat | undefined {
  const o = asObject(v);
  const x = asNumber(o?.x);
  const y = asNumber(o?.y);
  const z = asNumber(o?.z);
  const w = asNumber(o?.w);
  if (x === undefined || y === undefined || z === undefined || w === undefined) return undefined;
  const n = Math.hypot(x, y, z, w);
  return n > 0 ? { x: x / n, y: y / n, z: z / n, w: w / n } : undefined;
}

function headerOf(decoded: Decoded, logTimeNs: bigint): { frameId: string; stampNs: bigint } {
  const header = asObject(decoded.header);
  const stamp = asObject(header?.stamp);
  let stampNs = logTimeNs;
  if (stamp && typeof stamp.sec === "number") {
    const ns = nsFromRosTime(stamp as { sec: number; nsec?: number; nanosec?: number });
    if (ns > 0n) stampNs = ns;
  }
  const frame = typeof header?.frame_id === "string" ? header.frame_id : "";
  return { frameId: frame.startsWith("/") ? frame.slice(1) : frame, stampNs };
}

/** One detected box: pose and size in the message's frame. */
interface Detection {
  trackId: string;
  agentClass: string;
  pose: Se3;
  sizeM: Vec3;
}

function detectionsOf(decoded: Decoded): Detection[] {
  const out: Detection[] = [];
  if (Array.isArray(decoded.objects)) {
    // strata_msgs/ObjectArray (and look-alikes): {track_id, class_name, pose, size}
    for (const o of decoded.objects as unknown[]) {
      const obj = asObject(o);
      const pose = asObject(obj?.pose);
      const position = vec3Of(pose?.position);
      const orientation = quatOf(pose?.orientation);
      const size = vec3Of(obj?.size);
      if (!obj || !position || !orientation || !size) continue;
      const trackId = obj.track_id ?? obj.id;
      out.push({
        trackId: String(trackId ?? out.length),
        agentClass: String(obj.class_name ?? obj.label ?? "object"),
        pose: se3FromTranslationQuat(position, orientation),
        sizeM: size,
      });
    }
  } else if (Array.isArray(decoded.detections)) {
    // vision_msgs/Detection3DArray: {results[0].hypothesis.class_id | results[0].id, bbox.center, bbox.size, id}
    for (const d of decoded.detections as unknown[]) {
      const det = asObject(d);
      const bbox = asObject(det?.bbox);
      const center = asObject(bbox?.center);
      const position = vec3Of(center?.position);
      const orientation = quatOf(center?.orientation);
      const size = vec3Of(bbox?.size);
      if (!det || !position || !orientation || !size) continue;
      const result = asObject(Array.isArray(det.results) ? det.results[0] : undefined);
      const hypothesis = asObject(result?.hypothesis);
      const agentClass = String(hypothesis?.class_id ?? result?.id ?? "object");
      const trackId = det.id ?? det.tracking_id;
      out.push({
        trackId: typeof trackId === "string" && trackId !== "" ? trackId : String(trackId ?? out.length),
        agentClass,
        pose: se3FromTranslationQuat(position, orientation),
        sizeM: size,
      });
    }
  }
  return out;
}

/** x, y, z of a PointCloud2 (FLOAT32 / FLOAT64 fields), thinned to at most `maxPoints`, NaNs dropped. */
function pointsOf(decoded: Decoded, maxPoints: number): Float32Array | undefined {
  const fields = Array.isArray(decoded.fields) ? (decoded.fields as unknown[]).map(asObject) : [];
  const field = (name: string) => fields.find((f) => f?.name === name);
  const fx = field("x");
  const fy = field("y");
  const fz = field("z");
  const data = decoded.data instanceof Uint8Array ? decoded.data : undefined;
  const step = asNumber(decoded.point_step);
  const count = (asNumber(decoded.width) ?? 0) * (asNumber(decoded.height) ?? 0);
  if (!fx || !fy || !fz || !data || !step || count <= 0) return undefined;
  const datatype = asNumber(fx.datatype);
  if ((datatype !== 7 && datatype !== 8) || fy.datatype !== datatype || fz.datatype !== datatype)
    return undefined;
  const little = decoded.is_bigendian !== true;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const read =
    datatype === 7 ? (o: number) => view.getFloat32(o, little) : (o: number) => view.getFloat64(o, little);
  const ox = asNumber(fx.offset) ?? 0;
  const oy = asNumber(fy.offset) ?? 0;
  const oz = asNumber(fz.offset) ?? 0;
  const available = Math.min(count, Math.floor(data.byteLength / step));
  const stride = Math.max(1, Math.ceil(available / maxPoints));
  const out = new Float32Array(3 * Math.ceil(available / stride));
  let n = 0;
  for (let i = 0; i < available; i += stride) {
    const base = i * step;
    const x = read(base + ox);
    const y = read(base + oy);
    const z = read(base + oz);
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) continue;
    out[3 * n] = x;
    out[3 * n + 1] = y;
    out[3 * n + 2] = z;
    n++;
  }
  return out.subarray(0, 3 * n);
}

// ---------------------------------------------------------------- execute

interface AgentTrack {
  agentClass: string;
  /** Flat samples: tc, x, y, z, qw, qx, qy, qz, sx, sy, sz. */
  samples: number[];
  /** [tc, visible] changes. */
  visibility: Array<[number, boolean]>;
  visible: boolean;
}
const AGENT_SAMPLE = 11;

/** Frame tree for the export: the ego trajectory as one dynamic edge, plus static extrinsics. */
function buildTfBuffer(inputs: UsdExportInputs): TfBuffer {
  const tf = new TfBuffer({ extrapolationToleranceNs: 200_000_000n });
  for (const e of inputs.calibration?.extrinsics ?? []) {
    if (e.childFrame === inputs.ego.childFrame) continue; // the ego edge is the trajectory's
    tf.addTransform({ ...e, stampNs: 0n }, true);
  }
  const t = inputs.ego.trajectory;
  const stamps = t.timestampsNs as BigInt64Array;
  for (let i = 0; i < stamps.length; i++) {
    tf.addTransform(
      {
        parentFrame: inputs.ego.frame,
        childFrame: inputs.ego.childFrame,
        stampNs: stamps[i] as bigint,
        translation: {
          x: t.positions[3 * i] as number,
          y: t.positions[3 * i + 1] as number,
          z: t.positions[3 * i + 2] as number,
        },
        rotation: {
          x: t.orientations[4 * i] as number,
          y: t.orientations[4 * i + 1] as number,
          z: t.orientations[4 * i + 2] as number,
          w: t.orientations[4 * i + 3] as number,
        },
      },
      false,
    );
  }
  return tf;
}

function tryTransform(tf: TfBuffer, target: string, source: string, tNs: bigint | "latest"): Se3 | undefined {
  try {
    return tf.transformAt(target, source, tNs);
  } catch (error) {
    if (error instanceof StrataError) return undefined;
    throw error;
  }
}

const CLASS_COLORS: Record<string, Vec3> = {
  car: { x: 0.2, y: 0.45, z: 0.9 },
  truck: { x: 0.15, y: 0.3, z: 0.7 },
  pedestrian: { x: 0.95, y: 0.3, z: 0.3 },
  cyclist: { x: 0.3, y: 0.85, z: 0.35 },
};

/** Reads the window once (tf_static, objects, lidar) and writes the stage. */
export async function executeUsdExport(
  plan: UsdExportPlan,
  inputs: UsdExportInputs,
): Promise<UsdExportResult> {
  const warnings: string[] = [];
  const tf = buildTfBuffer(inputs);
  const { startNs, endNs } = plan.window;
  const tcps = plan.timeCodesPerSecond;
  const tcOf = (tNs: bigint): number => timeCodeOf(tNs - startNs, tcps);
  const tmpPath = `${plan.outPath}.tmp`;
  const spoolPath = `${plan.outPath}.lidar.tmp`;

  const tracks = new Map<string, AgentTrack>();
  let agentSamples = 0;
  let lidarKeyframes = 0;
  let points = 0;
  const undecodable = new Map<string, number>();
  const spool = new TextSink(createWriteStream(spoolPath));
  let reader: LogReader | undefined;
  try {
    reader = await openLog(inputs.logPath);
    // Static transforms of the log (latched at the start; the calibration may lack some frames).
    if (plan.tfStaticTopics.length > 0) {
      for await (const m of reader.messages({ topics: plan.tfStaticTopics, decode: true })) {
        for (const t of transformsOfMessage(m.decoded)) {
          const tr = t.transform;
          const parent = t.header?.frame_id ?? "";
          const child = t.child_frame_id ?? "";
          if (!tr || parent === "" || child === "" || child === plan.baseFrame) continue;
          tf.addTransform(
            {
              parentFrame: parent,
              childFrame: child,
              stampNs: 0n,
              translation: tr.translation,
              rotation: tr.rotation,
            },
            true,
          );
        }
      }
    }
    const topics = [plan.objects?.topic, plan.lidar?.topic].filter((t): t is string => t !== undefined);
    let nextKeyframeNs = startNs;
    if (topics.length > 0) {
      for await (const m of reader.messages({ topics, startNs, endNs, decode: true })) {
        const decoded = asObject(m.decoded);
        if (!decoded) {
          undecodable.set(m.topic, (undecodable.get(m.topic) ?? 0) + 1);
          continue;
        }
        const { frameId, stampNs } = headerOf(decoded, m.logTimeNs);
        if (m.topic === plan.objects?.topic) {
          const fixedFromMsg = tryTransform(tf, plan.fixedFrame, frameId || plan.baseFrame, stampNs);
          if (!fixedFromMsg) {
            undecodable.set(m.topic, (undecodable.get(m.topic) ?? 0) + 1);
            continue;
          }
          const tc = tcOf(stampNs < startNs ? startNs : stampNs);
          const seen = new Set<string>();
          for (const d of detectionsOf(decoded)) {
            const pose = se3Compose(fixedFromMsg, d.pose);
            const q = quatFromMat3(pose.rotation);
            let track = tracks.get(d.trackId);
            if (!track) {
              track = { agentClass: d.agentClass, samples: [], visibility: [], visible: false };
              tracks.set(d.trackId, track);
            }
            const last = track.samples.length - AGENT_SAMPLE;
            if (last >= 0 && (track.samples[last] as number) >= tc) continue; // same or earlier time code
            track.samples.push(
              tc,
              pose.translation.x,
              pose.translation.y,
              pose.translation.z,
              q.w,
              q.x,
              q.y,
              q.z,
            );
            track.samples.push(d.sizeM.x, d.sizeM.y, d.sizeM.z);
            agentSamples++;
            seen.add(d.trackId);
            if (!track.visible) {
              track.visibility.push([tc, true]);
              track.visible = true;
            }
          }
          for (const [id, track] of tracks) {
            if (track.visible && !seen.has(id)) {
              track.visibility.push([tc, false]);
              track.visible = false;
            }
          }
        } else if (plan.lidar && m.topic === plan.lidar.topic) {
          if (m.logTimeNs < nextKeyframeNs) continue;
          while (nextKeyframeNs <= m.logTimeNs) nextKeyframeNs += plan.lidar.keyframeNs;
          const cloud = pointsOf(decoded, plan.lidar.maxPoints);
          const fixedFromLidar = tryTransform(tf, plan.fixedFrame, frameId || plan.baseFrame, stampNs);
          if (!cloud || !fixedFromLidar) {
            undecodable.set(m.topic, (undecodable.get(m.topic) ?? 0) + 1);
            continue;
          }
          await writeKeyframe(spool, lidarKeyframes, cloud, fixedFromLidar, {
            frameId,
            stampNs,
            topic: m.topic,
            tc: tcOf(stampNs < startNs ? startNs : stampNs),
          });
          lidarKeyframes++;
          points += cloud.length / 3;
        }
      }
    }
    await spool.close();
    for (const [topic, count] of undecodable) {
      warnings.push(`${count} message(s) on ${topic} could not be decoded or placed in ${plan.fixedFrame}`);
    }

    // The stage.
    const out = new TextSink(createWriteStream(tmpPath));
    await writeHeader(out, plan, inputs);
    await out.line(0, `def Xform "World" (`);
    await out.line(1, "customData = {");
    await out.line(2, `string fixedFrame = ${str(plan.fixedFrame)}`);
    await out.line(1, "}");
    await out.line(0, ")");
    await out.line(0, "{");
    const egoSamples = await writeEgo(out, plan, tf, warnings, inputs);
    await writeAgents(out, plan, tracks);
    await out.line(1, `def Scope "Lidar" (`);
    await out.line(2, "customData = {");
    await out.line(3, `string sourceTopic = ${str(plan.lidar?.topic ?? "")}`);
    await out.line(2, "}");
    await out.line(1, ")");
    await out.line(1, "{");
    // Each keyframe is visible from its time code until the next one's.
    await out.flush();
    await appendKeyframes(out, spoolPath, lidarKeyframes);
    await out.line(1, "}");
    await out.line(0, "}");
    await out.close();
    await rename(tmpPath, plan.outPath);
    return {
      path: plan.outPath,
      sizeBytes: out.bytes,
      egoSamples,
      agents: tracks.size,
      agentSamples,
      lidarKeyframes,
      points,
      cameras: plan.cameras.length,
      warnings,
    };
  } catch (error) {
    await rm(tmpPath, { force: true });
    throw error;
  } finally {
    await reader?.close();
    await rm(spoolPath, { force: true });
  }
}

async function writeHeader(out: TextSink, plan: UsdExportPlan, inputs: UsdExportInputs): Promise<void> {
  await out.line(0, "#usda 1.0");
  await out.line(0, "(");
  await out.line(1, `defaultPrim = "World"`);
  await out.line(
    1,
    `doc = ${str(`Strata export of capture ${plan.captureId}, window ${plan.window.startNs}..${plan.window.endNs} ns`)}`,
  );
  await out.line(1, `endTimeCode = ${timeCode(plan.endTimeCode)}`);
  await out.line(1, `framesPerSecond = ${plan.timeCodesPerSecond}`);
  await out.line(1, "metersPerUnit = 1");
  await out.line(1, `startTimeCode = ${timeCode(plan.startTimeCode)}`);
  await out.line(1, `timeCodesPerSecond = ${plan.timeCodesPerSecond}`);
  await out.line(1, `upAxis = "Z"`);
  await out.line(1, "customLayerData = {");
  await out.line(2, `string strataFormat = ${str(USD_FORMAT)}`);
  await out.line(2, `string captureId = ${str(plan.captureId)}`);
  await out.line(2, `string captureSha256 = ${str(inputs.capture.sha256)}`);
  await out.line(2, `string windowStartNs = ${str(plan.window.startNs.toString())}`);
  await out.line(2, `string windowEndNs = ${str(plan.window.endNs.toString())}`);
  await out.line(2, `string fixedFrame = ${str(plan.fixedFrame)}`);
  if (inputs.calibration?.calibrationId)
    await out.line(2, `string calibrationId = ${str(inputs.calibration.calibrationId)}`);
  await out.line(1, "}");
  await out.line(0, ")");
  await out.line(0, "");
}

async function writeEgo(
  out: TextSink,
  plan: UsdExportPlan,
  tf: TfBuffer,
  warnings: string[],
  inputs: UsdExportInputs,
): Promise<number> {
  const { startNs } = plan.window;
  const tcps = BigInt(plan.timeCodesPerSecond);
  const lastTc = Math.floor(plan.endTimeCode + 1e-9);
  await out.line(1, `def Xform "Ego" (`);
  await out.line(2, "customData = {");
  await out.line(3, `string frame = ${str(plan.baseFrame)}`);
  await out.line(3, `string trajectorySource = ${str(plan.egoSource)}`);
  await out.line(2, "}");
  await out.line(1, ")");
  await out.line(1, "{");
  // Samples where the trajectory covers the time (USD holds the first/last value outside).
  const samples: Array<{ tc: number; pose: Se3 }> = [];
  for (let k = 0; k <= lastTc; k++) {
    const tNs = startNs + (BigInt(k) * 1_000_000_000n) / tcps;
    const pose = tryTransform(tf, plan.fixedFrame, plan.baseFrame, tNs);
    if (pose) samples.push({ tc: k, pose });
    if (samples.length > 0 && samples.length % 4096 === 0) await out.flush();
  }
  if (samples.length === 0) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `the ego trajectory (${plan.egoSource}) has no pose in the window ${plan.window.startNs}..${plan.window.endNs}`,
      { captureId: plan.captureId },
    );
  }
  await out.line(2, "double3 xformOp:translate.timeSamples = {");
  for (const s of samples) await out.line(3, `${s.tc}: ${vec(s.pose.translation)},`);
  await out.line(2, "}");
  await out.line(2, "quatf xformOp:orient.timeSamples = {");
  for (const s of samples) await out.line(3, `${s.tc}: ${quat(quatFromMat3(s.pose.rotation))},`);
  await out.line(2, "}");
  await out.line(2, `uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:orient"]`);
  await out.line(0, "");
  const box = DEFAULT_EGO_BOX;
  await out.line(2, `def Cube "Body"`);
  await out.line(2, "{");
  await out.line(3, "double size = 1");
  await out.line(3, `double3 xformOp:translate = ${vec(box.centerM)}`);
  await out.line(3, `float3 xformOp:scale = ${vec(box.sizeM)}`);
  await out.line(3, `uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:scale"]`);
  await out.line(3, "color3f[] primvars:displayColor = [(0.95, 0.6, 0.1)]");
  await out.line(2, "}");
  for (const camera of plan.cameras) {
    const baseFromOptical = tryTransform(tf, plan.baseFrame, camera.frameId, "latest");
    if (!baseFromOptical) {
      warnings.push(`camera ${camera.name}: no transform ${plan.baseFrame} ← ${camera.frameId}; left out`);
      continue;
    }
    const baseFromCamera = se3Compose(baseFromOptical, OPTICAL_FROM_USD_CAMERA);
    const [fx, , cx, , fy, cy] = camera.K as [number, number, number, number, number, number];
    // Film-back units per pixel, so that horizontalAperture / focalLength = width / fx.
    const unitsPerPixelX = HORIZONTAL_APERTURE / camera.width;
    const unitsPerPixelY = unitsPerPixelX * (fx / fy);
    const calibration = inputs.calibration?.cameras.find((c) => c.cameraName === camera.frameId);
    await out.line(0, "");
    await out.line(2, `def Camera ${str(camera.name)} (`);
    await out.line(3, "customData = {");
    await out.line(4, `string frame = ${str(camera.frameId)}`);
    if (calibration?.topic) await out.line(4, `string infoTopic = ${str(calibration.topic)}`);
    await out.line(4, `int imageWidth = ${camera.width}`);
    await out.line(4, `int imageHeight = ${camera.height}`);
    await out.line(4, `double[] K = [${camera.K.map((v) => num(v, 6)).join(", ")}]`);
    await out.line(3, "}");
    await out.line(2, ")");
    await out.line(2, "{");
    await out.line(3, `token projection = "perspective"`);
    await out.line(3, `float focalLength = ${num(fx * unitsPerPixelX, 6)}`);
    await out.line(3, `float horizontalAperture = ${num(HORIZONTAL_APERTURE, 6)}`);
    await out.line(3, `float verticalAperture = ${num(camera.height * unitsPerPixelY, 6)}`);
    await out.line(3, `float horizontalApertureOffset = ${num((camera.width / 2 - cx) * unitsPerPixelX, 6)}`);
    await out.line(3, `float verticalApertureOffset = ${num((cy - camera.height / 2) * unitsPerPixelY, 6)}`);
    await out.line(3, "float2 clippingRange = (0.1, 1000)");
    await out.line(3, `double3 xformOp:translate = ${vec(baseFromCamera.translation)}`);
    await out.line(3, `quatf xformOp:orient = ${quat(quatFromMat3(baseFromCamera.rotation))}`);
    await out.line(3, `uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:orient"]`);
    await out.line(2, "}");
  }
  await out.line(1, "}");
  await out.line(0, "");
  return samples.length;
}

async function writeAgents(
  out: TextSink,
  plan: UsdExportPlan,
  tracks: Map<string, AgentTrack>,
): Promise<void> {
  await out.line(1, `def Scope "Agents" (`);
  await out.line(2, "customData = {");
  await out.line(3, `string sourceTopic = ${str(plan.objects?.topic ?? "")}`);
  await out.line(2, "}");
  await out.line(1, ")");
  await out.line(1, "{");
  const ids = [...tracks.keys()].sort((a, b) => {
    const na = Number(a);
    const nb = Number(b);
    return Number.isInteger(na) && Number.isInteger(nb) ? na - nb : a.localeCompare(b);
  });
  const usedNames = new Set<string>();
  for (const id of ids) {
    const track = tracks.get(id) as AgentTrack;
    const s = track.samples;
    const n = s.length / AGENT_SAMPLE;
    if (n === 0) continue;
    let name = usdIdentifier(`track_${id}`);
    for (let i = 2; usedNames.has(name); i++) name = `${usdIdentifier(`track_${id}`)}_${i}`;
    usedNames.add(name);
    const at = (i: number, j: number): number => s[AGENT_SAMPLE * i + j] as number;
    const numericId =
      /^-?[0-9]+$/.test(id) && Number.isSafeInteger(Number(id)) && Math.abs(Number(id)) < 2 ** 31;
    await out.line(0, "");
    await out.line(2, `def Cube ${str(name)} (`);
    await out.line(3, "customData = {");
    await out.line(4, `string agentClass = ${str(track.agentClass)}`);
    await out.line(4, numericId ? `int trackId = ${Number(id)}` : `string trackId = ${str(id)}`);
    await out.line(3, "}");
    await out.line(2, ")");
    await out.line(2, "{");
    await out.line(3, "double size = 1");
    await out.line(3, "double3 xformOp:translate.timeSamples = {");
    for (let i = 0; i < n; i++) {
      await out.line(4, `${timeCode(at(i, 0))}: ${vec({ x: at(i, 1), y: at(i, 2), z: at(i, 3) })},`);
    }
    await out.line(3, "}");
    await out.line(3, "quatf xformOp:orient.timeSamples = {");
    for (let i = 0; i < n; i++) {
      await out.line(
        4,
        `${timeCode(at(i, 0))}: ${quat({ w: at(i, 4), x: at(i, 5), y: at(i, 6), z: at(i, 7) })},`,
      );
    }
    await out.line(3, "}");
    await out.line(3, "float3 xformOp:scale.timeSamples = {");
    for (let i = 0; i < n; i++) {
      await out.line(4, `${timeCode(at(i, 0))}: ${vec({ x: at(i, 8), y: at(i, 9), z: at(i, 10) }, 4)},`);
    }
    await out.line(3, "}");
    await out.line(
      3,
      `uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:orient", "xformOp:scale"]`,
    );
    // Hidden before it is first seen and while it is not seen.
    const visibility: Array<[number, boolean]> = [];
    if ((track.visibility[0]?.[0] ?? 0) > 0) visibility.push([0, false]);
    visibility.push(...track.visibility);
    await out.line(3, "token visibility.timeSamples = {");
    for (const [tc, visible] of visibility)
      await out.line(4, `${timeCode(tc)}: ${visible ? '"inherited"' : '"invisible"'},`);
    await out.line(3, "}");
    const color = CLASS_COLORS[track.agentClass] ?? { x: 0.7, y: 0.7, z: 0.7 };
    await out.line(3, `color3f[] primvars:displayColor = [${vec(color, 3)}]`);
    await out.line(2, "}");
  }
  await out.line(1, "}");
  await out.line(0, "");
}

/** One Points prim per keyframe, written to the spool; visibility is closed when the stage is assembled. */
async function writeKeyframe(
  spool: TextSink,
  index: number,
  cloud: Float32Array,
  fixedFromLidar: Se3,
  meta: { frameId: string; stampNs: bigint; topic: string; tc: number },
): Promise<void> {
  // Header line carries the time code for the assembler: "#kf <tc>".
  await spool.raw(`#kf ${timeCode(meta.tc)}\n`);
  await spool.line(2, `def Points "scan_${String(index).padStart(4, "0")}" (`);
  await spool.line(3, "customData = {");
  await spool.line(4, `string frame = ${str(meta.frameId)}`);
  await spool.line(4, `string stampNs = ${str(meta.stampNs.toString())}`);
  await spool.line(4, `int pointCount = ${cloud.length / 3}`);
  await spool.line(3, "}");
  await spool.line(2, ")");
  await spool.line(2, "{");
  await spool.raw(`${"    ".repeat(3)}point3f[] points = [`);
  for (let i = 0; i < cloud.length; i += 3) {
    const p = `(${num(cloud[i] as number, 4)}, ${num(cloud[i + 1] as number, 4)}, ${num(cloud[i + 2] as number, 4)})`;
    await spool.raw(i === 0 ? p : `, ${p}`);
  }
  await spool.raw("]\n");
  await spool.line(3, "float[] widths = [0.05] (");
  await spool.line(4, `interpolation = "constant"`);
  await spool.line(3, ")");
  await spool.line(3, `double3 xformOp:translate = ${vec(fixedFromLidar.translation)}`);
  await spool.line(3, `quatf xformOp:orient = ${quat(quatFromMat3(fixedFromLidar.rotation))}`);
  await spool.line(3, `uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:orient"]`);
  await spool.line(3, "color3f[] primvars:displayColor = [(0.6, 0.8, 1)]");
  await spool.raw("#vis\n");
  await spool.line(2, "}");
}

/**
 * Copies the spooled keyframes into the stage, replacing each `#vis` marker with the keyframe's visibility
 * (visible from its time code until the next keyframe's). Streams line by line.
 */
async function appendKeyframes(out: TextSink, spoolPath: string, count: number): Promise<void> {
  if (count === 0) return;
  // First pass: the time codes of the keyframes (one short line each).
  const timeCodes: string[] = [];
  for await (const line of readLines(spoolPath)) if (line.startsWith("#kf ")) timeCodes.push(line.slice(4));
  let index = -1;
  for await (const line of readLines(spoolPath)) {
    if (line.startsWith("#kf ")) {
      index++;
      await out.raw("\n");
      continue;
    }
    if (line === "#vis") {
      const tc = timeCodes[index] as string;
      const next = timeCodes[index + 1];
      await out.line(3, "token visibility.timeSamples = {");
      if (Number(tc) > 0) await out.line(4, `0: "invisible",`);
      await out.line(4, `${tc}: "inherited",`);
      if (next !== undefined && Number(next) > Number(tc)) await out.line(4, `${next}: "invisible",`);
      await out.line(3, "}");
      continue;
    }
    await out.raw(`${line}\n`);
  }
}

/** Lines of a text file, streamed (long lines such as point arrays arrive whole). */
async function* readLines(file: string): AsyncIterable<string> {
  let rest = "";
  for await (const chunk of createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 16 })) {
    rest += chunk as string;
    let at = rest.indexOf("\n");
    while (at !== -1) {
      yield rest.slice(0, at);
      rest = rest.slice(at + 1);
      at = rest.indexOf("\n");
    }
  }
  if (rest !== "") yield rest;
}
