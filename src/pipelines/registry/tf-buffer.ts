/**
 * The frame tree over time, from `/tf_static` and `/tf` (like tf2's BufferCore, for offline use).
 *
 * Each child frame has one parent edge. A static edge holds one transform valid at every time; a dynamic
 * edge holds its samples in sorted typed arrays (stamps as bigint ns, translation xyz, rotation xyzw),
 * grown by doubling, looked up by binary search, interpolated linearly (translation) and by SLERP (rotation).
 * Memory per dynamic sample: 8 + 24 + 32 = 64 bytes. `cacheDurationNs` bounds the history per edge.
 */
import type { Quat, Se3, Vec3 } from "../../core/index.ts";
import {
  mat3FromQuat,
  quatSlerp,
  StrataError,
  se3Compose,
  se3Identity,
  se3Inverse,
} from "../../core/index.ts";

export interface TransformSample {
  /** The frame the transform maps into (`header.frame_id`). */
  parentFrame: string;
  /** The frame whose points it maps (`child_frame_id`): the transform is `parentFromChild`. */
  childFrame: string;
  stampNs: bigint;
  translation: Vec3;
  rotation: Quat;
}

export interface TfBufferOptions {
  /**
   * How far (ns) outside an edge's recorded time range a lookup may clamp to the nearest sample instead of
   * failing with STRATA_E_TF_EXTRAPOLATION. Default 0 (tf2's behaviour).
   */
  extrapolationToleranceNs?: bigint;
  /** Keep only samples newer than (newest − this) per dynamic edge. Default: keep everything. */
  cacheDurationNs?: bigint;
}

/** Frame ids compare without a leading slash (ROS 1 `/base_link` is `base_link`). */
export const normalizeFrameId = (frame: string): string => (frame.startsWith("/") ? frame.slice(1) : frame);

class DynamicEdge {
  stamps = new BigInt64Array(16);
  translations = new Float64Array(48);
  rotations = new Float64Array(64);
  length = 0;

  add(stampNs: bigint, t: Vec3, q: Quat): void {
    if (this.length === this.stamps.length) this.grow();
    // Fast path: in-order append. Otherwise insert at the sorted position; an equal stamp replaces.
    let at = this.length;
    if (this.length > 0 && (this.stamps[this.length - 1] as bigint) >= stampNs) {
      at = this.lowerBound(stampNs);
      if (at < this.length && this.stamps[at] === stampNs) {
        this.write(at, stampNs, t, q);
        return;
      }
      this.stamps.copyWithin(at + 1, at, this.length);
      this.translations.copyWithin(3 * (at + 1), 3 * at, 3 * this.length);
      this.rotations.copyWithin(4 * (at + 1), 4 * at, 4 * this.length);
    }
    this.write(at, stampNs, t, q);
    this.length++;
  }

  private write(i: number, stampNs: bigint, t: Vec3, q: Quat): void {
    this.stamps[i] = stampNs;
    this.translations[3 * i] = t.x;
    this.translations[3 * i + 1] = t.y;
    this.translations[3 * i + 2] = t.z;
    this.rotations[4 * i] = q.x;
    this.rotations[4 * i + 1] = q.y;
    this.rotations[4 * i + 2] = q.z;
    this.rotations[4 * i + 3] = q.w;
  }

  private grow(): void {
    const cap = this.stamps.length * 2;
    const s = new BigInt64Array(cap);
    s.set(this.stamps);
    const t = new Float64Array(3 * cap);
    t.set(this.translations);
    const r = new Float64Array(4 * cap);
    r.set(this.rotations);
    this.stamps = s;
    this.translations = t;
    this.rotations = r;
  }

  /** First index with stamp ≥ `stampNs`. */
  lowerBound(stampNs: bigint): number {
    let a = 0;
    let b = this.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if ((this.stamps[mid] as bigint) < stampNs) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  /** Drops samples older than `newest − durationNs`. */
  prune(durationNs: bigint): void {
    if (this.length === 0) return;
    const keepFrom = this.lowerBound((this.stamps[this.length - 1] as bigint) - durationNs);
    if (keepFrom === 0) return;
    this.stamps.copyWithin(0, keepFrom, this.length);
    this.translations.copyWithin(0, 3 * keepFrom, 3 * this.length);
    this.rotations.copyWithin(0, 4 * keepFrom, 4 * this.length);
    this.length -= keepFrom;
  }

  first(): bigint {
    return this.stamps[0] as bigint;
  }

  last(): bigint {
    return this.stamps[this.length - 1] as bigint;
  }

  translationAt(i: number): Vec3 {
    return {
      x: this.translations[3 * i] as number,
      y: this.translations[3 * i + 1] as number,
      z: this.translations[3 * i + 2] as number,
    };
  }

  rotationAt(i: number): Quat {
    return {
      x: this.rotations[4 * i] as number,
      y: this.rotations[4 * i + 1] as number,
      z: this.rotations[4 * i + 2] as number,
      w: this.rotations[4 * i + 3] as number,
    };
  }
}

interface Edge {
  parent: string;
  static?: { translation: Vec3; rotation: Quat; stampNs: bigint };
  dynamic?: DynamicEdge;
}

export class TfBuffer {
  private readonly edges = new Map<string, Edge>();
  private readonly toleranceNs: bigint;
  private readonly cacheDurationNs: bigint | undefined;

