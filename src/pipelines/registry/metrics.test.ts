import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  mat3FromQuat,
  quatFromAxisAngle,
  quatFromRpy,
  quatMultiply,
  radFromDeg,
  StrataError,
  vec3,
} from "../../core/index.ts";
import {
  alignTrajectory,
  ape,
  associate,
  errorStatistics,
  evaluateApe,
  evaluateRpe,
  matchingTimeIndices,
  rpe,
  umeyamaAlignment,
} from "./metrics.ts";
import {
  type PoseTrajectory,
  parseEurocCsv,
  parseKitti,
  parseTum,
  poseCount,
  rotationMatricesOf,
  selectPoses,
} from "./trajectory.ts";

const fixtures = new URL("../../../../shared/fixtures/trajectories/", import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, fixtures), "utf8");

/** |actual − expected| ≤ 1e-6, the acceptance tolerance. */
const expectWithin1e6 = (actual: number | undefined, expected: number): void => {
  expect(actual).toBeDefined();
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(1e-6);
};

function expectCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StrataError);
    expect((e as StrataError).code).toBe(code);
    if (pattern) expect((e as StrataError).message).toMatch(pattern);
    return;
  }
  throw new Error("expected a StrataError");
}

/** A trajectory from stamps, positions and orientations given as plain arrays. */
function traj(stamps: number[], positions?: number[][], orientations?: number[][]): PoseTrajectory {
  const n = stamps.length;
  return {
    timestampsSecs: Float64Array.from(stamps),
    timeBase: "seconds",
    positions: Float64Array.from((positions ?? stamps.map((t) => [t, 0, 0])).flat()),
    orientations: Float64Array.from((orientations ?? Array.from({ length: n }, () => [0, 0, 0, 1])).flat()),
  };
}

