/**
 * Pose trajectories and the TUM / KITTI / EuRoC text formats, following evo's file conventions
 * (evo `tools/file_interface.py`): TUM `t x y z qx qy qz qw` (quaternion xyzw, `#` comment lines), KITTI
 * 12 numbers per line (3×4 row-major `[R|t]`, no timestamps), EuRoC ground-truth CSV (17 columns,
 * timestamp in integer ns, quaternion **wxyz**).
 *
 * Time base: association must reproduce evo exactly, and evo compares float64 seconds (EuRoC ns are
 * divided by 1e9, bag stamps are `sec + nsec·1e-9`). So a trajectory carries `timestampsSecs` (float64) as
 * its association clock, plus the exact integer `timestampsNs` when the source had them.
 */
import type { Quat, Vec3 } from "../../core/index.ts";
import { quatFromMat3, StrataError, writeRotationFromQuat } from "../../core/index.ts";

export type TrajectoryFormat = "tum" | "kitti" | "euroc";

export interface PoseTrajectory {
  /** Association clock, float64 seconds (evo's convention); for `timeBase: "index"` the pose index. */
  readonly timestampsSecs: Float64Array;
  /** Exact stamps (ns since the Unix epoch) when the source had integer stamps (EuRoC CSV, logs). */
  readonly timestampsNs?: BigInt64Array;
  /** `"index"`: the source had no time (KITTI without a times file); poses pair up by index. */
  readonly timeBase: "seconds" | "index";
  /** Positions, `3·n` (x, y, z) in metres, of the body frame in the trajectory's fixed frame. */
  readonly positions: Float64Array;
  /** Orientations, `4·n` unit quaternions (x, y, z, w). */
  readonly orientations: Float64Array;
  /**
   * Rotation matrices, `9·n` row-major, when the source gave matrices (KITTI) or after an alignment.
   * Metrics use them as given (like evo's `poses_se3`), so 9-digit KITTI matrices are not re-orthonormalized.
   */
  readonly rotations?: Float64Array;
  /** Fixed frame the poses are expressed in, when known. */
  readonly frameId?: string;
}

/** A stamped pose as decoded from a log (`geometry_msgs/PoseStamped`, odometry, TF). */
export interface StampedPose {
  stampNs: bigint;
  translation: Vec3;
  rotation: Quat;
}

export const poseCount = (t: PoseTrajectory): number => t.timestampsSecs.length;

/** evo's float seconds of a ROS stamp: `sec + nsec · 1e-9`. */
export function evoSecsFromNs(stampNs: bigint): number {
  const sec = stampNs / 1_000_000_000n;
  let nsec = stampNs % 1_000_000_000n;
  let whole = sec;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    whole -= 1n;
  }
  return Number(whole) + Number(nsec) * 1e-9;
}

/** Checks array lengths and returns the trajectory (throws a coded error on mismatch). */
export function createTrajectory(t: PoseTrajectory): PoseTrajectory {
  const n = t.timestampsSecs.length;
  const ok =
    t.positions.length === 3 * n &&
    t.orientations.length === 4 * n &&
    (t.rotations === undefined || t.rotations.length === 9 * n) &&
    (t.timestampsNs === undefined || t.timestampsNs.length === n);
  if (!ok) {
    throw new StrataError("STRATA_E_TRAJECTORY_FORMAT", `array lengths do not match ${n} poses`);
  }
  return t;
}

/** Builds a trajectory from decoded stamped poses (in the given order). */
export function trajectoryFromStampedPoses(poses: Iterable<StampedPose>, frameId?: string): PoseTrajectory {
  const list = Array.isArray(poses) ? (poses as StampedPose[]) : [...poses];
  const n = list.length;
  const timestampsSecs = new Float64Array(n);
  const timestampsNs = new BigInt64Array(n);
  const positions = new Float64Array(3 * n);
  const orientations = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const p = list[i] as StampedPose;
    timestampsNs[i] = p.stampNs;
    timestampsSecs[i] = evoSecsFromNs(p.stampNs);
    positions[3 * i] = p.translation.x;
    positions[3 * i + 1] = p.translation.y;
    positions[3 * i + 2] = p.translation.z;
    orientations[4 * i] = p.rotation.x;
    orientations[4 * i + 1] = p.rotation.y;
    orientations[4 * i + 2] = p.rotation.z;
    orientations[4 * i + 3] = p.rotation.w;
  }
  return {
    timestampsSecs,
    timestampsNs,
    timeBase: "seconds",
    positions,
    orientations,
    ...(frameId ? { frameId } : {}),
  };
}

