/**
 * The ego's path: straight lines, circular arcs and smooth lane shifts, parametrised by `u`, the
 * distance along the segment's base line (arc length for lines and arcs; the underlying straight
 * line for a lane shift). Tangent `T = dP/du` has unit length except inside a shift.
 */

export type Segment =
  | { kind: "line"; u0: number; length: number; x0: number; y0: number; heading: number }
  | {
      kind: "arc";
      u0: number;
      length: number;
      centerX: number;
      centerY: number;
      radius: number;
      /** Angle of the start point seen from the centre. */
      phi0: number;
      /** +1 turns left (counter-clockwise), −1 right. */
      turn: 1 | -1;
    }
  | {
      kind: "shift";
      u0: number;
      length: number;
      x0: number;
      y0: number;
      heading: number;
      /** Total lateral displacement to the left (negative: to the right). */
      lateral: number;
    };

/** Position, heading and their derivatives along the path at one `u`. */
export interface PathSample {
  x: number;
  y: number;
  heading: number;
  /** dP/du (world). */
  tx: number;
  ty: number;
  /** d²P/du² (world). */
  nx: number;
  ny: number;
  /** dHeading/du. */
  headingRate: number;
}

export class Path {
  readonly segments: Segment[] = [];
  endX: number;
  endY: number;
  endHeading: number;
  private cursor = 0;

  constructor(x: number, y: number, heading: number) {
    this.endX = x;
    this.endY = y;
    this.endHeading = heading;
  }

  get length(): number {
    const last = this.segments[this.segments.length - 1];
    return last ? last.u0 + last.length : 0;
  }

  line(length: number): void {
    if (length <= 1e-9) return;
    const last = this.segments[this.segments.length - 1];
    if (last?.kind === "line") {
      last.length += length;
    } else {
      this.segments.push({
        kind: "line",
        u0: this.length,
        length,
        x0: this.endX,
        y0: this.endY,
        heading: this.endHeading,
      });
    }
    this.endX += Math.cos(this.endHeading) * length;
    this.endY += Math.sin(this.endHeading) * length;
  }

  /** A circular arc of `radius` through `angleRad` (> 0), turning left (+1) or right (−1). */
  arc(radius: number, angleRad: number, turn: 1 | -1): void {
    const h = this.endHeading;
    const centerX = this.endX - turn * Math.sin(h) * radius;
    const centerY = this.endY + turn * Math.cos(h) * radius;
    const phi0 = Math.atan2(this.endY - centerY, this.endX - centerX);
    const length = radius * angleRad;
    this.segments.push({ kind: "arc", u0: this.length, length, centerX, centerY, radius, phi0, turn });
    const phi1 = phi0 + (turn * length) / radius;
    this.endX = centerX + radius * Math.cos(phi1);
    this.endY = centerY + radius * Math.sin(phi1);
    this.endHeading = normalizeAngle(h + turn * angleRad);
  }

  /** Moves sideways by `lateral` metres (left positive) over `length` metres of road. */
  shift(length: number, lateral: number): void {
    const h = this.endHeading;
    this.segments.push({
      kind: "shift",
      u0: this.length,
      length,
      x0: this.endX,
      y0: this.endY,
      heading: h,
      lateral,
    });
    this.endX += Math.cos(h) * length - Math.sin(h) * lateral;
    this.endY += Math.sin(h) * length + Math.cos(h) * lateral;
  }

  private segmentAt(u: number): Segment {
    const segs = this.segments;
    if (segs.length === 0) throw new RangeError("empty path");
    let i = Math.min(this.cursor, segs.length - 1);
    let seg = segs[i] as Segment;
    if (u < seg.u0) {
      let lo = 0;
      let hi = i;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((segs[mid] as Segment).u0 <= u) lo = mid;
        else hi = mid - 1;
      }
      i = lo;
    } else {
      while (i + 1 < segs.length && (segs[i + 1] as Segment).u0 <= u) i++;
    }
    this.cursor = i;
    seg = segs[i] as Segment;
    return seg;
  }

  /** Beyond either end the path continues straight along the end tangent. */
  sample(u: number): PathSample {
    const seg = this.segmentAt(u);
    let s = u - seg.u0;
    const isLast = seg === this.segments[this.segments.length - 1];
    if (s > seg.length && isLast && seg.kind !== "line") {
      const over = u - this.length;
      return straight(this.endX, this.endY, this.endHeading, over);
    }
    switch (seg.kind) {
      case "line":
        return straight(seg.x0, seg.y0, seg.heading, s);
      case "arc": {
        s = Math.max(0, Math.min(seg.length, s));
        const phi = seg.phi0 + (seg.turn * s) / seg.radius;
        const c = Math.cos(phi);
        const sn = Math.sin(phi);
        return {
          x: seg.centerX + seg.radius * c,
          y: seg.centerY + seg.radius * sn,
          heading: normalizeAngle(phi + (seg.turn * Math.PI) / 2),
          tx: -seg.turn * sn,
          ty: seg.turn * c,
          nx: -c / seg.radius,
          ny: -sn / seg.radius,
          headingRate: seg.turn / seg.radius,
        };
      }
      case "shift": {
        s = Math.max(0, Math.min(seg.length, s));
        const k = Math.PI / seg.length;
        const d = (seg.lateral * (1 - Math.cos(k * s))) / 2;
        const d1 = ((seg.lateral * k) / 2) * Math.sin(k * s);
        const d2 = ((seg.lateral * k * k) / 2) * Math.cos(k * s);
        const ex = Math.cos(seg.heading);
        const ey = Math.sin(seg.heading);
        return {
          x: seg.x0 + ex * s - ey * d,
          y: seg.y0 + ey * s + ex * d,
          heading: normalizeAngle(seg.heading + Math.atan(d1)),
          tx: ex - ey * d1,
          ty: ey + ex * d1,
          nx: -ey * d2,
          ny: ex * d2,
          headingRate: d2 / (1 + d1 * d1),
        };
      }
    }
  }
}

