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
 *
 * The same columns filter `near` queries of the in-memory vector route (decision 0014): `rowTest` is the plan's
 * filter as one test of a position, and `groupTest` rules out whole vector clusters from per-cluster summaries
 * (min/max, null presence, codes present), computed once per cluster layout and column.
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

/** Does the row at a table position pass a filter? */
export type PositionTest = (position: number) => boolean;

/**
 * Positions split into groups (e.g. vector clusters): group g holds `positions[start[g] … start[g + 1])`.
 */
export interface PositionGroups {
  readonly count: number;
  readonly start: Int32Array;
  readonly positions: Int32Array;
}

/**
 * The plan's filter over a run of grouped positions: for slot `from + i` of `PositionGroups.positions`
 * (i < to − from) it clears `mask[i]` when that row fails. The caller sets the mask to 1 first.
 */
export type SlotFilter = (from: number, to: number, mask: Uint8Array) => void;

/** A column copied into the slot order of a `PositionGroups` (sequential reads while scanning a group). */
type SlotColumn =
  | { kind: "number"; values: Float64Array }
  | { kind: "string"; codes: Int32Array }
  | { kind: "tagBits"; bits: Uint32Array }
  | { kind: "flags"; flags: Uint8Array };

/** Per-group summary of one column (see `SceneColumns.groupTest`). */
type Summary =
  | { kind: "live"; rows: Int32Array }
  | { kind: "range"; min: Float64Array; max: Float64Array; nulls: Uint8Array }
  | { kind: "nsRange"; min: BigInt64Array; max: BigInt64Array; rows: Int32Array }
  | { kind: "codes"; words: number; bits: Uint32Array };

const QUARANTINE_SUMMARY = "\u0000quarantined";
/** String and tag columns with larger dictionaries get no per-group summary. */
const MAX_SUMMARY_CODES = 1024;

/** One test that passes when every test passes (undefined: no tests). */
function allOf<T>(tests: ((x: T) => boolean)[]): ((x: T) => boolean) | undefined {
  const [a, b, c] = tests;
  if (tests.length === 0 || !a) return undefined;
  if (tests.length === 1) return a;
  if (tests.length === 2 && b) return (x) => a(x) && b(x);
  if (tests.length === 3 && b && c) return (x) => a(x) && b(x) && c(x);
  return (x) => {
    for (const test of tests) if (!test(x)) return false;
    return true;
  };
}

/** Slot filters run one after another (undefined: none). */
function allOf3(parts: SlotFilter[]): SlotFilter | undefined {
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return (from, to, mask) => {
    for (const part of parts) part(from, to, mask);
  };
}

/** A number predicate over a slot-order column (NaN is null: it never compares). */
function numberSlotFilter(p: FieldPredicate, values: Float64Array): SlotFilter {
  const { op, value } = p;
  if (value === null) {
    return op === "="
      ? (from, to, mask) => {
          for (let s = from; s < to; s++) if (!Number.isNaN(values[s])) mask[s - from] = 0;
        }
      : (from, to, mask) => {
          for (let s = from; s < to; s++) if (Number.isNaN(values[s])) mask[s - from] = 0;
        };
  }
  const x = value as number;
  switch (op) {
    case "=":
      return (from, to, mask) => {
        for (let s = from; s < to; s++) if (!(values[s] === x)) mask[s - from] = 0;
      };
    case "!=":
      return (from, to, mask) => {
        for (let s = from; s < to; s++) {
          const v = values[s] as number;
          if (Number.isNaN(v) || v === x) mask[s - from] = 0;
        }
      };
    case "<":
      return (from, to, mask) => {
        for (let s = from; s < to; s++) if (!((values[s] as number) < x)) mask[s - from] = 0;
      };
    case "<=":
      return (from, to, mask) => {
        for (let s = from; s < to; s++) if (!((values[s] as number) <= x)) mask[s - from] = 0;
      };
    case ">":
      return (from, to, mask) => {
        for (let s = from; s < to; s++) if (!((values[s] as number) > x)) mask[s - from] = 0;
      };
    case ">=":
      return (from, to, mask) => {
        for (let s = from; s < to; s++) if (!((values[s] as number) >= x)) mask[s - from] = 0;
      };
  }
}

