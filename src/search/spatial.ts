/**
 * The spatial index over scene trajectories (decision record: docs/decisions/0003-spatial-index.md).
 *
 * A scene's trajectory is its samples joined by straight segments; position and yaw are interpolated
 * linearly along each segment (yaw the short way round). A scene matches a region when some segment has a
 * part inside the region (circle: within `radiusM` of the centre, boundary included; polygon: inside or on
 * the boundary) and, with a heading range, the interpolated yaw on that part enters the range. A single
 * sample is a segment of length zero. The answer is exact: the grid only proposes candidate segments, and
 * every candidate is decided by the geometry below.
 *
 * Layout: every sample lives in flat Float64Arrays (x, y, yaw) with the scene's ordinal; a uniform grid of
 * `cellSizeM` cells maps each cell to the segments whose bounding box touches it. Deleted scenes are
 * tombstoned and the arrays are compacted when tombstones outweigh live samples.
 */
import type { HeadingRange, SpatialRegion } from "./plan.ts";
import type { SceneTrajectory } from "./schema.ts";

const TWO_PI = 2 * Math.PI;
/** Segments whose bounding box covers more cells than this go to a list checked by every query. */
const MAX_CELLS_PER_SEGMENT = 64;
const CELL_RANGE = 1 << 20;

/** Wraps an angle to [0, 2π). */
export function wrapTwoPi(rad: number): number {
  const r = rad % TWO_PI;
  return r < 0 ? r + TWO_PI : r;
}

/** Wraps an angle to (−π, π]. */
export function wrapPi(rad: number): number {
  const r = wrapTwoPi(rad);
  return r > Math.PI ? r - TWO_PI : r;
}

/** Does the yaw arc from `startRad` sweeping `sweepRad` (signed) meet `centerRad ± toleranceRad`? */
export function arcMeetsRange(
  startRad: number,
  sweepRad: number,
  centerRad: number,
  toleranceRad: number,
): boolean {
  if (toleranceRad >= Math.PI) return true;
  const arcStart = startRad + Math.min(0, sweepRad);
  const arcLength = Math.abs(sweepRad);
  const rangeStart = centerRad - toleranceRad;
  return (
    wrapTwoPi(rangeStart - arcStart) <= arcLength || wrapTwoPi(arcStart - rangeStart) <= 2 * toleranceRad
  );
}

/** Smallest distance from (px, py) to the segment a→b (a point when a = b). */
export function pointSegmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const dx = bx - ax;
  const dy = by - ay;
  const t = closestOnSegment(px, py, ax, ay, dx, dy);
  return Math.hypot(ax + t * dx - px, ay + t * dy - py);
}

