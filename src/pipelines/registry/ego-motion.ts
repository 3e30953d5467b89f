/**
 * Ego-motion: the pose of the robot's base frame over time in a fixed frame, from decoded log messages.
 *
 * Sources, in order of preference for a capture's primary trajectory:
 * - TF: the base frame (`base_link`, `base_footprint`, `base`) in the root of its frame tree (`map` when
 *   `map → odom → base_link` is published, else `odom`), sampled at the stamps of the base's first dynamic
 *   edge (tf2 lookups, no extrapolation);
 * - `nav_msgs/Odometry`, `geometry_msgs/PoseStamped`, `PoseWithCovarianceStamped`, `TransformStamped`;
 * - `sensor_msgs/NavSatFix`: WGS84 → ECEF → local ENU (origin = the first valid fix), the GNSS antenna's
 *   lever arm removed with the heading of the GPS track when `/tf_static` links the fix's frame to the base.
 *
 * Memory: only poses are kept, in growable typed arrays (64 bytes per pose).
 */
import type { Geodetic, Vec3 } from "../../core/index.ts";
import {
  enuFrameAt,
  enuFromGeodetic,
  quatFromMat3,
  quatFromRpy,
  StrataError,
  translationQuatFromSe3,
} from "../../core/index.ts";
import type { LogReader } from "../../formats/index.ts";
import { normalizeFrameId, TfBuffer } from "./tf-buffer.ts";
import { evoSecsFromNs, type PoseTrajectory } from "./trajectory.ts";

// ---------------------------------------------------------------- message kinds

export type RegistryMessageKind =
  | "tf"
  | "tf-static"
  | "camera-info"
  | "odometry"
  | "pose"
  | "pose-with-covariance"
  | "transform"
  | "navsatfix";

const KIND_BY_TYPE: Record<string, Exclude<RegistryMessageKind, "tf-static">> = {
  "tf2_msgs/TFMessage": "tf",
  "tf/tfMessage": "tf",
  "sensor_msgs/CameraInfo": "camera-info",
  "nav_msgs/Odometry": "odometry",
  "geometry_msgs/PoseStamped": "pose",
  "geometry_msgs/PoseWithCovarianceStamped": "pose-with-covariance",
  "geometry_msgs/TransformStamped": "transform",
  "sensor_msgs/NavSatFix": "navsatfix",
};

/** `pkg/msg/Type` and `pkg/Type` both become `pkg/Type`. */
const plainTypeName = (schemaName: string): string => schemaName.replace(/^([^/]+)\/msg\/([^/]+)$/, "$1/$2");

/** What the registry reads from a topic, by its type (and `/tf_static` by name); undefined: not read. */
export function registryMessageKind(topic: string, schemaName: string): RegistryMessageKind | undefined {
  const kind = KIND_BY_TYPE[plainTypeName(schemaName)];
  if (kind === "tf" && /(^|\/)tf_static$/.test(topic)) return "tf-static";
  return kind;
}

/** Kinds that give one pose per message. */
export const POSE_KINDS: ReadonlySet<RegistryMessageKind> = new Set([
  "odometry",
  "pose",
  "pose-with-covariance",
  "transform",
]);

// ---------------------------------------------------------------- decoded message access

interface DecodedVec3 {
  x: number;
  y: number;
  z: number;
}
interface DecodedQuat extends DecodedVec3 {
  w: number;
}
interface DecodedHeader {
  stamp?: { sec?: number; nsec?: number; nanosec?: number };
  frame_id?: string;
}
interface DecodedPose {
  position: DecodedVec3;
  orientation: DecodedQuat;
}
export interface DecodedTransformStamped {
  header?: DecodedHeader;
  child_frame_id?: string;
  transform?: { translation: DecodedVec3; rotation: DecodedQuat };
}

/** The header stamp in ns, or `fallbackNs` (the log time) when the stamp is missing or zero. */
export function headerStampNs(header: DecodedHeader | undefined, fallbackNs: bigint): bigint {
  const stamp = header?.stamp;
  if (!stamp) return fallbackNs;
  const sec = BigInt(Math.trunc(Number(stamp.sec ?? 0)));
  const nsec = BigInt(Math.trunc(Number(stamp.nanosec ?? stamp.nsec ?? 0)));
  const ns = sec * 1_000_000_000n + nsec;
  return ns === 0n ? fallbackNs : ns;
}

