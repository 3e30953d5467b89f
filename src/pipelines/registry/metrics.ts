/**
 * Trajectory metrics with evo's conventions (github.com/MichaelGrupp/evo, `core/sync.py`, `core/geometry.py`,
 * `core/trajectory.py`, `core/metrics.py`, `core/filters.py`), written for typed arrays:
 *
 * - association: start from the trajectory with fewer poses (the estimate when counts are equal), match each
 *   of its stamps to the nearest stamp of the other (`argmin |t_long + offset − t_short|`, first index on ties,
 *   so one long pose may serve several short ones), keep pairs with difference ≤ max diff; no interpolation.
 *   The offset is added to the estimate's stamps.
 * - Umeyama (1991) least-squares Sim(3)/SE(3) alignment of the estimate's positions onto the reference's.
 * - APE: `E_i = P_i⁻¹ Q_i`; the translation relation is `‖p_i − q_i‖`.
 * - RPE: `E_ij = (Q_i⁻¹ Q_j)⁻¹ (P_i⁻¹ P_j)` over index pairs picked on the estimate (evo's default):
 *   consecutive pairs `(0, δ), (δ, 2δ), …` for frames, or accumulated path length ≥ δ for metres.
 * - statistics: rmse, mean, median, population std, min, max, sse.
 *
 * Inverses of poses use the transposed rotation (as evo's `se3_inverse`), so 9-digit KITTI matrices give
 * evo's numbers. Q = reference pose, P = estimated pose.
 */
import type { Mat3, Sim3, Vec3 } from "../../core/index.ts";
import { mat3Determinant, mat3Identity, quatFromMat3, StrataError, svd3 } from "../../core/index.ts";
import type { PoseTrajectory } from "./trajectory.ts";
import { poseCount, quatsFromRotations, rotationMatricesOf, selectPoses } from "./trajectory.ts";

// ---------------------------------------------------------------- association

export interface AssociateOptions {
  /** Largest accepted |Δt| between matched stamps, seconds. Default 0.01 (evo `--t_max_diff`). */
  maxDiffSecs?: number;
  /** Added to the estimate's stamps before matching, seconds. Default 0 (evo `--t_offset`). */
  offsetSecs?: number;
}

export interface Association {
  /** The matched reference poses, one per pair. */
  ref: PoseTrajectory;
  /** The matched estimated poses, one per pair. */
  est: PoseTrajectory;
  refIndices: Int32Array;
  estIndices: Int32Array;
  /** Pose count of the shorter input: the most pairs there could have been. */
  maxPairs: number;
}

/**
 * Index of the first minimum of `|value(j) − target|` over `values[lo, hi)`, for non-decreasing `values`
 * (what numpy's `argmin` returns on the same array). `shift` is added to each value before comparing.
 */
function nearestSorted(values: Float64Array, lo: number, hi: number, target: number, shift: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if ((values[mid] as number) + shift < target) a = mid + 1;
    else b = mid;
  }
  // a: first index with value ≥ target (or hi); the nearest is a − 1 or a, the earlier one on ties
  let best: number;
  if (a >= hi) best = hi - 1;
  else if (a === lo) best = lo;
  else
    best =
      Math.abs((values[a - 1] as number) + shift - target) <= Math.abs((values[a] as number) + shift - target)
        ? a - 1
        : a;
  const d = Math.abs((values[best] as number) + shift - target);
  while (best > lo && Math.abs((values[best - 1] as number) + shift - target) === d) best--;
  return best;
}

/** Nearest to `target` given `a` = first index in sorted `values[0, m)` with value ≥ target (first index on ties). */
function nearestAround(values: Float64Array, a: number, m: number, target: number): number {
  let best: number;
  if (a >= m) best = m - 1;
  else if (a === 0) best = 0;
  else
    best =
      Math.abs((values[a - 1] as number) - target) <= Math.abs((values[a] as number) - target) ? a - 1 : a;
  const d = Math.abs((values[best] as number) - target);
  while (best > 0 && Math.abs((values[best - 1] as number) - target) === d) best--;
  return best;
}

/** `indices[k] === k` for every k. */
function isIdentity(indices: Int32Array): boolean {
  for (let k = 0; k < indices.length; k++) if (indices[k] !== k) return false;
  return true;
}

function isNonDecreasing(values: Float64Array): boolean {
  for (let i = 1; i < values.length; i++) if ((values[i] as number) < (values[i - 1] as number)) return false;
  return true;
}

/**
 * evo's `matching_time_indices`: for each short stamp, the nearest long stamp (after adding `offsetLong`),
 * kept when within `maxDiff`. A merge when both are sorted, binary search when only the long stamps are,
 * a linear scan otherwise (same result).
 */
export function matchingTimeIndices(
  stampsShort: Float64Array,
  stampsLong: Float64Array,
  maxDiff: number,
  offsetLong: number,
): { shortIndices: Int32Array; longIndices: Int32Array } {
  const shortIndices = new Int32Array(stampsShort.length);
  const longIndices = new Int32Array(stampsShort.length);
  if (stampsLong.length === 0) {
    return { shortIndices: shortIndices.subarray(0, 0), longIndices: longIndices.subarray(0, 0) };
  }
  // evo adds the offset to a copy of the stamps; precompute it so every diff is rounded the same way.
  const shifted = offsetLong === 0 ? stampsLong : stampsLong.map((t) => t + offsetLong);
  const sorted = isNonDecreasing(shifted);
  const match = sorted && isNonDecreasing(stampsShort) ? matchMerge : sorted ? matchBinary : matchScan;
  const count = match(stampsShort, shifted, maxDiff, shortIndices, longIndices);
  return count === stampsShort.length
    ? { shortIndices, longIndices }
    : { shortIndices: shortIndices.slice(0, count), longIndices: longIndices.slice(0, count) };
}

/**
 * The matchers write the pairs (short index, nearest long index) within `maxDiff` to `shortIdx` /
 * `longIdx` and return their count. One loop each, so each is optimized on its own.
 */
type Matcher = (
  stampsShort: Float64Array,
  stampsLong: Float64Array,
  maxDiff: number,
  shortIdx: Int32Array,
  longIdx: Int32Array,
) => number;

/** Both sorted: the first long index with stamp ≥ t only moves forward. */
const matchMerge: Matcher = (stampsShort, stampsLong, maxDiff, shortIdx, longIdx) => {
  const m = stampsLong.length;
  let count = 0;
  let cursor = 0;
  for (let i = 0; i < stampsShort.length; i++) {
    const t = stampsShort[i] as number;
    while (cursor < m && (stampsLong[cursor] as number) < t) cursor++;
    const j = nearestAround(stampsLong, cursor, m, t);
    if (Math.abs((stampsLong[j] as number) - t) <= maxDiff) {
      shortIdx[count] = i;
      longIdx[count] = j;
      count++;
    }
  }
  return count;
};