describe("association (evo nearest-time conventions)", () => {
  it("starts from the shorter trajectory and lets one long pose serve several short ones", () => {
    const ref = traj([0, 1, 2, 3, 4, 5]);
    const est = traj([0.9995, 1.0004, 3.2]);
    const a = associate(ref, est, { maxDiffSecs: 0.01 });
    expect(Array.from(a.estIndices)).toEqual([0, 1]);
    expect(Array.from(a.refIndices)).toEqual([1, 1]); // no uniqueness, as in evo
    expect(a.maxPairs).toBe(3);
    expect(Array.from(a.ref.timestampsSecs)).toEqual([1, 1]);
  });

  it("picks the earlier stamp on exact ties and duplicates (numpy argmin)", () => {
    const { shortIndices, longIndices } = matchingTimeIndices(
      Float64Array.of(1.5, 3),
      Float64Array.of(1, 2, 3, 3, 4),
      1,
      0,
    );
    expect(Array.from(shortIndices)).toEqual([0, 1]);
    expect(Array.from(longIndices)).toEqual([0, 2]);
  });

  it("gives the same pairs on unsorted stamps (linear scan) as on sorted ones", () => {
    const long = Float64Array.of(0.5, 0.1, 0.3, 0.2, 0.4);
    const short = Float64Array.of(0.29, 0.11, 0.52);
    const got = matchingTimeIndices(short, long, 0.05, 0);
    expect(Array.from(got.longIndices)).toEqual([2, 1, 0]);
  });

  it("accepts |Δt| equal to max diff and adds the offset to the estimate's stamps", () => {
    const ref = traj([10, 11, 12, 13]);
    const est = traj([10.5, 11.5]);
    expect(() => associate(ref, est, { maxDiffSecs: 0.1 })).toThrow(StrataError);
    // est shorter: ref stamps are shifted by −offset, i.e. est + offset is matched against ref
    const a = associate(ref, est, { maxDiffSecs: 0.1, offsetSecs: 0.5 });
    expect(Array.from(a.refIndices)).toEqual([1, 2]);
    // ref shorter: est stamps + offset
    const b = associate(traj([11, 12]), traj([10.5, 11.5, 12.5, 13.5]), {
      maxDiffSecs: 0.1,
      offsetSecs: 0.5,
    });
    expect(Array.from(b.estIndices)).toEqual([0, 1]); // 10.5 + 0.5 = 11, 11.5 + 0.5 = 12
    const c = associate(traj([0]), traj([0.25, 1]), { maxDiffSecs: 0.25 });
    expect(Array.from(c.estIndices)).toEqual([0]);
  });

  it("with equal counts the estimate drives the matching, as in evo", () => {
    const ref = traj([0, 0.004, 1]);
    const est = traj([0.003, 0.5, 1.001]);
    const a = associate(ref, est);
    expect(Array.from(a.estIndices)).toEqual([0, 2]);
    expect(Array.from(a.refIndices)).toEqual([1, 2]);
  });

  it("passes the inputs through when every pose pairs with the same index, and copies otherwise", () => {
    const ref = traj([0, 1, 2, 3]);
    const same = associate(ref, traj([0.001, 1.002, 1.999, 3]));
    expect(same.ref).toBe(ref);
    expect(Array.from(same.estIndices)).toEqual([0, 1, 2, 3]);
    // one pose unmatched: a selection (a new trajectory) of the other three
    const gap = associate(ref, traj([0.001, 1.002, 2.5, 3]));
    expect(gap.ref).not.toBe(ref);
    expect(Array.from(gap.ref.timestampsSecs)).toEqual([0, 1, 3]);
  });

  it("selects poses in long runs and short runs alike (block copies of consecutive indices)", () => {
    const n = 100;
    const stamps = Array.from({ length: n }, (_, i) => i);
    const t = traj(
      stamps,
      stamps.map((i) => [i, 2 * i, 3 * i]),
      stamps.map((i) => [i, -i, 0.5 * i, 1]),
    );
    const withMatrices: PoseTrajectory = {
      ...t,
      rotations: Float64Array.from({ length: 9 * n }, (_, k) => k),
    };
    // a run of 40, single indices, a repeated index, a run of 20 and a run of 16 at the end
    const indices = [
      ...Array.from({ length: 40 }, (_, k) => 10 + k),
      3,
      3,
      70,
      ...Array.from({ length: 20 }, (_, k) => 55 + k),
      ...Array.from({ length: 16 }, (_, k) => 84 + k),
    ];
    const got = selectPoses(withMatrices, Int32Array.from(indices));
    expect(Array.from(got.timestampsSecs)).toEqual(indices);
    expect(Array.from(got.positions)).toEqual(indices.flatMap((i) => [i, 2 * i, 3 * i]));
    expect(Array.from(got.orientations)).toEqual(indices.flatMap((i) => [i, -i, 0.5 * i, 1]));
    expect(Array.from(got.rotations ?? [])).toEqual(
      indices.flatMap((i) => Array.from({ length: 9 }, (_, c) => 9 * i + c)),
    );
  });

  it("pairs index-timed (KITTI) trajectories by index and refuses mixed time bases", () => {
    const k = parseKitti(read("KITTI_00_gt.txt"));
    expect(associate(k, parseKitti(read("KITTI_00_ORB.txt"))).maxPairs).toBe(4541);
    expectCode(() => associate(k, traj([0, 1])), "STRATA_E_METRICS", /times file/);
    expectCode(() => associate(traj([0, 1]), traj([5, 6])), "STRATA_E_METRICS", /no matching timestamps/);
  });
});

