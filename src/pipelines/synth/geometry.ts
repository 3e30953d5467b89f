/**
 * Small rotation helpers for the generator's rig and renderer (named-field matrices for hot loops).
 * Geodetic conversions come from core. A `Transform` named `aFromB` maps points expressed
 * in frame B into frame A: p_a = R p_b + t.
 */

import type { Quat, Vec3 } from "../../core/index.ts";

export type { Quat, Vec3 };

/** Row-major 3×3 rotation. */
export interface Mat3 {
  m00: number;
  m01: number;
  m02: number;
  m10: number;
  m11: number;
  m12: number;
  m20: number;
  m21: number;
  m22: number;
}

export interface Transform {
  translation: Vec3;
  rotation: Quat;
}

export const vec3 = (x: number, y: number, z: number): Vec3 => ({ x, y, z });

/** Intrinsic Z-Y-X (yaw, then pitch, then roll) as used by ROS `tf2::Quaternion::setRPY`. */
export function quatFromRpy(roll: number, pitch: number, yaw: number): Quat {
  const cr = Math.cos(roll / 2);
  const sr = Math.sin(roll / 2);
  const cp = Math.cos(pitch / 2);
  const sp = Math.sin(pitch / 2);
  const cy = Math.cos(yaw / 2);
  const sy = Math.sin(yaw / 2);
  return {
    w: cr * cp * cy + sr * sp * sy,
    x: sr * cp * cy - cr * sp * sy,
    y: cr * sp * cy + sr * cp * sy,
    z: cr * cp * sy - sr * sp * cy,
  };
}

export const quatFromYaw = (yaw: number): Quat => ({
  x: 0,
  y: 0,
  z: Math.sin(yaw / 2),
  w: Math.cos(yaw / 2),
});

/** Rotation by `angleRad` about the unit axis. */
export function quatFromAxisAngle(axis: Vec3, angleRad: number): Quat {
  const n = Math.hypot(axis.x, axis.y, axis.z);
  const s = Math.sin(angleRad / 2) / n;
  return { x: axis.x * s, y: axis.y * s, z: axis.z * s, w: Math.cos(angleRad / 2) };
}

export function quatMultiply(a: Quat, b: Quat): Quat {
  return {
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
  };
}

export function matFromQuat(q: Quat): Mat3 {
  const n = Math.hypot(q.x, q.y, q.z, q.w);
  const x = q.x / n;
  const y = q.y / n;
  const z = q.z / n;
  const w = q.w / n;
  return {
    m00: 1 - 2 * (y * y + z * z),
    m01: 2 * (x * y - z * w),
    m02: 2 * (x * z + y * w),
    m10: 2 * (x * y + z * w),
    m11: 1 - 2 * (x * x + z * z),
    m12: 2 * (y * z - x * w),
    m20: 2 * (x * z - y * w),
    m21: 2 * (y * z + x * w),
    m22: 1 - 2 * (x * x + y * y),
  };
}

/** A rotation matrix back to a unit quaternion (Shepperd's method), with w ≥ 0. */
export function quatFromMat(m: Mat3): Quat {
  const trace = m.m00 + m.m11 + m.m22;
  let q: Quat;
  if (trace > 0) {
    const s = Math.sqrt(trace + 1) * 2;
    q = { w: s / 4, x: (m.m21 - m.m12) / s, y: (m.m02 - m.m20) / s, z: (m.m10 - m.m01) / s };
  } else if (m.m00 > m.m11 && m.m00 > m.m22) {
    const s = Math.sqrt(1 + m.m00 - m.m11 - m.m22) * 2;
    q = { w: (m.m21 - m.m12) / s, x: s / 4, y: (m.m01 + m.m10) / s, z: (m.m02 + m.m20) / s };
  } else if (m.m11 > m.m22) {
    const s = Math.sqrt(1 + m.m11 - m.m00 - m.m22) * 2;
    q = { w: (m.m02 - m.m20) / s, x: (m.m01 + m.m10) / s, y: s / 4, z: (m.m12 + m.m21) / s };
  } else {
    const s = Math.sqrt(1 + m.m22 - m.m00 - m.m11) * 2;
    q = { w: (m.m10 - m.m01) / s, x: (m.m02 + m.m20) / s, y: (m.m12 + m.m21) / s, z: s / 4 };
  }
  return q.w < 0 ? { x: -q.x, y: -q.y, z: -q.z, w: -q.w } : q;
}

/** Rotation matrix whose columns are the given axes (the child's axes expressed in the parent). */
export const matFromColumns = (c0: Vec3, c1: Vec3, c2: Vec3): Mat3 => ({
  m00: c0.x,
  m01: c1.x,
  m02: c2.x,
  m10: c0.y,
  m11: c1.y,
  m12: c2.y,
  m20: c0.z,
  m21: c1.z,
  m22: c2.z,
});