/** A pose message's pose with its frames; undefined when the message lacks the fields. */
export interface FramedPose {
  stampNs: bigint;
  /** The fixed frame (`header.frame_id`). */
  frame: string;
  /** The moving frame when the message names it (Odometry / TransformStamped `child_frame_id`). */
  childFrame?: string;
  /** `frameFromChild`. */
  x: number;
  y: number;
  z: number;
  qx: number;
  qy: number;
  qz: number;
  qw: number;
}

export function poseOfMessage(
  kind: RegistryMessageKind,
  decoded: unknown,
  logTimeNs: bigint,
): FramedPose | undefined {
  if (!decoded || typeof decoded !== "object") return undefined;
  const message = decoded as {
    header?: DecodedHeader;
    child_frame_id?: string;
    pose?: DecodedPose & { pose?: DecodedPose };
    transform?: { translation: DecodedVec3; rotation: DecodedQuat };
  };
  let pose: DecodedPose | undefined;
  switch (kind) {
    case "pose":
      pose = message.pose;
      break;
    case "odometry":
    case "pose-with-covariance":
      pose = message.pose?.pose;
      break;
    case "transform":
      pose = message.transform
        ? { position: message.transform.translation, orientation: message.transform.rotation }
        : undefined;
      break;
    default:
      return undefined;
  }
  if (!pose?.position || !pose.orientation) return undefined;
  const { position: p, orientation: q } = pose;
  return {
    stampNs: headerStampNs(message.header, logTimeNs),
    frame: normalizeFrameId(message.header?.frame_id ?? ""),
    ...(message.child_frame_id ? { childFrame: normalizeFrameId(message.child_frame_id) } : {}),
    x: p.x,
    y: p.y,
    z: p.z,
    qx: q.x,
    qy: q.y,
    qz: q.z,
    qw: q.w,
  };
}

export interface GpsFix extends Geodetic {
  stampNs: bigint;
  frame: string;
}

/** A NavSatFix with a fix (status ≥ 0, finite coordinates); undefined otherwise. */
export function gpsFixOfMessage(decoded: unknown, logTimeNs: bigint): GpsFix | undefined {
  const m = decoded as {
    header?: DecodedHeader;
    status?: { status?: number };
    latitude?: number;
    longitude?: number;
    altitude?: number;
  };
  if (!m || typeof m !== "object") return undefined;
  if ((m.status?.status ?? 0) < 0) return undefined;
  const latitudeDeg = Number(m.latitude);
  const longitudeDeg = Number(m.longitude);
  const altitudeM = Number.isFinite(Number(m.altitude)) ? Number(m.altitude) : 0;
  if (!Number.isFinite(latitudeDeg) || !Number.isFinite(longitudeDeg)) return undefined;
  if (Math.abs(latitudeDeg) > 90 || Math.abs(longitudeDeg) > 180) return undefined;
  return {
    stampNs: headerStampNs(m.header, logTimeNs),
    frame: normalizeFrameId(m.header?.frame_id ?? ""),
    latitudeDeg,
    longitudeDeg,
    altitudeM,
  };
}

/** The transforms of a decoded `tf2_msgs/TFMessage` that carry all their fields. */
export function transformsOfMessage(decoded: unknown): DecodedTransformStamped[] {
  const transforms = (decoded as { transforms?: unknown } | undefined)?.transforms;
  if (!Array.isArray(transforms)) return [];
  return (transforms as DecodedTransformStamped[]).filter(
    (t) => t?.transform?.translation && t.transform.rotation && t.child_frame_id && t.header?.frame_id,
  );
}

// ---------------------------------------------------------------- pose columns

/** Growable pose columns: stamps (bigint ns), positions (xyz), orientations (xyzw). */
export class PoseColumns {
  private stampsNs = new BigInt64Array(256);
  private positions = new Float64Array(3 * 256);
  private orientations = new Float64Array(4 * 256);
  length = 0;

  push(
    stampNs: bigint,
    x: number,
    y: number,
    z: number,
    qx: number,
    qy: number,
    qz: number,
    qw: number,
  ): void {
    if (this.length === this.stampsNs.length) this.grow();
    const i = this.length++;
    this.stampsNs[i] = stampNs;
    this.positions[3 * i] = x;
    this.positions[3 * i + 1] = y;
    this.positions[3 * i + 2] = z;
    this.orientations[4 * i] = qx;
    this.orientations[4 * i + 1] = qy;
    this.orientations[4 * i + 2] = qz;
    this.orientations[4 * i + 3] = qw;
  }

