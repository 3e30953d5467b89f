import { describe, expect, it } from "vitest";
import {
  degFromRad,
  mat3RotationAngle,
  type Quat,
  quatFromAxisAngle,
  quatFromRpy,
  radFromDeg,
  type Se3,
  StrataError,
  se3Apply,
  vec3,
} from "../../core/index.ts";
import { TfBuffer } from "./tf-buffer.ts";

const S = 1_000_000_000n;
const identity: Quat = { x: 0, y: 0, z: 0, w: 1 };

function expectCode(fn: () => unknown, code: string, pattern?: RegExp): StrataError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StrataError);
    expect((e as StrataError).code).toBe(code);
    if (pattern) expect((e as StrataError).message).toMatch(pattern);
    return e as StrataError;
  }
  throw new Error("expected a StrataError");
}

const yawDeg = (t: Se3): number => degFromRad(mat3RotationAngle(t.rotation));

/** map → odom (static), odom → base_link (moving along x, turning), base_link → camera (static). */
function robot(opts?: ConstructorParameters<typeof TfBuffer>[0]): TfBuffer {
  const tf = new TfBuffer(opts);
  tf.addTransform(
    { parentFrame: "map", childFrame: "odom", stampNs: 0n, translation: vec3(100, 0, 0), rotation: identity },
    true,
  );
  for (let i = 0; i <= 10; i++) {
    tf.addTransform(
      {
        parentFrame: "odom",
        childFrame: "base_link",
        stampNs: BigInt(i) * S,
        translation: vec3(i, 0, 0),
        rotation: quatFromAxisAngle(vec3(0, 0, 1), radFromDeg(9 * i)),
      },
      false,
    );
  }
  tf.addTransform(
    {
      parentFrame: "/base_link",
      childFrame: "camera",
      stampNs: 0n,
      translation: vec3(0.5, 0, 1),
      rotation: quatFromRpy(-Math.PI / 2, 0, -Math.PI / 2),
    },
    true,
  );
  return tf;
}

