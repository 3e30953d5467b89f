/**
 * Agents around the ego, in the ego's base frame (REP 103: x forward, y left): what perception reported
 * per frame, and the geometry scenes are described by — footprint gaps, time-to-collision, which side of the
 * ego an agent is on.
 *
 * Footprints are 2-D. The ego is a rectangle given by `EgoFootprint`; an agent's box is approximated by the
 * axis-aligned rectangle that encloses it in the ego frame, so gaps are exact for agents aligned with the ego
 * (same or crossing roads) and slightly small for diagonal ones.
 */

/** The ego's outline in its base frame (m). The default is a mid-size car with base_link at the rear axle. */
export interface EgoFootprint {
  /** x of the rear bumper (negative: behind base_link). */
  rearM: number;
  /** x of the front bumper. */
  frontM: number;
  halfWidthM: number;
}

export const DEFAULT_EGO_FOOTPRINT: EgoFootprint = { rearM: -1.0, frontM: 3.7, halfWidthM: 0.95 };

/** One agent as one perception frame saw it, in the base frame at the frame's stamp. */
export interface AgentObservation {
  /** The tracker's id, as text. */
  trackId: string;
  /** Normalised class: `car`, `pedestrian`, `cyclist`, or the source's own name for anything else. */
  agentClass: string;
  /** Box centre (m). */
  xM: number;
  yM: number;
  /** Box yaw relative to the base x axis (rad). */
  yawRad: number;
  lengthM: number;
  widthM: number;
  /** Velocity over ground, in base-frame axes (m/s); NaN when the source gives none and none could be estimated. */
  vxMps: number;
  vyMps: number;
}

export interface AgentFrame {
  /** The perception stamp (header stamp, else log time), ns since the epoch. */
  stampNs: bigint;
  objects: AgentObservation[];
}

const CLASS_ALIASES: Record<string, string> = {
  car: "car",
  vehicle: "car",
  truck: "car",
  bus: "car",
  van: "car",
  pedestrian: "pedestrian",
  person: "pedestrian",
  walker: "pedestrian",
  cyclist: "cyclist",
  bicycle: "cyclist",
  bicyclist: "cyclist",
  bike: "cyclist",
  motorcycle: "cyclist",
};

/** Lowercase class name with common synonyms folded (person → pedestrian, bicycle → cyclist, truck → car). */
export function normalizeAgentClass(name: string): string {
  const lower = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_");
  return CLASS_ALIASES[lower] ?? (lower === "" || !/^[a-z]/.test(lower) ? "unknown" : lower);
}

/** Half extents along the base x and y axes of the rectangle enclosing an agent's box. */
export function agentHalfExtents(agent: Pick<AgentObservation, "lengthM" | "widthM" | "yawRad">): {
  halfXM: number;
  halfYM: number;
} {
  const c = Math.abs(Math.cos(agent.yawRad));
  const s = Math.abs(Math.sin(agent.yawRad));
  return {
    halfXM: (c * agent.lengthM + s * agent.widthM) / 2,
    halfYM: (s * agent.lengthM + c * agent.widthM) / 2,
  };
}

/** The ego footprint grown by the agent's half extents: the agent's centre inside it means overlap. */
function inflated(
  agent: AgentObservation,
  footprint: EgoFootprint,
): { x0: number; x1: number; y0: number; y1: number } {
  const { halfXM, halfYM } = agentHalfExtents(agent);
  return {
    x0: footprint.rearM - halfXM,
    x1: footprint.frontM + halfXM,
    y0: -footprint.halfWidthM - halfYM,
    y1: footprint.halfWidthM + halfYM,
  };
}

/** Distance between the ego's footprint and the agent's (m); 0 when they overlap. */
export function footprintGapM(agent: AgentObservation, footprint: EgoFootprint): number {
  const r = inflated(agent, footprint);
  const dx = agent.xM < r.x0 ? r.x0 - agent.xM : agent.xM > r.x1 ? agent.xM - r.x1 : 0;
  const dy = agent.yM < r.y0 ? r.y0 - agent.yM : agent.yM > r.y1 ? agent.yM - r.y1 : 0;
  return Math.hypot(dx, dy);
}

/** Velocity of the agent relative to the ego (m/s, base axes), for an ego moving at `egoSpeedMps` along x. */
export function relativeVelocity(
  agent: AgentObservation,
  egoSpeedMps: number,
): { vxMps: number; vyMps: number } {
  return { vxMps: agent.vxMps - egoSpeedMps, vyMps: agent.vyMps };
}

/**
 * Time until the footprints would touch if both kept their velocity (s); undefined when they would not
 * within `horizonSecs` or the agent's velocity is unknown. 0 when they already overlap.
 */
export function timeToCollisionS(
  agent: AgentObservation,
  egoSpeedMps: number,
  footprint: EgoFootprint,
  horizonSecs: number,
): number | undefined {
  if (!Number.isFinite(agent.vxMps) || !Number.isFinite(agent.vyMps)) return undefined;
  const r = inflated(agent, footprint);
  const { vxMps, vyMps } = relativeVelocity(agent, egoSpeedMps);
  // Slab test of the ray centre(t) = centre + v·t against the inflated rectangle.
  let tEnter = 0;
  let tExit = horizonSecs;
  for (const [p, v, lo, hi] of [
    [agent.xM, vxMps, r.x0, r.x1],
    [agent.yM, vyMps, r.y0, r.y1],
  ] as const) {
    if (Math.abs(v) < 1e-9) {
      if (p < lo || p > hi) return undefined;
      continue;
    }
    let t0 = (lo - p) / v;
    let t1 = (hi - p) / v;
    if (t0 > t1) [t0, t1] = [t1, t0];
    tEnter = Math.max(tEnter, t0);
    tExit = Math.min(tExit, t1);
    if (tEnter > tExit) return undefined;
  }
  return tEnter;
}

/** Rate at which the centre distance shrinks (m/s; positive when approaching). */
export function closingSpeedMps(agent: AgentObservation, egoSpeedMps: number): number {
  if (!Number.isFinite(agent.vxMps) || !Number.isFinite(agent.vyMps)) return 0;
  const rangeM = Math.hypot(agent.xM, agent.yM);
  if (rangeM < 1e-6) return 0;
  const { vxMps, vyMps } = relativeVelocity(agent, egoSpeedMps);
  return -(agent.xM * vxMps + agent.yM * vyMps) / rangeM;
}

/** The agent's footprint overlaps the ego's lateral corridor (|y| within the corridor half width). */
export function inCorridor(agent: AgentObservation, corridorHalfWidthM: number): boolean {
  const { halfYM } = agentHalfExtents(agent);
  return Math.abs(agent.yM) - halfYM <= corridorHalfWidthM;
}