/** Sorted long stamps: binary search for each short stamp. */
const matchBinary: Matcher = (stampsShort, stampsLong, maxDiff, shortIdx, longIdx) => {
  let count = 0;
  for (let i = 0; i < stampsShort.length; i++) {
    const t = stampsShort[i] as number;
    const j = nearestSorted(stampsLong, 0, stampsLong.length, t, 0);
    if (Math.abs((stampsLong[j] as number) - t) <= maxDiff) {
      shortIdx[count] = i;
      longIdx[count] = j;
      count++;
    }
  }
  return count;
};

/** Unsorted long stamps: evo's argmin over all of them. */
const matchScan: Matcher = (stampsShort, stampsLong, maxDiff, shortIdx, longIdx) => {
  let count = 0;
  for (let i = 0; i < stampsShort.length; i++) {
    const t = stampsShort[i] as number;
    let j = 0;
    let best = Math.abs((stampsLong[0] as number) - t);
    for (let k = 1; k < stampsLong.length; k++) {
      const d = Math.abs((stampsLong[k] as number) - t);
      if (d < best) {
        best = d;
        j = k;
      }
    }
    if (best <= maxDiff) {
      shortIdx[count] = i;
      longIdx[count] = j;
      count++;
    }
  }
  return count;
};

/**
 * Pairs the poses of a reference and an estimate by time (evo `sync.associate_trajectories`, nearest time).
 * Two index-timed trajectories (KITTI without times) pair by index and must have equal length, as in evo.
 */
export function associate(
  ref: PoseTrajectory,
  est: PoseTrajectory,
  opts: AssociateOptions = {},
): Association {
  const maxDiff = opts.maxDiffSecs ?? 0.01;
  const offset = opts.offsetSecs ?? 0;
  const nRef = poseCount(ref);
  const nEst = poseCount(est);
  if (ref.timeBase === "index" || est.timeBase === "index") {
    if (ref.timeBase !== est.timeBase) {
      throw new StrataError(
        "STRATA_E_METRICS",
        "one trajectory has timestamps and the other has none (KITTI poses need a times file to pair with a timed trajectory)",
      );
    }
    if (nRef !== nEst) {
      throw new StrataError(
        "STRATA_E_METRICS",
        `poses without timestamps pair by index: ${nRef} reference vs ${nEst} estimated poses`,
      );
    }
    const ids = Int32Array.from({ length: nRef }, (_, i) => i);
    return { ref, est, refIndices: ids, estIndices: ids.slice(), maxPairs: nRef };
  }
  const estLonger = nEst > nRef;
  const short = estLonger ? ref : est;
  const long = estLonger ? est : ref;
  const { shortIndices, longIndices } = matchingTimeIndices(
    short.timestampsSecs,
    long.timestampsSecs,
    maxDiff,
    estLonger ? offset : -offset,
  );
  if (shortIndices.length === 0) {
    throw new StrataError(
      "STRATA_E_METRICS",
      `found no matching timestamps between reference and estimate with max. time diff ${maxDiff} s and time offset ${offset} s`,
    );
  }
  const refIndices = estLonger ? shortIndices : longIndices;
  const estIndices = estLonger ? longIndices : shortIndices;
  // Every pose paired with the pose of the same index (same count, same rate): selecting them all in
  // order would copy the inputs unchanged, and trajectories are immutable values, so pass them through.
  const unchanged =
    nRef === nEst && refIndices.length === nRef && isIdentity(refIndices) && isIdentity(estIndices);
  return {
    ref: unchanged ? ref : selectPoses(ref, refIndices),
    est: unchanged ? est : selectPoses(est, estIndices),
    refIndices,
    estIndices,
    maxPairs: Math.min(nRef, nEst),
  };
}

// ---------------------------------------------------------------- Umeyama

/**
 * Least-squares similarity `y ≈ scale · R · x + t` between two point sets (`3·n` interleaved xyz), after
 * Umeyama, "Least-squares estimation of transformation parameters between two point patterns" (PAMI 1991).
 * Without `withScale`, scale is 1 (SE(3)). Uses the first `count` points (default all).
 */
export function umeyamaAlignment(x: Float64Array, y: Float64Array, withScale: boolean, count?: number): Sim3 {
  if (x.length !== y.length || x.length % 3 !== 0) {
    throw new StrataError("STRATA_E_METRICS", "Umeyama alignment needs two point sets of the same size");
  }
  const n = count === undefined || count < 0 ? x.length / 3 : Math.min(count, x.length / 3);
  if (n === 0) throw new StrataError("STRATA_E_METRICS", "Umeyama alignment needs at least one point");
  const m = pointMeans(x, y, n);
  const mx0 = m[0] as number;
  const mx1 = m[1] as number;
  const mx2 = m[2] as number;
  const my0 = m[3] as number;
  const my1 = m[4] as number;
  const my2 = m[5] as number;
  // cov = Σ (y_i − m_y)(x_i − m_x)ᵀ / n (row-major), sigmaX = Σ ‖x_i − m_x‖² / n
  const sums = centredMoments(x, y, n, m);
  const sigmaX = (sums[9] as number) / n;
  const cov = new Float64Array(9);
  for (let k = 0; k < 9; k++) cov[k] = (sums[k] as number) / n;

  const { u, s: d, v } = svd3(cov);
  const eps = Number.EPSILON;
  if ((d[0] > eps ? 1 : 0) + (d[1] > eps ? 1 : 0) + (d[2] > eps ? 1 : 0) < 2) {
    throw new StrataError(
      "STRATA_E_METRICS",
      "degenerate covariance rank, Umeyama alignment is not possible (too few distinct positions)",
    );
  }
  const sign = mat3Determinant(u) * mat3Determinant(v) < 0 ? -1 : 1;
  // R = U · S · Vᵀ with S = diag(1, 1, sign)
  const rotation: Mat3 = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      rotation[3 * r + c] =
        (u[3 * r] as number) * (v[3 * c] as number) +
        (u[3 * r + 1] as number) * (v[3 * c + 1] as number) +
        sign * (u[3 * r + 2] as number) * (v[3 * c + 2] as number);
    }
  }
  const scale = withScale ? (d[0] + d[1] + sign * d[2]) / sigmaX : 1;
  const translation: Vec3 = {
    x:
      my0 -
      scale * ((rotation[0] as number) * mx0 + (rotation[1] as number) * mx1 + (rotation[2] as number) * mx2),
    y:
      my1 -
      scale * ((rotation[3] as number) * mx0 + (rotation[4] as number) * mx1 + (rotation[5] as number) * mx2),
    z:
      my2 -
      scale * ((rotation[6] as number) * mx0 + (rotation[7] as number) * mx1 + (rotation[8] as number) * mx2),
  };
  return { rotation, translation, scale };
}

/** Means of the first `n` points of `x` and `y` (`3·n` interleaved): `[mx0, mx1, mx2, my0, my1, my2]`. */
function pointMeans(x: Float64Array, y: Float64Array, n: number): Float64Array {
  let mx0 = 0;
  let mx1 = 0;
  let mx2 = 0;
  let my0 = 0;
  let my1 = 0;
  let my2 = 0;
  for (let o = 0; o < 3 * n; o += 3) {
    mx0 += x[o] as number;
    mx1 += x[o + 1] as number;
    mx2 += x[o + 2] as number;
    my0 += y[o] as number;
    my1 += y[o + 1] as number;
    my2 += y[o + 2] as number;
  }
  return Float64Array.of(mx0 / n, mx1 / n, mx2 / n, my0 / n, my1 / n, my2 / n);
}

