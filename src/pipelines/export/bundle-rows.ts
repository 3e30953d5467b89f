/**
 * Catalog tables as JSON Lines, both ways, for the portability bundle. Tables are discovered at run
 * time (so tables that later modules add — calibrations, contracts, ontology, … — travel without code
 * here), read page by page in a stable order, and written back through the same typed query builder.
 *
 * Values are typed by column kind so nothing is lost between SQLite and PostgreSQL: 64-bit integers as
 * decimal strings, bytes as base64, non-finite floats as "NaN"/"Infinity"/"-Infinity", text as is.
 */
import type { Catalog, CatalogDatabase } from "../../catalog/index.ts";
import { StrataError } from "../../core/index.ts";

export type ColumnKind = "int64" | "float" | "text" | "bytes" | "bool";

export interface ColumnShape {
  name: string;
  kind: ColumnKind;
  nullable: boolean;
  autoIncrement: boolean;
}

export interface TableShape {
  name: string;
  columns: ColumnShape[];
}

export type Row = Record<string, unknown>;
export type JsonRow = Record<string, string | number | boolean | null>;

// The catalog's query builder is typed for the known tables; these helpers address tables by name at run
// time, so they go through the builder with the table and column names cast. Nothing else is loosened.
type Db = Catalog["db"];
type AnyTable = keyof CatalogDatabase;
/** The few builder calls made on PostgreSQL's information_schema (not part of CatalogDatabase). */
interface LooseJoin {
  onRef(left: string, op: "=", right: string): LooseJoin;
}
interface LooseQuery {
  innerJoin(table: string, on: (join: LooseJoin) => LooseJoin): LooseQuery;
  select(columns: string[]): LooseQuery;
  where(column: string, op: "=", value: string): LooseQuery;
  execute(): Promise<unknown[]>;
}

async function currentSchema(catalog: Catalog): Promise<string | undefined> {
  if (catalog.dialect !== "postgres") return undefined;
  const row = await catalog.db
    .selectNoFrom((eb) => eb.fn<string>("current_schema", []).as("schema"))
    .executeTakeFirst();
  return row?.schema;
}

function kindOf(dataType: string): ColumnKind {
  const t = dataType.toLowerCase();
  if (t.includes("int")) return "int64";
  if (t.includes("real") || t.includes("double") || t.includes("float") || t.includes("numeric"))
    return "float";
  if (t.includes("blob") || t.includes("bytea")) return "bytes";
  if (t.includes("bool")) return "bool";
  return "text";
}