  private grow(): void {
    const capacity = this.stampsNs.length * 2;
    const stamps = new BigInt64Array(capacity);
    stamps.set(this.stampsNs);
    const positions = new Float64Array(3 * capacity);
    positions.set(this.positions);
    const orientations = new Float64Array(4 * capacity);
    orientations.set(this.orientations);
    this.stampsNs = stamps;
    this.positions = positions;
    this.orientations = orientations;
  }

  stampAt(i: number): bigint {
    return this.stampsNs[i] as bigint;
  }

  positionAt(i: number): Vec3 {
    return {
      x: this.positions[3 * i] as number,
      y: this.positions[3 * i + 1] as number,
      z: this.positions[3 * i + 2] as number,
    };
  }

  /**
   * The poses as a trajectory, ordered by stamp (stable: equal stamps keep message order).
   * `dropDuplicateStamps` keeps only the first pose of each stamp (duplicated messages).
   */
  toTrajectory(opts: { frameId?: string; dropDuplicateStamps?: boolean } = {}): PoseTrajectory {
    const n = this.length;
    let order: Int32Array | undefined;
    for (let i = 1; i < n; i++) {
      if ((this.stampsNs[i] as bigint) < (this.stampsNs[i - 1] as bigint)) {
        order = Int32Array.from({ length: n }, (_, k) => k).sort((a, b) => {
          const d = (this.stampsNs[a] as bigint) - (this.stampsNs[b] as bigint);
          return d < 0n ? -1 : d > 0n ? 1 : a - b;
        });
        break;
      }
    }
    const keep: number[] = [];
    let previous: bigint | undefined;
    for (let k = 0; k < n; k++) {
      const i = order ? (order[k] as number) : k;
      const stamp = this.stampsNs[i] as bigint;
      if (opts.dropDuplicateStamps && previous === stamp) continue;
      previous = stamp;
      keep.push(i);
    }
    const m = keep.length;
    const timestampsNs = new BigInt64Array(m);
    const timestampsSecs = new Float64Array(m);
    const positions = new Float64Array(3 * m);
    const orientations = new Float64Array(4 * m);
    for (let k = 0; k < m; k++) {
      const i = keep[k] as number;
      const stamp = this.stampsNs[i] as bigint;
      timestampsNs[k] = stamp;
      timestampsSecs[k] = evoSecsFromNs(stamp);
      positions.set(this.positions.subarray(3 * i, 3 * i + 3), 3 * k);
      orientations.set(this.orientations.subarray(4 * i, 4 * i + 4), 4 * k);
    }
    return {
      timestampsSecs,
      timestampsNs,
      timeBase: "seconds",
      positions,
      orientations,
      ...(opts.frameId ? { frameId: opts.frameId } : {}),
    };
  }
}

/** Growable sorted-later list of bigint stamps (one per dynamic TF sample of an edge). */
class StampList {
  stamps = new BigInt64Array(64);
  length = 0;
  push(stampNs: bigint): void {
    if (this.length === this.stamps.length) {
      const grown = new BigInt64Array(this.stamps.length * 2);
      grown.set(this.stamps);
      this.stamps = grown;
    }
    this.stamps[this.length++] = stampNs;
  }
  /** Sorted, without duplicates. */
  sortedUnique(): BigInt64Array {
    const sorted = this.stamps.slice(0, this.length).sort();
    let w = 0;
    for (let r = 0; r < sorted.length; r++) {
      if (w === 0 || sorted[r] !== sorted[w - 1]) sorted[w++] = sorted[r] as bigint;
    }
    return sorted.slice(0, w);
  }
}

// ---------------------------------------------------------------- trajectories

/** A trajectory of a capture, with where it came from. */
export interface EgoTrajectory {
  /** e.g. `tf:odom->base_link`, `odom:/odom`, `pose:/slam/pose`, `gps:/gps/fix`. */
  source: string;
  /** The fixed frame the poses are in (`odom`, `map`, `enu`, …). */
  frame: string;
  /** The moving frame, when known. */
  childFrame: string | null;
  trajectory: PoseTrajectory;
  /** Source-specific facts: the ENU origin of GPS trajectories, lever-arm use, skipped messages. */
  meta: Record<string, unknown>;
}

