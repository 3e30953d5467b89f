import { describe, expect, it } from "vitest";
import {
  degFromRad,
  ecefFromEnu,
  ecefFromGeodetic,
  enuFrameAt,
  enuFromEcef,
  enuFromGeodetic,
  geodeticFromEcef,
  mat3Determinant,
  mat3FromQuat,
  mat3Multiply,
  mat3RotationAngle,
  mat3Transpose,
  type Quat,
  quatAngleBetween,
  quatFromAxisAngle,
  quatFromMat3,
  quatFromRpy,
  quatMultiply,
  quatNormalize,
  quatRotate,
  quatSlerp,
  radFromDeg,
  rotationAngleBetween,
  rpyFromQuat,
  se3Apply,
  se3Compose,
  se3FromMatrix4,
  se3FromTranslationQuat,
  se3Interpolate,
  se3Inverse,
  svd3,
  vec3,
} from "./geometry.ts";

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const randomQuat = (r: () => number): Quat =>
  quatNormalize({ x: r() - 0.5, y: r() - 0.5, z: r() - 0.5, w: r() - 0.5 });

function expectQuatClose(a: Quat, b: Quat, digits = 12): void {
  const sign = a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w < 0 ? -1 : 1;
  expect(a.x).toBeCloseTo(sign * b.x, digits);
  expect(a.y).toBeCloseTo(sign * b.y, digits);
  expect(a.z).toBeCloseTo(sign * b.z, digits);
  expect(a.w).toBeCloseTo(sign * b.w, digits);
}

describe("quaternions and rotation matrices", () => {
  it("rotates vectors as the matrix does, and 90° about z maps x to y", () => {
    const q = quatFromAxisAngle(vec3(0, 0, 1), Math.PI / 2);
    const v = quatRotate(q, vec3(1, 0, 0));
    expect(v.x).toBeCloseTo(0, 15);
    expect(v.y).toBeCloseTo(1, 15);
    const r = rng(1);
    for (let i = 0; i < 50; i++) {
      const qi = randomQuat(r);
      const p = vec3(r(), r(), r());
      const viaQuat = quatRotate(qi, p);
      const viaMat = se3Apply({ rotation: mat3FromQuat(qi), translation: vec3(0, 0, 0) }, p);
      expect(viaQuat.x).toBeCloseTo(viaMat.x, 13);
      expect(viaQuat.y).toBeCloseTo(viaMat.y, 13);
      expect(viaQuat.z).toBeCloseTo(viaMat.z, 13);
    }
  });

  it("round-trips quaternion → matrix → quaternion, including near-180° rotations", () => {
    const r = rng(2);
    const cases = [
      ...Array.from({ length: 200 }, () => randomQuat(r)),
      quatFromAxisAngle(vec3(1, 0, 0), Math.PI),
      quatFromAxisAngle(vec3(0, 1, 0), Math.PI - 1e-9),
      quatFromAxisAngle(vec3(1, 1, 1), Math.PI),
      { x: 0, y: 0, z: 0, w: 1 },
    ];
    for (const q of cases) {
      const back = quatFromMat3(mat3FromQuat(q));
      expect(back.w).toBeGreaterThanOrEqual(0);
      expectQuatClose(back, q, 12);
    }
  });

  it("normalizes non-unit quaternions when building matrices", () => {
    const m = mat3FromQuat({ x: 0, y: 0, z: 2, w: 2 });
    expect(mat3Determinant(m)).toBeCloseTo(1, 14);
    expect(mat3RotationAngle(m)).toBeCloseTo(Math.PI / 2, 14);
  });

  it("measures angles between rotations robustly near zero", () => {
    const a = quatFromRpy(0.1, -0.2, 0.3);
    const b = quatMultiply(a, quatFromAxisAngle(vec3(0, 1, 0), 1e-7));
    // an arccos-of-trace formula would be off by ~1e-8 here; the atan2 form keeps ~1e-9 relative accuracy
    expect(quatAngleBetween(a, b) / 1e-7).toBeCloseTo(1, 8);
    expect(rotationAngleBetween(mat3FromQuat(a), mat3FromQuat(b)) / 1e-7).toBeCloseTo(1, 6);
    expect(
      degFromRad(quatAngleBetween(a, quatMultiply(a, quatFromAxisAngle(vec3(1, 2, 3), radFromDeg(30))))),
    ).toBeCloseTo(30, 10);
  });

  it("slerps along the shortest arc at constant angular rate", () => {
    const a = quatFromAxisAngle(vec3(0, 0, 1), 0);
    const b = quatFromAxisAngle(vec3(0, 0, 1), radFromDeg(100));
    for (const t of [0, 0.25, 0.5, 0.9, 1]) {
      expect(degFromRad(quatAngleBetween(a, quatSlerp(a, b, t)))).toBeCloseTo(100 * t, 9);
    }
    // b and -b are the same rotation: slerp must not take the long way round
    const negB = { x: -b.x, y: -b.y, z: -b.z, w: -b.w };
    expect(degFromRad(quatAngleBetween(a, quatSlerp(a, negB, 0.5)))).toBeCloseTo(50, 9);
  });

  it("converts roll/pitch/yaw both ways", () => {
    const q = quatFromRpy(0.3, -0.4, 2.5);
    const rpy = rpyFromQuat(q);
    expect(rpy.rollRad).toBeCloseTo(0.3, 13);
    expect(rpy.pitchRad).toBeCloseTo(-0.4, 13);
    expect(rpy.yawRad).toBeCloseTo(2.5, 13);
    // yaw alone rotates x forward towards y left (REP 103)
    const v = quatRotate(quatFromRpy(0, 0, Math.PI / 2), vec3(1, 0, 0));
    expect(v.y).toBeCloseTo(1, 15);
  });
});

