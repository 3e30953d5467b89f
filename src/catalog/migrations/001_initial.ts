import type { Kysely } from "kysely";
import { type CatalogMigration, columnTypes, type MigrationContext } from "./context.ts";

/** Captures and their files, topics and histograms; schemas; runs; the audit chain; API tokens. */
export const initial: CatalogMigration = {
  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
    const t = columnTypes(ctx);

    await db.schema
      .createTable("captures")
      .addColumn("capture_id", "text", (c) => c.primaryKey())
      .addColumn("sha256", "text", (c) => c.notNull().unique())
      .addColumn("format", "text", (c) => c.notNull())
      .addColumn("size_bytes", t.int64, (c) => c.notNull())
      .addColumn("start_ns", t.int64)
      .addColumn("end_ns", t.int64)
      .addColumn("message_count", t.int64, (c) => c.notNull().defaultTo(0))
      .addColumn("rig", "text")
      .addColumn("site", "text")
      .addColumn("region", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("source_path", "text")
      .addColumn("ingested_at_ns", t.int64, (c) => c.notNull())
      .addColumn("provenance", t.json, (c) => c.notNull().defaultTo("{}"))
      .execute();
    for (const column of ["site", "rig", "status", "ingested_at_ns"]) {
      await db.schema.createIndex(`captures_${column}_idx`).on("captures").column(column).execute();
    }

    await db.schema
      .createTable("capture_files")
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("ordinal", t.int64, (c) => c.notNull())
      .addColumn("path_in_capture", "text", (c) => c.notNull())
      .addColumn("sha256", "text", (c) => c.notNull())
      .addColumn("size_bytes", t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint("capture_files_pk", ["capture_id", "ordinal"])
      .execute();
    await db.schema.createIndex("capture_files_sha256_idx").on("capture_files").column("sha256").execute();

    await db.schema
      .createTable("topics")
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("topic", "text", (c) => c.notNull())
      .addColumn("schema_name", "text", (c) => c.notNull())
      .addColumn("message_encoding", "text", (c) => c.notNull())
      .addColumn("schema_hash", "text")
      .addColumn("message_count", t.int64, (c) => c.notNull())
      .addColumn("first_ns", t.int64)
      .addColumn("last_ns", t.int64)
      .addColumn("mean_rate_hz", t.float64)
      .addColumn("max_gap_ns", t.int64)
      .addPrimaryKeyConstraint("topics_pk", ["capture_id", "topic"])
      .execute();
    await db.schema.createIndex("topics_topic_idx").on("topics").column("topic").execute();
    await db.schema.createIndex("topics_schema_hash_idx").on("topics").column("schema_hash").execute();

    await db.schema
      .createTable("topic_histogram")
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("topic", "text", (c) => c.notNull())
      .addColumn("bucket_start_ns", t.int64, (c) => c.notNull())
      .addColumn("bucket_ns", t.int64, (c) => c.notNull())
      .addColumn("message_count", t.int64, (c) => c.notNull())
      .addPrimaryKeyConstraint("topic_histogram_pk", ["capture_id", "topic", "bucket_start_ns"])
      .execute();

    await db.schema
      .createTable("schemas")
      .addColumn("schema_hash", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("encoding", "text", (c) => c.notNull())
      .addColumn("definition", "text", (c) => c.notNull())
      .addColumn("first_capture_id", "text", (c) => c.references("captures.capture_id").onDelete("set null"))
      .addColumn("last_capture_id", "text", (c) => c.references("captures.capture_id").onDelete("set null"))
      .addColumn("first_seen_ns", t.int64, (c) => c.notNull())
      .execute();
    await db.schema.createIndex("schemas_name_idx").on("schemas").column("name").execute();

    await db.schema
      .createTable("runs")
      .addColumn("run_id", "text", (c) => c.primaryKey())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("inputs", t.json, (c) => c.notNull())
      .addColumn("outputs", t.json)
      .addColumn("params", t.json, (c) => c.notNull())
      .addColumn("code_version", "text", (c) => c.notNull())
      .addColumn("started_at_ns", t.int64, (c) => c.notNull())
      .addColumn("ended_at_ns", t.int64)
      .addColumn("error", t.json)
      .execute();
    await db.schema
      .createIndex("runs_kind_started_idx")
      .on("runs")
      .columns(["kind", "started_at_ns"])
      .execute();
    await db.schema.createIndex("runs_started_idx").on("runs").column("started_at_ns").execute();

    await db.schema
      .createTable("audit_events")
      .addColumn("seq", t.int64, (c) =>
        ctx.dialect === "postgres"
          ? c.primaryKey().generatedByDefaultAsIdentity()
          : c.primaryKey().autoIncrement(),
      )
      .addColumn("event_id", "text", (c) => c.notNull().unique())
      .addColumn("actor", "text", (c) => c.notNull())
      .addColumn("action", "text", (c) => c.notNull())
      .addColumn("target", "text", (c) => c.notNull())
      .addColumn("at_ns", t.int64, (c) => c.notNull())
      .addColumn("details", t.json, (c) => c.notNull())
      // Unique: two writers that read the same head cannot both extend it (the chain never forks).
      .addColumn("prev_hash", "text", (c) => c.notNull().unique())
      .addColumn("hash", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("audit_events_target_idx").on("audit_events").column("target").execute();
    await db.schema.createIndex("audit_events_actor_idx").on("audit_events").column("actor").execute();

    await db.schema
      .createTable("api_tokens")
      .addColumn("token_id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("role", "text", (c) => c.notNull())
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .addColumn("revoked_at_ns", t.int64)
      .execute();
  },

  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async down(db: Kysely<any>): Promise<void> {
    for (const table of [
      "api_tokens",
      "audit_events",
      "runs",
      "schemas",
      "topic_histogram",
      "topics",
      "capture_files",
      "captures",
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
