/**
 * Small, allocation-light 3D math for Strata: vectors, quaternions (x, y, z, w as in ROS), row-major 3×3
 * rotation matrices, rigid transforms named `targetFromSource`, a robust 3×3 SVD (for Umeyama alignment)
 * and WGS84 geodetic ↔ ECEF ↔ local ENU conversions.
 *
 * Conventions: a transform `aFromB` maps points expressed in frame `b` into frame `a`
 * (`pointInA = aFromB.rotation · pointInB + aFromB.translation`), which is the pose of `b` in `a`
 * (ROS `parent_frame → child_frame` transforms are `parentFromChild`).
 */

export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

/** Unit quaternion, (x, y, z, w) as in ROS `geometry_msgs/Quaternion`. */
export interface Quat {
  x: number;
  y: number;
  z: number;
  w: number;
}

/** 3×3 matrix, row-major: `m[3 * row + col]`. */
export type Mat3 = Float64Array;

/** A rigid transform `targetFromSource`. */
export interface Se3 {
  rotation: Mat3;
  translation: Vec3;
}

/** A similarity transform: `target = scale · rotation · source + translation`. */
export interface Sim3 extends Se3 {
  scale: number;
}

const DEG_PER_RAD = 180 / Math.PI;
export const degFromRad = (rad: number): number => rad * DEG_PER_RAD;
export const radFromDeg = (deg: number): number => deg / DEG_PER_RAD;

// ---------------------------------------------------------------- Vec3

export const vec3 = (x: number, y: number, z: number): Vec3 => ({ x, y, z });
export const vec3Zero = (): Vec3 => ({ x: 0, y: 0, z: 0 });
export const vec3Add = (a: Vec3, b: Vec3): Vec3 => ({ x: a.x + b.x, y: a.y + b.y, z: a.z + b.z });
export const vec3Sub = (a: Vec3, b: Vec3): Vec3 => ({ x: a.x - b.x, y: a.y - b.y, z: a.z - b.z });
export const vec3Scale = (a: Vec3, s: number): Vec3 => ({ x: a.x * s, y: a.y * s, z: a.z * s });
export const vec3Dot = (a: Vec3, b: Vec3): number => a.x * b.x + a.y * b.y + a.z * b.z;
export const vec3Cross = (a: Vec3, b: Vec3): Vec3 => ({
  x: a.y * b.z - a.z * b.y,
  y: a.z * b.x - a.x * b.z,
  z: a.x * b.y - a.y * b.x,
});
export const vec3Norm = (a: Vec3): number => Math.hypot(a.x, a.y, a.z);
export const vec3Distance = (a: Vec3, b: Vec3): number => Math.hypot(a.x - b.x, a.y - b.y, a.z - b.z);
/** Linear interpolation: `a` at `t = 0`, `b` at `t = 1`. */
export const vec3Lerp = (a: Vec3, b: Vec3, t: number): Vec3 => ({
  x: a.x + (b.x - a.x) * t,
  y: a.y + (b.y - a.y) * t,
  z: a.z + (b.z - a.z) * t,
});

// ---------------------------------------------------------------- Quat

export const quat = (x: number, y: number, z: number, w: number): Quat => ({ x, y, z, w });
export const quatIdentity = (): Quat => ({ x: 0, y: 0, z: 0, w: 1 });

/** Unit quaternion with the same rotation; throws RangeError for a zero (or non-finite) quaternion. */
export function quatNormalize(q: Quat): Quat {
  const n = Math.sqrt(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w);
  if (!(n > 0) || !Number.isFinite(n))
    throw new RangeError("cannot normalize a zero or non-finite quaternion");
  return { x: q.x / n, y: q.y / n, z: q.z / n, w: q.w / n };
}

export const quatConjugate = (q: Quat): Quat => ({ x: -q.x, y: -q.y, z: -q.z, w: q.w });
/** Inverse of a unit quaternion (its conjugate). */
export const quatInverse = quatConjugate;

