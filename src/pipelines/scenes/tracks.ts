/**
 * Perception frames joined with the ego's motion: each observation also in the trajectory's fixed frame
 * and in the local lane frame (x along the ego's smoothed heading, y to its left), so that an agent's own
 * sideways motion can be told from the ego's (a lane change or a turn of the ego moves every agent
 * sideways in the base frame, but not in the lane frame).
 *
 * The lane direction at a time is the ego's unwrapped yaw averaged over ±`laneHeadingHalfWindowSecs`, which
 * follows roads and turns but averages out the ego's own lane changes.
 */
import { type AgentFrame, type AgentObservation } from "./agents.ts";
import type { EgoSeries } from "./ego.ts";

export interface PlacedObservation extends AgentObservation {
  stampNs: bigint;
  /** Index of the ego sample nearest to the stamp. */
  egoIndex: number;
  /** Ego speed at the stamp (m/s). */
  egoSpeedMps: number;
  /** Position in the trajectory's fixed frame (m). */
  worldXM: number;
  worldYM: number;
  /** The lane direction (yaw in the fixed frame, rad) at the stamp. */
  laneYawRad: number;
  /** Offset from the ego in the lane frame (m): along and to the left of the lane direction. */
  laneLongM: number;
  laneLatM: number;
  /** The agent's own velocity over ground in the lane frame (m/s). */
  vLongMps: number;
  vLatMps: number;
}

/** A track: one agent's observations in time order. */
export interface AgentTrack {
  /** `class/trackId`, the node id of the agent in scene graphs. */
  nodeId: string;
  trackId: string;
  agentClass: string;
  observations: PlacedObservation[];
}

export interface PlacedFrame {
  stampNs: bigint;
  objects: PlacedObservation[];
}

export interface TrackOptions {
  /** Half window of the lane-direction average. Default 5 s. */
  laneHeadingHalfWindowSecs?: number;
}

function movingAverage(values: Float64Array, k: number): Float64Array {
  const n = values.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = (prefix[i] as number) + (values[i] as number);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - k);
    const hi = Math.min(n - 1, i + k);
    out[i] = ((prefix[hi + 1] as number) - (prefix[lo] as number)) / (hi - lo + 1);
  }
  return out;
}

/** Places every observation in the fixed and lane frames; fills missing velocities from the track. */
export function placeAgents(
  frames: readonly AgentFrame[],
  ego: EgoSeries,
  options: TrackOptions = {},
): { frames: PlacedFrame[]; tracks: AgentTrack[] } {
  const periodSecs = Number(ego.periodNs) / 1e9;
  const laneYaw = movingAverage(
    ego.yawRad,
    Math.round((options.laneHeadingHalfWindowSecs ?? 5) / periodSecs),
  );
  const placedFrames: PlacedFrame[] = [];
  const tracks = new Map<string, AgentTrack>();
  for (const frame of frames) {
    const f = Number(frame.stampNs - ego.startNs) / Number(ego.periodNs);
    if (f < -1 || f > ego.length) continue; // outside the ego's motion
    const i0 = Math.max(0, Math.min(ego.length - 1, Math.floor(f)));
    const i1 = Math.min(ego.length - 1, i0 + 1);
    const w = Math.max(0, Math.min(1, f - i0));
    const lerp = (a: Float64Array) => (a[i0] as number) + w * ((a[i1] as number) - (a[i0] as number));
    const egoX = lerp(ego.xM);
    const egoY = lerp(ego.yM);
    const egoYaw = lerp(ego.yawRad);
    const egoSpeedMps = lerp(ego.speedMps);
    const lane = lerp(laneYaw);
    const c = Math.cos(egoYaw);
    const s = Math.sin(egoYaw);
    const cl = Math.cos(lane);
    const sl = Math.sin(lane);
    const egoIndex = w < 0.5 ? i0 : i1;
    const objects: PlacedObservation[] = [];
    for (const o of frame.objects) {
      if (![o.xM, o.yM].every(Number.isFinite)) continue;
      const dx = c * o.xM - s * o.yM;
      const dy = s * o.xM + c * o.yM;
      const placed: PlacedObservation = {
        ...o,
        lengthM: Number.isFinite(o.lengthM) ? o.lengthM : 0,
        widthM: Number.isFinite(o.widthM) ? o.widthM : 0,
        stampNs: frame.stampNs,
        egoIndex,
        egoSpeedMps,
        worldXM: egoX + dx,
        worldYM: egoY + dy,
        laneYawRad: lane,
        laneLongM: cl * dx + sl * dy,
        laneLatM: -sl * dx + cl * dy,
        vLongMps: Number.NaN,
        vLatMps: Number.NaN,
      };
      objects.push(placed);
      const nodeId = `${o.agentClass}/${o.trackId}`;
      let track = tracks.get(nodeId);
      if (!track) {
        track = { nodeId, trackId: o.trackId, agentClass: o.agentClass, observations: [] };
        tracks.set(nodeId, track);
      }
      track.observations.push(placed);
      // Velocity over ground: base axes → fixed frame → lane frame.
      if (Number.isFinite(o.vxMps) && Number.isFinite(o.vyMps)) {
        const vx = c * o.vxMps - s * o.vyMps;
        const vy = s * o.vxMps + c * o.vyMps;
        placed.vLongMps = cl * vx + sl * vy;
        placed.vLatMps = -sl * vx + cl * vy;
      }
    }
    placedFrames.push({ stampNs: frame.stampNs, objects });
  }
  for (const track of tracks.values()) fillVelocities(track, ego, laneYaw);
  return { frames: placedFrames, tracks: [...tracks.values()] };
}

/** Velocities the source did not give, from the track's fixed-frame positions (central differences). */
function fillVelocities(track: AgentTrack, ego: EgoSeries, laneYaw: Float64Array): void {
  const obs = track.observations;
  if (obs.every((o) => Number.isFinite(o.vxMps))) return;
  for (let i = 0; i < obs.length; i++) {
    const o = obs[i] as PlacedObservation;
    if (Number.isFinite(o.vxMps)) continue;
    const a = obs[Math.max(0, i - 1)] as PlacedObservation;
    const b = obs[Math.min(obs.length - 1, i + 1)] as PlacedObservation;
    const dtSecs = Number(b.stampNs - a.stampNs) / 1e9;
    if (!(dtSecs > 0) || dtSecs > 1) continue;
    const vx = (b.worldXM - a.worldXM) / dtSecs;
    const vy = (b.worldYM - a.worldYM) / dtSecs;
    const yaw = ego.yawRad[o.egoIndex] as number;
    const lane = laneYaw[o.egoIndex] as number;
    o.vxMps = Math.cos(yaw) * vx + Math.sin(yaw) * vy;
    o.vyMps = -Math.sin(yaw) * vx + Math.cos(yaw) * vy;
    o.vLongMps = Math.cos(lane) * vx + Math.sin(lane) * vy;
    o.vLatMps = -Math.sin(lane) * vx + Math.cos(lane) * vy;
  }
}
