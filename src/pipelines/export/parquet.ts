/**
 * The Parquet lakehouse: the catalog as open tables (captures, topics, trajectories and their poses,
 * calibrations, drift, trajectory metrics, QA verdicts and contract checks, scenes when present, lineage
 * runs) under one directory, Hive-partitioned so DuckDB, Spark and Trino read it as is. The column sets are
 * a stable, versioned schema (`LAKEHOUSE_SCHEMA_VERSION`, documented in docs/lakehouse.md and written to
 * `_strata_lakehouse.json` beside the tables).
 *
 * - Capture tables (one or more rows per capture) are partitioned `site=…/date=…` (date: UTC day of the
 *   capture's first message) and are append-only: an `incremental` run writes only captures that no
 *   earlier run of this directory wrote (the state file lists them), as new files `part-<runId>-<uuid>`.
 * - Catalog tables (runs, calibrations) are snapshots, rewritten on every run; runs and calibrations are
 *   partitioned `date=…`.
 * - A table whose catalog source does not exist (an older catalog, a module not migrated yet) is left out;
 *   tables named `scene*` that this module does not know yet are exported as they are (columns from the
 *   catalog's own schema), so the scenes module's tables arrive without a change here.
 *
 * Plan, then execute: `planLakehouseExport` reads the state and the catalog's table list; the executor
 * streams rows page by page from the catalog into a file-backed DuckDB staging database (bounded memory),
 * copies them out as Parquet into a staging directory, and only then moves files into place and writes
 * the state, so a crash never leaves a half-run visible (orphans of a crashed run are removed next time).
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Catalog, CaptureRecord, JsonValue } from "../../catalog/index.ts";
import { isoFromNs, nowNs, StrataError } from "../../core/index.ts";
import type { SceneGraphStore } from "../../search/index.ts";
import { decodePoses, TRAJECTORY_INFO_COLUMNS } from "../registry/index.ts";
import { type Cell, type ColumnType, ParquetStaging, type StagedColumn } from "./parquet-duckdb.ts";

export const LAKEHOUSE_FORMAT = "strata.lakehouse";
/** Bumped when a column changes meaning or type; added tables and columns keep the version. */
export const LAKEHOUSE_SCHEMA_VERSION = 1;
export const LAKEHOUSE_MANIFEST_FILE = "_strata_lakehouse.json";
export const LAKEHOUSE_STATE_FILE = "_strata_lakehouse_state.json";
const STAGING_DIR = "_strata_staging";

/** Captures in these states are exported; `ingesting` and `failed` ones wait for a later run. */
const EXPORTED_STATUSES = ["ready", "quarantined"] as const;
const PAGE_ROWS = 500;

export interface LakehouseColumn extends StagedColumn {
  description: string;
}

export type LakehouseScope = "capture" | "catalog";
/** `site-date`: `site=…/date=…`; `date`: `date=…`; `none`: files directly in the table's directory. */
export type LakehousePartitioning = "site-date" | "date" | "none";

/** A row of a catalog-scoped table with the time that picks its `date=` partition. */
export interface CatalogRow {
  cells: Cell[];
  dateNs: bigint | null;
}

/** Where rows come from: the catalog, and the scene graphs (search index) when the caller has them. */
export interface LakehouseSource {
  catalog: Catalog;
  /** The scene-graph store of the search index; without it `scene_relations` is skipped. */
  sceneGraphs?: Pick<SceneGraphStore, "get">;
}

/** One lakehouse table: where its rows come from and what its columns mean. */
export interface LakehouseTable {
  name: string;
  description: string;
  scope: LakehouseScope;
  partitioning: LakehousePartitioning;
  /** Catalog tables that must exist for this table to be written. */
  requires: readonly string[];
  columns: readonly LakehouseColumn[];
  /** Capture scope: the rows of one capture, in column order. */
  rowsOfCapture?(source: LakehouseSource, capture: CaptureRecord): AsyncIterable<Cell[]>;
  /** Catalog scope: every row. */
  rows?(source: LakehouseSource): AsyncIterable<CatalogRow>;
}

// ---------------------------------------------------------------- loose access to catalog tables

/**
 * A structural view of the part of `catalog.db` (a Kysely instance) used for tables this module reads by
 * name, including tables added by later migrations that `CatalogDatabase` may not type yet.
 */
interface LooseQuery {
  selectAll(): LooseQuery;
  select(columns: readonly string[]): LooseQuery;
  where(column: string, op: string, value: unknown): LooseQuery;
  orderBy(column: string): LooseQuery;
  limit(rows: number): LooseQuery;
  execute(): Promise<Record<string, unknown>[]>;
}
interface LooseDb {
  selectFrom(table: string): LooseQuery;
  introspection: {
    getTables(): Promise<
      Array<{ name: string; schema?: string; columns: Array<{ name: string; dataType: string }> }>
    >;
  };
}
const looseDb = (catalog: Catalog): LooseDb => catalog.db as unknown as LooseDb;

async function guarded<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StrataError("STRATA_E_CATALOG", `${operation}: ${message}`, { operation }, { cause: error });
  }
}

/** Every row of `table` in key order, `PAGE_ROWS` at a time (keyset paging on one unique column). */
async function* pagedRows(
  catalog: Catalog,
  table: string,
  key: string,
  filter?: { column: string; value: unknown },
): AsyncIterable<Record<string, unknown>> {
  let after: unknown;
  for (;;) {
    const page = await guarded(`lakehouse read ${table}`, () => {
      let q = looseDb(catalog).selectFrom(table).selectAll();
      if (filter) q = q.where(filter.column, "=", filter.value);
      if (after !== undefined) q = q.where(key, ">", after);
      return q.orderBy(key).limit(PAGE_ROWS).execute();
    });
    yield* page;
    if (page.length < PAGE_ROWS) return;
    after = (page[page.length - 1] as Record<string, unknown>)[key];
  }
}

/** Rows of one capture in a capture-keyed table (small per capture). */
async function rowsOfCaptureIn(
  catalog: Catalog,
  table: string,
  captureId: string,
  orderBy: readonly string[],
): Promise<Record<string, unknown>[]> {
  return await guarded(`lakehouse read ${table}`, () => {
    let q = looseDb(catalog).selectFrom(table).selectAll().where("capture_id", "=", captureId);
    for (const column of orderBy) q = q.orderBy(column);
    return q.execute();
  });
}

// ---------------------------------------------------------------- cell helpers

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const int64 = (v: unknown): bigint | null =>
  v === null || v === undefined ? null : typeof v === "bigint" ? v : BigInt(Math.trunc(Number(v)));
