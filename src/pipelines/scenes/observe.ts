/**
 * One streamed pass over a capture that gathers what scenes are computed from, as small per-capture series
 * (never raw messages):
 * - ego motion: TF / odometry / pose / GNSS fed to the registry's EgoMotionCollector (the fallback when the
 *   capture has no stored trajectory) — its TfBuffer also places perception boxes given in other frames;
 * - agents: every perception frame (`strata_msgs/ObjectArray`, `vision_msgs/Detection3DArray`);
 * - lighting: mean brightness of a JPEG frame every `imageSamplePeriodSecs` per camera (decoded with jpeg-js);
 * - weather proxy: lidar clutter of a scan every `lidarSamplePeriodSecs` per PointCloud2 topic;
 * - sensor health: gaps longer than `dropoutGapFactor` × a topic's nominal period, and diagnostics at ERROR.
 *
 * Messages are read raw and decoded only when used (sampled images and scans are never decoded otherwise).
 * Memory: O(perception frames × agents + samples), a few hundred bytes per agent per frame.
 */
import jpeg from "jpeg-js";
import { se3Apply, quatFromMat3, type Se3, StrataError } from "../../core/index.ts";
import {
  type Decoder,
  decoderFor,
  type LogReader,
  type LogSummary,
  type TopicSummary,
} from "../../formats/index.ts";
import {
  EgoMotionCollector,
  type EgoTrajectory,
  headerStampNs,
  normalizeFrameId,
  registryMessageKind,
} from "../registry/index.ts";
import { type AgentFrame, type AgentObservation, normalizeAgentClass } from "./agents.ts";
import { yawOfQuat } from "./ego.ts";

export interface ObserveOptions {
  /** Decode one image per camera topic this often. Default 2 s. */
  imageSamplePeriodSecs?: number;
  /** Decode one scan per PointCloud2 topic this often. Default 1 s. */
  lidarSamplePeriodSecs?: number;
  /** A gap longer than this × the topic's nominal period is a dropout. Default 3. */
  dropoutGapFactor?: number;
  /** Lidar clutter: only returns closer than this count (m). Default 20. */
  clutterRangeM?: number;
  /** The robot's base frame (default: found in the TF tree, else `base_link`). */
  baseFrame?: string;
}

/** A value measured at one instant from one topic. */
export interface TimedSample {
  topic: string;
  stampNs: bigint;
  value: number;
}

export interface Dropout {
  topic: string;
  /** Log times of the messages on either side of the gap. */
  startNs: bigint;
  endNs: bigint;
  nominalPeriodNs: bigint;
}

export interface DiagnosticFault {
  stampNs: bigint;
  /** The status name (hardware). */
  name: string;
  message: string;
}

export interface CaptureObservations {
  /** Trajectories found in the log (primary first), the fallback when nothing is stored. */
  egoTrajectories: EgoTrajectory[];
  /** Perception frames in stamp order, boxes in the base frame. */
  agentFrames: AgentFrame[];
  perceptionTopics: string[];
  brightness: TimedSample[];
  lidarClutter: TimedSample[];
  dropouts: Dropout[];
  diagnosticFaults: DiagnosticFault[];
  warnings: string[];
}

const plainType = (schemaName: string): string => schemaName.replace(/^([^/]+)\/msg\/([^/]+)$/, "$1/$2");

type Role = "registry" | "perception" | "image" | "pointcloud" | "diagnostics";

function roleOf(topic: TopicSummary): Role | undefined {
  const kind = registryMessageKind(topic.topic, topic.schemaName);
  if (kind && kind !== "camera-info") return "registry";
  switch (plainType(topic.schemaName)) {
    case "strata_msgs/ObjectArray":
    case "vision_msgs/Detection3DArray":
      return "perception";
    case "sensor_msgs/CompressedImage":
      return "image";
    case "sensor_msgs/PointCloud2":
      return "pointcloud";
    case "diagnostic_msgs/DiagnosticArray":
      return "diagnostics";
    default:
      return undefined;
  }
}

interface Vec3Like {
  x?: number;
  y?: number;
  z?: number;
}
interface QuatLike extends Vec3Like {
  w?: number;
}
interface Header {
  stamp?: { sec?: number; nsec?: number; nanosec?: number };
  frame_id?: string;
}

/** A perception frame as read, in its own frame (placed in the base frame after the pass). */
interface RawFrame {
  stampNs: bigint;
  frameId: string;
  objects: AgentObservation[];
}

