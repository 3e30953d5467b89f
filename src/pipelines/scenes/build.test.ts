import { describe, expect, it } from "vitest";
import { sceneIdOf, trajectoryWindow } from "./build.ts";
import { T0_NS, trajectoryOf } from "./test-support.ts";

describe("scene rows", () => {
  it("cuts a trajectory to a window with interpolated ends", () => {
    const t = trajectoryOf(2, (s) => ({ x: 10 * s, y: 0, yaw: 0.1 }), 0.5); // poses at 0, 0.5, 1, 1.5, 2 s
    const w = trajectoryWindow(t, T0_NS + 250_000_000n, T0_NS + 1_250_000_000n);
    expect(w.xM).toEqual([2.5, 5, 10, 12.5]);
    expect(w.headingRad.every((h) => Math.abs(h - 0.1) < 1e-12)).toBe(true);
    // Window bounds on poses: no duplicates; outside the trajectory: only what exists.
    expect(trajectoryWindow(t, T0_NS + 500_000_000n, T0_NS + 1_000_000_000n).xM).toEqual([5, 10]);
    expect(trajectoryWindow(t, T0_NS - 1_000_000_000n, T0_NS + 600_000_000n).xM).toEqual([0, 5, 6]);
    expect(trajectoryWindow(t, T0_NS + 3_000_000_000n, T0_NS + 4_000_000_000n).xM).toEqual([]);
  });

  it("gives deterministic scene ids", () => {
    expect(sceneIdOf("cap_1", 1n, 2n)).toBe(sceneIdOf("cap_1", 1n, 2n));
    expect(sceneIdOf("cap_1", 1n, 2n)).not.toBe(sceneIdOf("cap_1", 1n, 3n));
    expect(sceneIdOf("cap_1", 1n, 2n)).toMatch(/^scn_[0-9a-f]{16}$/);
  });
});
