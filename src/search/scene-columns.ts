/**
 * In-memory filter columns of the scenes table, for plans whose candidates come from the trajectory grid
 * (decision record: docs/decisions/0009-in-memory-spatial-filter.md).
 *
 * A spatial query knows its exact candidates before LanceDB is asked anything; what remains is the metadata
 * filter and the records of the rows kept. Sending the candidates to LanceDB costs a scalar-index probe per
 * id or a read of every row in the region's coarse cells; here the filter runs over typed arrays instead, and
 * LanceDB is asked only for the records of the rows kept, by row id.
 *
 * Layout: position p is the p-th row of one scan of the scenes table (at one table version). `rowIds[p]`
 * is its LanceDB row id; `positionByOrdinal` maps a trajectory-grid ordinal to its position (−1: none).
 * `quarantined` is loaded with the ids; every other filter column is loaded on first use (8 bytes a row
 * for numbers and times, 4 for strings and tags plus their dictionaries). Null numbers are NaN (stored
 * numbers are finite, so NaN means null). The snapshot is only valid for the table version it was read at;
 * the owner drops it on every write.
 */
import type * as arrow from "apache-arrow";
import type { FieldPredicate, QueryPlan } from "./plan.ts";
import { type FilterField, fieldKind } from "./schema.ts";

/** Scans columns of the scenes table in row order, each batch with its `_rowid` column. */
export type ColumnScan = (columns: readonly string[]) => AsyncIterable<arrow.RecordBatch>;

type LoadedColumn =
  | { kind: "number"; values: Float64Array }
  | { kind: "ns"; values: BigInt64Array }
  | { kind: "string"; codes: Int32Array; dictionary: string[] }
  | { kind: "tags"; offsets: Int32Array; codes: Int32Array; dictionary: Map<string, number> };

/** Fields these columns can answer: every filter field except `sceneId` (candidates are ids already). */
function isSupportedField(field: FilterField): boolean {
  return field !== "sceneId" && fieldKind(field) !== undefined;
}

const utf8 = new TextEncoder();

