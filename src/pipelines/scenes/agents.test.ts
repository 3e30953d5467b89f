import { describe, expect, it } from "vitest";
import {
  type AgentObservation,
  DEFAULT_EGO_FOOTPRINT,
  agentHalfExtents,
  closingSpeedMps,
  footprintGapM,
  inCorridor,
  normalizeAgentClass,
  timeToCollisionS,
} from "./agents.ts";

const fp = DEFAULT_EGO_FOOTPRINT; // x ∈ [−1.0, 3.7], |y| ≤ 0.95
const car = (over: Partial<AgentObservation>): AgentObservation => ({
  trackId: "1",
  agentClass: "car",
  xM: 20,
  yM: 0,
  yawRad: 0,
  lengthM: 4.6,
  widthM: 1.8,
  vxMps: 0,
  vyMps: 0,
  ...over,
});

describe("agent geometry", () => {
  it("measures footprint gaps", () => {
    expect(footprintGapM(car({ xM: 20 }), fp)).toBeCloseTo(20 - 2.3 - 3.7, 9);
    expect(footprintGapM(car({ xM: -10 }), fp)).toBeCloseTo(10 - 2.3 - 1.0, 9);
    expect(footprintGapM(car({ xM: 1, yM: 3.5 }), fp)).toBeCloseTo(3.5 - 0.9 - 0.95, 9);
    expect(footprintGapM(car({ xM: 2, yM: 0.5 }), fp)).toBe(0);
    // A car crossing (yaw 90°) ahead: its length lies along y.
    expect(agentHalfExtents(car({ yawRad: Math.PI / 2 })).halfYM).toBeCloseTo(2.3, 9);
    expect(footprintGapM(car({ xM: 10, yawRad: Math.PI / 2 }), fp)).toBeCloseTo(10 - 0.9 - 3.7, 9);
  });

  it("computes time to collision under constant velocity", () => {
    // Stopped car 20 m ahead, ego at 10 m/s: gap 14 m → 1.4 s.
    expect(timeToCollisionS(car({ xM: 20 }), 10, fp, 10)).toBeCloseTo(1.4, 9);
    // Same, but in the next lane (3.5 m): never collides.
    expect(timeToCollisionS(car({ xM: 20, yM: 3.5 }), 10, fp, 10)).toBeUndefined();
    // Oncoming in the opposite lane passes by.
    expect(timeToCollisionS(car({ xM: 40, yM: 7, vxMps: -10 }), 10, fp, 10)).toBeUndefined();
    // Moving away faster than the ego.
    expect(timeToCollisionS(car({ xM: 20, vxMps: 12 }), 10, fp, 10)).toBeUndefined();
    // Beyond the horizon.
    expect(timeToCollisionS(car({ xM: 200 }), 10, fp, 10)).toBeUndefined();
    // Already overlapping.
    expect(timeToCollisionS(car({ xM: 2 }), 0, fp, 10)).toBe(0);
    // Unknown velocity.
    expect(timeToCollisionS(car({ vxMps: Number.NaN }), 10, fp, 10)).toBeUndefined();
    // A pedestrian stepping into the lane 10 m ahead at 1.5 m/s from 3 m left; ego stopped.
    const ped = car({ agentClass: "pedestrian", xM: 10, yM: 3, lengthM: 0.6, widthM: 0.6, vyMps: -1.5 });
    expect(timeToCollisionS(ped, 0, fp, 10)).toBeUndefined(); // it crosses ahead of a stopped ego
    expect(timeToCollisionS(ped, 4, fp, 10)).toBeCloseTo((10 - 0.3 - 3.7) / 4, 9);
  });

  it("closing speed and corridor", () => {
    expect(closingSpeedMps(car({ xM: 20 }), 10)).toBeCloseTo(10, 9);
    expect(closingSpeedMps(car({ xM: -20 }), 10)).toBeCloseTo(-10, 9);
    expect(inCorridor(car({ yM: 2.5 }), 2)).toBe(true);
    expect(inCorridor(car({ yM: 3.5 }), 2)).toBe(false);
  });

  it("normalises class names", () => {
    expect(normalizeAgentClass("Person")).toBe("pedestrian");
    expect(normalizeAgentClass("bicycle")).toBe("cyclist");
    expect(normalizeAgentClass("TRUCK")).toBe("car");
    expect(normalizeAgentClass("traffic cone")).toBe("traffic_cone");
    expect(normalizeAgentClass("")).toBe("unknown");
  });
});
