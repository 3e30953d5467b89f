/**
 * The catalog's one migration list, applied in order by Kysely's Migrator on both dialects.
 * To extend the schema: add `NNN_name.ts` beside this file exporting a CatalogMigration, append it
 * here, and add its tables to `CatalogDatabase` in `../schema.ts`. Never edit a released migration.
 */
import type { Migration, MigrationProvider } from "kysely";
import { initial } from "./001_initial.ts";
import { datasets } from "./002_datasets.ts";
import { governance } from "./003_governance.ts";
import { registry } from "./004_registry.ts";
import { scenes } from "./005_scenes.ts";
import type { CatalogMigration, MigrationContext } from "./context.ts";

export const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: CatalogMigration]> = [
  ["001_initial", initial],
  ["002_datasets", datasets],
  ["003_governance", governance],
  ["004_registry", registry],
  ["005_scenes", scenes],
];

/** Feeds MIGRATIONS to Kysely's Migrator, handing each the dialect it runs on. */
export function migrationProvider(ctx: MigrationContext): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, migration] of MIGRATIONS) {
        const { down } = migration;
        out[name] = {
          up: (db) => migration.up(db, ctx),
          ...(down === undefined ? {} : { down: (db) => down.call(migration, db, ctx) }),
        };
      }
      return out;
    },
  };
}

export type { CatalogDialect, CatalogMigration, MigrationContext } from "./context.ts";
export { columnTypes } from "./context.ts";