/** `Σ (y_i − m_y)(x_i − m_x)ᵀ` (9, row-major) and `Σ ‖x_i − m_x‖²` (index 9) over the first `n` points. */
function centredMoments(x: Float64Array, y: Float64Array, n: number, means: Float64Array): Float64Array {
  const mx0 = means[0] as number;
  const mx1 = means[1] as number;
  const mx2 = means[2] as number;
  const my0 = means[3] as number;
  const my1 = means[4] as number;
  const my2 = means[5] as number;
  let sxx = 0;
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  let c4 = 0;
  let c5 = 0;
  let c6 = 0;
  let c7 = 0;
  let c8 = 0;
  for (let o = 0; o < 3 * n; o += 3) {
    const a0 = (x[o] as number) - mx0;
    const a1 = (x[o + 1] as number) - mx1;
    const a2 = (x[o + 2] as number) - mx2;
    const b0 = (y[o] as number) - my0;
    const b1 = (y[o + 1] as number) - my1;
    const b2 = (y[o + 2] as number) - my2;
    sxx += a0 * a0 + a1 * a1 + a2 * a2;
    c0 += b0 * a0;
    c1 += b0 * a1;
    c2 += b0 * a2;
    c3 += b1 * a0;
    c4 += b1 * a1;
    c5 += b1 * a2;
    c6 += b2 * a0;
    c7 += b2 * a1;
    c8 += b2 * a2;
  }
  return Float64Array.of(c0, c1, c2, c3, c4, c5, c6, c7, c8, sxx);
}

// ---------------------------------------------------------------- alignment

/**
 * `none`; `se3`: Umeyama rigid (evo `-a`); `sim3`: Umeyama with scale (`-as`); `scale`: scale only (`-s`);
 * `origin`: move the first estimated pose onto the first reference pose (`--align_origin`).
 */
export type AlignMode = "none" | "se3" | "sim3" | "scale" | "origin";

export interface AlignOptions {
  /** Use only the first N pose pairs to estimate the alignment (evo `--n_to_align`); default all. */
  nToAlign?: number;
}

export interface AlignResult {
  /** The estimate moved onto the reference. */
  trajectory: PoseTrajectory;
  /** `refFromEst` similarity that was applied (identity rotation for `scale`); absent for `none`. */
  alignment?: Sim3;
}

/**
 * The `refFromEst` similarity of `mode` for an associated pair (undefined for `none`). Applied as evo does:
 * positions scaled by `scale`, then the pose transformed by `(rotation, translation)`.
 */
function estimateAlignment(
  est: PoseTrajectory,
  ref: PoseTrajectory,
  mode: AlignMode,
  opts: AlignOptions,
): Sim3 | undefined {
  if (mode === "none") return undefined;
  requireSameLength(ref, est);
  if (mode === "origin") {
    if (poseCount(est) === 0) throw new StrataError("STRATA_E_METRICS", "cannot align an empty trajectory");
    // T = Q_0 · P_0⁻¹ (inverse by transpose, as evo)
    const rq = rotationMatricesOf(ref).subarray(0, 9);
    const rp = rotationMatricesOf(est).subarray(0, 9);
    const rotation = new Float64Array(9);
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        rotation[3 * r + c] =
          (rq[3 * r] as number) * (rp[3 * c] as number) +
          (rq[3 * r + 1] as number) * (rp[3 * c + 1] as number) +
          (rq[3 * r + 2] as number) * (rp[3 * c + 2] as number);
      }
    }
    const p0 = est.positions;
    const q0 = ref.positions;
    const translation: Vec3 = {
      x:
        (q0[0] as number) -
        ((rotation[0] as number) * (p0[0] as number) +
          (rotation[1] as number) * (p0[1] as number) +
          (rotation[2] as number) * (p0[2] as number)),
      y:
        (q0[1] as number) -
        ((rotation[3] as number) * (p0[0] as number) +
          (rotation[4] as number) * (p0[1] as number) +
          (rotation[5] as number) * (p0[2] as number)),
      z:
        (q0[2] as number) -
        ((rotation[6] as number) * (p0[0] as number) +
          (rotation[7] as number) * (p0[1] as number) +
          (rotation[8] as number) * (p0[2] as number)),
    };
    return { rotation, translation, scale: 1 };
  }
  const withScale = mode === "sim3" || mode === "scale";
  const sim = umeyamaAlignment(est.positions, ref.positions, withScale, opts.nToAlign);
  if (mode === "scale")
    return { rotation: mat3Identity(), translation: { x: 0, y: 0, z: 0 }, scale: sim.scale };
  return sim;
}

/** Positions `R · (s · p) + t` (`3·n`) of `positions` under `sim`, evo's `scale(s)` then `transform`. */
function transformPositions(positions: Float64Array, sim: Sim3): Float64Array {
  const n = positions.length / 3;
  const out = new Float64Array(3 * n);
  const m = sim.rotation;
  const r0 = m[0] as number;
  const r1 = m[1] as number;
  const r2 = m[2] as number;
  const r3 = m[3] as number;
  const r4 = m[4] as number;
  const r5 = m[5] as number;
  const r6 = m[6] as number;
  const r7 = m[7] as number;
  const r8 = m[8] as number;
  const { x: tx, y: ty, z: tz } = sim.translation;
  const s = sim.scale;
  for (let o = 0; o < 3 * n; o += 3) {
    const px = s * (positions[o] as number);
    const py = s * (positions[o + 1] as number);
    const pz = s * (positions[o + 2] as number);
    out[o] = r0 * px + r1 * py + r2 * pz + tx;
    out[o + 1] = r3 * px + r4 * py + r5 * pz + ty;
    out[o + 2] = r6 * px + r7 * py + r8 * pz + tz;
  }
  return out;
}

/** Rotations `R · R_i` (`9·n`, row-major) of `rotations` under the rotation `m`. */
function transformRotations(rotations: Float64Array, m: Mat3): Float64Array {
  const out = new Float64Array(rotations.length);
  const r0 = m[0] as number;
  const r1 = m[1] as number;
  const r2 = m[2] as number;
  const r3 = m[3] as number;
  const r4 = m[4] as number;
  const r5 = m[5] as number;
  const r6 = m[6] as number;
  const r7 = m[7] as number;
  const r8 = m[8] as number;
  for (let o = 0; o < rotations.length; o += 9) {
    for (let c = 0; c < 3; c++) {
      const a = rotations[o + c] as number;
      const b = rotations[o + 3 + c] as number;
      const d = rotations[o + 6 + c] as number;
      out[o + c] = r0 * a + r1 * b + r2 * d;
      out[o + 3 + c] = r3 * a + r4 * b + r5 * d;
      out[o + 6 + c] = r6 * a + r7 * b + r8 * d;
    }
  }
  return out;
}

