import { describe, expect, it } from "vitest";
import { detectEvents, type SceneEvent } from "./events.ts";
import { buildSceneGraph } from "./graph.ts";
import { DEFAULT_SCENE_OPTIONS } from "./options.ts";
import {
  T0_NS,
  type WorldAgent,
  type WorldPose,
  egoOf,
  framesOf,
  straightDrive,
  trajectoryOf,
} from "./test-support.ts";
import { placeAgents } from "./tracks.ts";

const o = DEFAULT_SCENE_OPTIONS;
const secs = (ns: bigint) => Number(ns - T0_NS) / 1e9;
const kinds = (events: SceneEvent[]) => events.map((e) => e.kind);

/** Runs the pipeline from world-frame motion: ego trajectory + agents → events (+ placed frames). */
function scenario(durationSecs: number, ego: (t: number) => WorldPose, agents: WorldAgent[]) {
  const series = egoOf(trajectoryOf(durationSecs, ego));
  const placed = placeAgents(framesOf(durationSecs, ego, agents), series);
  return { events: detectEvents(series, placed.tracks, o), placed };
}

const straight =
  (speedMps: number, y = 0) =>
  (t: number): WorldPose => ({ x: speedMps * t, y, yaw: 0 });

function mover(
  trackId: string,
  agentClass: string,
  size: [number, number],
  pose: (t: number) => WorldPose & { vx: number; vy: number },
): WorldAgent {
  return { trackId, agentClass, lengthM: size[0], widthM: size[1], at: pose };
}

describe("ego events", () => {
  it("finds hard braking and the stop after it", () => {
    const speedAt = (t: number) => (t < 3 ? 10 : t < 3 + 10 / 6 ? 10 - 6 * (t - 3) : 0);
    const events = detectEvents(egoOf(straightDrive(8, speedAt)), [], o);
    expect(kinds(events)).toEqual(["hard_brake", "stop"]);
    const [brake, stop] = events as [SceneEvent, SceneEvent];
    expect(secs(brake.startNs)).toBeGreaterThanOrEqual(2.8);
    expect(secs(brake.endNs)).toBeLessThanOrEqual(4.9);
    expect(brake.detail.minAccelMps2).toBeCloseTo(-6, 0);
    expect(secs(stop.startNs)).toBeCloseTo(4.7, 0);
  });

  it("ignores gentle braking and short halts", () => {
    const speedAt = (t: number) => (t < 2 ? 8 : t < 6 ? 8 - 2 * (t - 2) : t < 6.5 ? 0 : 2 * (t - 6.5));
    expect(kinds(detectEvents(egoOf(straightDrive(9, speedAt)), [], o))).toEqual([]);
  });

  it("tells a U-turn from a turn", () => {
    const r = 5;
    const v = 3;
    const uTurn = (t: number): WorldPose => {
      if (t < 2) return { x: v * t, y: 0, yaw: 0 };
      const a = Math.min(Math.PI, (v * (t - 2)) / r);
      const p = { x: v * 2 + r * Math.sin(a), y: r - r * Math.cos(a), yaw: a };
      const after = t - 2 - (Math.PI * r) / v;
      return after > 0 ? { x: p.x - v * after, y: 2 * r, yaw: Math.PI } : p;
    };
    const u = detectEvents(egoOf(trajectoryOf(12, uTurn)), [], o);
    expect(kinds(u)).toEqual(["u_turn"]);
    expect(u[0]?.detail.yawChangeDeg).toBeCloseTo(180, -1);
    const quarter = (t: number): WorldPose => {
      if (t < 2) return { x: v * t, y: 0, yaw: 0 };
      const a = Math.min(Math.PI / 2, (v * (t - 2)) / r);
      const p = { x: v * 2 + r * Math.sin(a), y: r - r * Math.cos(a), yaw: a };
      const after = t - 2 - (Math.PI * r) / (2 * v);
      return after > 0 ? { x: p.x, y: p.y + v * after, yaw: Math.PI / 2 } : p;
    };
    const q = detectEvents(egoOf(trajectoryOf(10, quarter)), [], o);
    expect(kinds(q)).toEqual(["turn"]);
    expect(q[0]?.detail.direction).toBe("left");
  });
});