function num(value: unknown): number {
  return typeof value === "number" ? value : typeof value === "bigint" ? Number(value) : Number.NaN;
}

function parseObjectArray(decoded: unknown): AgentObservation[] {
  const objects = (decoded as { objects?: unknown[] }).objects ?? [];
  const out: AgentObservation[] = [];
  for (const raw of objects) {
    const o = raw as {
      track_id?: number;
      class_name?: string;
      pose?: { position?: Vec3Like; orientation?: QuatLike };
      size?: Vec3Like;
      velocity?: Vec3Like;
    };
    const position = o.pose?.position;
    const orientation = o.pose?.orientation;
    if (!position) continue;
    out.push({
      trackId: String(o.track_id ?? out.length),
      agentClass: normalizeAgentClass(o.class_name ?? "unknown"),
      xM: num(position.x),
      yM: num(position.y),
      yawRad: orientation
        ? yawOfQuat(num(orientation.x), num(orientation.y), num(orientation.z), num(orientation.w))
        : 0,
      lengthM: num(o.size?.x),
      widthM: num(o.size?.y),
      vxMps: o.velocity ? num(o.velocity.x) : Number.NaN,
      vyMps: o.velocity ? num(o.velocity.y) : Number.NaN,
    });
  }
  return out;
}

function parseDetection3DArray(decoded: unknown): AgentObservation[] {
  const detections = (decoded as { detections?: unknown[] }).detections ?? [];
  const out: AgentObservation[] = [];
  for (const raw of detections) {
    const d = raw as {
      id?: string;
      results?: Array<{ hypothesis?: { class_id?: string }; id?: string }>;
      bbox?: { center?: { position?: Vec3Like; orientation?: QuatLike }; size?: Vec3Like };
    };
    const position = d.bbox?.center?.position;
    const orientation = d.bbox?.center?.orientation;
    if (!position) continue;
    const best = d.results?.[0];
    out.push({
      trackId: d.id !== undefined && d.id !== "" ? d.id : String(out.length),
      agentClass: normalizeAgentClass(best?.hypothesis?.class_id ?? best?.id ?? "unknown"),
      xM: num(position.x),
      yM: num(position.y),
      yawRad: orientation
        ? yawOfQuat(num(orientation.x), num(orientation.y), num(orientation.z), num(orientation.w))
        : 0,
      lengthM: num(d.bbox?.size?.x),
      widthM: num(d.bbox?.size?.y),
      vxMps: Number.NaN,
      vyMps: Number.NaN,
    });
  }
  return out;
}

/** Mean luma (BT.601) of a JPEG in [0, 1], from every 4th pixel of every 4th row. */
export function jpegBrightness(bytes: Uint8Array): number {
  const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 256 });
  const { width, height, data } = image;
  const channels = data.length / (width * height);
  let sum = 0;
  let count = 0;
  for (let y = 0; y < height; y += 4) {
    for (let x = 0; x < width; x += 4) {
      const o = (y * width + x) * channels;
      sum +=
        channels >= 3
          ? 0.299 * (data[o] as number) + 0.587 * (data[o + 1] as number) + 0.114 * (data[o + 2] as number)
          : (data[o] as number);
      count++;
    }
  }
  return count === 0 ? 0 : sum / count / 255;
}

interface PointCloud2Like {
  fields?: Array<{ name?: string; offset?: number; datatype?: number }>;
  point_step?: number;
  width?: number;
  height?: number;
  is_bigendian?: boolean;
  data?: Uint8Array;
}

const FLOAT32 = 7;

/**
 * Lidar clutter (weather proxy): the fraction of returns closer than `rangeM` that stand alone — their
 * range differs by more than 1 m and 30 % from both neighbours in scan order. Rain, snow, fog and dust give
 * such isolated near echoes; surfaces (ground, walls, vehicles) give runs of similar ranges.
 * Undefined when the cloud has no float32 x, y, z.
 */