/** The catalog's tables (not views, not the migrator's own), by name. */
export async function catalogTables(catalog: Catalog): Promise<TableShape[]> {
  const schema = await currentSchema(catalog);
  const tables = await catalog.db.introspection.getTables();
  return tables
    .filter((t) => !t.isView && (schema === undefined || t.schema === schema))
    .filter((t) => !t.name.startsWith("kysely_") && !t.name.startsWith("sqlite_"))
    .map((t) => ({
      name: t.name,
      columns: t.columns.map((c) => ({
        name: c.name,
        kind: kindOf(c.dataType),
        nullable: c.isNullable,
        autoIncrement: c.isAutoIncrementing,
      })),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * For each table, the other tables its foreign keys point at (self-references left out), read from the
 * database's own catalog: SQLite's table definitions, PostgreSQL's information_schema.
 */
export async function foreignKeyParents(catalog: Catalog): Promise<Map<string, Set<string>>> {
  const parents = new Map<string, Set<string>>();
  const add = (table: string, parent: string) => {
    if (table === parent) return;
    let set = parents.get(table);
    if (!set) parents.set(table, (set = new Set()));
    set.add(parent);
  };
  if (catalog.dialect === "sqlite") {
    const rows = (await catalog.db
      .selectFrom("sqlite_master" as AnyTable)
      .select(["name", "sql"] as never[])
      .where("type" as never, "=", "table" as never)
      .execute()) as unknown as { name: string; sql: string | null }[];
    for (const row of rows) {
      for (const match of (row.sql ?? "").matchAll(/references\s+["`\[]?([A-Za-z0-9_]+)["`\]]?/gi)) {
        if (match[1]) add(row.name, match[1]);
      }
    }
    return parents;
  }
  const loose = catalog.db as unknown as { selectFrom(table: string): LooseQuery };
  const rows = (await loose
    .selectFrom("information_schema.table_constraints as tc")
    .innerJoin("information_schema.constraint_column_usage as ccu", (join) =>
      join
        .onRef("tc.constraint_name", "=", "ccu.constraint_name")
        .onRef("tc.constraint_schema", "=", "ccu.constraint_schema"),
    )
    .select(["tc.table_name as child", "ccu.table_name as parent"])
    .where("tc.constraint_type", "=", "FOREIGN KEY")
    .where("tc.table_schema", "=", (await currentSchema(catalog)) ?? "public")
    .execute()) as { child: string; parent: string }[];
  for (const row of rows) add(row.child, row.parent);
  return parents;
}

export function encodeValue(kind: ColumnKind, value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case "int64":
      return typeof value === "bigint" || typeof value === "number"
        ? BigInt(value).toString()
        : String(value);
    case "float": {
      const n = Number(value);
      return Number.isFinite(n) ? n : String(n);
    }
    case "bytes":
      return Buffer.from(value as Uint8Array).toString("base64");
    case "bool":
      return typeof value === "boolean" ? value : Boolean(Number(value));
    default:
      return typeof value === "string" ? value : JSON.stringify(value);
  }
}

export function decodeValue(kind: ColumnKind, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case "int64":
      return BigInt(value as string);
    case "float":
      return typeof value === "number" ? value : Number(value);
    case "bytes":
      return Buffer.from(String(value), "base64");
    case "bool":
      return Boolean(value);
    default:
      return value;
  }
}

export function encodeRow(table: TableShape, row: Row): JsonRow {
  const out: JsonRow = {};
  for (const column of table.columns) out[column.name] = encodeValue(column.kind, row[column.name]);
  return out;
}

export function decodeRow(table: TableShape, row: JsonRow): Row {
  const out: Row = {};
  for (const column of table.columns) {
    if (column.name in row) out[column.name] = decodeValue(column.kind, row[column.name]);
  }
  return out;
}

/** Rows of `table` ordered by `orderBy` (then every other column), `pageSize` at a time. */
export async function* readRows(
  db: Db,
  table: TableShape,
  orderBy: readonly string[],
  options: { pageSize?: number; where?: { column: string; values: readonly string[] } } = {},
): AsyncIterable<Row> {
  const pageSize = options.pageSize ?? 2000;
  const order = [...orderBy, ...table.columns.map((c) => c.name).filter((c) => !orderBy.includes(c))];
  const where = options.where;
  if (where && where.values.length === 0) return;
  for (let offset = 0; ; offset += pageSize) {
    let query = db.selectFrom(table.name as AnyTable).selectAll();
    if (where) query = query.where(where.column as never, "in", where.values as never);
    for (const column of order) query = query.orderBy(column as never);
    let rows: Row[];
    try {
      rows = (await query.limit(pageSize).offset(offset).execute()) as Row[];
    } catch (error) {
      throw new StrataError(
        "STRATA_E_CATALOG",
        `reading ${table.name}: ${String(error)}`,
        {},
        { cause: error },
      );
    }
    yield* rows;
    if (rows.length < pageSize) return;
  }
}

/** Inserts rows (already decoded) in batches; the caller owns the transaction. */
export async function insertRows(db: Db, table: TableShape, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  // SQLite allows 32 766 bound values per statement; stay well below.
  const perBatch = Math.max(1, Math.floor(8000 / Math.max(1, table.columns.length)));
  for (let i = 0; i < rows.length; i += perBatch) {
    try {
      await db
        .insertInto(table.name as AnyTable)
        .values(rows.slice(i, i + perBatch) as never)
        .execute();
    } catch (error) {
      throw new StrataError(
        "STRATA_E_CATALOG",
        `restoring ${table.name}: ${error instanceof Error ? error.message : String(error)}`,
        { table: table.name },
        { cause: error },
      );
    }
  }
}

/** Number of rows in `table`. */
export async function countRows(db: Db, table: string): Promise<number> {
  const row = await db
    .selectFrom(table as AnyTable)
    .select((eb) => eb.fn.countAll<bigint | number | string>().as("n"))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * PostgreSQL identity columns do not advance when rows are inserted with explicit values: move each
 * sequence past the restored maximum so the next generated value does not collide.
 */
export async function advanceIdentities(catalog: Catalog, db: Db, table: TableShape): Promise<void> {
  if (catalog.dialect !== "postgres") return;
  for (const column of table.columns.filter((c) => c.autoIncrement)) {
    await db
      .selectNoFrom((eb) =>
        eb
          .fn("setval", [
            eb.fn("pg_get_serial_sequence", [eb.val(table.name), eb.val(column.name)]),
            eb.fn("greatest", [
              eb.selectFrom(table.name as AnyTable).select(() => eb.fn.max(column.name as never).as("m")),
              eb.val(1),
            ]),
          ])
          .as("v"),
      )
      .execute();
  }
}
