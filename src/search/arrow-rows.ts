/**
 * Columnar conversion between Strata rows and Arrow record batches (the form LanceDB reads and writes).
 * Columns are built from typed arrays, not row objects, so a million rows convert in seconds.
 */
import * as arrow from "apache-arrow";
import { SCENE_FEATURES, type SceneFeatures, type SceneHit, type SceneRow } from "./schema.ts";

const utf8Field = (name: string, nullable = false): arrow.Field =>
  new arrow.Field(name, new arrow.Utf8(), nullable);
const listOf = (item: arrow.DataType): arrow.List => new arrow.List(new arrow.Field("item", item, true));
const vectorType = (dim: number): arrow.FixedSizeList =>
  new arrow.FixedSizeList(dim, new arrow.Field("item", new arrow.Float32(), true));

export function scenesSchema(vectorDim: number): arrow.Schema {
  return new arrow.Schema([
    utf8Field("sceneId"),
    utf8Field("captureId"),
    new arrow.Field("startNs", new arrow.Int64(), false),
    new arrow.Field("endNs", new arrow.Int64(), false),
    utf8Field("site"),
    utf8Field("rig"),
    new arrow.Field("quarantined", new arrow.Bool(), false),
    new arrow.Field("tags", listOf(new arrow.Utf8()), false),
    ...SCENE_FEATURES.map(
      (f) =>
        new arrow.Field(f.name, f.kind === "int32" ? new arrow.Int32() : new arrow.Float64(), f.nullable),
    ),
    new arrow.Field("xM", new arrow.Float64(), false),
    new arrow.Field("yM", new arrow.Float64(), false),
    new arrow.Field("headingRad", new arrow.Float64(), false),
    new arrow.Field("vector", vectorType(vectorDim), false),
    // Covering columns: the whole record in two columns, so a result row costs 4 column reads, not 30.
    new arrow.Field("record", new arrow.Utf8(), false),
    new arrow.Field("numbers", numbersType(), false),
    // Coarse spatial cells the trajectory touches (LabelList index): a LanceDB-side spatial prefilter.
    new arrow.Field("cells", listOf(new arrow.Int64()), false),
  ]);
}

/** Side of the coarse cells stored in the `cells` column (m); fixed, independent of the in-memory grid. */
export const COARSE_CELL_M = 128;
const COARSE_RANGE = 1 << 24;

/** Id of the coarse cell holding (xM, yM). */
export function coarseCellId(xM: number, yM: number): number {
  const cx = Math.floor(xM / COARSE_CELL_M) + COARSE_RANGE;
  const cy = Math.floor(yM / COARSE_CELL_M) + COARSE_RANGE;
  return cx * 2 * COARSE_RANGE + cy;
}

/** Segments covering more coarse cells than this are marked with this id instead (every query includes it). */
export const COARSE_OVERSIZED_CELL = -1;
const MAX_COARSE_CELLS_PER_SEGMENT = 64;

/** The coarse cells touched by the bounding boxes of a trajectory's segments. */
export function trajectoryCells(xM: ArrayLike<number>, yM: ArrayLike<number>): number[] {
  const cells = new Set<number>();
  const n = xM.length;
  for (let i = 0; i < Math.max(1, n - 1); i++) {
    const j = Math.min(i + 1, n - 1);
    const x0 = Math.min(xM[i] as number, xM[j] as number);
    const x1 = Math.max(xM[i] as number, xM[j] as number);
    const y0 = Math.min(yM[i] as number, yM[j] as number);
    const y1 = Math.max(yM[i] as number, yM[j] as number);
    const cells2 = coarseCellsOfBox(x0, y0, x1, y1, MAX_COARSE_CELLS_PER_SEGMENT);
    if (cells2 === undefined) cells.add(COARSE_OVERSIZED_CELL);
    else for (const c of cells2) cells.add(c);
  }
  return [...cells];
}

/** Coarse cells under a box, or undefined when there are more than `max`. */
export function coarseCellsOfBox(
  minX: number,
  minY: number,
  maxX: number,
  maxY: number,
  max: number,
): number[] | undefined {
  const cx0 = Math.floor(minX / COARSE_CELL_M);
  const cx1 = Math.floor(maxX / COARSE_CELL_M);
  const cy0 = Math.floor(minY / COARSE_CELL_M);
  const cy1 = Math.floor(maxY / COARSE_CELL_M);
  if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > max) return undefined;
  const out: number[] = [];
  for (let cx = cx0; cx <= cx1; cx++) {
    for (let cy = cy0; cy <= cy1; cy++)
      out.push((cx + COARSE_RANGE) * 2 * COARSE_RANGE + (cy + COARSE_RANGE));
  }
  return out;
}

