/**
 * The ego's motion on a uniform time grid: position and unwrapped yaw of the base frame in the trajectory's
 * fixed frame, and the signals scenes are described by (longitudinal speed, acceleration, jerk, yaw rate).
 *
 * Built from a stored or collected pose trajectory: positions and yaw are interpolated linearly onto the
 * grid, derivatives are central differences over ±`derivativeHalfWindowSecs` (one-sided at the ends), which
 * smooths sensor noise without shifting events in time.
 */
import { StrataError } from "../../core/index.ts";
import type { PoseTrajectory } from "../registry/index.ts";

export interface EgoSeries {
  /** Where the poses came from (`tf:odom->base_link`, `odom:/odom`, …) and the fixed frame they are in. */
  readonly source: string;
  readonly frame: string;
  readonly periodNs: bigint;
  /** Sample i is at `startNs + i·periodNs`. */
  readonly startNs: bigint;
  readonly length: number;
  /** Base-frame position in `frame` (m). */
  readonly xM: Float64Array;
  readonly yM: Float64Array;
  /** Yaw of the base frame in `frame`, unwrapped (continuous, rad). */
  readonly yawRad: Float64Array;
  /** Velocity along the base frame's x axis (m/s; negative when reversing). */
  readonly speedMps: Float64Array;
  readonly accelMps2: Float64Array;
  readonly jerkMps3: Float64Array;
  readonly yawRateRadps: Float64Array;
}

export interface EgoSeriesOptions {
  /** Grid period. Default 0.1 s. */
  periodSecs?: number;
  /** Half width of the central differences. Default 0.2 s. */
  derivativeHalfWindowSecs?: number;
}

export function yawOfQuat(qx: number, qy: number, qz: number, qw: number): number {
  return Math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz));
}

/** Wraps an angle to (−π, π]. */
export function wrapAngle(rad: number): number {
  let a = rad % (2 * Math.PI);
  if (a <= -Math.PI) a += 2 * Math.PI;
  if (a > Math.PI) a -= 2 * Math.PI;
  return a;
}

/** Central differences of `values` over ±k samples (one-sided at the ends), per second. */
function derivative(values: Float64Array, k: number, periodSecs: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  if (n < 2) return out;
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - k);
    const hi = Math.min(n - 1, i + k);
    out[i] = ((values[hi] as number) - (values[lo] as number)) / ((hi - lo) * periodSecs);
  }
  return out;
}

/** Resamples a pose trajectory (which must carry ns stamps) onto a uniform grid and derives the signals. */
export function egoSeriesFromTrajectory(
  trajectory: PoseTrajectory,
  origin: { source: string; frame: string },
  options: EgoSeriesOptions = {},
): EgoSeries {
  const periodSecs = options.periodSecs ?? 0.1;
  const halfWindowSecs = options.derivativeHalfWindowSecs ?? 0.2;
  if (!(periodSecs > 0) || !(halfWindowSecs > 0)) {
    throw new StrataError("STRATA_E_USAGE", "ego sampling: period and derivative window must be positive");
  }
  const stamps = trajectory.timestampsNs;
  const n = trajectory.timestampsSecs.length;
  if (!stamps || n === 0) {
    throw new StrataError("STRATA_E_NOT_FOUND", `ego trajectory ${origin.source} has no stamped poses`);
  }
  const periodNs = BigInt(Math.round(periodSecs * 1e9));
  const startNs = stamps[0] as bigint;
  const endNs = stamps[n - 1] as bigint;
  const length = Number((endNs - startNs) / periodNs) + 1;

  // Unwrapped yaw of every pose.
  const poseYaw = new Float64Array(n);
  const q = trajectory.orientations;
  let previous = 0;
  for (let i = 0; i < n; i++) {
    const yaw = yawOfQuat(
      q[4 * i] as number,
      q[4 * i + 1] as number,
      q[4 * i + 2] as number,
      q[4 * i + 3] as number,
    );
    const unwrapped = i === 0 ? yaw : previous + wrapAngle(yaw - previous);
    poseYaw[i] = unwrapped;
    previous = unwrapped;
  }

  const xM = new Float64Array(length);
  const yM = new Float64Array(length);
  const yawRad = new Float64Array(length);
  const p = trajectory.positions;
  let j = 0;
  for (let i = 0; i < length; i++) {
    const tNs = startNs + BigInt(i) * periodNs;
    while (j < n - 2 && (stamps[j + 1] as bigint) <= tNs) j++;
    const t0 = stamps[j] as bigint;
    const t1 = stamps[Math.min(j + 1, n - 1)] as bigint;
    const f = t1 > t0 ? Math.min(1, Math.max(0, Number(tNs - t0) / Number(t1 - t0))) : 0;
    const j1 = Math.min(j + 1, n - 1);
    xM[i] = (p[3 * j] as number) + f * ((p[3 * j1] as number) - (p[3 * j] as number));
    yM[i] = (p[3 * j + 1] as number) + f * ((p[3 * j1 + 1] as number) - (p[3 * j + 1] as number));
    yawRad[i] = (poseYaw[j] as number) + f * ((poseYaw[j1] as number) - (poseYaw[j] as number));
  }

  const k = Math.max(1, Math.round(halfWindowSecs / periodSecs));
  const vx = derivative(xM, k, periodSecs);
  const vy = derivative(yM, k, periodSecs);
  const speedMps = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const yaw = yawRad[i] as number;
    speedMps[i] = (vx[i] as number) * Math.cos(yaw) + (vy[i] as number) * Math.sin(yaw);
  }
  const accelMps2 = derivative(speedMps, k, periodSecs);
  const jerkMps3 = derivative(accelMps2, k, periodSecs);
  const yawRateRadps = derivative(yawRad, k, periodSecs);
  return {
    source: origin.source,
    frame: origin.frame,
    periodNs,
    startNs,
    length,
    xM,
    yM,
    yawRad,
    speedMps,
    accelMps2,
    jerkMps3,
    yawRateRadps,
  };
}

/** Index range [first, last] of the samples within [startNs, endNs]; undefined when none. */
export function sampleRange(ego: EgoSeries, startNs: bigint, endNs: bigint): [number, number] | undefined {
  const first = Math.max(0, Math.ceil(Number(startNs - ego.startNs) / Number(ego.periodNs)));
  const last = Math.min(ego.length - 1, Math.floor(Number(endNs - ego.startNs) / Number(ego.periodNs)));
  return first <= last ? [first, last] : undefined;
}

export function sampleTimeNs(ego: EgoSeries, index: number): bigint {
  return ego.startNs + BigInt(index) * ego.periodNs;
}

/** The sample nearest to a time (clamped to the series). */
export function nearestSample(ego: EgoSeries, tNs: bigint): number {
  const i = Math.round(Number(tNs - ego.startNs) / Number(ego.periodNs));
  return Math.max(0, Math.min(ego.length - 1, i));
}
