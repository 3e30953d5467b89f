/**
 * In-memory vectors of the scenes table in cluster order, for exact filtered kNN (decision record:
 * docs/decisions/0014-in-memory-vector-route.md).
 *
 * Layout: the vectors of one table snapshot (positions as in `SceneColumns`) are grouped by k-means cluster and
 * stored contiguously per cluster (`slot` order), with each slot's table position. Every cluster keeps the mean
 * of its members and its radius (largest member distance from that mean).
 *
 * Query: distances from the query to every cluster mean give a lower bound per cluster (distance − radius, by
 * the triangle inequality). Clusters are visited in order of that bound; rows that pass the metadata filter are
 * compared and kept in a top-k; the search stops at the first cluster whose bound exceeds the k-th best distance
 * found. Every row that could be closer than the k-th result is compared, so the answer is exact (the same as a
 * brute force over the filtered rows); pruning only decides how much is scanned. A cluster whose filter summary
 * rules out every row (`ClusterTest`) is skipped without reading its rows.
 *
 * Centroids come from two-level k-means (coarse centroids, then leaf centroids within each coarse group) trained
 * on a sample with a few Lloyd iterations; assigning a row costs (coarse + leaves of its group) distance
 * evaluations instead of one per leaf. Centroids only decide the grouping; the bounds use the actual members, so
 * poorly trained centroids cost speed, never correctness. They are reused across snapshots.
 *
 * Distances run through a WebAssembly SIMD kernel (l2-kernel.ts) over the vectors held in its memory, a chunk
 * of a cluster at a time: float32 sums screen the rows, and rows that can enter the top k are re-computed in
 * float64. Without the kernel (dimensions not a multiple of 4, no memory) a plain-JS loop does the same.
 */
import { type L2Kernel, createL2Kernel } from "./l2-kernel.ts";
import type { PositionGroups, SlotFilter } from "./scene-columns.ts";
import { seededRandom } from "./synthetic.ts";

/** May any row of a cluster pass the metadata filter? (false: skip the cluster without reading its rows) */
export type ClusterTest = (cluster: number) => boolean;

export interface ClusterTrainingOptions {
  /** Target rows per leaf cluster. */
  rowsPerCluster: number;
  /** Lloyd iterations at each level. Default 6. */
  iterations?: number;
  /** Rows sampled for training (at most). Default 32 per leaf cluster, at least 20,000. */
  sampleRows?: number;
  seed?: number;
  /** Awaited between chunks of work, so a long build lets other tasks run. */
  pause?: () => Promise<void>;
}

export interface NearestResult {
  /** Table positions of the nearest rows, nearest first. */
  positions: Int32Array;
  /** Their squared L2 distances. */
  distancesSq: Float64Array;
  clustersVisited: number;
  rowsScanned: number;
  vectorsCompared: number;
}

/** Rows between pauses during assignment. */
const PAUSE_ROWS = 32_768;

/** Index of the centroid in [from, to) nearest to `data[offset…]`, abandoning a centroid once it is worse. */
function nearestCentroid(
  centroids: Float32Array,
  from: number,
  to: number,
  data: Float32Array,
  offset: number,
  dim: number,
): number {
  let best = from;
  let bestSq = Number.POSITIVE_INFINITY;
  for (let c = from; c < to; c++) {
    const base = c * dim;
    let sum = 0;
    let j = 0;
    while (j < dim) {
      const end = Math.min(dim, j + 8);
      for (; j < end; j++) {
        const x = (centroids[base + j] as number) - (data[offset + j] as number);
        sum += x * x;
      }
      if (sum >= bestSq) break;
    }
    if (sum < bestSq) {
      bestSq = sum;
      best = c;
    }
  }
  return best;
}

/**
 * Nearest-centroid search over a fixed set of centroids, through the SIMD kernel when available (one call
 * per row and range: the row is the kernel's query, the centroids its vectors), else `nearestCentroid`.
 */
class CentroidSearch {
  readonly #dim: number;
  #centroids: Float32Array;
  readonly #kernel:
    | {
        kernel: L2Kernel;
        query: Float32Array;
        out: Float32Array;
        outOffset: number;
        centroids: Float32Array;
        offset: number;
      }
    | undefined;

