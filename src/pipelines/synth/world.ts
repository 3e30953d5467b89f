/**
 * The scenario: a seeded town, the ego's planned drive with its scripted events, and every moving
 * agent's track. `buildScenario` is a pure function of its options, so any thread can rebuild the
 * same world from the same seed.
 */
import { Path, SpeedProfile, normalizeAngle } from "./path.ts";
import { forkRng, type Rng } from "./rng.ts";
import {
  CAR_COLORS,
  layRoads,
  type MidBlockCrosswalk,
  parkCars,
  placeKiosks,
  ROAD,
  type Rgb,
  raiseBuildings,
  round4,
  type Town,
} from "./town.ts";

export type EventKind =
  | "hard-braking"
  | "pedestrian-crossing"
  | "cut-in"
  | "intersection-stop"
  | "cyclist-overtaking"
  | "u-turn"
  | "turn";

export const SCRIPTED_EVENTS: readonly EventKind[] = [
  "hard-braking",
  "pedestrian-crossing",
  "cut-in",
  "intersection-stop",
  "cyclist-overtaking",
  "u-turn",
];

export interface ScenarioEvent {
  kind: EventKind;
  startSecs: number;
  endSecs: number;
  /** The agent involved, when there is one. */
  trackId?: number;
  detail: Record<string, number | string>;
}

export type AgentClass = "car" | "pedestrian" | "cyclist";

/** Agents move on keyframes every KEYFRAME_SECS from the capture start, linearly interpolated. */
export const KEYFRAME_SECS = 0.1;

export interface AgentTrack {
  trackId: number;
  agentClass: AgentClass;
  /** "ambient" or the event this agent plays in. */
  role: "ambient" | EventKind;
  length: number;
  width: number;
  height: number;
  colorRgb: Rgb;
  reflectivity: number;
  /** Keyframe index of the first sample (time = firstKey × KEYFRAME_SECS). */
  firstKey: number;
  /** Box centre (x, y) and yaw in odom per keyframe, rounded to 0.1 mm / 1 µrad. */
  xs: number[];
  ys: number[];
  yaws: number[];
}

export interface AgentPose {
  x: number;
  y: number;
  yaw: number;
  vx: number;
  vy: number;
}

/** The ego's state at one instant, from the planned path and speed profile. */
export interface EgoState {
  /** base_link position in odom (z = 0: base_link is on the ground under the rear axle). */
  x: number;
  y: number;
  yaw: number;
  /** Velocity and acceleration of base_link in odom. */
  vx: number;
  vy: number;
  ax: number;
  ay: number;
  yawRate: number;
  /** Speed along the heading (m/s). */
  speed: number;
}

export interface ScenarioOptions {
  seed: number;
  durationSecs: number;
}

export interface Scenario {
  seed: number;
  durationSecs: number;
  town: Town;
  cruiseSpeed: number;
  path: Path;
  speed: SpeedProfile;
  events: ScenarioEvent[];
  agents: AgentTrack[];
}

/** Ego body: base_link is at the rear axle; the body spans x ∈ [−1.0, 3.6], y ∈ [−0.95, 0.95]. */
export const EGO_BODY = { rear: -1.0, front: 3.6, halfWidth: 0.95, height: 1.6 } as const;
/** base_link to the stop line when stopped at an intersection (front bumper 0.3 m before the line). */
const STOP_BACKOFF = ROAD.stopLineFar + 0.3 + EGO_BODY.front;

type Axis = "x" | "y";
interface RoadRef {
  axis: Axis;
  index: number;
  dir: 1 | -1;
}

