/**
 * Trajectories and trajectory metrics in the catalog. A trajectory is one row: its summary columns
 * (source, frames, pose count, time range, path length, x/y bounds) plus every pose packed into one binary
 * column (docs/decisions/0006-trajectory-storage.md), so reading 100k poses is one row and one copy.
 *
 * Packed layout, little-endian: a 16-byte header (`STRJ`, u32 version = 1, u32 pose count, u32 reserved),
 * then stamps (i64 ns × n), positions (f64 xyz × n), orientations (f64 xyzw × n): 16 + 64·n bytes.
 */
import type { Catalog, JsonObject } from "../../catalog/index.ts";
import { canonicalJson, nowNs, StrataError } from "../../core/index.ts";
import type { EgoTrajectory } from "./ego-motion.ts";
import type { ErrorStatistics } from "./metrics.ts";
import { evoSecsFromNs, type PoseTrajectory } from "./trajectory.ts";

const MAGIC = 0x4a525453; // "STRJ" read as a little-endian u32
const VERSION = 1;
const HEADER_BYTES = 16;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Packs stamps, positions and orientations (the trajectory must carry `timestampsNs`). */
export function encodePoses(t: PoseTrajectory): Uint8Array {
  const n = t.timestampsSecs.length;
  if (!t.timestampsNs) {
    throw new StrataError("STRATA_E_TRAJECTORY_FORMAT", "only trajectories with ns stamps can be stored");
  }
  const out = new Uint8Array(HEADER_BYTES + 64 * n);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, n, true);
  const stampsAt = HEADER_BYTES;
  const positionsAt = stampsAt + 8 * n;
  const orientationsAt = positionsAt + 24 * n;
  if (LITTLE_ENDIAN) {
    out.set(new Uint8Array(t.timestampsNs.buffer, t.timestampsNs.byteOffset, 8 * n), stampsAt);
    out.set(new Uint8Array(t.positions.buffer, t.positions.byteOffset, 24 * n), positionsAt);
    out.set(new Uint8Array(t.orientations.buffer, t.orientations.byteOffset, 32 * n), orientationsAt);
    return out;
  }
  for (let i = 0; i < n; i++) view.setBigInt64(stampsAt + 8 * i, t.timestampsNs[i] as bigint, true);
  for (let i = 0; i < 3 * n; i++) view.setFloat64(positionsAt + 8 * i, t.positions[i] as number, true);
  for (let i = 0; i < 4 * n; i++) view.setFloat64(orientationsAt + 8 * i, t.orientations[i] as number, true);
  return out;
}

/** Unpacks poses written by `encodePoses` (one copy into an aligned buffer on little-endian machines). */
export function decodePoses(bytes: Uint8Array, frameId?: string): PoseTrajectory {
  if (bytes.byteLength < HEADER_BYTES) throw corrupt("shorter than its header");
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (header.getUint32(0, true) !== MAGIC) throw corrupt("bad magic");
  if (header.getUint32(4, true) !== VERSION) throw corrupt(`unknown version ${header.getUint32(4, true)}`);
  const n = header.getUint32(8, true);
  if (bytes.byteLength !== HEADER_BYTES + 64 * n) throw corrupt(`${bytes.byteLength} bytes for ${n} poses`);
  let timestampsNs: BigInt64Array;
  let positions: Float64Array;
  let orientations: Float64Array;
  if (LITTLE_ENDIAN) {
    // A copy into a fresh buffer: Node's Buffers may be views into a shared, unaligned pool.
    const copy = new Uint8Array(64 * n);
    copy.set(bytes.subarray(HEADER_BYTES));
    const aligned = copy.buffer;
    timestampsNs = new BigInt64Array(aligned, 0, n);
    positions = new Float64Array(aligned, 8 * n, 3 * n);
    orientations = new Float64Array(aligned, 32 * n, 4 * n);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + HEADER_BYTES, 64 * n);
    timestampsNs = BigInt64Array.from({ length: n }, (_, i) => view.getBigInt64(8 * i, true));
    positions = Float64Array.from({ length: 3 * n }, (_, i) => view.getFloat64(8 * n + 8 * i, true));
    orientations = Float64Array.from({ length: 4 * n }, (_, i) => view.getFloat64(32 * n + 8 * i, true));
  }
  const timestampsSecs = new Float64Array(n);
  for (let i = 0; i < n; i++) timestampsSecs[i] = evoSecsFromNs(timestampsNs[i] as bigint);
  return {
    timestampsSecs,
    timestampsNs,
    timeBase: "seconds",
    positions,
    orientations,
    ...(frameId ? { frameId } : {}),
  };
}