export function lidarClutterOf(cloud: PointCloud2Like, rangeM: number): number | undefined {
  const field = (name: string) => cloud.fields?.find((f) => f.name === name && f.datatype === FLOAT32);
  const fx = field("x");
  const fy = field("y");
  const fz = field("z");
  const data = cloud.data;
  const step = cloud.point_step ?? 0;
  if (!fx || !fy || !fz || !data || step <= 0) return undefined;
  const count = Math.min(Math.floor(data.byteLength / step), (cloud.width ?? 0) * (cloud.height ?? 1));
  if (count < 3) return 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const little = cloud.is_bigendian !== true;
  const ranges = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * step;
    const x = view.getFloat32(o + (fx.offset ?? 0), little);
    const y = view.getFloat32(o + (fy.offset ?? 4), little);
    const z = view.getFloat32(o + (fz.offset ?? 8), little);
    ranges[i] = Math.sqrt(x * x + y * y + z * z);
  }
  const isolated = (r: number, other: number): boolean => Math.abs(r - other) > Math.max(1, 0.3 * r);
  let near = 0;
  let alone = 0;
  for (let i = 1; i < count - 1; i++) {
    const r = ranges[i] as number;
    if (!(r < rangeM)) continue;
    near++;
    if (isolated(r, ranges[i - 1] as number) && isolated(r, ranges[i + 1] as number)) alone++;
  }
  return near === 0 ? 0 : alone / near;
}

/** Streams the capture once and returns its observations. */
export async function observeCapture(
  reader: LogReader,
  options: ObserveOptions = {},
): Promise<CaptureObservations> {
  const imagePeriodNs = BigInt(Math.round((options.imageSamplePeriodSecs ?? 2) * 1e9));
  const lidarPeriodNs = BigInt(Math.round((options.lidarSamplePeriodSecs ?? 1) * 1e9));
  const gapFactor = options.dropoutGapFactor ?? 3;
  const clutterRangeM = options.clutterRangeM ?? 20;
  if (!(imagePeriodNs > 0n) || !(lidarPeriodNs > 0n) || !(gapFactor > 1) || !(clutterRangeM > 0)) {
    throw new StrataError(
      "STRATA_E_USAGE",
      "scene observation: sample periods must be positive and the gap factor above 1",
    );
  }
  const summary: LogSummary = await reader.summary();
  const warnings: string[] = [];
  const roles = new Map<string, Role>();
  const registryKinds = new Map<string, NonNullable<ReturnType<typeof registryMessageKind>>>();
  const nominalPeriodNs = new Map<string, bigint>();
  for (const topic of summary.topics) {
    const role = roleOf(topic);
    if (role) roles.set(topic.topic, role);
    const kind = registryMessageKind(topic.topic, topic.schemaName);
    if (role === "registry" && kind) registryKinds.set(topic.topic, kind);
    const { firstTimeNs, lastTimeNs, messageCount } = topic;
    // Periodic enough to judge gaps: at least 10 messages, at least 0.5 Hz on average.
    if (firstTimeNs !== undefined && lastTimeNs !== undefined && messageCount >= 10n) {
      const periodNs = (lastTimeNs - firstTimeNs) / (messageCount - 1n);
      if (periodNs > 0n && periodNs <= 2_000_000_000n && !/(^|\/)tf_static$/.test(topic.topic)) {
        nominalPeriodNs.set(topic.topic, periodNs);
      }
    }
  }

  const schemas = new Map(summary.schemas.map((s) => [s.id, s]));
  const decoders = new Map<number, Decoder | null>();
  const decode = (channelId: number, data: Uint8Array, topic: string): unknown => {
    let decoder = decoders.get(channelId);
    if (decoder === undefined) {
      const channel = summary.channels.find((c) => c.id === channelId);
      decoder = channel
        ? (decoderFor(channel, schemas.get(channel.schemaId), { file: summary.path }) ?? null)
        : null;
      if (!decoder) warnings.push(`scenes: no decoder for ${topic}; its messages are not used`);
      decoders.set(channelId, decoder);
    }
    if (!decoder) return undefined;
    try {
      return decoder(data);
    } catch {
      return undefined;
    }
  };

  const ego = new EgoMotionCollector(options.baseFrame ? { baseFrame: options.baseFrame } : {});
  const rawFrames: RawFrame[] = [];
  const brightness: TimedSample[] = [];
  const lidarClutter: TimedSample[] = [];
  const dropouts: Dropout[] = [];
  const diagnosticFaults: DiagnosticFault[] = [];
  const lastLogNs = new Map<string, bigint>();
  const nextSampleNs = new Map<string, bigint>();
  const undecodable = new Map<string, number>();
  const perceptionTopics = new Set<string>();

  for await (const message of reader.messages({ decode: false })) {
    const { topic, logTimeNs } = message;
    const periodNs = nominalPeriodNs.get(topic);
    if (periodNs !== undefined) {
      const previous = lastLogNs.get(topic);
      if (previous !== undefined && Number(logTimeNs - previous) > gapFactor * Number(periodNs)) {
        dropouts.push({ topic, startNs: previous, endNs: logTimeNs, nominalPeriodNs: periodNs });
      }
      lastLogNs.set(topic, logTimeNs);
    }
    const role = roles.get(topic);
    if (!role) continue;
    if (role === "image" || role === "pointcloud") {
      const due = nextSampleNs.get(topic);
      if (due !== undefined && logTimeNs < due) continue;
      nextSampleNs.set(topic, logTimeNs + (role === "image" ? imagePeriodNs : lidarPeriodNs));
    }
    const decoded = decode(message.channelId, message.data, topic);
    if (decoded === undefined || decoded === null || typeof decoded !== "object") {
      undecodable.set(topic, (undecodable.get(topic) ?? 0) + 1);
      continue;
    }
    const header = (decoded as { header?: Header }).header;
    switch (role) {
      case "registry": {
        const kind = registryKinds.get(topic);
        if (kind) ego.push(kind, topic, decoded, logTimeNs);
        break;
      }
      case "perception": {
        perceptionTopics.add(topic);
        const isObjectArray = "objects" in (decoded as object);
        rawFrames.push({
          stampNs: headerStampNs(header, logTimeNs),
          frameId: normalizeFrameId(header?.frame_id ?? ""),
          objects: isObjectArray ? parseObjectArray(decoded) : parseDetection3DArray(decoded),
        });
        break;
      }
      case "image": {
        const { format, data } = decoded as { format?: string; data?: Uint8Array };
        if (!data || !/jpe?g/i.test(format ?? "")) break;
        try {
          brightness.push({ topic, stampNs: logTimeNs, value: jpegBrightness(data) });
        } catch {
          undecodable.set(topic, (undecodable.get(topic) ?? 0) + 1);
        }
        break;
      }
      case "pointcloud": {
        const value = lidarClutterOf(decoded as PointCloud2Like, clutterRangeM);
        if (value !== undefined) lidarClutter.push({ topic, stampNs: logTimeNs, value });
        break;
      }
      case "diagnostics": {
        const statuses = (decoded as { status?: Array<{ level?: number; name?: string; message?: string }> })
          .status;
        for (const s of statuses ?? []) {
          if (num(s.level) === 2) {
            diagnosticFaults.push({ stampNs: logTimeNs, name: s.name ?? "", message: s.message ?? "" });
          }
        }
        break;
      }
    }
  }
  for (const [topic, count] of undecodable)
    warnings.push(`scenes: ${count} messages on ${topic} could not be decoded`);

  const egoTrajectories = ego.finish();
  const agentFrames = placeFrames(rawFrames, ego, warnings);
  return {
    egoTrajectories,
    agentFrames,
    perceptionTopics: [...perceptionTopics].sort(),
    brightness,
    lidarClutter,
    dropouts,
    diagnosticFaults,
    warnings,
  };
}