function straight(x0: number, y0: number, heading: number, s: number): PathSample {
  const ex = Math.cos(heading);
  const ey = Math.sin(heading);
  return { x: x0 + ex * s, y: y0 + ey * s, heading, tx: ex, ty: ey, nx: 0, ny: 0, headingRate: 0 };
}

export function normalizeAngle(a: number): number {
  let r = a % (2 * Math.PI);
  if (r > Math.PI) r -= 2 * Math.PI;
  if (r <= -Math.PI) r += 2 * Math.PI;
  return r;
}

/** One phase of constant acceleration starting at `t0Secs`. */
export interface SpeedPhase {
  t0Secs: number;
  u0: number;
  v0: number;
  accel: number;
}

/** Piecewise-constant acceleration along the path; the last phase extends forever (speed clamped ≥ 0). */
export class SpeedProfile {
  readonly phases: SpeedPhase[] = [];
  tSecs = 0;
  u = 0;
  v = 0;
  private current: SpeedPhase | undefined;

  private begin(accel: number): void {
    if (this.current && this.current.t0Secs === this.tSecs) {
      this.current.accel = accel;
      return;
    }
    this.current = { t0Secs: this.tSecs, u0: this.u, v0: this.v, accel };
    this.phases.push(this.current);
  }

  private advance(dt: number): void {
    const a = this.current?.accel ?? 0;
    this.u += this.v * dt + 0.5 * a * dt * dt;
    this.v = Math.max(0, this.v + a * dt);
    this.tSecs += dt;
  }

  hold(dt: number): void {
    if (dt <= 0) return;
    this.begin(0);
    this.advance(dt);
  }

  /** Constant speed until `u` reaches `uTarget` (no-op when already there). */
  holdUntil(uTarget: number): void {
    if (uTarget <= this.u + 1e-9) return;
    if (this.v <= 1e-9) throw new RangeError("cannot hold a zero speed until a position");
    this.hold((uTarget - this.u) / this.v);
  }

  /** Changes speed to `vTarget` with |accel| = `rate`. */
  rampTo(vTarget: number, rate: number): void {
    const dv = vTarget - this.v;
    if (Math.abs(dv) < 1e-9) return;
    this.begin(Math.sign(dv) * rate);
    this.advance(Math.abs(dv) / rate);
    this.v = vTarget;
  }

  /** Distance needed to change speed to `vTarget` at `rate`. */
  distanceTo(vTarget: number, rate: number): number {
    return Math.abs(this.v * this.v - vTarget * vTarget) / (2 * rate);
  }

  /** Cruise, then brake at `rate` so that the speed is `vTarget` exactly at `uTarget`. */
  reachSpeedAt(vTarget: number, uTarget: number, rate: number): void {
    const needed = this.distanceTo(vTarget, rate);
    const room = uTarget - this.u;
    if (room <= 0) return;
    if (needed <= room) {
      this.holdUntil(uTarget - needed);
      this.rampTo(vTarget, rate);
    } else {
      this.rampTo(vTarget, Math.abs(this.v * this.v - vTarget * vTarget) / (2 * room));
    }
    this.u = uTarget;
  }

  /** (u, v, accel) at time t. */
  at(tSecs: number): { u: number; v: number; accel: number } {
    const phases = this.phases;
    let lo = 0;
    let hi = phases.length - 1;
    if (hi < 0) return { u: this.u, v: 0, accel: 0 };
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((phases[mid] as SpeedPhase).t0Secs <= tSecs) lo = mid;
      else hi = mid - 1;
    }
    const p = phases[lo] as SpeedPhase;
    const dt = Math.max(0, tSecs - p.t0Secs);
    const next = phases[lo + 1];
    let accel = p.accel;
    let v = p.v0 + accel * dt;
    let u = p.u0 + p.v0 * dt + 0.5 * accel * dt * dt;
    if (v < 0 || (next === undefined && accel < 0 && v <= 0)) {
      // A braking phase that ran past standstill stays stopped.
      const tStop = p.v0 / -accel;
      u = p.u0 + (p.v0 * tStop) / 2;
      v = 0;
      accel = 0;
    }
    if (next !== undefined && tSecs >= next.t0Secs) return { u: next.u0, v: next.v0, accel: next.accel };
    return { u, v, accel };
  }
}
