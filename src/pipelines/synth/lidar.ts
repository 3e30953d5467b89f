/**
 * Ray casting for the spinning 32-beam lidar. The spin axis is vertical, so every beam of one
 * column shares a horizontal direction: each column first intersects the footprints (2D oriented
 * rectangles) of nearby boxes once, then each beam only checks the height intervals of those few
 * hits and the ground plane. Points are in the lidar frame at the scan's stamp (no motion skew).
 *
 * Point layout (point_step 20): x, y, z, intensity as float32 at 0, 4, 8, 12; ring as uint16 at 16;
 * two bytes of padding.
 */
import type { LidarRig } from "./rig.ts";
import type { Rng } from "./rng.ts";
import { GROUND, GROUND_COUNT, groundSampler, type Town } from "./town.ts";

export const POINT_STEP = 20;
export const POINT_FIELDS = [
  { name: "x", offset: 0, datatype: 7, count: 1 },
  { name: "y", offset: 4, datatype: 7, count: 1 },
  { name: "z", offset: 8, datatype: 7, count: 1 },
  { name: "intensity", offset: 12, datatype: 7, count: 1 },
  { name: "ring", offset: 16, datatype: 4, count: 1 },
] as const;

/** A box for ray casting: upright, bottom on the ground. */
export interface CastBox {
  centerX: number;
  centerY: number;
  yawRad: number;
  length: number;
  width: number;
  height: number;
  reflectivity: number;
}

/** Lidar reflectivity of ground materials. */
const GROUND_REFLECTIVITY = new Float64Array(GROUND_COUNT);
GROUND_REFLECTIVITY[GROUND.grass] = 0.18;
GROUND_REFLECTIVITY[GROUND.asphalt] = 0.1;
GROUND_REFLECTIVITY[GROUND.sidewalk] = 0.28;
GROUND_REFLECTIVITY[GROUND.white] = 0.65;
GROUND_REFLECTIVITY[GROUND.yellow] = 0.55;

const MAX_HITS_PER_COLUMN = 32;

/** The lidar's pose in odom: position and heading (its z axis is vertical). */
export interface LidarPose {
  x: number;
  y: number;
  z: number;
  yaw: number;
}

interface ScanOptions {
  rain: boolean;
}

export class LidarScanner {
  private readonly buffer: ArrayBuffer;
  private readonly f32: Float32Array;
  private readonly u16: Uint16Array;
  private readonly colCount: Int32Array;
  private readonly colEnter: Float64Array;
  private readonly colExit: Float64Array;
  private readonly colBox: Int32Array;
  private readonly colCos: Float64Array;
  private readonly tanE: Float64Array;
  private readonly secE: Float64Array;
  private readonly cosDir: Float64Array;
  private readonly sinDir: Float64Array;
  private readonly normalTable: Float64Array;
  private boxHeight = new Float64Array(1024);
  private boxReflectivity = new Float64Array(1024);

