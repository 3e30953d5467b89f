/**
 * The one place the export pipelines talk to DuckDB: a file-backed staging database (so DuckDB spills to
 * disk instead of holding a whole export in memory), typed staging tables filled through DuckDB's appender
 * one row at a time, and `COPY … TO … (FORMAT parquet)` with optional Hive partitions.
 *
 * Rows arrive as arrays of `Cell`s in column order; `ColumnType` names the DuckDB type of each column.
 */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { StrataError } from "../../core/index.ts";

/** The column types the exports use (Parquet: INT64, DOUBLE, FLOAT, BOOLEAN, UTF8 string, binary, LIST, STRUCT). */
export type ColumnType =
  | "VARCHAR"
  | "BIGINT"
  | "DOUBLE"
  | "FLOAT"
  | "BOOLEAN"
  | "BLOB"
  | "DOUBLE[]"
  | "FLOAT[]"
  | "VARCHAR[]"
  /** An image as Hugging Face `datasets.Image` stores it (LeRobot `image` features). */
  | "STRUCT(bytes BLOB, path VARCHAR)";

export interface StagedColumn {
  name: string;
  type: ColumnType;
}

/** One value; `null` is SQL NULL. Lists are plain arrays; an image struct is `{bytes, path}`. */
export type Cell =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | readonly number[]
  | readonly string[]
  | { bytes: Uint8Array | null; path: string | null }
  | null;

type DuckDb = typeof import("@duckdb/node-api");

/** DuckDB is a large native module: it loads on the first export that needs it, not at import. */
let duckDb:
  | { api: DuckDb; doubleList: unknown; floatList: unknown; varcharList: unknown; imageStruct: unknown }
  | undefined;

async function loadDuckDb(): Promise<NonNullable<typeof duckDb>> {
  if (!duckDb) {
    const api = await import("@duckdb/node-api");
    duckDb = {
      api,
      doubleList: api.LIST(api.DOUBLE),
      floatList: api.LIST(api.FLOAT),
      varcharList: api.LIST(api.VARCHAR),
      imageStruct: api.STRUCT({ bytes: api.BLOB, path: api.VARCHAR }),
    };
  }
  return duckDb;
}

function loadedDuckDb(): NonNullable<typeof duckDb> {
  if (!duckDb) throw new StrataError("STRATA_E_INTERNAL", "DuckDB used before ParquetStaging.open");
  return duckDb;
}

/** A double-quoted SQL identifier (names such as `observation.state` or `data/chunk_index` are fine). */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
/** A single-quoted SQL string literal. */
export const quoteLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export interface StagingOptions {
  /** A directory for the staging database and DuckDB's spill files (created; removed by `close`). */
  dir: string;
  /** DuckDB's memory limit (default `512MB`); beyond it DuckDB spills to `dir`. */
  memoryLimit?: string;
  /** DuckDB worker threads (default 2). */
  threads?: number;
}