/** Moves perception boxes into the base frame (through TF when they are given in another frame). */
function placeFrames(rawFrames: RawFrame[], ego: EgoMotionCollector, warnings: string[]): AgentFrame[] {
  const base = ego.baseFrame() ?? "base_link";
  let unplaced = 0;
  const out: AgentFrame[] = [];
  for (const frame of rawFrames) {
    if (frame.frameId === "" || frame.frameId === base) {
      out.push({ stampNs: frame.stampNs, objects: frame.objects });
      continue;
    }
    let baseFromSensor: Se3;
    try {
      baseFromSensor = ego.tf.transformAt(base, frame.frameId, frame.stampNs);
    } catch (error) {
      if (!(error instanceof StrataError)) throw error;
      unplaced++;
      continue;
    }
    const q = quatFromMat3(baseFromSensor.rotation);
    const yawOffset = yawOfQuat(q.x, q.y, q.z, q.w);
    const r = baseFromSensor.rotation;
    out.push({
      stampNs: frame.stampNs,
      objects: frame.objects.map((o) => {
        const p = se3Apply(baseFromSensor, { x: o.xM, y: o.yM, z: 0 });
        return {
          ...o,
          xM: p.x,
          yM: p.y,
          yawRad: o.yawRad + yawOffset,
          vxMps: (r[0] as number) * o.vxMps + (r[1] as number) * o.vyMps,
          vyMps: (r[3] as number) * o.vxMps + (r[4] as number) * o.vyMps,
        };
      }),
    });
  }
  if (unplaced > 0)
    warnings.push(`scenes: ${unplaced} perception frames could not be placed in ${base} (no TF)`);
  out.sort((a, b) => (a.stampNs < b.stampNs ? -1 : a.stampNs > b.stampNs ? 1 : 0));
  return out;
}