function corrupt(detail: string): StrataError {
  return new StrataError("STRATA_E_CATALOG", `stored trajectory is corrupt: ${detail}`);
}

/** Queries through `catalog.db` raise catalogue errors like the Catalog's own methods. */
async function query<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StrataError("STRATA_E_CATALOG", `${operation}: ${message}`, { operation }, { cause: error });
  }
}

// ---------------------------------------------------------------- trajectories

export interface TrajectoryInfo {
  captureId: string;
  source: string;
  frame: string;
  childFrame: string | null;
  primary: boolean;
  poseCount: number;
  startNs: bigint | null;
  endNs: bigint | null;
  lengthM: number;
  /** x/y bounds in `frame` (null when there are no poses). */
  bounds: { minX: number; minY: number; maxX: number; maxY: number } | null;
  meta: JsonObject;
}

export interface StoredTrajectory extends TrajectoryInfo {
  trajectory: PoseTrajectory;
}

/** Path length and x/y bounds of the positions. */
function summarize(t: PoseTrajectory): { lengthM: number; bounds: TrajectoryInfo["bounds"] } {
  const p = t.positions;
  const n = t.timestampsSecs.length;
  if (n === 0) return { lengthM: 0, bounds: null };
  let lengthM = 0;
  let minX = p[0] as number;
  let maxX = minX;
  let minY = p[1] as number;
  let maxY = minY;
  for (let i = 1; i < n; i++) {
    const x = p[3 * i] as number;
    const y = p[3 * i + 1] as number;
    lengthM += Math.hypot(
      x - (p[3 * i - 3] as number),
      y - (p[3 * i - 2] as number),
      (p[3 * i + 2] as number) - (p[3 * i - 1] as number),
    );
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return { lengthM, bounds: { minX, minY, maxX, maxY } };
}

/** Writes a capture's trajectories; the first is marked primary. */
export async function insertTrajectories(
  catalog: Catalog,
  captureId: string,
  trajectories: readonly EgoTrajectory[],
): Promise<void> {
  for (const [index, t] of trajectories.entries()) {
    const n = t.trajectory.timestampsSecs.length;
    const { lengthM, bounds } = summarize(t.trajectory);
    const stamps = t.trajectory.timestampsNs;
    await query("trajectory insert", () =>
      catalog.db
        .insertInto("trajectories")
        .values({
          capture_id: captureId,
          source: t.source,
          frame: t.frame,
          child_frame: t.childFrame,
          is_primary: index === 0 ? 1 : 0,
          pose_count: n,
          start_ns: n > 0 && stamps ? (stamps[0] as bigint) : null,
          end_ns: n > 0 && stamps ? (stamps[n - 1] as bigint) : null,
          length_m: lengthM,
          min_x: bounds?.minX ?? null,
          min_y: bounds?.minY ?? null,
          max_x: bounds?.maxX ?? null,
          max_y: bounds?.maxY ?? null,
          meta: canonicalJson(t.meta),
          poses: Buffer.from(encodePoses(t.trajectory)),
        })
        .execute(),
    );
  }
}

type InfoRow = {
  capture_id: string;
  source: string;
  frame: string;
  child_frame: string | null;
  is_primary: bigint;
  pose_count: bigint;
  start_ns: bigint | null;
  end_ns: bigint | null;
  length_m: number;
  min_x: number | null;
  min_y: number | null;
  max_x: number | null;
  max_y: number | null;
  meta: string;
};

function info(row: InfoRow): TrajectoryInfo {
  return {
    captureId: row.capture_id,
    source: row.source,
    frame: row.frame,
    childFrame: row.child_frame,
    primary: Number(row.is_primary) === 1,
    poseCount: Number(row.pose_count),
    startNs: row.start_ns === null ? null : BigInt(row.start_ns),
    endNs: row.end_ns === null ? null : BigInt(row.end_ns),
    lengthM: Number(row.length_m),
    bounds:
      row.min_x === null || row.min_y === null || row.max_x === null || row.max_y === null
        ? null
        : {
            minX: Number(row.min_x),
            minY: Number(row.min_y),
            maxX: Number(row.max_x),
            maxY: Number(row.max_y),
          },
    meta: JSON.parse(row.meta) as JsonObject,
  };
}

/** The summary columns of a stored trajectory (everything but the packed poses). */
export const TRAJECTORY_INFO_COLUMNS = [
  "capture_id",
  "source",
  "frame",
  "child_frame",
  "is_primary",
  "pose_count",
  "start_ns",
  "end_ns",
  "length_m",
  "min_x",
  "min_y",
  "max_x",
  "max_y",
  "meta",
] as const;

/** A capture's trajectories without their poses, primary first. */
export async function listTrajectories(catalog: Catalog, captureId: string): Promise<TrajectoryInfo[]> {
  const rows = await query("trajectory list", () =>
    catalog.db
      .selectFrom("trajectories")
      .select(TRAJECTORY_INFO_COLUMNS)
      .where("capture_id", "=", captureId)
      .orderBy("is_primary", "desc")
      .orderBy("source")
      .execute(),
  );
  return rows.map(info);
}

export interface TrajectorySelector {
  /** Exact source (`odom:/odom`), or a topic a source was read from (`/odom`). */
  source?: string;
  /** The fixed frame (`odom`, `map`, `enu`). */
  frame?: string;
}

/**
 * One stored trajectory of a capture: by source (or topic), else by frame, else the primary one.
 * STRATA_E_NOT_FOUND names what is stored when nothing matches.
 */
export async function readTrajectory(
  catalog: Catalog,
  captureId: string,
  selector: TrajectorySelector = {},
): Promise<StoredTrajectory> {
  const available = await listTrajectories(catalog, captureId);
  const matches = (t: TrajectoryInfo): boolean => {
    if (selector.source !== undefined) {
      const topicOfSource = t.source.slice(t.source.indexOf(":") + 1);
      if (t.source !== selector.source && topicOfSource !== selector.source) return false;
    }
    return selector.frame === undefined || t.frame === selector.frame;
  };
  const chosen = available.find(matches);
  if (!chosen) {
    const what = [
      selector.source !== undefined ? `source "${selector.source}"` : undefined,
      selector.frame !== undefined ? `frame "${selector.frame}"` : undefined,
    ]
      .filter(Boolean)
      .join(" and ");
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      available.length === 0
        ? `capture ${captureId} has no trajectory`
        : `capture ${captureId} has no trajectory with ${what} (stored: ${available.map((t) => `${t.source} in ${t.frame}`).join(", ")})`,
      { captureId },
    );
  }
  const row = await query("trajectory read", () =>
    catalog.db
      .selectFrom("trajectories")
      .select("poses")
      .where("capture_id", "=", captureId)
      .where("source", "=", chosen.source)
      .executeTakeFirstOrThrow(),
  );
  return { ...chosen, trajectory: decodePoses(row.poses, chosen.frame) };
}