export interface EgoMotionOptions {
  /** The robot's base frame. Default: the first of `base_link`, `base_footprint`, `base` in the TF tree. */
  baseFrame?: string;
  /** The fixed frame of the TF trajectory. Default: the root of the base frame's tree (`map` or `odom`). */
  fixedFrame?: string;
  /** GPS heading: fixes this far apart in time (each side) give the track direction. Default 1 s. */
  gpsHeadingWindowNs?: bigint;
  /** GPS heading: below this displacement over the window the heading is held. Default 2 m. */
  gpsHeadingMinDistanceM?: number;
}

const BASE_FRAME_CANDIDATES = ["base_link", "base_footprint", "base"];

/**
 * Collects what ego-motion needs from a stream of decoded messages (feed with `push`), then builds the
 * trajectories (`finish`). Holds a TfBuffer of `/tf` + `/tf_static`, the stamps of dynamic TF edges, and
 * the poses of pose-like and GNSS topics.
 */
export class EgoMotionCollector {
  readonly tf = new TfBuffer();
  private readonly tfStamps = new Map<string, StampList>();
  private readonly poseTopics = new Map<
    string,
    { kind: RegistryMessageKind; poses: PoseColumns; frame?: string; childFrame?: string; skipped: number }
  >();
  private readonly gpsTopics = new Map<
    string,
    {
      fixes: PoseColumns;
      origin?: Geodetic;
      enu?: ReturnType<typeof enuFrameAt>;
      frame?: string;
      skipped: number;
    }
  >();

  constructor(private readonly options: EgoMotionOptions = {}) {}

  /** Feeds one decoded message of a topic the registry reads. */
  push(kind: RegistryMessageKind, topic: string, decoded: unknown, logTimeNs: bigint): void {
    if (kind === "tf" || kind === "tf-static") {
      for (const t of transformsOfMessage(decoded)) this.addTransform(t, kind === "tf-static", logTimeNs);
      return;
    }
    if (POSE_KINDS.has(kind)) {
      let entry = this.poseTopics.get(topic);
      if (!entry) {
        entry = { kind, poses: new PoseColumns(), skipped: 0 };
        this.poseTopics.set(topic, entry);
      }
      const pose = poseOfMessage(kind, decoded, logTimeNs);
      if (!pose || ![pose.x, pose.y, pose.z, pose.qx, pose.qy, pose.qz, pose.qw].every(Number.isFinite)) {
        entry.skipped++;
        return;
      }
      entry.frame ??= pose.frame;
      if (pose.childFrame) entry.childFrame ??= pose.childFrame;
      entry.poses.push(pose.stampNs, pose.x, pose.y, pose.z, pose.qx, pose.qy, pose.qz, pose.qw);
      return;
    }
    if (kind === "navsatfix") {
      let entry = this.gpsTopics.get(topic);
      if (!entry) {
        entry = { fixes: new PoseColumns(), skipped: 0 };
        this.gpsTopics.set(topic, entry);
      }
      const fix = gpsFixOfMessage(decoded, logTimeNs);
      if (!fix) {
        entry.skipped++;
        return;
      }
      if (!entry.enu) {
        entry.origin = {
          latitudeDeg: fix.latitudeDeg,
          longitudeDeg: fix.longitudeDeg,
          altitudeM: fix.altitudeM,
        };
        entry.enu = enuFrameAt(entry.origin);
        entry.frame = fix.frame;
      }
      const enu = enuFromGeodetic(entry.enu, fix);
      entry.fixes.push(fix.stampNs, enu.x, enu.y, enu.z, 0, 0, 0, 1);
    }
  }

