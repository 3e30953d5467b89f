/**
 * Turning decoded ROS messages (as the messages route sends them: int64 as strings, uint8[] as base64)
 * into geometry for the 3D view. Pure functions; frames follow REP 103 (x forward, y left, z up).
 */

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}
export interface Quat {
  x: number;
  y: number;
  z: number;
  w: number;
}
/** A rigid transform `parentFromChild`: p_parent = q · p_child + t. */
export interface Pose {
  t: Vec3;
  q: Quat;
}
export interface TimedPose extends Pose {
  timeNs: bigint;
}

export const IDENTITY: Pose = { t: { x: 0, y: 0, z: 0 }, q: { x: 0, y: 0, z: 0, w: 1 } };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function vec3(v: unknown): Vec3 | undefined {
  const o = obj(v);
  const x = num(o?.x);
  const y = num(o?.y);
  const z = num(o?.z);
  return x === undefined || y === undefined || z === undefined ? undefined : { x, y, z };
}
function quat(v: unknown): Quat {
  const o = obj(v);
  const q = { x: num(o?.x) ?? 0, y: num(o?.y) ?? 0, z: num(o?.z) ?? 0, w: num(o?.w) ?? 1 };
  const n = Math.hypot(q.x, q.y, q.z, q.w);
  return n > 0 ? { x: q.x / n, y: q.y / n, z: q.z / n, w: q.w / n } : IDENTITY.q;
}

export const normalizeFrame = (frame: unknown): string =>
  typeof frame === "string" ? frame.replace(/^\/+/, "") : "";

export function rotate(q: Quat, v: Vec3): Vec3 {
  // v' = v + 2w(u×v) + 2u×(u×v)
  const cx = q.y * v.z - q.z * v.y;
  const cy = q.z * v.x - q.x * v.z;
  const cz = q.x * v.y - q.y * v.x;
  return {
    x: v.x + 2 * (q.w * cx + q.y * cz - q.z * cy),
    y: v.y + 2 * (q.w * cy + q.z * cx - q.x * cz),
    z: v.z + 2 * (q.w * cz + q.x * cy - q.y * cx),
  };
}
const qmul = (a: Quat, b: Quat): Quat => ({
  w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
  y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
  z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
});
/** aFromC = aFromB ∘ bFromC */
export function compose(aFromB: Pose, bFromC: Pose): Pose {
  const r = rotate(aFromB.q, bFromC.t);
  return {
    t: { x: aFromB.t.x + r.x, y: aFromB.t.y + r.y, z: aFromB.t.z + r.z },
    q: qmul(aFromB.q, bFromC.q),
  };
}
export function apply(pose: Pose, p: Vec3): Vec3 {
  const r = rotate(pose.q, p);
  return { x: r.x + pose.t.x, y: r.y + pose.t.y, z: r.z + pose.t.z };
}
export const yawOf = (q: Quat): number =>
  Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));

// ---- topic roles ----

export interface TopicInfo {
  topic: string;
  schemaName: string;
}

const is = (schema: string, pkg: string, type: string): boolean =>
  new RegExp(`^${pkg}/(msg/)?${type}$`).test(schema);

export interface SceneTopics {
  trajectory?: { topic: string; kind: "odometry" | "pose" | "tf" };
  cameraInfos: string[];
  tfStatic?: string;
  pointCloud?: string;
  image?: string;
  objects?: string;
}

export function pickTopics(topics: readonly TopicInfo[]): SceneTopics {
  const find = (test: (t: TopicInfo) => boolean, prefer?: RegExp) => {
    const all = topics.filter(test);
    return (prefer ? all.find((t) => prefer.test(t.topic)) : undefined)?.topic ?? all[0]?.topic;
  };
  const isTf = (t: TopicInfo) =>
    is(t.schemaName, "tf2_msgs", "TFMessage") || is(t.schemaName, "tf", "tfMessage");
  const odometry = find((t) => is(t.schemaName, "nav_msgs", "Odometry"), /^\/?odom$/);
  const pose = find((t) => is(t.schemaName, "geometry_msgs", "PoseStamped"));
  const tf = find((t) => isTf(t) && !/static/.test(t.topic));
  return {
    trajectory: odometry
      ? { topic: odometry, kind: "odometry" }
      : pose
        ? { topic: pose, kind: "pose" }
        : tf
          ? { topic: tf, kind: "tf" }
          : undefined,
    tfStatic: find((t) => isTf(t) && /static/.test(t.topic)),
    cameraInfos: topics.filter((t) => is(t.schemaName, "sensor_msgs", "CameraInfo")).map((t) => t.topic),
    pointCloud: find((t) => is(t.schemaName, "sensor_msgs", "PointCloud2"), /lidar/),
    image: find((t) => is(t.schemaName, "sensor_msgs", "CompressedImage"), /front/),
    objects: find(
      (t) =>
        /perception\/objects|detections|objects$/.test(t.topic) ||
        is(t.schemaName, "vision_msgs", "Detection3DArray") ||
        is(t.schemaName, "visualization_msgs", "MarkerArray"),
      /perception\/objects/,
    ),
  };
}

