/**
 * Injected faults: each is planned from the seed and the capture length, then applied by the
 * generator while writing. Windows scale with the capture so that short captures carry them too.
 * Times here are generator ticks (5 ms, the IMU period) from the capture start.
 */
import { forkRng } from "./rng.ts";

export const FAULT_KINDS = [
  "calib-drift",
  "lidar-dropout",
  "camera-skew",
  "epoch0",
  "duplicates",
  "imu-bias",
  "gps-jump",
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export const TICKS_PER_SEC = 200;
/** Scans, camera frames and GPS fixes come every 20 ticks (10 Hz). */
export const FRAME_TICKS = 20;

export interface FaultPlan {
  calibDrift?: { tick: number; angleRad: number; axisInBase: { x: number; y: number; z: number } };
  /** Scans whose tick is in [startTick, endTick) are not written. */
  lidarDropout?: { startTick: number; endTick: number };
  /** camera_front messages with tick in [startTick, endTick) carry header stamp = log time + offsetNs. */
  cameraSkew?: { startTick: number; endTick: number; offsetNs: bigint };
  /** Header stamps of 0 on single messages. */
  epoch0?: { imuTicks: number[]; gpsTicks: number[] };
  /** Every /imu and /odom message with tick in [startTick, endTick) is written twice. */
  duplicates?: { startTick: number; endTick: number };
  /** From `tick` on, the IMU's biases jump by these amounts. */
  imuBias?: { tick: number; accelXMps2: number; gyroZRadps: number };
  /** GPS fixes with tick in [startTick, endTick) are offset by (east, north) metres. */
  gpsJump?: { startTick: number; endTick: number; eastM: number; northM: number };
}

export function isFaultKind(value: string): value is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(value);
}

export function planFaults(seed: number, durationSecs: number, faults: readonly FaultKind[]): FaultPlan {
  const rng = forkRng(seed, "faults");
  const total = Math.round(durationSecs * TICKS_PER_SEC);
  const at = (fraction: number, phase: number): number => {
    const tick = Math.floor((total * fraction) / FRAME_TICKS) * FRAME_TICKS + phase;
    return Math.max(phase, Math.min(total - FRAME_TICKS + phase, tick));
  };
  const seconds = (secs: number): number =>
    Math.max(FRAME_TICKS, Math.round((secs * TICKS_PER_SEC) / FRAME_TICKS) * FRAME_TICKS);
  // Draw every fault's numbers whether or not it is enabled, so enabling one does not move another.
  const drift = { f: rng.range(0.45, 0.55), angleDeg: rng.range(1.5, 3), tilt: rng.range(-0.3, 0.3) };
  const dropout = { f: rng.range(0.25, 0.35), secs: Math.min(2.5, 0.15 * durationSecs) };
  const skew = {
    f: rng.range(0.55, 0.62),
    secs: Math.min(5, 0.2 * durationSecs),
    ms: rng.range(100, 250),
    sign: rng.chance(0.5) ? 1 : -1,
  };
  const epoch = {
    imu: [0, 1, 2, 3, 4].map(() => rng.range(0.1, 0.9)),
    gps: [0, 1, 2, 3, 4].map(() => rng.range(0.1, 0.9)),
  };
  const dup = { f: rng.range(0.68, 0.72), secs: Math.min(2, 0.1 * durationSecs) };
  const bias = {
    f: rng.range(0.38, 0.42),
    accel: rng.range(0.3, 0.6) * (rng.chance(0.5) ? 1 : -1),
    gyro: rng.range(0.01, 0.03) * (rng.chance(0.5) ? 1 : -1),
  };
  const jump = {
    f: rng.range(0.78, 0.82),
    secs: Math.min(3, 0.12 * durationSecs),
    metres: rng.range(15, 40),
    bearing: rng.range(0, 2 * Math.PI),
  };

  const plan: FaultPlan = {};
  const on = new Set(faults);
  if (on.has("calib-drift")) {
    const norm = Math.hypot(drift.tilt, 1);
    plan.calibDrift = {
      tick: at(drift.f, 4),
      angleRad: (Math.round(drift.angleDeg * 1000) / 1000) * (Math.PI / 180),
      axisInBase: { x: 0, y: drift.tilt / norm, z: 1 / norm },
    };
  }
  if (on.has("lidar-dropout")) {
    const start = at(dropout.f, 0);
    plan.lidarDropout = {
      startTick: start,
      endTick: Math.min(total, start + Math.max(3 * FRAME_TICKS, seconds(dropout.secs))),
    };
  }
  if (on.has("camera-skew")) {
    const start = at(skew.f, 0);
    plan.cameraSkew = {
      startTick: start,
      endTick: Math.min(total, start + seconds(skew.secs)),
      offsetNs: BigInt(skew.sign * Math.round(skew.ms)) * 1_000_000n,
    };
  }
  if (on.has("epoch0")) {
    const uniq = (ticks: number[]): number[] => [...new Set(ticks)].sort((a, b) => a - b);
    plan.epoch0 = {
      imuTicks: uniq(epoch.imu.map((f) => Math.min(total - 1, Math.round(total * f)))),
      gpsTicks: uniq(epoch.gps.map((f) => at(f, 12))),
    };
  }
  if (on.has("duplicates")) {
    const start = at(dup.f, 0);
    plan.duplicates = { startTick: start, endTick: Math.min(total, start + seconds(dup.secs)) };
  }
  if (on.has("imu-bias"))
    plan.imuBias = { tick: at(bias.f, 0), accelXMps2: round(bias.accel, 4), gyroZRadps: round(bias.gyro, 5) };
  if (on.has("gps-jump")) {
    const start = at(jump.f, 0);
    const metres = round(jump.metres, 2);
    plan.gpsJump = {
      startTick: start,
      endTick: Math.min(total, start + seconds(jump.secs)),
      eastM: round(metres * Math.cos(jump.bearing), 3),
      northM: round(metres * Math.sin(jump.bearing), 3),
    };
  }
  return plan;
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;