/** Hamilton product `a ⊗ b` (apply `b` first, then `a`). */
export function quatMultiply(a: Quat, b: Quat): Quat {
  return {
    x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
    y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
    z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
    w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
  };
}

/** Rotates `v` by the unit quaternion `q`. */
export function quatRotate(q: Quat, v: Vec3): Vec3 {
  // v' = v + 2w (u × v) + 2 u × (u × v)
  const tx = 2 * (q.y * v.z - q.z * v.y);
  const ty = 2 * (q.z * v.x - q.x * v.z);
  const tz = 2 * (q.x * v.y - q.y * v.x);
  return {
    x: v.x + q.w * tx + (q.y * tz - q.z * ty),
    y: v.y + q.w * ty + (q.z * tx - q.x * tz),
    z: v.z + q.w * tz + (q.x * ty - q.y * tx),
  };
}

export function quatFromAxisAngle(axis: Vec3, angleRad: number): Quat {
  const n = vec3Norm(axis);
  if (!(n > 0)) return quatIdentity();
  const s = Math.sin(angleRad / 2) / n;
  return { x: axis.x * s, y: axis.y * s, z: axis.z * s, w: Math.cos(angleRad / 2) };
}

/** Rotation vector (axis · angle, radians) of a unit quaternion; angle in [0, π]. */
export function rotationVectorFromQuat(q: Quat): Vec3 {
  const sign = q.w < 0 ? -1 : 1;
  const x = q.x * sign;
  const y = q.y * sign;
  const z = q.z * sign;
  const w = q.w * sign;
  const s = Math.hypot(x, y, z);
  if (s === 0) return vec3Zero();
  const angle = 2 * Math.atan2(s, w);
  return { x: (x / s) * angle, y: (y / s) * angle, z: (z / s) * angle };
}

/** Rotation angle of a (not necessarily normalized) quaternion, in radians within [0, π]. */
export function quatAngle(q: Quat): number {
  return 2 * Math.atan2(Math.hypot(q.x, q.y, q.z), Math.abs(q.w));
}

/** Angle of the rotation that takes `a` to `b` (`a⁻¹ ⊗ b`), radians within [0, π]. */
export function quatAngleBetween(a: Quat, b: Quat): number {
  return quatAngle(quatMultiply(quatConjugate(a), b));
}

/**
 * Spherical linear interpolation along the shortest arc: `a` at `t = 0`, `b` at `t = 1`.
 * Inputs should be unit quaternions; the result is normalized.
 */
export function quatSlerp(a: Quat, b: Quat, t: number): Quat {
  let bx = b.x;
  let by = b.y;
  let bz = b.z;
  let bw = b.w;
  let cos = a.x * bx + a.y * by + a.z * bz + a.w * bw;
  if (cos < 0) {
    cos = -cos;
    bx = -bx;
    by = -by;
    bz = -bz;
    bw = -bw;
  }
  let wa: number;
  let wb: number;
  if (cos > 0.9995) {
    wa = 1 - t;
    wb = t;
  } else {
    const theta = Math.acos(Math.min(1, cos));
    const sin = Math.sin(theta);
    wa = Math.sin((1 - t) * theta) / sin;
    wb = Math.sin(t * theta) / sin;
  }
  return quatNormalize({
    x: wa * a.x + wb * bx,
    y: wa * a.y + wb * by,
    z: wa * a.z + wb * bz,
    w: wa * a.w + wb * bw,
  });
}

/** Quaternion from intrinsic roll (x), pitch (y), yaw (z) in radians (ROS `setRPY`: R = Rz(yaw)·Ry(pitch)·Rx(roll)). */
export function quatFromRpy(rollRad: number, pitchRad: number, yawRad: number): Quat {
  const cr = Math.cos(rollRad / 2);
  const sr = Math.sin(rollRad / 2);
  const cp = Math.cos(pitchRad / 2);
  const sp = Math.sin(pitchRad / 2);
  const cy = Math.cos(yawRad / 2);
  const sy = Math.sin(yawRad / 2);
  return {
    x: sr * cp * cy - cr * sp * sy,
    y: cr * sp * cy + sr * cp * sy,
    z: cr * cp * sy - sr * sp * cy,
    w: cr * cp * cy + sr * sp * sy,
  };
}