/** `numbers`: little-endian float64 xM, yM, headingRad, then every feature in declared order (NaN for null).
 * Binary, not a fixed-size float list: LanceDB treats those as vectors and rejects NaN in them. */
const numbersType = (): arrow.Binary => new arrow.Binary();
const NUMBERS_WIDTH = 3 + SCENE_FEATURES.length;

export function trajectoriesSchema(): arrow.Schema {
  return new arrow.Schema([
    utf8Field("sceneId"),
    utf8Field("captureId"),
    new arrow.Field("xM", listOf(new arrow.Float64()), false),
    new arrow.Field("yM", listOf(new arrow.Float64()), false),
    new arrow.Field("headingRad", listOf(new arrow.Float64()), false),
  ]);
}

export function vectorsSchema(vectorDim: number): arrow.Schema {
  return new arrow.Schema([
    utf8Field("sceneId"),
    utf8Field("captureId"),
    new arrow.Field("vector", vectorType(vectorDim), false),
  ]);
}

export function graphNodesSchema(): arrow.Schema {
  return new arrow.Schema([
    utf8Field("sceneId"),
    utf8Field("captureId"),
    utf8Field("nodeId"),
    utf8Field("kind"),
    utf8Field("agentClass"),
    utf8Field("trackId", true),
  ]);
}

export function graphRelationsSchema(): arrow.Schema {
  return new arrow.Schema([
    utf8Field("sceneId"),
    utf8Field("captureId"),
    utf8Field("subjectNodeId"),
    utf8Field("subjectClass"),
    utf8Field("relation"),
    utf8Field("objectNodeId"),
    utf8Field("objectClass"),
    new arrow.Field("startNs", new arrow.Int64(), false),
    new arrow.Field("endNs", new arrow.Int64(), false),
    new arrow.Field("minDistanceM", new arrow.Float64(), false),
  ]);
}

/** The vector length of a schema's `vector` column. */
export function vectorDimOf(schema: arrow.Schema): number | undefined {
  // Duck-typed: the schema may come from another copy of apache-arrow (LanceDB's).
  const type = schema.fields.find((f) => f.name === "vector")?.type as
    | { typeId?: number; listSize?: number }
    | undefined;
  return type?.typeId === arrow.Type.FixedSizeList ? type.listSize : undefined;
}

function onlyChunk(vector: arrow.Vector): arrow.Data {
  if (vector.data.length === 1) return vector.data[0] as arrow.Data;
  // Builders may flush in chunks; concatenate the buffers through a fresh builder pass.
  return arrow.vectorFromArray([...vector], vector.type).data[0] as arrow.Data;
}

/** Builds a table whose columns follow `schema` exactly; `columns` maps field name → column values. */
export function tableFromColumns(
  schema: arrow.Schema,
  length: number,
  columns: Record<string, arrow.Data>,
): arrow.Table {
  const children = schema.fields.map((f) => {
    const data = columns[f.name];
    if (!data) throw new Error(`internal: column ${f.name} missing`);
    if (data.length !== length)
      throw new Error(`internal: column ${f.name} has ${data.length} rows, expected ${length}`);
    return data;
  });
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length, nullCount: 0, children });
  return new arrow.Table([new arrow.RecordBatch(schema, struct)]);
}

export const utf8Data = (values: readonly (string | null)[]): arrow.Data =>
  onlyChunk(arrow.vectorFromArray(values as (string | null)[], new arrow.Utf8()));
export const int64Data = (values: readonly bigint[]): arrow.Data =>
  arrow.makeData({
    type: new arrow.Int64(),
    length: values.length,
    nullCount: 0,
    data: BigInt64Array.from(values),
  });
export const float64Data = (values: Float64Array): arrow.Data =>
  arrow.makeData({ type: new arrow.Float64(), length: values.length, nullCount: 0, data: values });
export const boolData = (values: readonly boolean[]): arrow.Data =>
  onlyChunk(arrow.vectorFromArray(values as boolean[], new arrow.Bool()));

/** A nullable numeric column (float64 or int32). */
function numericData(kind: "float64" | "int32", values: readonly (number | null)[]): arrow.Data {
  if (values.every((v) => v !== null)) {
    return kind === "int32"
      ? arrow.makeData({
          type: new arrow.Int32(),
          length: values.length,
          nullCount: 0,
          data: Int32Array.from(values as number[]),
        })
      : float64Data(Float64Array.from(values as number[]));
  }
  return onlyChunk(
    arrow.vectorFromArray(
      values as (number | null)[],
      kind === "int32" ? new arrow.Int32() : new arrow.Float64(),
    ),
  );
}