// ---------------------------------------------------------------- metrics

export interface CaptureMetricsRecord {
  captureId: string;
  /** The reference as given (a file, `log#topic`, or `capture:source`). */
  reference: string;
  estimateSource: string;
  align: string;
  ape: Pick<ErrorStatistics, "pairs" | "rmse" | "mean" | "median" | "std" | "max">;
  rpe: Pick<ErrorStatistics, "pairs" | "rmse" | "mean" | "max">;
  scale: number | null;
  params: JsonObject;
  computedAtNs: bigint;
}

/** Stores (or replaces) the metrics of a capture's trajectory against one reference. */
export async function putCaptureMetrics(
  catalog: Catalog,
  record: Omit<CaptureMetricsRecord, "computedAtNs"> & { computedAtNs?: bigint },
): Promise<CaptureMetricsRecord> {
  const computedAtNs = record.computedAtNs ?? nowNs();
  const values = {
    capture_id: record.captureId,
    reference: record.reference,
    estimate_source: record.estimateSource,
    align: record.align,
    ape_pairs: record.ape.pairs,
    ape_rmse: record.ape.rmse,
    ape_mean: record.ape.mean,
    ape_median: record.ape.median,
    ape_std: record.ape.std,
    ape_max: record.ape.max,
    rpe_pairs: record.rpe.pairs,
    rpe_rmse: record.rpe.rmse,
    rpe_mean: record.rpe.mean,
    rpe_max: record.rpe.max,
    scale: record.scale,
    params: canonicalJson(record.params),
    computed_at_ns: computedAtNs,
  };
  await query("capture metrics write", () =>
    catalog.transaction(async (tx) => {
      await tx.db
        .deleteFrom("capture_metrics")
        .where("capture_id", "=", record.captureId)
        .where("reference", "=", record.reference)
        .where("estimate_source", "=", record.estimateSource)
        .execute();
      await tx.db.insertInto("capture_metrics").values(values).execute();
    }),
  );
  return { ...record, computedAtNs };
}