const rotationCache = new WeakMap<PoseTrajectory, Float64Array>();

/**
 * Rotation matrices (`9·n`, row-major) of a trajectory: the stored ones, else computed from the
 * quaternions once per trajectory object (trajectories are treated as immutable values).
 */
export function rotationMatricesOf(t: PoseTrajectory): Float64Array {
  if (t.rotations) return t.rotations;
  const cached = rotationCache.get(t);
  if (cached) return cached;
  const n = poseCount(t);
  const out = new Float64Array(9 * n);
  const q = t.orientations;
  for (let i = 0; i < n; i++) {
    writeRotationFromQuat(
      q[4 * i] as number,
      q[4 * i + 1] as number,
      q[4 * i + 2] as number,
      q[4 * i + 3] as number,
      out,
      9 * i,
    );
  }
  rotationCache.set(t, out);
  return out;
}

/** Unit quaternions (`4·n`, xyzw, w ≥ 0) of row-major rotation matrices (`9·n`). */
export function quatsFromRotations(rotations: Float64Array): Float64Array {
  const n = rotations.length / 9;
  const out = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const q = quatFromMat3(rotations, 9 * i);
    out[4 * i] = q.x;
    out[4 * i + 1] = q.y;
    out[4 * i + 2] = q.z;
    out[4 * i + 3] = q.w;
  }
  return out;
}

/** The poses at `indices`, in that order (evo's `reduce_to_ids`). */
export function selectPoses(t: PoseTrajectory, indices: ArrayLike<number>): PoseTrajectory {
  const n = indices.length;
  const srcT = t.timestampsSecs;
  const srcNs = t.timestampsNs;
  const srcP = t.positions;
  const srcQ = t.orientations;
  const srcR = t.rotations;
  const timestampsSecs = new Float64Array(n);
  const positions = new Float64Array(3 * n);
  const orientations = new Float64Array(4 * n);
  const timestampsNs = srcNs ? new BigInt64Array(n) : undefined;
  const rotations = srcR ? new Float64Array(9 * n) : undefined;
  // Associated indices mostly come in runs of consecutive poses (two streams at the same rate): a run is
  // copied as one block, short runs pose by pose.
  let k = 0;
  while (k < n) {
    const first = indices[k] as number;
    let end = k + 1;
    while (end < n && (indices[end] as number) === first + (end - k)) end++;
    const count = end - k;
    if (count >= MIN_BLOCK_COPY) {
      const last = first + count;
      timestampsSecs.set(srcT.subarray(first, last), k);
      positions.set(srcP.subarray(3 * first, 3 * last), 3 * k);
      orientations.set(srcQ.subarray(4 * first, 4 * last), 4 * k);
      if (timestampsNs && srcNs) timestampsNs.set(srcNs.subarray(first, last), k);
      if (rotations && srcR) rotations.set(srcR.subarray(9 * first, 9 * last), 9 * k);
    } else {
      for (let c = k; c < end; c++) {
        const i = first + (c - k);
        timestampsSecs[c] = srcT[i] as number;
        positions[3 * c] = srcP[3 * i] as number;
        positions[3 * c + 1] = srcP[3 * i + 1] as number;
        positions[3 * c + 2] = srcP[3 * i + 2] as number;
        orientations[4 * c] = srcQ[4 * i] as number;
        orientations[4 * c + 1] = srcQ[4 * i + 1] as number;
        orientations[4 * c + 2] = srcQ[4 * i + 2] as number;
        orientations[4 * c + 3] = srcQ[4 * i + 3] as number;
        if (timestampsNs && srcNs) timestampsNs[c] = srcNs[i] as bigint;
        if (rotations && srcR) for (let e = 0; e < 9; e++) rotations[9 * c + e] = srcR[9 * i + e] as number;
      }
    }
    k = end;
  }
  return {
    timestampsSecs,
    timeBase: t.timeBase,
    positions,
    orientations,
    ...(timestampsNs ? { timestampsNs } : {}),
    ...(rotations ? { rotations } : {}),
    ...(t.frameId ? { frameId: t.frameId } : {}),
  };
}