/** Roll, pitch, yaw (radians) of a unit quaternion; inverse of `quatFromRpy` away from gimbal lock. */
export function rpyFromQuat(q: Quat): { rollRad: number; pitchRad: number; yawRad: number } {
  const sinp = 2 * (q.w * q.y - q.z * q.x);
  return {
    rollRad: Math.atan2(2 * (q.w * q.x + q.y * q.z), 1 - 2 * (q.x * q.x + q.y * q.y)),
    pitchRad: Math.abs(sinp) >= 1 ? Math.sign(sinp) * (Math.PI / 2) : Math.asin(sinp),
    yawRad: Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z)),
  };
}

// ---------------------------------------------------------------- Mat3

export function mat3Identity(): Mat3 {
  const m = new Float64Array(9);
  m[0] = 1;
  m[4] = 1;
  m[8] = 1;
  return m;
}

/** Row-major matrix from 9 numbers. */
export function mat3FromRows(values: ArrayLike<number>): Mat3 {
  if (values.length !== 9) throw new RangeError(`a 3×3 matrix needs 9 values, got ${values.length}`);
  return Float64Array.from(values);
}

/** `a · b`, written into `out` when given (may alias neither input). */
export function mat3Multiply(a: Mat3, b: Mat3, out: Mat3 = new Float64Array(9)): Mat3 {
  for (let r = 0; r < 3; r++) {
    const a0 = a[3 * r] as number;
    const a1 = a[3 * r + 1] as number;
    const a2 = a[3 * r + 2] as number;
    out[3 * r] = a0 * (b[0] as number) + a1 * (b[3] as number) + a2 * (b[6] as number);
    out[3 * r + 1] = a0 * (b[1] as number) + a1 * (b[4] as number) + a2 * (b[7] as number);
    out[3 * r + 2] = a0 * (b[2] as number) + a1 * (b[5] as number) + a2 * (b[8] as number);
  }
  return out;
}

export function mat3Transpose(m: Mat3): Mat3 {
  return Float64Array.of(
    m[0] as number,
    m[3] as number,
    m[6] as number,
    m[1] as number,
    m[4] as number,
    m[7] as number,
    m[2] as number,
    m[5] as number,
    m[8] as number,
  );
}

export function mat3MulVec3(m: Mat3, v: Vec3): Vec3 {
  return {
    x: (m[0] as number) * v.x + (m[1] as number) * v.y + (m[2] as number) * v.z,
    y: (m[3] as number) * v.x + (m[4] as number) * v.y + (m[5] as number) * v.z,
    z: (m[6] as number) * v.x + (m[7] as number) * v.y + (m[8] as number) * v.z,
  };
}

export function mat3Determinant(m: Mat3): number {
  const [a, b, c, d, e, f, g, h, i] = m as unknown as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
}

/** Rotation matrix of a quaternion; the quaternion is normalized first (a zero quaternion gives identity). */
export function mat3FromQuat(q: Quat, out: Mat3 = new Float64Array(9)): Mat3 {
  writeRotationFromQuat(q.x, q.y, q.z, q.w, out, 0);
  return out;
}

/**
 * Writes the rotation matrix of quaternion (x, y, z, w) at `out[offset..offset+9)`. Normalizes on the fly
 * (like evo/transformations.py's `quaternion_matrix`); a near-zero quaternion gives identity.
 */