describe("Umeyama alignment", () => {
  it("recovers a known similarity exactly", () => {
    const rotation = mat3FromQuat(quatFromRpy(0.3, -0.2, 1.1));
    const s = 2.5;
    const t = vec3(1, -2, 3);
    const n = 50;
    const x = new Float64Array(3 * n);
    const y = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      const p = [Math.sin(i), Math.cos(2 * i), i / 10];
      x.set(p, 3 * i);
      for (let r = 0; r < 3; r++) {
        y[3 * i + r] =
          s *
            ((rotation[3 * r] as number) * (p[0] as number) +
              (rotation[3 * r + 1] as number) * (p[1] as number) +
              (rotation[3 * r + 2] as number) * (p[2] as number)) +
          [t.x, t.y, t.z][r]!;
      }
    }
    const sim = umeyamaAlignment(x, y, true);
    expect(sim.scale).toBeCloseTo(s, 12);
    for (let k = 0; k < 9; k++) expect(sim.rotation[k]).toBeCloseTo(rotation[k] as number, 12);
    expect(sim.translation.x).toBeCloseTo(1, 11);
    expect(sim.translation.y).toBeCloseTo(-2, 11);
    expect(sim.translation.z).toBeCloseTo(3, 11);
    const rigid = umeyamaAlignment(x, y, false);
    expect(rigid.scale).toBe(1);
    for (let k = 0; k < 9; k++) expect(rigid.rotation[k]).toBeCloseTo(rotation[k] as number, 10);
  });

  it("returns a proper rotation for mirrored point sets and refuses degenerate ones", () => {
    const x = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0);
    const y = Float64Array.of(-1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0); // mirrored in x
    const sim = umeyamaAlignment(x, y, false);
    const r = sim.rotation;
    const det =
      (r[0] as number) * ((r[4] as number) * (r[8] as number) - (r[5] as number) * (r[7] as number)) -
      (r[1] as number) * ((r[3] as number) * (r[8] as number) - (r[5] as number) * (r[6] as number)) +
      (r[2] as number) * ((r[3] as number) * (r[7] as number) - (r[4] as number) * (r[6] as number));
    expect(det).toBeCloseTo(1, 12);
    const collinear = Float64Array.of(0, 0, 0, 1, 0, 0, 2, 0, 0);
    expectCode(() => umeyamaAlignment(collinear, collinear, true), "STRATA_E_METRICS", /degenerate/);
  });
});

describe("statistics", () => {
  it("matches numpy: population std, median of an even count", () => {
    const s = errorStatistics(Float64Array.of(1, 2, 3, 4));
    expect(s).toEqual({
      pairs: 4,
      rmse: Math.sqrt(30 / 4),
      mean: 2.5,
      median: 2.5,
      std: Math.sqrt(1.25),
      min: 1,
      max: 4,
      sse: 30,
    });
    expect(errorStatistics(Float64Array.of(5, 1, 3)).median).toBe(3);
  });

  it("finds the median by selection exactly as sorting would, with duplicates", () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (const n of [1, 2, 3, 10, 101, 1000, 1001]) {
      const values = Float64Array.from({ length: n }, () => Math.round(next() * 50) / 10);
      const sorted = Float64Array.from(values).sort();
      const m = n >> 1;
      const expected = n % 2 ? sorted[m] : ((sorted[m - 1] as number) + (sorted[m] as number)) / 2;
      expect(errorStatistics(values).median).toBe(expected);
    }
  });
});

describe("statistics on large arrays (radix pre-selection of the median)", () => {
  /** numpy's median: the middle of the sorted values (mean of the two middle ones for an even count). */
  const sortedMedian = (values: Float64Array): number => {
    const sorted = Float64Array.from(values).sort();
    const m = sorted.length >> 1;
    return sorted.length % 2
      ? (sorted[m] as number)
      : ((sorted[m - 1] as number) + (sorted[m] as number)) / 2;
  };
  let seed = 11;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const cases: Record<string, (i: number) => number> = {
    "spread errors": () => 0.01 * -Math.log(1 - next()),
    "few distinct values": () => Math.round(next() * 8) / 4,
    "all equal": () => 0.125,
    "negative and positive, with ±0": (i) =>
      i % 97 === 0 ? (i % 2 ? -0 : 0) : (next() - 0.5) * 10 ** (next() * 6 - 3),
    "one huge outlier side": (i) => (i % 2 ? 1e-300 * next() : 1e300 * next()),
    "tiny spread in one bin": () => 1 + next() * 1e-12,
  };
  for (const [name, value] of Object.entries(cases)) {
    it(`${name}: median equal to the sorted one`, () => {
      for (const n of [4095, 4096, 4097, 10_000, 10_001]) {
        const values = Float64Array.from({ length: n }, (_, i) => value(i));
        const before = Float64Array.from(values);
        const s = errorStatistics(values);
        expect(s.median).toBe(sortedMedian(values));
        expect(Array.from(values)).toEqual(Array.from(before)); // the input is not reordered
        expect(s.min).toBe(Math.min(...values));
        expect(s.max).toBe(Math.max(...values));
      }
    });
  }

  it("a NaN error gives NaN median, min, max and std, as numpy", () => {
    for (const n of [5, 5000]) {
      const values = Float64Array.from({ length: n }, (_, i) => i);
      values[3] = Number.NaN;
      const s = errorStatistics(values);
      for (const key of ["median", "min", "max", "std", "mean", "rmse"] as const) expect(s[key]).toBeNaN();
    }
  });
});

