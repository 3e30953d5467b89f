/**
 * Sensor checks on decoded messages: image size against camera_info, point cloud field layout (and
 * NaN/Inf in dense clouds), IMU saturation and bias jumps (residuals against odometry), GPS jumps.
 */
import { at, bytes, compressedImageSize, headerOf, lengthOf, num, obj, quat, str, vec3 } from "./decoded.ts";
import { EventRuns, type Finding } from "./runs.ts";
import type { ScanMessage } from "./scan-types.ts";
import type { QaThresholds } from "./types.ts";

// ---------------------------------------------------------------- camera_info and images

export interface CameraInfoSummary {
  topic: string;
  frameId: string;
  width: number;
  height: number;
  /** fx, fy > 0 in K. */
  intrinsicsValid: boolean;
  messages: number;
}

interface Dims {
  width: number;
  height: number;
}

export class ImageProbe {
  readonly #infoByFrame = new Map<string, Dims>();
  readonly #infoByTopic = new Map<string, CameraInfoSummary>();
  readonly #pending = new Map<string, Array<{ topic: string; logTimeNs: bigint; dims: Dims }>>();
  readonly #events = new EventRuns();
  readonly #layout = new EventRuns();

  onMessage(m: ScanMessage): void {
    if (m.type === "sensor_msgs/CameraInfo") return this.#onInfo(m);
    if (m.type !== "sensor_msgs/Image" && m.type !== "sensor_msgs/CompressedImage") return;
    const msg = obj(m.decoded);
    const header = headerOf(m.decoded);
    if (!msg || !header) return;
    let dims: Dims | undefined;
    if (m.type === "sensor_msgs/Image") {
      const width = num(msg.width) ?? 0;
      const height = num(msg.height) ?? 0;
      const step = num(msg.step) ?? 0;
      const length = lengthOf(msg.data);
      dims = { width, height };
      if (length !== step * height || step < width) {
        this.#layout.add({
          check: "image.size",
          topic: m.topic,
          logTimeNs: m.logTimeNs,
          score: 1,
          measured: `data ${length} B, step ${step}`,
          threshold: `step × height = ${step * height} B, step ≥ width ${width}`,
          unit: "bytes",
          message: `image data is ${length} bytes, expected step × height = ${step * height}`,
        });
      }
    } else {
      const data = bytes(msg.data);
      dims = data ? compressedImageSize(data) : undefined;
    }
    if (!dims) return;
    const info = this.#infoByFrame.get(header.frameId);
    if (info) this.#compare(m.topic, m.logTimeNs, dims, info);
    else {
      const pending = this.#pending.get(header.frameId) ?? [];
      if (pending.length < 20) pending.push({ topic: m.topic, logTimeNs: m.logTimeNs, dims });
      this.#pending.set(header.frameId, pending);
    }
  }

  #onInfo(m: ScanMessage): void {
    const msg = obj(m.decoded);
    const header = headerOf(m.decoded);
    if (!msg || !header) return;
    const k = msg.k ?? msg.K;
    const fx = at(k, 0) ?? 0;
    const fy = at(k, 4) ?? 0;
    const width = num(msg.width) ?? 0;
    const height = num(msg.height) ?? 0;
    const roi = obj(msg.roi);
    const roiWidth = num(roi?.width) ?? 0;
    const roiHeight = num(roi?.height) ?? 0;
    const binX = Math.max(1, num(msg.binning_x) ?? 0);
    const binY = Math.max(1, num(msg.binning_y) ?? 0);
    const expected: Dims = {
      width: Math.floor((roiWidth > 0 ? roiWidth : width) / binX),
      height: Math.floor((roiHeight > 0 ? roiHeight : height) / binY),
    };
    const summary = this.#infoByTopic.get(m.topic);
    const valid = fx > 0 && fy > 0 && width > 0 && height > 0;
    if (!summary)
      this.#infoByTopic.set(m.topic, {
        topic: m.topic,
        frameId: header.frameId,
        width,
        height,
        intrinsicsValid: valid,
        messages: 1,
      });
    else {
      summary.messages++;
      summary.intrinsicsValid &&= valid;
    }
    if (width === 0 || height === 0) return;
    this.#infoByFrame.set(header.frameId, expected);
    const pending = this.#pending.get(header.frameId);
    if (pending) {
      this.#pending.delete(header.frameId);
      for (const p of pending) this.#compare(p.topic, p.logTimeNs, p.dims, expected);
    }
  }

  #compare(topic: string, logTimeNs: bigint, dims: Dims, info: Dims): void {
    if (dims.width === info.width && dims.height === info.height) return;
    this.#events.add({
      check: "image.size",
      topic,
      logTimeNs,
      score: Math.abs(dims.width - info.width) + Math.abs(dims.height - info.height),
      measured: `${dims.width}x${dims.height}`,
      threshold: `${info.width}x${info.height}`,
      unit: "px",
      message: `image is ${dims.width}x${dims.height}, camera_info says ${info.width}x${info.height}`,
    });
  }

  findings(): Finding[] {
    return [...this.#events.findings(), ...this.#layout.findings()];
  }

  cameraInfos(): CameraInfoSummary[] {
    return [...this.#infoByTopic.values()];
  }
}

// ---------------------------------------------------------------- point clouds

const DATATYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 8: 8 };