// ---- transforms ----

export interface FrameTransform {
  parent: string;
  child: string;
  pose: Pose;
}

export function transformsOf(message: unknown): FrameTransform[] {
  const list = obj(message)?.transforms;
  if (!Array.isArray(list)) return [];
  return list.flatMap((item) => {
    const o = obj(item);
    const transform = obj(o?.transform);
    const t = vec3(transform?.translation);
    if (!o || !t) return [];
    return [
      {
        parent: normalizeFrame(obj(o.header)?.frame_id),
        child: normalizeFrame(o.child_frame_id),
        pose: { t, q: quat(transform?.rotation) },
      },
    ];
  });
}

/** Static transforms by child frame. */
export class StaticTree {
  readonly #byChild = new Map<string, FrameTransform>();
  add(transforms: readonly FrameTransform[]): void {
    for (const t of transforms) this.#byChild.set(t.child, t);
  }
  /** `targetFromFrame` by walking parents up from `frame`; undefined when not connected. */
  lookup(target: string, frame: string): Pose | undefined {
    let pose = IDENTITY;
    let current = frame;
    for (let hops = 0; hops < 32; hops++) {
      if (current === target) return pose;
      const up = this.#byChild.get(current);
      if (!up) return undefined;
      pose = compose(up.pose, pose);
      current = up.parent;
    }
    return undefined;
  }
}

// ---- trajectory ----

export interface Trajectory {
  fixedFrame: string;
  bodyFrame: string;
  poses: TimedPose[];
}

export interface TimedMessage {
  logTimeNs: string;
  message: unknown;
}

const BODY_FRAMES = ["base_link", "base_footprint", "base"];

export function trajectoryFrom(kind: "odometry" | "pose" | "tf", lines: readonly TimedMessage[]): Trajectory {
  const poses: TimedPose[] = [];
  let fixedFrame = "";
  let bodyFrame = "";
  if (kind === "tf") {
    const all = lines.flatMap((l) =>
      transformsOf(l.message).map((t) => ({ ...t, timeNs: BigInt(l.logTimeNs) })),
    );
    const counts = new Map<string, number>();
    for (const t of all) counts.set(t.child, (counts.get(t.child) ?? 0) + 1);
    bodyFrame =
      BODY_FRAMES.find((f) => counts.has(f)) ?? [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "";
    for (const t of all)
      if (t.child === bodyFrame) {
        fixedFrame ||= t.parent;
        if (t.parent === fixedFrame) poses.push({ ...t.pose, timeNs: t.timeNs });
      }
    return { fixedFrame, bodyFrame, poses };
  }
  for (const line of lines) {
    const m = obj(line.message);
    const pose = kind === "odometry" ? obj(obj(m?.pose)?.pose) : obj(m?.pose);
    const t = vec3(pose?.position);
    if (!m || !t) continue;
    fixedFrame ||= normalizeFrame(obj(m.header)?.frame_id);
    bodyFrame ||= normalizeFrame(m.child_frame_id) || "base_link";
    poses.push({ t, q: quat(pose?.orientation), timeNs: BigInt(line.logTimeNs) });
  }
  return { fixedFrame, bodyFrame, poses };
}

/** The last pose at or before timeNs (the first pose before the trajectory starts). */
export function poseAt(
  poses: readonly TimedPose[],
  timeNs: bigint,
): { pose: TimedPose; index: number } | undefined {
  if (poses.length === 0) return undefined;
  let lo = 0;
  let hi = poses.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((poses[mid]?.timeNs ?? 0n) <= timeNs) lo = mid;
    else hi = mid - 1;
  }
  const pose = poses[lo];
  return pose ? { pose, index: lo } : undefined;
}

// ---- point clouds ----

const FIELD_TYPES: Record<number, { size: number; read: (v: DataView, o: number, le: boolean) => number }> = {
  1: { size: 1, read: (v, o) => v.getInt8(o) },
  2: { size: 1, read: (v, o) => v.getUint8(o) },
  3: { size: 2, read: (v, o, le) => v.getInt16(o, le) },
  4: { size: 2, read: (v, o, le) => v.getUint16(o, le) },
  5: { size: 4, read: (v, o, le) => v.getInt32(o, le) },
  6: { size: 4, read: (v, o, le) => v.getUint32(o, le) },
  7: { size: 4, read: (v, o, le) => v.getFloat32(o, le) },
  8: { size: 8, read: (v, o, le) => v.getFloat64(o, le) },
};

export function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export interface Cloud {
  frameId: string;
  /** xyz triples in the cloud's frame. */
  positions: Float32Array;
  /** One value per point (intensity, or z when there is none). */
  values: Float32Array;
  count: number;
}