describe("APE / RPE on the evo fixtures (issue 4 acceptance values)", () => {
  const gt = parseTum(read("freiburg1_xyz-groundtruth.txt"));
  const est = parseTum(read("freiburg1_xyz-rgbdslam.txt"));
  const pair = associate(gt, est, { maxDiffSecs: 0.01 });

  it("fr1_xyz rgbdslam: APE trans RMSE without alignment, SE(3) and Sim(3)", () => {
    expect(poseCount(pair.est)).toBe(785);
    expectWithin1e6(ape(pair.ref, pair.est, { align: "none" }).rmse, 0.020079);
    const se3 = ape(pair.ref, pair.est, { align: "se3" });
    expectWithin1e6(se3.rmse, 0.01347);
    expect(se3.scale).toBeUndefined();
    const sim3 = ape(pair.ref, pair.est, { align: "sim3" });
    expectWithin1e6(sim3.rmse, 0.013389);
    expectWithin1e6(sim3.scale, 1.00800139);
    expect(Math.abs((sim3.scale as number) - 1.00800139)).toBeLessThan(5e-10);
  });

  it("fr1_xyz rgbdslam: RPE trans, δ = 1 frame, 784 pairs", () => {
    const r = rpe(pair.ref, pair.est, { relation: "trans", delta: 1, deltaUnit: "frames" });
    expect(r.pairs).toBe(784);
    expectWithin1e6(r.rmse, 0.005764);
    // SE(3) alignment cannot change relative errors
    expect(rpe(pair.ref, pair.est, { align: "se3" }).rmse).toBeCloseTo(r.rmse, 12);
  });

  it("KITTI 00 ORB vs ground truth: SE(3) APE and RPE trans", () => {
    const ref = parseKitti(read("KITTI_00_gt.txt"));
    const orb = parseKitti(read("KITTI_00_ORB.txt"));
    const k = associate(ref, orb);
    expectWithin1e6(ape(k.ref, k.est, { align: "se3" }).rmse, 1.30345);
    expectWithin1e6(rpe(k.ref, k.est).rmse, 0.02812);
    // the README: Sim(3) scale ≈ 1.0047
    expect(ape(k.ref, k.est, { align: "sim3" }).scale).toBeCloseTo(1.0047, 4);
  });

  it("the drifted copy (one rigid transform applied) gives the same aligned APE and RPE", () => {
    const drift = associate(gt, parseTum(read("freiburg1_xyz-rgbdslam_drift.txt")));
    expect(ape(drift.ref, drift.est, { align: "none" }).rmse).toBeGreaterThan(0.1);
    // positions in the file are rounded to 1e-6 m, hence 1e-6 rather than bit equality
    expect(Math.abs(ape(drift.ref, drift.est, { align: "se3" }).rmse - 0.013470088849733677)).toBeLessThan(
      1e-6,
    );
    expect(Math.abs(rpe(drift.ref, drift.est).rmse - 0.0057643708489283066)).toBeLessThan(1e-6);
  });

  it("monocular keyframes need Sim(3): the fr2_desk scale is ≈ 2.23 (README: scale ≈ 1/2.23)", () => {
    const g2 = parseTum(read("fr2_desk_groundtruth.txt"));
    const mono = associate(g2, parseTum(read("fr2_desk_ORB_kf_mono.txt")));
    const sim3 = ape(mono.ref, mono.est, { align: "sim3" });
    const se3 = ape(mono.ref, mono.est, { align: "se3" });
    expect(sim3.scale).toBeGreaterThan(2.2);
    expect(sim3.scale).toBeLessThan(2.26);
    expect(sim3.rmse).toBeLessThan(se3.rmse / 10);
    // scale-only keeps the rotation: its error lies between none and sim3
    const scaleOnly = ape(mono.ref, mono.est, { align: "scale" });
    expect(scaleOnly.scale).toBe(sim3.scale);
  });

  it("EuRoC ground truth (ns, wxyz) against a TUM estimate in seconds", () => {
    const euroc = associate(parseEurocCsv(read("V102_groundtruth.csv")), parseTum(read("V102.txt")));
    expect(poseCount(euroc.est)).toBeGreaterThan(790);
    const r = ape(euroc.ref, euroc.est, { align: "se3" });
    expect(r.rmse).toBeGreaterThan(0.01);
    expect(r.rmse).toBeLessThan(0.5);
  });

  it("convenience wrappers associate first", () => {
    expect(evaluateApe(gt, est, { align: "se3" }).rmse).toBe(ape(pair.ref, pair.est, { align: "se3" }).rmse);
    expect(evaluateRpe(gt, est).pairs).toBe(784);
  });
});