const float64 = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const bool = (v: unknown): boolean | null =>
  v === null || v === undefined ? null : v === true || v === 1 || v === 1n || v === "1" || v === "true";
const secsBetween = (startNs: bigint | null, endNs: bigint | null): number | null =>
  startNs === null || endNs === null ? null : Number(endNs - startNs) / 1e9;

/** JSON text as stored (canonical), or null. */
const jsonText = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

const col = (name: string, type: ColumnType, description: string): LakehouseColumn => ({
  name,
  type,
  description,
});

const CAPTURE_ID = col(
  "capture_id",
  "VARCHAR",
  "The capture (`cap_` + 16 hex of its SHA-256); joins every capture table.",
);

// ---------------------------------------------------------------- the tables

function capturesTable(hasCalibrationLinks: boolean): LakehouseTable {
  return {
    name: "captures",
    description: "One row per capture (recording pass).",
    scope: "capture",
    partitioning: "site-date",
    requires: ["captures"],
    columns: [
      CAPTURE_ID,
      col("sha256", "VARCHAR", "SHA-256 of the capture's bytes (hex)."),
      col("format", "VARCHAR", "`mcap`, `ros1` or `ros2`."),
      col("size_bytes", "BIGINT", "Size of the stored bytes."),
      col("start_ns", "BIGINT", "First message log time, ns since the Unix epoch (null: no messages)."),
      col("end_ns", "BIGINT", "Last message log time, ns since the Unix epoch."),
      col("duration_secs", "DOUBLE", "end_ns − start_ns in seconds."),
      col("message_count", "BIGINT", "Messages in the capture."),
      col("rig", "VARCHAR", "The rig (robot / sensor set) that recorded it."),
      col("region", "VARCHAR", "Storage / residency region."),
      col("status", "VARCHAR", "`ready` or `quarantined` (held back by QA / contract)."),
      col("source_path", "VARCHAR", "Path the capture was ingested from."),
      col("ingested_at_ns", "BIGINT", "When it was ingested, ns since the Unix epoch."),
      col("calibration_id", "VARCHAR", "The calibration it was recorded with (joins `calibrations`)."),
      col("provenance_json", "VARCHAR", "Provenance (source system, operator, …) as JSON text."),
    ],
    async *rowsOfCapture({ catalog }, c) {
      let calibrationId: string | null = null;
      if (hasCalibrationLinks) {
        const link = await rowsOfCaptureIn(catalog, "capture_calibration", c.captureId, []);
        calibrationId = text(link[0]?.calibration_id);
      }
      yield [
        c.captureId,
        c.sha256,
        c.format,
        c.sizeBytes,
        c.startNs,
        c.endNs,
        secsBetween(c.startNs, c.endNs),
        c.messageCount,
        c.rig,
        c.region,
        c.status,
        c.sourcePath,
        c.ingestedAtNs,
        calibrationId,
        JSON.stringify(c.provenance),
      ];
    },
  };
}

