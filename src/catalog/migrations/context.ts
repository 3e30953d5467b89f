import type { Kysely } from "kysely";

export type CatalogDialect = "sqlite" | "postgres";

export interface MigrationContext {
  dialect: CatalogDialect;
}

/**
 * One step of the catalog's schema, written with Kysely's schema builder so it runs on both dialects.
 * `ctx` tells the few places where they differ (use `columnTypes(ctx)` for those).
 */
export interface CatalogMigration {
  // biome-ignore lint/suspicious/noExplicitAny: migrations see the database as it was, not as CatalogDatabase.
  up(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  down?(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
}

/** Column types per dialect: 64-bit integers are BIGINT on PostgreSQL, INTEGER on SQLite (both 8 bytes). */
export function columnTypes(ctx: MigrationContext) {
  const postgres = ctx.dialect === "postgres";
  return {
    int64: postgres ? "bigint" : "integer",
    float64: postgres ? "double precision" : "real",
    json: "text",
  } as const;
}