export function stringListData(values: readonly (readonly string[])[]): arrow.Data {
  return onlyChunk(
    arrow.vectorFromArray(
      values.map((v) => [...v]),
      listOf(new arrow.Utf8()),
    ),
  );
}

/** list<float64> from per-row arrays, built straight from offsets. */
export function float64ListData(values: readonly ArrayLike<number>[]): arrow.Data {
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    total += (values[i] as ArrayLike<number>).length;
    offsets[i + 1] = total;
  }
  const flat = new Float64Array(total);
  for (let i = 0; i < values.length; i++) flat.set(values[i] as ArrayLike<number>, offsets[i] as number);
  const child = float64Data(flat);
  return arrow.makeData({
    type: listOf(new arrow.Float64()),
    length: values.length,
    nullCount: 0,
    valueOffsets: offsets,
    child,
  });
}

/** list<int64> from per-row integer arrays. */
export function int64ListData(values: readonly number[][]): arrow.Data {
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    total += (values[i] as number[]).length;
    offsets[i + 1] = total;
  }
  const flat = new BigInt64Array(total);
  let k = 0;
  for (const row of values) for (const v of row) flat[k++] = BigInt(v);
  const child = arrow.makeData({ type: new arrow.Int64(), length: total, nullCount: 0, data: flat });
  return arrow.makeData({
    type: listOf(new arrow.Int64()),
    length: values.length,
    nullCount: 0,
    valueOffsets: offsets,
    child,
  });
}

/** fixed_size_list<float32, dim> from per-row vectors; throws on a wrong length or a non-finite value. */
export function vectorData(
  dim: number,
  vectors: readonly ArrayLike<number>[],
  describe: (i: number) => string,
): arrow.Data {
  const flat = new Float32Array(vectors.length * dim);
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i] as ArrayLike<number>;
    if (v.length !== dim)
      throw new RangeError(`${describe(i)}: vector has ${v.length} values, the index takes ${dim}`);
    for (let j = 0; j < dim; j++) {
      const x = v[j] as number;
      if (!Number.isFinite(x)) throw new RangeError(`${describe(i)}: vector value ${j} is not finite`);
      flat[i * dim + j] = x;
    }
  }
  const child = arrow.makeData({ type: new arrow.Float32(), length: flat.length, nullCount: 0, data: flat });
  return arrow.makeData({ type: vectorType(dim), length: vectors.length, nullCount: 0, child });
}

export function scenesTable(rows: readonly SceneRow[], vectorDim: number): arrow.Table {
  const columns: Record<string, arrow.Data> = {
    sceneId: utf8Data(rows.map((r) => r.sceneId)),
    captureId: utf8Data(rows.map((r) => r.captureId)),
    startNs: int64Data(rows.map((r) => r.startNs)),
    endNs: int64Data(rows.map((r) => r.endNs)),
    site: utf8Data(rows.map((r) => r.site)),
    rig: utf8Data(rows.map((r) => r.rig)),
    quarantined: boolData(rows.map((r) => r.quarantined)),
    tags: stringListData(rows.map((r) => r.tags)),
    xM: float64Data(Float64Array.from(rows, (r) => r.xM)),
    yM: float64Data(Float64Array.from(rows, (r) => r.yM)),
    headingRad: float64Data(Float64Array.from(rows, (r) => r.headingRad)),
    vector: vectorData(
      vectorDim,
      rows.map((r) => r.vector),
      (i) => `scene ${rows[i]?.sceneId}`,
    ),
  };
  const width = NUMBERS_WIDTH;
  const numbers = new Float64Array(rows.length * width);
  rows.forEach((r, i) => {
    numbers[i * width] = r.xM;
    numbers[i * width + 1] = r.yM;
    numbers[i * width + 2] = r.headingRad;
    SCENE_FEATURES.forEach((f, j) => {
      numbers[i * width + 3 + j] = (r.features as Record<string, number | null>)[f.name] ?? Number.NaN;
    });
  });
  columns.numbers = arrow.makeData({
    type: numbersType(),
    length: rows.length,
    nullCount: 0,
    valueOffsets: Int32Array.from({ length: rows.length + 1 }, (_, i) => i * width * 8),
    data: new Uint8Array(numbers.buffer),
  });
  columns.record = utf8Data(
    rows.map((r) =>
      JSON.stringify([r.captureId, r.startNs.toString(), r.endNs.toString(), r.site, r.rig, r.tags]),
    ),
  );
  columns.cells = int64ListData(
    rows.map((r) =>
      r.trajectory && r.trajectory.xM.length > 0
        ? trajectoryCells(r.trajectory.xM, r.trajectory.yM)
        : trajectoryCells([r.xM], [r.yM]),
    ),
  );
  for (const f of SCENE_FEATURES) {
    columns[f.name] = numericData(
      f.kind,
      rows.map((r) => (r.features as Record<string, number | null>)[f.name] ?? null),
    );
  }
  return tableFromColumns(scenesSchema(vectorDim), rows.length, columns);
}