  constructor(opts: TfBufferOptions = {}) {
    this.toleranceNs = opts.extrapolationToleranceNs ?? 0n;
    this.cacheDurationNs = opts.cacheDurationNs;
    if (this.toleranceNs < 0n) throw new RangeError("extrapolationToleranceNs must be ≥ 0");
  }

  /**
   * Adds `parentFromChild` at `stampNs`. A static transform replaces the edge's static value (as a new
   * `/tf_static` message does). A child that gets a new parent drops its old edge (tf2 keeps one parent).
   */
  addTransform(sample: TransformSample, isStatic: boolean): void {
    const parent = normalizeFrameId(sample.parentFrame);
    const child = normalizeFrameId(sample.childFrame);
    if (parent === child) {
      throw new StrataError("STRATA_E_TF_DISCONNECTED", `frame "${child}" cannot be its own parent`, {
        frame: child,
      });
    }
    let edge = this.edges.get(child);
    if (!edge || edge.parent !== parent) {
      edge = { parent };
      this.edges.set(child, edge);
    }
    if (isStatic) {
      edge.static = {
        translation: { ...sample.translation },
        rotation: { ...sample.rotation },
        stampNs: sample.stampNs,
      };
      edge.dynamic = undefined;
      return;
    }
    edge.static = undefined;
    if (!edge.dynamic) edge.dynamic = new DynamicEdge();
    edge.dynamic.add(sample.stampNs, sample.translation, sample.rotation);
    if (this.cacheDurationNs !== undefined) edge.dynamic.prune(this.cacheDurationNs);
  }

  /** Every frame known to the buffer (children and parents). */
  frames(): string[] {
    const out = new Set<string>();
    for (const [child, edge] of this.edges) {
      out.add(child);
      out.add(edge.parent);
    }
    return [...out].sort();
  }

  parentOf(frame: string): string | undefined {
    return this.edges.get(normalizeFrameId(frame))?.parent;
  }

  /** The time range of a frame's edge to its parent; `undefined` for static or unknown frames. */
  edgeTimeRange(childFrame: string): { startNs: bigint; endNs: bigint; samples: number } | undefined {
    const d = this.edges.get(normalizeFrameId(childFrame))?.dynamic;
    if (!d || d.length === 0) return undefined;
    return { startNs: d.first(), endNs: d.last(), samples: d.length };
  }

  /**
   * `targetFromSource` at `tNs` (or at the latest time every dynamic edge on the path has data, for
   * `"latest"`, like tf2's time 0). Throws STRATA_E_TF_DISCONNECTED for unknown or unconnected frames and
   * STRATA_E_TF_EXTRAPOLATION outside an edge's samples (beyond the tolerance).
   */
  transformAt(targetFrame: string, sourceFrame: string, tNs: bigint | "latest"): Se3 {
    const target = normalizeFrameId(targetFrame);
    const source = normalizeFrameId(sourceFrame);
    if (target === source) return se3Identity();
    const sourceChain = this.chainToRoot(source);
    const targetChain = this.chainToRoot(target);
    const known = (f: string, chain: string[]): boolean => chain.length > 1 || this.isKnown(f);
    if (!known(source, sourceChain) || !known(target, targetChain)) {
      const missing = !known(source, sourceChain) ? source : target;
      throw new StrataError("STRATA_E_TF_DISCONNECTED", `unknown frame "${missing}"`, {
        targetFrame: target,
        sourceFrame: source,
      });
    }
    const inTarget = new Map<string, number>();
    targetChain.forEach((f, i) => inTarget.set(f, i));
    const common = sourceChain.findIndex((f) => inTarget.has(f));
    if (common === -1) {
      throw new StrataError(
        "STRATA_E_TF_DISCONNECTED",
        `"${source}" (root "${sourceChain.at(-1)}") and "${target}" (root "${targetChain.at(-1)}") have no common ancestor`,
        { targetFrame: target, sourceFrame: source },
      );
    }
    const sourceEdges = sourceChain.slice(0, common);
    const targetEdges = targetChain.slice(0, inTarget.get(sourceChain[common] as string) as number);
    const at = tNs === "latest" ? this.latestCommonTime([...sourceEdges, ...targetEdges]) : tNs;
    // ancestorFromSource = e_k ∘ … ∘ e_0 where e_i = parentFromChild of the i-th frame on the chain
    let ancestorFromSource = se3Identity();
    for (const frame of sourceEdges)
      ancestorFromSource = se3Compose(this.edgeAt(frame, at, target, source), ancestorFromSource);
    let ancestorFromTarget = se3Identity();
    for (const frame of targetEdges)
      ancestorFromTarget = se3Compose(this.edgeAt(frame, at, target, source), ancestorFromTarget);
    return se3Compose(se3Inverse(ancestorFromTarget), ancestorFromSource);
  }