  private addTransform(t: DecodedTransformStamped, isStatic: boolean, logTimeNs: bigint): void {
    const transform = t.transform as NonNullable<DecodedTransformStamped["transform"]>;
    const values = [
      transform.translation.x,
      transform.translation.y,
      transform.translation.z,
      transform.rotation.x,
      transform.rotation.y,
      transform.rotation.z,
      transform.rotation.w,
    ];
    if (!values.every(Number.isFinite)) return;
    const parentFrame = normalizeFrameId(t.header?.frame_id ?? "");
    const childFrame = normalizeFrameId(t.child_frame_id ?? "");
    if (!parentFrame || !childFrame || parentFrame === childFrame) return;
    const stampNs = isStatic ? 0n : headerStampNs(t.header, logTimeNs);
    this.tf.addTransform(
      { parentFrame, childFrame, stampNs, translation: transform.translation, rotation: transform.rotation },
      isStatic,
    );
    if (isStatic) return;
    let stamps = this.tfStamps.get(childFrame);
    if (!stamps) {
      stamps = new StampList();
      this.tfStamps.set(childFrame, stamps);
    }
    stamps.push(stampNs);
  }

  /** Every trajectory found, the primary one first (TF, then odometry, then poses, then GNSS). */
  finish(): EgoTrajectory[] {
    const out: EgoTrajectory[] = [];
    const fromTf = this.tfTrajectory();
    if (fromTf) out.push(fromTf);
    const rank: Partial<Record<RegistryMessageKind, number>> = {
      odometry: 0,
      "pose-with-covariance": 1,
      pose: 2,
      transform: 3,
    };
    const poseTopics = [...this.poseTopics.entries()].sort(
      ([ta, a], [tb, b]) => (rank[a.kind] ?? 9) - (rank[b.kind] ?? 9) || (ta < tb ? -1 : ta > tb ? 1 : 0),
    );
    for (const [topic, entry] of poseTopics) {
      if (entry.poses.length === 0) continue;
      const frame = entry.frame || topic;
      out.push({
        source: `${entry.kind === "odometry" ? "odom" : "pose"}:${topic}`,
        frame,
        childFrame: entry.childFrame ?? null,
        trajectory: entry.poses.toTrajectory({ frameId: frame, dropDuplicateStamps: true }),
        meta: { topic, ...(entry.skipped > 0 ? { skippedMessages: entry.skipped } : {}) },
      });
    }
    for (const [topic, entry] of [...this.gpsTopics.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const gps = this.gpsTrajectory(topic, entry);
      if (gps) out.push(gps);
    }
    return out;
  }

  /** The base frame: the option, else the first candidate name the TF tree knows. */
  baseFrame(): string | undefined {
    const frames = new Set(this.tf.frames());
    if (this.options.baseFrame) {
      const base = normalizeFrameId(this.options.baseFrame);
      return frames.has(base) ? base : undefined;
    }
    return BASE_FRAME_CANDIDATES.find((f) => frames.has(f));
  }

  private tfTrajectory(): EgoTrajectory | undefined {
    const base = this.baseFrame();
    if (!base) return undefined;
    // Walk up from the base: the first dynamic edge gives the sample times.
    const chain = [base];
    for (let f = this.tf.parentOf(base); f !== undefined && !chain.includes(f); f = this.tf.parentOf(f))
      chain.push(f);
    const dynamicIndex = chain.findIndex(
      (f) => this.tfStamps.has(f) && this.tf.edgeTimeRange(f) !== undefined,
    );
    if (dynamicIndex === -1) return undefined;
    const stamps = (this.tfStamps.get(chain[dynamicIndex] as string) as StampList).sortedUnique();
    // Candidate fixed frames: the option, else from the root down to the dynamic edge's parent.
    const candidates = this.options.fixedFrame
      ? [normalizeFrameId(this.options.fixedFrame)]
      : chain.slice(dynamicIndex + 1).reverse();
    let best: { frame: string; poses: PoseColumns; failed: number } | undefined;
    for (const fixed of candidates) {
      const poses = new PoseColumns();
      let failed = 0;
      for (const stampNs of stamps) {
        let fixedFromBase: ReturnType<TfBuffer["transformAt"]>;
        try {
          fixedFromBase = this.tf.transformAt(fixed, base, stampNs);
        } catch (error) {
          if (!(error instanceof StrataError)) throw error;
          failed++;
          continue;
        }
        const t = fixedFromBase.translation;
        const q = quatFromMat3(fixedFromBase.rotation);
        poses.push(stampNs, t.x, t.y, t.z, q.x, q.y, q.z, q.w);
      }
      if (!best || poses.length > best.poses.length) best = { frame: fixed, poses, failed };
      // The highest frame that covers at least half of the samples wins.
      if (poses.length >= stamps.length / 2 && poses.length > 0) {
        best = { frame: fixed, poses, failed };
        break;
      }
    }
    if (!best || best.poses.length === 0) return undefined;
    return {
      source: `tf:${best.frame}->${base}`,
      frame: best.frame,
      childFrame: base,
      trajectory: best.poses.toTrajectory({ frameId: best.frame }),
      meta: {
        sampledEdge: `${this.tf.parentOf(chain[dynamicIndex] as string)}->${chain[dynamicIndex]}`,
        ...(best.failed > 0 ? { unresolvedSamples: best.failed } : {}),
      },
    };
  }

  private gpsTrajectory(
    topic: string,
    entry: { fixes: PoseColumns; origin?: Geodetic; frame?: string; skipped: number },
  ): EgoTrajectory | undefined {
    if (!entry.origin || entry.fixes.length === 0) return undefined;
    const antenna = entry.fixes.toTrajectory({ frameId: "enu", dropDuplicateStamps: true });
    const base = this.baseFrame();
    let leverArmInBase: Vec3 | undefined;
    if (base && entry.frame && entry.frame !== base) {
      try {
        leverArmInBase = translationQuatFromSe3(this.tf.transformAt(base, entry.frame, "latest")).translation;
      } catch (error) {
        if (!(error instanceof StrataError)) throw error;
      }
    }
    const trajectory = baseTrackFromAntenna(antenna, leverArmInBase, {
      windowNs: this.options.gpsHeadingWindowNs ?? 1_000_000_000n,
      minDistanceM: this.options.gpsHeadingMinDistanceM ?? 2,
    });
    return {
      source: `gps:${topic}`,
      frame: "enu",
      childFrame: leverArmInBase && trajectory.headingKnown ? (base ?? null) : entry.frame || null,
      trajectory: trajectory.trajectory,
      meta: {
        topic,
        origin: { ...entry.origin },
        leverArmApplied: leverArmInBase !== undefined && trajectory.headingKnown,
        ...(leverArmInBase ? { leverArmInBase: { ...leverArmInBase } } : {}),
        ...(entry.skipped > 0 ? { skippedMessages: entry.skipped } : {}),
      },
    };
  }
}

/**
 * GNSS antenna positions (ENU) → base poses: heading from the track (positions `windowNs` before and after,
 * at least `minDistanceM` apart; held through stops), yaw-only orientation, and the lever arm
 * (`baseFromAntenna` translation) removed: `p_base = p_antenna − Rz(yaw)·leverArm`. Driving backwards
 * would flip the heading; the track gives no way to tell.
 */
export function baseTrackFromAntenna(
  antenna: PoseTrajectory,
  leverArmInBase: Vec3 | undefined,
  opts: { windowNs: bigint; minDistanceM: number },
): { trajectory: PoseTrajectory; headingKnown: boolean } {
  const n = antenna.timestampsSecs.length;
  const stamps = antenna.timestampsNs as BigInt64Array;
  const p = antenna.positions;
  const yaw = new Float64Array(n).fill(Number.NaN);
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < n; i++) {
    const t = stamps[i] as bigint;
    while ((stamps[lo] as bigint) < t - opts.windowNs) lo++;
    if (hi < i) hi = i;
    while (hi + 1 < n && (stamps[hi + 1] as bigint) <= t + opts.windowNs) hi++;
    const dx = (p[3 * hi] as number) - (p[3 * lo] as number);
    const dy = (p[3 * hi + 1] as number) - (p[3 * lo + 1] as number);
    if (Math.hypot(dx, dy) >= opts.minDistanceM) yaw[i] = Math.atan2(dy, dx);
  }
  // Hold the last known heading through stops; before the first one, use the first one.
  const first = yaw.findIndex((v) => !Number.isNaN(v));
  const headingKnown = first !== -1;
  let held = headingKnown ? (yaw[first] as number) : 0;
  const positions = new Float64Array(3 * n);
  const orientations = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(yaw[i] as number)) held = yaw[i] as number;
    const c = Math.cos(held);
    const s = Math.sin(held);
    const arm = headingKnown && leverArmInBase ? leverArmInBase : { x: 0, y: 0, z: 0 };
    positions[3 * i] = (p[3 * i] as number) - (c * arm.x - s * arm.y);
    positions[3 * i + 1] = (p[3 * i + 1] as number) - (s * arm.x + c * arm.y);
    positions[3 * i + 2] = (p[3 * i + 2] as number) - arm.z;
    const q = quatFromRpy(0, 0, held);
    orientations[4 * i] = q.x;
    orientations[4 * i + 1] = q.y;
    orientations[4 * i + 2] = q.z;
    orientations[4 * i + 3] = q.w;
  }
  return { trajectory: { ...antenna, positions, orientations }, headingKnown };
}