  constructor(
    readonly rig: LidarRig,
    noiseRng: Rng,
  ) {
    const rays = rig.columns * rig.elevationsRad.length;
    this.buffer = new ArrayBuffer(rays * POINT_STEP);
    this.f32 = new Float32Array(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.colCount = new Int32Array(rig.columns);
    this.colEnter = new Float64Array(rig.columns * MAX_HITS_PER_COLUMN);
    this.colExit = new Float64Array(rig.columns * MAX_HITS_PER_COLUMN);
    this.colBox = new Int32Array(rig.columns * MAX_HITS_PER_COLUMN);
    this.colCos = new Float64Array(rig.columns * MAX_HITS_PER_COLUMN);
    this.tanE = Float64Array.from(rig.elevationsRad, Math.tan);
    this.secE = Float64Array.from(rig.elevationsRad, (e) => 1 / Math.cos(e));
    this.cosDir = new Float64Array(rig.columns);
    this.sinDir = new Float64Array(rig.columns);
    for (let c = 0; c < rig.columns; c++) {
      const a = (2 * Math.PI * c) / rig.columns;
      this.cosDir[c] = Math.cos(a);
      this.sinDir[c] = Math.sin(a);
    }
    // A table of standard normal samples, indexed by random integers: cheap per-point noise.
    this.normalTable = new Float64Array(4096);
    for (let i = 0; i < this.normalTable.length; i++) this.normalTable[i] = noiseRng.normal();
  }

  /**
   * Casts every ray; returns the point bytes (a view into a reused buffer, valid until the next
   * scan) and the number of points.
   */
  scan(
    town: Town,
    boxes: readonly CastBox[],
    pose: LidarPose,
    rng: Rng,
    options: ScanOptions,
  ): { data: Uint8Array; count: number } {
    const rig = this.rig;
    const columns = rig.columns;
    const beams = rig.elevationsRad.length;
    const maxRange = rig.maxRangeM;
    const colCount = this.colCount;
    colCount.fill(0);
    const colEnter = this.colEnter;
    const colExit = this.colExit;
    const colBox = this.colBox;
    const colCos = this.colCos;
    const step = (2 * Math.PI) / columns;
    const cosYaw = Math.cos(pose.yaw);
    const sinYaw = Math.sin(pose.yaw);
    if (this.boxHeight.length < boxes.length) {
      this.boxHeight = new Float64Array(boxes.length * 2);
      this.boxReflectivity = new Float64Array(boxes.length * 2);
    }
    const boxHeight = this.boxHeight;
    const boxReflectivity = this.boxReflectivity;
    for (let b = 0; b < boxes.length; b++) {
      boxHeight[b] = (boxes[b] as CastBox).height;
      boxReflectivity[b] = (boxes[b] as CastBox).reflectivity;
    }

    // 1. Footprint hits per column.
    for (let b = 0; b < boxes.length; b++) {
      const box = boxes[b] as CastBox;
      const bx = box.centerX - pose.x;
      const by = box.centerY - pose.y;
      const hl = box.length / 2;
      const hw = box.width / 2;
      const reach = Math.sqrt(hl * hl + hw * hw);
      const dist = Math.sqrt(bx * bx + by * by);
      if (dist - reach > maxRange || dist < reach + 0.05) {
        if (dist - reach > maxRange) continue;
        // The sensor is at or inside this footprint (an agent passing through): skip it.
        const c0 = Math.cos(box.yawRad);
        const s0 = Math.sin(box.yawRad);
        const lx = -(bx * c0 + by * s0);
        const ly = -(-bx * s0 + by * c0);
        if (Math.abs(lx) <= hl + 0.05 && Math.abs(ly) <= hw + 0.05) continue;
      }
      const c = Math.cos(box.yawRad);
      const s = Math.sin(box.yawRad);
      // Azimuth interval (lidar frame) spanned by the four corners.
      const centerAngle = Math.atan2(by, bx);
      let lo = 0;
      let hi = 0;
      for (let k = 0; k < 4; k++) {
        const lx = k & 1 ? hl : -hl;
        const ly = k & 2 ? hw : -hw;
        const cxr = bx + c * lx - s * ly;
        const cyr = by + s * lx + c * ly;
        let d = Math.atan2(cyr, cxr) - centerAngle;
        if (d > Math.PI) d -= 2 * Math.PI;
        if (d < -Math.PI) d += 2 * Math.PI;
        if (d < lo) lo = d;
        if (d > hi) hi = d;
      }
      const aLo = centerAngle - pose.yaw + lo;
      const aHi = centerAngle - pose.yaw + hi;
      const cStart = Math.ceil(aLo / step);
      const cEnd = Math.floor(aHi / step);
      // Ray origin in the box frame.
      const ox = -(bx * c + by * s);
      const oy = -(-bx * s + by * c);
      for (let cc = cStart; cc <= cEnd; cc++) {
        const col = ((cc % columns) + columns) % columns;
        // World direction of the column.
        const dxw = (this.cosDir[col] as number) * cosYaw - (this.sinDir[col] as number) * sinYaw;
        const dyw = (this.sinDir[col] as number) * cosYaw + (this.cosDir[col] as number) * sinYaw;
        const dx = dxw * c + dyw * s;
        const dy = -dxw * s + dyw * c;
        let tEnter = Number.NEGATIVE_INFINITY;
        let tExit = Number.POSITIVE_INFINITY;
        let cosInc = 0;
        if (Math.abs(dx) < 1e-12) {
          if (Math.abs(ox) > hl) continue;
        } else {
          const t1 = (-hl - ox) / dx;
          const t2 = (hl - ox) / dx;
          tEnter = t1 < t2 ? t1 : t2;
          tExit = t1 < t2 ? t2 : t1;
          cosInc = Math.abs(dx);
        }
        if (Math.abs(dy) < 1e-12) {
          if (Math.abs(oy) > hw) continue;
        } else {
          const t1 = (-hw - oy) / dy;
          const t2 = (hw - oy) / dy;
          const enter = t1 < t2 ? t1 : t2;
          const exit = t1 < t2 ? t2 : t1;
          if (enter > tEnter) {
            tEnter = enter;
            cosInc = Math.abs(dy);
          }
          if (exit < tExit) tExit = exit;
        }
        if (tEnter > tExit || tExit <= 0 || tEnter > maxRange) continue;
        const n = colCount[col] as number;
        if (n >= MAX_HITS_PER_COLUMN) continue;
        const slot = col * MAX_HITS_PER_COLUMN + n;
        colEnter[slot] = tEnter;
        colExit[slot] = tExit;
        colBox[slot] = b;
        colCos[slot] = cosInc;
        colCount[col] = n + 1;
      }
    }

    // Sort each column's hits by entry distance (insertion sort; lists are short) so that a beam can
    // stop at the first footprint that starts beyond its best hit.
    for (let col = 0; col < columns; col++) {
      const n = colCount[col] as number;
      const base = col * MAX_HITS_PER_COLUMN;
      for (let i = base + 1; i < base + n; i++) {
        const enter = colEnter[i] as number;
        const exit = colExit[i] as number;
        const box = colBox[i] as number;
        const cos = colCos[i] as number;
        let j = i - 1;
        while (j >= base && (colEnter[j] as number) > enter) {
          colEnter[j + 1] = colEnter[j] as number;
          colExit[j + 1] = colExit[j] as number;
          colBox[j + 1] = colBox[j] as number;
          colCos[j + 1] = colCos[j] as number;
          j--;
        }
        colEnter[j + 1] = enter;
        colExit[j + 1] = exit;
        colBox[j + 1] = box;
        colCos[j + 1] = cos;
      }
    }

    // 2. Each beam of each column: nearest of the ground and the box hits.
    const f32 = this.f32;
    const u16 = this.u16;
    const tanE = this.tanE;
    const secE = this.secE;
    const normals = this.normalTable;
    const sigma = rig.rangeNoiseSigmaM;
    const minRange = rig.minRangeM;
    const oz = pose.z;
    const ground = groundSampler(town);
    let count = 0;
    for (let col = 0; col < columns; col++) {
      const dxl = this.cosDir[col] as number;
      const dyl = this.sinDir[col] as number;
      const dxw = dxl * cosYaw - dyl * sinYaw;
      const dyw = dyl * cosYaw + dxl * sinYaw;
      const hits = colCount[col] as number;
      const base = col * MAX_HITS_PER_COLUMN;
      for (let ring = 0; ring < beams; ring++) {
        const te = tanE[ring] as number;
        const se = secE[ring] as number;
        // Horizontal distance of the best hit so far.
        let best = maxRange / se;
        let reflect = 0;
        let cosInc = 0;
        let material = -1;
        if (te < -1e-9) {
          const tg = -oz / te;
          if (tg < best) {
            best = tg;
            material = 0;
            cosInc = Math.abs(te) / se;
          }
        }
        for (let h = 0; h < hits; h++) {
          const slot = base + h;
          const tEnter = colEnter[slot] as number;
          if (tEnter >= best) break;
          const boxIndex = colBox[slot] as number;
          const height = boxHeight[boxIndex] as number;
          let lo = tEnter;
          let hi = colExit[slot] as number;
          let top = false;
          if (Math.abs(te) < 1e-12) {
            if (oz < 0 || oz > height) continue;
          } else {
            const z0 = -oz / te;
            const z1 = (height - oz) / te;
            const zLo = z0 < z1 ? z0 : z1;
            const zHi = z0 < z1 ? z1 : z0;
            if (zLo > lo) {
              lo = zLo;
              top = true;
            }
            if (zHi < hi) hi = zHi;
          }
          if (lo > hi || lo <= 0 || lo >= best) continue;
          best = lo;
          material = -1;
          reflect = boxReflectivity[boxIndex] as number;
          cosInc = top ? Math.abs(te) / se : (colCos[slot] as number) / se;
        }
        if (best * se >= maxRange) continue;
        let range = best * se;
        if (material >= 0) {
          material = ground.material(pose.x + best * dxw, pose.y + best * dyw);
          reflect = GROUND_REFLECTIVITY[material] as number;
        }
        let intensity = 255 * reflect * (0.25 + 0.75 * cosInc);
        const r0 = rng.nextU32();
        if (options.rain) {
          if ((r0 & 1023) < 6) {
            // A raindrop return close to the sensor.
            range = 1 + ((r0 >>> 10) & 1023) * 0.0137;
            intensity = 1 + ((r0 >>> 20) & 7);
          } else if (range > 60 && (r0 & 1023) < 210) {
            continue;
          }
        }
        range += sigma * (normals[(r0 >>> 12) & 4095] as number);
        if (range < minRange) continue;
        const horizontal = range / se;
        const o = count * (POINT_STEP / 4);
        f32[o] = horizontal * dxl;
        f32[o + 1] = horizontal * dyl;
        f32[o + 2] = horizontal * te;
        const noisyIntensity = intensity + 2 * (normals[(r0 >>> 3) & 4095] as number);
        f32[o + 3] = noisyIntensity < 0 ? 0 : noisyIntensity > 255 ? 255 : noisyIntensity;
        u16[o * 2 + 8] = ring;
        u16[o * 2 + 9] = 0;
        count++;
      }
    }
    return { data: new Uint8Array(this.buffer, 0, count * POINT_STEP), count };
  }
}
