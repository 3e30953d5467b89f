/**
 * SceneIndex over embedded LanceDB (a directory, by default $STRATA_HOME/search), plus the in-memory
 * trajectory grid of spatial.ts.
 *
 * Tables:
 *   scenes                  one row per scene: ids, times, site/rig, quarantine flag, tags, typed feature
 *                           columns, representative pose, built-in embedding `vector`
 *   scene_trajectories      per scene the trajectory samples as list<float64> columns (feeds the grid)
 *   scene_graph_nodes/…relations   the scene graphs (lance-graph-store.ts)
 *   vectors_<embedder>      bring-your-own-model vectors: sceneId, captureId, vector
 *
 * Execution of a plan: the in-memory steps first (spatial grid, then graph patterns restricted to the
 * spatial candidates). A spatial plan without `near` then filters its candidates over in-memory filter
 * columns (scene-columns.ts) and reads only the kept rows' records, by row id (decision 0009). Otherwise one
 * LanceDB query runs with the metadata filter as a prefilter (scalar indexes) and the candidates as a
 * coarse-cell prefilter or `sceneId IN (…)`, exact membership checked after LanceDB. `near` on the built-in
 * embedding runs over in-memory vectors grouped by k-means cluster, exact, with the same in-memory filter columns,
 * and reads only the k results by row id (decision 0014, `vector-clusters.ts`); while those vectors load (first
 * `near` query, after every write), for bring-your-own vectors, graph patterns and `vectorRoute: "lance"`, `near`
 * is a LanceDB vector search with that prefilter.
 */
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { Index, type Table, type VectorQuery } from "@lancedb/lancedb";
import type * as arrow from "apache-arrow";
import { StrataError } from "../core/index.ts";
import {
  COARSE_OVERSIZED_CELL,
  RECORD_COLUMNS,
  coarseCellsOfBox,
  hitsFromBatch,
  scenesSchema,
  scenesTable,
  tableFromColumns,
  trajectoriesSchema,
  trajectoriesTable,
  utf8Data,
  vectorData,
  vectorDimOf,
  vectorsSchema,
} from "./arrow-rows.ts";
import { SceneQuery, type SceneQueryExecutor } from "./builder.ts";
import type { ExplainResult, ExplainStep } from "./explain.ts";
import { formatGraphPattern, type SceneGraphStore } from "./graph.ts";
import { LanceSceneGraphStore, openOrCreateTable } from "./lance-graph-store.ts";
import {
  type NearClause,
  type QueryPlan,
  formatQuery,
  isValidEmbedderName,
  isValidTag,
  type SpatialRegion,
  validatePlan,
} from "./plan.ts";
import {
  FEATURE_NAMES,
  type FeatureName,
  SCENE_FEATURES,
  type SceneHit,
  type SceneRecord,
  type SceneRow,
} from "./schema.ts";
import { SceneColumns } from "./scene-columns.ts";
import { type GridStats, SegmentPredicate, TrajectoryGrid } from "./spatial.ts";
import { abbreviateSql, sqlInList, sqlSceneFilter, sqlString } from "./sql.ts";
import { ClusterCentroids, type NearestResult, VectorClusters, VectorMemory } from "./vector-clusters.ts";

export const SCENES_TABLE = "scenes";
export const TRAJECTORIES_TABLE = "scene_trajectories";
export const EMBEDDER_TABLE_PREFIX = "vectors_";

export type DistanceType = "l2" | "cosine";
export type VectorIndexKind = "ivf_pq" | "ivf_hnsw_sq" | "ivf_flat" | "none";

/** Search-time knobs of the approximate vector index. */
export interface VectorSearchTuning {
  /**
   * IVF partitions probed per query. Default 50: with √rows / 4 partitions, filtered recall@10 at 1 M rows is
   * 0.973 (40: 0.956, 30: 0.907, 60: 0.994; bench/search.ts --sweep), at about the same latency as 40.
   */
  nprobes: number;
  /** Re-rank `refineFactor × k` candidates with exact distances (PQ/SQ indexes). Default 10. */
  refineFactor: number;
  /** HNSW search beam (IVF_HNSW_* indexes); LanceDB's default (1.5 × k) when unset. */
  ef?: number;
}

export interface SceneIndexOptions {
  /** Directory of the LanceDB tables, e.g. `searchDir(strataHome)`. */
  dir: string;
  /** Length of the built-in embedding. Fixed when the index is created; default 32. */
  vectorDim?: number;
  /** Metric of every vector set in this index. Default "l2". */
  distanceType?: DistanceType;
  /** Cell size of the trajectory grid (m). Default 64. */
  spatialCellSizeM?: number;
  /** Spatial/graph candidate sets up to this size go into LanceDB as `sceneId IN (…)`; larger ones are
   * applied after LanceDB. Default 2000. */
  maxInListIds?: number;
  /**
   * Where the metadata filter of a spatial query (without `near`) runs. "memory" (default): over in-memory
   * filter columns beside the trajectory grid, then the kept rows' records are read by row id (one small
   * LanceDB read). "lance": the candidates go to LanceDB as a coarse-cell prefilter or an id list.
   */
  spatialFilter?: "memory" | "lance";
  /**
   * Where `near` queries on the built-in embedding (l2) run. "memory" (default): over an in-memory copy of the
   * vectors grouped by k-means cluster, exact (cluster-radius bounds), with the metadata filter over the
   * in-memory filter columns; only the k results are read from LanceDB, by row id (decision 0014). The copy
   * (4 bytes × dim per scene, 8 per scene of maps, and slot-order copies of the filter columns queries use) loads in the background on the first `near` query and
   * after every write; LanceDB's vector search answers meanwhile. "lance": always LanceDB's vector search
   * (for comparison, and for processes that must not hold the vectors).
   */
  vectorRoute?: "memory" | "lance";
  /** Target rows per k-means cluster of the in-memory vectors. Default 512. */
  vectorClusterRows?: number;
  tuning?: Partial<VectorSearchTuning>;
}

/** The in-memory vectors of `vectorRoute: "memory"` (all zero while not loaded, or with "lance"). */
export interface VectorStats {
  rows: number;
  clusters: number;
  /** Vectors, slot/position maps, cluster means and radii. */
  vectorBytes: number;
  /** The filter columns beside them (shared with spatial queries) and their per-cluster summaries. */
  filterColumnBytes: number;
  /** Time of the last load (scan, clustering, layout), in seconds. */
  loadSecs: number;
}

/** The trajectory grid's own counts plus the in-memory filter columns of spatial queries. */
export interface SpatialStats extends GridStats {
  /** Bytes held by the filter columns loaded so far (0 when not loaded or `spatialFilter: "lance"`). */
  filterColumnBytes: number;
}

export interface CreateIndexesOptions {
  /** "auto" (default): IVF_PQ from 5,000 rows, none below (exact search is fast there). */
  vectorIndex?: VectorIndexKind | "auto";
  /** IVF partitions; default √rows / 4 (fewer, larger partitions keep filtered recall up). */
  numPartitions?: number;
  /** PQ sub-vectors; default dim / 2. */
  numSubVectors?: number;
  /** Feature columns to give a BTree index; default all declared features. */
  features?: readonly FeatureName[];
}

export interface IndexReport {
  vectorIndex: VectorIndexKind;
  scalarIndexes: string[];
  seconds: number;
}

export interface RarityOptions {
  /** Neighbours per scene. Default 10. */
  k?: number;
  /** Score against (and score) quarantined scenes too. Default false. */
  includeQuarantined?: boolean;
  /** Use a bring-your-own-model vector set instead of the built-in embedding. */
  embedder?: string;
  /** Vector searches in flight at once. Default 4. */
  concurrency?: number;
}

export interface RarityScore {
  sceneId: string;
  /** Mean distance to the k nearest other scenes in embedding space; higher is rarer. */
  rarity: number;
}

export interface AttachedVector {
  sceneId: string;
  vector: ArrayLike<number>;
}

/** Results of a query: iterate lazily, or collect. */
export interface SceneResults extends AsyncIterable<SceneHit> {
  toArray(): Promise<SceneHit[]>;
}