// ---------------------------------------------------------------- one topic of a log, for metrics

/** `/tf:parent.child` (evo's syntax) or `tf:parent->child`: a TF lookup instead of a topic. */
export function parseTfSpec(spec: string): { parentFrame: string; childFrame: string } | undefined {
  const evo = /^\/?tf:([^.]+)\.(.+)$/.exec(spec);
  if (evo) return { parentFrame: evo[1] as string, childFrame: evo[2] as string };
  const arrow = /^tf:(.+)->(.+)$/.exec(spec);
  if (arrow) return { parentFrame: arrow[1] as string, childFrame: arrow[2] as string };
  return undefined;
}

/**
 * The trajectory of one topic of an open log (PoseStamped, PoseWithCovarianceStamped, Odometry,
 * TransformStamped or NavSatFix), or of a TF lookup (`/tf:map.base_link`). Poses keep the log's order and
 * duplicates (as evo reads a bag) and are sorted by stamp only when the stamps go backwards.
 */
export async function readTrajectoryFromLog(reader: LogReader, topic: string): Promise<PoseTrajectory> {
  const summary = await reader.summary();
  const tfSpec = parseTfSpec(topic);
  if (tfSpec) {
    const tfTopics = summary.topics.filter((t) => {
      const kind = registryMessageKind(t.topic, t.schemaName);
      return kind === "tf" || kind === "tf-static";
    });
    const collector = new EgoMotionCollector({
      baseFrame: tfSpec.childFrame,
      fixedFrame: tfSpec.parentFrame,
    });
    for await (const m of reader.messages({ topics: tfTopics.map((t) => t.topic), decode: true })) {
      const kind = registryMessageKind(
        m.topic,
        summary.topics.find((t) => t.topic === m.topic)?.schemaName ?? "",
      );
      if (kind) collector.push(kind, m.topic, m.decoded, m.logTimeNs);
    }
    const fromTf = collector.finish().find((t) => t.source.startsWith("tf:"));
    if (!fromTf) {
      throw new StrataError(
        "STRATA_E_TF_DISCONNECTED",
        `no transform ${tfSpec.parentFrame} → ${tfSpec.childFrame} in the log's /tf and /tf_static`,
        { file: summary.path, topic },
      );
    }
    return fromTf.trajectory;
  }
  const described = summary.topics.find((t) => t.topic === topic);
  if (!described) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no topic "${topic}" in the log (topics: ${summary.topics.map((t) => t.topic).join(", ")})`,
      { file: summary.path, topic },
    );
  }
  const kind = registryMessageKind(topic, described.schemaName);
  if (!kind || !(POSE_KINDS.has(kind) || kind === "navsatfix")) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `topic "${topic}" is ${described.schemaName}, not a pose type (PoseStamped, PoseWithCovarianceStamped, Odometry, TransformStamped, NavSatFix)`,
      { file: summary.path, topic },
    );
  }
  const collector = new EgoMotionCollector();
  const poses = new PoseColumns();
  let frame: string | undefined;
  for await (const m of reader.messages({ topics: [topic], decode: true })) {
    if (kind === "navsatfix") {
      collector.push(kind, topic, m.decoded, m.logTimeNs);
      continue;
    }
    const pose = poseOfMessage(kind, m.decoded, m.logTimeNs);
    if (!pose) continue;
    frame ??= pose.frame;
    poses.push(pose.stampNs, pose.x, pose.y, pose.z, pose.qx, pose.qy, pose.qz, pose.qw);
  }
  if (kind === "navsatfix") {
    const gps = collector.finish().find((t) => t.source === `gps:${topic}`);
    if (!gps) throw new StrataError("STRATA_E_METRICS", `topic "${topic}" has no valid fix`, { topic });
    return gps.trajectory;
  }
  return poses.toTrajectory(frame ? { frameId: frame } : {});
}
