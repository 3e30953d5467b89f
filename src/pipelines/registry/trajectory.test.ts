import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { StrataError } from "../../core/index.ts";
import {
  evoSecsFromNs,
  parseEurocCsv,
  parseKitti,
  parseTrajectory,
  parseTum,
  poseCount,
  rotationMatricesOf,
  selectPoses,
  trajectoryFromStampedPoses,
  writeEurocCsv,
  writeKitti,
  writeKittiTimes,
  writeTum,
} from "./trajectory.ts";

const fixtures = new URL("../../../../shared/fixtures/trajectories/", import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, fixtures), "utf8");

function expectStrataError(fn: () => unknown, code: string, pattern?: RegExp): StrataError {
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

describe("TUM", () => {
  it("reads the fixtures, skipping # comment lines, quaternion xyzw", () => {
    const gt = parseTum(read("freiburg1_xyz-groundtruth.txt"));
    expect(poseCount(gt)).toBe(3000);
    expect(gt.timeBase).toBe("seconds");
    // first data line: 1305031098.6659 1.3563 0.6305 1.6380 0.6132 0.5962 -0.3311 -0.3986
    expect(gt.timestampsSecs[0]).toBe(1305031098.6659);
    expect(Array.from(gt.positions.subarray(0, 3))).toEqual([1.3563, 0.6305, 1.638]);
    expect(Array.from(gt.orientations.subarray(0, 4))).toEqual([0.6132, 0.5962, -0.3311, -0.3986]);
    expect(poseCount(parseTum(read("freiburg1_xyz-rgbdslam.txt")))).toBe(788);
    // scientific notation timestamps (V102.txt)
    const v = parseTum(read("V102.txt"));
    expect(v.timestampsSecs[0]).toBe(1403715529.112143517);
  });

  it("round-trips bit-exactly through writeTum", () => {
    const t = parseTum(read("freiburg1_xyz-rgbdslam.txt"));
    const back = parseTum(writeTum(t));
    expect(back.timestampsSecs).toEqual(t.timestampsSecs);
    expect(back.positions).toEqual(t.positions);
    expect(back.orientations).toEqual(t.orientations);
  });

  it("names the line of a malformed row", () => {
    const err = expectStrataError(
      () => parseTum("# header\n1 0 0 0 0 0 0 1\n2 0 0 0 0 0 1\n", { source: "bad.txt" }),
      "STRATA_E_TRAJECTORY_FORMAT",
      /line 3 has 7/,
    );
    expect(err.context).toMatchObject({ file: "bad.txt", line: 3 });
    expectStrataError(() => parseTum("1 0 0 x 0 0 0 1"), "STRATA_E_TRAJECTORY_FORMAT", /"x" is not a number/);
    const euroc = `1,${Array(16).fill("1").join(",")}\n2,1,,${Array(14).fill("1").join(",")}\n`;
    expectStrataError(
      () => parseEurocCsv(euroc),
      "STRATA_E_TRAJECTORY_FORMAT",
      /line 2, column 3: "" is not a number/,
    );
  });
});

describe("KITTI", () => {
  it("keeps the 3×4 matrices verbatim, times poses by index without a times file", () => {
    const t = parseKitti(read("KITTI_00_ORB.txt"));
    expect(poseCount(t)).toBe(4541);
    expect(t.timeBase).toBe("index");
    expect(t.timestampsSecs[10]).toBe(10);
    // line 2: 0.999991417 -0.002448883 -0.003344714 -0.003019783 0.002441498 0.999994516 -0.002210214 -0.005097120 …
    expect(Array.from((t.rotations as Float64Array).subarray(9, 12))).toEqual([
      0.999991417, -0.002448883, -0.003344714,
    ]);
    expect(Array.from(t.positions.subarray(3, 6))).toEqual([-0.003019783, -0.00509712, 0.666445315]);
    const q = t.orientations.subarray(4, 8);
    expect(Math.hypot(...q)).toBeCloseTo(1, 14);
    expect(rotationMatricesOf(t)).toBe(t.rotations);
  });

  it("uses a times file when given, and checks its length", () => {
    const t = parseKitti(read("KITTI_00_gt.txt"), { times: read("KITTI_00_gt_times.txt") });
    expect(t.timeBase).toBe("seconds");
    expect(t.timestampsSecs[1]).toBe(0.1037359);
    expectStrataError(
      () => parseKitti(read("KITTI_00_gt.txt"), { times: "0\n1\n" }),
      "STRATA_E_TRAJECTORY_FORMAT",
      /2 lines for 4541/,
    );
  });

  it("round-trips through writeKitti and writeKittiTimes", () => {
    const t = parseKitti(read("KITTI_00_gt.txt"), { times: read("KITTI_00_gt_times.txt") });
    const back = parseKitti(writeKitti(t), { times: writeKittiTimes(t) });
    expect(back.rotations).toEqual(t.rotations);
    expect(back.positions).toEqual(t.positions);
    expect(back.timestampsSecs).toEqual(t.timestampsSecs);
  });
});

describe("EuRoC CSV", () => {
  it("reads ns stamps exactly, seconds as ns/1e9, and reorders the w-first quaternion", () => {
    const t = parseEurocCsv(read("V102_groundtruth.csv"));
    expect(poseCount(t)).toBe(16702);
    // 1403715524907143168,0.515356,1.996773,0.971104,0.161996,0.789985,-0.205376,0.554528,…
    expect(t.timestampsNs?.[0]).toBe(1403715524907143168n);
    expect(t.timestampsSecs[0]).toBe(1403715524907143168 / 1e9);
    expect(Array.from(t.positions.subarray(0, 3))).toEqual([0.515356, 1.996773, 0.971104]);
    expect(Array.from(t.orientations.subarray(0, 4))).toEqual([0.789985, -0.205376, 0.554528, 0.161996]);
  });

  it("round-trips, keeping exact ns", () => {
    const t = parseEurocCsv(read("V102_groundtruth.csv"));
    const back = parseEurocCsv(writeEurocCsv(t));
    expect(back.timestampsNs).toEqual(t.timestampsNs);
    expect(back.positions).toEqual(t.positions);
    expect(back.orientations).toEqual(t.orientations);
    expectStrataError(() => parseEurocCsv("1,2,3\n"), "STRATA_E_TRAJECTORY_FORMAT", /17 entries/);
  });
});

describe("trajectories from decoded poses", () => {
  it("uses evo's seconds (sec + nsec·1e-9) and keeps exact ns", () => {
    const t = trajectoryFromStampedPoses(
      [
        {
          stampNs: 1305031102_160407000n,
          translation: { x: 1, y: 2, z: 3 },
          rotation: { x: 0, y: 0, z: 0, w: 1 },
        },
        {
          stampNs: 1305031102_194330000n,
          translation: { x: 4, y: 5, z: 6 },
          rotation: { x: 0, y: 0, z: 1, w: 0 },
        },
      ],
      "map",
    );
    expect(t.timestampsSecs[0]).toBe(1305031102 + 160407000 * 1e-9);
    expect(t.timestampsNs?.[1]).toBe(1305031102_194330000n);
    expect(t.frameId).toBe("map");
    expect(evoSecsFromNs(-1n)).toBe(-1 + 999999999 * 1e-9);
    const one = selectPoses(t, [1]);
    expect(Array.from(one.positions)).toEqual([4, 5, 6]);
    expect(one.timestampsNs?.[0]).toBe(1305031102_194330000n);
  });

  it("dispatches by format name", () => {
    expect(poseCount(parseTrajectory(read("freiburg1_xyz-ORB_kf_mono.txt"), "tum"))).toBe(32);
  });
});