describe("agent events and the scene graph", () => {
  it("sees a pedestrian cross in front of a stopped ego", () => {
    const ped = mover("7", "pedestrian", [0.6, 0.6], (t) => ({
      x: 8,
      y: 8 - 1.5 * t,
      yaw: -Math.PI / 2,
      vx: 0,
      vy: -1.5,
    }));
    const { events, placed } = scenario(12, () => ({ x: 0, y: 0, yaw: 0 }), [ped]);
    const crossing = events.find((e) => e.kind === "crossing");
    expect(crossing?.nodeId).toBe("pedestrian/7");
    // In the corridor (|y| − 0.3 ≤ 2) from t ≈ 3.8 s to 6.87 s; from 3 s before that it is heading in.
    expect(secs(crossing?.startNs ?? 0n)).toBeLessThan(3.5);
    expect(secs(crossing?.endNs ?? 0n)).toBeCloseTo(6.8, 5);
    expect(events.some((e) => e.kind === "cut_in" || e.kind === "near_miss")).toBe(false);

    const graph = buildSceneGraph(
      { sceneId: "s", captureId: "c", startNs: T0_NS, endNs: T0_NS + 12_000_000_000n },
      placed.frames,
      o,
    );
    expect(graph.nodes.map((n) => n.nodeId).sort()).toEqual(["ego", "pedestrian/7"]);
    const rel = (relation: string, subject = "pedestrian/7", object = "ego") =>
      graph.relations.filter(
        (r) => r.relation === relation && r.subjectNodeId === subject && r.objectNodeId === object,
      );
    expect(rel("crossing_path")).toHaveLength(1);
    expect(rel("ahead_of")).toHaveLength(1);
    expect(rel("behind", "ego", "pedestrian/7")).toHaveLength(1);
    expect(rel("left_of")).toHaveLength(1);
    expect(rel("right_of")).toHaveLength(1);
    // The ahead_of span ends before the right_of span starts.
    expect((rel("ahead_of")[0]?.endNs ?? 0n) < (rel("right_of")[0]?.startNs ?? 0n)).toBe(true);
    const within5 = graph.relations.filter((r) => r.relation === "within" && r.minDistanceM <= 5);
    expect(within5.length).toBeGreaterThan(0);
    expect(Math.min(...graph.relations.map((r) => r.minDistanceM))).toBeCloseTo(8 - 0.3 - 3.7, 6);
  });

  it("sees a car cut in ahead", () => {
    const v = 10;
    const cut = mover("3", "car", [4.6, 1.8], (t) => {
      const f = Math.min(1, Math.max(0, (t - 3) / 2));
      return { x: v * t + 12, y: 3.5 * (1 - f), yaw: 0, vx: v, vy: t > 3 && t < 5 ? -1.75 : 0 };
    });
    const { events, placed } = scenario(8, straight(v), [cut]);
    const cutIn = events.filter((e) => e.kind === "cut_in");
    expect(cutIn).toHaveLength(1);
    expect(secs(cutIn[0]?.startNs ?? 0n)).toBeGreaterThanOrEqual(2.9);
    expect(secs(cutIn[0]?.endNs ?? 0n)).toBeLessThanOrEqual(5.1);
    expect(cutIn[0]?.detail.fromSide).toBe("left");
    const graph = buildSceneGraph(
      { sceneId: "s", captureId: "c", startNs: T0_NS, endNs: T0_NS + 8_000_000_000n },
      placed.frames,
      o,
    );
    expect(
      graph.relations.some(
        (r) => r.relation === "following" && r.subjectNodeId === "ego" && r.objectNodeId === "car/3",
      ),
    ).toBe(true);
  });

  it("does not call the ego's own lane change a cut-in", () => {
    const v = 10;
    // The ego moves 3.5 m left between 3 s and 6 s (smooth), a car drives straight in the left lane.
    const lateral = (t: number) => {
      const f = Math.min(1, Math.max(0, (t - 3) / 3));
      return 3.5 * (f * f * (3 - 2 * f));
    };
    const ego = (t: number): WorldPose => {
      const dy = (lateral(t + 0.01) - lateral(t - 0.01)) / 0.02;
      return { x: v * t, y: lateral(t), yaw: Math.atan2(dy, v) };
    };
    const car = mover("4", "car", [4.6, 1.8], (t) => ({ x: v * t + 15, y: 3.5, yaw: 0, vx: v, vy: 0 }));
    const { events } = scenario(10, ego, [car]);
    expect(kinds(events)).not.toContain("cut_in");
    expect(kinds(events)).not.toContain("crossing");
  });

  it("sees the ego overtake a cyclist, and a near miss with a stopped car", () => {
    const bike = mover("9", "cyclist", [1.8, 0.6], (t) => ({ x: 25 + 4 * t, y: 2.5, yaw: 0, vx: 4, vy: 0 }));
    const overtake = scenario(10, straight(9), [bike]).events.filter((e) => e.kind === "overtake");
    expect(overtake).toHaveLength(1);
    expect(overtake[0]?.nodeId).toBe("cyclist/9");

    const stopped = mover("5", "car", [4.6, 1.8], () => ({ x: 30, y: 0, yaw: 0, vx: 0, vy: 0 }));
    // 10 m/s until 1.6 s, then braking at 8 m/s² to a stop 0.45 m short of the car.
    const speedAt = (t: number) => (t < 1.6 ? 10 : Math.max(0, 10 - 8 * (t - 1.6)));
    const trajectory = straightDrive(6, speedAt);
    const series = egoOf(trajectory);
    const egoPose = (t: number): WorldPose => {
      const i = Math.min(series.length - 1, Math.round(t * 10));
      return { x: series.xM[i] as number, y: 0, yaw: 0 };
    };
    const placed = placeAgents(framesOf(6, egoPose, [stopped]), series);
    const nearMiss = detectEvents(series, placed.tracks, o).filter((e) => e.kind === "near_miss");
    expect(nearMiss).toHaveLength(1);
    expect(Number(nearMiss[0]?.detail.minGapM)).toBeLessThan(2);
  });
});