  /** Whether `transformAt(target, source, tNs)` would succeed. */
  canTransform(targetFrame: string, sourceFrame: string, tNs: bigint | "latest"): boolean {
    try {
      this.transformAt(targetFrame, sourceFrame, tNs);
      return true;
    } catch (e) {
      if (e instanceof StrataError) return false;
      throw e;
    }
  }

  private isKnown(frame: string): boolean {
    if (this.edges.has(frame)) return true;
    for (const edge of this.edges.values()) if (edge.parent === frame) return true;
    return false;
  }

  /** [frame, parent, grandparent, …, root]; throws on a loop. */
  private chainToRoot(frame: string): string[] {
    const chain = [frame];
    let current = frame;
    for (;;) {
      const edge = this.edges.get(current);
      if (!edge) return chain;
      current = edge.parent;
      if (chain.includes(current)) {
        throw new StrataError(
          "STRATA_E_TF_DISCONNECTED",
          `the transform tree has a loop through "${current}"`,
          {
            frame: current,
          },
        );
      }
      chain.push(current);
    }
  }

  private latestCommonTime(frames: string[]): bigint {
    let latest: bigint | undefined;
    for (const f of frames) {
      const d = this.edges.get(f)?.dynamic;
      if (d && d.length > 0 && (latest === undefined || d.last() < latest)) latest = d.last();
    }
    return latest ?? 0n;
  }

  /** `parentFromChild` of `frame`'s edge at `tNs`. */
  private edgeAt(frame: string, tNs: bigint, target: string, source: string): Se3 {
    const edge = this.edges.get(frame) as Edge;
    if (edge.static)
      return { rotation: mat3FromQuat(edge.static.rotation), translation: { ...edge.static.translation } };
    const d = edge.dynamic as DynamicEdge;
    const first = d.first();
    const last = d.last();
    const outside = (detail: string): StrataError =>
      new StrataError("STRATA_E_TF_EXTRAPOLATION", detail, {
        targetFrame: target,
        sourceFrame: source,
        frame,
        parentFrame: edge.parent,
        requestedNs: tNs,
        firstNs: first,
        lastNs: last,
        toleranceNs: this.toleranceNs,
      });
    if (tNs < first) {
      if (first - tNs > this.toleranceNs) {
        throw outside(`${edge.parent} → ${frame} at ${tNs} ns is ${first - tNs} ns before its first sample`);
      }
      return this.sample(d, 0);
    }
    if (tNs > last) {
      if (tNs - last > this.toleranceNs) {
        throw outside(`${edge.parent} → ${frame} at ${tNs} ns is ${tNs - last} ns after its last sample`);
      }
      return this.sample(d, d.length - 1);
    }
    const i = d.lowerBound(tNs);
    if (d.stamps[i] === tNs) return this.sample(d, i);
    const t0 = d.stamps[i - 1] as bigint;
    const t1 = d.stamps[i] as bigint;
    const ratio = Number(tNs - t0) / Number(t1 - t0);
    const a = d.translationAt(i - 1);
    const b = d.translationAt(i);
    return {
      rotation: mat3FromQuat(quatSlerp(d.rotationAt(i - 1), d.rotationAt(i), ratio)),
      translation: {
        x: a.x + (b.x - a.x) * ratio,
        y: a.y + (b.y - a.y) * ratio,
        z: a.z + (b.z - a.z) * ratio,
      },
    };
  }

  private sample(d: DynamicEdge, i: number): Se3 {
    return { rotation: mat3FromQuat(d.rotationAt(i)), translation: d.translationAt(i) };
  }
}