export interface CaptureMetricsFilter {
  captureId?: string;
  /** Only captures whose APE RMSE is ≤ / ≥ these (metres for `trans`). */
  maxApeRmse?: number;
  minApeRmse?: number;
  maxRpeRmse?: number;
  minRpeRmse?: number;
  /** Default 100. */
  limit?: number;
}

/** Stored metrics, filtered by their values (the "filter data by localization quality" query), best APE first. */
export async function listCaptureMetrics(
  catalog: Catalog,
  filter: CaptureMetricsFilter = {},
): Promise<CaptureMetricsRecord[]> {
  const rows = await query("capture metrics list", () => {
    let q = catalog.db.selectFrom("capture_metrics").selectAll();
    if (filter.captureId !== undefined) q = q.where("capture_id", "=", filter.captureId);
    if (filter.maxApeRmse !== undefined) q = q.where("ape_rmse", "<=", filter.maxApeRmse);
    if (filter.minApeRmse !== undefined) q = q.where("ape_rmse", ">=", filter.minApeRmse);
    if (filter.maxRpeRmse !== undefined) q = q.where("rpe_rmse", "<=", filter.maxRpeRmse);
    if (filter.minRpeRmse !== undefined) q = q.where("rpe_rmse", ">=", filter.minRpeRmse);
    return q
      .orderBy("ape_rmse")
      .orderBy("capture_id")
      .limit(Math.max(1, Math.min(10_000, filter.limit ?? 100)))
      .execute();
  });
  return rows.map((r) => ({
    captureId: r.capture_id,
    reference: r.reference,
    estimateSource: r.estimate_source,
    align: r.align,
    ape: {
      pairs: Number(r.ape_pairs),
      rmse: Number(r.ape_rmse),
      mean: Number(r.ape_mean),
      median: Number(r.ape_median),
      std: Number(r.ape_std),
      max: Number(r.ape_max),
    },
    rpe: {
      pairs: Number(r.rpe_pairs),
      rmse: Number(r.rpe_rmse),
      mean: Number(r.rpe_mean),
      max: Number(r.rpe_max),
    },
    scale: r.scale === null ? null : Number(r.scale),
    params: JSON.parse(r.params) as JsonObject,
    computedAtNs: BigInt(r.computed_at_ns),
  }));
}