interface CloudField {
  name: string;
  offset: number;
  datatype: number;
  count: number;
}

export class PointCloudProbe {
  readonly #layouts = new Map<string, string>();
  readonly #events = new EventRuns();
  readonly #pointsPerCloud: number;

  constructor(pointsPerCloud: number) {
    this.#pointsPerCloud = pointsPerCloud;
  }

  onMessage(m: ScanMessage): void {
    if (m.type !== "sensor_msgs/PointCloud2") return;
    const msg = obj(m.decoded);
    if (!msg) return;
    const fields: CloudField[] = (Array.isArray(msg.fields) ? msg.fields : []).map((f) => {
      const o = obj(f);
      return {
        name: str(o?.name) ?? "",
        offset: num(o?.offset) ?? -1,
        datatype: num(o?.datatype) ?? 0,
        count: num(o?.count) ?? 0,
      };
    });
    const pointStep = num(msg.point_step) ?? 0;
    const rowStep = num(msg.row_step) ?? 0;
    const width = num(msg.width) ?? 0;
    const height = num(msg.height) ?? 0;
    const data = bytes(msg.data);
    const dataLength = data?.byteLength ?? lengthOf(msg.data);
    const problems: string[] = [];
    const spans: Array<[number, number, string]> = [];
    for (const f of fields) {
      const size = DATATYPE_SIZE[f.datatype];
      if (size === undefined) {
        problems.push(`field ${f.name} has unknown datatype ${f.datatype}`);
        continue;
      }
      const end = f.offset + size * Math.max(1, f.count);
      if (f.offset < 0 || end > pointStep)
        problems.push(`field ${f.name} [${f.offset}, ${end}) exceeds point_step ${pointStep}`);
      spans.push([f.offset, end, f.name]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) {
      const prev = spans[i - 1] as [number, number, string];
      const cur = spans[i] as [number, number, string];
      if (cur[0] < prev[1]) problems.push(`fields ${prev[2]} and ${cur[2]} overlap`);
    }
    for (const axis of ["x", "y", "z"]) {
      const f = fields.find((g) => g.name === axis);
      if (!f) problems.push(`no ${axis} field`);
      else if (f.datatype !== 7 && f.datatype !== 8)
        problems.push(`${axis} is datatype ${f.datatype}, not FLOAT32/FLOAT64`);
    }
    if (rowStep < width * pointStep)
      problems.push(`row_step ${rowStep} < width × point_step ${width * pointStep}`);
    if (dataLength !== rowStep * height)
      problems.push(`data is ${dataLength} bytes, row_step × height = ${rowStep * height}`);
    const signature = `${fields.map((f) => `${f.name}:${f.offset}:${f.datatype}:${f.count}`).join(",")}/${pointStep}`;
    const previous = this.#layouts.get(m.topic);
    if (previous === undefined) this.#layouts.set(m.topic, signature);
    else if (previous !== signature) problems.push(`layout changed from ${previous} to ${signature}`);
    if (problems.length > 0) {
      this.#events.add({
        check: "pointcloud.layout",
        topic: m.topic,
        logTimeNs: m.logTimeNs,
        score: problems.length,
        measured: problems.join("; "),
        threshold:
          "fields within point_step, no overlaps, float x/y/z, data = row_step × height, stable layout",
        unit: "",
        message: problems.join("; "),
      });
      return;
    }
    // Dense clouds promise finite points: check an evenly strided sample of x, y, z.
    if (msg.is_dense !== true || !data || width * height === 0) return;
    const bigEndian = msg.is_bigendian === true;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const axes = ["x", "y", "z"].map((n) => fields.find((f) => f.name === n) as CloudField);
    const points = width * height;
    const stride = Math.max(1, Math.floor(points / this.#pointsPerCloud));
    let bad = 0;
    for (let p = 0; p < points; p += stride) {
      const row = Math.floor(p / width);
      const base = row * rowStep + (p - row * width) * pointStep;
      for (const f of axes) {
        const v =
          f.datatype === 7
            ? view.getFloat32(base + f.offset, !bigEndian)
            : view.getFloat64(base + f.offset, !bigEndian);
        if (!Number.isFinite(v)) bad++;
      }
    }
    if (bad > 0) {
      this.#events.add({
        check: "data.nonFinite",
        topic: m.topic,
        logTimeNs: m.logTimeNs,
        score: bad,
        measured: bad,
        threshold: 0,
        unit: "values",
        message: `${bad} NaN/Inf coordinates among ${Math.ceil(points / stride)} sampled points of a cloud marked is_dense`,
      });
    }
  }

  findings(): Finding[] {
    return this.#events.findings();
  }
}

