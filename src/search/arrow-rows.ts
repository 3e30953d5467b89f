/**
 * Columnar conversion between Strata rows and Arrow record batches (the form LanceDB reads and writes).
 * Columns are built from typed arrays, not row objects, so a million rows convert in seconds.
 */
import * as arrow from "apache-arrow";
import { FEATURE_NAMES, SCENE_FEATURES, type SceneFeatures, type SceneHit, type SceneRow } from "./schema.ts";

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
  ]);
}

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

/** Columns a query returns for a SceneRecord. */
export const RECORD_COLUMNS: readonly string[] = [
  "sceneId",
  "captureId",
  "startNs",
  "endNs",
  "site",
  "rig",
  "quarantined",
  "tags",
  ...FEATURE_NAMES,
  "xM",
  "yM",
  "headingRad",
];

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

/** Converts one result batch into hits; `_distance` (if present) becomes `distance` via `toDistance`. */
export function hitsFromBatch(
  batch: arrow.RecordBatch,
  options: { withVector: boolean; toDistance: (raw: number) => number },
): SceneHit[] {
  const r = (name: string) => reader(batch, name);
  const sceneId = r("sceneId");
  const captureId = r("captureId");
  const startNs = r("startNs");
  const endNs = r("endNs");
  const site = r("site");
  const rig = r("rig");
  const quarantined = r("quarantined");
  const tags = r("tags");
  const xM = r("xM");
  const yM = r("yM");
  const headingRad = r("headingRad");
  const features = FEATURE_NAMES.map((name) => [name, r(name)] as const);
  const vector = options.withVector && batch.getChild("vector") ? r("vector") : undefined;
  const distance = batch.getChild("_distance") ? r("_distance") : undefined;
  const hits: SceneHit[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const featureValues: Record<string, number | null> = {};
    for (const [name, read] of features) featureValues[name] = read(i) as number | null;
    const tagList = tags(i) as arrow.Vector | null;
    const hit: SceneHit = {
      sceneId: sceneId(i) as string,
      captureId: captureId(i) as string,
      startNs: startNs(i) as bigint,
      endNs: endNs(i) as bigint,
      site: site(i) as string,
      rig: rig(i) as string,
      quarantined: quarantined(i) as boolean,
      tags: tagList ? ([...tagList] as string[]) : [],
      features: featureValues as SceneFeatures,
      xM: xM(i) as number,
      yM: yM(i) as number,
      headingRad: headingRad(i) as number,
    };
    if (vector) hit.vector = Float32Array.from((vector(i) as arrow.Vector).toArray() as Float32Array);
    if (distance) hit.distance = options.toDistance(distance(i) as number);
    hits.push(hit);
  }
  return hits;
}