const topicsTable: LakehouseTable = {
  name: "topics",
  description: "One row per topic of a capture: type, counts, time range and rate.",
  scope: "capture",
  partitioning: "site-date",
  requires: ["topics"],
  columns: [
    CAPTURE_ID,
    col("topic", "VARCHAR", "Topic name."),
    col("schema_name", "VARCHAR", "Message type (e.g. `sensor_msgs/msg/Imu`)."),
    col("message_encoding", "VARCHAR", "`cdr`, `ros1`, `json`, `protobuf`, …"),
    col("schema_hash", "VARCHAR", "Hash of the schema definition (joins the schema registry)."),
    col("message_count", "BIGINT", "Messages on the topic."),
    col("first_ns", "BIGINT", "First log time, ns since the Unix epoch."),
    col("last_ns", "BIGINT", "Last log time, ns since the Unix epoch."),
    col("mean_rate_hz", "DOUBLE", "Mean message rate, Hz."),
    col("max_gap_ns", "BIGINT", "Longest gap between consecutive messages, ns."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    for (const t of await catalog.listTopics(c.captureId)) {
      yield [
        t.captureId,
        t.topic,
        t.schemaName,
        t.messageEncoding,
        t.schemaHash,
        t.messageCount,
        t.firstNs,
        t.lastNs,
        t.meanRateHz,
        t.maxGapNs,
      ];
    }
  },
};

const trajectoriesTable: LakehouseTable = {
  name: "trajectories",
  description: "One row per ego-motion trajectory of a capture (TF, odometry, GNSS).",
  scope: "capture",
  partitioning: "site-date",
  requires: ["trajectories"],
  columns: [
    CAPTURE_ID,
    col("source", "VARCHAR", "Where it came from: `tf:odom->base_link`, `odom:/odom`, `gps:/gps/fix`."),
    col("frame", "VARCHAR", "Fixed frame the poses are in (`odom`, `map`, `enu`)."),
    col("child_frame", "VARCHAR", "Body frame (`base_link`)."),
    col("is_primary", "BOOLEAN", "The capture's preferred trajectory."),
    col("pose_count", "BIGINT", "Poses (rows in `trajectory_poses`)."),
    col("start_ns", "BIGINT", "First pose stamp, ns since the Unix epoch."),
    col("end_ns", "BIGINT", "Last pose stamp, ns since the Unix epoch."),
    col("length_m", "DOUBLE", "Path length, metres."),
    col("min_x_m", "DOUBLE", "Bounding box in `frame`, metres."),
    col("min_y_m", "DOUBLE", "Bounding box in `frame`, metres."),
    col("max_x_m", "DOUBLE", "Bounding box in `frame`, metres."),
    col("max_y_m", "DOUBLE", "Bounding box in `frame`, metres."),
    col("meta_json", "VARCHAR", "Extraction details as JSON text."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    const rows = await guarded("lakehouse read trajectories", () =>
      catalog.db
        .selectFrom("trajectories")
        .select(TRAJECTORY_INFO_COLUMNS)
        .where("capture_id", "=", c.captureId)
        .orderBy("source")
        .execute(),
    );
    for (const r of rows) {
      yield [
        r.capture_id,
        r.source,
        r.frame,
        r.child_frame,
        bool(r.is_primary),
        int64(r.pose_count),
        int64(r.start_ns),
        int64(r.end_ns),
        float64(r.length_m),
        float64(r.min_x),
        float64(r.min_y),
        float64(r.max_x),
        float64(r.max_y),
        jsonText(r.meta),
      ];
    }
  },
};

const trajectoryPosesTable: LakehouseTable = {
  name: "trajectory_poses",
  description:
    "Every pose of every trajectory: the body frame in the fixed frame (REP 103: x forward, y left, z up).",
  scope: "capture",
  partitioning: "site-date",
  requires: ["trajectories"],
  columns: [
    CAPTURE_ID,
    col("source", "VARCHAR", "The trajectory (joins `trajectories` on capture_id, source)."),
    col("frame", "VARCHAR", "Fixed frame of the pose."),
    col("child_frame", "VARCHAR", "Body frame of the pose."),
    col("stamp_ns", "BIGINT", "Pose time, ns since the Unix epoch."),
    col("x_m", "DOUBLE", "Position of the body frame in `frame`, metres."),
    col("y_m", "DOUBLE", "Position, metres."),
    col("z_m", "DOUBLE", "Position, metres."),
    col("qx", "DOUBLE", "Orientation `frameFromChild` as a unit quaternion (x, y, z, w)."),
    col("qy", "DOUBLE", "Quaternion y."),
    col("qz", "DOUBLE", "Quaternion z."),
    col("qw", "DOUBLE", "Quaternion w."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    // One trajectory's packed poses at a time.
    const sources = await guarded("lakehouse read trajectories", () =>
      catalog.db
        .selectFrom("trajectories")
        .select(["source"])
        .where("capture_id", "=", c.captureId)
        .orderBy("source")
        .execute(),
    );
    for (const { source } of sources) {
      const row = await guarded("lakehouse read trajectories", () =>
        catalog.db
          .selectFrom("trajectories")
          .select(["frame", "child_frame", "poses"])
          .where("capture_id", "=", c.captureId)
          .where("source", "=", source)
          .executeTakeFirst(),
      );
      if (!row) continue;
      const t = decodePoses(row.poses);
      const n = t.timestampsSecs.length;
      for (let i = 0; i < n; i++) {
        yield [
          c.captureId,
          source,
          row.frame,
          row.child_frame,
          t.timestampsNs?.[i] ?? null,
          t.positions[3 * i] as number,
          t.positions[3 * i + 1] as number,
          t.positions[3 * i + 2] as number,
          t.orientations[4 * i] as number,
          t.orientations[4 * i + 1] as number,
          t.orientations[4 * i + 2] as number,
          t.orientations[4 * i + 3] as number,
        ];
      }
    }
  },
};

const calibrationDriftTable: LakehouseTable = {
  name: "calibration_drift",
  description:
    "Extrinsic changes flagged in a capture (within the capture, or against the rig's accepted calibration).",
  scope: "capture",
  partitioning: "site-date",
  requires: ["calibration_drift"],
  columns: [
    CAPTURE_ID,
    col("ordinal", "BIGINT", "Position of the event in the capture."),
    col("kind", "VARCHAR", "`within-capture` or `vs-accepted`."),
    col("frame", "VARCHAR", "Child frame of the edge that moved."),
    col("parent_frame", "VARCHAR", "Parent frame of that edge."),
    col("at_ns", "BIGINT", "When, ns since the Unix epoch."),
    col("rotation_deg", "DOUBLE", "Rotation change, degrees."),
    col("translation_m", "DOUBLE", "Translation change, metres."),
    col("reference_calibration_id", "VARCHAR", "`vs-accepted`: the accepted calibration compared against."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    for (const r of await rowsOfCaptureIn(catalog, "calibration_drift", c.captureId, ["ordinal"])) {
      yield [
        c.captureId,
        int64(r.ordinal),
        text(r.kind),
        text(r.frame),
        text(r.parent_frame),
        int64(r.at_ns),
        float64(r.rotation_deg),
        float64(r.translation_m),
        text(r.reference_calibration_id),
      ];
    }
  },
};

const captureMetricsTable: LakehouseTable = {
  name: "capture_metrics",
  description: "Trajectory metrics (APE / RPE, evo-compatible) of a capture against a reference.",
  scope: "capture",
  partitioning: "site-date",
  requires: ["capture_metrics"],
  columns: [
    CAPTURE_ID,
    col("reference", "VARCHAR", "The reference trajectory (file, log or capture)."),
    col("estimate_source", "VARCHAR", "The capture's trajectory that was evaluated."),
    col("align", "VARCHAR", "Alignment: `none`, `se3`, `sim3`, …"),
    col("ape_pairs", "BIGINT", "Associated pose pairs for APE."),
    col("ape_rmse_m", "DOUBLE", "APE RMSE (translation), metres."),
    col("ape_mean_m", "DOUBLE", "APE mean, metres."),
    col("ape_median_m", "DOUBLE", "APE median, metres."),
    col("ape_std_m", "DOUBLE", "APE standard deviation, metres."),
    col("ape_max_m", "DOUBLE", "APE maximum, metres."),
    col("rpe_pairs", "BIGINT", "Pose pairs for RPE."),
    col("rpe_rmse", "DOUBLE", "RPE RMSE (unit as in params_json: metres or degrees)."),
    col("rpe_mean", "DOUBLE", "RPE mean."),
    col("rpe_max", "DOUBLE", "RPE maximum."),
    col("scale", "DOUBLE", "Sim(3) scale, when aligned with scale."),
    col("params_json", "VARCHAR", "Metric parameters as JSON text."),
    col("computed_at_ns", "BIGINT", "When, ns since the Unix epoch."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    for (const r of await rowsOfCaptureIn(catalog, "capture_metrics", c.captureId, ["reference"])) {
      yield [
        c.captureId,
        text(r.reference),
        text(r.estimate_source),
        text(r.align),
        int64(r.ape_pairs),
        float64(r.ape_rmse),
        float64(r.ape_mean),
        float64(r.ape_median),
        float64(r.ape_std),
        float64(r.ape_max),
        int64(r.rpe_pairs),
        float64(r.rpe_rmse),
        float64(r.rpe_mean),
        float64(r.rpe_max),
        float64(r.scale),
        jsonText(r.params),
        int64(r.computed_at_ns),
      ];
    }
  },
};

const qaResultsTable: LakehouseTable = {
  name: "qa_results",
  description: "QA verdicts: one row per QA run over a capture.",
  scope: "capture",
  partitioning: "site-date",
  requires: ["qa_results"],
  columns: [
    col("run_id", "VARCHAR", "The QA run (joins `runs`)."),
    CAPTURE_ID,
    col("verdict", "VARCHAR", "The verdict (`pass`, `warn`, `fail`, …)."),
    col("reasons_json", "VARCHAR", "Reasons for the verdict as JSON text."),
    col("plan_json", "VARCHAR", "What was checked (sampling plan) as JSON text."),
    col("coverage_json", "VARCHAR", "What was decoded as JSON text."),
    col("policy_json", "VARCHAR", "The QA policy applied as JSON text."),
    col("drift_source", "VARCHAR", "Where the calibration drift input came from."),
    col("created_at_ns", "BIGINT", "When, ns since the Unix epoch."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    for (const r of await rowsOfCaptureIn(catalog, "qa_results", c.captureId, ["created_at_ns", "run_id"])) {
      yield [
        text(r.run_id),
        c.captureId,
        text(r.verdict),
        jsonText(r.reasons),
        jsonText(r.plan),
        jsonText(r.coverage),
        jsonText(r.policy),
        text(r.drift_source),
        int64(r.created_at_ns),
      ];
    }
  },
};

const contractChecksTable: LakehouseTable = {
  name: "contract_checks",
  description: "Data-contract checks of a capture: passed or the violations.",
  scope: "capture",
  partitioning: "site-date",
  requires: ["contract_checks"],
  columns: [
    col("check_id", "VARCHAR", "The check."),
    CAPTURE_ID,
    col("contract_name", "VARCHAR", "Contract name."),
    col("contract_version", "VARCHAR", "Contract version."),
    col("run_id", "VARCHAR", "The run that checked (joins `runs`)."),
    col("passed", "BOOLEAN", "true when the capture met the contract."),
    col("violations_json", "VARCHAR", "Violations as JSON text."),
    col("checked_at_ns", "BIGINT", "When, ns since the Unix epoch."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    for (const r of await rowsOfCaptureIn(catalog, "contract_checks", c.captureId, ["check_id"])) {
      yield [
        text(r.check_id),
        c.captureId,
        text(r.contract_name),
        text(r.contract_version),
        text(r.run_id),
        bool(r.passed),
        jsonText(r.violations),
        int64(r.checked_at_ns),
      ];
    }
  },
};

const runsTable: LakehouseTable = {
  name: "runs",
  description:
    "Lineage: every transformation run (ingest, QA, datasets, exports, …) with inputs, outputs, parameters and code version.",
  scope: "catalog",
  partitioning: "date",
  requires: ["runs"],
  columns: [
    col("run_id", "VARCHAR", "The run."),
    col("kind", "VARCHAR", "`ingest`, `qa`, `dataset`, `export.parquet`, …"),
    col("status", "VARCHAR", "`running`, `completed` or `failed`."),
    col("inputs_json", "VARCHAR", "Inputs (captures, blobs, versions, …) as JSON text."),
    col("outputs_json", "VARCHAR", "Outputs as JSON text."),
    col("params_json", "VARCHAR", "Parameters as JSON text."),
    col("code_version", "VARCHAR", "Code version (`strata@x.y.z+gitsha`)."),
    col("started_at_ns", "BIGINT", "Start, ns since the Unix epoch (its UTC day is the `date` partition)."),
    col("ended_at_ns", "BIGINT", "End, ns since the Unix epoch (null while running)."),
    col("duration_secs", "DOUBLE", "ended_at_ns − started_at_ns in seconds."),
    col("error_json", "VARCHAR", "The error of a failed run as JSON text."),
  ],
  async *rows({ catalog }) {
    for await (const r of pagedRows(catalog, "runs", "run_id")) {
      const startedAtNs = int64(r.started_at_ns);
      const endedAtNs = int64(r.ended_at_ns);
      yield {
        dateNs: startedAtNs,
        cells: [
          text(r.run_id),
          text(r.kind),
          text(r.status),
          jsonText(r.inputs),
          jsonText(r.outputs),
          jsonText(r.params),
          text(r.code_version),
          startedAtNs,
          endedAtNs,
          secsBetween(startedAtNs, endedAtNs),
          jsonText(r.error),
        ],
      };
    }
  },
};

function calibrationsTable(hasRigVersions: boolean): LakehouseTable {
  return {
    name: "calibrations",
    description: "Calibrations (camera intrinsics and extrinsics), versioned per rig.",
    scope: "catalog",
    partitioning: "date",
    requires: ["calibrations"],
    columns: [
      col(
        "calibration_id",
        "VARCHAR",
        "`cal_` + 16 hex of content_sha256 (joins `captures.calibration_id`).",
      ),
      col("content_sha256", "VARCHAR", "SHA-256 of the canonical calibration values."),
      col("rig", "VARCHAR", "The rig it was first seen with."),
      col("version", "BIGINT", "Version number within the rig (1, 2, …)."),
      col("accepted", "BOOLEAN", "Accepted by a person for the rig."),
      col("source", "VARCHAR", "`capture` (extracted at ingest) or `import`."),
      col("source_ref", "VARCHAR", "The capture id or imported file."),
      col(
        "recorded_at_ns",
        "BIGINT",
        "When it was in effect, ns since the Unix epoch (its UTC day is `date`).",
      ),
      col("created_at_ns", "BIGINT", "When it was stored, ns since the Unix epoch."),
      col("camera_count", "BIGINT", "Cameras in it."),
      col("extrinsic_count", "BIGINT", "Extrinsic transforms in it."),
      col("cameras_json", "VARCHAR", "Cameras (model, width, height, K, D, R, P, topic) as JSON text."),
      col(
        "extrinsics_json",
        "VARCHAR",
        "Extrinsics `parentFromChild` (translation m, rotation xyzw) as JSON text.",
      ),
    ],
    async *rows({ catalog }) {
      for await (const r of pagedRows(catalog, "calibrations", "calibration_id")) {
        let version: bigint | null = null;
        let accepted: boolean | null = null;
        if (hasRigVersions && r.rig !== null) {
          const link = await guarded("lakehouse read rig_calibrations", () =>
            looseDb(catalog)
              .selectFrom("rig_calibrations")
              .selectAll()
              .where("calibration_id", "=", r.calibration_id)
              .where("rig", "=", r.rig)
              .execute(),
          );
          version = int64(link[0]?.version);
          accepted = link[0] ? bool(link[0].accepted) : null;
        }
        const body = JSON.parse(String(r.body)) as { cameras?: unknown[]; extrinsics?: unknown[] };
        const recordedAtNs = int64(r.recorded_at_ns);
        yield {
          dateNs: recordedAtNs,
          cells: [
            text(r.calibration_id),
            text(r.content_sha256),
            text(r.rig),
            version,
            accepted,
            text(r.source),
            text(r.source_ref),
            recordedAtNs,
            int64(r.created_at_ns),
            BigInt(body.cameras?.length ?? 0),
            BigInt(body.extrinsics?.length ?? 0),
            JSON.stringify(body.cameras ?? []),
            JSON.stringify(body.extrinsics ?? []),
          ],
        };
      }
    },
  };
}

/** A scene's `features` JSON: `{features: {name: value}, egoSource, …}` (pipelines/scenes). */
function sceneFeaturesOf(json: unknown): {
  features: Record<string, unknown>;
  meta: Record<string, unknown>;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(json));
  } catch {
    return { features: {}, meta: {} };
  }
  if (typeof parsed !== "object" || parsed === null) return { features: {}, meta: {} };
  const { features, ...meta } = parsed as Record<string, unknown>;
  return {
    features: typeof features === "object" && features !== null ? (features as Record<string, unknown>) : {},
    meta,
  };
}

function tagsOf(json: unknown): string[] {
  try {
    const tags = JSON.parse(String(json)) as unknown;
    return Array.isArray(tags) ? tags.map(String) : [];
  } catch {
    return [];
  }
}

const SCENE_ID = col("scene_id", "VARCHAR", "The scene (a time window of a capture).");

const scenesTable: LakehouseTable = {
  name: "scenes",
  description: "Scenes: time windows of a capture (fixed grid or aligned to an event) with their tags.",
  scope: "capture",
  partitioning: "site-date",
  requires: ["scenes"],
  columns: [
    SCENE_ID,
    CAPTURE_ID,
    col("start_ns", "BIGINT", "Window start, ns since the Unix epoch (inclusive)."),
    col("end_ns", "BIGINT", "Window end, ns since the Unix epoch."),
    col("duration_secs", "DOUBLE", "end_ns − start_ns in seconds."),
    col("kind", "VARCHAR", "`fixed` (segmentation grid) or `event` (aligned to a detected event)."),
    col("tags", "VARCHAR[]", "Tags (e.g. `night`, `hard_brake`)."),
    col("ego_source", "VARCHAR", "The trajectory the ego features came from."),
    col(
      "meta_json",
      "VARCHAR",
      "Other scene metadata (aligned events, relation and agent counts) as JSON text.",
    ),
    col("run_id", "VARCHAR", "The `scenes` run that wrote it (joins `runs`)."),
    col("created_at_ns", "BIGINT", "When, ns since the Unix epoch."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    for (const r of await rowsOfCaptureIn(catalog, "scenes", c.captureId, ["start_ns", "scene_id"])) {
      const startNs = int64(r.start_ns);
      const endNs = int64(r.end_ns);
      const { meta } = sceneFeaturesOf(r.features);
      const { egoSource, ...rest } = meta;
      yield [
        text(r.scene_id),
        c.captureId,
        startNs,
        endNs,
        secsBetween(startNs, endNs),
        text(r.kind),
        tagsOf(r.tags),
        typeof egoSource === "string" ? egoSource : null,
        JSON.stringify(rest),
        text(r.run_id),
        int64(r.created_at_ns),
      ];
    }
  },
};

const sceneFeaturesTable: LakehouseTable = {
  name: "scene_features",
  description:
    "Scene features in long form: one row per (scene, feature), so new features add rows, not columns.",
  scope: "capture",
  partitioning: "site-date",
  requires: ["scenes"],
  columns: [
    SCENE_ID,
    CAPTURE_ID,
    col(
      "feature",
      "VARCHAR",
      "Feature name as the scenes module names it (units in the name: `speedMeanMps`, `nearestAgentM`, …).",
    ),
    col(
      "value",
      "DOUBLE",
      "Numeric value (booleans as 0/1; null when the feature is undefined for the scene).",
    ),
    col("value_text", "VARCHAR", "Text value, for non-numeric features."),
  ],
  async *rowsOfCapture({ catalog }, c) {
    for (const r of await rowsOfCaptureIn(catalog, "scenes", c.captureId, ["start_ns", "scene_id"])) {
      const { features } = sceneFeaturesOf(r.features);
      for (const name of Object.keys(features).sort()) {
        const v = features[name];
        const numeric = typeof v === "number" ? v : typeof v === "boolean" ? (v ? 1 : 0) : null;
        const textual =
          v === null || v === undefined || numeric !== null
            ? null
            : typeof v === "string"
              ? v
              : JSON.stringify(v);
        yield [text(r.scene_id), c.captureId, name, numeric, textual];
      }
    }
  },
};

const sceneRelationsTable: LakehouseTable = {
  name: "scene_relations",
  description: "Scene-graph relations: who is ahead_of / crossing_path / within … of whom, and when.",
  scope: "capture",
  partitioning: "site-date",
  requires: ["scenes"],
  columns: [
    SCENE_ID,
    CAPTURE_ID,
    col("subject_node_id", "VARCHAR", "Subject node (`ego`, or `class/trackId`)."),
    col("subject_class", "VARCHAR", "Subject class (`ego`, `car`, `pedestrian`, …)."),
    col("subject_track_id", "VARCHAR", "Subject's tracker id (null for the ego)."),
    col(
      "relation",
      "VARCHAR",
      "`ahead_of`, `behind`, `left_of`, `right_of`, `crossing_path`, `approaching`, `following`, `within_Xm`.",
    ),
    col("object_node_id", "VARCHAR", "Object node."),
    col("object_class", "VARCHAR", "Object class."),
    col("object_track_id", "VARCHAR", "Object's tracker id (null for the ego)."),
    col("start_ns", "BIGINT", "Span start, ns since the Unix epoch."),
    col("end_ns", "BIGINT", "Span end, ns since the Unix epoch."),
    col("min_distance_m", "DOUBLE", "Smallest footprint gap during the span, metres."),
  ],
  async *rowsOfCapture({ catalog, sceneGraphs }, c) {
    if (!sceneGraphs) return;
    const scenes = await guarded("lakehouse read scenes", () =>
      catalog.db
        .selectFrom("scenes")
        .select(["scene_id"])
        .where("capture_id", "=", c.captureId)
        .orderBy("start_ns")
        .orderBy("scene_id")
        .execute(),
    );
    for (const { scene_id: sceneId } of scenes) {
      const graph = await sceneGraphs.get(sceneId);
      if (!graph) continue;
      const nodes = new Map(graph.nodes.map((n) => [n.nodeId, n]));
      for (const r of graph.relations) {
        const subject = nodes.get(r.subjectNodeId);
        const object = nodes.get(r.objectNodeId);
        yield [
          sceneId,
          c.captureId,
          r.subjectNodeId,
          subject?.agentClass ?? null,
          subject?.trackId ?? null,
          r.relation,
          r.objectNodeId,
          object?.agentClass ?? null,
          object?.trackId ?? null,
          r.startNs,
          r.endNs,
          r.minDistanceM,
        ];
      }
    }
  },
};

/** Known tables, in the order they are written. */
function knownTables(present: ReadonlySet<string>, withSceneGraphs: boolean): LakehouseTable[] {
  return [
    capturesTable(present.has("capture_calibration")),
    topicsTable,
    trajectoriesTable,
    trajectoryPosesTable,
    calibrationDriftTable,
    captureMetricsTable,
    qaResultsTable,
    contractChecksTable,
    scenesTable,
    sceneFeaturesTable,
    ...(withSceneGraphs ? [sceneRelationsTable] : []),
    calibrationsTable(present.has("rig_calibrations")),
    runsTable,
  ];
}

/** Prefix of catalog tables exported as they are when no known table covers them (scenes, migration 005). */
const GENERIC_PREFIXES = ["scene"];

function columnTypeOf(dataType: string): ColumnType {
  const t = dataType.toLowerCase();
  if (t.includes("int")) return "BIGINT";
  if (t.includes("real") || t.includes("double") || t.includes("float") || t.includes("numeric"))
    return "DOUBLE";
  if (t.includes("bool")) return "BOOLEAN";
  if (t.includes("blob") || t.includes("bytea")) return "BLOB";
  return "VARCHAR";
}

function cellOf(type: ColumnType, v: unknown): Cell {
  if (v === null || v === undefined) return null;
  switch (type) {
    case "BIGINT":
      return int64(v);
    case "DOUBLE":
      return float64(v);
    case "BOOLEAN":
      return bool(v);
    case "BLOB":
      return v instanceof Uint8Array ? v : null;
    default:
      return typeof v === "string"
        ? v
        : JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
  }
}

/** A table exported with the catalog's own columns (capture scope when it has `capture_id`). */
function genericTable(
  name: string,
  columns: ReadonlyArray<{ name: string; dataType: string }>,
): LakehouseTable {
  const typed = columns.map((c) =>
    col(c.name, columnTypeOf(c.dataType), `As in the catalog table \`${name}\`.`),
  );
  const byCapture = columns.some((c) => c.name === "capture_id");
  const key = columns[0]?.name ?? "capture_id";
  const toCells = (r: Record<string, unknown>): Cell[] => typed.map((c) => cellOf(c.type, r[c.name]));
  return byCapture
    ? {
        name,
        description: `The catalog table \`${name}\`, exported with its own columns.`,
        scope: "capture",
        partitioning: "site-date",
        requires: [name],
        columns: typed,
        async *rowsOfCapture({ catalog }, c) {
          for (const r of await rowsOfCaptureIn(catalog, name, c.captureId, [key])) yield toCells(r);
        },
      }
    : {
        name,
        description: `The catalog table \`${name}\`, exported with its own columns.`,
        scope: "catalog",
        partitioning: "none",
        requires: [name],
        columns: typed,
        async *rows({ catalog }) {
          for await (const r of pagedRows(catalog, name, key)) yield { cells: toCells(r), dateNs: null };
        },
      };
}

// ---------------------------------------------------------------- manifest and state

export interface LakehouseTableManifest {
  name: string;
  description: string;
  scope: LakehouseScope;
  partitionBy: string[];
  columns: LakehouseColumn[];
  /** Rows in the directory after the run (capture tables: all runs so far). */
  rows: number;
}

export interface LakehouseManifest {
  format: typeof LAKEHOUSE_FORMAT;
  schemaVersion: number;
  /** The run that wrote the directory last. */
  runId: string;
  writtenAtNs: string;
  tables: LakehouseTableManifest[];
}

export interface LakehouseState {
  format: "strata.lakehouse.state";
  schemaVersion: number;
  /** Runs that completed, oldest first. */
  runs: Array<{ runId: string; finishedAtNs: string; incremental: boolean; captures: number }>;
  /** Every capture written so far. */
  captureIds: string[];
  /** Rows per capture table so far. */
  rows: Record<string, number>;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, "utf8")) as T;
  } catch (cause) {
    throw new StrataError("STRATA_E_CONFLICT", `cannot read ${file}`, { file }, { cause });
  }
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

// ---------------------------------------------------------------- plan

export interface LakehouseExportRequest {
  /** The lakehouse directory: new, empty, or written by an earlier export. */
  outDir: string;
  /** Only captures no earlier run of `outDir` wrote (default false: rewrite everything). */
  incremental?: boolean;
  /** Names the files of this run (`part-<runId>-<uuid>.parquet`); the lineage run id. */
  runId: string;
}

export interface LakehousePlan {
  outDir: string;
  runId: string;
  mode: "full" | "incremental";
  /** Tables written, in order (those whose catalog source is missing are not listed). */
  tables: LakehouseTable[];
  /** Catalog tables that were looked for but are absent (their lakehouse tables are skipped). */
  skipped: Array<{ table: string; missing: string[] }>;
  previous: LakehouseState | undefined;
}

/** Reads the directory's state and the catalog's table list; writes nothing. */
export async function planLakehouseExport(
  source: LakehouseSource,
  request: LakehouseExportRequest,
): Promise<LakehousePlan> {
  const { catalog } = source;
  const outDir = path.resolve(request.outDir);
  const previous = await readJson<LakehouseState>(path.join(outDir, LAKEHOUSE_STATE_FILE));
  if (existsSync(outDir)) {
    const info = await stat(outDir);
    if (!info.isDirectory()) throw new StrataError("STRATA_E_USAGE", `${outDir} is not a directory`);
    const entries = (await readdir(outDir)).filter((e) => e !== STAGING_DIR);
    if (entries.length > 0 && previous === undefined) {
      throw new StrataError(
        "STRATA_E_CONFLICT",
        `${outDir} is not empty and holds no Strata lakehouse (${LAKEHOUSE_STATE_FILE} is missing)`,
        { file: outDir },
        { hint: "Give a new or empty directory, or one an earlier `strata export parquet` wrote." },
      );
    }
  }
  if (previous && previous.format !== "strata.lakehouse.state") {
    throw new StrataError(
      "STRATA_E_CONFLICT",
      `${LAKEHOUSE_STATE_FILE} in ${outDir} is not a lakehouse state`,
    );
  }
  const incremental = request.incremental === true && previous !== undefined;
  if (incremental && previous.schemaVersion !== LAKEHOUSE_SCHEMA_VERSION) {
    throw new StrataError(
      "STRATA_E_CONFLICT",
      `${outDir} has lakehouse schema version ${previous.schemaVersion}; this Strata writes ${LAKEHOUSE_SCHEMA_VERSION}`,
      { file: outDir },
      { hint: "Run without --incremental once to rewrite the directory in the current schema." },
    );
  }

  const catalogTables = await guarded("lakehouse list tables", () =>
    looseDb(catalog).introspection.getTables(),
  );
  const present = new Set(catalogTables.map((t) => t.name));
  const tables: LakehouseTable[] = [];
  const skipped: LakehousePlan["skipped"] = [];
  for (const table of knownTables(present, source.sceneGraphs !== undefined)) {
    const missing = table.requires.filter((r) => !present.has(r));
    if (missing.length === 0) tables.push(table);
    else skipped.push({ table: table.name, missing });
  }
  if (source.sceneGraphs === undefined)
    skipped.push({ table: "scene_relations", missing: ["scene-graph store"] });
  const known = new Set(tables.map((t) => t.name));
  const seen = new Set<string>();
  for (const t of [...catalogTables].sort((a, b) => a.name.localeCompare(b.name))) {
    if (seen.has(t.name) || known.has(t.name)) continue;
    seen.add(t.name);
    if (GENERIC_PREFIXES.some((p) => t.name.startsWith(p)) && t.columns.length > 0) {
      tables.push(genericTable(t.name, t.columns));
    }
  }
  return {
    outDir,
    runId: request.runId,
    mode: incremental ? "incremental" : "full",
    tables,
    skipped,
    previous: incremental ? previous : undefined,
  };
}

/** A JSON view of a plan (for `--explain` and lineage params). */
export function describeLakehousePlan(plan: LakehousePlan): {
  outDir: string;
  mode: string;
  tables: Array<{ name: string; scope: string; partitionBy: string[]; columns: number }>;
  skipped: Array<{ table: string; missing: string[] }>;
  capturesAlreadyExported: number;
} {
  return {
    outDir: plan.outDir,
    mode: plan.mode,
    tables: plan.tables.map((t) => ({
      name: t.name,
      scope: t.scope,
      partitionBy: partitionColumns(t.partitioning),
      columns: t.columns.length,
    })),
    skipped: plan.skipped,
    capturesAlreadyExported: plan.previous?.captureIds.length ?? 0,
  };
}

function partitionColumns(p: LakehousePartitioning): string[] {
  return p === "site-date" ? ["site", "date"] : p === "date" ? ["date"] : [];
}

// ---------------------------------------------------------------- execute

export interface LakehouseExportResult {
  outDir: string;
  runId: string;
  mode: "full" | "incremental";
  /** Captures written by this run. */
  captureIds: string[];
  tables: Array<{ name: string; rowsWritten: number; rowsTotal: number; files: number }>;
  manifest: LakehouseManifest;
}

/** The UTC day (`YYYY-MM-DD`) of a time in ns, the `date=` partition value. */
export function partitionDate(ns: bigint | null): string | null {
  return ns === null ? null : isoFromNs(ns).slice(0, 10);
}

async function* newCaptures(
  catalog: Catalog,
  exported: ReadonlySet<string>,
  bounds: { maxIngestedAtNs: bigint },
): AsyncIterable<CaptureRecord> {
  let after: string | undefined;
  for (;;) {
    const page = await guarded("lakehouse read captures", () => {
      let q = catalog.db
        .selectFrom("captures")
        .selectAll()
        .where("status", "in", [...EXPORTED_STATUSES])
        .where("ingested_at_ns", "<=", bounds.maxIngestedAtNs);
      if (after !== undefined) q = q.where("capture_id", ">", after);
      return q.orderBy("capture_id").limit(PAGE_ROWS).execute();
    });
    for (const r of page) {
      if (exported.has(r.capture_id)) continue;
      yield {
        captureId: r.capture_id,
        sha256: r.sha256,
        format: r.format,
        sizeBytes: BigInt(r.size_bytes),
        startNs: int64(r.start_ns),
        endNs: int64(r.end_ns),
        messageCount: BigInt(r.message_count),
        rig: r.rig,
        site: r.site,
        region: r.region,
        status: r.status as CaptureRecord["status"],
        sourcePath: r.source_path,
        ingestedAtNs: BigInt(r.ingested_at_ns),
        provenance: JSON.parse(r.provenance) as CaptureRecord["provenance"],
      };
    }
    if (page.length < PAGE_ROWS) return;
    after = (page[page.length - 1] as { capture_id: string }).capture_id;
  }
}

/** Files under `dir` (recursively), relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) =>
      path.relative(dir, path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)),
    );
}

const RUN_OF_FILE =
  /^part-(.+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.parquet$|^part-(.+)\.parquet$/;

/** Streams the planned tables into Parquet under the plan's directory and records the state. */
export async function executeLakehouseExport(
  plan: LakehousePlan,
  source: LakehouseSource,
): Promise<LakehouseExportResult> {
  const { catalog } = source;
  const { outDir, runId } = plan;
  if (!/^[A-Za-z0-9_]+$/.test(runId)) {
    throw new StrataError("STRATA_E_USAGE", `run id ${JSON.stringify(runId)} must be letters, digits and _`);
  }
  await mkdir(outDir, { recursive: true });
  const stagingRoot = path.join(outDir, STAGING_DIR);
  await rm(stagingRoot, { recursive: true, force: true }); // leftovers of a crashed run
  const stagedOut = path.join(stagingRoot, "tables");
  const staging = await ParquetStaging.open({ dir: path.join(stagingRoot, "duckdb") });

  const previous = plan.previous;
  const exported = new Set(previous?.captureIds ?? []);
  // Captures ingested while this run reads are left to the next run, so the state stays exact.
  const bounds = { maxIngestedAtNs: nowNs() };
  const writtenCaptureIds: string[] = [];
  const rowsWritten = new Map<string, number>();
  try {
    const captureTables = plan.tables.filter((t) => t.scope === "capture");
    const catalogTables = plan.tables.filter((t) => t.scope === "catalog");

    const staged = new Map<string, Awaited<ReturnType<ParquetStaging["table"]>>>();
    for (const table of captureTables) {
      staged.set(
        table.name,
        await staging.table(`t_${table.name}`, [
          ...table.columns,
          { name: "site", type: "VARCHAR" },
          { name: "date", type: "VARCHAR" },
        ]),
      );
    }
    // One pass over the new captures; each table stages that capture's rows (only ids stay in memory).
    for await (const capture of newCaptures(catalog, exported, bounds)) {
      const site = capture.site;
      const date = partitionDate(capture.startNs ?? capture.ingestedAtNs);
      for (const table of captureTables) {
        const target = staged.get(table.name);
        if (!target || !table.rowsOfCapture) continue;
        for await (const cells of table.rowsOfCapture(source, capture)) target.append([...cells, site, date]);
      }
      writtenCaptureIds.push(capture.captureId);
    }
    for (const table of captureTables) {
      const target = staged.get(table.name);
      if (!target) continue;
      rowsWritten.set(table.name, target.rowCount);
      if (target.rowCount > 0) {
        await target.copyTo({
          to: path.join(stagedOut, table.name),
          partitionBy: ["site", "date"],
          filenamePattern: `part-${runId}-{uuid}`,
          select: table.columns.map((c) => c.name),
        });
      }
      await target.drop();
    }
    for (const table of catalogTables) {
      const partitions = partitionColumns(table.partitioning);
      const target = await staging.table(`t_${table.name}`, [
        ...table.columns,
        ...partitions.map((name) => ({ name, type: "VARCHAR" as const })),
      ]);
      if (table.rows) {
        for await (const row of table.rows(source)) {
          target.append(partitions.length > 0 ? [...row.cells, partitionDate(row.dateNs)] : row.cells);
        }
      }
      rowsWritten.set(table.name, target.rowCount);
      if (target.rowCount > 0) {
        const to = path.join(stagedOut, table.name);
        if (partitions.length > 0) {
          await target.copyTo({
            to,
            partitionBy: partitions,
            filenamePattern: `part-${runId}-{uuid}`,
            select: table.columns.map((c) => c.name),
          });
        } else {
          await target.copyTo({ to: path.join(to, `part-${runId}-${randomUUID()}.parquet`) });
        }
      }
      await target.drop();
    }
  } catch (error) {
    await staging.close().catch(() => undefined);
    await rm(stagingRoot, { recursive: true, force: true });
    throw error;
  }
  await staging.close();

  // Commit: remove what this run replaces, move the staged files in, then write the manifest and state.
  const committedRuns = new Set(previous?.runs.map((r) => r.runId) ?? []);
  const fileCounts = new Map<string, number>();
  const oldManifest = await readJson<LakehouseManifest>(path.join(outDir, LAKEHOUSE_MANIFEST_FILE));
  const replaced = new Set<string>(oldManifest?.tables.map((t) => t.name) ?? []);
  for (const table of plan.tables) replaced.add(table.name);
  for (const name of replaced) {
    const table = plan.tables.find((t) => t.name === name);
    const dir = path.join(outDir, name);
    if (plan.mode === "incremental" && table?.scope === "capture") {
      // Append-only: drop only orphans of runs that never committed.
      for (const file of await filesUnder(dir)) {
        const match = RUN_OF_FILE.exec(path.basename(file));
        const fileRun = match?.[1] ?? match?.[2];
        if (fileRun !== undefined && !committedRuns.has(fileRun))
          await rm(path.join(dir, file), { force: true });
      }
    } else {
      await rm(dir, { recursive: true, force: true });
    }
  }
  for (const table of plan.tables) {
    const from = path.join(stagedOut, table.name);
    const files = await filesUnder(from);
    for (const file of files) {
      const target = path.join(outDir, table.name, file);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(path.join(from, file), target);
    }
    fileCounts.set(table.name, (await filesUnder(path.join(outDir, table.name))).length);
  }
  await rm(stagingRoot, { recursive: true, force: true });

  const priorRows = plan.mode === "incremental" ? (previous?.rows ?? {}) : {};
  const rowsTotal = (t: LakehouseTable): number =>
    (t.scope === "capture" ? (priorRows[t.name] ?? 0) : 0) + (rowsWritten.get(t.name) ?? 0);
  const writtenAtNs = nowNs();
  const manifest: LakehouseManifest = {
    format: LAKEHOUSE_FORMAT,
    schemaVersion: LAKEHOUSE_SCHEMA_VERSION,
    runId,
    writtenAtNs: writtenAtNs.toString(),
    tables: plan.tables.map((t) => ({
      name: t.name,
      description: t.description,
      scope: t.scope,
      partitionBy: partitionColumns(t.partitioning),
      columns: t.columns.map((c) => ({ ...c })),
      rows: rowsTotal(t),
    })),
  };
  const state: LakehouseState = {
    format: "strata.lakehouse.state",
    schemaVersion: LAKEHOUSE_SCHEMA_VERSION,
    runs: [
      ...(plan.mode === "incremental" ? (previous?.runs ?? []) : []),
      {
        runId,
        finishedAtNs: writtenAtNs.toString(),
        incremental: plan.mode === "incremental",
        captures: writtenCaptureIds.length,
      },
    ],
    captureIds: [...(plan.mode === "incremental" ? (previous?.captureIds ?? []) : []), ...writtenCaptureIds],
    rows: Object.fromEntries(
      plan.tables.filter((t) => t.scope === "capture").map((t) => [t.name, rowsTotal(t)]),
    ),
  };
  await writeJsonAtomic(path.join(outDir, LAKEHOUSE_MANIFEST_FILE), manifest);
  await writeJsonAtomic(path.join(outDir, LAKEHOUSE_STATE_FILE), state);
  return {
    outDir,
    runId,
    mode: plan.mode,
    captureIds: writtenCaptureIds,
    tables: plan.tables.map((t) => ({
      name: t.name,
      rowsWritten: rowsWritten.get(t.name) ?? 0,
      rowsTotal: rowsTotal(t),
      files: fileCounts.get(t.name) ?? 0,
    })),
    manifest,
  };
}

/** JSON-safe summary of a result for lineage outputs. */
export function lakehouseOutputs(result: LakehouseExportResult): JsonValue {
  return {
    path: result.outDir,
    format: "parquet",
    schemaVersion: LAKEHOUSE_SCHEMA_VERSION,
    mode: result.mode,
    captures: result.captureIds.length,
    tables: result.tables.map((t) => ({ name: t.name, rowsWritten: t.rowsWritten, rowsTotal: t.rowsTotal })),
  };
}