/** A predicate as a test of group summaries: false only when no row of the group can pass. */
function groupPredicate(
  p: FieldPredicate,
  s: Summary,
  column: LoadedColumn | undefined,
): (group: number) => boolean {
  const { op, value } = p;
  if (s.kind === "range") {
    const { min, max, nulls } = s;
    if (value === null)
      return op === "=" ? (g) => nulls[g] === 1 : (g) => (max[g] as number) >= (min[g] as number);
    const x = value as number;
    switch (op) {
      case "=":
        return (g) => (min[g] as number) <= x && x <= (max[g] as number);
      case "!=":
        return (g) => (max[g] as number) >= (min[g] as number) && !(min[g] === x && max[g] === x);
      case "<":
        return (g) => (min[g] as number) < x;
      case "<=":
        return (g) => (min[g] as number) <= x;
      case ">":
        return (g) => (max[g] as number) > x;
      case ">=":
        return (g) => (max[g] as number) >= x;
    }
  }
  if (s.kind === "nsRange") {
    const { min, max, rows } = s;
    if (value === null) return op === "=" ? () => false : (g) => (rows[g] as number) > 0;
    const x = value as bigint;
    switch (op) {
      case "=":
        return (g) => (rows[g] as number) > 0 && (min[g] as bigint) <= x && x <= (max[g] as bigint);
      case "!=":
        return (g) => (rows[g] as number) > 0 && !(min[g] === x && max[g] === x);
      case "<":
        return (g) => (rows[g] as number) > 0 && (min[g] as bigint) < x;
      case "<=":
        return (g) => (rows[g] as number) > 0 && (min[g] as bigint) <= x;
      case ">":
        return (g) => (rows[g] as number) > 0 && (max[g] as bigint) > x;
      case ">=":
        return (g) => (rows[g] as number) > 0 && (max[g] as bigint) >= x;
    }
  }
  if (s.kind === "codes" && column?.kind === "string") {
    if (value === null) return op === "=" ? () => false : () => true;
    const x = value as string;
    const { words, bits } = s;
    const accepted = new Uint32Array(words);
    column.dictionary.forEach((d, code) => {
      if (compares(op, op === "=" || op === "!=" ? (d === x ? 0 : 1) : compareUtf8(d, x)))
        accepted[code >>> 5] = (accepted[code >>> 5] as number) | (1 << (code & 31));
    });
    return (g) => {
      for (let w = 0; w < words; w++)
        if (((bits[g * words + w] as number) & (accepted[w] as number)) !== 0) return true;
      return false;
    };
  }
  return () => true;
}