  constructor(dim: number, capacity: number) {
    this.#dim = dim;
    this.#centroids = new Float32Array(0);
    const maskOffset = align16(dim * 4);
    const outOffset = align16(maskOffset + capacity);
    const offset = align16(outOffset + 4 * capacity);
    const kernel = dim % 4 === 0 ? createL2Kernel(offset + capacity * dim * 4) : undefined;
    if (kernel) {
      new Uint8Array(kernel.memory.buffer, maskOffset, capacity).fill(1);
      this.#kernel = {
        kernel,
        query: new Float32Array(kernel.memory.buffer, 0, dim),
        out: new Float32Array(kernel.memory.buffer, outOffset, capacity),
        outOffset,
        centroids: new Float32Array(kernel.memory.buffer, offset, capacity * dim),
        offset,
      };
    }
  }

  /** Sets the centroids (at most `capacity`). */
  load(centroids: Float32Array): void {
    if (this.#kernel) this.#kernel.centroids.set(centroids);
    else this.#centroids = centroids;
  }

  /** Index of the centroid in [from, to) nearest to `data[offset…]`. */
  nearest(data: Float32Array, offset: number, from: number, to: number): number {
    const dim = this.#dim;
    const k = this.#kernel;
    if (!k) return nearestCentroid(this.#centroids, from, to, data, offset, dim);
    k.query.set(data.subarray(offset, offset + dim));
    k.kernel.distances(0, k.offset + from * dim * 4, to - from, dim, align16(dim * 4), k.outOffset);
    const out = k.out;
    let best = 0;
    let bestSq = Number.POSITIVE_INFINITY;
    for (let i = 0; i < to - from; i++) {
      if ((out[i] as number) < bestSq) {
        bestSq = out[i] as number;
        best = i;
      }
    }
    return from + best;
  }
}

/** Lloyd's k-means over `n` rows of `data`; returns min(k, n) centroids (empty clusters re-seeded from rows). */
async function kMeans(
  data: Float32Array,
  n: number,
  dim: number,
  k: number,
  iterations: number,
  rand: () => number,
  pause: () => Promise<void>,
): Promise<Float32Array> {
  const count = Math.max(1, Math.min(k, n));
  const centroids = new Float32Array(count * dim);
  // Initial centroids: distinct random rows (partial Fisher–Yates).
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let c = 0; c < count; c++) {
    const pick = c + Math.floor(rand() * (n - c));
    const row = order[pick] as number;
    order[pick] = order[c] as number;
    order[c] = row;
    centroids.set(data.subarray(row * dim, (row + 1) * dim), c * dim);
  }
  const sums = new Float64Array(count * dim);
  const sizes = new Int32Array(count);
  const search = new CentroidSearch(dim, count);
  for (let iteration = 0; iteration < iterations; iteration++) {
    sums.fill(0);
    sizes.fill(0);
    search.load(centroids);
    for (let i = 0; i < n; i++) {
      const c = search.nearest(data, i * dim, 0, count);
      sizes[c] = (sizes[c] as number) + 1;
      const base = c * dim;
      for (let j = 0; j < dim; j++)
        sums[base + j] = (sums[base + j] as number) + (data[i * dim + j] as number);
      if ((i + 1) % PAUSE_ROWS === 0) await pause();
    }
    for (let c = 0; c < count; c++) {
      const size = sizes[c] as number;
      if (size === 0) {
        const row = Math.floor(rand() * n);
        centroids.set(data.subarray(row * dim, (row + 1) * dim), c * dim);
        continue;
      }
      for (let j = 0; j < dim; j++) centroids[c * dim + j] = (sums[c * dim + j] as number) / size;
    }
  }
  return centroids;
}

/** Two-level k-means centroids: coarse centroids, each owning a run of leaf centroids. */
export class ClusterCentroids {
  readonly dim: number;
  /** Rows of the snapshot they were trained on. */
  readonly trainedRows: number;
  readonly #coarse: Float32Array;
  readonly #coarseCount: number;
  readonly #leaves: Float32Array;
  /** Leaves of coarse group g are [leafStart[g], leafStart[g + 1]). */
  readonly #leafStart: Int32Array;
  /** Coarse centroids, then the leaves. */
  readonly #search: CentroidSearch;

