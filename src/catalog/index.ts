/**
 * catalog: the relational catalog over Kysely — SQLite (default) or PostgreSQL, one migration set
 * (`migrations/`), one contract suite (`./contract.ts`, test-only, not re-exported here).
 */
export { AUDIT_GENESIS_HASH, computeAuditHash, computeSchemaHash } from "./hashes.ts";
export {
  type CatalogDialect,
  type CatalogMigration,
  columnTypes,
  MIGRATIONS,
  type MigrationContext,
} from "./migrations/index.ts";
export { openCatalog } from "./open.ts";
export type * from "./schema.ts";
export type * from "./types.ts";
