import { mkdirSync, realpathSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import { StrataError } from "../core/index.ts";
import { AsyncMutex, KyselyCatalog } from "./catalog.ts";
import { catalogError } from "./errors.ts";
import type { CatalogDatabase } from "./schema.ts";
import type { Catalog, CatalogConfig } from "./types.ts";

const INT8_OID = 20;
/** One writer lock per SQLite file in this process, shared by every catalog opened on it. */
const sqliteWriteLocks = new Map<string, AsyncMutex>();
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens the catalog named by `config` (SQLite file by default, PostgreSQL for scale) and, unless
 * `migrate: false`, applies pending migrations.
 */
export async function openCatalog(config: CatalogConfig): Promise<Catalog> {
  const catalog = config.kind === "sqlite" ? openSqlite(config) : await openPostgres(config);
  if (config.migrate !== false) {
    try {
      await catalog.migrate();
    } catch (error) {
      await catalog.close().catch(() => undefined);
      throw error;
    }
  }
  return catalog;
}

function openSqlite(config: Extract<CatalogConfig, { kind: "sqlite" }>): KyselyCatalog {
  const inMemory = config.path === ":memory:";
  let database: Database.Database;
  try {
    if (!inMemory) mkdirSync(path.dirname(path.resolve(config.path)), { recursive: true });
    database = new Database(config.path);
    // Every INTEGER comes back as bigint, so ns times beyond 2^53 survive the round trip.
    database.defaultSafeIntegers(true);
    database.pragma(`busy_timeout = ${Math.max(0, Math.trunc(config.busyTimeoutMs ?? 5000))}`);
    if (!inMemory) database.pragma("journal_mode = WAL");
    database.pragma("synchronous = NORMAL");
    database.pragma("foreign_keys = ON");
  } catch (error) {
    throw catalogError(error, "open", { file: config.path });
  }
  const db = new Kysely<CatalogDatabase>({ dialect: new SqliteDialect({ database }) });
  const lockKey = inMemory ? undefined : realpathSync(config.path);
  let writeLock = lockKey === undefined ? new AsyncMutex() : sqliteWriteLocks.get(lockKey);
  if (writeLock === undefined) {
    writeLock = new AsyncMutex();
    if (lockKey !== undefined) sqliteWriteLocks.set(lockKey, writeLock);
  }
  return new KyselyCatalog(db, { dialect: "sqlite", inTransaction: false, writeLock });
}

async function openPostgres(config: Extract<CatalogConfig, { kind: "postgres" }>): Promise<KyselyCatalog> {
  const { schema } = config;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `schema must match ${SCHEMA_NAME.source}, got ${JSON.stringify(schema)}`,
    );
  }
  // pg loads only for a PostgreSQL catalog, not with every command.
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolSize ?? 10,
    // Per pool, not pg's global registry: int8 as bigint here, nothing changes for other pg users.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID && format !== "binary"
          ? (text: string) => BigInt(text)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  const db = new Kysely<CatalogDatabase>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyCatalog(db, {
    dialect: "postgres",
    inTransaction: false,
    ...(schema === undefined ? {} : { schema }),
  });
}