export function writeRotationFromQuat(
  x: number,
  y: number,
  z: number,
  w: number,
  out: Float64Array,
  offset: number,
): void {
  const n = x * x + y * y + z * z + w * w;
  if (n < 8.881784197001252e-16) {
    out.fill(0, offset, offset + 9);
    out[offset] = 1;
    out[offset + 4] = 1;
    out[offset + 8] = 1;
    return;
  }
  const s = 2 / n;
  const xx = x * x * s;
  const yy = y * y * s;
  const zz = z * z * s;
  const xy = x * y * s;
  const xz = x * z * s;
  const yz = y * z * s;
  const wx = w * x * s;
  const wy = w * y * s;
  const wz = w * z * s;
  out[offset] = 1 - yy - zz;
  out[offset + 1] = xy - wz;
  out[offset + 2] = xz + wy;
  out[offset + 3] = xy + wz;
  out[offset + 4] = 1 - xx - zz;
  out[offset + 5] = yz - wx;
  out[offset + 6] = xz - wy;
  out[offset + 7] = yz + wx;
  out[offset + 8] = 1 - xx - yy;
}

/**
 * Unit quaternion of a rotation matrix (Markley's method: pick the best-conditioned of four candidates,
 * then normalize), tolerant of slightly non-orthonormal input such as 9-digit KITTI matrices. `w ≥ 0`.
 */
export function quatFromMat3(m: Mat3, offset = 0): Quat {
  const m00 = m[offset] as number;
  const m01 = m[offset + 1] as number;
  const m02 = m[offset + 2] as number;
  const m10 = m[offset + 3] as number;
  const m11 = m[offset + 4] as number;
  const m12 = m[offset + 5] as number;
  const m20 = m[offset + 6] as number;
  const m21 = m[offset + 7] as number;
  const m22 = m[offset + 8] as number;
  const trace = m00 + m11 + m22;
  let x: number;
  let y: number;
  let z: number;
  let w: number;
  if (trace >= m00 && trace >= m11 && trace >= m22) {
    x = m21 - m12;
    y = m02 - m20;
    z = m10 - m01;
    w = 1 + trace;
  } else if (m00 >= m11 && m00 >= m22) {
    x = 1 - trace + 2 * m00;
    y = m10 + m01;
    z = m20 + m02;
    w = m21 - m12;
  } else if (m11 >= m22) {
    x = m01 + m10;
    y = 1 - trace + 2 * m11;
    z = m21 + m12;
    w = m02 - m20;
  } else {
    x = m02 + m20;
    y = m12 + m21;
    z = 1 - trace + 2 * m22;
    w = m10 - m01;
  }
  const n = Math.sqrt(x * x + y * y + z * z + w * w) * (w < 0 ? -1 : 1);
  return { x: x / n, y: y / n, z: z / n, w: w / n };
}

/** Rotation angle of a rotation matrix in radians within [0, π] (robust near 0 and π). */
export function mat3RotationAngle(m: Mat3, offset = 0): number {
  return quatAngle(quatFromMat3(m, offset));
}

/** Angle of the rotation taking `a` to `b` (`aᵀ·b`), radians. */
export function rotationAngleBetween(a: Mat3, b: Mat3): number {
  return mat3RotationAngle(mat3Multiply(mat3Transpose(a), b));
}

// ---------------------------------------------------------------- SE(3)

export function se3Identity(): Se3 {
  return { rotation: mat3Identity(), translation: vec3Zero() };
}

/** `targetFromSource` from a translation and a rotation quaternion (a ROS `Transform`). */
export function se3FromTranslationQuat(translation: Vec3, rotation: Quat): Se3 {
  return { rotation: mat3FromQuat(rotation), translation: { ...translation } };
}

/** Translation and unit quaternion (w ≥ 0) of a transform. */
export function translationQuatFromSe3(t: Se3): { translation: Vec3; rotation: Quat } {
  return { translation: { ...t.translation }, rotation: quatFromMat3(t.rotation) };
}