/** Byte-wise UTF-8 order, as LanceDB compares strings. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

function compares(op: FieldPredicate["op"], order: number): boolean {
  switch (op) {
    case "=":
      return order === 0;
    case "!=":
      return order !== 0;
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
  }
}

function rowIdsOf(batch: arrow.RecordBatch): ArrayLike<bigint> {
  const column = batch.getChild("_rowid");
  if (!column) throw new Error("internal: scan batch without _rowid");
  return column.toArray() as BigInt64Array;
}

export class SceneColumns {
  /** Rows in the snapshot. */
  readonly rows: number;
  readonly #rowIds: BigInt64Array;
  readonly #positionByOrdinal: Int32Array;
  readonly #ordinalByPosition: Int32Array;
  readonly #quarantined: Uint8Array;
  readonly #columns = new Map<string, LoadedColumn>();
  readonly #scan: ColumnScan;

  private constructor(
    scan: ColumnScan,
    rowIds: BigInt64Array,
    positionByOrdinal: Int32Array,
    ordinalByPosition: Int32Array,
    quarantined: Uint8Array,
  ) {
    this.#scan = scan;
    this.rows = rowIds.length;
    this.#rowIds = rowIds;
    this.#positionByOrdinal = positionByOrdinal;
    this.#ordinalByPosition = ordinalByPosition;
    this.#quarantined = quarantined;
  }

  /**
   * Reads sceneId, quarantined and the row ids of every row; `ordinalOf` maps a scene id to its grid ordinal
   * (ordinals below `ordinalCount`).
   */
  static async load(
    scan: ColumnScan,
    ordinalOf: (sceneId: string) => number | undefined,
    ordinalCount: number,
  ): Promise<SceneColumns> {
    let rowIds = new BigInt64Array(Math.max(1024, ordinalCount));
    let quarantined = new Uint8Array(rowIds.length);
    let ordinalByPosition = new Int32Array(rowIds.length);
    const positionByOrdinal = new Int32Array(ordinalCount).fill(-1);
    let rows = 0;
    for await (const batch of scan(["sceneId", "quarantined"])) {
      const ids = batch.getChild("sceneId");
      const flags = batch.getChild("quarantined");
      const batchRowIds = rowIdsOf(batch);
      if (!ids || !flags) throw new Error("internal: scan batch without sceneId/quarantined");
      if (rows + batch.numRows > rowIds.length) {
        const size = Math.max(rows + batch.numRows, rowIds.length * 2);
        const grownIds = new BigInt64Array(size);
        grownIds.set(rowIds);
        rowIds = grownIds;
        const grownFlags = new Uint8Array(size);
        grownFlags.set(quarantined);
        quarantined = grownFlags;
        const grownOrdinals = new Int32Array(size);
        grownOrdinals.set(ordinalByPosition);
        ordinalByPosition = grownOrdinals;
      }
      for (let i = 0; i < batch.numRows; i++) {
        const position = rows + i;
        rowIds[position] = batchRowIds[i] as bigint;
        quarantined[position] = flags.get(i) ? 1 : 0;
        const ordinal = ordinalOf(ids.get(i) as string);
        if (ordinal !== undefined && ordinal < ordinalCount) positionByOrdinal[ordinal] = position;
        ordinalByPosition[position] = ordinal ?? -1;
      }
      rows += batch.numRows;
    }
    return new SceneColumns(
      scan,
      rowIds.slice(0, rows),
      positionByOrdinal,
      ordinalByPosition.slice(0, rows),
      quarantined.slice(0, rows),
    );
  }

  /** Can the plan's metadata filter run over these columns? */
  static supports(plan: QueryPlan): boolean {
    return plan.predicates.every((p) => isSupportedField(p.field));
  }

  /** Columns the plan needs that are not loaded yet. */
  missing(plan: QueryPlan): string[] {
    const needed = new Set(plan.predicates.map((p) => p.field as string));
    if (plan.tags.length > 0) needed.add("tags");
    return [...needed].filter((name) => !this.#columns.has(name));
  }

  /** Loads columns (one scan each); throws when the table no longer matches the snapshot. */
  async loadColumns(names: readonly string[]): Promise<void> {
    for (const name of names) {
      if (this.#columns.has(name)) continue;
      this.#columns.set(name, await this.#loadColumn(name));
    }
  }

  async #loadColumn(name: string): Promise<LoadedColumn> {
    const kind = name === "tags" ? "tags" : fieldKind(name);
    if (kind === undefined) throw new Error(`internal: no filter column ${name}`);
    const numbers = kind === "number" ? new Float64Array(this.rows) : undefined;
    const times = kind === "ns" ? new BigInt64Array(this.rows) : undefined;
    const codes = kind === "string" ? new Int32Array(this.rows) : undefined;
    const dictionary: string[] = [];
    const codeOf = new Map<string, number>();
    const encode = (value: string): number => {
      let code = codeOf.get(value);
      if (code === undefined) {
        code = dictionary.length;
        dictionary.push(value);
        codeOf.set(value, code);
      }
      return code;
    };
    const tagOffsets = kind === "tags" ? new Int32Array(this.rows + 1) : undefined;
    const tagCodes: number[] = [];
    let position = 0;
    for await (const batch of this.#scan([name])) {
      const column = batch.getChild(name);
      if (!column) throw new Error(`internal: scan batch without ${name}`);
      const batchRowIds = rowIdsOf(batch);
      if (position + batch.numRows > this.rows) throw new Error("internal: the scenes table changed");
      for (let i = 0; i < batch.numRows; i++) {
        if (batchRowIds[i] !== this.#rowIds[position + i])
          throw new Error("internal: the scenes table changed");
      }
      if (numbers) {
        for (let i = 0; i < batch.numRows; i++) {
          const value = column.get(i) as number | null;
          numbers[position + i] = value === null ? Number.NaN : value;
        }
      } else if (times) {
        for (let i = 0; i < batch.numRows; i++) times[position + i] = column.get(i) as bigint;
      } else if (codes) {
        for (let i = 0; i < batch.numRows; i++) codes[position + i] = encode(column.get(i) as string);
      } else if (tagOffsets) {
        for (let i = 0; i < batch.numRows; i++) {
          const tags = column.get(i) as arrow.Vector | null;
          if (tags) for (const tag of tags) tagCodes.push(encode(tag as string));
          tagOffsets[position + i + 1] = tagCodes.length;
        }
      }
      position += batch.numRows;
    }
    if (position !== this.rows) throw new Error("internal: the scenes table changed");
    if (numbers) return { kind: "number", values: numbers };
    if (times) return { kind: "ns", values: times };
    if (codes) return { kind: "string", codes, dictionary };
    return {
      kind: "tags",
      offsets: tagOffsets as Int32Array,
      codes: Int32Array.from(tagCodes),
      dictionary: codeOf,
    };
  }

  #test(p: FieldPredicate): (position: number) => boolean {
    const column = this.#columns.get(p.field);
    if (!column) throw new Error(`internal: column ${p.field} not loaded`);
    const { op, value } = p;
    if (column.kind === "number") {
      const values = column.values;
      if (value === null)
        return op === "=" ? (i) => Number.isNaN(values[i]) : (i) => !Number.isNaN(values[i]);
      const x = value as number;
      switch (op) {
        case "=":
          return (i) => values[i] === x;
        case "!=":
          return (i) => !Number.isNaN(values[i]) && values[i] !== x;
        case "<":
          return (i) => (values[i] as number) < x;
        case "<=":
          return (i) => (values[i] as number) <= x;
        case ">":
          return (i) => (values[i] as number) > x;
        case ">=":
          return (i) => (values[i] as number) >= x;
      }
    }
    if (value === null) return op === "=" ? () => false : () => true; // stored times and strings are never null
    if (column.kind === "ns") {
      const values = column.values;
      const x = value as bigint;
      return (i) => {
        const v = values[i] as bigint;
        return compares(op, v < x ? -1 : v > x ? 1 : 0);
      };
    }
    if (column.kind === "string") {
      const x = value as string;
      const accepted = Uint8Array.from(column.dictionary, (s) =>
        compares(op, op === "=" || op === "!=" ? (s === x ? 0 : 1) : compareUtf8(s, x)) ? 1 : 0,
      );
      const codes = column.codes;
      return (i) => accepted[codes[i] as number] === 1;
    }
    throw new Error(`internal: ${p.field} is not a comparable column`);
  }

  #hasTags(tags: readonly string[]): (position: number) => boolean {
    const column = this.#columns.get("tags");
    if (!column || column.kind !== "tags") throw new Error("internal: tags not loaded");
    const wanted: number[] = [];
    for (const tag of new Set(tags)) {
      const code = column.dictionary.get(tag);
      if (code === undefined) return () => false;
      wanted.push(code);
    }
    const { offsets, codes } = column;
    return (i) => {
      const start = offsets[i] as number;
      const end = offsets[i + 1] as number;
      for (const code of wanted) {
        let found = false;
        for (let j = start; j < end && !found; j++) found = codes[j] === code;
        if (!found) return false;
      }
      return true;
    };
  }

  /**
   * The positions of the candidate ordinals that pass the plan's metadata filter (predicates, tags,
   * quarantine), in table order. Every column the plan needs must be loaded.
   */
  filter(ordinals: ArrayLike<number>, plan: QueryPlan): Int32Array {
    const tests = plan.predicates.map((p) => this.#test(p));
    if (plan.tags.length > 0) tests.push(this.#hasTags(plan.tags));
    const quarantined = this.#quarantined;
    const skipQuarantined = !plan.includeQuarantined;
    const kept = new Int32Array(ordinals.length);
    let count = 0;
    candidates: for (let c = 0; c < ordinals.length; c++) {
      const position = this.#positionByOrdinal[ordinals[c] as number];
      if (position === undefined || position < 0) continue;
      if (skipQuarantined && quarantined[position] === 1) continue;
      for (const test of tests) if (!test(position)) continue candidates;
      kept[count++] = position;
    }
    return kept.subarray(0, count).sort();
  }

  rowIdAt(position: number): bigint {
    return this.#rowIds[position] as bigint;
  }

  /** The grid ordinal of a position (−1: the scene has no trajectory in the grid). */
  ordinalAt(position: number): number {
    return this.#ordinalByPosition[position] as number;
  }

  /** Bytes held by the arrays (dictionaries estimated). */
  memoryBytes(): number {
    let bytes =
      this.#rowIds.byteLength +
      this.#positionByOrdinal.byteLength +
      this.#ordinalByPosition.byteLength +
      this.#quarantined.byteLength;
    for (const column of this.#columns.values()) {
      if (column.kind === "number" || column.kind === "ns") bytes += column.values.byteLength;
      else if (column.kind === "string")
        bytes += column.codes.byteLength + column.dictionary.reduce((sum, s) => sum + 2 * s.length + 40, 0);
      else bytes += column.offsets.byteLength + column.codes.byteLength + 60 * column.dictionary.size;
    }
    return bytes;
  }
}