/** Parameter in [0, 1] of the point of segment a→(a + d) closest to (px, py); 0 when the segment is a point. */
function closestOnSegment(px: number, py: number, ax: number, ay: number, dx: number, dy: number): number {
  const lengthSq = dx * dx + dy * dy;
  if (!(lengthSq > 0)) return 0;
  const t = ((px - ax) * dx + (py - ay) * dy) / lengthSq;
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/**
 * `pointSegmentDistance(c, a→b) <= radiusM`, decided on squared distances (no `Math.hypot`) except within a
 * relative 1e-9 of the boundary, where the same `Math.hypot` comparison decides: the answer is identical.
 */
function withinCircle(
  cx: number,
  cy: number,
  radiusM: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): boolean {
  const dx = bx - ax;
  const dy = by - ay;
  const t = closestOnSegment(cx, cy, ax, ay, dx, dy);
  const ex = ax + t * dx - cx;
  const ey = ay + t * dy - cy;
  const distanceSq = ex * ex + ey * ey;
  const radiusSq = radiusM * radiusM;
  if (distanceSq < radiusSq * (1 - 1e-9)) return true;
  if (distanceSq > radiusSq * (1 + 1e-9)) return false;
  return Math.hypot(ex, ey) <= radiusM;
}

/** The parameter interval [t0, t1] ⊂ [0, 1] of segment a→b within `radiusM` of c, or undefined. */
export function circleInterval(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  cx: number,
  cy: number,
  radiusM: number,
): [number, number] | undefined {
  if (pointSegmentDistance(cx, cy, ax, ay, bx, by) > radiusM) return undefined;
  const dx = bx - ax;
  const dy = by - ay;
  const a = dx * dx + dy * dy;
  if (a === 0) return [0, 1];
  const fx = ax - cx;
  const fy = ay - cy;
  const b = 2 * (fx * dx + fy * dy);
  const c = fx * fx + fy * fy - radiusM * radiusM;
  const disc = Math.max(0, b * b - 4 * a * c);
  const root = Math.sqrt(disc);
  let t0 = Math.max(0, (-b - root) / (2 * a));
  let t1 = Math.min(1, (-b + root) / (2 * a));
  if (t0 > t1) {
    // Rounding at a tangent: the closest point is the only point inside.
    const t = Math.min(1, Math.max(0, -b / (2 * a)));
    t0 = t;
    t1 = t;
  }
  return [t0, t1];
}

/** Closed point-in-polygon (boundary counts as inside); `polygon` is [x0, y0, x1, y1, …]. */
export function pointInPolygon(px: number, py: number, polygon: Float64Array): boolean {
  const n = polygon.length / 2;
  let inside = false;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = polygon[2 * i] as number;
    const yi = polygon[2 * i + 1] as number;
    const xj = polygon[2 * j] as number;
    const yj = polygon[2 * j + 1] as number;
    if (pointSegmentDistance(px, py, xi, yi, xj, yj) === 0) return true;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

const cross = (ax: number, ay: number, bx: number, by: number): number => ax * by - ay * bx;

/** The parameter intervals of segment a→b that lie inside (or on) the polygon, in order. */
export function polygonIntervals(
  ax: number,
  ay: number,
  bx: number,
  by: number,
  polygon: Float64Array,
): [number, number][] {
  const rx = bx - ax;
  const ry = by - ay;
  if (rx === 0 && ry === 0) return pointInPolygon(ax, ay, polygon) ? [[0, 1]] : [];
  const ts = [0, 1];
  const n = polygon.length / 2;
  const rr = rx * rx + ry * ry;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const px = polygon[2 * j] as number;
    const py = polygon[2 * j + 1] as number;
    const sx = (polygon[2 * i] as number) - px;
    const sy = (polygon[2 * i + 1] as number) - py;
    const denom = cross(rx, ry, sx, sy);
    const qx = px - ax;
    const qy = py - ay;
    if (denom !== 0) {
      const t = cross(qx, qy, sx, sy) / denom;
      const u = cross(qx, qy, rx, ry) / denom;
      if (t >= 0 && t <= 1 && u >= 0 && u <= 1) ts.push(t);
    } else if (cross(qx, qy, rx, ry) === 0) {
      // Collinear edge: its ends split the segment.
      for (const t of [(qx * rx + qy * ry) / rr, ((qx + sx) * rx + (qy + sy) * ry) / rr]) {
        if (t >= 0 && t <= 1) ts.push(t);
      }
    }
  }
  ts.sort((p, q) => p - q);
  const out: [number, number][] = [];
  const push = (t0: number, t1: number): void => {
    const last = out[out.length - 1];
    if (last && t0 <= last[1]) last[1] = Math.max(last[1], t1);
    else out.push([t0, t1]);
  };
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as number;
    if (pointInPolygon(ax + t * rx, ay + t * ry, polygon)) push(t, t);
    const next = ts[i + 1];
    if (next !== undefined && next > t) {
      const mid = (t + next) / 2;
      if (pointInPolygon(ax + mid * rx, ay + mid * ry, polygon)) push(t, next);
    }
  }
  return out;
}

function regionBounds(
  r: SpatialRegion | undefined,
): { minX: number; minY: number; maxX: number; maxY: number } | undefined {
  if (!r) return undefined;
  if (r.kind === "circle") {
    return { minX: r.xM - r.radiusM, minY: r.yM - r.radiusM, maxX: r.xM + r.radiusM, maxY: r.yM + r.radiusM };
  }
  const xs = r.verticesM.map((v) => v.xM);
  const ys = r.verticesM.map((v) => v.yM);
  return { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) };
}