/** Row-major 4×4 (16 numbers, last row 0 0 0 1) to a transform. */
export function se3FromMatrix4(values: ArrayLike<number>): Se3 {
  if (values.length !== 16 && values.length !== 12) {
    throw new RangeError(`a 4×4 (or 3×4) transform needs 16 (or 12) values, got ${values.length}`);
  }
  const v = (i: number): number => values[i] as number;
  return {
    rotation: Float64Array.of(v(0), v(1), v(2), v(4), v(5), v(6), v(8), v(9), v(10)),
    translation: { x: v(3), y: v(7), z: v(11) },
  };
}

/** Row-major 4×4 of a transform. */
export function matrix4FromSe3(t: Se3): number[] {
  const r = t.rotation;
  return [
    r[0] as number,
    r[1] as number,
    r[2] as number,
    t.translation.x,
    r[3] as number,
    r[4] as number,
    r[5] as number,
    t.translation.y,
    r[6] as number,
    r[7] as number,
    r[8] as number,
    t.translation.z,
    0,
    0,
    0,
    1,
  ];
}

/** `aFromC = aFromB ∘ bFromC`. */
export function se3Compose(aFromB: Se3, bFromC: Se3): Se3 {
  return {
    rotation: mat3Multiply(aFromB.rotation, bFromC.rotation),
    translation: vec3Add(mat3MulVec3(aFromB.rotation, bFromC.translation), aFromB.translation),
  };
}

/** `bFromA` of `aFromB` (rotation transposed, as for any rigid transform). */
export function se3Inverse(aFromB: Se3): Se3 {
  const rt = mat3Transpose(aFromB.rotation);
  const t = mat3MulVec3(rt, aFromB.translation);
  return { rotation: rt, translation: { x: -t.x, y: -t.y, z: -t.z } };
}

/** Maps `pointInB` into frame `a`. */
export function se3Apply(aFromB: Se3, pointInB: Vec3): Vec3 {
  return vec3Add(mat3MulVec3(aFromB.rotation, pointInB), aFromB.translation);
}

/** Interpolates between two transforms: translation linearly, rotation by SLERP. */
export function se3Interpolate(a: Se3, b: Se3, t: number): Se3 {
  return {
    rotation: mat3FromQuat(quatSlerp(quatFromMat3(a.rotation), quatFromMat3(b.rotation), t)),
    translation: vec3Lerp(a.translation, b.translation, t),
  };
}

/** Rotation angle (radians) and translation distance between two transforms: the size of `a⁻¹ ∘ b`. */
export function se3Delta(a: Se3, b: Se3): { rotationRad: number; translation: number } {
  const d = se3Compose(se3Inverse(a), b);
  return { rotationRad: mat3RotationAngle(d.rotation), translation: vec3Norm(d.translation) };
}

// ---------------------------------------------------------------- SVD

export interface Svd3 {
  /** Left singular vectors (columns), orthogonal. */
  u: Mat3;
  /** Singular values, descending, ≥ 0. */
  s: [number, number, number];
  /** Right singular vectors (columns), orthogonal: `a = u · diag(s) · vᵀ`. */
  v: Mat3;
}

/**
 * Singular value decomposition of a 3×3 matrix by one-sided Jacobi (Hestenes) rotations: columns of
 * `a·v` are orthogonalized until every pair is orthogonal to machine precision, so small singular values
 * keep full relative accuracy. Rank-deficient inputs get an orthonormal completion of `u`.
 */