/** Moves the estimate onto the reference (both already associated, same pose count). */
export function alignTrajectory(
  est: PoseTrajectory,
  ref: PoseTrajectory,
  mode: AlignMode,
  opts: AlignOptions = {},
): AlignResult {
  const alignment = estimateAlignment(est, ref, mode, opts);
  if (!alignment) return { trajectory: est };
  const rotations = transformRotations(rotationMatricesOf(est), alignment.rotation);
  return {
    trajectory: {
      ...est,
      positions: transformPositions(est.positions, alignment),
      rotations,
      orientations: quatsFromRotations(rotations),
    },
    alignment,
  };
}

/**
 * What the metrics read of an aligned estimate: the similarity, and the aligned positions and rotation
 * matrices only when a relation or a source with stored matrices needs them (built on first use). APE and
 * RPE `trans` of quaternion trajectories build neither (see `alignedDistances`, `rpeTranslationFromQuats`).
 */
interface MetricAlignment {
  /** `refFromEst` similarity applied; absent for `none`. */
  readonly alignment?: Sim3;
  /** The unaligned estimate. */
  readonly est: PoseTrajectory;
  /** Aligned estimate positions, `3·n`, see `alignedPositions`. */
  positions?: Float64Array;
  /** Aligned estimate rotations, `9·n`, see `alignedRotations`. */
  rotations?: Float64Array;
}

/** Positions of the aligned estimate (`R_align · (s · p_i) + t`), built once per metric alignment. */
function alignedPositions(a: MetricAlignment): Float64Array {
  a.positions ??= a.alignment ? transformPositions(a.est.positions, a.alignment) : a.est.positions;
  return a.positions;
}

/** Rotation matrices of the aligned estimate (`R_align · R_i`), built once per metric alignment. */
function alignedRotations(a: MetricAlignment): Float64Array {
  if (!a.rotations) {
    const src = rotationMatricesOf(a.est);
    a.rotations = a.alignment ? transformRotations(src, a.alignment.rotation) : src;
  }
  return a.rotations;
}

const alignmentCache = new WeakMap<PoseTrajectory, WeakMap<PoseTrajectory, Map<string, MetricAlignment>>>();

/**
 * The alignment the metrics use, memoized per (estimate, reference, mode, nToAlign): APE and RPE of the
 * same pair align once. Trajectories are immutable values, so this is a pure cache.
 */
function alignForMetrics(
  est: PoseTrajectory,
  ref: PoseTrajectory,
  mode: AlignMode,
  opts: AlignOptions,
): MetricAlignment {
  if (mode === "none") return { est };
  const key = `${mode}:${opts.nToAlign ?? -1}`;
  let byRef = alignmentCache.get(est);
  if (!byRef) {
    byRef = new WeakMap();
    alignmentCache.set(est, byRef);
  }
  let byMode = byRef.get(ref);
  if (!byMode) {
    byMode = new Map();
    byRef.set(ref, byMode);
  }
  const cached = byMode.get(key);
  if (cached) return cached;
  const alignment = estimateAlignment(est, ref, mode, opts) as Sim3;
  const result: MetricAlignment = { alignment, est };
  byMode.set(key, result);
  return result;
}

function requireSameLength(ref: PoseTrajectory, est: PoseTrajectory): void {
  if (poseCount(ref) !== poseCount(est)) {
    throw new StrataError(
      "STRATA_E_METRICS",
      `trajectories must have the same number of poses (${poseCount(ref)} vs ${poseCount(est)}); associate them first`,
    );
  }
}

// ---------------------------------------------------------------- statistics

export interface ErrorStatistics {
  pairs: number;
  rmse: number;
  mean: number;
  median: number;
  /** Population standard deviation (numpy `std`, ddof 0). */
  std: number;
  min: number;
  max: number;
  /** Sum of squared errors. */
  sse: number;
}

export function errorStatistics(errors: Float64Array): ErrorStatistics {
  const n = errors.length;
  if (n === 0) throw new StrataError("STRATA_E_METRICS", "no error values to summarize");
  // Each pass is a small function with one simple loop: the JIT optimizes it well after one call (fusing
  // these loops measured slower under V8).
  const { sum, sse, min, max } = moments(errors);
  const mean = sum / n;
  if (Number.isNaN(min)) {
    // numpy: min, max, median and std of an array holding NaN are NaN
    const nan = Number.NaN;
    return { pairs: n, rmse: Math.sqrt(sse / n), mean, median: nan, std: nan, min: nan, max: nan, sse };
  }
  const std = Math.sqrt(squaredDeviations(errors, mean) / n);
  const mid = n >> 1;
  // the median is the mean of the values of ranks `lowRank` and `mid` (the same rank for an odd count)
  const lowRank = n % 2 === 1 ? mid : mid - 1;
  let median: number;
  if (n >= RADIX_MEDIAN_MIN_COUNT && LITTLE_ENDIAN) {
    // high 32 bits of each float64 (little-endian: the odd words)
    const highWords = new Uint32Array(errors.buffer, errors.byteOffset, 2 * n);
    const histogram = binCounts(highWords, n);
    // the bins holding ranks lowRank and mid, and how many values lie in lower bins
    let below = 0;
    let binLow = 0;
    while (below + (histogram[binLow] as number) <= lowRank) below += histogram[binLow++] as number;
    let binHigh = binLow;
    let throughHigh = below + (histogram[binHigh] as number);
    while (throughHigh <= mid) throughHigh += histogram[++binHigh] as number;
    // bins between binLow and binHigh are empty: the candidates hold exactly the ranks below … throughHigh − 1
    const candidates = new Float64Array(throughHigh - below);
    valuesInBins(errors, highWords, binLow, binHigh, candidates);
    median = middleOf(candidates, lowRank - below, mid - below);
  } else {
    median = middleOf(errors.slice(), lowRank, mid);
  }
  return { pairs: n, rmse: Math.sqrt(sse / n), mean, median, std, min, max, sse };
}

/**
 * The median's O(n) selection for large arrays: a radix pre-selection on the top 16 bits of each value
 * (sign, exponent, 4 mantissa bits, mapped so that the order of the bins is the numeric order), then
 * quickselect among the values of the one or two bins that hold the middle ranks. Below this count
 * quickselect on a copy of all values is as fast.
 */
const RADIX_MEDIAN_MIN_COUNT = 4096;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
let histogramScratch: Int32Array | undefined;

/**
 * Bin of a float64 from its high 32 bits `hi`, increasing with the value: for non-negative values the sign
 * bit is set, for negative ones all bits are flipped (so larger magnitudes sort lower). Ranks within a bin
 * are resolved by comparing the values themselves.
 */
const sortBin = (hi: number): number => ((hi & 0x80000000) !== 0 ? ~hi >>> 16 : (hi >>> 16) | 0x8000);