  private constructor(
    dim: number,
    trainedRows: number,
    coarse: Float32Array,
    leaves: Float32Array,
    leafStart: Int32Array,
  ) {
    this.dim = dim;
    this.trainedRows = trainedRows;
    this.#coarse = coarse;
    this.#coarseCount = coarse.length / dim;
    this.#leaves = leaves;
    this.#leafStart = leafStart;
    this.#search = new CentroidSearch(dim, this.#coarseCount + leaves.length / dim);
    const all = new Float32Array(coarse.length + leaves.length);
    all.set(coarse);
    all.set(leaves, coarse.length);
    this.#search.load(all);
  }

  get leafCount(): number {
    return this.#leaves.length / this.dim;
  }

  /** Trains on a sample of the first `rows` vectors of `vectors` (row-major, `dim` floats each). */
  static async train(
    vectors: Float32Array,
    rows: number,
    dim: number,
    options: ClusterTrainingOptions,
  ): Promise<ClusterCentroids> {
    const pause = options.pause ?? (() => Promise.resolve());
    const rand = seededRandom(options.seed ?? 1);
    const iterations = options.iterations ?? 6;
    const leafTotal = Math.max(1, Math.round(rows / Math.max(1, options.rowsPerCluster)));
    const sampleRows = Math.max(1, Math.min(rows, options.sampleRows ?? Math.max(20_000, 32 * leafTotal)));
    const sample = new Float32Array(sampleRows * dim);
    if (sampleRows === rows) sample.set(vectors.subarray(0, rows * dim));
    else {
      const order = Int32Array.from({ length: rows }, (_, i) => i);
      for (let s = 0; s < sampleRows; s++) {
        const pick = s + Math.floor(rand() * (rows - s));
        const row = order[pick] as number;
        order[pick] = order[s] as number;
        order[s] = row;
        sample.set(vectors.subarray(row * dim, (row + 1) * dim), s * dim);
      }
    }
    const coarseWanted = Math.max(1, Math.round(Math.sqrt(leafTotal)));
    const coarse = await kMeans(sample, sampleRows, dim, coarseWanted, iterations, rand, pause);
    const coarseCount = coarse.length / dim;
    // Sample rows per coarse group, then leaves within each group in proportion to its share of the sample.
    const groupOf = new Int32Array(sampleRows);
    const groupSize = new Int32Array(coarseCount);
    const coarseSearch = new CentroidSearch(dim, coarseCount);
    coarseSearch.load(coarse);
    for (let i = 0; i < sampleRows; i++) {
      const g = coarseSearch.nearest(sample, i * dim, 0, coarseCount);
      groupOf[i] = g;
      groupSize[g] = (groupSize[g] as number) + 1;
    }
    const leafParts: Float32Array[] = [];
    const leafStart = new Int32Array(coarseCount + 1);
    for (let g = 0; g < coarseCount; g++) {
      const size = groupSize[g] as number;
      let leaves: Float32Array;
      if (size === 0) leaves = coarse.slice(g * dim, (g + 1) * dim);
      else {
        const members = new Float32Array(size * dim);
        let m = 0;
        for (let i = 0; i < sampleRows; i++) {
          if (groupOf[i] !== g) continue;
          members.set(sample.subarray(i * dim, (i + 1) * dim), m * dim);
          m++;
        }
        const wanted = Math.max(1, Math.round((leafTotal * size) / sampleRows));
        leaves = await kMeans(members, size, dim, wanted, iterations, rand, pause);
      }
      leafParts.push(leaves);
      leafStart[g + 1] = (leafStart[g] as number) + leaves.length / dim;
    }
    const leaves = new Float32Array((leafStart[coarseCount] as number) * dim);
    let offset = 0;
    for (const part of leafParts) {
      leaves.set(part, offset);
      offset += part.length;
    }
    return new ClusterCentroids(dim, rows, coarse, leaves, leafStart);
  }

  /** The leaf cluster of the vector at `data[offset…]`: nearest coarse centroid, then nearest of its leaves. */
  assign(data: Float32Array, offset: number): number {
    const coarseCount = this.#coarseCount;
    const g = this.#search.nearest(data, offset, 0, coarseCount);
    return (
      this.#search.nearest(
        data,
        offset,
        coarseCount + (this.#leafStart[g] as number),
        coarseCount + (this.#leafStart[g + 1] as number),
      ) - coarseCount
    );
  }

  memoryBytes(): number {
    return this.#coarse.byteLength + this.#leaves.byteLength + this.#leafStart.byteLength;
  }
}

/** Keeps the k smallest (distance, position) pairs, sorted. */
class TopK {
  readonly distancesSq: Float64Array;
  readonly positions: Int32Array;
  size = 0;
  /** The k-th smallest distance so far (∞ until k are held). */
  worstSq = Number.POSITIVE_INFINITY;