export function svd3(a: Mat3): Svd3 {
  // Work on columns: w = a (copied), v = I. Column j of w is w[j], w[3+j], w[6+j].
  const w = Float64Array.from(a);
  const v = mat3Identity();
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotated = false;
    for (let p = 0; p < 2; p++) {
      for (let q = p + 1; q < 3; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let r = 0; r < 3; r++) {
          const wp = w[3 * r + p] as number;
          const wq = w[3 * r + q] as number;
          alpha += wp * wp;
          beta += wq * wq;
          gamma += wp * wq;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let r = 0; r < 3; r++) {
          const wp = w[3 * r + p] as number;
          const wq = w[3 * r + q] as number;
          w[3 * r + p] = c * wp - s * wq;
          w[3 * r + q] = s * wp + c * wq;
          const vp = v[3 * r + p] as number;
          const vq = v[3 * r + q] as number;
          v[3 * r + p] = c * vp - s * vq;
          v[3 * r + q] = s * vp + c * vq;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = [0, 1, 2].map((j) => Math.hypot(w[j] as number, w[3 + j] as number, w[6 + j] as number));
  const order = [0, 1, 2].sort((i, j) => (norms[j] as number) - (norms[i] as number));
  const u = new Float64Array(9);
  const vs = new Float64Array(9);
  const s: [number, number, number] = [0, 0, 0];
  const scale = Math.max(norms[order[0] as number] as number, Number.MIN_VALUE);
  const valid = [false, false, false];
  for (let k = 0; k < 3; k++) {
    const j = order[k] as number;
    const n = norms[j] as number;
    s[k] = n;
    for (let r = 0; r < 3; r++) vs[3 * r + k] = v[3 * r + j] as number;
    if (n > scale * 1e-14) {
      for (let r = 0; r < 3; r++) u[3 * r + k] = (w[3 * r + j] as number) / n;
      valid[k] = true;
    }
  }
  completeOrthonormalColumns(u, valid);
  return { u, s, v: vs };
}

/** Fills columns of `m` not marked valid so that the columns form an orthonormal basis. */
function completeOrthonormalColumns(m: Mat3, valid: boolean[]): void {
  const col = (k: number): Vec3 => ({ x: m[k] as number, y: m[3 + k] as number, z: m[6 + k] as number });
  const set = (k: number, c: Vec3): void => {
    m[k] = c.x;
    m[3 + k] = c.y;
    m[6 + k] = c.z;
  };
  for (let k = 0; k < 3; k++) {
    if (valid[k]) continue;
    const known = [0, 1, 2].filter((j) => valid[j]).map(col);
    let c: Vec3;
    if (known.length === 2) {
      c = vec3Cross(known[0] as Vec3, known[1] as Vec3);
    } else {
      // Gram-Schmidt against the known columns, starting from the axis least aligned with them.
      const axes = [vec3(1, 0, 0), vec3(0, 1, 0), vec3(0, 0, 1)];
      let best = axes[0] as Vec3;
      let bestNorm = -1;
      for (const axis of axes) {
        let candidate = axis;
        for (const kv of known) candidate = vec3Sub(candidate, vec3Scale(kv, vec3Dot(kv, candidate)));
        const n = vec3Norm(candidate);
        if (n > bestNorm) {
          bestNorm = n;
          best = candidate;
        }
      }
      c = best;
    }
    set(k, vec3Scale(c, 1 / vec3Norm(c)));
    valid[k] = true;
  }
}

// ---------------------------------------------------------------- WGS84 geodesy

/** WGS84 ellipsoid. */
export const WGS84 = {
  semiMajorAxisM: 6378137.0,
  flattening: 1 / 298.257223563,
} as const;
const WGS84_E2 = WGS84.flattening * (2 - WGS84.flattening);
const WGS84_B = WGS84.semiMajorAxisM * (1 - WGS84.flattening);

/** A WGS84 position: latitude and longitude in degrees, altitude above the ellipsoid in metres. */
export interface Geodetic {
  latitudeDeg: number;
  longitudeDeg: number;
  altitudeM: number;
}

/** Earth-centred, earth-fixed coordinates (metres) of a WGS84 position. */
export function ecefFromGeodetic(p: Geodetic): Vec3 {
  const lat = radFromDeg(p.latitudeDeg);
  const lon = radFromDeg(p.longitudeDeg);
  const sinLat = Math.sin(lat);
  const cosLat = Math.cos(lat);
  const n = WGS84.semiMajorAxisM / Math.sqrt(1 - WGS84_E2 * sinLat * sinLat);
  return {
    x: (n + p.altitudeM) * cosLat * Math.cos(lon),
    y: (n + p.altitudeM) * cosLat * Math.sin(lon),
    z: (n * (1 - WGS84_E2) + p.altitudeM) * sinLat,
  };
}

/**
 * WGS84 position of ECEF coordinates: Bowring's initial guess, then fixed-point iteration on latitude
 * with the pole-safe height formula `h = p·cosφ + z·sinφ − a·√(1 − e²·sin²φ)`; sub-millimetre after two steps.
 */
export function geodeticFromEcef(e: Vec3): Geodetic {
  const a = WGS84.semiMajorAxisM;
  const p = Math.hypot(e.x, e.y);
  const lon = Math.atan2(e.y, e.x);
  const ep2 = (a * a - WGS84_B * WGS84_B) / (WGS84_B * WGS84_B);
  const theta = Math.atan2(e.z * a, p * WGS84_B);
  let lat = Math.atan2(e.z + ep2 * WGS84_B * Math.sin(theta) ** 3, p - WGS84_E2 * a * Math.cos(theta) ** 3);
  let h = 0;
  for (let i = 0; i < 8; i++) {
    const sinLat = Math.sin(lat);
    const n = a / Math.sqrt(1 - WGS84_E2 * sinLat * sinLat);
    h = p * Math.cos(lat) + e.z * sinLat - a * Math.sqrt(1 - WGS84_E2 * sinLat * sinLat);
    const next = Math.atan2(e.z, p * (1 - (WGS84_E2 * n) / (n + h)));
    if (Math.abs(next - lat) < 1e-15) {
      lat = next;
      break;
    }
    lat = next;
  }
  const sinLat = Math.sin(lat);
  h = p * Math.cos(lat) + e.z * sinLat - a * Math.sqrt(1 - WGS84_E2 * sinLat * sinLat);
  return { latitudeDeg: degFromRad(lat), longitudeDeg: degFromRad(lon), altitudeM: h };
}

/** A local east-north-up tangent frame anchored at a WGS84 origin. */
export interface EnuFrame {
  origin: Geodetic;
  originEcef: Vec3;
  /** Rotation taking ECEF difference vectors into ENU axes (rows: east, north, up). */
  enuFromEcef: Mat3;
}

export function enuFrameAt(origin: Geodetic): EnuFrame {
  const lat = radFromDeg(origin.latitudeDeg);
  const lon = radFromDeg(origin.longitudeDeg);
  const sLat = Math.sin(lat);
  const cLat = Math.cos(lat);
  const sLon = Math.sin(lon);
  const cLon = Math.cos(lon);
  return {
    origin: { ...origin },
    originEcef: ecefFromGeodetic(origin),
    enuFromEcef: Float64Array.of(
      -sLon,
      cLon,
      0,
      -sLat * cLon,
      -sLat * sLon,
      cLat,
      cLat * cLon,
      cLat * sLon,
      sLat,
    ),
  };
}

/** ENU coordinates (metres) of an ECEF point in `frame`. */
export function enuFromEcef(frame: EnuFrame, ecef: Vec3): Vec3 {
  return mat3MulVec3(frame.enuFromEcef, vec3Sub(ecef, frame.originEcef));
}

/** ECEF coordinates of an ENU point in `frame`. */
export function ecefFromEnu(frame: EnuFrame, enu: Vec3): Vec3 {
  return vec3Add(mat3MulVec3(mat3Transpose(frame.enuFromEcef), enu), frame.originEcef);
}

/** ENU coordinates (metres) of a WGS84 position relative to `frame` (build the frame once with `enuFrameAt`). */
export function enuFromGeodetic(frame: EnuFrame, p: Geodetic): Vec3 {
  return enuFromEcef(frame, ecefFromGeodetic(p));
}

export function geodeticFromEnu(frame: EnuFrame, enu: Vec3): Geodetic {
  return geodeticFromEcef(ecefFromEnu(frame, enu));
}