/** Sum, sum of squares, min and max (NaN propagates into min and max, as `Math.min`/`Math.max` do). */
function moments(errors: Float64Array): { sum: number; sse: number; min: number; max: number } {
  let sum = 0;
  let sse = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i] as number;
    sum += e;
    sse += e * e;
    min = Math.min(min, e);
    max = Math.max(max, e);
  }
  return { sum, sse, min, max };
}

/** `Σ (e − mean)²` (numpy's two-pass variance numerator). */
function squaredDeviations(errors: Float64Array, mean: number): number {
  let s = 0;
  for (let i = 0; i < errors.length; i++) {
    const d = (errors[i] as number) - mean;
    s += d * d;
  }
  return s;
}

/** Counts of the `n` values per `sortBin`, in a 2^16-bin histogram reused between calls. */
function binCounts(highWords: Uint32Array, n: number): Int32Array {
  histogramScratch ??= new Int32Array(1 << 16);
  const histogram = histogramScratch;
  histogram.fill(0);
  for (let i = 0; i < n; i++) {
    const bin = sortBin(highWords[2 * i + 1] as number);
    histogram[bin] = (histogram[bin] as number) + 1;
  }
  return histogram;
}

/** Copies the values whose bin lies in `[binLow, binHigh]` to `out`, in array order. */
function valuesInBins(
  errors: Float64Array,
  highWords: Uint32Array,
  binLow: number,
  binHigh: number,
  out: Float64Array,
): void {
  let c = 0;
  for (let i = 0; i < errors.length; i++) {
    const bin = sortBin(highWords[2 * i + 1] as number);
    if (bin >= binLow && bin <= binHigh) out[c++] = errors[i] as number;
  }
}

/**
 * `(v_low + v_high) / 2` of the values of ranks `lowRank ≤ highRank` (`highRank ≤ lowRank + 1`) in `a`,
 * exactly as sorting would give them; reorders `a`.
 */
function middleOf(a: Float64Array, lowRank: number, highRank: number): number {
  const upper = select(a, highRank);
  if (lowRank === highRank) return upper;
  // after selection the value of rank highRank − 1 is the largest one left of highRank
  let lower = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < highRank; i++) lower = Math.max(lower, a[i] as number);
  return (lower + upper) / 2;
}

/** Quickselect (Hoare partition, median-of-three): puts the k-th smallest at `a[k]`, smaller ones left of it. */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot
    const x = a[lo] as number;
    const y = a[mid] as number;
    const z = a[hi] as number;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
}

// ---------------------------------------------------------------- APE / RPE

/**
 * `trans`: translation part (m); `rot`: ‖R_E − I‖_F; `full`: ‖E − I₄‖_F; `angle_rad` / `angle_deg`: the
 * rotation angle of E (evo's `-r trans_part | rot_part | full | angle_rad | angle_deg`).
 */
export type PoseRelation = "trans" | "rot" | "full" | "angle_rad" | "angle_deg";

export interface MetricResult extends ErrorStatistics {
  /** Scale of the Sim(3) or scale-only alignment (evo prints it as "Scale correction"). */
  scale?: number;
  /** The per-pair errors, in pair order. */
  errors: Float64Array;
  /** `refFromEst` alignment applied to the estimate, when any. */
  alignment?: Sim3;
}

export interface ApeOptions extends AlignOptions {
  relation?: PoseRelation;
  align?: AlignMode;
}

/**
 * Relative pose `E = A⁻¹·B` for 3×3 rotations `ra`, `rb` (at offsets) and translations; writes the
 * rotation into `outR` and returns the error of `relation`.
 */
function poseError(
  relation: PoseRelation,
  ra: Float64Array,
  oa: number,
  ta0: number,
  ta1: number,
  ta2: number,
  rb: Float64Array,
  ob: number,
  tb0: number,
  tb1: number,
  tb2: number,
  outR: Float64Array,
): number {
  // R = Raᵀ Rb ; t = Raᵀ (tb − ta)
  for (let r = 0; r < 3; r++) {
    const a0 = ra[oa + r] as number;
    const a1 = ra[oa + 3 + r] as number;
    const a2 = ra[oa + 6 + r] as number;
    outR[3 * r] = a0 * (rb[ob] as number) + a1 * (rb[ob + 3] as number) + a2 * (rb[ob + 6] as number);
    outR[3 * r + 1] = a0 * (rb[ob + 1] as number) + a1 * (rb[ob + 4] as number) + a2 * (rb[ob + 7] as number);
    outR[3 * r + 2] = a0 * (rb[ob + 2] as number) + a1 * (rb[ob + 5] as number) + a2 * (rb[ob + 8] as number);
  }
  const d0 = tb0 - ta0;
  const d1 = tb1 - ta1;
  const d2 = tb2 - ta2;
  const t0 = (ra[oa] as number) * d0 + (ra[oa + 3] as number) * d1 + (ra[oa + 6] as number) * d2;
  const t1 = (ra[oa + 1] as number) * d0 + (ra[oa + 4] as number) * d1 + (ra[oa + 7] as number) * d2;
  const t2 = (ra[oa + 2] as number) * d0 + (ra[oa + 5] as number) * d1 + (ra[oa + 8] as number) * d2;
  return relationError(relation, outR, t0, t1, t2);
}

function relationError(relation: PoseRelation, r: Float64Array, t0: number, t1: number, t2: number): number {
  switch (relation) {
    case "trans":
      return Math.sqrt(t0 * t0 + t1 * t1 + t2 * t2);
    case "rot":
      return Math.sqrt(rotDeviationSq(r));
    case "full":
      return Math.sqrt(rotDeviationSq(r) + t0 * t0 + t1 * t1 + t2 * t2);
    case "angle_rad":
      return rotationAngle(r);
    case "angle_deg":
      return (rotationAngle(r) * 180) / Math.PI;
  }
}

function rotDeviationSq(r: Float64Array): number {
  let s = 0;
  for (let k = 0; k < 9; k++) {
    const d = (r[k] as number) - (k % 4 === 0 ? 1 : 0);
    s += d * d;
  }
  return s;
}

/** Angle of the rotation vector of `r` (scipy `Rotation.from_matrix(r).magnitude()`, as evo's `so3_log`). */
function rotationAngle(r: Float64Array): number {
  const q = quatFromMat3(r);
  return 2 * Math.atan2(Math.hypot(q.x, q.y, q.z), Math.abs(q.w));
}

/** Absolute pose error of an associated estimate against its reference (evo `evo_ape`). */
export function ape(ref: PoseTrajectory, est: PoseTrajectory, opts: ApeOptions = {}): MetricResult {
  const relation = opts.relation ?? "trans";
  const mode = opts.align ?? "none";
  requireSameLength(ref, est);
  const n = poseCount(ref);
  if (n === 0) throw new StrataError("STRATA_E_METRICS", "no pose pairs to compare");
  const aligned = alignForMetrics(est, ref, mode, opts);
  const { alignment } = aligned;
  const errors = new Float64Array(n);
  const q = ref.positions;
  if (relation === "trans") {
    if (alignment) alignedDistances(est.positions, alignment, q, errors);
    else distances(est.positions, q, errors);
  } else {
    const p = alignedPositions(aligned);
    const rp = alignedRotations(aligned);
    const rq = rotationMatricesOf(ref);
    const scratch = new Float64Array(9);
    for (let i = 0; i < n; i++) {
      // E = P⁻¹ · Q
      errors[i] = poseError(
        relation,
        rp,
        9 * i,
        p[3 * i] as number,
        p[3 * i + 1] as number,
        p[3 * i + 2] as number,
        rq,
        9 * i,
        q[3 * i] as number,
        q[3 * i + 1] as number,
        q[3 * i + 2] as number,
        scratch,
      );
    }
  }
  return withStats(errors, mode, alignment);
}