export function buildScenario(options: ScenarioOptions): Scenario {
  const { seed, durationSecs } = options;
  const rngTown = forkRng(seed, "town");
  const roads = layRoads(rngTown);

  // Start mid-block on an inner road next to the town edge, heading inwards; shift the town so the
  // ego starts at the odom origin.
  const rngStart = forkRng(seed, "start");
  const axis: Axis = rngStart.chance(0.5) ? "x" : "y";
  const dir: 1 | -1 = rngStart.chance(0.5) ? 1 : -1;
  const along = axis === "x" ? roads.roadsX : roads.roadsY;
  const across = axis === "x" ? roads.roadsY : roads.roadsX;
  const n = along.length;
  const roadIndex = 1 + rngStart.int(across.length - 2);
  const startAlong =
    dir > 0
      ? ((along[0] as number) + (along[1] as number)) / 2
      : ((along[n - 2] as number) + (along[n - 1] as number)) / 2;
  const startRoad = across[roadIndex] as number;
  const heading = axis === "x" ? (dir > 0 ? 0 : Math.PI) : dir > 0 ? Math.PI / 2 : -Math.PI / 2;
  const startX = axis === "x" ? startAlong : startRoad + dir * ROAD.outerLane;
  const startY = axis === "x" ? startRoad - dir * ROAD.outerLane : startAlong;
  const town: Town = {
    roadsX: roads.roadsX.map((v) => v - startX),
    roadsY: roads.roadsY.map((v) => v - startY),
    boxes: [],
    crosswalks: [],
  };
  raiseBuildings(rngTown, town.roadsX, town.roadsY, town.boxes);
  placeKiosks(rngTown, town.roadsX, town.roadsY, town.boxes);

  const planner = new Planner(town, { axis, index: roadIndex, dir }, heading, forkRng(seed, "plan"));
  planner.run(durationSecs);
  parkCars(forkRng(seed, "parking"), town);

  const scenario: Scenario = {
    seed,
    durationSecs,
    town,
    cruiseSpeed: planner.cruise,
    path: planner.path,
    speed: planner.speed,
    events: planner.events,
    agents: [],
  };
  const keyCount = Math.floor(durationSecs / KEYFRAME_SECS) + 2;
  const egoKeys = egoKeyframes(scenario, keyCount);
  const trackIdOfSpec = new Map<number, number>();
  for (const spec of planner.agentSpecs) {
    const track = trackFromSpec(town, spec, scenario.agents.length + 1, keyCount);
    if (track) {
      scenario.agents.push(track);
      trackIdOfSpec.set(spec.specId, track.trackId);
    }
  }
  for (const event of planner.events) {
    const specId = event.trackId;
    delete event.trackId;
    const trackId = specId === undefined ? undefined : trackIdOfSpec.get(specId);
    if (trackId !== undefined) event.trackId = trackId;
  }
  addAmbientAgents(forkRng(seed, "ambient"), town, scenario.agents, egoKeys, keyCount);
  return scenario;
}

// ---------------------------------------------------------------------------------------------
// Ego state

export function egoStateAt(scenario: Scenario, tSecs: number): EgoState {
  const { u, v, accel } = scenario.speed.at(tSecs);
  const p = scenario.path.sample(u);
  const tNorm = Math.hypot(p.tx, p.ty);
  return {
    x: p.x,
    y: p.y,
    yaw: p.heading,
    vx: v * p.tx,
    vy: v * p.ty,
    ax: accel * p.tx + v * v * p.nx,
    ay: accel * p.ty + v * v * p.ny,
    yawRate: v * p.headingRate,
    speed: v * tNorm,
  };
}

