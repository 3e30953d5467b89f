/**
 * The static town: a grid of two-way roads (two lanes each way plus parking lanes), sidewalks,
 * buildings as boxes, parked cars and magenta kiosks (calibration landmarks at some corners).
 * Coordinates are metres in the `odom` frame, which is East-North-Up with its origin at the ego's
 * start position.
 */
import type { Rng } from "./rng.ts";

/** Cross-section of every road, as signed lateral offsets from the centre line (metres). */
export const ROAD = {
  halfWidth: 9.5,
  laneWidth: 3.5,
  /** Centre of the outer (right-hand) driving lane; the ego's lane. */
  outerLane: 5.25,
  /** Centre of the inner (overtaking) lane. */
  innerLane: 1.75,
  parkingLane: 8.25,
  edgeLine: 7.0,
  sidewalkOuter: 13.0,
  sidewalkCenter: 11.3,
  /** Zebra crossings at intersections span this distance range from the crossing road's centre line. */
  crosswalkNear: 10.0,
  crosswalkFar: 13.0,
  stopLineNear: 13.5,
  stopLineFar: 13.9,
  /** Half length (along the road) of a mid-block zebra crossing. */
  midCrosswalkHalf: 1.5,
} as const;

export type Rgb = readonly [number, number, number];

export type StaticBoxKind = "building" | "parked-car" | "kiosk";

/** An upright box standing on the ground (z from 0 to height). */
export interface StaticBox {
  boxId: number;
  kind: StaticBoxKind;
  centerX: number;
  centerY: number;
  yawRad: number;
  /** Size along the box's own x (length), y (width) and z (height), metres. */
  length: number;
  width: number;
  height: number;
  colorRgb: Rgb;
  /** Lidar reflectivity in [0, 1]. */
  reflectivity: number;
}

export interface MidBlockCrosswalk {
  /** "x": on a horizontal road (y = roadsY[roadIndex]) at x = along; "y": on a vertical road. */
  axis: "x" | "y";
  roadIndex: number;
  along: number;
}

export interface Town {
  /** x of each north-south road, ascending. */
  roadsX: number[];
  /** y of each east-west road, ascending. */
  roadsY: number[];
  boxes: StaticBox[];
  crosswalks: MidBlockCrosswalk[];
}

/** Ground materials; index into the render palette and lidar reflectivity tables. */
export const GROUND = { grass: 0, asphalt: 1, sidewalk: 2, white: 3, yellow: 4 } as const;
export const GROUND_COUNT = 5;

/** Road coordinates of a town (before buildings), in town-local metres. */
export function layRoads(rng: Rng): { roadsX: number[]; roadsY: number[] } {
  const count = 6;
  const line = (): number[] => {
    const out = [0];
    for (let i = 1; i < count; i++) out.push((out[i - 1] as number) + Math.round(rng.range(72, 104)));
    return out;
  };
  return { roadsX: line(), roadsY: line() };
}

const BUILDING_COLORS: Rgb[] = [
  [196, 178, 150],
  [160, 82, 64],
  [140, 144, 150],
  [214, 208, 196],
  [112, 124, 140],
  [180, 120, 90],
  [90, 96, 104],
  [200, 190, 120],
];

export const CAR_COLORS: Rgb[] = [
  [170, 20, 24],
  [24, 56, 150],
  [190, 192, 196],
  [30, 30, 34],
  [236, 236, 232],
  [40, 110, 60],
  [220, 170, 30],
];

export const KIOSK_COLOR: Rgb = [255, 0, 255];

/** Buildings in every block, including a ring of blocks outside the outermost roads. */
export function raiseBuildings(rng: Rng, roadsX: number[], roadsY: number[], boxes: StaticBox[]): void {
  const ring = 46;
  const edges = (roads: number[]): Array<[number, number]> => {
    const out: Array<[number, number]> = [];
    const first = roads[0] as number;
    const last = roads[roads.length - 1] as number;
    out.push([first - ROAD.sidewalkOuter - ring, first - ROAD.sidewalkOuter]);
    for (let i = 0; i + 1 < roads.length; i++) {
      out.push([(roads[i] as number) + ROAD.sidewalkOuter, (roads[i + 1] as number) - ROAD.sidewalkOuter]);
    }
    out.push([last + ROAD.sidewalkOuter, last + ROAD.sidewalkOuter + ring]);
    return out;
  };
  for (const [x0, x1] of edges(roadsX)) {
    for (const [y0, y1] of edges(roadsY)) {
      const lotsX = Math.max(1, Math.min(3, Math.round((x1 - x0) / rng.range(22, 34))));
      const lotsY = Math.max(1, Math.min(3, Math.round((y1 - y0) / rng.range(22, 34))));
      const lotW = (x1 - x0) / lotsX;
      const lotH = (y1 - y0) / lotsY;
      for (let i = 0; i < lotsX; i++) {
        for (let j = 0; j < lotsY; j++) {
          if (rng.chance(0.12)) continue; // an empty lot (a small park)
          const inset = (): number => rng.range(0.5, 3.5);
          const bx0 = x0 + i * lotW + inset();
          const bx1 = x0 + (i + 1) * lotW - inset();
          const by0 = y0 + j * lotH + inset();
          const by1 = y0 + (j + 1) * lotH - inset();
          if (bx1 - bx0 < 6 || by1 - by0 < 6) continue;
          boxes.push({
            boxId: boxes.length,
            kind: "building",
            centerX: round4((bx0 + bx1) / 2),
            centerY: round4((by0 + by1) / 2),
            yawRad: 0,
            length: round4(bx1 - bx0),
            width: round4(by1 - by0),
            height: round4(rng.chance(0.15) ? rng.range(24, 40) : rng.range(6, 20)),
            colorRgb: rng.pick(BUILDING_COLORS),
            reflectivity: round4(rng.range(0.3, 0.6)),
          });
        }
      }
    }
  }
}