/** `‖(R · (s · p_i) + t) − q_i‖` for the similarity `sim` (the aligned positions are not kept). */
function alignedDistances(p: Float64Array, sim: Sim3, q: Float64Array, out: Float64Array): void {
  const m = sim.rotation;
  const r0 = m[0] as number;
  const r1 = m[1] as number;
  const r2 = m[2] as number;
  const r3 = m[3] as number;
  const r4 = m[4] as number;
  const r5 = m[5] as number;
  const r6 = m[6] as number;
  const r7 = m[7] as number;
  const r8 = m[8] as number;
  const { x: tx, y: ty, z: tz } = sim.translation;
  const s = sim.scale;
  for (let i = 0; i < out.length; i++) {
    const px = s * (p[3 * i] as number);
    const py = s * (p[3 * i + 1] as number);
    const pz = s * (p[3 * i + 2] as number);
    const dx = r0 * px + r1 * py + r2 * pz + tx - (q[3 * i] as number);
    const dy = r3 * px + r4 * py + r5 * pz + ty - (q[3 * i + 1] as number);
    const dz = r6 * px + r7 * py + r8 * pz + tz - (q[3 * i + 2] as number);
    out[i] = Math.sqrt(dx * dx + dy * dy + dz * dz);
  }
}

/** `‖p_i − q_i‖` of two `3·n` point arrays into `out` (n). */
function distances(p: Float64Array, q: Float64Array, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) {
    const dx = (p[3 * i] as number) - (q[3 * i] as number);
    const dy = (p[3 * i + 1] as number) - (q[3 * i + 1] as number);
    const dz = (p[3 * i + 2] as number) - (q[3 * i + 2] as number);
    out[i] = Math.sqrt(dx * dx + dy * dy + dz * dz);
  }
}

function withStats(errors: Float64Array, mode: AlignMode, alignment: Sim3 | undefined): MetricResult {
  return {
    ...errorStatistics(errors),
    ...(mode === "sim3" || mode === "scale" ? { scale: alignment?.scale ?? 1 } : {}),
    errors,
    ...(alignment ? { alignment } : {}),
  };
}

export type DeltaUnit = "frames" | "meters";

export interface RpeOptions extends AlignOptions {
  relation?: PoseRelation;
  /** Pair distance; default 1. An integer for `frames`. */
  delta?: number;
  deltaUnit?: DeltaUnit;
  /** All pairs at distance δ instead of consecutive ones (evo `--all_pairs`). */
  allPairs?: boolean;
  /** Relative tolerance of δ for `meters` with `allPairs` (evo `--delta_tol`), default 0.1. */
  relDeltaTol?: number;
  /** Pick pairs on the estimate (evo's default) or the reference (`--pairs_from_reference`). */
  pairsFrom?: "estimate" | "reference";
  align?: AlignMode;
}

export interface RpeResult extends MetricResult {
  /** Index pairs (i, j) as `[i0, j0, i1, j1, …]`. */
  pairIds: Int32Array;
}

/** evo `filter_pairs_by_index`, as `[i0, j0, i1, j1, …]`. */
function pairsByIndex(n: number, delta: number, allPairs: boolean): Int32Array {
  const step = allPairs ? 1 : delta;
  const count = n > delta ? Math.floor((n - delta - 1) / step) + 1 : 0;
  const out = new Int32Array(2 * count);
  for (let k = 0, i = 0; k < count; k++, i += step) {
    out[2 * k] = i;
    out[2 * k + 1] = i + delta;
  }
  return out;
}

/** evo `filter_pairs_by_path`: by travelled path length along `positions`. */
function pairsByPath(
  positions: Float64Array,
  n: number,
  delta: number,
  tol: number,
  allPairs: boolean,
): number[] {
  const out: number[] = [];
  if (n === 0) return out;
  if (allPairs) {
    const dist = new Float64Array(n);
    for (let i = 1; i < n; i++) {
      const dx = (positions[3 * (i - 1)] as number) - (positions[3 * i] as number);
      const dy = (positions[3 * (i - 1) + 1] as number) - (positions[3 * i + 1] as number);
      const dz = (positions[3 * (i - 1) + 2] as number) - (positions[3 * i + 2] as number);
      dist[i] = (dist[i - 1] as number) + Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
    for (let i = 0; i < n - 1; i++) {
      const base = dist[i] as number;
      // argmin over j > i of |(d_j − d_i) − δ|: values d_j − d_i are non-decreasing in j
      let a = i + 1;
      let b = n;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if ((dist[mid] as number) - base - delta < 0) a = mid + 1;
        else b = mid;
      }
      const diff = (j: number): number => Math.abs((dist[j] as number) - base - delta);
      let best = a >= n ? n - 1 : a === i + 1 ? a : diff(a - 1) <= diff(a) ? a - 1 : a;
      const d = diff(best);
      while (best > i + 1 && diff(best - 1) === d) best--;
      if (d > tol) continue;
      out.push(i, best);
    }
    return out;
  }
  const ids: number[] = [];
  let current = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0) {
      const dx = (positions[3 * i] as number) - (positions[3 * (i - 1)] as number);
      const dy = (positions[3 * i + 1] as number) - (positions[3 * (i - 1) + 1] as number);
      const dz = (positions[3 * i + 2] as number) - (positions[3 * (i - 1) + 2] as number);
      current += Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
    if (current >= delta) {
      ids.push(i);
      current = 0;
    }
  }
  for (let k = 0; k + 1 < ids.length; k++) out.push(ids[k] as number, ids[k + 1] as number);
  return out;
}