describe("SE(3)", () => {
  it("composes, inverts and applies with frame-carrying names", () => {
    const worldFromBase = se3FromTranslationQuat(
      vec3(10, 0, 0),
      quatFromAxisAngle(vec3(0, 0, 1), Math.PI / 2),
    );
    const baseFromCamera = se3FromTranslationQuat(vec3(1, 0, 0.5), quatFromRpy(0, 0, 0));
    const worldFromCamera = se3Compose(worldFromBase, baseFromCamera);
    const p = se3Apply(worldFromCamera, vec3(0, 0, 0));
    expect(p.x).toBeCloseTo(10, 14);
    expect(p.y).toBeCloseTo(1, 14);
    expect(p.z).toBeCloseTo(0.5, 14);
    const cameraFromWorld = se3Inverse(worldFromCamera);
    const back = se3Apply(cameraFromWorld, p);
    expect(Math.hypot(back.x, back.y, back.z)).toBeLessThan(1e-14);
  });

  it("reads 4×4 row-major matrices and interpolates", () => {
    const t = se3FromMatrix4([0, -1, 0, 1, 1, 0, 0, 2, 0, 0, 1, 3, 0, 0, 0, 1]);
    expect(se3Apply(t, vec3(1, 0, 0))).toEqual({ x: 1, y: 3, z: 3 });
    const half = se3Interpolate(se3FromMatrix4([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), t, 0.5);
    expect(half.translation).toEqual({ x: 0.5, y: 1, z: 1.5 });
    expect(degFromRad(mat3RotationAngle(half.rotation))).toBeCloseTo(45, 12);
  });
});

describe("svd3", () => {
  function reconstruct(u: Float64Array, s: number[], v: Float64Array): Float64Array {
    const us = Float64Array.from(u, (x, k) => x * (s[k % 3] as number));
    return mat3Multiply(us, mat3Transpose(v));
  }
  function expectOrthogonal(m: Float64Array): void {
    const i = mat3Multiply(mat3Transpose(m), m);
    for (let k = 0; k < 9; k++) expect(i[k]).toBeCloseTo(k % 4 === 0 ? 1 : 0, 13);
  }

  it("decomposes random, ill-conditioned and rank-deficient matrices", () => {
    const r = rng(3);
    const cases: Float64Array[] = [];
    for (let i = 0; i < 100; i++) cases.push(Float64Array.from({ length: 9 }, () => r() * 2 - 1));
    // ill-conditioned: R1 · diag(1, 1e-6, 1e-12) · R2ᵀ
    const d = Float64Array.of(1, 0, 0, 0, 1e-6, 0, 0, 0, 1e-12);
    cases.push(
      mat3Multiply(mat3Multiply(mat3FromQuat(randomQuat(r)), d), mat3Transpose(mat3FromQuat(randomQuat(r)))),
    );
    cases.push(Float64Array.of(1, 2, 3, 2, 4, 6, 3, 6, 9)); // rank 1
    cases.push(Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 0)); // rank 2
    cases.push(new Float64Array(9)); // zero
    cases.push(Float64Array.of(0, 0, 1, 0, 1, 0, 1, 0, 0)); // reflection
    for (const a of cases) {
      const { u, s, v } = svd3(a);
      expect(s[0]).toBeGreaterThanOrEqual(s[1]);
      expect(s[1]).toBeGreaterThanOrEqual(s[2]);
      expect(s[2]).toBeGreaterThanOrEqual(0);
      expectOrthogonal(u);
      expectOrthogonal(v);
      const back = reconstruct(u, s, v);
      for (let k = 0; k < 9; k++) expect(back[k]).toBeCloseTo(a[k] as number, 13);
    }
  });

  it("keeps relative accuracy of tiny singular values", () => {
    const r = rng(4);
    const a = mat3Multiply(
      mat3Multiply(mat3FromQuat(randomQuat(r)), Float64Array.of(3, 0, 0, 0, 2e-5, 0, 0, 0, 1e-9)),
      mat3Transpose(mat3FromQuat(randomQuat(r))),
    );
    const { s } = svd3(a);
    expect(s[0]).toBeCloseTo(3, 13);
    expect(s[1] / 2e-5).toBeCloseTo(1, 8);
    expect(s[2] / 1e-9).toBeCloseTo(1, 4);
  });
});

