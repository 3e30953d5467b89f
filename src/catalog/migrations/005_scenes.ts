import type { Kysely } from "kysely";
import { type CatalogMigration, columnTypes, type MigrationContext } from "./context.ts";

/**
 * Scenes (pipelines/scenes): one row per time window of a capture, with its features and tags as JSON, so
 * datasets and lineage can name scenes without the search index. The index (LanceDB) holds the same scenes
 * for querying; this table is the record. Rows go with their capture (ON DELETE CASCADE).
 */
export const scenes: CatalogMigration = {
  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
    const t = columnTypes(ctx);
    await db.schema
      .createTable("scenes")
      .addColumn("scene_id", "text", (c) => c.primaryKey())
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("start_ns", t.int64, (c) => c.notNull())
      .addColumn("end_ns", t.int64, (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("tags", t.json, (c) => c.notNull())
      .addColumn("features", t.json, (c) => c.notNull())
      .addColumn("run_id", "text")
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("scenes_capture_start_idx")
      .on("scenes")
      .columns(["capture_id", "start_ns"])
      .execute();
  },
  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable("scenes").execute();
  },
};
