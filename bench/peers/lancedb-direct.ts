/**
 * Peer for the search bench: the same questions asked of LanceDB directly, with no Strata layer — hand-written
 * SQL filters, LanceDB's own `toArray()` row conversion, the same projection and search knobs.
 */
import * as lancedb from "@lancedb/lancedb";

export interface DirectTable {
  table: lancedb.Table;
  close(): void;
}

export async function openDirect(dir: string, tableName = "scenes"): Promise<DirectTable> {
  const db = await lancedb.connect(dir);
  const table = await db.openTable(tableName);
  return {
    table,
    close: () => {
      table.close();
      db.close();
    },
  };
}

export interface DirectTuning {
  nprobes: number;
  refineFactor: number;
}

/** Filtered k-nearest-neighbour search through the vector index (prefilter, as LanceDB defaults to). */
export function directKnn(
  t: DirectTable,
  vector: Float32Array,
  where: string,
  k: number,
  tuning: DirectTuning,
  columns: readonly string[],
): Promise<unknown[]> {
  return t.table
    .vectorSearch(vector)
    .distanceType("l2")
    .where(where)
    .limit(k)
    .nprobes(tuning.nprobes)
    .refineFactor(tuning.refineFactor)
    .select([...columns, "_distance"])
    .toArray();
}

/** Exact filtered kNN (flat scan of the prefiltered rows), LanceDB's own brute force. */
export function directExactKnn(
  t: DirectTable,
  vector: Float32Array,
  where: string,
  k: number,
): Promise<unknown[]> {
  return t.table
    .vectorSearch(vector)
    .distanceType("l2")
    .where(where)
    .limit(k)
    .bypassVectorIndex()
    .select(["sceneId", "_distance"])
    .toArray();
}

/** What LanceDB alone can do for "near this point": a box on the representative position plus the filter. */
export function directBoxFilter(
  t: DirectTable,
  box: { minX: number; minY: number; maxX: number; maxY: number },
  where: string,
  limit: number,
  columns: readonly string[],
): Promise<unknown[]> {
  const spatial = `xM >= ${box.minX} AND xM <= ${box.maxX} AND yM >= ${box.minY} AND yM <= ${box.maxY}`;
  return t.table
    .query()
    .where(`${spatial} AND ${where}`)
    .limit(limit)
    .select([...columns])
    .toArray();
}

export async function indexSizes(
  t: DirectTable,
): Promise<{ name: string; type: string; sizeBytes: number }[]> {
  const indices = await t.table.listIndices();
  return indices.map((i) => ({ name: i.name, type: i.indexType, sizeBytes: Number(i.sizeBytes ?? 0) }));
}
