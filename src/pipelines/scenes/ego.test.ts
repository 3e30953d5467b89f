import { describe, expect, it } from "vitest";
import { egoSeriesFromTrajectory, nearestSample, sampleRange, wrapAngle, yawOfQuat } from "./ego.ts";
import { T0_NS, egoOf, straightDrive, trajectoryOf } from "./test-support.ts";

describe("ego series", () => {
  it("derives speed, acceleration and jerk of a straight drive", () => {
    // 8 m/s, then braking at 5 m/s² from t = 4 s to 5 s (to 3 m/s), then constant.
    const speedAt = (t: number) => (t < 4 ? 8 : t < 5 ? 8 - 5 * (t - 4) : 3);
    const ego = egoOf(straightDrive(8, speedAt));
    expect(ego.length).toBe(81);
    const at = (secs: number) => Math.round(secs * 10);
    expect(ego.speedMps[at(2)]).toBeCloseTo(8, 2);
    expect(ego.speedMps[at(7)]).toBeCloseTo(3, 2);
    expect(ego.accelMps2[at(4.5)]).toBeCloseTo(-5, 1);
    expect(ego.accelMps2[at(2)]).toBeCloseTo(0, 2);
    expect(Math.max(...Array.from(ego.jerkMps3, Math.abs))).toBeGreaterThan(5);
    expect(Math.min(...ego.accelMps2)).toBeGreaterThan(-5.3);
  });

  it("unwraps yaw through ±π and measures yaw rate", () => {
    // A circle of radius 10 m at 0.5 rad/s, starting heading +y: yaw passes π.
    const ego = egoOf(
      trajectoryOf(10, (t) => ({
        x: 10 * Math.cos(0.5 * t),
        y: 10 * Math.sin(0.5 * t),
        yaw: wrapAngle(Math.PI / 2 + 0.5 * t),
      })),
    );
    for (let i = 1; i < ego.length; i++)
      expect(Math.abs((ego.yawRad[i] as number) - (ego.yawRad[i - 1] as number))).toBeLessThan(0.1);
    expect((ego.yawRad[ego.length - 1] as number) - (ego.yawRad[0] as number)).toBeCloseTo(5, 2);
    expect(ego.yawRateRadps[50]).toBeCloseTo(0.5, 3);
    expect(ego.speedMps[50]).toBeCloseTo(5, 1);
  });

  it("reports negative speed when reversing", () => {
    const ego = egoOf(trajectoryOf(4, (t) => ({ x: -2 * t, y: 0, yaw: 0 })));
    expect(ego.speedMps[20]).toBeCloseTo(-2, 3);
  });

  it("maps times to samples", () => {
    const ego = egoOf(straightDrive(5, () => 1));
    expect(sampleRange(ego, T0_NS + 1_000_000_000n, T0_NS + 2_050_000_000n)).toEqual([10, 20]);
    expect(sampleRange(ego, T0_NS + 6_000_000_000n, T0_NS + 7_000_000_000n)).toBeUndefined();
    expect(nearestSample(ego, T0_NS - 5n)).toBe(0);
    expect(nearestSample(ego, T0_NS + 1_040_000_000n)).toBe(10);
  });

  it("rejects trajectories without stamps", () => {
    const t = straightDrive(1, () => 1);
    expect(() =>
      egoSeriesFromTrajectory({ ...t, timestampsNs: undefined }, { source: "x", frame: "odom" }),
    ).toThrow(/no stamped poses/);
  });

  it("reads yaw from quaternions", () => {
    expect(yawOfQuat(0, 0, Math.sin(0.6), Math.cos(0.6))).toBeCloseTo(1.2, 9);
    expect(wrapAngle(3 * Math.PI)).toBeCloseTo(Math.PI, 9);
    expect(wrapAngle(-Math.PI)).toBeCloseTo(Math.PI, 9);
  });
});