/** Shortest run of consecutive indices that `selectPoses` copies as a block rather than pose by pose. */
const MIN_BLOCK_COPY = 16;

// ---------------------------------------------------------------- parsing helpers

export interface ParseOptions {
  /** Names the input in error messages (a file path or topic). */
  source?: string;
}

const decoder = new TextDecoder();
const asText = (input: string | Uint8Array): string =>
  typeof input === "string" ? input : decoder.decode(input);

/** One data row: field `k` is `text.slice(starts[k], ends[k])`. */
interface Row {
  text: string;
  starts: Int32Array;
  ends: Int32Array;
  line: number;
}

/**
 * Data rows of a text trajectory: blank lines and lines whose first non-blank character is `#` are skipped
 * (evo skips `#` lines; it would reject blank ones, Strata tolerates them). Scans the text once without
 * splitting it; calls `onRow` with field bounds.
 */
function forEachRow(
  text: string,
  separator: "whitespace" | ",",
  expectedFields: number,
  format: string,
  opts: ParseOptions,
  onRow: (row: Row) => void,
): void {
  const row: Row = {
    text,
    starts: new Int32Array(expectedFields),
    ends: new Int32Array(expectedFields),
    line: 0,
  };
  const { starts, ends } = row;
  const comma = separator === ",";
  const length = text.length;
  let pos = 0;
  let lineNumber = 0;
  while (pos < length) {
    lineNumber++;
    let end = text.indexOf("\n", pos);
    if (end === -1) end = length;
    let i = pos;
    pos = end + 1;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    if (i === end || text.charCodeAt(i) === 35 /* # */) continue;
    let count = 0;
    if (comma) {
      let start = i;
      for (let k = i; k <= end; k++) {
        if (k === end || text.charCodeAt(k) === 44) {
          if (count < expectedFields) {
            starts[count] = start;
            ends[count] = k;
          }
          count++;
          start = k + 1;
        }
      }
    } else {
      while (i < end) {
        const start = i;
        while (i < end && !isBlank(text.charCodeAt(i))) i++;
        if (count < expectedFields) {
          starts[count] = start;
          ends[count] = i;
        }
        count++;
        while (i < end && isBlank(text.charCodeAt(i))) i++;
      }
    }
    if (count !== expectedFields) {
      throw formatError(
        `${format} rows have ${expectedFields} entries, line ${lineNumber} has ${count}`,
        opts,
        lineNumber,
      );
    }
    row.line = lineNumber;
    onRow(row);
  }
}

/** Space, tab, CR, vertical tab, form feed. */
const isBlank = (c: number): boolean => c === 32 || c === 9 || c === 13 || c === 11 || c === 12;

function formatError(detail: string, opts: ParseOptions, line?: number): StrataError {
  return new StrataError("STRATA_E_TRAJECTORY_FORMAT", detail, {
    ...(opts.source !== undefined ? { file: opts.source } : {}),
    ...(line !== undefined ? { line } : {}),
  });
}

/** Field `index` as a number: `Number()` of its text (exact, correctly rounded); an empty field is an error. */
function numberAt(row: Row, index: number, opts: ParseOptions): number {
  const raw = row.text.slice(row.starts[index] as number, row.ends[index] as number);
  const value = Number(raw);
  if (Number.isNaN(value) || (value === 0 && raw.trim() === "")) {
    const text = raw.trim();
    if (text !== "nan" && text !== "NaN") {
      throw formatError(`line ${row.line}, column ${index + 1}: "${text}" is not a number`, opts, row.line);
    }
  }
  return value;
}