// ---------------------------------------------------------------- IMU and odometry

const IMU_BIN_NS = 100_000_000n;
const GRAVITY = 9.80665;

interface ImuBin {
  n: number;
  /** Sums: gyro x/y/z, linear acceleration (gravity removed when orientation is known) x/y/z. */
  s: Float64Array;
  firstNs: bigint;
  lastNs: bigint;
}

type Vec3 = { x: number; y: number; z: number };
type Quat = Vec3 & { w: number };

/** Rotates v by unit quaternion q (x, y, z, w). */
function rotate(q: Quat, v: Vec3): Vec3 {
  const tx = 2 * (q.y * v.z - q.z * v.y);
  const ty = 2 * (q.z * v.x - q.x * v.z);
  const tz = 2 * (q.x * v.y - q.y * v.x);
  return {
    x: v.x + q.w * tx + (q.y * tz - q.z * ty),
    y: v.y + q.w * ty + (q.z * tx - q.x * tz),
    z: v.z + q.w * tz + (q.x * ty - q.y * tx),
  };
}

const conj = (q: Quat): Quat => ({ x: -q.x, y: -q.y, z: -q.z, w: q.w });

export interface ImuFindingsInput {
  thresholds: QaThresholds;
  /** Rotation base ← IMU frame by IMU frame id (from /tf_static), when known. */
  baseFromImu: (frameId: string) => Quat | undefined;
}

/**
 * Saturation per message; bias jumps from 100 ms bins of the IMU against odometry (planar ground
 * vehicle model: expected gyro z = yaw rate, accel x = d(speed)/dt, accel y = speed × yaw rate).
 */
export class ImuProbe {
  readonly #bins = new Map<string, Map<number, ImuBin>>();
  readonly #frames = new Map<string, string>();
  readonly #events = new EventRuns();
  readonly #originNs: bigint;
  readonly #thresholds: QaThresholds;
  /** Odometry samples of the first odometry topic seen: log time (s from origin), speed, yaw rate. */
  #odomTopic: string | undefined;
  #odom = { t: new Float64Array(1024), v: new Float64Array(1024), w: new Float64Array(1024), n: 0 };