/** Relative pose error of an associated estimate against its reference (evo `evo_rpe`). */
export function rpe(ref: PoseTrajectory, est: PoseTrajectory, opts: RpeOptions = {}): RpeResult {
  const relation = opts.relation ?? "trans";
  const mode = opts.align ?? "none";
  const delta = opts.delta ?? 1;
  const unit = opts.deltaUnit ?? "frames";
  const allPairs = opts.allPairs ?? false;
  requireSameLength(ref, est);
  if (!(delta > 0)) throw new StrataError("STRATA_E_METRICS", `delta must be positive, got ${delta}`);
  if (unit === "frames" && !Number.isInteger(delta)) {
    throw new StrataError("STRATA_E_METRICS", `delta must be an integer for frames, got ${delta}`);
  }
  const aligned = alignForMetrics(est, ref, mode, opts);
  const { alignment } = aligned;
  const n = poseCount(ref);
  const ids =
    unit === "frames"
      ? pairsByIndex(n, delta, allPairs)
      : Int32Array.from(
          pairsByPath(
            opts.pairsFrom === "reference" ? ref.positions : alignedPositions(aligned),
            n,
            delta,
            delta * (opts.relDeltaTol ?? 0.1),
            allPairs,
          ),
        );
  const m = ids.length / 2;
  if (m === 0) {
    throw new StrataError(
      "STRATA_E_METRICS",
      `delta = ${delta} (${unit}) produced no pose pairs among ${n} poses; try a smaller delta`,
    );
  }
  const q = ref.positions;
  const errors = new Float64Array(m);
  if (relation === "trans" && !ref.rotations && !est.rotations) {
    rpeTranslationFromQuats(
      ids,
      ref.orientations,
      q,
      est.orientations,
      est.positions,
      alignment?.scale ?? 1,
      errors,
    );
    return { ...withStats(errors, mode, alignment), pairIds: ids };
  }
  const p = alignedPositions(aligned);
  const rq = rotationMatricesOf(ref);
  const rp = alignedRotations(aligned);
  if (relation === "trans") {
    rpeTranslation(ids, rq, q, rp, p, errors);
    return { ...withStats(errors, mode, alignment), pairIds: ids };
  }
  const qRel = new Float64Array(9);
  const pRel = new Float64Array(9);
  const eRot = new Float64Array(9);
  const relT = new Float64Array(3);
  for (let k = 0; k < m; k++) {
    const i = ids[2 * k] as number;
    const j = ids[2 * k + 1] as number;
    // Q_rel = Q_i⁻¹ Q_j, P_rel = P_i⁻¹ P_j, E = Q_rel⁻¹ P_rel
    relative(rq, q, i, j, qRel, relT);
    const qt0 = relT[0] as number;
    const qt1 = relT[1] as number;
    const qt2 = relT[2] as number;
    relative(rp, p, i, j, pRel, relT);
    errors[k] = poseError(
      relation,
      qRel,
      0,
      qt0,
      qt1,
      qt2,
      pRel,
      0,
      relT[0] as number,
      relT[1] as number,
      relT[2] as number,
      eRot,
    );
  }
  return { ...withStats(errors, mode, alignment), pairIds: ids };
}

/**
 * The translation relation of RPE, inlined (the hot path): `t_E = R_Qrelᵀ (t_Prel − t_Qrel)` with
 * `R_Qrel = R_Qiᵀ R_Qj`, `t_Qrel = R_Qiᵀ (q_j − q_i)`, `t_Prel = R_Piᵀ (p_j − p_i)`, in evo's order of operations.
 */
function rpeTranslation(
  ids: Int32Array,
  rq: Float64Array,
  q: Float64Array,
  rp: Float64Array,
  p: Float64Array,
  errors: Float64Array,
): void {
  const m = errors.length;
  for (let k = 0; k < m; k++) {
    const i = ids[2 * k] as number;
    const j = ids[2 * k + 1] as number;
    const oi = 9 * i;
    const oj = 9 * j;
    // R_Qi (row-major) entries
    const a00 = rq[oi] as number;
    const a01 = rq[oi + 1] as number;
    const a02 = rq[oi + 2] as number;
    const a10 = rq[oi + 3] as number;
    const a11 = rq[oi + 4] as number;
    const a12 = rq[oi + 5] as number;
    const a20 = rq[oi + 6] as number;
    const a21 = rq[oi + 7] as number;
    const a22 = rq[oi + 8] as number;
    const b00 = rq[oj] as number;
    const b01 = rq[oj + 1] as number;
    const b02 = rq[oj + 2] as number;
    const b10 = rq[oj + 3] as number;
    const b11 = rq[oj + 4] as number;
    const b12 = rq[oj + 5] as number;
    const b20 = rq[oj + 6] as number;
    const b21 = rq[oj + 7] as number;
    const b22 = rq[oj + 8] as number;
    // R_Qrel = R_Qiᵀ R_Qj
    const c00 = a00 * b00 + a10 * b10 + a20 * b20;
    const c01 = a00 * b01 + a10 * b11 + a20 * b21;
    const c02 = a00 * b02 + a10 * b12 + a20 * b22;
    const c10 = a01 * b00 + a11 * b10 + a21 * b20;
    const c11 = a01 * b01 + a11 * b11 + a21 * b21;
    const c12 = a01 * b02 + a11 * b12 + a21 * b22;
    const c20 = a02 * b00 + a12 * b10 + a22 * b20;
    const c21 = a02 * b01 + a12 * b11 + a22 * b21;
    const c22 = a02 * b02 + a12 * b12 + a22 * b22;
    // t_Qrel = R_Qiᵀ (q_j − q_i)
    const dq0 = (q[3 * j] as number) - (q[3 * i] as number);
    const dq1 = (q[3 * j + 1] as number) - (q[3 * i + 1] as number);
    const dq2 = (q[3 * j + 2] as number) - (q[3 * i + 2] as number);
    const tq0 = a00 * dq0 + a10 * dq1 + a20 * dq2;
    const tq1 = a01 * dq0 + a11 * dq1 + a21 * dq2;
    const tq2 = a02 * dq0 + a12 * dq1 + a22 * dq2;
    // t_Prel = R_Piᵀ (p_j − p_i)
    const dp0 = (p[3 * j] as number) - (p[3 * i] as number);
    const dp1 = (p[3 * j + 1] as number) - (p[3 * i + 1] as number);
    const dp2 = (p[3 * j + 2] as number) - (p[3 * i + 2] as number);
    const tp0 = (rp[oi] as number) * dp0 + (rp[oi + 3] as number) * dp1 + (rp[oi + 6] as number) * dp2;
    const tp1 = (rp[oi + 1] as number) * dp0 + (rp[oi + 4] as number) * dp1 + (rp[oi + 7] as number) * dp2;
    const tp2 = (rp[oi + 2] as number) * dp0 + (rp[oi + 5] as number) * dp1 + (rp[oi + 8] as number) * dp2;
    // t_E = R_Qrelᵀ (t_Prel − t_Qrel)
    const d0 = tp0 - tq0;
    const d1 = tp1 - tq1;
    const d2 = tp2 - tq2;
    const e0 = c00 * d0 + c10 * d1 + c20 * d2;
    const e1 = c01 * d0 + c11 * d1 + c21 * d2;
    const e2 = c02 * d0 + c12 * d1 + c22 * d2;
    errors[k] = Math.sqrt(e0 * e0 + e1 * e1 + e2 * e2);
  }
}