describe("WGS84 geodesy", () => {
  it("matches known ECEF coordinates", () => {
    // On the equator at the prime meridian: x = a.
    expect(ecefFromGeodetic({ latitudeDeg: 0, longitudeDeg: 0, altitudeM: 0 })).toEqual({
      x: 6378137,
      y: 0,
      z: 0,
    });
    // North pole: z = b = a(1 − f).
    const pole = ecefFromGeodetic({ latitudeDeg: 90, longitudeDeg: 0, altitudeM: 0 });
    expect(pole.z).toBeCloseTo(6356752.314245, 5);
    expect(Math.abs(pole.x)).toBeLessThan(1e-9);
    // ETH Zürich main building (47.3763°N, 8.5476°E, 500 m), checked against a reference implementation.
    const eth = ecefFromGeodetic({ latitudeDeg: 47.3763, longitudeDeg: 8.5476, altitudeM: 500 });
    const n = 6378137 / Math.sqrt(1 - 0.00669437999014 * Math.sin(radFromDeg(47.3763)) ** 2);
    expect(eth.x).toBeCloseTo((n + 500) * Math.cos(radFromDeg(47.3763)) * Math.cos(radFromDeg(8.5476)), 3);
  });

  it("round-trips geodetic ↔ ECEF to sub-millimetre everywhere, including poles and altitude", () => {
    const r = rng(5);
    const points = [
      { latitudeDeg: 90, longitudeDeg: 0, altitudeM: 0 },
      { latitudeDeg: -90, longitudeDeg: 123, altitudeM: -50 },
      { latitudeDeg: 0, longitudeDeg: 180, altitudeM: 10000 },
      { latitudeDeg: 89.9999, longitudeDeg: -45, altitudeM: 400000 },
      ...Array.from({ length: 200 }, () => ({
        latitudeDeg: r() * 180 - 90,
        longitudeDeg: r() * 360 - 180,
        altitudeM: r() * 20000 - 1000,
      })),
    ];
    for (const p of points) {
      const back = geodeticFromEcef(ecefFromGeodetic(p));
      expect(Math.abs(back.latitudeDeg - p.latitudeDeg)).toBeLessThan(1e-9);
      if (Math.abs(p.latitudeDeg) < 90)
        expect(Math.abs(((back.longitudeDeg - p.longitudeDeg + 540) % 360) - 180)).toBeLessThan(1e-9);
      expect(Math.abs(back.altitudeM - p.altitudeM)).toBeLessThan(1e-4);
    }
  });

  it("puts east, north and up on the right axes of the local frame", () => {
    const origin = { latitudeDeg: 48.1351, longitudeDeg: 11.582, altitudeM: 520 };
    const frame = enuFrameAt(origin);
    const up = enuFromGeodetic(frame, { ...origin, altitudeM: 620 });
    expect(up.x).toBeCloseTo(0, 8);
    expect(up.y).toBeCloseTo(0, 8);
    expect(up.z).toBeCloseTo(100, 8);
    // 1e-4° north is ≈ 11.1 m (meridian radius of curvature at 48°: ≈ 6.3735e6 m)
    const north = enuFromGeodetic(frame, { ...origin, latitudeDeg: origin.latitudeDeg + 1e-4 });
    expect(north.x).toBeCloseTo(0, 6);
    expect(north.y).toBeGreaterThan(11.1);
    expect(north.y).toBeLessThan(11.14);
    const east = enuFromGeodetic(frame, { ...origin, longitudeDeg: origin.longitudeDeg + 1e-4 });
    expect(east.x).toBeGreaterThan(7.4);
    expect(east.x).toBeLessThan(7.5);
    expect(Math.abs(east.y)).toBeLessThan(1e-3);
    // ENU → ECEF is the inverse
    const p = { x: 12.5, y: -30, z: 4 };
    const back = enuFromEcef(frame, ecefFromEnu(frame, p));
    expect(back.x).toBeCloseTo(p.x, 8);
    expect(back.y).toBeCloseTo(p.y, 8);
    expect(back.z).toBeCloseTo(p.z, 8);
  });
});