/** Advertising kiosks (bright magenta, 1 × 1 × 3.2 m, taller than cars and people) on most intersection corners. */
export function placeKiosks(rng: Rng, roadsX: number[], roadsY: number[], boxes: StaticBox[]): void {
  const c = (ROAD.halfWidth + ROAD.sidewalkOuter) / 2 + 0.3;
  for (const x of roadsX) {
    for (const y of roadsY) {
      if (!rng.chance(0.8)) continue;
      const sx = rng.chance(0.5) ? 1 : -1;
      const sy = rng.chance(0.5) ? 1 : -1;
      boxes.push({
        boxId: boxes.length,
        kind: "kiosk",
        centerX: round4(x + sx * c),
        centerY: round4(y + sy * c),
        yawRad: 0,
        length: 1,
        width: 1,
        height: 3.2,
        colorRgb: KIOSK_COLOR,
        reflectivity: 0.9,
      });
    }
  }
}

/** Parked cars along both kerbs of every block edge, keeping clear of junctions and crosswalks. */
export function parkCars(rng: Rng, town: Town): void {
  const { roadsX, roadsY, boxes, crosswalks } = town;
  const place = (axis: "x" | "y", roadIndex: number, crossings: number[], road: number): void => {
    for (let i = 0; i + 1 < crossings.length; i++) {
      const from = (crossings[i] as number) + 16;
      const to = (crossings[i + 1] as number) - 16;
      for (const side of [-1, 1]) {
        let a = from + rng.range(0, 6);
        while (a + 4.6 < to) {
          const length = rng.range(4.2, 4.9);
          const center = a + length / 2;
          const blocked = crosswalks.some(
            (cw) => cw.axis === axis && cw.roadIndex === roadIndex && Math.abs(cw.along - center) < 8,
          );
          if (!blocked && rng.chance(0.55)) {
            const lateral = side * ROAD.parkingLane;
            boxes.push({
              boxId: boxes.length,
              kind: "parked-car",
              centerX: round4(axis === "x" ? center : road + lateral),
              centerY: round4(axis === "x" ? road + lateral : center),
              yawRad: axis === "x" ? (side < 0 ? 0 : Math.PI) : side > 0 ? Math.PI / 2 : -Math.PI / 2,
              length: round4(length),
              width: round4(rng.range(1.75, 1.95)),
              height: round4(rng.range(1.4, 1.75)),
              colorRgb: rng.pick(CAR_COLORS),
              reflectivity: round4(rng.range(0.45, 0.8)),
            });
          }
          a += length + rng.range(0.8, 7);
        }
      }
    }
  };
  roadsY.forEach((y, j) => place("x", j, roadsX, y));
  roadsX.forEach((x, i) => place("y", i, roadsY, x));
}