/** A region and heading range, compiled for repeated segment tests. */
export class SegmentPredicate {
  readonly #region: SpatialRegion | undefined;
  readonly #polygon: Float64Array | undefined;
  readonly #headingCenterRad: number;
  readonly #headingToleranceRad: number;
  readonly #hasHeading: boolean;
  readonly #bounds: { minX: number; minY: number; maxX: number; maxY: number } | undefined;

  constructor(region: SpatialRegion | undefined, heading: HeadingRange | undefined) {
    this.#region = region;
    this.#bounds = regionBounds(region);
    this.#polygon =
      region?.kind === "polygon"
        ? Float64Array.from(region.verticesM.flatMap((v) => [v.xM, v.yM]))
        : undefined;
    this.#hasHeading = heading !== undefined && heading.toleranceDeg < 180;
    this.#headingCenterRad = ((heading?.centerDeg ?? 0) * Math.PI) / 180;
    this.#headingToleranceRad = ((heading?.toleranceDeg ?? 180) * Math.PI) / 180;
  }

  /** Bounding box of the region, or undefined for "everywhere". */
  bounds(): { minX: number; minY: number; maxX: number; maxY: number } | undefined {
    return this.#bounds;
  }

  /** Segment a→b with yaw h0 at a and h1 at b (pass b = a, h1 = h0 for a single sample). */
  test(ax: number, ay: number, h0: number, bx: number, by: number, h1: number): boolean {
    const r = this.#region;
    const box = this.#bounds;
    if (
      box !== undefined &&
      (Math.max(ax, bx) < box.minX ||
        Math.min(ax, bx) > box.maxX ||
        Math.max(ay, by) < box.minY ||
        Math.min(ay, by) > box.maxY)
    ) {
      return false;
    }
    if (!this.#hasHeading) {
      if (!r) return true;
      if (r.kind === "circle") return withinCircle(r.xM, r.yM, r.radiusM, ax, ay, bx, by);
      return polygonIntervals(ax, ay, bx, by, this.#polygon as Float64Array).length > 0;
    }
    const sweep = wrapPi(h1 - h0);
    const meets = (t0: number, t1: number): boolean =>
      arcMeetsRange(h0 + t0 * sweep, (t1 - t0) * sweep, this.#headingCenterRad, this.#headingToleranceRad);
    if (!r) return meets(0, 1);
    if (r.kind === "circle") {
      const interval = circleInterval(ax, ay, bx, by, r.xM, r.yM, r.radiusM);
      return interval !== undefined && meets(interval[0], interval[1]);
    }
    return polygonIntervals(ax, ay, bx, by, this.#polygon as Float64Array).some(([t0, t1]) => meets(t0, t1));
  }
}

class IntVec {
  data: Int32Array;
  length = 0;
  constructor(capacity = 8) {
    this.data = new Int32Array(capacity);
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
}

function grown<T extends Float64Array | Int32Array | Uint8Array | Uint32Array>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  const ctor = array.constructor as new (length: number) => T;
  const next = new ctor(Math.max(needed, array.length * 2, 1024));
  next.set(array);
  return next;
}

export interface GridStats {
  scenes: number;
  samples: number;
  cells: number;
  /** Bytes held by the typed arrays and cell lists (ids and maps estimated). */
  memoryBytes: number;
}

/** In-memory uniform grid over trajectory segments. */
export class TrajectoryGrid {
  readonly cellSizeM: number;
  #sceneIds: string[] = [];
  #captureIds: string[] = [];
  #ordinalBySceneId = new Map<string, number>();
  #ordinalsByCapture = new Map<string, Set<number>>();
  #alive = new Uint8Array(0);
  #firstSample = new Int32Array(0);
  #sampleCount = new Int32Array(0);
  #stamp = new Uint32Array(0);
  #queryStamp = 0;
  #xs = new Float64Array(0);
  #ys = new Float64Array(0);
  #yaws = new Float64Array(0);
  #sampleScene = new Int32Array(0);
  #samples = 0;
  #deadSamples = 0;
  #cells = new Map<number, IntVec>();
  #oversized = new IntVec();

  constructor(cellSizeM = 64) {
    if (!(cellSizeM > 0)) throw new RangeError("cellSizeM must be positive");
    this.cellSizeM = cellSizeM;
  }

  get size(): number {
    return this.#ordinalBySceneId.size;
  }

  has(sceneId: string): boolean {
    return this.#ordinalBySceneId.has(sceneId);
  }

  #cell(coordinateM: number): number {
    const c = Math.floor(coordinateM / this.cellSizeM);
    if (!(c > -CELL_RANGE && c < CELL_RANGE)) {
      throw new RangeError(
        `coordinate ${coordinateM} m is outside the grid (±${CELL_RANGE * this.cellSizeM} m)`,
      );
    }
    return c;
  }

  #key(cx: number, cy: number): number {
    return (cx + CELL_RANGE) * 2 * CELL_RANGE + (cy + CELL_RANGE);
  }

  /** Adds (or replaces) a scene's trajectory. */
  add(sceneId: string, captureId: string, trajectory: SceneTrajectory): void {
    const n = trajectory.xM.length;
    if (n === 0) throw new RangeError(`scene ${sceneId}: empty trajectory`);
    if (trajectory.yM.length !== n || trajectory.headingRad.length !== n) {
      throw new RangeError(`scene ${sceneId}: trajectory columns differ in length`);
    }
    for (let i = 0; i < n; i++) {
      const x = trajectory.xM[i] as number;
      const y = trajectory.yM[i] as number;
      const h = trajectory.headingRad[i] as number;
      if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(h)) {
        throw new RangeError(`scene ${sceneId}: trajectory sample ${i} is not finite`);
      }
      this.#cell(x);
      this.#cell(y);
    }
    this.remove(sceneId);
    const ordinal = this.#sceneIds.length;
    this.#sceneIds.push(sceneId);
    this.#captureIds.push(captureId);
    this.#ordinalBySceneId.set(sceneId, ordinal);
    let ofCapture = this.#ordinalsByCapture.get(captureId);
    if (!ofCapture) this.#ordinalsByCapture.set(captureId, (ofCapture = new Set()));
    ofCapture.add(ordinal);
    this.#alive = grown(this.#alive, ordinal + 1);
    this.#firstSample = grown(this.#firstSample, ordinal + 1);
    this.#sampleCount = grown(this.#sampleCount, ordinal + 1);
    this.#stamp = grown(this.#stamp, ordinal + 1);
    this.#alive[ordinal] = 1;
    const first = this.#samples;
    this.#firstSample[ordinal] = first;
    this.#sampleCount[ordinal] = n;
    const end = first + n;
    this.#xs = grown(this.#xs, end);
    this.#ys = grown(this.#ys, end);
    this.#yaws = grown(this.#yaws, end);
    this.#sampleScene = grown(this.#sampleScene, end);
    for (let i = 0; i < n; i++) {
      this.#xs[first + i] = trajectory.xM[i] as number;
      this.#ys[first + i] = trajectory.yM[i] as number;
      this.#yaws[first + i] = trajectory.headingRad[i] as number;
      this.#sampleScene[first + i] = ordinal;
    }
    this.#samples = end;
    const segments = n === 1 ? 1 : n - 1;
    for (let s = 0; s < segments; s++) this.#insertSegment(first + s, n === 1 ? first : first + s + 1);
  }