  constructor(readonly k: number) {
    this.distancesSq = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
    this.positions = new Int32Array(k).fill(-1);
  }

  /** Call only with d < worstSq. */
  insert(distanceSq: number, position: number): void {
    const d = this.distancesSq;
    const p = this.positions;
    let i = Math.min(this.size, this.k - 1);
    while (i > 0 && (d[i - 1] as number) > distanceSq) {
      d[i] = d[i - 1] as number;
      p[i] = p[i - 1] as number;
      i--;
    }
    d[i] = distanceSq;
    p[i] = position;
    if (this.size < this.k) this.size++;
    if (this.size === this.k) this.worstSq = d[this.k - 1] as number;
  }
}

/** Relative slack on the pruning bound, far above float64 rounding of the distances involved. */
const BOUND_SLACK = 1e-9;
/** Rows whose float32 kernel distance is within this relative margin of the k-th are re-computed in float64. */
const SCREEN_SLACK = 1e-3;

/** Rows of a cluster handed to the filter and the kernel at a time (the size of the scratch mask and output). */
const CHUNK_ROWS = 4096;

/** The SIMD kernel and its scratch views; the vectors live in the kernel's memory at `vectorsOffset`. */
interface KernelScratch {
  kernel: L2Kernel;
  query: Float32Array;
  mask: Uint8Array;
  maskOffset: number;
  out: Float32Array;
  outOffset: number;
  vectorsOffset: number;
}

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * Room for `rows` vectors of `dim` floats: in the SIMD kernel's memory, after its scratch (query, chunk mask
 * and output), when the kernel is available (dim a multiple of 4), else a plain array. The caller fills
 * `vectors` in table position order; `VectorClusters.build` then reorders them in place, so the vectors are
 * held once, also while loading.
 */
export class VectorMemory {
  readonly rows: number;
  readonly dim: number;
  readonly vectors: Float32Array;
  readonly scratch: KernelScratch | undefined;

  constructor(rows: number, dim: number) {
    this.rows = rows;
    this.dim = dim;
    const maskOffset = align16(dim * 4);
    const outOffset = align16(maskOffset + CHUNK_ROWS);
    const vectorsOffset = align16(outOffset + 4 * CHUNK_ROWS);
    const kernel = dim % 4 === 0 ? createL2Kernel(vectorsOffset + rows * dim * 4) : undefined;
    this.scratch = kernel && {
      kernel,
      query: new Float32Array(kernel.memory.buffer, 0, dim),
      mask: new Uint8Array(kernel.memory.buffer, maskOffset, CHUNK_ROWS),
      maskOffset,
      out: new Float32Array(kernel.memory.buffer, outOffset, CHUNK_ROWS),
      outOffset,
      vectorsOffset,
    };
    this.vectors = kernel
      ? new Float32Array(kernel.memory.buffer, vectorsOffset, rows * dim)
      : new Float32Array(rows * dim);
  }
}

export class VectorClusters {
  readonly rows: number;
  readonly dim: number;
  readonly clusterCount: number;
  /** Slot order: the rows of cluster c are slots [start[c], start[c + 1]). */
  readonly groups: PositionGroups;
  readonly #vectors: Float32Array;
  readonly #slotOfPosition: Int32Array;
  readonly #means: Float64Array;
  readonly #radii: Float64Array;
  readonly #scratch: KernelScratch | undefined;

  private constructor(
    dim: number,
    vectors: Float32Array,
    groups: PositionGroups,
    slotOfPosition: Int32Array,
    means: Float64Array,
    radii: Float64Array,
    scratch: KernelScratch | undefined,
  ) {
    this.dim = dim;
    this.rows = slotOfPosition.length;
    this.clusterCount = groups.count;
    this.groups = groups;
    this.#vectors = vectors;
    this.#slotOfPosition = slotOfPosition;
    this.#means = means;
    this.#radii = radii;
    this.#scratch = scratch;
  }

  /** Whether distances run through the WebAssembly SIMD kernel (else plain JS). */
  get simd(): boolean {
    return this.#scratch !== undefined;
  }