/**
 * The translation relation of RPE for trajectories whose rotations come from quaternions, fused into one
 * pass without `9·n` matrix arrays. With `R_Qrel = R_Qiᵀ R_Qj`, `t_Qrel = R_Qiᵀ Δq`, `t_Prel = R_Piᵀ Δp'`
 * (Δ = position j − position i, `'` = aligned), `R_Pi = R_align R_esti` and `Δp' = s R_align Δp`:
 *
 *   ‖t_E‖ = ‖R_Qrelᵀ (t_Prel − t_Qrel)‖ = ‖R_Qjᵀ · (R_Qi R_estiᵀ R_alignᵀ Δp' − R_Qi R_Qiᵀ Δq)‖
 *         = ‖R_Qi · (R_estiᵀ · (s Δp)) − Δq‖
 *
 * since these rotations are orthonormal to rounding (built from normalized quaternions, or by the SVD for
 * `R_align`): `R_Qjᵀ` keeps the norm, `R_Qi R_Qiᵀ = I`, `R_alignᵀ R_align = I`. The values agree with the
 * matrix formulation to rounding (a test checks 1e-12). Stored matrices (KITTI, 9 digits, orthonormal only
 * to ~1e-9) keep evo's literal order in `rpeTranslation`. Each rotation is built from its quaternion as
 * `writeRotationFromQuat` does (normalized on the fly; a near-zero quaternion is the identity).
 */
function rpeTranslationFromQuats(
  ids: Int32Array,
  refQuats: Float64Array,
  refPositions: Float64Array,
  estQuats: Float64Array,
  estPositions: Float64Array,
  scale: number,
  errors: Float64Array,
): void {
  const m = errors.length;
  const q = refPositions;
  const p = estPositions;
  for (let k = 0; k < m; k++) {
    const i = ids[2 * k] as number;
    const j = ids[2 * k + 1] as number;
    // u = s Δp (estimate frame)
    const u0 = scale * ((p[3 * j] as number) - (p[3 * i] as number));
    const u1 = scale * ((p[3 * j + 1] as number) - (p[3 * i + 1] as number));
    const u2 = scale * ((p[3 * j + 2] as number) - (p[3 * i + 2] as number));
    // w = R_estiᵀ u, R_esti from the estimate's quaternion i
    let x = estQuats[4 * i] as number;
    let y = estQuats[4 * i + 1] as number;
    let z = estQuats[4 * i + 2] as number;
    let w = estQuats[4 * i + 3] as number;
    let nq = x * x + y * y + z * z + w * w;
    if (nq < QUAT_NORM_SQ_MIN) {
      x = 0;
      y = 0;
      z = 0;
      w = 1;
      nq = 1;
    }
    let s = 2 / nq;
    let xs = x * s;
    let ys = y * s;
    let zs = z * s;
    let xx = x * xs;
    let yy = y * ys;
    let zz = z * zs;
    let xy = x * ys;
    let xz = x * zs;
    let yz = y * zs;
    let wx = w * xs;
    let wy = w * ys;
    let wz = w * zs;
    // column c of R (= row c of Rᵀ) dotted with u
    const w0 = (1 - yy - zz) * u0 + (xy + wz) * u1 + (xz - wy) * u2;
    const w1 = (xy - wz) * u0 + (1 - xx - zz) * u1 + (yz + wx) * u2;
    const w2 = (xz + wy) * u0 + (yz - wx) * u1 + (1 - xx - yy) * u2;
    // v = R_Qi w − Δq, R_Qi from the reference's quaternion i
    x = refQuats[4 * i] as number;
    y = refQuats[4 * i + 1] as number;
    z = refQuats[4 * i + 2] as number;
    w = refQuats[4 * i + 3] as number;
    nq = x * x + y * y + z * z + w * w;
    if (nq < QUAT_NORM_SQ_MIN) {
      x = 0;
      y = 0;
      z = 0;
      w = 1;
      nq = 1;
    }
    s = 2 / nq;
    xs = x * s;
    ys = y * s;
    zs = z * s;
    xx = x * xs;
    yy = y * ys;
    zz = z * zs;
    xy = x * ys;
    xz = x * zs;
    yz = y * zs;
    wx = w * xs;
    wy = w * ys;
    wz = w * zs;
    const v0 =
      (1 - yy - zz) * w0 + (xy - wz) * w1 + (xz + wy) * w2 - ((q[3 * j] as number) - (q[3 * i] as number));
    const v1 =
      (xy + wz) * w0 +
      (1 - xx - zz) * w1 +
      (yz - wx) * w2 -
      ((q[3 * j + 1] as number) - (q[3 * i + 1] as number));
    const v2 =
      (xz - wy) * w0 +
      (yz + wx) * w1 +
      (1 - xx - yy) * w2 -
      ((q[3 * j + 2] as number) - (q[3 * i + 2] as number));
    errors[k] = Math.sqrt(v0 * v0 + v1 * v1 + v2 * v2);
  }
}

/** Below this squared norm a quaternion counts as zero and maps to the identity (as `writeRotationFromQuat`). */
const QUAT_NORM_SQ_MIN = 8.881784197001252e-16;

/** `A_i⁻¹ · A_j` of poses (rotations `rot`, positions `pos`), rotation into `outR`, translation into `outT`. */
function relative(
  rot: Float64Array,
  pos: Float64Array,
  i: number,
  j: number,
  outR: Float64Array,
  outT: Float64Array,
): void {
  const oi = 9 * i;
  const oj = 9 * j;
  for (let r = 0; r < 3; r++) {
    const a0 = rot[oi + r] as number;
    const a1 = rot[oi + 3 + r] as number;
    const a2 = rot[oi + 6 + r] as number;
    outR[3 * r] = a0 * (rot[oj] as number) + a1 * (rot[oj + 3] as number) + a2 * (rot[oj + 6] as number);
    outR[3 * r + 1] =
      a0 * (rot[oj + 1] as number) + a1 * (rot[oj + 4] as number) + a2 * (rot[oj + 7] as number);
    outR[3 * r + 2] =
      a0 * (rot[oj + 2] as number) + a1 * (rot[oj + 5] as number) + a2 * (rot[oj + 8] as number);
  }
  const d0 = (pos[3 * j] as number) - (pos[3 * i] as number);
  const d1 = (pos[3 * j + 1] as number) - (pos[3 * i + 1] as number);
  const d2 = (pos[3 * j + 2] as number) - (pos[3 * i + 2] as number);
  outT[0] = (rot[oi] as number) * d0 + (rot[oi + 3] as number) * d1 + (rot[oi + 6] as number) * d2;
  outT[1] = (rot[oi + 1] as number) * d0 + (rot[oi + 4] as number) * d1 + (rot[oi + 7] as number) * d2;
  outT[2] = (rot[oi + 2] as number) * d0 + (rot[oi + 5] as number) * d1 + (rot[oi + 8] as number) * d2;
}

/** Convenience: associate, then APE (what `strata traj ape` runs). */
export function evaluateApe(
  ref: PoseTrajectory,
  est: PoseTrajectory,
  opts: ApeOptions & AssociateOptions = {},
): MetricResult {
  const pair = associate(ref, est, opts);
  return ape(pair.ref, pair.est, opts);
}

/** Convenience: associate, then RPE (what `strata traj rpe` runs). */
export function evaluateRpe(
  ref: PoseTrajectory,
  est: PoseTrajectory,
  opts: RpeOptions & AssociateOptions = {},
): RpeResult {
  const pair = associate(ref, est, opts);
  return rpe(pair.ref, pair.est, opts);
}