  constructor(originNs: bigint, thresholds: QaThresholds) {
    this.#originNs = originNs;
    this.#thresholds = thresholds;
  }

  onMessage(m: ScanMessage): void {
    if (m.type === "nav_msgs/Odometry") return this.#onOdom(m);
    if (m.type !== "sensor_msgs/Imu") return;
    const msg = obj(m.decoded);
    if (!msg) return;
    const gyro = vec3(msg.angular_velocity);
    const accel = vec3(msg.linear_acceleration);
    if (!gyro || !accel) return;
    const t = this.#thresholds;
    const accelMax = Math.max(Math.abs(accel.x), Math.abs(accel.y), Math.abs(accel.z));
    const gyroMax = Math.max(Math.abs(gyro.x), Math.abs(gyro.y), Math.abs(gyro.z));
    if (accelMax >= t.imuAccelRangeMps2 || gyroMax >= t.imuGyroRangeRadps) {
      const accelSaturated = accelMax / t.imuAccelRangeMps2 >= gyroMax / t.imuGyroRangeRadps;
      this.#events.add({
        check: "imu.saturation",
        topic: m.topic,
        logTimeNs: m.logTimeNs,
        score: accelSaturated ? accelMax / t.imuAccelRangeMps2 : gyroMax / t.imuGyroRangeRadps,
        measured: accelSaturated ? accelMax : gyroMax,
        threshold: accelSaturated ? t.imuAccelRangeMps2 : t.imuGyroRangeRadps,
        unit: accelSaturated ? "m/s²" : "rad/s",
        message: accelSaturated
          ? `acceleration ${accelMax.toFixed(2)} m/s² at the sensor range ${t.imuAccelRangeMps2} m/s²`
          : `angular velocity ${gyroMax.toFixed(3)} rad/s at the sensor range ${t.imuGyroRangeRadps} rad/s`,
      });
    }
    if (!Number.isFinite(accelMax) || !Number.isFinite(gyroMax)) return;
    // Remove gravity with the IMU's own orientation when it reports one (covariance[0] = −1 means none).
    let linear = accel;
    const q = quat(msg.orientation);
    const norm = q ? Math.hypot(q.x, q.y, q.z, q.w) : 0;
    if (q && Math.abs(norm - 1) < 0.01 && (at(msg.orientation_covariance, 0) ?? 0) >= 0) {
      const g = rotate(conj(q), { x: 0, y: 0, z: GRAVITY });
      linear = { x: accel.x - g.x, y: accel.y - g.y, z: accel.z - g.z };
    }
    let bins = this.#bins.get(m.topic);
    if (!bins) {
      bins = new Map();
      this.#bins.set(m.topic, bins);
      this.#frames.set(m.topic, headerOf(m.decoded)?.frameId ?? "");
    }
    const key = Number((m.logTimeNs - this.#originNs) / IMU_BIN_NS);
    let bin = bins.get(key);
    if (!bin) {
      bin = { n: 0, s: new Float64Array(6), firstNs: m.logTimeNs, lastNs: m.logTimeNs };
      bins.set(key, bin);
    }
    bin.n++;
    bin.s[0] = (bin.s[0] as number) + gyro.x;
    bin.s[1] = (bin.s[1] as number) + gyro.y;
    bin.s[2] = (bin.s[2] as number) + gyro.z;
    bin.s[3] = (bin.s[3] as number) + linear.x;
    bin.s[4] = (bin.s[4] as number) + linear.y;
    bin.s[5] = (bin.s[5] as number) + linear.z;
    if (m.logTimeNs < bin.firstNs) bin.firstNs = m.logTimeNs;
    if (m.logTimeNs > bin.lastNs) bin.lastNs = m.logTimeNs;
  }

  #onOdom(m: ScanMessage): void {
    if (this.#odomTopic === undefined) this.#odomTopic = m.topic;
    if (m.topic !== this.#odomTopic) return;
    const twist = obj(obj(obj(m.decoded)?.twist)?.twist);
    const v = num(obj(twist?.linear)?.x);
    const w = num(obj(twist?.angular)?.z);
    if (v === undefined || w === undefined || !Number.isFinite(v) || !Number.isFinite(w)) return;
    const o = this.#odom;
    if (o.n === o.t.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      o.t = grow(o.t);
      o.v = grow(o.v);
      o.w = grow(o.w);
    }
    const tSecs = Number(m.logTimeNs - this.#originNs) / 1e9;
    // Keep odometry sorted (windows arrive in order; a late sample is dropped).
    if (o.n > 0 && tSecs < (o.t[o.n - 1] as number)) return;
    o.t[o.n] = tSecs;
    o.v[o.n] = v;
    o.w[o.n] = w;
    o.n++;
  }

  /** Index of the last odometry sample at or before t, or −1. */
  #odomIndex(tSecs: number): number {
    const o = this.#odom;
    let lo = 0;
    let hi = o.n - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((o.t[mid] as number) <= tSecs) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Speed, its derivative and yaw rate at t, interpolated; undefined without odometry within 0.1 s on both sides. */
  #odomAt(tSecs: number): { v: number; dv: number; w: number } | undefined {
    const o = this.#odom;
    const i = this.#odomIndex(tSecs);
    if (i < 0 || i + 1 >= o.n) return undefined;
    const t0 = o.t[i] as number;
    const t1 = o.t[i + 1] as number;
    if (tSecs - t0 > 0.1 || t1 - tSecs > 0.1 || t1 <= t0) return undefined;
    const f = (tSecs - t0) / (t1 - t0);
    const v = (o.v[i] as number) * (1 - f) + (o.v[i + 1] as number) * f;
    const w = (o.w[i] as number) * (1 - f) + (o.w[i + 1] as number) * f;
    // Derivative over the neighbouring samples (central difference).
    const a = Math.max(0, i - 1);
    const b = Math.min(o.n - 1, i + 2);
    const dt = (o.t[b] as number) - (o.t[a] as number);
    const dv = dt > 0 ? ((o.v[b] as number) - (o.v[a] as number)) / dt : 0;
    return { v, dv, w };
  }

  get hasOdometry(): boolean {
    return this.#odom.n > 1;
  }

  get hasImu(): boolean {
    return this.#bins.size > 0;
  }

  findings(input: ImuFindingsInput): Finding[] {
    const out = this.#events.findings();
    if (!this.hasOdometry) return out;
    const t = this.#thresholds;
    const windowBins = Math.max(2, Math.round((t.imuBiasWindowSecs * 1e9) / Number(IMU_BIN_NS)));
    for (const [topic, bins] of this.#bins) {
      const rotation = input.baseFromImu(this.#frames.get(topic) ?? "");
      const keys = [...bins.keys()].sort((a, b) => a - b);
      // Residual series per axis: [gyro z, accel x, accel y] minus what odometry predicts.
      const series: Array<{ key: number; firstNs: bigint; r: [number, number, number] }> = [];
      for (const key of keys) {
        const bin = bins.get(key) as ImuBin;
        if (bin.n < 3) continue;
        const s = bin.s;
        let gyro: Vec3 = {
          x: (s[0] as number) / bin.n,
          y: (s[1] as number) / bin.n,
          z: (s[2] as number) / bin.n,
        };
        let accel: Vec3 = {
          x: (s[3] as number) / bin.n,
          y: (s[4] as number) / bin.n,
          z: (s[5] as number) / bin.n,
        };
        if (rotation) {
          gyro = rotate(rotation, gyro);
          accel = rotate(rotation, accel);
        }
        const midSecs = (Number(bin.firstNs - this.#originNs) + Number(bin.lastNs - this.#originNs)) / 2e9;
        const odom = this.#odomAt(midSecs);
        if (!odom) continue;
        series.push({
          key,
          firstNs: bin.firstNs,
          r: [gyro.z - odom.w, accel.x - odom.dv, accel.y - odom.v * odom.w],
        });
      }
      const axes = [
        { name: "gyro z", index: 0, threshold: t.imuGyroBiasJumpRadps, unit: "rad/s" },
        { name: "accel x", index: 1, threshold: t.imuAccelBiasJumpMps2, unit: "m/s²" },
        { name: "accel y", index: 2, threshold: t.imuAccelBiasJumpMps2, unit: "m/s²" },
      ] as const;
      for (const axis of axes) {
        out.push(...biasSteps(topic, series, axis, windowBins, bins));
      }
    }
    return out;
  }
}

/** Steps of the mean residual between adjacent windows (within contiguous runs of bins, and across sampling gaps). */
function biasSteps(
  topic: string,
  series: Array<{ key: number; firstNs: bigint; r: [number, number, number] }>,
  axis: { name: string; index: 0 | 1 | 2; threshold: number; unit: string },
  windowBins: number,
  bins: Map<number, ImuBin>,
): Finding[] {
  // Split into segments of consecutive bins.
  const segments: Array<typeof series> = [];
  for (const point of series) {
    const last = segments[segments.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && point.key - prev.key <= 2) last.push(point);
    else segments.push([point]);
  }
  const changes: Array<{ atNs: bigint; step: number }> = [];
  for (const segment of segments) {
    const prefix = new Float64Array(segment.length + 1);
    for (let i = 0; i < segment.length; i++)
      prefix[i + 1] = (prefix[i] as number) + (segment[i] as (typeof series)[number]).r[axis.index];
    const mean = (a: number, b: number) => ((prefix[b] as number) - (prefix[a] as number)) / (b - a);
    let best: { i: number; step: number } | undefined;
    for (let i = windowBins; i + windowBins <= segment.length; i++) {
      const step = mean(i, i + windowBins) - mean(i - windowBins, i);
      if (Math.abs(step) > axis.threshold) {
        if (!best || Math.abs(step) > Math.abs(best.step)) best = { i, step };
      } else if (best) {
        changes.push({ atNs: (segment[best.i] as (typeof series)[number]).firstNs, step: best.step });
        best = undefined;
      }
    }
    if (best) changes.push({ atNs: (segment[best.i] as (typeof series)[number]).firstNs, step: best.step });
  }
  // Across sampling gaps: compare the tail of one segment with the head of the next.
  for (let s = 1; s < segments.length; s++) {
    const a = segments[s - 1] as typeof series;
    const b = segments[s] as typeof series;
    if (a.length < windowBins || b.length < windowBins) continue;
    const tail = a.slice(-windowBins).reduce((sum, p) => sum + p.r[axis.index], 0) / windowBins;
    const head = b.slice(0, windowBins).reduce((sum, p) => sum + p.r[axis.index], 0) / windowBins;
    if (Math.abs(head - tail) > axis.threshold)
      changes.push({ atNs: (b[0] as (typeof series)[number]).firstNs, step: head - tail });
  }
  changes.sort((x, y) => (x.atNs < y.atNs ? -1 : x.atNs > y.atNs ? 1 : 0));
  let lastNs = 0n;
  for (const bin of bins.values()) if (bin.lastNs > lastNs) lastNs = bin.lastNs;
  return changes.map((c, i) => {
    const next = changes[i + 1];
    return {
      check: "imu.biasJump" as const,
      topic,
      startNs: c.atNs,
      endNs: next ? next.atNs : lastNs,
      measured: Math.round(c.step * 1e5) / 1e5,
      threshold: axis.threshold,
      unit: axis.unit,
      count: 1,
      message: `${axis.name} bias steps by ${c.step > 0 ? "+" : ""}${c.step.toFixed(4)} ${axis.unit} (residual against odometry, ${axis.threshold} allowed)`,
    };
  });
}

// ---------------------------------------------------------------- GPS

const EARTH_RADIUS_M = 6_378_137;

/** A jump not yet matched by a jump back: where it started and its offset vector (metres). */
interface OpenJump {
  startNs: bigint;
  lastNs: bigint;
  east: number;
  north: number;
  distanceM: number;
  thresholdM: number;
  count: number;
}

export class GpsProbe {
  readonly #state = new Map<
    string,
    {
      lat0: number;
      lon0: number;
      cosLat0: number;
      last?: { east: number; north: number; logTimeNs: bigint };
      open?: OpenJump;
    }
  >();
  readonly #findings: Finding[] = [];
  readonly #thresholds: QaThresholds;

  constructor(thresholds: QaThresholds) {
    this.#thresholds = thresholds;
  }

  onMessage(m: ScanMessage): void {
    if (m.type !== "sensor_msgs/NavSatFix") return;
    const msg = obj(m.decoded);
    const lat = num(msg?.latitude);
    const lon = num(msg?.longitude);
    const status = num(obj(msg?.status)?.status) ?? 0;
    if (
      lat === undefined ||
      lon === undefined ||
      !Number.isFinite(lat) ||
      !Number.isFinite(lon) ||
      status < 0
    )
      return;
    let state = this.#state.get(m.topic);
    if (!state) {
      state = { lat0: lat, lon0: lon, cosLat0: Math.cos((lat * Math.PI) / 180) };
      this.#state.set(m.topic, state);
    }
    const east = (((lon - state.lon0) * Math.PI) / 180) * EARTH_RADIUS_M * state.cosLat0;
    const north = (((lat - state.lat0) * Math.PI) / 180) * EARTH_RADIUS_M;
    const last = state.last;
    state.last = { east, north, logTimeNs: m.logTimeNs };
    if (!last) return;
    const dtSecs = Number(m.logTimeNs - last.logTimeNs) / 1e9;
    const de = east - last.east;
    const dn = north - last.north;
    const distanceM = Math.hypot(de, dn);
    const t = this.#thresholds;
    const thresholdM = t.gpsMinJumpM + t.gpsMaxSpeedMps * dtSecs;
    const open = state.open;
    if (distanceM > thresholdM) {
      // A jump back (roughly cancelling the open one) closes it; anything else opens a new one.
      if (open && Math.hypot(de + open.east, dn + open.north) < 0.5 * Math.hypot(open.east, open.north)) {
        this.#close(m.topic, open);
        state.open = undefined;
        return;
      }
      if (open) this.#close(m.topic, open);
      state.open = {
        startNs: m.logTimeNs,
        lastNs: m.logTimeNs,
        east: de,
        north: dn,
        distanceM,
        thresholdM,
        count: 1,
      };
      return;
    }
    if (open) {
      open.lastNs = m.logTimeNs;
      open.count++;
    }
  }

  #close(topic: string, open: OpenJump): void {
    this.#findings.push({
      check: "gps.jump",
      topic,
      startNs: open.startNs,
      endNs: open.lastNs,
      measured: Math.round(open.distanceM * 1000) / 1000,
      threshold: Math.round(open.thresholdM * 1000) / 1000,
      unit: "m",
      count: open.count,
      message: `fix jumps ${open.distanceM.toFixed(2)} m (east ${open.east.toFixed(2)}, north ${open.north.toFixed(2)}); ${open.count} fixes off track`,
    });
  }

  findings(): Finding[] {
    const out = [...this.#findings];
    for (const [topic, state] of this.#state) {
      const open = state.open;
      if (!open) continue;
      out.push({
        check: "gps.jump",
        topic,
        startNs: open.startNs,
        endNs: state.last?.logTimeNs ?? open.lastNs,
        measured: Math.round(open.distanceM * 1000) / 1000,
        threshold: Math.round(open.thresholdM * 1000) / 1000,
        unit: "m",
        count: open.count,
        message: `fix jumps ${open.distanceM.toFixed(2)} m and does not come back`,
      });
    }
    return out;
  }
}