/** The search part's one interface: scenes in, scenes out. */
export interface SceneIndex extends SceneQueryExecutor {
  readonly vectorDim: number;
  /** Inserts or replaces scenes (by sceneId), with their trajectories. */
  upsert(rows: readonly SceneRow[]): Promise<void>;
  /** Removes every scene, trajectory, graph and attached vector of a capture; returns the scenes removed. */
  deleteByCapture(captureId: string): Promise<number>;
  /** Sets the quarantine flag of every scene of a capture; returns the scenes changed. */
  setQuarantined(captureId: string, quarantined: boolean): Promise<number>;
  query(plan: QueryPlan): SceneResults;
  /** A query builder bound to this index. */
  scenes(): SceneQuery;
  explain(plan: QueryPlan): Promise<ExplainResult>;
  get(sceneId: string, options?: { withVector?: boolean }): Promise<SceneRecord | undefined>;
  count(): Promise<number>;
  /** Bring your own model: vectors for existing scenes in a named set (one dimension per set). */
  attachVectors(embedderName: string, vectors: readonly AttachedVector[]): Promise<void>;
  embedders(): Promise<string[]>;
  readonly graphs: SceneGraphStore;
  /** Distance to the k nearest neighbours in embedding space, highest first. */
  rarity(target: readonly string[] | "all", options?: RarityOptions): Promise<RarityScore[]>;
  createIndexes(options?: CreateIndexesOptions): Promise<IndexReport>;
  /** Compacts the tables and folds new rows into their indexes. */
  optimize(): Promise<void>;
  spatialStats(): Promise<SpatialStats>;
  /** Loads the in-memory vectors (when `vectorRoute` is "memory" and they are not current) and counts them. */
  vectorStats(): Promise<VectorStats>;
  close(): Promise<void>;
}

/** Where the embedded index lives under $STRATA_HOME. */

function notFound(detail: string): StrataError {
  return new StrataError("STRATA_E_NOT_FOUND", detail);
}

function usage(detail: string): StrataError {
  return new StrataError("STRATA_E_USAGE", detail);
}

async function lanceCall<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw new StrataError(
      "STRATA_E_INTERNAL",
      `search index: ${what}: ${error instanceof Error ? error.message : String(error)}`,
      {},
      { cause: error },
    );
  }
}

/** A list<float64> column of a batch, as a per-row typed-array view. */
function listColumn(batch: arrow.RecordBatch, name: string): (row: number) => Float64Array {
  const column = batch.getChild(name);
  const data = column?.data[0];
  const child = data?.children[0];
  if (!column || column.data.length !== 1 || !data || !child)
    throw new Error(`internal: bad list column ${name}`);
  const offsets = data.valueOffsets as Int32Array;
  const values = child.values as Float64Array;
  return (row) =>
    values.subarray(
      (offsets[data.offset + row] as number) + child.offset,
      (offsets[data.offset + row + 1] as number) + child.offset,
    );
}

export class LanceSceneIndex implements SceneIndex {
  readonly vectorDim: number;
  readonly graphs: LanceSceneGraphStore;
  readonly #db: lancedb.Connection;
  readonly #scenes: Table;
  readonly #trajectories: Table;
  readonly #distanceType: DistanceType;
  readonly #cellSizeM: number;
  readonly #maxInListIds: number;
  readonly #spatialFilter: "memory" | "lance";
  readonly #vectorRoute: "memory" | "lance";
  readonly #clusterRows: number;
  readonly #tuning: VectorSearchTuning;
  readonly #embedderTables = new Map<string, Table>();
  #vectorIndex: VectorIndexKind = "none";
  #grid: TrajectoryGrid | undefined;
  #gridLoading: Promise<TrajectoryGrid> | undefined;
  /** Filter columns at the current table version; dropped by every write, reloaded on the next spatial query. */
  #columns: SceneColumns | undefined;
  #columnsLoading: Promise<void> | undefined;
  /** In-memory vectors at the positions of `#columns`; dropped with them, reloaded on the next `near` query. */
  #vectors: VectorClusters | undefined;
  #vectorsLoading: Promise<void> | undefined;
  #vectorLoadSecs = 0;
  /** The write count at a failed load: no retry (another full scan) before the next write. */
  #vectorLoadFailedAt = -1;
  /** Cluster centroids, kept across reloads (retrained when the table has doubled or halved since). */
  #centroids: ClusterCentroids | undefined;
  /** Writes started through this index; a query that saw another count re-runs on LanceDB. */
  #writes = 0;
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(init: {
    db: lancedb.Connection;
    scenes: Table;
    trajectories: Table;
    graphs: LanceSceneGraphStore;
    vectorDim: number;
    options: SceneIndexOptions;
  }) {
    this.#db = init.db;
    this.#scenes = init.scenes;
    this.#trajectories = init.trajectories;
    this.graphs = init.graphs;
    this.vectorDim = init.vectorDim;
    this.#distanceType = init.options.distanceType ?? "l2";
    this.#cellSizeM = init.options.spatialCellSizeM ?? 64;
    this.#maxInListIds = init.options.maxInListIds ?? 2000;
    this.#spatialFilter = init.options.spatialFilter ?? "memory";
    this.#vectorRoute = init.options.vectorRoute ?? "memory";
    this.#clusterRows = init.options.vectorClusterRows ?? 512;
    this.#tuning = { nprobes: 50, refineFactor: 10, ...init.options.tuning };
  }

  static async open(options: SceneIndexOptions): Promise<LanceSceneIndex> {
    return lanceCall(`opening ${options.dir}`, async () => {
      const db = await lancedb.connect(options.dir);
      const names = await db.tableNames();
      let scenes: Table;
      let vectorDim = options.vectorDim ?? 32;
      if (names.includes(SCENES_TABLE)) {
        scenes = await db.openTable(SCENES_TABLE);
        const existing = vectorDimOf((await scenes.schema()) as unknown as arrow.Schema);
        if (existing === undefined)
          throw new StrataError("STRATA_E_INTERNAL", `${options.dir}: scenes table has no vector column`);
        if (options.vectorDim !== undefined && options.vectorDim !== existing) {
          throw usage(
            `the scene index at ${options.dir} holds ${existing}-d vectors, not ${options.vectorDim}-d`,
          );
        }
        vectorDim = existing;
      } else {
        if (!Number.isInteger(vectorDim) || vectorDim < 1)
          throw usage(`vectorDim must be a positive integer, got ${vectorDim}`);
        scenes = await db.createEmptyTable(SCENES_TABLE, scenesSchema(vectorDim), { existOk: true });
      }
      const trajectories = await openOrCreateTable(db, TRAJECTORIES_TABLE, trajectoriesSchema());
      const graphs = await LanceSceneGraphStore.open(db, { maxInListIds: options.maxInListIds ?? 2000 });
      const index = new LanceSceneIndex({ db, scenes, trajectories, graphs, vectorDim, options });
      await index.#refreshIndexInfo();
      return index;
    });
  }