export class SceneColumns {
  /** Rows in the snapshot. */
  readonly rows: number;
  readonly #rowIds: BigInt64Array;
  readonly #positionByOrdinal: Int32Array;
  readonly #ordinalByPosition: Int32Array;
  readonly #quarantined: Uint8Array;
  readonly #columns = new Map<string, LoadedColumn>();
  readonly #summaries = new WeakMap<PositionGroups, Map<string, Summary | undefined>>();
  readonly #slotColumns = new WeakMap<PositionGroups, Map<string, SlotColumn | undefined>>();
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
   * The plan's metadata filter (predicates, tags, quarantine) as one test of a position; undefined when it
   * keeps every row. Every column the plan needs must be loaded.
   */
  rowTest(plan: QueryPlan): PositionTest | undefined {
    const tests = plan.predicates.map((p) => this.#test(p));
    if (plan.tags.length > 0) tests.push(this.#hasTags(plan.tags));
    if (!plan.includeQuarantined) {
      const quarantined = this.#quarantined;
      tests.unshift((i) => quarantined[i] === 0);
    }
    return allOf(tests);
  }

  /**
   * The positions of the candidate ordinals that pass the plan's metadata filter (predicates, tags,
   * quarantine), in table order. Every column the plan needs must be loaded.
   */
  filter(ordinals: ArrayLike<number>, plan: QueryPlan): Int32Array {
    const test = this.rowTest(plan);
    const kept = new Int32Array(ordinals.length);
    let count = 0;
    for (let c = 0; c < ordinals.length; c++) {
      const position = this.#positionByOrdinal[ordinals[c] as number];
      if (position === undefined || position < 0) continue;
      if (test && !test(position)) continue;
      kept[count++] = position;
    }
    return kept.subarray(0, count).sort();
  }

  /**
   * A necessary condition of the plan's filter per group of positions (false: no row of the group passes),
   * from per-group summaries of the columns: min/max and null presence of numbers and times, the codes present
   * of strings and tags (dictionaries up to 1,024 values), the count of rows not quarantined. Summaries are
   * computed on first use per groups object and column. Undefined when nothing can be ruled out.
   */
  groupTest(plan: QueryPlan, groups: PositionGroups): ((group: number) => boolean) | undefined {
    let cache = this.#summaries.get(groups);
    if (!cache) {
      cache = new Map();
      this.#summaries.set(groups, cache);
    }
    const summary = (name: string): Summary | undefined => {
      const cached = (cache as Map<string, Summary | undefined>).get(name);
      if (cached !== undefined || (cache as Map<string, Summary | undefined>).has(name)) return cached;
      const made = this.#summarize(name, groups);
      (cache as Map<string, Summary | undefined>).set(name, made);
      return made;
    };
    const tests: ((group: number) => boolean)[] = [];
    if (!plan.includeQuarantined) {
      const live = summary(QUARANTINE_SUMMARY);
      if (live?.kind === "live") tests.push((g) => (live.rows[g] as number) > 0);
    }
    for (const p of plan.predicates) {
      const s = summary(p.field);
      if (s) tests.push(groupPredicate(p, s, this.#columns.get(p.field)));
    }
    if (plan.tags.length > 0) {
      const s = summary("tags");
      const column = this.#columns.get("tags");
      if (s?.kind === "codes" && column?.kind === "tags") {
        const wanted: number[] = [];
        for (const tag of new Set(plan.tags)) {
          const code = column.dictionary.get(tag);
          if (code === undefined) return () => false;
          wanted.push(code);
        }
        const { words, bits } = s;
        tests.push((g) => {
          for (const code of wanted)
            if (((bits[g * words + (code >>> 5)] as number) & (1 << (code & 31))) === 0) return false;
          return true;
        });
      }
    }
    return allOf(tests);
  }

  /**
   * The plan's filter as a `SlotFilter` over `groups`, column at a time on copies of the columns in slot order
   * (numbers, strings, tags with up to 32 distinct values, the quarantine flag; made on first use per groups
   * and column); times and larger tag dictionaries are tested by position. Undefined when it keeps every row.
   */
  slotFilter(plan: QueryPlan, groups: PositionGroups): SlotFilter | undefined {
    let cache = this.#slotColumns.get(groups);
    if (!cache) {
      cache = new Map();
      this.#slotColumns.set(groups, cache);
    }
    const slotColumn = (name: string): SlotColumn | undefined => {
      const map = cache as Map<string, SlotColumn | undefined>;
      if (map.has(name)) return map.get(name);
      const made = this.#slotColumn(name, groups);
      map.set(name, made);
      return made;
    };
    const { positions } = groups;
    const parts: SlotFilter[] = [];
    const byPosition =
      (test: PositionTest): SlotFilter =>
      (from, to, mask) => {
        for (let s = from; s < to; s++)
          if (mask[s - from] === 1 && !test(positions[s] as number)) mask[s - from] = 0;
      };
    if (!plan.includeQuarantined) {
      const live = slotColumn(QUARANTINE_SUMMARY);
      if (live?.kind === "flags") {
        const flags = live.flags;
        parts.push((from, to, mask) => {
          for (let s = from; s < to; s++) if (flags[s] === 0) mask[s - from] = 0;
        });
      }
    }
    for (const p of plan.predicates) {
      const column = slotColumn(p.field);
      if (column?.kind === "number") parts.push(numberSlotFilter(p, column.values));
      else if (column?.kind === "string") {
        const loaded = this.#columns.get(p.field);
        if (loaded?.kind !== "string") throw new Error(`internal: ${p.field} is not a string column`);
        if (p.value === null) {
          if (p.op === "=") parts.push((from, to, mask) => mask.fill(0, 0, to - from));
          continue;
        }
        const x = p.value as string;
        const accepted = Uint8Array.from(loaded.dictionary, (d) =>
          compares(p.op, p.op === "=" || p.op === "!=" ? (d === x ? 0 : 1) : compareUtf8(d, x)) ? 1 : 0,
        );
        const codes = column.codes;
        parts.push((from, to, mask) => {
          for (let s = from; s < to; s++) if (accepted[codes[s] as number] === 0) mask[s - from] = 0;
        });
      } else parts.push(byPosition(this.#test(p)));
    }
    if (plan.tags.length > 0) {
      const column = slotColumn("tags");
      const loaded = this.#columns.get("tags");
      if (column?.kind === "tagBits" && loaded?.kind === "tags") {
        let wanted = 0;
        for (const tag of plan.tags) {
          const code = loaded.dictionary.get(tag);
          if (code === undefined) return (from, to, mask) => mask.fill(0, 0, to - from);
          wanted |= 1 << code;
        }
        const bits = column.bits;
        parts.push((from, to, mask) => {
          for (let s = from; s < to; s++) if (((bits[s] as number) & wanted) !== wanted) mask[s - from] = 0;
        });
      } else parts.push(byPosition(this.#hasTags(plan.tags)));
    }
    return allOf3(parts);
  }

  #slotColumn(name: string, groups: PositionGroups): SlotColumn | undefined {
    const positions = groups.positions;
    const n = positions.length;
    if (name === QUARANTINE_SUMMARY) {
      const flags = new Uint8Array(n);
      for (let s = 0; s < n; s++) flags[s] = this.#quarantined[positions[s] as number] === 1 ? 0 : 1;
      return { kind: "flags", flags };
    }
    const column = this.#columns.get(name);
    if (column?.kind === "number") {
      const values = new Float64Array(n);
      for (let s = 0; s < n; s++) values[s] = column.values[positions[s] as number] as number;
      return { kind: "number", values };
    }
    if (column?.kind === "string") {
      const codes = new Int32Array(n);
      for (let s = 0; s < n; s++) codes[s] = column.codes[positions[s] as number] as number;
      return { kind: "string", codes };
    }
    if (column?.kind === "tags" && column.dictionary.size <= 32) {
      const bits = new Uint32Array(n);
      for (let s = 0; s < n; s++) {
        const p = positions[s] as number;
        let b = 0;
        for (let j = column.offsets[p] as number; j < (column.offsets[p + 1] as number); j++)
          b |= 1 << (column.codes[j] as number);
        bits[s] = b;
      }
      return { kind: "tagBits", bits };
    }
    return undefined;
  }

  #summarize(name: string, groups: PositionGroups): Summary | undefined {
    const { count, start, positions } = groups;
    if (name === QUARANTINE_SUMMARY) {
      const rows = new Int32Array(count);
      const quarantined = this.#quarantined;
      for (let g = 0; g < count; g++) {
        let live = 0;
        for (let s = start[g] as number; s < (start[g + 1] as number); s++)
          if (quarantined[positions[s] as number] === 0) live++;
        rows[g] = live;
      }
      return { kind: "live", rows };
    }
    const column = this.#columns.get(name);
    if (!column) return undefined;
    if (column.kind === "number") {
      const min = new Float64Array(count).fill(Number.POSITIVE_INFINITY);
      const max = new Float64Array(count).fill(Number.NEGATIVE_INFINITY);
      const nulls = new Uint8Array(count);
      const values = column.values;
      for (let g = 0; g < count; g++) {
        let lo = Number.POSITIVE_INFINITY;
        let hi = Number.NEGATIVE_INFINITY;
        for (let s = start[g] as number; s < (start[g + 1] as number); s++) {
          const v = values[positions[s] as number] as number;
          if (Number.isNaN(v)) nulls[g] = 1;
          else {
            if (v < lo) lo = v;
            if (v > hi) hi = v;
          }
        }
        min[g] = lo;
        max[g] = hi;
      }
      return { kind: "range", min, max, nulls };
    }
    if (column.kind === "ns") {
      const min = new BigInt64Array(count);
      const max = new BigInt64Array(count);
      const rows = new Int32Array(count);
      const values = column.values;
      for (let g = 0; g < count; g++) {
        const from = start[g] as number;
        const to = start[g + 1] as number;
        rows[g] = to - from;
        if (to === from) continue;
        let lo = values[positions[from] as number] as bigint;
        let hi = lo;
        for (let s = from + 1; s < to; s++) {
          const v = values[positions[s] as number] as bigint;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        min[g] = lo;
        max[g] = hi;
      }
      return { kind: "nsRange", min, max, rows };
    }
    const dictionarySize = column.kind === "string" ? column.dictionary.length : column.dictionary.size;
    if (dictionarySize > MAX_SUMMARY_CODES) return undefined;
    const words = Math.max(1, Math.ceil(dictionarySize / 32));
    const bits = new Uint32Array(count * words);
    for (let g = 0; g < count; g++) {
      for (let s = start[g] as number; s < (start[g + 1] as number); s++) {
        const p = positions[s] as number;
        if (column.kind === "string") {
          const code = column.codes[p] as number;
          bits[g * words + (code >>> 5)] = (bits[g * words + (code >>> 5)] as number) | (1 << (code & 31));
        } else {
          for (let j = column.offsets[p] as number; j < (column.offsets[p + 1] as number); j++) {
            const code = column.codes[j] as number;
            bits[g * words + (code >>> 5)] = (bits[g * words + (code >>> 5)] as number) | (1 << (code & 31));
          }
        }
      }
    }
    return { kind: "codes", words, bits };
  }

  /** Same rows at the same positions (same table version, same scan order)? */
  samePositions(other: SceneColumns): boolean {
    if (other.rows !== this.rows) return false;
    const a = this.#rowIds;
    const b = other.#rowIds;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Takes over the loaded filter columns of a snapshot with the same positions (see `samePositions`). */
  adoptColumns(other: SceneColumns): void {
    for (const [name, column] of other.#columns)
      if (!this.#columns.has(name)) this.#columns.set(name, column);
  }

  /** Grid ordinals this snapshot maps (0: loaded without the trajectory grid). */
  get ordinalCount(): number {
    return this.#positionByOrdinal.length;
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

  /** Bytes held by the per-group summaries and slot-order column copies computed for `groups`. */
  summaryBytes(groups: PositionGroups): number {
    let bytes = 0;
    for (const c of this.#slotColumns.get(groups)?.values() ?? []) {
      if (!c) continue;
      bytes +=
        c.kind === "number"
          ? c.values.byteLength
          : c.kind === "string"
            ? c.codes.byteLength
            : c.kind === "tagBits"
              ? c.bits.byteLength
              : c.flags.byteLength;
    }
    for (const s of this.#summaries.get(groups)?.values() ?? []) {
      if (!s) continue;
      if (s.kind === "live") bytes += s.rows.byteLength;
      else if (s.kind === "range") bytes += s.min.byteLength + s.max.byteLength + s.nulls.byteLength;
      else if (s.kind === "nsRange") bytes += s.min.byteLength + s.max.byteLength + s.rows.byteLength;
      else bytes += s.bits.byteLength;
    }
    return bytes;
  }
}