describe("relations, alignment modes and pair selection on constructed data", () => {
  const n = 20;
  const stamps = Array.from({ length: n }, (_, i) => i);
  const positions = stamps.map((i) => [i, Math.sin(i), 0.1 * i * i]);
  const orientations = stamps.map((i) => {
    const q = quatFromRpy(0.01 * i, 0.02 * i, 0.1 * i);
    return [q.x, q.y, q.z, q.w];
  });
  const ref = traj(stamps, positions, orientations);

  it("a constant body-frame rotation of 2° shows as 2° APE angle and ‖R − I‖ for rot", () => {
    const c = quatFromAxisAngle(vec3(0, 0, 1), radFromDeg(2));
    const rotated = orientations.map(([x, y, z, w]) => {
      const q = quatMultiply({ x: x as number, y: y as number, z: z as number, w: w as number }, c);
      return [q.x, q.y, q.z, q.w];
    });
    const est = traj(stamps, positions, rotated);
    const deg = ape(ref, est, { relation: "angle_deg" });
    expect(deg.max).toBeCloseTo(2, 10);
    expect(deg.min).toBeCloseTo(2, 10);
    expect(ape(ref, est, { relation: "angle_rad" }).mean).toBeCloseTo(radFromDeg(2), 12);
    // ‖Rz(θ) − I‖_F = 2·√2·sin(θ/2)
    expect(ape(ref, est, { relation: "rot" }).mean).toBeCloseTo(2 * Math.SQRT2 * Math.sin(radFromDeg(1)), 12);
    expect(ape(ref, est, { relation: "full" }).mean).toBeCloseTo(
      2 * Math.SQRT2 * Math.sin(radFromDeg(1)),
      12,
    );
    expect(ape(ref, est, { relation: "trans" }).max).toBe(0);
  });

  it("origin alignment puts the first pose on the reference's first pose", () => {
    const shifted = traj(
      stamps,
      positions.map(([x, y, z]) => [(x as number) + 5, (y as number) - 1, z as number]),
      orientations,
    );
    const aligned = alignTrajectory(shifted, ref, "origin").trajectory;
    expect(aligned.positions[0]).toBeCloseTo(0, 12);
    expect(ape(ref, shifted, { align: "origin" }).max).toBeLessThan(1e-12);
    expect(ape(ref, shifted, { align: "none" }).min).toBeCloseTo(Math.hypot(5, 1), 12);
  });

  it("RPE trans from quaternions equals the matrix formulation (stored matrices take evo's literal order)", () => {
    // an estimate with noise, a rigid offset and non-unit (and one zero) quaternions
    const m = 60;
    const st = Array.from({ length: m }, (_, i) => i);
    const refPos = st.map((i) => [Math.cos(i / 9) * 5, Math.sin(i / 7) * 3, 0.05 * i]);
    const refRot = st.map((i) => {
      const q = quatFromRpy(0.2 * Math.sin(i), 0.1 * Math.cos(i / 3), i / 10);
      return [q.x, q.y, q.z, q.w];
    });
    const estPos = refPos.map(([x, y, z], i) => [
      (y as number) + 4 + 0.03 * Math.sin(5 * i),
      -(x as number) - 1,
      (z as number) + 0.02 * Math.cos(3 * i),
    ]);
    const estRot = refRot.map(([x, y, z, w], i) => {
      const q = quatMultiply(quatFromRpy(0, 0, -Math.PI / 2), quatFromRpy(0.01 * Math.sin(i), 0, 0.02 * i));
      const r = quatMultiply(q, { x: x as number, y: y as number, z: z as number, w: w as number });
      const scale = i === 7 ? 0 : 1 + 0.5 * Math.sin(i); // evo normalizes; a zero quaternion is the identity
      return [r.x * scale, r.y * scale, r.z * scale, r.w * scale];
    });
    const refQ = traj(st, refPos, refRot);
    const estQ = traj(st, estPos, estRot);
    const asMatrices = (t: PoseTrajectory): PoseTrajectory => ({ ...t, rotations: rotationMatricesOf(t) });
    const refM = asMatrices(refQ);
    const estM = asMatrices(estQ);
    const optionSets = [
      {},
      { align: "se3" as const },
      { align: "sim3" as const, delta: 3 },
      { align: "scale" as const, delta: 2, allPairs: true },
      { align: "origin" as const, delta: 1.5, deltaUnit: "meters" as const },
      { align: "se3" as const, delta: 2, deltaUnit: "meters" as const, pairsFrom: "reference" as const },
    ];
    for (const opts of optionSets) {
      const fromQuats = rpe(refQ, estQ, { relation: "trans", ...opts });
      const fromMatrices = rpe(refM, estM, { relation: "trans", ...opts });
      expect(Array.from(fromQuats.pairIds)).toEqual(Array.from(fromMatrices.pairIds));
      expect(fromQuats.errors.length).toBeGreaterThan(3);
      for (let k = 0; k < fromQuats.errors.length; k++) {
        expect(Math.abs((fromQuats.errors[k] as number) - (fromMatrices.errors[k] as number))).toBeLessThan(
          1e-12,
        );
      }
      expect(fromQuats.rmse).toBeGreaterThan(1e-3); // the noise shows: the comparison is not of zeros
    }
  });

  it("selects RPE pairs like evo: consecutive, all pairs, and by path length", () => {
    expect(rpe(ref, ref, { delta: 3 }).pairs).toBe(6); // (0,3) … (15,18)
    expect(Array.from(rpe(ref, ref, { delta: 3 }).pairIds.subarray(0, 4))).toEqual([0, 3, 3, 6]);
    expect(rpe(ref, ref, { delta: 3, allPairs: true }).pairs).toBe(17);
    const line = traj(stamps); // 1 m steps along x
    const byPath = rpe(line, line, { delta: 2, deltaUnit: "meters" });
    // ids where accumulated path ≥ 2 m: 2, 4, 6, … (the first pose is not an id)
    expect(Array.from(byPath.pairIds.subarray(0, 4))).toEqual([2, 4, 4, 6]);
    expect(byPath.pairs).toBe(8);
    const all = rpe(line, line, { delta: 2, deltaUnit: "meters", allPairs: true });
    expect(all.pairs).toBe(18);
    expect(Array.from(all.pairIds.subarray(0, 2))).toEqual([0, 2]);
    expectCode(() => rpe(ref, ref, { delta: 100 }), "STRATA_E_METRICS", /no pose pairs/);
    expectCode(() => rpe(ref, ref, { delta: 1.5 }), "STRATA_E_METRICS", /integer/);
    expectCode(() => ape(ref, traj([0, 1])), "STRATA_E_METRICS", /same number of poses/);
  });
});