/** Index of the value in a short ascending array nearest to v. */
export function nearestIndex(values: readonly number[], v: number): number {
  let best = 0;
  let bestD = Number.POSITIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const d = Math.abs((values[i] as number) - v);
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

const HALF_WIDTH = ROAD.halfWidth;
const ZEBRA_PERIOD = 0.8;
const DASH_PERIOD = 9;

/**
 * Nearest-road lookups for the ground function, at 1 m resolution. Near the midpoint between two
 * roads either index is equally good: every marking threshold is far below half a block.
 */
class NearestRoad {
  private readonly origin: number;
  private readonly table: Uint8Array;
  constructor(private readonly roads: readonly number[]) {
    this.origin = Math.floor((roads[0] as number) - 1);
    const end = Math.ceil((roads[roads.length - 1] as number) + 1);
    this.table = new Uint8Array(end - this.origin + 1);
    for (let i = 0; i < this.table.length; i++) this.table[i] = nearestIndex(roads, this.origin + i + 0.5);
  }
  index(v: number): number {
    const i = Math.floor(v - this.origin);
    if (i < 0) return 0;
    if (i >= this.table.length) return this.roads.length - 1;
    return this.table[i] as number;
  }
}

/** Fast ground-material queries for one town (build once, query per pixel or lidar return). */
export class GroundSampler {
  private readonly nearestX: NearestRoad;
  private readonly nearestY: NearestRoad;
  private readonly roadsX: Float64Array;
  private readonly roadsY: Float64Array;
  /** Mid-block crosswalk positions per road, [horizontal roads, vertical roads]. */
  private readonly crosswalksOnX: number[][];
  private readonly crosswalksOnY: number[][];
  private crosswalkCount = -1;

  constructor(readonly town: Town) {
    this.nearestX = new NearestRoad(town.roadsX);
    this.nearestY = new NearestRoad(town.roadsY);
    this.roadsX = Float64Array.from(town.roadsX);
    this.roadsY = Float64Array.from(town.roadsY);
    this.crosswalksOnX = town.roadsY.map(() => []);
    this.crosswalksOnY = town.roadsX.map(() => []);
    this.refresh();
  }

  /** Re-reads the town's crosswalks when their number changed (the planner adds them). */
  refresh(): void {
    if (this.crosswalkCount === this.town.crosswalks.length) return;
    for (const list of [...this.crosswalksOnX, ...this.crosswalksOnY]) list.length = 0;
    for (const cw of this.town.crosswalks)
      (cw.axis === "x" ? this.crosswalksOnX : this.crosswalksOnY)[cw.roadIndex]?.push(cw.along);
    this.crosswalkCount = this.town.crosswalks.length;
  }

  /**
   * The ground material at (x, y): roads with lane markings, zebra crossings and stop lines,
   * sidewalks, grass. Roads extend beyond the town to the horizon.
   */
  material(x: number, y: number): number {
    const ix = this.nearestX.index(x);
    const iy = this.nearestY.index(y);
    const dx = x - (this.roadsX[ix] as number);
    const dy = y - (this.roadsY[iy] as number);
    const adx = dx < 0 ? -dx : dx;
    const ady = dy < 0 ? -dy : dy;
    if (ady <= HALF_WIDTH) {
      if (adx <= HALF_WIDTH) return GROUND.asphalt;
      return roadMarking(this.crosswalksOnX[iy] as number[], dy, x, adx, dx > 0 === dy > 0);
    }
    if (adx <= HALF_WIDTH)
      return roadMarking(this.crosswalksOnY[ix] as number[], dx, y, ady, dy > 0 !== dx > 0);
    if (adx <= ROAD.sidewalkOuter || ady <= ROAD.sidewalkOuter) return GROUND.sidewalk;
    return GROUND.grass;
  }
}

const samplers = new WeakMap<Town, GroundSampler>();

/** The (cached) sampler of a town; crosswalks added after the first call are still seen. */
export function groundSampler(town: Town): GroundSampler {
  let sampler = samplers.get(town);
  if (sampler === undefined) {
    sampler = new GroundSampler(town);
    samplers.set(town, sampler);
  }
  sampler.refresh();
  return sampler;
}

export function groundMaterial(town: Town, x: number, y: number): number {
  return groundSampler(town).material(x, y);
}

/** Zebra stripes run along the road, 0.8 m apart, across its whole width. */
function zebra(lateral: number): number {
  const k = Math.floor((lateral + HALF_WIDTH) / ZEBRA_PERIOD);
  return (k & 1) === 0 ? GROUND.white : GROUND.asphalt;
}

function roadMarking(
  crosswalks: readonly number[],
  lateral: number,
  along: number,
  distToCrossing: number,
  incoming: boolean,
): number {
  const al = lateral < 0 ? -lateral : lateral;
  if (distToCrossing >= ROAD.crosswalkNear && distToCrossing <= ROAD.crosswalkFar) return zebra(lateral);
  if (
    incoming &&
    al <= ROAD.edgeLine &&
    distToCrossing >= ROAD.stopLineNear &&
    distToCrossing <= ROAD.stopLineFar
  ) {
    return GROUND.white;
  }
  for (let i = 0; i < crosswalks.length; i++) {
    const d = along - (crosswalks[i] as number);
    if (d <= ROAD.midCrosswalkHalf && d >= -ROAD.midCrosswalkHalf) return zebra(lateral);
  }
  if (distToCrossing < HALF_WIDTH + 0.5) return GROUND.asphalt;
  if (al < 0.1) return GROUND.asphalt;
  if (al <= 0.25) return GROUND.yellow;
  if (al < 3.42) return GROUND.asphalt;
  if (al <= 3.58)
    return along - DASH_PERIOD * Math.floor(along / DASH_PERIOD) < 3 ? GROUND.white : GROUND.asphalt;
  if (al >= 6.92 && al <= 7.08) return GROUND.white;
  return GROUND.asphalt;
}

export const round4 = (v: number): number => Math.round(v * 1e4) / 1e4;