/** Decodes sensor_msgs/PointCloud2 (any field layout with x, y, z); at most maxPoints (evenly strided). */
export function decodePointCloud(message: unknown, maxPoints = 250_000): Cloud | undefined {
  const m = obj(message);
  if (!m || typeof m.data !== "string" || !Array.isArray(m.fields)) return undefined;
  const fields = new Map(
    (m.fields as unknown[]).map((f) => {
      const o = obj(f) ?? {};
      return [
        String(o.name),
        { offset: num(o.offset) ?? 0, type: FIELD_TYPES[num(o.datatype) ?? 0] },
      ] as const;
    }),
  );
  const fx = fields.get("x");
  const fy = fields.get("y");
  const fz = fields.get("z");
  const fi = fields.get("intensity");
  const step = num(m.point_step) ?? 0;
  if (!fx?.type || !fy?.type || !fz?.type || step <= 0) return undefined;
  const bytes = base64Bytes(m.data);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = m.is_bigendian !== true;
  const total = Math.floor(bytes.byteLength / step);
  const stride = Math.max(1, Math.ceil(total / maxPoints));
  const count = Math.ceil(total / stride);
  const positions = new Float32Array(count * 3);
  const values = new Float32Array(count);
  let n = 0;
  for (let i = 0; i < total; i += stride) {
    const base = i * step;
    const x = fx.type.read(view, base + fx.offset, le);
    const y = fy.type.read(view, base + fy.offset, le);
    const z = fz.type.read(view, base + fz.offset, le);
    if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) continue;
    positions[n * 3] = x;
    positions[n * 3 + 1] = y;
    positions[n * 3 + 2] = z;
    values[n] = fi?.type ? fi.type.read(view, base + fi.offset, le) : z;
    n += 1;
  }
  return {
    frameId: normalizeFrame(obj(m.header)?.frame_id),
    positions: positions.subarray(0, n * 3),
    values: values.subarray(0, n),
    count: n,
  };
}

// ---- boxes ----

export interface Box {
  center: Vec3;
  q: Quat;
  size: Vec3;
  label: string;
  frameId: string;
}

function labelOf(o: Json): string {
  for (const key of ["label", "class_name", "class", "classification", "object_class", "ns", "text"]) {
    const v = o[key];
    if (typeof v === "string" && v) return v;
  }
  const result = obj(Array.isArray(o.results) ? o.results[0] : undefined);
  const hypothesis = obj(result?.hypothesis) ?? result;
  const id = hypothesis?.class_id ?? hypothesis?.id;
  return typeof id === "string" || typeof id === "number" ? String(id) : "object";
}

/**
 * 3D boxes from vision_msgs/Detection3DArray, visualization_msgs/MarkerArray (cubes) or any message
 * holding an array of objects with a pose/center and a size/dimensions/scale.
 */
export function boxesOf(message: unknown): Box[] {
  const root = obj(message);
  if (!root) return [];
  const rootFrame = normalizeFrame(obj(root.header)?.frame_id);
  const arrays = Object.values(root).filter(Array.isArray) as unknown[][];
  const boxes: Box[] = [];
  for (const array of arrays)
    for (const item of array) {
      const o = obj(item);
      if (!o) continue;
      if (typeof o.type === "number" && "scale" in o && o.type !== 1) continue; // markers other than CUBE
      const bbox = obj(o.bbox);
      const poseLike = obj(bbox?.center) ?? obj(obj(o.pose)?.pose) ?? obj(o.pose) ?? obj(o.center);
      const center = vec3(poseLike?.position) ?? vec3(poseLike);
      const size = vec3(bbox?.size) ?? vec3(o.size) ?? vec3(o.dimensions) ?? vec3(o.scale);
      if (!center || !size) continue;
      boxes.push({
        center,
        q: quat(poseLike?.orientation),
        size,
        label: labelOf(o),
        frameId: normalizeFrame(obj(o.header)?.frame_id) || rootFrame,
      });
    }
  return boxes;
}

// ---- images ----

export function imageUrl(message: unknown): string | undefined {
  const m = obj(message);
  if (!m || typeof m.data !== "string") return undefined;
  const format = typeof m.format === "string" ? m.format.toLowerCase() : "jpeg";
  const mime = format.includes("png") ? "image/png" : "image/jpeg";
  return `data:${mime};base64,${m.data}`;
}

// ---- camera frusta ----

export interface Frustum {
  frameId: string;
  /** Optical-frame points: the apex then the four image corners at `depth` (z forward, x right, y down). */
  points: Vec3[];
}

/** The viewing frustum of a sensor_msgs/CameraInfo (pinhole K, image size) out to `depth` metres. */
export function frustumOf(message: unknown, depth = 4): Frustum | undefined {
  const m = obj(message);
  const k = Array.isArray(m?.k) ? m.k : Array.isArray(m?.K) ? m.K : undefined;
  const width = num(m?.width);
  const height = num(m?.height);
  const fx = num(k?.[0]);
  const cx = num(k?.[2]);
  const fy = num(k?.[4]);
  const cy = num(k?.[5]);
  if (!m || !width || !height || !fx || !fy || cx === undefined || cy === undefined) return undefined;
  const corner = (u: number, v: number): Vec3 => ({
    x: ((u - cx) / fx) * depth,
    y: ((v - cy) / fy) * depth,
    z: depth,
  });
  return {
    frameId: normalizeFrame(obj(m.header)?.frame_id),
    points: [{ x: 0, y: 0, z: 0 }, corner(0, 0), corner(width, 0), corner(width, height), corner(0, height)],
  };
}
