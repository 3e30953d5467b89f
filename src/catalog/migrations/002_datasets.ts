import type { Kysely } from "kysely";
import { type CatalogMigration, columnTypes, type MigrationContext } from "./context.ts";

/**
 * Datasets and their immutable, content-addressed versions (pipelines/datasets). A version row is written
 * once and never updated: `version_id` is `dsv_` + SHA-256 of the canonical manifest stored beside it.
 */
export const datasets: CatalogMigration = {
  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
    const t = columnTypes(ctx);

    await db.schema
      .createTable("datasets")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("dataset_versions")
      .addColumn("version_id", "text", (c) => c.primaryKey())
      .addColumn("dataset", "text", (c) => c.notNull().references("datasets.name"))
      .addColumn("parent", "text", (c) => c.references("dataset_versions.version_id"))
      .addColumn("manifest", t.json, (c) => c.notNull())
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("dataset_versions_dataset_created_idx")
      .on("dataset_versions")
      .columns(["dataset", "created_at_ns"])
      .execute();
    await db.schema
      .createIndex("dataset_versions_parent_idx")
      .on("dataset_versions")
      .column("parent")
      .execute();
  },

  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable("dataset_versions").ifExists().execute();
    await db.schema.dropTable("datasets").ifExists().execute();
  },
};