  async #refreshIndexInfo(): Promise<void> {
    const indices = await this.#scenes.listIndices();
    const vectorIndex = indices.find((i) => i.columns.includes("vector"));
    const type = vectorIndex?.indexType.toUpperCase() ?? "";
    this.#vectorIndex = !vectorIndex
      ? "none"
      : type.includes("HNSW")
        ? "ivf_hnsw_sq"
        : type.includes("PQ")
          ? "ivf_pq"
          : "ivf_flat";
  }

  /** Runs `fn` after every earlier write (writes and grid loading are serialised). */
  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  /** Before a write touches the scenes table: the in-memory columns and vectors describe the old version. */
  #dropSnapshot(): void {
    this.#writes++;
    this.#columns = undefined;
    this.#vectors = undefined;
  }

  #toDistance = (raw: number): number => (this.#distanceType === "l2" ? Math.sqrt(Math.max(0, raw)) : raw);

  scenes(): SceneQuery {
    return new SceneQuery(this);
  }

  // ---- writes ------------------------------------------------------------------------------------

  async upsert(rows: readonly SceneRow[]): Promise<void> {
    if (rows.length === 0) return;
    const seen = new Set<string>();
    for (const row of rows) {
      if (!row.sceneId || !row.captureId) throw usage("a scene needs a sceneId and a captureId");
      if (seen.has(row.sceneId)) throw usage(`scene ${row.sceneId} appears twice in one upsert`);
      seen.add(row.sceneId);
      if (row.endNs < row.startNs) throw usage(`scene ${row.sceneId} ends before it starts`);
      for (const tag of row.tags)
        if (!isValidTag(tag)) throw usage(`scene ${row.sceneId}: "${tag}" is not a valid tag`);
      for (const f of SCENE_FEATURES) {
        const v = (row.features as Record<string, number | null | undefined>)[f.name];
        if (v === undefined)
          throw usage(`scene ${row.sceneId}: feature ${f.name} is missing (use null for "not measured")`);
        if (v === null ? !f.nullable : !Number.isFinite(v) || (f.kind === "int32" && !Number.isInteger(v))) {
          throw usage(
            `scene ${row.sceneId}: feature ${f.name} = ${v} is not ${f.kind === "int32" ? "an integer" : "a finite number"}${f.nullable ? " or null" : ""}`,
          );
        }
      }
      if (![row.xM, row.yM, row.headingRad].every(Number.isFinite))
        throw usage(`scene ${row.sceneId}: position is not finite`);
    }
    const trajectories = rows.map((row) => {
      const t = row.trajectory;
      return t && t.xM.length > 0
        ? { sceneId: row.sceneId, captureId: row.captureId, xM: t.xM, yM: t.yM, headingRad: t.headingRad }
        : {
            sceneId: row.sceneId,
            captureId: row.captureId,
            xM: [row.xM],
            yM: [row.yM],
            headingRad: [row.headingRad],
          };
    });
    // Validate every trajectory before writing anything.
    const probe = new TrajectoryGrid(this.#cellSizeM);
    for (const t of trajectories) {
      try {
        probe.add(t.sceneId, t.captureId, t);
      } catch (error) {
        throw usage(error instanceof Error ? error.message : String(error));
      }
    }
    let scenes: arrow.Table;
    try {
      scenes = scenesTable(rows, this.vectorDim);
    } catch (error) {
      if (error instanceof RangeError) throw usage(error.message);
      throw error;
    }
    const trajectoryTable = trajectoriesTable(trajectories);
    await this.#locked(() =>
      lanceCall("upsert", async () => {
        this.#dropSnapshot();
        await mergeBySceneId(this.#scenes, scenes);
        await mergeBySceneId(this.#trajectories, trajectoryTable);
        if (this.#grid) for (const t of trajectories) this.#grid.add(t.sceneId, t.captureId, t);
      }),
    );
  }

  async deleteByCapture(captureId: string): Promise<number> {
    const where = `captureId = ${sqlString(captureId)}`;
    return this.#locked(() =>
      lanceCall("deleteByCapture", async () => {
        this.#dropSnapshot();
        const count = await this.#scenes.countRows(where);
        await this.#scenes.delete(where);
        await this.#trajectories.delete(where);
        await this.graphs.deleteByCapture(captureId);
        for (const name of await this.embedders()) await (await this.#embedderTable(name)).delete(where);
        this.#grid?.removeCapture(captureId);
        return count;
      }),
    );
  }

  async setQuarantined(captureId: string, quarantined: boolean): Promise<number> {
    return this.#locked(() =>
      lanceCall("setQuarantined", async () => {
        this.#dropSnapshot();
        const result = await this.#scenes.update({
          where: `captureId = ${sqlString(captureId)}`,
          values: { quarantined },
        });
        return result.rowsUpdated;
      }),
    );
  }

  async attachVectors(embedderName: string, vectors: readonly AttachedVector[]): Promise<void> {
    if (!isValidEmbedderName(embedderName)) {
      throw usage(
        `"${embedderName}" is not an embedder name (lowercase letters, digits and _, starting with a letter)`,
      );
    }
    if (vectors.length === 0) return;
    const ids = vectors.map((v) => v.sceneId);
    if (new Set(ids).size !== ids.length) throw usage("a scene appears twice in one attachVectors call");
    const captureOf = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 1000) {
      const part = ids.slice(i, i + 1000);
      const rows = await this.#scenes
        .query()
        .where(sqlInList("sceneId", part))
        .select(["sceneId", "captureId"])
        .toArray();
      for (const r of rows) captureOf.set(String(r.sceneId), String(r.captureId));
    }
    const missing = ids.filter((id) => !captureOf.has(id));
    if (missing.length > 0)
      throw notFound(
        `no scene ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""} in the index`,
      );
    await this.#locked(() =>
      lanceCall("attachVectors", async () => {
        const existing = await this.#embedderTable(embedderName, false);
        const dim = existing
          ? (vectorDimOf((await existing.schema()) as unknown as arrow.Schema) ?? 0)
          : (vectors[0]?.vector.length ?? 0);
        let data: arrow.Table;
        try {
          data = tableFromColumns(vectorsSchema(dim), vectors.length, {
            sceneId: utf8Data(ids),
            captureId: utf8Data(ids.map((id) => captureOf.get(id) as string)),
            vector: vectorData(
              dim,
              vectors.map((v) => v.vector),
              (i) => `${embedderName} vector of ${ids[i]}`,
            ),
          });
        } catch (error) {
          if (error instanceof RangeError) throw usage(error.message);
          throw error;
        }
        if (existing) {
          await mergeBySceneId(existing, data);
        } else {
          const table = await this.#db.createTable(`${EMBEDDER_TABLE_PREFIX}${embedderName}`, data, {
            existOk: false,
          });
          this.#embedderTables.set(embedderName, table);
        }
      }),
    );
  }

  async embedders(): Promise<string[]> {
    const names = await this.#db.tableNames();
    return names
      .filter((n) => n.startsWith(EMBEDDER_TABLE_PREFIX))
      .map((n) => n.slice(EMBEDDER_TABLE_PREFIX.length));
  }

  async #embedderTable(name: string, required?: true): Promise<Table>;
  async #embedderTable(name: string, required: false): Promise<Table | undefined>;
  async #embedderTable(name: string, required = true): Promise<Table | undefined> {
    const cached = this.#embedderTables.get(name);
    if (cached) return cached;
    const tableName = `${EMBEDDER_TABLE_PREFIX}${name}`;
    if (!(await this.#db.tableNames()).includes(tableName)) {
      if (!required) return undefined;
      throw notFound(
        `no vectors attached for embedder "${name}" (attach them with attachVectors / \`strata scenes attach-vectors\`)`,
      );
    }
    const table = await this.#db.openTable(tableName);
    this.#embedderTables.set(name, table);
    return table;
  }

  // ---- spatial grid ------------------------------------------------------------------------------

  /** The trajectory grid, loaded from `scene_trajectories` on first use. */
  #ensureGrid(): Promise<TrajectoryGrid> {
    if (this.#grid) return Promise.resolve(this.#grid);
    this.#gridLoading ??= this.#locked(() =>
      lanceCall("loading the trajectory grid", async () => {
        const grid = new TrajectoryGrid(this.#cellSizeM);
        const query = this.#trajectories.query().select(["sceneId", "captureId", "xM", "yM", "headingRad"]);
        for await (const batch of query) {
          const sceneId = batch.getChild("sceneId");
          const captureId = batch.getChild("captureId");
          const xM = listColumn(batch, "xM");
          const yM = listColumn(batch, "yM");
          const headingRad = listColumn(batch, "headingRad");
          for (let i = 0; i < batch.numRows; i++) {
            grid.add(sceneId?.get(i) as string, captureId?.get(i) as string, {
              xM: xM(i),
              yM: yM(i),
              headingRad: headingRad(i),
            });
          }
        }
        grid.trim();
        this.#grid = grid;
        // Without the filter columns, spatial queries take the LanceDB route (and retry the load later).
        if (this.#spatialFilter === "memory") await this.#loadColumns().catch(() => undefined);
        return grid;
      }),
    );
    return this.#gridLoading;
  }

  /**
   * Reads the filter columns' row ids (call under the lock), mapped to the grid's ordinals when the grid is
   * loaded. A snapshot it replaces at the same positions hands over its loaded columns and the vectors.
   */
  async #loadColumns(): Promise<void> {
    const grid = this.#grid;
    const previous = this.#columns;
    const next = await SceneColumns.load(
      (columns) =>
        this.#scenes
          .query()
          .select([...columns])
          .withRowId() as unknown as AsyncIterable<arrow.RecordBatch>,
      (sceneId) => grid?.ordinalOf(sceneId),
      grid?.ordinalCount ?? 0,
    );
    if (previous && previous.samePositions(next)) next.adoptColumns(previous);
    else this.#vectors = undefined;
    this.#columns = next;
  }

  /** Reads the built-in vectors at the filter columns' positions and clusters them (call under the lock). */
  async #loadVectors(): Promise<void> {
    if (this.#vectors && this.#columns) return;
    const started = performance.now();
    if (!this.#columns) await this.#loadColumns();
    const columns = this.#columns;
    if (!columns) return;
    const dim = this.vectorDim;
    const rows = columns.rows;
    const memory = new VectorMemory(rows, dim);
    const vectors = memory.vectors;
    let position = 0;
    const scan = this.#scenes
      .query()
      .select(["vector"])
      .withRowId() as unknown as AsyncIterable<arrow.RecordBatch>;
    for await (const batch of scan) {
      const rowIds = batch.getChild("_rowid")?.toArray() as BigInt64Array | undefined;
      const data = batch.getChild("vector")?.data[0];
      const child = data?.children[0];
      if (!rowIds || !data || !child || batch.getChild("vector")?.data.length !== 1)
        throw new Error("internal: bad vector scan batch");
      if (position + batch.numRows > rows) throw new Error("internal: the scenes table changed");
      for (let i = 0; i < batch.numRows; i++)
        if (rowIds[i] !== columns.rowIdAt(position + i))
          throw new Error("internal: the scenes table changed");
      const values = child.values as Float32Array;
      const from = data.offset * dim + child.offset;
      vectors.set(values.subarray(from, from + batch.numRows * dim), position * dim);
      position += batch.numRows;
    }
    if (position !== rows) throw new Error("internal: the scenes table changed");
    const pause = () => new Promise<void>((resolve) => setImmediate(resolve));
    let centroids = this.#centroids;
    if (
      !centroids ||
      centroids.dim !== dim ||
      rows > 2 * centroids.trainedRows ||
      2 * rows < centroids.trainedRows
    ) {
      centroids = await ClusterCentroids.train(vectors, rows, dim, {
        rowsPerCluster: this.#clusterRows,
        pause,
      });
      this.#centroids = centroids;
    }
    this.#vectors = await VectorClusters.build(memory, centroids, pause);
    this.#vectorLoadSecs = (performance.now() - started) / 1000;
  }

  /** Loads the in-memory vectors in the background; `near` queries use LanceDB meanwhile. */
  #reloadVectorsSoon(): Promise<void> {
    if (this.#vectorRoute !== "memory" || this.#vectorLoadFailedAt === this.#writes) return Promise.resolve();
    const writes = this.#writes;
    this.#vectorsLoading ??= this.#locked(() => lanceCall("loading the vectors", () => this.#loadVectors()))
      .catch(() => {
        this.#vectorLoadFailedAt = writes;
      })
      .finally(() => {
        this.#vectorsLoading = undefined;
      });
    return this.#vectorsLoading;
  }

  async vectorStats(): Promise<VectorStats> {
    if (this.#vectorRoute === "memory" && !(this.#vectors && this.#columns)) await this.#reloadVectorsSoon();
    const vectors = this.#vectors;
    const columns = this.#columns;
    if (!vectors || !columns)
      return { rows: 0, clusters: 0, vectorBytes: 0, filterColumnBytes: 0, loadSecs: 0 };
    return {
      rows: vectors.rows,
      clusters: vectors.clusterCount,
      vectorBytes: vectors.memoryBytes() + (this.#centroids?.memoryBytes() ?? 0),
      filterColumnBytes: columns.memoryBytes() + columns.summaryBytes(vectors.groups),
      loadSecs: this.#vectorLoadSecs,
    };
  }

  /** After a write: reload the filter columns in the background; queries use LanceDB meanwhile. */
  #reloadColumnsSoon(): void {
    if (this.#columnsLoading || !this.#grid || this.#spatialFilter !== "memory") return;
    this.#columnsLoading = this.#locked(() => this.#loadColumns())
      .catch(() => undefined)
      .finally(() => {
        this.#columnsLoading = undefined;
      });
  }

  async spatialStats(): Promise<SpatialStats> {
    const stats = (await this.#ensureGrid()).stats();
    return { ...stats, filterColumnBytes: this.#columns?.memoryBytes() ?? 0 };
  }

  // ---- reads -------------------------------------------------------------------------------------

  async count(): Promise<number> {
    return lanceCall("count", () => this.#scenes.countRows());
  }

  async get(sceneId: string, options: { withVector?: boolean } = {}): Promise<SceneRecord | undefined> {
    const columns = options.withVector ? [...RECORD_COLUMNS, "vector"] : [...RECORD_COLUMNS];
    const result = await lanceCall("get", () =>
      this.#scenes
        .query()
        .where(`sceneId = ${sqlString(sceneId)}`)
        .select(columns)
        .limit(1)
        .toArrow(),
    );
    for (const batch of result.batches) {
      const [hit] = hitsFromBatch(batch, {
        withVector: options.withVector === true,
        toDistance: this.#toDistance,
      });
      if (hit) return hit;
    }
    return undefined;
  }

  query(plan: QueryPlan): SceneResults {
    validatePlan(plan);
    const run = () => this.#execute(plan);
    return {
      [Symbol.asyncIterator]: () => run()[Symbol.asyncIterator](),
      toArray: async () => {
        const out: SceneHit[] = [];
        for await (const hit of run()) out.push(hit);
        return out;
      },
    };
  }

  /** Spatial and graph candidates (undefined: no such predicate). */
  async #candidates(plan: QueryPlan): Promise<Set<string> | undefined> {
    let candidates: Set<string> | undefined;
    if (plan.within || plan.heading) {
      const grid = await this.#ensureGrid();
      candidates = new Set(grid.query(plan.within, plan.heading));
    }
    if (plan.graph.length > 0 && (!candidates || candidates.size > 0)) {
      candidates = await lanceCall("graph match", () =>
        this.graphs.match(plan.graph, candidates ? { sceneIds: candidates } : {}),
      );
    }
    return candidates;
  }

  /**
   * How candidates reach LanceDB: a LabelList prefilter on the coarse `cells` of a bounded region (then exact
   * membership in JS), else `sceneId IN (…)` for few candidates, else membership in JS only.
   */
  #candidateRoute(
    plan: QueryPlan,
    candidates: Set<string> | undefined,
  ): { extra: string[]; postFilter?: Set<string>; via: "cells" | "in-list" | "post-filter" | "none" } {
    if (!candidates) return { extra: [], via: "none" };
    const cells = plan.within ? regionCellsSql(plan.within) : undefined;
    if (cells) return { extra: [cells], postFilter: candidates, via: "cells" };
    if (candidates.size <= this.#maxInListIds)
      return { extra: [sqlInList("sceneId", candidates)], via: "in-list" };
    return { extra: [], postFilter: candidates, via: "post-filter" };
  }

  /** Does the plan take the in-memory route (when the filter columns are current)? */
  #usesFilterColumns(plan: QueryPlan): boolean {
    return (
      this.#spatialFilter === "memory" &&
      !plan.near &&
      (plan.within !== undefined || plan.heading !== undefined) &&
      SceneColumns.supports(plan)
    );
  }

  /**
   * The in-memory route of a spatial query without `near`: grid candidates (restricted by graph patterns)
   * filtered over the in-memory columns. Undefined when the route does not apply or the columns are stale.
   */
  async #filterInMemory(
    plan: QueryPlan,
  ): Promise<{ columns: SceneColumns; positions: Int32Array; sceneIds: string[] } | undefined> {
    if (!this.#usesFilterColumns(plan)) return undefined;
    const grid = await this.#ensureGrid();
    const columns = this.#columns;
    if (!columns) {
      this.#reloadColumnsSoon();
      return undefined;
    }
    if (!(await this.#loadColumnsOf(columns, plan)) || this.#columns !== columns) return undefined;
    let ordinals = grid.queryOrdinals(plan.within, plan.heading);
    if (plan.graph.length > 0 && ordinals.length > 0) {
      const sceneIds = new Set(ordinals.map((o) => grid.sceneIdAt(o) as string));
      const matched = await lanceCall("graph match", () => this.graphs.match(plan.graph, { sceneIds }));
      // Every write drops the columns before it touches the grid: same columns, same grid ordinals.
      if (this.#columns !== columns) return undefined;
      ordinals = ordinals.filter((o) => matched.has(grid.sceneIdAt(o) as string));
    }
    const all = columns.filter(ordinals, plan);
    const positions = all.subarray(0, Math.min(plan.limit ?? all.length, all.length));
    // Ids now, before any await: they check the rows read by id below.
    const sceneIds = Array.from(positions, (p) => grid.sceneIdAt(columns.ordinalAt(p)) as string);
    return { columns, positions, sceneIds };
  }

  /**
   * Records of scenes read by row id, keyed by sceneId. Rows a write has moved since the ids were taken (or a
   * failed take) are read again by sceneId through `refetchWhere(missing)`; ids still absent are gone.
   */
  async #recordsByRowId(
    rowIds: bigint[],
    sceneIds: readonly string[],
    refetchWhere: (missing: string[]) => string,
  ): Promise<Map<string, SceneHit>> {
    const byId = new Map<string, SceneHit>();
    const taken = await this.#scenes
      .takeRowIds(rowIds)
      .select([...RECORD_COLUMNS])
      .toArrow()
      .catch(() => undefined);
    for (const b of taken?.batches ?? []) for (const hit of this.#recordHits(b)) byId.set(hit.sceneId, hit);
    const missing = sceneIds.filter((id) => !byId.has(id));
    if (missing.length > 0) {
      const rows = await lanceCall("query", () =>
        this.#scenes
          .query()
          .where(refetchWhere(missing))
          .select([...RECORD_COLUMNS])
          .toArrow(),
      );
      for (const b of rows.batches) for (const hit of this.#recordHits(b)) byId.set(hit.sceneId, hit);
    }
    return byId;
  }

  /** Hits of a batch of record columns (no vector; distances as this index reports them). */
  #recordHits(batch: arrow.RecordBatch): SceneHit[] {
    return hitsFromBatch(batch, { withVector: false, toDistance: this.#toDistance });
  }

  /**
   * Loads (under the write lock) the columns `plan` filters on that `columns` lacks. false when they could
   * not be loaded or a write replaced the columns first: the caller then answers through LanceDB.
   */
  async #loadColumnsOf(columns: SceneColumns, plan: QueryPlan): Promise<boolean> {
    const missing = columns.missing(plan);
    if (missing.length === 0) return true;
    return this.#locked(async () => {
      if (this.#columns !== columns) return false;
      await columns.loadColumns(missing);
      return true;
    }).catch(() => false);
  }

  /** Records of the kept positions by row id, in table order; rows moved by a concurrent write by sceneId. */
  async *#fetchPositions(
    plan: QueryPlan,
    kept: { columns: SceneColumns; positions: Int32Array; sceneIds: string[] },
  ): AsyncGenerator<SceneHit> {
    const end = kept.positions.length;
    for (let i = 0; i < end; i += 1000) {
      const part = kept.positions.subarray(i, Math.min(end, i + 1000));
      const ids = kept.sceneIds.slice(i, i + part.length);
      const byId = await this.#recordsByRowId(
        Array.from(part, (p) => kept.columns.rowIdAt(p)),
        ids,
        (missing) => sqlSceneFilter(plan, [sqlInList("sceneId", missing)]) as string,
      );
      for (const id of ids) {
        const hit = byId.get(id);
        if (hit) yield hit;
      }
    }
  }

  /** Does a `near` plan take the in-memory vector route (when the vectors are current)? */
  #usesVectorRoute(plan: QueryPlan): boolean {
    return (
      this.#vectorRoute === "memory" &&
      plan.near !== undefined &&
      plan.near.embedder === undefined &&
      this.#distanceType === "l2" &&
      plan.graph.length === 0 &&
      SceneColumns.supports(plan)
    );
  }

  /**
   * The in-memory vector route (decision 0014): exact filtered kNN over the clustered vectors, the filter over
   * the in-memory columns (spatial plans: over the grid's candidates), then the k records by row id.
   * Undefined when the route does not apply or the snapshot is not current (the caller uses LanceDB).
   */
  async #nearestInMemory(plan: QueryPlan): Promise<{ hits: SceneHit[]; result: NearestResult } | undefined> {
    const near = plan.near;
    if (!near || !this.#usesVectorRoute(plan)) return undefined;
    const writes = this.#writes;
    if (!this.#vectors || !this.#columns) {
      void this.#reloadVectorsSoon();
      return undefined;
    }
    const k = Math.min(near.k, plan.limit ?? near.k);
    const target = await this.#targetVector(near);
    if (target.length !== this.vectorDim)
      throw usage(`near: the vector has ${target.length} values, the index takes ${this.vectorDim}`);
    const spatial = plan.within !== undefined || plan.heading !== undefined;
    const grid = spatial ? await this.#ensureGrid() : undefined;
    const columns = this.#columns;
    const vectors = this.#vectors;
    if (this.#writes !== writes || !columns || !vectors) return undefined;
    if (grid && columns.ordinalCount !== grid.ordinalCount) return undefined;
    if (!(await this.#loadColumnsOf(columns, plan)) || this.#writes !== writes) return undefined;
    const query = Float32Array.from(target);
    // Near a scene: one more, then drop the scene itself (it is the nearest when it passes the filter).
    const wanted = near.target.kind === "scene" ? k + 1 : k;
    const result = grid
      ? vectors.nearestAmong(
          columns.filter(grid.queryOrdinals(plan.within, plan.heading), plan),
          query,
          wanted,
        )
      : vectors.nearest(
          query,
          wanted,
          columns.slotFilter(plan, vectors.groups),
          columns.groupTest(plan, vectors.groups),
        );
    const rowIds = Array.from(result.positions, (p) => columns.rowIdAt(p));
    const byRowId = new Map<bigint, SceneHit>();
    if (rowIds.length > 0) {
      const taken = await this.#scenes
        .takeRowIds(rowIds)
        .select([...RECORD_COLUMNS])
        .withRowId()
        .toArrow()
        .catch(() => undefined);
      // A write since the search may have moved rows: answer through LanceDB instead.
      if (!taken || this.#writes !== writes) return undefined;
      for (const batch of taken.batches) {
        const taken = batch.getChild("_rowid")?.toArray() as BigInt64Array | undefined;
        const hits = this.#recordHits(batch);
        hits.forEach((hit, i) => byRowId.set(taken?.[i] as bigint, hit));
      }
    }
    const hits: SceneHit[] = [];
    for (let i = 0; i < rowIds.length; i++) {
      const hit = byRowId.get(rowIds[i] as bigint);
      if (!hit) return undefined;
      if (near.target.kind === "scene" && hit.sceneId === near.target.sceneId) continue;
      hits.push({ ...hit, distance: Math.sqrt(result.distancesSq[i] as number) });
    }
    return { hits: hits.slice(0, k), result };
  }

  async *#execute(plan: QueryPlan): AsyncGenerator<SceneHit> {
    const inMemory = await this.#filterInMemory(plan);
    if (inMemory) {
      yield* this.#fetchPositions(plan, inMemory);
      return;
    }
    const nearest = await this.#nearestInMemory(plan);
    if (nearest) {
      yield* nearest.hits;
      return;
    }
    const candidates = await this.#candidates(plan);
    if (candidates && candidates.size === 0) return;
    const { extra, postFilter, via } = this.#candidateRoute(plan, candidates);
    if (plan.near) {
      const hits = plan.near.embedder
        ? await this.#nearestAttached(plan, plan.near, extra, postFilter)
        : await this.#nearestBuiltIn(plan, plan.near, extra, postFilter);
      yield* hits;
      return;
    }
    const where = sqlSceneFilter(plan, extra);
    if (postFilter && via === "post-filter") {
      // Many candidates and no cell prefilter: filter on sceneId alone first, fetch records for members only.
      yield* this.#twoPhase(where, postFilter, plan.limit);
      return;
    }
    // Direct read of the covering columns; with the cell prefilter most rows read are members.
    let query = this.#scenes.query().select([...RECORD_COLUMNS]);
    if (where) query = query.where(where);
    if (plan.limit !== undefined && !postFilter) query = query.limit(plan.limit);
    let emitted = 0;
    const batches = query[Symbol.asyncIterator]();
    while (true) {
      const next = await lanceCall("query", () => batches.next());
      if (next.done) return;
      for (const hit of this.#recordHits(next.value)) {
        if (postFilter && !postFilter.has(hit.sceneId)) continue;
        yield hit;
        emitted++;
        if (plan.limit !== undefined && emitted >= plan.limit) return;
      }
    }
  }

  /**
   * Filter in LanceDB reading only sceneId and the row address, keep the members of `keep`, then fetch the
   * records of the kept rows by address (a few columns for few rows instead of all columns for all rows).
   */
  async *#twoPhase(
    where: string | undefined,
    keep: ReadonlySet<string>,
    limit: number | undefined,
  ): AsyncGenerator<SceneHit> {
    let query = this.#scenes.query().select(["sceneId"]).withRowId();
    if (where) query = query.where(where);
    const kept: { sceneId: string; rowId: bigint }[] = [];
    const batches = query[Symbol.asyncIterator]();
    scan: while (true) {
      const next = await lanceCall("query", () => batches.next());
      if (next.done) break;
      const ids = next.value.getChild("sceneId");
      const rowIds = next.value.getChild("_rowid");
      for (let i = 0; i < next.value.numRows; i++) {
        const sceneId = ids?.get(i) as string;
        if (!keep.has(sceneId)) continue;
        kept.push({ sceneId, rowId: rowIds?.get(i) as bigint });
        if (limit !== undefined && kept.length >= limit) break scan;
      }
    }
    for (let i = 0; i < kept.length; i += 1000) {
      const part = kept.slice(i, i + 1000);
      // The table may change between the phases (compaction moves rows): those are read by id instead.
      const byId = await this.#recordsByRowId(
        part.map((p) => p.rowId),
        part.map((p) => p.sceneId),
        (missing) => sqlInList("sceneId", missing),
      );
      for (const p of part) {
        const hit = byId.get(p.sceneId);
        if (hit) yield hit;
      }
    }
  }

  async #targetVector(near: NearClause): Promise<Float32Array | number[]> {
    if (near.target.kind === "vector") return near.target.vector;
    const sceneId = near.target.sceneId;
    if (near.embedder) {
      const table = await this.#embedderTable(near.embedder);
      const rows = await table
        .query()
        .where(`sceneId = ${sqlString(sceneId)}`)
        .select(["vector"])
        .limit(1)
        .toArray();
      const vector = rows[0]?.vector as ArrayLike<number> | undefined;
      if (!vector) throw notFound(`scene ${sceneId} has no "${near.embedder}" vector`);
      return Float32Array.from(vector);
    }
    const scene = await this.get(sceneId, { withVector: true });
    if (!scene?.vector) throw notFound(`no scene ${sceneId} in the index`);
    return scene.vector;
  }

  #vectorSearch(
    table: Table,
    vector: Float32Array | number[],
    limit: number,
    where: string | undefined,
    columns: readonly string[],
  ): VectorQuery {
    let query = table
      .vectorSearch(vector)
      .distanceType(this.#distanceType)
      .limit(limit)
      .select([...columns, "_distance"]);
    if (this.#vectorIndex !== "none") {
      query = query.nprobes(this.#tuning.nprobes).refineFactor(this.#tuning.refineFactor);
      if (this.#tuning.ef !== undefined) query = query.ef(this.#tuning.ef);
    }
    return where ? query.where(where) : query;
  }

  async #nearestBuiltIn(
    plan: QueryPlan,
    near: NearClause,
    extra: string[],
    postFilter: Set<string> | undefined,
  ): Promise<SceneHit[]> {
    const k = Math.min(near.k, plan.limit ?? near.k);
    const vector = await this.#targetVector(near);
    if (vector.length !== this.vectorDim)
      throw usage(`near: the vector has ${vector.length} values, the index takes ${this.vectorDim}`);
    const exclude = near.target.kind === "scene" ? [`sceneId <> ${sqlString(near.target.sceneId)}`] : [];
    const where = sqlSceneFilter(plan, [...extra, ...exclude]);
    let fetch = k;
    if (postFilter) {
      // With the cells prefilter most fetched rows are members already; without it, scale by the share.
      const cellsUsed = extra.some((e) => e.startsWith("array_has_any(cells"));
      fetch = cellsUsed
        ? k * 4
        : k * Math.max(4, Math.ceil((await this.#scenes.countRows()) / Math.max(1, postFilter.size)));
    }
    while (true) {
      const result = await lanceCall("vector search", () =>
        this.#vectorSearch(this.#scenes, vector, fetch, where, RECORD_COLUMNS).toArrow(),
      );
      const hits = result.batches.flatMap((b) => this.#recordHits(b));
      const kept = postFilter ? hits.filter((h) => postFilter.has(h.sceneId)) : hits;
      if (kept.length >= k || hits.length < fetch) return kept.slice(0, k);
      fetch *= 4;
    }
  }

  async #nearestAttached(
    plan: QueryPlan,
    near: NearClause,
    extra: string[],
    postFilter: Set<string> | undefined,
  ): Promise<SceneHit[]> {
    const embedder = near.embedder as string;
    const table = await this.#embedderTable(embedder);
    const dim = vectorDimOf((await table.schema()) as unknown as arrow.Schema);
    const k = Math.min(near.k, plan.limit ?? near.k);
    const vector = await this.#targetVector(near);
    if (vector.length !== dim)
      throw usage(`near: the vector has ${vector.length} values, "${embedder}" vectors have ${dim}`);
    const vectorWhere = [
      ...(near.target.kind === "scene" ? [`sceneId <> ${sqlString(near.target.sceneId)}`] : []),
      ...extra,
    ];
    let fetch = k * 4;
    while (true) {
      const found = await lanceCall("vector search", () =>
        this.#vectorSearch(
          table,
          vector,
          fetch,
          vectorWhere.length > 0 ? vectorWhere.join(" AND ") : undefined,
          ["sceneId"],
        ).toArray(),
      );
      const ordered = found
        .map((r) => ({ sceneId: String(r.sceneId), distance: this.#toDistance(Number(r._distance)) }))
        .filter((r) => !postFilter || postFilter.has(r.sceneId));
      const byId = new Map<string, SceneHit>();
      for (let i = 0; i < ordered.length; i += 1000) {
        const ids = ordered.slice(i, i + 1000).map((r) => r.sceneId);
        const where = sqlSceneFilter(plan, [sqlInList("sceneId", ids)]);
        const rows = await lanceCall("query", () =>
          this.#scenes
            .query()
            .where(where as string)
            .select([...RECORD_COLUMNS])
            .toArrow(),
        );
        for (const b of rows.batches) {
          for (const hit of this.#recordHits(b)) byId.set(hit.sceneId, hit);
        }
      }
      const kept: SceneHit[] = [];
      for (const r of ordered) {
        const hit = byId.get(r.sceneId);
        if (hit) kept.push({ ...hit, distance: r.distance });
      }
      if (kept.length >= k || found.length < fetch) return kept.slice(0, k);
      fetch *= 4;
    }
  }

  // ---- explain -----------------------------------------------------------------------------------

  /** An explain for a plan answered in memory: LanceDB only reads the result rows by row id. */
  async #inMemoryExplain(plan: QueryPlan, totalRows: number, steps: ExplainStep[]): Promise<ExplainResult> {
    return {
      query: formatQuery(plan),
      plan,
      totalRows,
      steps,
      lanceFilter: undefined,
      lancePlan: await this.#scenes
        .takeRowIds([0n])
        .select([...RECORD_COLUMNS])
        .explainPlan(true),
    };
  }

  async explain(plan: QueryPlan): Promise<ExplainResult> {
    validatePlan(plan);
    const totalRows = await this.count();
    const indices = await this.#scenes.listIndices();
    const indexOf = new Map(indices.flatMap((i) => i.columns.map((c) => [c, i.indexType] as const)));
    const steps: ExplainStep[] = [];
    let candidates: Set<string> | undefined;
    if (plan.within || plan.heading) {
      const grid = await this.#ensureGrid();
      const ids = grid.query(plan.within, plan.heading);
      const stats = grid.stats();
      const region = plan.within
        ? plan.within.kind === "circle"
          ? `trajectory within ${plan.within.radiusM} m of (${plan.within.xM}, ${plan.within.yM})`
          : `trajectory through a ${plan.within.verticesM.length}-vertex polygon`
        : "trajectory anywhere";
      steps.push({
        stage: "spatial-grid",
        predicate: plan.heading
          ? `${region}, yaw ${plan.heading.centerDeg}°±${plan.heading.toleranceDeg}°`
          : region,
        index: `trajectory grid (${this.#cellSizeM} m cells, ${stats.samples} samples, in memory)${plan.within ? "" : ": full scan"}`,
        matchingAlone: ids.length,
        estimatedRows: ids.length,
      });
      candidates = new Set(ids);
    }
    if (plan.graph.length > 0) {
      const alone = await this.graphs.match(plan.graph);
      const combined = candidates ? new Set([...alone].filter((id) => candidates?.has(id))) : alone;
      steps.push({
        stage: "scene-graph",
        predicate: plan.graph.map(formatGraphPattern).join("; "),
        index: "scene_graph_relations: Bitmap(relation, subjectClass, objectClass)",
        matchingAlone: alone.size,
        estimatedRows: combined.size,
      });
      candidates = combined;
    }
    if (candidates && this.#usesFilterColumns(plan)) {
      // The in-memory route (#filterInMemory): metadata filter over typed arrays, records by row id.
      const metadataWhere = sqlSceneFilter(plan);
      const alone = metadataWhere ? await this.#scenes.countRows(metadataWhere) : totalRows;
      steps.push({
        stage: "post-filter",
        predicate: metadataWhere ? abbreviateSql(metadataWhere) : "none",
        index: `in-memory filter columns of the ${candidates.size} candidates (typed arrays beside the grid; independence estimate), then their records by row id`,
        matchingAlone: alone,
        estimatedRows: Math.min(
          plan.limit ?? candidates.size,
          Math.round((candidates.size * alone) / Math.max(1, totalRows)),
        ),
      });
      return await this.#inMemoryExplain(plan, totalRows, steps);
    }
    if (plan.near && this.#usesVectorRoute(plan) && this.#vectors && this.#columns) {
      // The in-memory vector route (#nearestInMemory), run here to report what it scanned.
      const vectors = this.#vectors;
      const found = await this.#nearestInMemory(plan);
      if (found) {
        const metadataWhere = sqlSceneFilter(plan);
        const alone = metadataWhere ? await this.#scenes.countRows(metadataWhere) : totalRows;
        const { result } = found;
        if (candidates) {
          steps.push({
            stage: "post-filter",
            predicate: metadataWhere ? abbreviateSql(metadataWhere) : "none",
            index: `in-memory filter columns of the ${candidates.size} candidates (typed arrays; independence estimate)`,
            matchingAlone: alone,
            estimatedRows: result.vectorsCompared,
          });
        }
        steps.push({
          stage: "vector-search",
          predicate: `near ${plan.near.target.kind === "scene" ? plan.near.target.sceneId : "a vector"}, k=${Math.min(plan.near.k, plan.limit ?? plan.near.k)}${!candidates && metadataWhere ? `, filter ${abbreviateSql(metadataWhere)}` : ""}`,
          index: candidates
            ? `in-memory vectors (route: memory): exact distances to the ${result.vectorsCompared} filtered candidates; records of the results by row id`
            : `in-memory vectors (route: memory): ${vectors.clusterCount} k-means clusters of ${vectors.rows} vectors visited by cluster-radius lower bound, exact; filter over in-memory columns with per-cluster summaries; this query visited ${result.clustersVisited} clusters, scanned ${result.rowsScanned} rows, compared ${result.vectorsCompared} vectors; records of the results by row id`,
          matchingAlone: alone,
          estimatedRows: found.hits.length,
        });
        return await this.#inMemoryExplain(plan, totalRows, steps);
      }
    }
    const route = this.#candidateRoute(plan, candidates);
    const pushIn = route.via === "in-list";
    const extra = route.extra;
    const metadataWhere = sqlSceneFilter(plan);
    let rowsAfter = candidates?.size ?? totalRows;
    if (metadataWhere) {
      const alone = await this.#scenes.countRows(metadataWhere);
      const combinedWhere = sqlSceneFilter(plan, extra) as string;
      const after =
        candidates === undefined
          ? alone
          : pushIn || route.via === "cells"
            ? await this.#scenes.countRows(combinedWhere)
            : Math.round((alone * candidates.size) / Math.max(1, totalRows));
      const columns = [
        ...plan.predicates.map((p) => p.field as string),
        ...(plan.tags.length > 0 ? ["tags"] : []),
        ...(plan.includeQuarantined ? [] : ["quarantined"]),
      ];
      steps.push({
        stage: "scalar-filter",
        predicate: abbreviateSql(combinedWhere),
        index:
          [...new Set(columns)].map((c) => `${indexOf.get(c) ?? "scan"}(${c})`).join(", ") +
          (pushIn ? ", BTree(sceneId) for the candidate list" : "") +
          (route.via === "cells" ? ", LabelList(cells) for the region's 128 m cells" : ""),
        matchingAlone: alone,
        estimatedRows: after,
      });
      rowsAfter = after;
    }
    if (candidates && !pushIn) {
      steps.push({
        stage: "post-filter",
        predicate: `sceneId in the ${candidates.size} exact spatial/graph candidates`,
        index:
          route.via === "cells"
            ? "in-memory set (after the cell prefilter)"
            : "in-memory set (two-phase: sceneId first, records by row id)",
        matchingAlone: candidates.size,
        // Independence estimate: the candidates' share that passes the metadata filter.
        estimatedRows: Math.min(
          rowsAfter,
          Math.round(
            (candidates.size * (metadataWhere ? await this.#scenes.countRows(metadataWhere) : totalRows)) /
              Math.max(1, totalRows),
          ),
        ),
      });
    }
    let lancePlan: string;
    let lanceFilter: string | undefined;
    if (plan.near) {
      const k = Math.min(plan.near.k, plan.limit ?? plan.near.k);
      const vectorIndex = plan.near.embedder ? "see the embedder table" : this.#vectorIndex;
      steps.push({
        stage: "vector-search",
        predicate: `near ${plan.near.target.kind === "scene" ? plan.near.target.sceneId : "a vector"}, k=${k}${plan.near.embedder ? ` using ${plan.near.embedder}` : ""}`,
        index: `${
          vectorIndex === "none"
            ? "none: exact flat search over the prefiltered rows"
            : `${vectorIndex.toUpperCase()}(vector), nprobes=${this.#tuning.nprobes}, refineFactor=${this.#tuning.refineFactor}, prefiltered`
        } (route: lance${
          this.#vectorRoute === "lance"
            ? ', vectorRoute "lance"'
            : this.#usesVectorRoute(plan)
              ? ", in-memory vectors not loaded yet"
              : plan.near.embedder || this.#distanceType !== "l2" || plan.graph.length > 0
                ? ": embedder vectors, cosine and graph patterns stay on LanceDB"
                : ": sceneId predicates stay on LanceDB"
        })`,
        matchingAlone: totalRows,
        estimatedRows: Math.min(k, rowsAfter),
      });
      const exclude =
        plan.near.target.kind === "scene" ? [`sceneId <> ${sqlString(plan.near.target.sceneId)}`] : [];
      lanceFilter = sqlSceneFilter(plan, [...extra, ...exclude]);
      const vector = plan.near.embedder
        ? new Array<number>(this.vectorDim).fill(0)
        : await this.#targetVector(plan.near);
      lancePlan = await this.#vectorSearch(this.#scenes, vector, k, lanceFilter, RECORD_COLUMNS).explainPlan(
        true,
      );
    } else {
      if (steps.length === 0) {
        steps.push({
          stage: "scan",
          predicate: "all scenes",
          index: "none: full scan",
          matchingAlone: totalRows,
          estimatedRows: totalRows,
        });
      }
      lanceFilter = sqlSceneFilter(plan, extra);
      let query = this.#scenes.query().select([...RECORD_COLUMNS]);
      if (lanceFilter) query = query.where(lanceFilter);
      if (plan.limit !== undefined) query = query.limit(plan.limit);
      lancePlan = await query.explainPlan(true);
    }
    return {
      query: formatQuery(plan),
      plan,
      totalRows,
      steps,
      lanceFilter: lanceFilter === undefined ? undefined : abbreviateSql(lanceFilter),
      lancePlan: abbreviateSql(lancePlan),
    };
  }

  // ---- rarity ------------------------------------------------------------------------------------

  async rarity(target: readonly string[] | "all", options: RarityOptions = {}): Promise<RarityScore[]> {
    const k = options.k ?? 10;
    if (!Number.isInteger(k) || k < 1) throw usage(`rarity: k must be a positive integer, got ${k}`);
    const table = options.embedder ? await this.#embedderTable(options.embedder) : this.#scenes;
    const quarantined = new Set<string>();
    if (!options.includeQuarantined) {
      for await (const batch of this.#scenes.query().where("quarantined = true").select(["sceneId"])) {
        const column = batch.getChild("sceneId");
        for (let i = 0; i < batch.numRows; i++) quarantined.add(column?.get(i) as string);
      }
    }
    const targets: { sceneId: string; vector: Float32Array }[] = [];
    const collect = async (where: string | undefined): Promise<void> => {
      let query = table.query().select(["sceneId", "vector"]);
      if (where) query = query.where(where);
      for await (const batch of query) {
        const ids = batch.getChild("sceneId");
        const vectors = batch.getChild("vector");
        for (let i = 0; i < batch.numRows; i++) {
          const sceneId = ids?.get(i) as string;
          if (quarantined.has(sceneId)) continue;
          targets.push({
            sceneId,
            vector: Float32Array.from((vectors?.get(i) as arrow.Vector).toArray() as Float32Array),
          });
        }
      }
    };
    if (target === "all") await collect(undefined);
    else
      for (let i = 0; i < target.length; i += 1000)
        await collect(sqlInList("sceneId", target.slice(i, i + 1000)));
    const scores: RarityScore[] = [];
    const extraFetch = quarantined.size > 0 ? Math.min(quarantined.size, 4 * k) : 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length) {
        const t = targets[next++] as { sceneId: string; vector: Float32Array };
        const rows = await lanceCall("rarity", () =>
          this.#vectorSearch(table, t.vector, k + extraFetch, `sceneId <> ${sqlString(t.sceneId)}`, [
            "sceneId",
          ]).toArray(),
        );
        const distances = rows
          .filter((r) => !quarantined.has(String(r.sceneId)))
          .slice(0, k)
          .map((r) => this.#toDistance(Number(r._distance)));
        if (distances.length > 0) {
          scores.push({
            sceneId: t.sceneId,
            rarity: distances.reduce((a, b) => a + b, 0) / distances.length,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
    return scores.sort((a, b) => b.rarity - a.rarity || a.sceneId.localeCompare(b.sceneId));
  }

  // ---- maintenance -------------------------------------------------------------------------------

  async createIndexes(options: CreateIndexesOptions = {}): Promise<IndexReport> {
    const started = performance.now();
    return this.#locked(() =>
      lanceCall("createIndexes", async () => {
        const rows = await this.#scenes.countRows();
        const scalarIndexes: string[] = [];
        const scalar = async (table: Table, column: string, config: Index, label: string): Promise<void> => {
          await table.createIndex(column, { config, replace: true });
          scalarIndexes.push(`${label}(${column})`);
        };
        for (const column of ["sceneId", "captureId", "startNs", "endNs", "xM", "yM"])
          await scalar(this.#scenes, column, Index.btree(), "BTree");
        for (const column of ["site", "rig", "quarantined"])
          await scalar(this.#scenes, column, Index.bitmap(), "Bitmap");
        await scalar(this.#scenes, "tags", Index.labelList(), "LabelList");
        await scalar(this.#scenes, "cells", Index.labelList(), "LabelList");
        for (const column of options.features ?? FEATURE_NAMES)
          await scalar(this.#scenes, column, Index.btree(), "BTree");
        await this.#trajectories.createIndex("sceneId", { config: Index.btree(), replace: true });
        await this.graphs.createIndexes();
        let kind: VectorIndexKind =
          options.vectorIndex === "auto" || options.vectorIndex === undefined
            ? rows >= 5000
              ? "ivf_pq"
              : "none"
            : options.vectorIndex;
        if (rows < 256 && kind !== "none") kind = "none";
        if (kind !== "none") {
          const numPartitions = options.numPartitions ?? Math.max(1, Math.round(Math.sqrt(rows) / 4));
          const distanceType = this.#distanceType;
          const config =
            kind === "ivf_pq"
              ? Index.ivfPq({
                  numPartitions,
                  numSubVectors: options.numSubVectors ?? Math.max(1, Math.floor(this.vectorDim / 2)),
                  distanceType,
                })
              : kind === "ivf_hnsw_sq"
                ? Index.hnswSq({ numPartitions, distanceType })
                : Index.ivfFlat({ numPartitions, distanceType });
          await this.#scenes.createIndex("vector", { config, replace: true });
        }
        for (const name of await this.embedders()) {
          await (await this.#embedderTable(name)).createIndex("sceneId", {
            config: Index.btree(),
            replace: true,
          });
        }
        await this.#refreshIndexInfo();
        return {
          vectorIndex: this.#vectorIndex,
          scalarIndexes,
          seconds: (performance.now() - started) / 1000,
        };
      }),
    );
  }

  async optimize(): Promise<void> {
    await this.#locked(() =>
      lanceCall("optimize", async () => {
        this.#dropSnapshot();
        const tables = [this.#scenes, this.#trajectories];
        for (const name of await this.embedders()) tables.push(await this.#embedderTable(name));
        for (const table of tables) await table.optimize();
      }),
    );
  }

  async close(): Promise<void> {
    await this.#lock;
    this.#scenes.close();
    this.#trajectories.close();
    this.graphs.close();
    for (const table of this.#embedderTables.values()) table.close();
    this.#db.close();
  }
}

/** Most coarse cells a query lists in its LanceDB prefilter; larger regions skip the prefilter. */
const MAX_QUERY_CELLS = 4096;

/** `array_has_any(cells, […])` over the coarse cells under a region's bounding box (plus the oversized marker). */
function regionCellsSql(region: SpatialRegion): string | undefined {
  const box = new SegmentPredicate(region, undefined).bounds();
  if (!box) return undefined;
  const cells = coarseCellsOfBox(box.minX, box.minY, box.maxX, box.maxY, MAX_QUERY_CELLS);
  return cells ? `array_has_any(cells, [${[...cells, COARSE_OVERSIZED_CELL].join(",")}])` : undefined;
}

/** Insert-or-replace by sceneId; a plain append into an empty table. */
async function mergeBySceneId(table: Table, data: arrow.Table): Promise<void> {
  if ((await table.countRows()) === 0) {
    await table.add(data);
    return;
  }
  await table.mergeInsert("sceneId").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
}

export function openSceneIndex(options: SceneIndexOptions): Promise<SceneIndex> {
  return LanceSceneIndex.open(options);
}