  /** Groups `rows` vectors (table position order, `dim` floats each) by the centroids' leaves. */
  static async build(
    memory: VectorMemory,
    centroids: ClusterCentroids,
    pause: () => Promise<void> = () => Promise.resolve(),
  ): Promise<VectorClusters> {
    const { rows, dim, vectors, scratch } = memory;
    if (centroids.dim !== dim) throw new Error("internal: centroids of another dimension");
    const count = centroids.leafCount;
    const clusterOf = new Int32Array(rows);
    const start = new Int32Array(count + 1);
    for (let p = 0; p < rows; p++) {
      const c = centroids.assign(vectors, p * dim);
      clusterOf[p] = c;
      start[c + 1] = (start[c + 1] as number) + 1;
      if ((p + 1) % PAUSE_ROWS === 0) await pause();
    }
    for (let c = 0; c < count; c++) start[c + 1] = (start[c + 1] as number) + (start[c] as number);
    const next = start.slice(0, count);
    const positions = new Int32Array(rows);
    const slotOfPosition = new Int32Array(rows);
    for (let p = 0; p < rows; p++) {
      const c = clusterOf[p] as number;
      const slot = next[c] as number;
      next[c] = slot + 1;
      positions[slot] = p;
      slotOfPosition[p] = slot;
    }
    // Reorder in place, one permutation cycle at a time: the vector at position p moves to its slot.
    const ordered = vectors;
    const done = new Uint8Array(rows);
    const carry = new Float32Array(dim);
    const held = new Float32Array(dim);
    for (let p0 = 0; p0 < rows; p0++) {
      if (done[p0] === 1) continue;
      for (let j = 0; j < dim; j++) carry[j] = ordered[p0 * dim + j] as number;
      let p = p0;
      do {
        const slot = slotOfPosition[p] as number;
        const base = slot * dim;
        for (let j = 0; j < dim; j++) {
          held[j] = ordered[base + j] as number;
          ordered[base + j] = carry[j] as number;
          carry[j] = held[j] as number;
        }
        done[slot] = 1;
        p = slot;
      } while (p !== p0);
    }
    // Member means (tighter than the trained centroids) and radii around them.
    const means = new Float64Array(count * dim);
    const radii = new Float64Array(count);
    for (let c = 0; c < count; c++) {
      const from = start[c] as number;
      const to = start[c + 1] as number;
      if (to === from) continue;
      const base = c * dim;
      for (let s = from; s < to; s++)
        for (let j = 0; j < dim; j++)
          means[base + j] = (means[base + j] as number) + (ordered[s * dim + j] as number);
      for (let j = 0; j < dim; j++) means[base + j] = (means[base + j] as number) / (to - from);
      let radiusSq = 0;
      for (let s = from; s < to; s++) {
        let sum = 0;
        for (let j = 0; j < dim; j++) {
          const x = (ordered[s * dim + j] as number) - (means[base + j] as number);
          sum += x * x;
        }
        if (sum > radiusSq) radiusSq = sum;
      }
      radii[c] = Math.sqrt(radiusSq);
    }
    return new VectorClusters(
      dim,
      ordered,
      { count, start, positions },
      slotOfPosition,
      means,
      radii,
      scratch,
    );
  }