describe("TfBuffer", () => {
  it("chains static and dynamic edges into targetFromSource", () => {
    const tf = robot();
    const mapFromBase = tf.transformAt("map", "base_link", 2n * S);
    expect(mapFromBase.translation.x).toBeCloseTo(102, 12);
    expect(yawDeg(mapFromBase)).toBeCloseTo(18, 10);
    // the camera origin: base at (102, 0) rotated 18°, camera 0.5 m ahead and 1 m up
    const camInMap = se3Apply(tf.transformAt("map", "camera", 2n * S), vec3(0, 0, 0));
    expect(camInMap.x).toBeCloseTo(102 + 0.5 * Math.cos(radFromDeg(18)), 12);
    expect(camInMap.y).toBeCloseTo(0.5 * Math.sin(radFromDeg(18)), 12);
    expect(camInMap.z).toBeCloseTo(1, 12);
    // and back: the inverse direction maps the camera origin to zero
    const back = se3Apply(tf.transformAt("camera", "map", 2n * S), camInMap);
    expect(Math.hypot(back.x, back.y, back.z)).toBeLessThan(1e-12);
    // frames compare without a leading slash; same frame is identity
    expect(tf.transformAt("/map", "/map", 5n * S).translation).toEqual({ x: 0, y: 0, z: 0 });
    expect(tf.frames()).toEqual(["base_link", "camera", "map", "odom"]);
    expect(tf.parentOf("camera")).toBe("base_link");
  });

  it("interpolates translation linearly and rotation by SLERP between stamps", () => {
    const tf = robot();
    const t = tf.transformAt("odom", "base_link", 2n * S + S / 4n);
    expect(t.translation.x).toBeCloseTo(2.25, 12);
    expect(yawDeg(t)).toBeCloseTo(20.25, 9);
    // between two siblings below a common ancestor: only the changing edge matters
    const relative = tf.transformAt("base_link", "camera", 7n * S + 123n);
    expect(relative.translation).toEqual({ x: 0.5, y: 0, z: 1 });
  });

  it("refuses to extrapolate beyond the tolerance, clamps within it", () => {
    const strict = robot();
    const err = expectCode(
      () => strict.transformAt("map", "base_link", 10n * S + 1n),
      "STRATA_E_TF_EXTRAPOLATION",
      /1 ns after/,
    );
    expect(err.context).toMatchObject({ frame: "base_link", parentFrame: "odom", lastNs: 10n * S });
    expectCode(
      () => strict.transformAt("map", "base_link", -1n),
      "STRATA_E_TF_EXTRAPOLATION",
      /before its first sample/,
    );
    const tolerant = robot({ extrapolationToleranceNs: S / 10n });
    expect(tolerant.transformAt("odom", "base_link", 10n * S + S / 20n).translation.x).toBe(10);
    expectCode(
      () => tolerant.transformAt("odom", "base_link", 10n * S + S / 5n),
      "STRATA_E_TF_EXTRAPOLATION",
    );
    // static-only chains are valid at any time
    expect(strict.transformAt("base_link", "camera", 1000n * S).translation.z).toBe(1);
    expect(strict.canTransform("map", "base_link", 11n * S)).toBe(false);
    expect(strict.canTransform("map", "base_link", 5n * S)).toBe(true);
  });

  it("reports disconnected and unknown frames", () => {
    const tf = robot();
    tf.addTransform(
      {
        parentFrame: "world",
        childFrame: "gps",
        stampNs: 0n,
        translation: vec3(0, 0, 0),
        rotation: identity,
      },
      true,
    );
    expectCode(() => tf.transformAt("map", "gps", S), "STRATA_E_TF_DISCONNECTED", /no common ancestor/);
    expectCode(() => tf.transformAt("map", "lidar", S), "STRATA_E_TF_DISCONNECTED", /unknown frame "lidar"/);
    expectCode(
      () =>
        tf.addTransform(
          { parentFrame: "a", childFrame: "a", stampNs: 0n, translation: vec3(0, 0, 0), rotation: identity },
          true,
        ),
      "STRATA_E_TF_DISCONNECTED",
    );
  });

  it("accepts out-of-order samples, replaces equal stamps, and answers 'latest'", () => {
    const tf = new TfBuffer();
    const add = (sec: bigint, x: number) =>
      tf.addTransform(
        {
          parentFrame: "odom",
          childFrame: "base",
          stampNs: sec * S,
          translation: vec3(x, 0, 0),
          rotation: identity,
        },
        false,
      );
    add(5n, 5);
    add(1n, 1);
    add(3n, 3);
    add(3n, 30); // replaces
    add(9n, 9);
    expect(tf.edgeTimeRange("base")).toEqual({ startNs: S, endNs: 9n * S, samples: 4 });
    expect(tf.transformAt("odom", "base", 2n * S).translation.x).toBeCloseTo(15.5, 12);
    expect(tf.transformAt("odom", "base", "latest").translation.x).toBe(9);
  });

  it("keeps memory bounded with cacheDurationNs and grows arrays for long captures", () => {
    const tf = new TfBuffer({ cacheDurationNs: 10n * S });
    for (let i = 0; i < 100_000; i++) {
      tf.addTransform(
        {
          parentFrame: "odom",
          childFrame: "base",
          stampNs: BigInt(i) * (S / 100n),
          translation: vec3(i, 0, 0),
          rotation: identity,
        },
        false,
      );
    }
    const range = tf.edgeTimeRange("base");
    expect(range?.samples).toBe(1001);
    expect(range?.endNs).toBe(99_999n * (S / 100n));
    const unbounded = new TfBuffer();
    for (let i = 0; i < 50_000; i++) {
      unbounded.addTransform(
        {
          parentFrame: "odom",
          childFrame: "base",
          stampNs: BigInt(i),
          translation: vec3(i, 0, 0),
          rotation: identity,
        },
        false,
      );
    }
    expect(unbounded.edgeTimeRange("base")?.samples).toBe(50_000);
    expect(unbounded.transformAt("odom", "base", 12_345n).translation.x).toBe(12_345);
  });
});