/** Growable float64 column (amortized doubling) so parsing streams without an intermediate array of rows. */
class Column {
  data: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
  take(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

const WHITESPACE = "whitespace" as const;

// ---------------------------------------------------------------- TUM

/** Parses a TUM trajectory (`timestamp tx ty tz qx qy qz qw`, seconds, quaternion xyzw). */
export function parseTum(input: string | Uint8Array, opts: ParseOptions = {}): PoseTrajectory {
  const stamps = new Column();
  const positions = new Column();
  const orientations = new Column();
  forEachRow(asText(input), WHITESPACE, 8, "TUM", opts, (row) => {
    stamps.push(numberAt(row, 0, opts));
    for (let k = 1; k < 4; k++) positions.push(numberAt(row, k, opts));
    for (let k = 4; k < 8; k++) orientations.push(numberAt(row, k, opts));
  });
  return {
    timestampsSecs: stamps.take(),
    timeBase: "seconds",
    positions: positions.take(),
    orientations: orientations.take(),
  };
}

/** Writes TUM text; numbers in shortest round-trip form, so parse(write(t)) is bit-exact. */
export function writeTum(t: PoseTrajectory): string {
  const n = poseCount(t);
  const p = t.positions;
  const q = t.orientations;
  const lines: string[] = ["# timestamp tx ty tz qx qy qz qw"];
  for (let i = 0; i < n; i++) {
    lines.push(
      `${t.timestampsSecs[i]} ${p[3 * i]} ${p[3 * i + 1]} ${p[3 * i + 2]} ${q[4 * i]} ${q[4 * i + 1]} ${q[4 * i + 2]} ${q[4 * i + 3]}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------- KITTI

export interface KittiParseOptions extends ParseOptions {
  /** Contents of a KITTI `times.txt` (one time in seconds per line); without it poses are timed by index. */
  times?: string | Uint8Array;
}

/** Parses KITTI poses (12 numbers per line: the 3×4 row-major `[R|t]` of `worldFromCamera`). */
export function parseKitti(input: string | Uint8Array, opts: KittiParseOptions = {}): PoseTrajectory {
  const rotations = new Column();
  const positions = new Column();
  forEachRow(asText(input), WHITESPACE, 12, "KITTI", opts, (row) => {
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) rotations.push(numberAt(row, 4 * r + c, opts));
      positions.push(numberAt(row, 4 * r + 3, opts));
    }
  });
  const rot = rotations.take();
  const n = rot.length / 9;
  const orientations = quatsFromRotations(rot);
  let timestampsSecs: Float64Array;
  let timeBase: "seconds" | "index" = "index";
  if (opts.times !== undefined) {
    timestampsSecs = parseKittiTimes(opts.times, { source: `${opts.source ?? "KITTI"} times` });
    if (timestampsSecs.length !== n) {
      throw formatError(`the times file has ${timestampsSecs.length} lines for ${n} poses`, opts);
    }
    timeBase = "seconds";
  } else {
    timestampsSecs = new Float64Array(n);
    for (let i = 0; i < n; i++) timestampsSecs[i] = i;
  }
  return { timestampsSecs, timeBase, positions: positions.take(), orientations, rotations: rot };
}

/** Parses a KITTI `times.txt`: one timestamp (seconds) per line. */
export function parseKittiTimes(input: string | Uint8Array, opts: ParseOptions = {}): Float64Array {
  const stamps = new Column();
  forEachRow(asText(input), WHITESPACE, 1, "KITTI times", opts, (row) => stamps.push(numberAt(row, 0, opts)));
  return stamps.take();
}

/** Writes KITTI poses (the stored rotation matrices when present, else from the quaternions). */
export function writeKitti(t: PoseTrajectory): string {
  const n = poseCount(t);
  const r = rotationMatricesOf(t);
  const p = t.positions;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const o = 9 * i;
    lines.push(
      `${r[o]} ${r[o + 1]} ${r[o + 2]} ${p[3 * i]} ${r[o + 3]} ${r[o + 4]} ${r[o + 5]} ${p[3 * i + 1]} ${r[o + 6]} ${r[o + 7]} ${r[o + 8]} ${p[3 * i + 2]}`,
    );
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** Writes a KITTI `times.txt` for the trajectory's timestamps. */
export function writeKittiTimes(t: PoseTrajectory): string {
  return Array.from(t.timestampsSecs, (s) => `${s}\n`).join("");
}

// ---------------------------------------------------------------- EuRoC

const EUROC_HEADER =
  "#timestamp, p_RS_R_x [m], p_RS_R_y [m], p_RS_R_z [m], q_RS_w [], q_RS_x [], q_RS_y [], q_RS_z [], v_RS_R_x [m s^-1], v_RS_R_y [m s^-1], v_RS_R_z [m s^-1], b_w_RS_S_x [rad s^-1], b_w_RS_S_y [rad s^-1], b_w_RS_S_z [rad s^-1], b_a_RS_S_x [m s^-2], b_a_RS_S_y [m s^-2], b_a_RS_S_z [m s^-2]";

/**
 * Parses EuRoC MAV ground truth (`state_groundtruth_estimate0/data.csv`): 17 comma-separated columns,
 * timestamp in ns, position, quaternion **w, x, y, z**, then velocity and biases (ignored). Seconds are
 * `ns / 1e9` in float64 as evo computes them.
 */
export function parseEurocCsv(input: string | Uint8Array, opts: ParseOptions = {}): PoseTrajectory {
  const stamps = new Column();
  const stampsNs: bigint[] = [];
  const positions = new Column();
  const orientations = new Column();
  let exactNs = true;
  forEachRow(asText(input), ",", 17, "EuRoC CSV", opts, (row) => {
    const stampText = row.text.slice(row.starts[0] as number, row.ends[0] as number).trim();
    stamps.push(numberAt(row, 0, opts) / 1e9);
    if (exactNs && /^-?\d+$/.test(stampText)) stampsNs.push(BigInt(stampText));
    else exactNs = false;
    for (let k = 1; k < 4; k++) positions.push(numberAt(row, k, opts));
    const w = numberAt(row, 4, opts);
    for (let k = 5; k < 8; k++) orientations.push(numberAt(row, k, opts));
    orientations.push(w);
  });
  const timestampsSecs = stamps.take();
  return {
    timestampsSecs,
    ...(exactNs ? { timestampsNs: BigInt64Array.from(stampsNs) } : {}),
    timeBase: "seconds",
    positions: positions.take(),
    orientations: orientations.take(),
  };
}

/**
 * Writes EuRoC ground-truth CSV. Velocity and IMU-bias columns are not part of a pose trajectory and are
 * written as 0. Timestamps use the exact `timestampsNs` when present, else `round(secs · 1e9)`.
 */
export function writeEurocCsv(t: PoseTrajectory): string {
  const n = poseCount(t);
  const p = t.positions;
  const q = t.orientations;
  const lines: string[] = [EUROC_HEADER];
  for (let i = 0; i < n; i++) {
    const ns = t.timestampsNs
      ? (t.timestampsNs[i] as bigint)
      : BigInt(Math.round((t.timestampsSecs[i] as number) * 1e9));
    lines.push(
      `${ns},${p[3 * i]},${p[3 * i + 1]},${p[3 * i + 2]},${q[4 * i + 3]},${q[4 * i]},${q[4 * i + 1]},${q[4 * i + 2]},0,0,0,0,0,0,0,0,0`,
    );
  }
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------- dispatch

export function parseTrajectory(
  input: string | Uint8Array,
  format: TrajectoryFormat,
  opts: KittiParseOptions = {},
): PoseTrajectory {
  switch (format) {
    case "tum":
      return parseTum(input, opts);
    case "kitti":
      return parseKitti(input, opts);
    case "euroc":
      return parseEurocCsv(input, opts);
  }
}

export function writeTrajectory(t: PoseTrajectory, format: TrajectoryFormat): string {
  switch (format) {
    case "tum":
      return writeTum(t);
    case "kitti":
      return writeKitti(t);
    case "euroc":
      return writeEurocCsv(t);
  }
}
