import type { Kysely } from "kysely";
import { type CatalogMigration, columnTypes, type MigrationContext } from "./context.ts";

/**
 * The spatial registry (pipelines/registry): calibrations versioned per rig by content hash, the calibration
 * each capture was recorded with, calibration drift events, ego-motion trajectories (one row per trajectory,
 * poses packed in one binary column: see docs/decisions/0006-trajectory-storage.md) and trajectory metrics
 * (ATE/RPE) as filterable properties of captures. Rows that belong to a capture go with it (ON DELETE CASCADE).
 */
export const registry: CatalogMigration = {
  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
    const t = columnTypes(ctx);
    const bytes = ctx.dialect === "postgres" ? "bytea" : "blob";

    // Immutable, content-addressed: calibration_id = `cal_` + the first 16 hex of content_sha256.
    await db.schema
      .createTable("calibrations")
      .addColumn("calibration_id", "text", (c) => c.primaryKey())
      .addColumn("content_sha256", "text", (c) => c.notNull().unique())
      .addColumn("rig", "text")
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("source_ref", "text")
      .addColumn("recorded_at_ns", t.int64, (c) => c.notNull())
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .addColumn("body", t.json, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("rig_calibrations")
      .addColumn("rig", "text", (c) => c.notNull())
      .addColumn("calibration_id", "text", (c) => c.notNull().references("calibrations.calibration_id"))
      .addColumn("version", t.int64, (c) => c.notNull())
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .addColumn("accepted", t.int64, (c) => c.notNull().defaultTo(0))
      .addColumn("accepted_at_ns", t.int64)
      .addColumn("accepted_by", "text")
      .addPrimaryKeyConstraint("rig_calibrations_pk", ["rig", "calibration_id"])
      .addUniqueConstraint("rig_calibrations_version_uq", ["rig", "version"])
      .execute();

    await db.schema
      .createTable("capture_calibration")
      .addColumn("capture_id", "text", (c) =>
        c.primaryKey().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("calibration_id", "text", (c) => c.notNull().references("calibrations.calibration_id"))
      .execute();
    await db.schema
      .createIndex("capture_calibration_calibration_idx")
      .on("capture_calibration")
      .column("calibration_id")
      .execute();

    await db.schema
      .createTable("calibration_drift")
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("ordinal", t.int64, (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("frame", "text", (c) => c.notNull())
      .addColumn("parent_frame", "text", (c) => c.notNull())
      .addColumn("at_ns", t.int64, (c) => c.notNull())
      .addColumn("rotation_deg", t.float64, (c) => c.notNull())
      .addColumn("translation_m", t.float64, (c) => c.notNull())
      .addColumn("reference_calibration_id", "text")
      .addPrimaryKeyConstraint("calibration_drift_pk", ["capture_id", "ordinal"])
      .execute();

    await db.schema
      .createTable("trajectories")
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("frame", "text", (c) => c.notNull())
      .addColumn("child_frame", "text")
      .addColumn("is_primary", t.int64, (c) => c.notNull().defaultTo(0))
      .addColumn("pose_count", t.int64, (c) => c.notNull())
      .addColumn("start_ns", t.int64)
      .addColumn("end_ns", t.int64)
      .addColumn("length_m", t.float64, (c) => c.notNull())
      .addColumn("min_x", t.float64)
      .addColumn("min_y", t.float64)
      .addColumn("max_x", t.float64)
      .addColumn("max_y", t.float64)
      .addColumn("meta", t.json, (c) => c.notNull())
      .addColumn("poses", bytes, (c) => c.notNull())
      .addPrimaryKeyConstraint("trajectories_pk", ["capture_id", "source"])
      .execute();

    await db.schema
      .createTable("capture_metrics")
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("reference", "text", (c) => c.notNull())
      .addColumn("estimate_source", "text", (c) => c.notNull())
      .addColumn("align", "text", (c) => c.notNull())
      .addColumn("ape_pairs", t.int64, (c) => c.notNull())
      .addColumn("ape_rmse", t.float64, (c) => c.notNull())
      .addColumn("ape_mean", t.float64, (c) => c.notNull())
      .addColumn("ape_median", t.float64, (c) => c.notNull())
      .addColumn("ape_std", t.float64, (c) => c.notNull())
      .addColumn("ape_max", t.float64, (c) => c.notNull())
      .addColumn("rpe_pairs", t.int64, (c) => c.notNull())
      .addColumn("rpe_rmse", t.float64, (c) => c.notNull())
      .addColumn("rpe_mean", t.float64, (c) => c.notNull())
      .addColumn("rpe_max", t.float64, (c) => c.notNull())
      .addColumn("scale", t.float64)
      .addColumn("params", t.json, (c) => c.notNull())
      .addColumn("computed_at_ns", t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint("capture_metrics_pk", ["capture_id", "reference", "estimate_source"])
      .execute();
    await db.schema
      .createIndex("capture_metrics_ape_rmse_idx")
      .on("capture_metrics")
      .column("ape_rmse")
      .execute();
    await db.schema
      .createIndex("capture_metrics_rpe_rmse_idx")
      .on("capture_metrics")
      .column("rpe_rmse")
      .execute();
  },

  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async down(db: Kysely<any>): Promise<void> {
    for (const table of [
      "capture_metrics",
      "trajectories",
      "calibration_drift",
      "capture_calibration",
      "rig_calibrations",
      "calibrations",
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
