import type { Kysely } from "kysely";
import { type CatalogMigration, columnTypes, type MigrationContext } from "./context.ts";

/**
 * Governance (pipelines/qa, contracts, ontology): versioned data contracts and their checks per capture,
 * QA verdicts per capture and run with steward overrides, the ontology's versions and change proposals,
 * and labels (annotations, and class names seen in messages) that ontology migrations rewrite.
 * Booleans are 0/1 integers; JSON columns are canonical JSON text.
 */
export const governance: CatalogMigration = {
  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async up(db: Kysely<any>, ctx: MigrationContext): Promise<void> {
    const t = columnTypes(ctx);

    await db.schema
      .createTable("contracts")
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("version", "text", (c) => c.notNull())
      .addColumn("document", t.json, (c) => c.notNull())
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("sha256", "text", (c) => c.notNull())
      .addColumn("baselines", t.json, (c) => c.notNull())
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("contracts_pk", ["name", "version"])
      .execute();

    await db.schema
      .createTable("contract_checks")
      .addColumn("check_id", "text", (c) => c.primaryKey())
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("contract_name", "text", (c) => c.notNull())
      .addColumn("contract_version", "text", (c) => c.notNull())
      .addColumn("run_id", "text")
      .addColumn("passed", t.int64, (c) => c.notNull())
      .addColumn("violations", t.json, (c) => c.notNull())
      .addColumn("checked_at_ns", t.int64, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("contract_checks_capture_idx")
      .on("contract_checks")
      .columns(["capture_id", "checked_at_ns"])
      .execute();
    await db.schema
      .createIndex("contract_checks_contract_idx")
      .on("contract_checks")
      .columns(["contract_name", "contract_version"])
      .execute();

    await db.schema
      .createTable("qa_results")
      .addColumn("run_id", "text", (c) => c.primaryKey())
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("verdict", "text", (c) => c.notNull())
      .addColumn("reasons", t.json, (c) => c.notNull())
      .addColumn("plan", t.json, (c) => c.notNull())
      .addColumn("coverage", t.json, (c) => c.notNull())
      .addColumn("policy", t.json, (c) => c.notNull())
      .addColumn("drift_source", "text", (c) => c.notNull())
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("qa_results_capture_idx")
      .on("qa_results")
      .columns(["capture_id", "created_at_ns"])
      .execute();

    await db.schema
      .createTable("qa_overrides")
      .addColumn("override_id", "text", (c) => c.primaryKey())
      .addColumn("capture_id", "text", (c) =>
        c.notNull().references("captures.capture_id").onDelete("cascade"),
      )
      .addColumn("run_id", "text")
      .addColumn("actor", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("at_ns", t.int64, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("qa_overrides_capture_idx")
      .on("qa_overrides")
      .columns(["capture_id", "at_ns"])
      .execute();

    await db.schema
      .createTable("ontology_versions")
      .addColumn("version", "text", (c) => c.primaryKey())
      .addColumn("document", t.json, (c) => c.notNull())
      .addColumn("proposal_id", "text")
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("ontology_proposals")
      .addColumn("proposal_id", "text", (c) => c.primaryKey())
      .addColumn("base_version", "text", (c) => c.notNull())
      .addColumn("changes", t.json, (c) => c.notNull())
      .addColumn("note", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("proposed_by", "text", (c) => c.notNull())
      .addColumn("proposed_at_ns", t.int64, (c) => c.notNull())
      .addColumn("decided_by", "text")
      .addColumn("decided_at_ns", t.int64)
      .addColumn("decision_reason", "text")
      .addColumn("result_version", "text")
      .addColumn("migration", t.json)
      .execute();
    await db.schema
      .createIndex("ontology_proposals_status_idx")
      .on("ontology_proposals")
      .column("status")
      .execute();

    await db.schema
      .createTable("labels")
      .addColumn("label_id", "text", (c) => c.primaryKey())
      .addColumn("capture_id", "text", (c) => c.references("captures.capture_id").onDelete("cascade"))
      .addColumn("topic", "text")
      .addColumn("class_name", "text", (c) => c.notNull())
      .addColumn("attributes", t.json, (c) => c.notNull())
      .addColumn("start_ns", t.int64)
      .addColumn("end_ns", t.int64)
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("count", t.int64, (c) => c.notNull())
      .addColumn("ontology_version", "text")
      .addColumn("created_at_ns", t.int64, (c) => c.notNull())
      .execute();
    await db.schema.createIndex("labels_class_idx").on("labels").column("class_name").execute();
    await db.schema.createIndex("labels_capture_idx").on("labels").column("capture_id").execute();
  },

  // biome-ignore lint/suspicious/noExplicitAny: see CatalogMigration.
  async down(db: Kysely<any>): Promise<void> {
    for (const table of [
      "labels",
      "ontology_proposals",
      "ontology_versions",
      "qa_overrides",
      "qa_results",
      "contract_checks",
      "contracts",
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