function egoKeyframes(scenario: Scenario, keyCount: number): Float64Array {
  const out = new Float64Array(keyCount * 2);
  for (let k = 0; k < keyCount; k++) {
    const s = egoStateAt(scenario, k * KEYFRAME_SECS);
    // Body centre, 1.3 m ahead of base_link.
    out[2 * k] = s.x + Math.cos(s.yaw) * 1.3;
    out[2 * k + 1] = s.y + Math.sin(s.yaw) * 1.3;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Agents

/** An agent that moves along a road: `along(t)` on the road axis, `lateral(t)` right of travel. */
interface RoadAgentSpec {
  specId: number;
  agentClass: AgentClass;
  role: "ambient" | EventKind;
  road: RoadRef;
  startSecs: number;
  endSecs: number;
  along: (tSecs: number) => number;
  lateral: (tSecs: number) => number;
}

const AGENT_SIZES: Record<AgentClass, () => [number, number, number]> = {
  car: () => [4.5, 1.85, 1.5],
  pedestrian: () => [0.6, 0.6, 1.75],
  cyclist: () => [1.8, 0.6, 1.7],
};
const CLOTHES: Rgb[] = [
  [200, 40, 40],
  [40, 60, 160],
  [230, 200, 60],
  [50, 50, 50],
  [30, 140, 120],
  [240, 240, 240],
];

function roadPoint(town: Town, road: RoadRef, along: number, lateral: number): { x: number; y: number } {
  if (road.axis === "x") return { x: along, y: (town.roadsY[road.index] as number) - road.dir * lateral };
  return { x: (town.roadsX[road.index] as number) + road.dir * lateral, y: along };
}

function trackFromSpec(
  town: Town,
  spec: RoadAgentSpec,
  trackId: number,
  keyCount: number,
): AgentTrack | undefined {
  const k0 = Math.max(0, Math.ceil(spec.startSecs / KEYFRAME_SECS - 1e-9));
  const k1 = Math.min(keyCount - 1, Math.floor(spec.endSecs / KEYFRAME_SECS + 1e-9));
  if (k1 - k0 < 2) return undefined;
  const headingOfRoad =
    spec.road.axis === "x"
      ? spec.road.dir > 0
        ? 0
        : Math.PI
      : spec.road.dir > 0
        ? Math.PI / 2
        : -Math.PI / 2;
  const xs: number[] = [];
  const ys: number[] = [];
  const yaws: number[] = [];
  let yaw = headingOfRoad;
  for (let k = k0; k <= k1; k++) {
    const t = k * KEYFRAME_SECS;
    const p = roadPoint(town, spec.road, spec.along(t), spec.lateral(t));
    const a = roadPoint(town, spec.road, spec.along(t - 0.05), spec.lateral(t - 0.05));
    const b = roadPoint(town, spec.road, spec.along(t + 0.05), spec.lateral(t + 0.05));
    if (Math.hypot(b.x - a.x, b.y - a.y) > 0.02) yaw = Math.atan2(b.y - a.y, b.x - a.x);
    xs.push(round4(p.x));
    ys.push(round4(p.y));
    yaws.push(Math.round(yaw * 1e6) / 1e6);
  }
  const rng = forkRng(trackId, `look-${spec.agentClass}`);
  const [length, width, height] = AGENT_SIZES[spec.agentClass]();
  return {
    trackId,
    agentClass: spec.agentClass,
    role: spec.role,
    length,
    width,
    height: spec.agentClass === "pedestrian" ? round4(rng.range(1.55, 1.9)) : height,
    colorRgb: spec.agentClass === "car" ? rng.pick(CAR_COLORS) : rng.pick(CLOTHES),
    reflectivity: spec.agentClass === "car" ? 0.6 : 0.35,
    firstKey: k0,
    xs,
    ys,
    yaws,
  };
}

/** Pose and velocity of an agent at time t, or undefined when it does not exist then. */
export function agentPoseAt(track: AgentTrack, tSecs: number): AgentPose | undefined {
  const f = tSecs / KEYFRAME_SECS - track.firstKey;
  const last = track.xs.length - 1;
  if (f < -1e-9 || f > last + 1e-9) return undefined;
  const i = Math.min(last - 1, Math.max(0, Math.floor(f)));
  const w = Math.min(1, Math.max(0, f - i));
  const x0 = track.xs[i] as number;
  const y0 = track.ys[i] as number;
  const x1 = track.xs[i + 1] as number;
  const y1 = track.ys[i + 1] as number;
  const yaw0 = track.yaws[i] as number;
  const yaw1 = track.yaws[i + 1] as number;
  return {
    x: x0 + (x1 - x0) * w,
    y: y0 + (y1 - y0) * w,
    yaw: normalizeAngle(yaw0 + normalizeAngle(yaw1 - yaw0) * w),
    vx: (x1 - x0) / KEYFRAME_SECS,
    vy: (y1 - y0) / KEYFRAME_SECS,
  };
}

const CLEARANCE: Record<AgentClass | "ego", number> = { ego: 2.9, car: 2.6, cyclist: 1.1, pedestrian: 0.5 };

function collides(
  candidate: AgentTrack,
  others: readonly AgentTrack[],
  egoKeys: Float64Array,
  keyCount: number,
): boolean {
  const rc = CLEARANCE[candidate.agentClass];
  for (let i = 0; i < candidate.xs.length; i++) {
    const k = candidate.firstKey + i;
    if (k >= keyCount) break;
    const x = candidate.xs[i] as number;
    const y = candidate.ys[i] as number;
    const ex = (egoKeys[2 * k] as number) - x;
    const ey = (egoKeys[2 * k + 1] as number) - y;
    const re = rc + CLEARANCE.ego + 0.5;
    if (ex * ex + ey * ey < re * re) return true;
    for (const other of others) {
      const j = k - other.firstKey;
      if (j < 0 || j >= other.xs.length) continue;
      const dx = (other.xs[j] as number) - x;
      const dy = (other.ys[j] as number) - y;
      const r = rc + CLEARANCE[other.agentClass] + 0.5;
      if (dx * dx + dy * dy < r * r) return true;
    }
  }
  return false;
}

function addAmbientAgents(
  rng: Rng,
  town: Town,
  agents: AgentTrack[],
  egoKeys: Float64Array,
  keyCount: number,
): void {
  const durationSecs = (keyCount - 1) * KEYFRAME_SECS;
  const tryAdd = (spec: RoadAgentSpec): void => {
    const track = trackFromSpec(town, spec, agents.length + 1, keyCount);
    if (track && !collides(track, agents, egoKeys, keyCount)) agents.push(track);
  };
  const randomRoad = (): RoadRef => {
    const axis: Axis = rng.chance(0.5) ? "x" : "y";
    const across = axis === "x" ? town.roadsY : town.roadsX;
    return { axis, index: rng.int(across.length), dir: rng.chance(0.5) ? 1 : -1 };
  };
  const span = (axis: Axis): [number, number] => {
    const along = axis === "x" ? town.roadsX : town.roadsY;
    return [(along[0] as number) - 60, (along[along.length - 1] as number) + 60];
  };
  const through = (agentClass: AgentClass, lateral: number, v: number): void => {
    const road = randomRoad();
    const [lo, hi] = span(road.axis);
    const length = hi - lo;
    const enter = rng.range(-length / v, durationSecs);
    const a0 = road.dir > 0 ? lo : hi;
    tryAdd({
      specId: -1,
      agentClass,
      role: "ambient",
      road,
      startSecs: Math.max(0, enter),
      endSecs: Math.min(durationSecs, enter + length / v),
      along: (t) => a0 + road.dir * v * (t - enter),
      lateral: () => lateral,
    });
  };
  for (let attempt = 0; attempt < 70; attempt++) {
    through("car", rng.chance(0.6) ? ROAD.outerLane : ROAD.innerLane, rng.range(7, 11.5));
  }
  for (let attempt = 0; attempt < 10; attempt++) through("cyclist", 6.4, rng.range(4, 6));
  for (let attempt = 0; attempt < 40; attempt++) {
    // A pedestrian pacing one block's sidewalk back and forth.
    const road = randomRoad();
    const crossings = road.axis === "x" ? town.roadsX : town.roadsY;
    const block = rng.int(crossings.length - 1);
    const from = (crossings[block] as number) + 15;
    const to = (crossings[block + 1] as number) - 15;
    const v = rng.range(1.0, 1.6);
    const phase = rng.range(0, (2 * (to - from)) / v);
    const lateral = (rng.chance(0.5) ? 1 : -1) * (ROAD.sidewalkCenter + rng.range(-0.6, 0.6));
    tryAdd({
      specId: -1,
      agentClass: "pedestrian",
      role: "ambient",
      road,
      startSecs: 0,
      endSecs: durationSecs,
      along: (t) => {
        const d = (v * (t + phase)) % (2 * (to - from));
        return from + (d <= to - from ? d : 2 * (to - from) - d);
      },
      lateral: () => lateral,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The ego planner: appends path geometry, then plans speed over it, one manoeuvre at a time.

/** A speed profile for an agent that starts at (t0, u0, v0). */
function agentProfile(t0: number, v0: number): SpeedProfile {
  const p = new SpeedProfile();
  p.tSecs = t0;
  p.v = v0;
  p.hold(0.001);
  return p;
}

function piecewiseLinear(times: number[], values: number[]): (t: number) => number {
  return (t) => {
    if (t <= (times[0] as number)) return values[0] as number;
    for (let i = 1; i < times.length; i++) {
      const t1 = times[i] as number;
      if (t <= t1) {
        const t0 = times[i - 1] as number;
        const w = (t - t0) / (t1 - t0);
        return (values[i - 1] as number) + w * ((values[i] as number) - (values[i - 1] as number));
      }
    }
    return values[values.length - 1] as number;
  };
}

const smoothstep = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : (1 - Math.cos(Math.PI * x)) / 2);

class Planner {
  readonly path: Path;
  readonly speed = new SpeedProfile();
  readonly events: ScenarioEvent[] = [];
  readonly agentSpecs: RoadAgentSpec[] = [];
  readonly cruise: number;
  private road: RoadRef;
  /** Path u where the current road run began, and the along-coordinate there. */
  private runU0 = 0;
  private runAlong0: number;
  private nextSpecId = 1;

  constructor(
    private readonly town: Town,
    road: RoadRef,
    heading: number,
    private readonly rng: Rng,
  ) {
    this.road = road;
    this.path = new Path(0, 0, heading);
    this.runAlong0 = 0;
    this.cruise = round4(rng.range(8, 10));
  }

  private crossings(): number[] {
    return this.road.axis === "x" ? this.town.roadsX : this.town.roadsY;
  }

  /** Along-coordinate (on the current road) of path position u. */
  private alongAt(u: number): number {
    return this.runAlong0 + this.road.dir * (u - this.runU0);
  }

  private uOfAlong(along: number): number {
    return this.runU0 + this.road.dir * (along - this.runAlong0);
  }

  /** Crossing roads strictly ahead of position u, nearest first: [coordinate, index]. */
  private crossingsAhead(u: number): Array<[number, number]> {
    const a = this.alongAt(u);
    const out: Array<[number, number]> = [];
    this.crossings().forEach((c, i) => {
      if (this.road.dir * (c - a) > 0.5) out.push([c, i]);
    });
    out.sort((p, q) => this.road.dir * (p[0] - q[0]));
    return out;
  }

  /** Straight distance available from u before the ego must be braking for a final turn. */
  private room(u: number): number {
    const ahead = this.crossingsAhead(u);
    const last = ahead[ahead.length - 1];
    if (!last) return 0;
    return this.road.dir * (last[0] - this.alongAt(u)) - ROAD.halfWidth - this.speed.distanceTo(4, 2.5) - 8;
  }

  /** Extends the path straight to u; geometry appended next starts there (never behind the path end). */
  private extendTo(u: number): void {
    if (u < this.path.length - 1e-6 && u > this.speed.u + 1e-6) {
      throw new RangeError(`path already extends past ${u}`);
    }
    if (u > this.path.length) this.path.line(u - this.path.length);
  }

  private addEvent(
    kind: EventKind,
    startSecs: number,
    endSecs: number,
    detail: ScenarioEvent["detail"],
    specId?: number,
  ): void {
    const event: ScenarioEvent = { kind, startSecs, endSecs, detail };
    if (specId !== undefined) event.trackId = specId;
    this.events.push(event);
  }

  private spec(s: Omit<RoadAgentSpec, "specId">): number {
    const specId = this.nextSpecId++;
    this.agentSpecs.push({ ...s, specId });
    return specId;
  }

  /** Ego along-coordinate at time t, valid while the ego is on the current road run. */
  private egoAlong(): (t: number) => number {
    const speed = this.speed;
    const a0 = this.runAlong0;
    const u0 = this.runU0;
    const dir = this.road.dir;
    return (t) => a0 + dir * (speed.at(t).u - u0);
  }

  run(durationSecs: number): void {
    const rng = this.rng;
    this.speed.rampTo(this.cruise, 2.5);
    this.speed.hold(rng.range(0.3, 0.8));
    this.extendTo(this.speed.u);
    const pending = rng.shuffled(SCRIPTED_EVENTS);
    for (let guard = 0; pending.length > 0 && guard < 20; guard++) {
      // The first pending event that fits the straight road ahead; otherwise one that turns the ego
      // (an intersection stop or a U-turn), otherwise a plain turn at the next junction.
      const room = this.room(this.speed.u);
      let index = pending.indexOf("intersection-stop");
      const stopAhead = this.stopDistanceAhead();
      if (index < 0 || stopAhead === undefined || stopAhead > this.speed.distanceTo(0, 2.5) + 25) {
        index = pending.findIndex((kind) => kind !== "intersection-stop" && this.roomNeeded(kind) <= room);
      }
      if (index < 0) index = pending.findIndex((kind) => kind === "intersection-stop");
      if (index < 0) {
        this.turnAtNextIntersection();
        continue;
      }
      const kind = pending[index] as EventKind;
      pending.splice(index, 1);
      this.perform(kind);
      this.speed.hold(rng.range(0.2, 0.6));
      this.extendTo(this.speed.u);
    }
    while (this.speed.tSecs < durationSecs + 3) {
      const before = this.speed.tSecs;
      if (this.room(this.speed.u) < 30) this.turnAtNextIntersection();
      if (this.speed.tSecs === before) this.speed.hold(1);
      this.extendTo(this.speed.u);
    }
  }

  private roomNeeded(kind: EventKind): number {
    const v = this.cruise;
    switch (kind) {
      case "hard-braking":
        return v * 3 + 25;
      case "pedestrian-crossing":
        return v * 2 + 45;
      case "cut-in":
        return v * 4.5 + 25;
      case "cyclist-overtaking":
        return v * 8 + 30;
      case "u-turn":
        return 45;
      default:
        return 40;
    }
  }

  private perform(kind: EventKind): void {
    switch (kind) {
      case "hard-braking":
        return this.hardBraking();
      case "pedestrian-crossing":
        return this.pedestrianCrossing();
      case "cut-in":
        return this.cutIn();
      case "intersection-stop":
        return this.intersectionStop();
      case "cyclist-overtaking":
        return this.cyclistOvertaking();
      case "u-turn":
        return this.uTurn();
      case "turn":
        return this.turnAtNextIntersection();
    }
  }

  private hardBraking(): void {
    const rng = this.rng;
    const sp = this.speed;
    const v = this.cruise;
    const egoAlong = this.egoAlong();
    const tSpawn = sp.tSecs;
    sp.hold(rng.range(2.0, 2.6));
    const tBrake = sp.tSecs;
    const decel = round4(rng.range(5.5, 7));
    const vLow = 2.5;
    sp.rampTo(vLow, decel);
    const tBrakeEnd = sp.tSecs;
    sp.hold(0.6);
    sp.rampTo(v, 2.8);
    this.extendTo(sp.u);
    // The lead car: 3 m/s slower than the ego, ~22 m ahead at tBrake; it brakes first, harder.
    const vLead = v - 3;
    const along0 = egoAlong(tSpawn) + this.road.dir * (22 + 3 * (tBrake - tSpawn));
    const lead = agentProfile(tSpawn, vLead);
    lead.hold(tBrake - 0.4 - lead.tSecs);
    lead.rampTo(1.5, 7.5);
    lead.hold(tBrakeEnd + 1.2 - lead.tSecs);
    lead.rampTo(12, 2.5);
    lead.hold(30);
    const dir = this.road.dir;
    const specId = this.spec({
      agentClass: "car",
      role: "hard-braking",
      road: { ...this.road },
      startSecs: tSpawn,
      endSecs: tBrake + 12,
      along: (t) => along0 + dir * lead.at(t).u,
      lateral: () => ROAD.outerLane,
    });
    this.addEvent("hard-braking", tBrake, tBrakeEnd, { decelMps2: -decel, fromMps: v, toMps: vLow }, specId);
  }

  /** A mid-block along-coordinate at least `minAhead` metres past u, clear of junction zones. */
  private midBlockAhead(u: number, minAhead: number, clearance: number): number | undefined {
    let a = this.alongAt(u + minAhead);
    const crossings = this.crossings();
    for (let guard = 0; guard < 400; guard++) {
      const near = crossings.find((c) => Math.abs(c - a) < clearance);
      if (near === undefined) return a;
      a += this.road.dir * 2;
    }
    return undefined;
  }

  private pedestrianCrossing(): void {
    const rng = this.rng;
    const sp = this.speed;
    const braking = sp.distanceTo(0, 2.5);
    const along = this.midBlockAhead(sp.u, braking + 10, 26);
    if (along === undefined) return;
    const uCrosswalk = this.uOfAlong(along);
    this.town.crosswalks.push({
      axis: this.road.axis,
      roadIndex: this.road.index,
      along,
    } satisfies MidBlockCrosswalk);
    const uStop = uCrosswalk - ROAD.midCrosswalkHalf - 2.0 - EGO_BODY.front;
    const tBrake = sp.tSecs + (uStop - braking - sp.u) / sp.v;
    sp.reachSpeedAt(0, uStop, 2.5);
    const tStop = sp.tSecs;
    const walk = round4(rng.range(1.3, 1.6));
    const tCurb = tStop - 2.4;
    const tClear = tCurb + (ROAD.halfWidth - (ROAD.outerLane - ROAD.laneWidth / 2 - 0.4)) / walk;
    const tWalk0 = tCurb - (ROAD.sidewalkCenter - ROAD.halfWidth) / walk;
    const tApproach = tWalk0 - 5;
    const tFar = tCurb + (ROAD.halfWidth + ROAD.sidewalkCenter) / walk;
    sp.hold(tClear + 0.6 - sp.tSecs);
    const tGo = sp.tSecs;
    sp.rampTo(this.cruise, 2.6);
    this.extendTo(sp.u);
    const dir = this.road.dir;
    const specId = this.spec({
      agentClass: "pedestrian",
      role: "pedestrian-crossing",
      road: { ...this.road },
      startSecs: tApproach,
      endSecs: tFar + 5,
      along: piecewiseLinear(
        [tApproach, tWalk0, tFar, tFar + 5],
        [along + dir * 5 * walk, along, along, along - dir * 5 * walk],
      ),
      lateral: piecewiseLinear([tWalk0, tFar], [ROAD.sidewalkCenter, -ROAD.sidewalkCenter]),
    });
    this.addEvent(
      "pedestrian-crossing",
      tCurb,
      tClear,
      { stopSecs: round4(tGo - tStop), brakeStartSecs: round4(tBrake) },
      specId,
    );
  }

  private cutIn(): void {
    const rng = this.rng;
    const sp = this.speed;
    const v = this.cruise;
    const egoAlong = this.egoAlong();
    const tSpawn = sp.tSecs;
    sp.hold(4.5);
    const tCut = sp.tSecs;
    const change = round4(rng.range(2.0, 3.0));
    sp.hold(0.6);
    sp.rampTo(v - 3, 2.5);
    sp.rampTo(v, 2.0);
    this.extendTo(sp.u);
    const dir = this.road.dir;
    const car = agentProfile(tSpawn, v + 4);
    car.hold(tCut - 1 - car.tSecs);
    car.rampTo(v + 1, 1.5);
    car.hold(30);
    const along0 = egoAlong(tSpawn) - dir * 6;
    const specId = this.spec({
      agentClass: "car",
      role: "cut-in",
      road: { ...this.road },
      startSecs: tSpawn,
      endSecs: tCut + 12,
      along: (t) => along0 + dir * car.at(t).u,
      lateral: (t) => ROAD.innerLane + (ROAD.outerLane - ROAD.innerLane) * smoothstep((t - tCut) / change),
    });
    this.addEvent("cut-in", tCut, tCut + change, { laneChangeSecs: change }, specId);
  }

  private cyclistOvertaking(): void {
    const rng = this.rng;
    const sp = this.speed;
    const v = this.cruise;
    const vBike = round4(rng.range(3.5, 4.3));
    const dv = v - vBike;
    const egoAlong = this.egoAlong();
    const t0 = sp.tSecs;
    const u0 = sp.u;
    const gap0 = 28;
    const shiftLength = 30;
    const t1 = t0 + (gap0 - 17) / dv;
    const t2 = t0 + (gap0 + 10) / dv;
    const u1 = u0 + v * (t1 - t0);
    const u2 = u0 + v * (t2 - t0);
    this.extendTo(u1);
    this.path.shift(shiftLength, ROAD.laneWidth);
    this.extendTo(u2);
    this.path.shift(shiftLength, -ROAD.laneWidth);
    sp.holdUntil(u2 + shiftLength);
    const tEnd = sp.tSecs;
    const dir = this.road.dir;
    const along0 = egoAlong(t0) + dir * gap0;
    const specId = this.spec({
      agentClass: "cyclist",
      role: "cyclist-overtaking",
      road: { ...this.road },
      startSecs: t0 - 1,
      endSecs: tEnd + 8,
      along: (t) => along0 + dir * vBike * (t - t0),
      lateral: () => 6.4,
    });
    this.addEvent("cyclist-overtaking", t1, tEnd, { cyclistMps: vBike }, specId);
  }

  private uTurn(): void {
    const sp = this.speed;
    const vTurn = 3.5;
    const along = this.midBlockAhead(sp.u, sp.distanceTo(vTurn, 2.5) + 5, 30);
    if (along === undefined) return;
    const uStart = this.uOfAlong(along);
    this.extendTo(uStart);
    const radius = ROAD.outerLane;
    this.path.arc(radius, Math.PI, 1);
    const uEnd = this.path.length;
    sp.reachSpeedAt(vTurn, uStart, 2.5);
    const tStart = sp.tSecs;
    sp.holdUntil(uEnd);
    const tEnd = sp.tSecs;
    sp.rampTo(this.cruise, 2.5);
    this.road = { ...this.road, dir: this.road.dir > 0 ? -1 : 1 };
    this.runU0 = uEnd;
    this.runAlong0 = along;
    this.extendTo(sp.u);
    this.addEvent("u-turn", tStart, tEnd, { radiusM: radius });
  }

  /** Turn options at a crossing road index that leave road ahead. */
  private turnOptions(crossIndex: number): Array<"left" | "right" | "straight"> {
    const options: Array<"left" | "right" | "straight"> = [];
    const alongCount = this.crossings().length;
    if (crossIndex + this.road.dir >= 0 && crossIndex + this.road.dir < alongCount) options.push("straight");
    const acrossCount = (this.road.axis === "x" ? this.town.roadsY : this.town.roadsX).length;
    for (const side of ["left", "right"] as const) {
      const newDir = this.turnedRoad(side, crossIndex).dir;
      const next = this.road.index + newDir;
      if (next >= 0 && next < acrossCount) options.push(side);
    }
    return options;
  }

  private turnedRoad(side: "left" | "right", crossIndex: number): RoadRef {
    // Heading after a left turn is heading + 90°.
    const d = this.road.dir;
    const axis: Axis = this.road.axis === "x" ? "y" : "x";
    // From +x, left is +y; from +y, left is −x.
    const dir = (this.road.axis === "x" ? (side === "left" ? d : -d) : side === "left" ? -d : d) as 1 | -1;
    return { axis, index: crossIndex, dir };
  }

  /** Appends the arc of a turn at the crossing (coordinate c, index i); returns [uArcStart, uArcEnd]. */
  private appendTurn(c: number, crossIndex: number, side: "left" | "right"): [number, number] {
    const uEntry = this.uOfAlong(c - this.road.dir * ROAD.halfWidth);
    this.extendTo(uEntry);
    const radius = side === "left" ? ROAD.halfWidth + ROAD.outerLane : ROAD.halfWidth - ROAD.outerLane;
    this.path.arc(radius, Math.PI / 2, side === "left" ? 1 : -1);
    const uEnd = this.path.length;
    const oldRoad = this.road;
    this.road = this.turnedRoad(side, crossIndex);
    const roadCoord = (oldRoad.axis === "x" ? this.town.roadsY : this.town.roadsX)[oldRoad.index] as number;
    this.runU0 = uEnd;
    // After the arc the ego is ROAD.halfWidth past the old road's centre line.
    this.runAlong0 = roadCoord + this.road.dir * ROAD.halfWidth;
    return [uEntry, uEnd];
  }

  /** Straight distance available after leaving the junction (coordinate c, index i) by `option`. */
  private roomAfter(c: number, crossIndex: number, option: "left" | "right" | "straight"): number {
    if (option === "straight") {
      const crossings = this.crossings();
      const last = this.road.dir > 0 ? crossings[crossings.length - 1] : crossings[0];
      return Math.abs((last as number) - c);
    }
    const road = this.turnedRoad(option, crossIndex);
    const across = this.road.axis === "x" ? this.town.roadsY : this.town.roadsX;
    const here = across[this.road.index] as number;
    const last = road.dir > 0 ? across[across.length - 1] : across[0];
    return Math.abs((last as number) - here);
  }

  /** Options leaving plenty of road are drawn at random; otherwise the roomiest one. */
  private pickTurn(
    c: number,
    crossIndex: number,
    options: Array<"left" | "right" | "straight">,
  ): "left" | "right" | "straight" {
    const roomy = options.filter((o) => this.roomAfter(c, crossIndex, o) >= 170);
    if (roomy.length > 0) return this.rng.pick(roomy);
    let best = options[0] ?? "straight";
    for (const o of options)
      if (this.roomAfter(c, crossIndex, o) > this.roomAfter(c, crossIndex, best)) best = o;
    return best;
  }

  private turnAtNextIntersection(): void {
    const sp = this.speed;
    const braking = sp.distanceTo(3.5, 2.5);
    const ahead = this.crossingsAhead(sp.u);
    const target =
      ahead.find(([c]) => this.road.dir * (c - this.alongAt(sp.u)) - ROAD.halfWidth > braking + 5) ??
      ahead[0];
    if (!target) return;
    const [c, crossIndex] = target;
    const options = this.turnOptions(crossIndex).filter((o) => o !== "straight");
    if (options.length === 0) return;
    const side = this.pickTurn(c, crossIndex, options) as "left" | "right";
    const vTurn = side === "left" ? 5 : 3.5;
    const [uStart, uEnd] = this.appendTurn(c, crossIndex, side);
    const tBrake = sp.tSecs;
    sp.reachSpeedAt(vTurn, uStart, 2.5);
    const tStart = sp.tSecs;
    sp.holdUntil(uEnd);
    const tEnd = sp.tSecs;
    sp.rampTo(this.cruise, 2.5);
    this.extendTo(sp.u);
    this.addEvent("turn", tStart, tEnd, { direction: side, brakeStartSecs: round4(tBrake) });
  }

  /** Distance from the ego to the stop position of the first junction it can still stop at. */
  private stopDistanceAhead(): number | undefined {
    const sp = this.speed;
    const braking = sp.distanceTo(0, 2.5);
    for (const [c] of this.crossingsAhead(sp.u)) {
      const d = this.road.dir * (c - this.alongAt(sp.u)) - STOP_BACKOFF;
      if (d > braking + 3) return d;
    }
    return undefined;
  }

  private intersectionStop(): void {
    const rng = this.rng;
    const sp = this.speed;
    const braking = sp.distanceTo(0, 2.5);
    const ahead = this.crossingsAhead(sp.u);
    const target = ahead.find(([c]) => this.road.dir * (c - this.alongAt(sp.u)) - STOP_BACKOFF > braking + 3);
    if (!target) return;
    const [c, crossIndex] = target;
    const uStop = this.uOfAlong(c - this.road.dir * STOP_BACKOFF);
    const tBrake = sp.tSecs + Math.max(0, (uStop - braking - sp.u) / sp.v);
    this.extendTo(uStop);
    sp.reachSpeedAt(0, uStop, 2.5);
    const tStop = sp.tSecs;
    const wait = round4(rng.range(2.2, 3.5));
    // Cross traffic passes in front while the ego waits.
    const crossRoad = this.turnedRoad("left", crossIndex);
    if (rng.chance(0.5)) crossRoad.dir = crossRoad.dir > 0 ? -1 : 1;
    const roadCoord = (this.road.axis === "x" ? this.town.roadsY : this.town.roadsX)[
      this.road.index
    ] as number;
    const vCross = 9;
    const tCenter = tStop + 0.8;
    const crossDir = crossRoad.dir;
    const crossSpec = this.spec({
      agentClass: "car",
      role: "intersection-stop",
      road: crossRoad,
      startSecs: tCenter - 60 / vCross,
      endSecs: tCenter + 60 / vCross,
      along: (t) => roadCoord + crossDir * vCross * (t - tCenter),
      lateral: () => ROAD.outerLane,
    });
    sp.hold(wait);
    const tGo = sp.tSecs;
    const options = this.turnOptions(crossIndex);
    const choice = this.pickTurn(c, crossIndex, options);
    if (choice === "straight") {
      sp.rampTo(this.cruise, 2.5);
      this.extendTo(sp.u);
    } else {
      const vTurn = choice === "left" ? 5 : 3.5;
      const [, uEnd] = this.appendTurn(c, crossIndex, choice);
      sp.rampTo(vTurn, 2);
      sp.holdUntil(uEnd);
      sp.rampTo(this.cruise, 2.5);
      this.extendTo(sp.u);
    }
    this.addEvent(
      "intersection-stop",
      tBrake,
      tGo,
      { waitSecs: wait, then: choice, stopSecs: round4(tStop) },
      crossSpec,
    );
  }
}