export function trajectoriesTable(
  rows: readonly {
    sceneId: string;
    captureId: string;
    xM: ArrayLike<number>;
    yM: ArrayLike<number>;
    headingRad: ArrayLike<number>;
  }[],
): arrow.Table {
  return tableFromColumns(trajectoriesSchema(), rows.length, {
    sceneId: utf8Data(rows.map((r) => r.sceneId)),
    captureId: utf8Data(rows.map((r) => r.captureId)),
    xM: float64ListData(rows.map((r) => r.xM)),
    yM: float64ListData(rows.map((r) => r.yM)),
    headingRad: float64ListData(rows.map((r) => r.headingRad)),
  });
}

/** Columns a query reads for a SceneRecord: the covering columns, not the 30 typed ones. */
export const RECORD_COLUMNS: readonly string[] = ["sceneId", "quarantined", "record", "numbers"];

type ColumnReader = (row: number) => unknown;

function reader(batch: arrow.RecordBatch, name: string): ColumnReader {
  const column = batch.getChild(name);
  if (!column) throw new Error(`internal: result has no column ${name}`);
  const typeId = column.type.typeId;
  if (typeId === arrow.Type.Float || typeId === arrow.Type.Int) {
    if (typeId === arrow.Type.Int && (column.type as arrow.Int).bitWidth === 64) {
      const values = column.toArray() as BigInt64Array;
      return (row) => values[row];
    }
    const values = column.toArray() as Float64Array | Int32Array | Float32Array;
    if (column.nullCount === 0) return (row) => values[row];
    return (row) => (column.isValid(row) ? values[row] : null);
  }
  return (row) => column.get(row);
}

/** Converts one result batch (RECORD_COLUMNS) into hits; `_distance` (if present) becomes `distance`. */
export function hitsFromBatch(
  batch: arrow.RecordBatch,
  options: { withVector: boolean; toDistance: (raw: number) => number },
): SceneHit[] {
  const sceneId = reader(batch, "sceneId");
  const quarantined = reader(batch, "quarantined");
  const record = reader(batch, "record");
  const numbersOf = reader(batch, "numbers");
  const width = NUMBERS_WIDTH;
  const vector = options.withVector && batch.getChild("vector") ? reader(batch, "vector") : undefined;
  const distance = batch.getChild("_distance") ? reader(batch, "_distance") : undefined;
  const hits: SceneHit[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const [captureId, startNs, endNs, site, rig, tags] = JSON.parse(record(i) as string) as [
      string,
      string,
      string,
      string,
      string,
      string[],
    ];
    const bytes = numbersOf(i) as Uint8Array;
    if (bytes.byteLength !== width * 8) throw new Error("internal: numbers column has the wrong width");
    const numbers = new Float64Array(width);
    new Uint8Array(numbers.buffer).set(bytes);
    const base = 0;
    const features: Record<string, number | null> = {};
    SCENE_FEATURES.forEach((f, j) => {
      const v = numbers[base + 3 + j] as number;
      features[f.name] = Number.isNaN(v) ? null : v;
    });
    const hit: SceneHit = {
      sceneId: sceneId(i) as string,
      captureId,
      startNs: BigInt(startNs),
      endNs: BigInt(endNs),
      site,
      rig,
      quarantined: quarantined(i) as boolean,
      tags,
      features: features as SceneFeatures,
      xM: numbers[base] as number,
      yM: numbers[base + 1] as number,
      headingRad: numbers[base + 2] as number,
    };
    if (vector) hit.vector = Float32Array.from((vector(i) as arrow.Vector).toArray() as Float32Array);
    if (distance) hit.distance = options.toDistance(distance(i) as number);
    hits.push(hit);
  }
  return hits;
}