  #insertSegment(start: number, end: number): void {
    const ax = this.#xs[start] as number;
    const ay = this.#ys[start] as number;
    const bx = this.#xs[end] as number;
    const by = this.#ys[end] as number;
    const cx0 = this.#cell(Math.min(ax, bx));
    const cx1 = this.#cell(Math.max(ax, bx));
    const cy0 = this.#cell(Math.min(ay, by));
    const cy1 = this.#cell(Math.max(ay, by));
    if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_CELLS_PER_SEGMENT) {
      this.#oversized.push(start);
      return;
    }
    for (let cx = cx0; cx <= cx1; cx++) {
      for (let cy = cy0; cy <= cy1; cy++) {
        const key = this.#key(cx, cy);
        let list = this.#cells.get(key);
        if (!list) this.#cells.set(key, (list = new IntVec()));
        list.push(start);
      }
    }
  }

  remove(sceneId: string): boolean {
    const ordinal = this.#ordinalBySceneId.get(sceneId);
    if (ordinal === undefined) return false;
    this.#alive[ordinal] = 0;
    this.#ordinalBySceneId.delete(sceneId);
    const captureId = this.#captureIds[ordinal] as string;
    const ofCapture = this.#ordinalsByCapture.get(captureId);
    ofCapture?.delete(ordinal);
    if (ofCapture?.size === 0) this.#ordinalsByCapture.delete(captureId);
    this.#deadSamples += this.#sampleCount[ordinal] as number;
    this.#maybeCompact();
    return true;
  }

  removeCapture(captureId: string): number {
    const sceneIds = [...(this.#ordinalsByCapture.get(captureId) ?? [])].map(
      (o) => this.#sceneIds[o] as string,
    );
    for (const sceneId of sceneIds) this.remove(sceneId);
    return sceneIds.length;
  }

  #maybeCompact(): void {
    const live = this.#samples - this.#deadSamples;
    if (this.#deadSamples > 50_000 && this.#deadSamples > live) this.compact();
  }

  /** Rebuilds the arrays without tombstoned scenes. */
  compact(): void {
    const scenes: { sceneId: string; captureId: string; trajectory: SceneTrajectory }[] = [];
    for (const [sceneId, ordinal] of this.#ordinalBySceneId) {
      const first = this.#firstSample[ordinal] as number;
      const end = first + (this.#sampleCount[ordinal] as number);
      scenes.push({
        sceneId,
        captureId: this.#captureIds[ordinal] as string,
        trajectory: {
          xM: this.#xs.slice(first, end),
          yM: this.#ys.slice(first, end),
          headingRad: this.#yaws.slice(first, end),
        },
      });
    }
    const fresh = new TrajectoryGrid(this.cellSizeM);
    for (const s of scenes) fresh.add(s.sceneId, s.captureId, s.trajectory);
    this.#sceneIds = fresh.#sceneIds;
    this.#captureIds = fresh.#captureIds;
    this.#ordinalBySceneId = fresh.#ordinalBySceneId;
    this.#ordinalsByCapture = fresh.#ordinalsByCapture;
    this.#alive = fresh.#alive;
    this.#firstSample = fresh.#firstSample;
    this.#sampleCount = fresh.#sampleCount;
    this.#stamp = fresh.#stamp;
    this.#queryStamp = 0;
    this.#xs = fresh.#xs;
    this.#ys = fresh.#ys;
    this.#yaws = fresh.#yaws;
    this.#sampleScene = fresh.#sampleScene;
    this.#samples = fresh.#samples;
    this.#deadSamples = 0;
    this.#cells = fresh.#cells;
    this.#oversized = fresh.#oversized;
  }

  /** Releases spare capacity (after a bulk load). */
  trim(): void {
    const n = this.#sceneIds.length;
    this.#alive = this.#alive.slice(0, n);
    this.#firstSample = this.#firstSample.slice(0, n);
    this.#sampleCount = this.#sampleCount.slice(0, n);
    this.#stamp = this.#stamp.slice(0, n);
    this.#xs = this.#xs.slice(0, this.#samples);
    this.#ys = this.#ys.slice(0, this.#samples);
    this.#yaws = this.#yaws.slice(0, this.#samples);
    this.#sampleScene = this.#sampleScene.slice(0, this.#samples);
    for (const list of this.#cells.values()) list.data = list.data.slice(0, Math.max(1, list.length));
  }

  #nextStamp(): number {
    this.#queryStamp++;
    if (this.#queryStamp >= 0xffffffff) {
      this.#stamp.fill(0);
      this.#queryStamp = 1;
    }
    return this.#queryStamp;
  }

  /** Tests the segment starting at sample `start`; marks its scene and appends its ordinal when it matches. */
  #check(start: number, predicate: SegmentPredicate, stamp: number, out: number[]): void {
    const ordinal = this.#sampleScene[start] as number;
    if (this.#alive[ordinal] === 0 || this.#stamp[ordinal] === stamp) return;
    const first = this.#firstSample[ordinal] as number;
    const end = start + 1 < first + (this.#sampleCount[ordinal] as number) ? start + 1 : start;
    const hit = predicate.test(
      this.#xs[start] as number,
      this.#ys[start] as number,
      this.#yaws[start] as number,
      this.#xs[end] as number,
      this.#ys[end] as number,
      this.#yaws[end] as number,
    );
    if (hit) {
      this.#stamp[ordinal] = stamp;
      out.push(ordinal);
    }
  }

  /** Scene ids whose trajectory passes through the region (with the heading range, when given). */
  query(region: SpatialRegion | undefined, heading?: HeadingRange): string[] {
    return this.queryOrdinals(region, heading).map((ordinal) => this.#sceneIds[ordinal] as string);
  }

  /**
   * Like `query`, as scene ordinals: small integers that stay fixed until the grid changes (an add, a
   * removal or a compaction), for callers that keep per-scene arrays beside the grid.
   */
  queryOrdinals(region: SpatialRegion | undefined, heading?: HeadingRange): number[] {
    const predicate = new SegmentPredicate(region, heading);
    const stamp = this.#nextStamp();
    const out: number[] = [];
    const bounds = predicate.bounds();
    if (!bounds) {
      for (const ordinal of this.#ordinalBySceneId.values()) {
        const first = this.#firstSample[ordinal] as number;
        const n = this.#sampleCount[ordinal] as number;
        const segments = n === 1 ? 1 : n - 1;
        for (let s = 0; s < segments && this.#stamp[ordinal] !== stamp; s++)
          this.#check(first + s, predicate, stamp, out);
      }
      return out;
    }
    const cx0 = Math.floor(bounds.minX / this.cellSizeM);
    const cx1 = Math.floor(bounds.maxX / this.cellSizeM);
    const cy0 = Math.floor(bounds.minY / this.cellSizeM);
    const cy1 = Math.floor(bounds.maxY / this.cellSizeM);
    const visit = (list: IntVec): void => {
      const data = list.data;
      for (let i = 0; i < list.length; i++) this.#check(data[i] as number, predicate, stamp, out);
    };
    if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > this.#cells.size) {
      // A region larger than the populated area: walk the populated cells instead.
      for (const [key, list] of this.#cells) {
        const cx = Math.floor(key / (2 * CELL_RANGE)) - CELL_RANGE;
        const cy = (key % (2 * CELL_RANGE)) - CELL_RANGE;
        if (cx >= cx0 && cx <= cx1 && cy >= cy0 && cy <= cy1) visit(list);
      }
    } else {
      for (let cx = cx0; cx <= cx1; cx++) {
        for (let cy = cy0; cy <= cy1; cy++) {
          const list = this.#cells.get(this.#key(cx, cy));
          if (list) visit(list);
        }
      }
    }
    visit(this.#oversized);
    return out;
  }

  /** The ordinal of a live scene (see `queryOrdinals`), or undefined. */
  ordinalOf(sceneId: string): number | undefined {
    return this.#ordinalBySceneId.get(sceneId);
  }

  /** The scene id of an ordinal. */
  sceneIdAt(ordinal: number): string | undefined {
    return this.#sceneIds[ordinal];
  }

  /** One more than the largest ordinal handed out (live or removed). */
  get ordinalCount(): number {
    return this.#sceneIds.length;
  }

  stats(): GridStats {
    let cellBytes = 0;
    for (const list of this.#cells.values()) cellBytes += list.data.byteLength + 80;
    let idBytes = 0;
    for (const id of this.#sceneIds) idBytes += 2 * id.length + 40;
    const arrays = [
      this.#alive,
      this.#firstSample,
      this.#sampleCount,
      this.#stamp,
      this.#xs,
      this.#ys,
      this.#yaws,
      this.#sampleScene,
      this.#oversized.data,
    ];
    return {
      scenes: this.size,
      samples: this.#samples - this.#deadSamples,
      cells: this.#cells.size,
      memoryBytes: arrays.reduce((sum, a) => sum + a.byteLength, 0) + cellBytes + 2 * idBytes,
    };
  }
}
