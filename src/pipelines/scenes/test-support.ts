/** Test helpers (test-only, not exported from the front door): synthetic trajectories and ego series. */
import type { PoseTrajectory } from "../registry/index.ts";
import type { AgentFrame, AgentObservation } from "./agents.ts";
import { type EgoSeries, egoSeriesFromTrajectory } from "./ego.ts";

export const T0_NS = 1_767_225_600_000_000_000n;

/** A planar trajectory sampled every `periodSecs` from a function of time: position (m) and yaw (rad). */
export function trajectoryOf(
  durationSecs: number,
  pose: (tSecs: number) => { x: number; y: number; yaw: number },
  periodSecs = 0.02,
): PoseTrajectory {
  const n = Math.round(durationSecs / periodSecs) + 1;
  const timestampsNs = new BigInt64Array(n);
  const timestampsSecs = new Float64Array(n);
  const positions = new Float64Array(3 * n);
  const orientations = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const t = i * periodSecs;
    const p = pose(t);
    timestampsNs[i] = T0_NS + BigInt(Math.round(t * 1e9));
    timestampsSecs[i] = Number(timestampsNs[i]) / 1e9;
    positions.set([p.x, p.y, 0], 3 * i);
    orientations.set([0, 0, Math.sin(p.yaw / 2), Math.cos(p.yaw / 2)], 4 * i);
  }
  return { timestampsNs, timestampsSecs, timeBase: "seconds", positions, orientations, frameId: "odom" };
}

/** Straight along +x with speed v(t) (integrated numerically). */
export function straightDrive(durationSecs: number, speedAt: (tSecs: number) => number): PoseTrajectory {
  const dt = 0.001;
  const xs: number[] = [0];
  for (let t = dt; t <= durationSecs + 1e-9; t += dt)
    xs.push((xs[xs.length - 1] as number) + speedAt(t - dt / 2) * dt);
  return trajectoryOf(durationSecs, (t) => ({
    x: xs[Math.min(xs.length - 1, Math.round(t / dt))] as number,
    y: 0,
    yaw: 0,
  }));
}

export function egoOf(trajectory: PoseTrajectory): EgoSeries {
  return egoSeriesFromTrajectory(trajectory, { source: "test", frame: "odom" });
}

export interface WorldPose {
  x: number;
  y: number;
  yaw: number;
}

export interface WorldAgent {
  trackId: string;
  agentClass: string;
  lengthM: number;
  widthM: number;
  /** Pose and velocity over ground in the fixed frame, or undefined when not seen. */
  at(tSecs: number): (WorldPose & { vx: number; vy: number }) | undefined;
}

/** Perception frames at 10 Hz: the agents as a perfect tracker in base_link would report them. */
export function framesOf(
  durationSecs: number,
  ego: (t: number) => WorldPose,
  agents: readonly WorldAgent[],
): AgentFrame[] {
  const frames: AgentFrame[] = [];
  for (let k = 0; k * 0.1 <= durationSecs + 1e-9; k++) {
    const t = k * 0.1;
    const e = ego(t);
    const c = Math.cos(e.yaw);
    const s = Math.sin(e.yaw);
    const objects: AgentObservation[] = [];
    for (const agent of agents) {
      const p = agent.at(t);
      if (!p) continue;
      const dx = p.x - e.x;
      const dy = p.y - e.y;
      objects.push({
        trackId: agent.trackId,
        agentClass: agent.agentClass,
        xM: c * dx + s * dy,
        yM: -s * dx + c * dy,
        yawRad: p.yaw - e.yaw,
        lengthM: agent.lengthM,
        widthM: agent.widthM,
        vxMps: c * p.vx + s * p.vy,
        vyMps: -s * p.vx + c * p.vy,
      });
    }
    frames.push({ stampNs: T0_NS + BigInt(Math.round(t * 1e9)), objects });
  }
  return frames;
}