/** A file-backed DuckDB session for staging rows and writing them out as Parquet. */
export class ParquetStaging {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly dir: string,
  ) {}

  static async open(options: StagingOptions): Promise<ParquetStaging> {
    await mkdir(options.dir, { recursive: true });
    const { api } = await loadDuckDb();
    const instance = await api.DuckDBInstance.create(path.join(options.dir, "staging.duckdb"), {
      memory_limit: options.memoryLimit ?? "512MB",
      threads: String(options.threads ?? 2),
      temp_directory: path.join(options.dir, "spill"),
      preserve_insertion_order: "true",
    });
    const connection = await instance.connect();
    return new ParquetStaging(instance, connection, options.dir);
  }

  /** Creates (or replaces) a staging table and returns a writer that appends rows to it. */
  async table(name: string, columns: readonly StagedColumn[]): Promise<StagedTable> {
    const ddl = columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(", ");
    await this.connection.run(`CREATE OR REPLACE TABLE ${quoteIdent(name)} (${ddl})`);
    const appender = await this.connection.createAppender(name);
    return new StagedTable(this.connection, name, columns, appender);
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface CopyOptions {
  /** A file (no partitions) or a directory (with `partitionBy`). */
  to: string;
  /** Hive partition columns (`site=…/date=…`); they are not stored inside the files. */
  partitionBy?: readonly string[];
  /** With partitions: the file name pattern, which must contain `{uuid}` (e.g. `part-RUN-{uuid}`). */
  filenamePattern?: string;
  /** Column order and selection of the written file (default: every column, in table order). */
  select?: readonly string[];
  /** `ORDER BY` columns, for files whose row order matters. */
  orderBy?: readonly string[];
}

export class StagedTable {
  private rows = 0;
  private open = true;

  constructor(
    private readonly connection: DuckDBConnection,
    readonly name: string,
    readonly columns: readonly StagedColumn[],
    private readonly appender: DuckDBAppender,
  ) {}

  get rowCount(): number {
    return this.rows;
  }

  /** Appends one row (cells in column order). */
  append(cells: readonly Cell[]): void {
    if (cells.length !== this.columns.length) {
      throw new StrataError(
        "STRATA_E_INTERNAL",
        `staging table ${this.name}: ${cells.length} values for ${this.columns.length} columns`,
      );
    }
    for (let i = 0; i < cells.length; i++) {
      appendCell(this.appender, (this.columns[i] as StagedColumn).type, cells[i] as Cell, this.name, i);
    }
    this.appender.endRow();
    this.rows++;
  }

  /** Flushes the appender; the table can then be queried and copied (no more appends). */
  finish(): void {
    if (!this.open) return;
    this.appender.flushSync();
    this.appender.closeSync();
    this.open = false;
  }

  /** Writes the table (or the selected columns) as Parquet (zstd), partitioned when asked. */
  async copyTo(options: CopyOptions): Promise<void> {
    this.finish();
    const columns = (options.select ?? this.columns.map((c) => c.name)).map(quoteIdent);
    const partition = options.partitionBy ?? [];
    const order = options.orderBy?.length ? ` ORDER BY ${options.orderBy.map(quoteIdent).join(", ")}` : "";
    const select =
      partition.length > 0
        ? `SELECT ${[...columns, ...partition.map(quoteIdent)].join(", ")} FROM ${quoteIdent(this.name)}${order}`
        : `SELECT ${columns.join(", ")} FROM ${quoteIdent(this.name)}${order}`;
    const settings = ["FORMAT parquet", "COMPRESSION zstd"];
    if (partition.length > 0) {
      await mkdir(options.to, { recursive: true });
      settings.push(`PARTITION_BY (${partition.map(quoteIdent).join(", ")})`, "APPEND");
      settings.push(`FILENAME_PATTERN ${quoteLiteral(options.filenamePattern ?? "part-{uuid}")}`);
    } else {
      await mkdir(path.dirname(options.to), { recursive: true });
    }
    await this.connection.run(`COPY (${select}) TO ${quoteLiteral(options.to)} (${settings.join(", ")})`);
  }

  async drop(): Promise<void> {
    this.finish();
    await this.connection.run(`DROP TABLE IF EXISTS ${quoteIdent(this.name)}`);
  }
}

function appendCell(
  appender: DuckDBAppender,
  type: ColumnType,
  cell: Cell,
  table: string,
  column: number,
): void {
  if (cell === null) {
    appender.appendNull();
    return;
  }
  const mismatch = (): StrataError =>
    new StrataError(
      "STRATA_E_INTERNAL",
      `staging table ${table}, column ${column}: ${typeof cell} is not a ${type} value`,
    );
  switch (type) {
    case "VARCHAR":
      if (typeof cell !== "string") throw mismatch();
      appender.appendVarchar(cell);
      return;
    case "BIGINT":
      if (typeof cell === "bigint") appender.appendBigInt(cell);
      else if (typeof cell === "number" && Number.isSafeInteger(cell)) appender.appendBigInt(BigInt(cell));
      else throw mismatch();
      return;
    case "DOUBLE":
    case "FLOAT":
      if (typeof cell !== "number") throw mismatch();
      if (type === "DOUBLE") appender.appendDouble(cell);
      else appender.appendFloat(cell);
      return;
    case "BOOLEAN":
      if (typeof cell !== "boolean") throw mismatch();
      appender.appendBoolean(cell);
      return;
    case "BLOB":
      if (!(cell instanceof Uint8Array)) throw mismatch();
      appender.appendBlob(cell);
      return;
    case "DOUBLE[]":
    case "FLOAT[]": {
      if (!Array.isArray(cell) || !cell.every((v) => typeof v === "number")) throw mismatch();
      const duck = loadedDuckDb();
      const listType = type === "DOUBLE[]" ? duck.doubleList : duck.floatList;
      appender.appendList(duck.api.listValue(cell as number[]), listType as never);
      return;
    }
    case "VARCHAR[]": {
      if (!Array.isArray(cell) || !cell.every((v) => typeof v === "string")) throw mismatch();
      const duck = loadedDuckDb();
      appender.appendList(duck.api.listValue(cell as string[]), duck.varcharList as never);
      return;
    }
    case "STRUCT(bytes BLOB, path VARCHAR)": {
      if (typeof cell !== "object" || Array.isArray(cell) || cell instanceof Uint8Array) throw mismatch();
      const image = cell as { bytes: Uint8Array | null; path: string | null };
      const { api, imageStruct } = loadedDuckDb();
      appender.appendStruct(
        api.structValue({
          bytes: image.bytes === null ? null : api.blobValue(image.bytes),
          path: image.path,
        }),
        imageStruct as never,
      );
      return;
    }
  }
}