  /**
   * The exact k nearest rows (squared L2) among those `filter` keeps, skipping clusters `clusterTest` rules
   * out. `query` must have `dim` values. Clusters are visited nearest mean first (good candidates early, so the
   * k-th distance shrinks fast); a cluster is skipped when its lower bound exceeds the k-th distance so far.
   */
  nearest(query: Float32Array, k: number, filter?: SlotFilter, clusterTest?: ClusterTest): NearestResult {
    const { dim, clusterCount } = this;
    const { start, positions } = this.groups;
    const means = this.#means;
    const radii = this.#radii;
    const vectors = this.#vectors;
    const q = Float64Array.from(query);
    const centreDistance = new Float64Array(clusterCount);
    const lower = new Float64Array(clusterCount);
    const order = new Int32Array(clusterCount);
    let live = 0;
    for (let c = 0; c < clusterCount; c++) {
      const size = (start[c + 1] as number) - (start[c] as number);
      if (size === 0) continue;
      const base = c * dim;
      let sum = 0;
      for (let j = 0; j < dim; j++) {
        const x = (means[base + j] as number) - (q[j] as number);
        sum += x * x;
      }
      const d = Math.sqrt(sum);
      centreDistance[c] = d;
      lower[c] = Math.max(0, d - (radii[c] as number));
      order[live++] = c;
    }
    const visit = order
      .subarray(0, live)
      .sort((a, b) => (centreDistance[a] as number) - (centreDistance[b] as number));
    const scratch = this.#scratch;
    if (scratch) scratch.query.set(query);
    const mask = scratch ? scratch.mask : new Uint8Array(CHUNK_ROWS);
    const top = new TopK(k);
    const abandonAt = Math.min(dim, Math.max(8, dim >> 1));
    let clustersVisited = 0;
    let rowsScanned = 0;
    let vectorsCompared = 0;
    for (let v = 0; v < visit.length; v++) {
      const c = visit[v] as number;
      if ((lower[c] as number) > Math.sqrt(top.worstSq) * (1 + BOUND_SLACK)) continue;
      if (clusterTest && !clusterTest(c)) continue;
      clustersVisited++;
      const clusterEnd = start[c + 1] as number;
      rowsScanned += clusterEnd - (start[c] as number);
      for (let from = start[c] as number; from < clusterEnd; from += CHUNK_ROWS) {
        const to = Math.min(clusterEnd, from + CHUNK_ROWS);
        mask.fill(1, 0, to - from);
        if (filter) filter(from, to, mask);
        if (scratch) {
          // float32 SIMD distances screen the rows; those that can enter the top k are re-computed in float64.
          const out = scratch.out;
          scratch.kernel.distances(
            0,
            scratch.vectorsOffset + from * dim * 4,
            to - from,
            dim,
            scratch.maskOffset,
            scratch.outOffset,
          );
          for (let i = 0; i < to - from; i++) {
            if (mask[i] === 0) continue;
            vectorsCompared++;
            if ((out[i] as number) > top.worstSq * (1 + SCREEN_SLACK)) continue;
            const base = (from + i) * dim;
            let sum = 0;
            for (let j = 0; j < dim; j++) {
              const x = (vectors[base + j] as number) - (q[j] as number);
              sum += x * x;
            }
            if (sum < top.worstSq) top.insert(sum, positions[from + i] as number);
          }
          continue;
        }
        for (let s = from; s < to; s++) {
          if (mask[s - from] === 0) continue;
          vectorsCompared++;
          const base = s * dim;
          let sum = 0;
          let j = 0;
          for (; j < abandonAt; j++) {
            const x = (vectors[base + j] as number) - (q[j] as number);
            sum += x * x;
          }
          if (sum >= top.worstSq) continue;
          for (; j < dim; j++) {
            const x = (vectors[base + j] as number) - (q[j] as number);
            sum += x * x;
          }
          if (sum < top.worstSq) top.insert(sum, positions[s] as number);
        }
      }
    }
    return {
      positions: top.positions.slice(0, top.size),
      distancesSq: top.distancesSq.slice(0, top.size),
      clustersVisited,
      rowsScanned,
      vectorsCompared,
    };
  }

  /** The exact k nearest among the given table positions (e.g. spatial candidates already filtered). */
  nearestAmong(candidates: ArrayLike<number>, query: Float32Array, k: number): NearestResult {
    const dim = this.dim;
    const vectors = this.#vectors;
    const top = new TopK(k);
    for (let i = 0; i < candidates.length; i++) {
      const p = candidates[i] as number;
      const base = (this.#slotOfPosition[p] as number) * dim;
      let sum = 0;
      for (let j = 0; j < dim; j++) {
        const x = (vectors[base + j] as number) - (query[j] as number);
        sum += x * x;
      }
      if (sum < top.worstSq) top.insert(sum, p);
    }
    return {
      positions: top.positions.slice(0, top.size),
      distancesSq: top.distancesSq.slice(0, top.size),
      clustersVisited: 0,
      rowsScanned: candidates.length,
      vectorsCompared: candidates.length,
    };
  }

  /** Bytes held: vectors (in the kernel's memory, with its scratch), slot/position maps, cluster starts, means and radii. */
  memoryBytes(): number {
    return (
      (this.#scratch ? this.#scratch.kernel.memory.buffer.byteLength : this.#vectors.byteLength) +
      this.#slotOfPosition.byteLength +
      this.groups.positions.byteLength +
      this.groups.start.byteLength +
      this.#means.byteLength +
      this.#radii.byteLength
    );
  }
}
