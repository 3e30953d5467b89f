import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scenes } from "./builder.ts";
import { type SceneIndex, openSceneIndex } from "./lance-scene-index.ts";
import { type QueryPlan, formatQuery } from "./plan.ts";
import { type PositionGroups, SceneColumns } from "./scene-columns.ts";
import type { SceneRow } from "./schema.ts";
import { seededRandom, syntheticSceneRows } from "./synthetic.ts";
import { bruteNearest, l2Squared, passesPlan, predicateMakers } from "./test-support.ts";
import { parseQuery } from "./text.ts";
import { ClusterCentroids, VectorClusters, VectorMemory } from "./vector-clusters.ts";

const AREA_M = 2000;
const DIM = 16;

describe("VectorClusters", () => {
  it.each([
    { dim: 12, simd: true, rowsPerCluster: 60 },
    { dim: 10, simd: false, rowsPerCluster: 60 },
    // One cluster larger than the scratch chunk (4,096 rows): scanned in chunks.
    { dim: 8, simd: true, rowsPerCluster: 6000 },
    { dim: 6, simd: false, rowsPerCluster: 6000 },
  ])(
    "finds the exact filtered k nearest, pruning clusters by their radius bounds (dim $dim, $rowsPerCluster rows a cluster)",
    async ({ dim, simd, rowsPerCluster }) => {
      const rand = seededRandom(21);
      const gauss = (): number =>
        Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
      const rows = 6000;
      const centers = Array.from({ length: 10 }, () => Array.from({ length: dim }, () => 3 * gauss()));
      const vectors = new Float32Array(rows * dim);
      const label = new Int32Array(rows);
      for (let p = 0; p < rows; p++) {
        const center = Math.floor(rand() * centers.length);
        label[p] = center % 4;
        for (let j = 0; j < dim; j++) vectors[p * dim + j] = (centers[center]?.[j] as number) + gauss();
      }
      const centroids = await ClusterCentroids.train(vectors, rows, dim, { rowsPerCluster, seed: 3 });
      expect(centroids.leafCount).toBe(Math.round(rows / rowsPerCluster));
      const memory = new VectorMemory(rows, dim);
      memory.vectors.set(vectors);
      const clusters = await VectorClusters.build(memory, centroids);
      expect(clusters.rows).toBe(rows);
      // Dimensions that are a multiple of 4 run through the WebAssembly SIMD kernel, others in plain JS.
      expect(clusters.simd).toBe(simd);
      // Every position sits in exactly one cluster.
      expect([...clusters.groups.positions].sort((a, b) => a - b)).toEqual(
        Array.from({ length: rows }, (_, i) => i),
      );
      let pruned = 0;
      for (let q = 0; q < 300; q++) {
        const source = Math.floor(rand() * rows);
        const query = Float32Array.from(
          { length: dim },
          (_, j) => (vectors[source * dim + j] as number) + 0.5 * gauss(),
        );
        const k = 1 + Math.floor(rand() * 20);
        const wanted = q % 3 === 0 ? -1 : Math.floor(rand() * 4);
        const test = wanted < 0 ? undefined : (p: number) => label[p] === wanted;
        const groups: PositionGroups = clusters.groups;
        const filter =
          wanted < 0
            ? undefined
            : (from: number, to: number, mask: Uint8Array) => {
                for (let s = from; s < to; s++)
                  if (label[groups.positions[s] as number] !== wanted) mask[s - from] = 0;
              };
        const clusterTest =
          wanted < 0
            ? undefined
            : (c: number) => {
                for (let s = groups.start[c] as number; s < (groups.start[c + 1] as number); s++)
                  if (label[groups.positions[s] as number] === wanted) return true;
                return false;
              };
        const found = clusters.nearest(query, k, filter, clusterTest);
        const expected = Array.from({ length: rows }, (_, p) => p)
          .filter((p) => !test || test(p))
          .map((p) => ({ p, d: l2Squared(vectors.subarray(p * dim, (p + 1) * dim), query) }))
          .sort((a, b) => a.d - b.d)
          .slice(0, k);
        expect(Array.from(found.positions)).toEqual(expected.map((e) => e.p));
        expected.forEach((e, i) => expect(found.distancesSq[i]).toBeCloseTo(e.d, 6));
        if (found.rowsScanned < rows / 4) pruned++;
        const among = clusters.nearestAmong(
          Int32Array.from({ length: rows }, (_, p) => p).filter((p) => !test || test(p)),
          query,
          k,
        );
        expect(Array.from(among.positions)).toEqual(expected.map((e) => e.p));
      }
      // The bounds do prune: most queries read under a quarter of the rows.
      if (rowsPerCluster < rows) expect(pruned).toBeGreaterThan(200);
    },
  );
});

describe("in-memory vector route", () => {
  let dir: string;
  let rows: SceneRow[];
  let live: Map<string, SceneRow>;
  let writer: SceneIndex;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "strata-vector-route-"));
    rows = syntheticSceneRows({
      count: 4000,
      seed: 8,
      vectorDim: DIM,
      areaM: AREA_M,
      scenesPerCapture: 20,
      quarantinedFraction: 0.1,
    });
    live = new Map(rows.map((r) => [r.sceneId, r]));
    writer = await openSceneIndex({ dir, vectorDim: DIM, vectorClusterRows: 40 });
    await writer.upsert(rows.slice(0, 2500));
    await writer.upsert(rows.slice(2500));
  });

  afterAll(async () => {
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const randomPlan = (rand: () => number): { plan: QueryPlan; vector: ArrayLike<number> } => {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
    const current = [...live.values()];
    const sample = (): SceneRow => pick(current);
    const makers: (() => QueryPlan["predicates"][number])[] = [
      () => ({ field: "speedMaxMps", op: pick([">", ">=", "<"] as const), value: rand() * 25 }),
      ...predicateMakers(rand, sample),
    ];
    const source = sample();
    const byScene = rand() < 0.25;
    const vector = Float32Array.from(source.vector, (x) => x + 0.3 * (rand() - 0.5));
    const plan: QueryPlan = {
      predicates: Array.from({ length: Math.floor(rand() * 3) }, () => pick(makers)()),
      tags: rand() < 0.6 ? [pick(["night", "day", "urban", "highway", "rain", "hard_brake"])] : [],
      near: {
        target: byScene
          ? { kind: "scene", sceneId: source.sceneId }
          : { kind: "vector", vector: Array.from(vector) },
        k: 1 + Math.floor(rand() * 15),
      },
      graph: [],
      includeQuarantined: rand() < 0.3,
    };
    if (rand() < 0.2) plan.limit = 1 + Math.floor(rand() * 10);
    if (rand() < 0.15)
      plan.within = {
        kind: "circle",
        xM: (rand() - 0.5) * AREA_M,
        yM: (rand() - 0.5) * AREA_M,
        radiusM: 200 + rand() * 600,
      };
    return { plan, vector: byScene ? source.vector : vector };
  };

  const expectExact = async (
    index: SceneIndex,
    plan: QueryPlan,
    vector: ArrayLike<number>,
  ): Promise<number> => {
    const near = plan.near as NonNullable<QueryPlan["near"]>;
    const k = Math.min(near.k, plan.limit ?? near.k);
    const expected = bruteNearest(live.values(), plan, vector, k);
    const hits = await index.query(plan).toArray();
    const text = formatQuery(plan);
    expect(
      hits.map((h) => h.sceneId),
      text,
    ).toEqual(expected.map((e) => e.sceneId));
    hits.forEach((h, i) => expect(h.distance, text).toBeCloseTo(expected[i]?.distance as number, 4));
    return expected.length;
  };

  it("answers random filter + near plans exactly as LanceDB and a brute force do", async () => {
    const memory = await openSceneIndex({ dir, vectorClusterRows: 40 });
    const lance = await openSceneIndex({ dir, vectorRoute: "lance" });
    try {
      const stats = await memory.vectorStats();
      expect(stats.rows).toBe(rows.length);
      expect(stats.clusters).toBeGreaterThan(50);
      expect(stats.vectorBytes).toBeGreaterThanOrEqual(rows.length * DIM * 4);
      expect((await lance.vectorStats()).rows).toBe(0);
      const rand = seededRandom(17);
      let nonEmpty = 0;
      for (let q = 0; q < 80; q++) {
        const { plan, vector } = randomPlan(rand);
        if ((await expectExact(memory, plan, vector)) > 0) nonEmpty++;
        await expectExact(lance, plan, vector);
      }
      expect(nonEmpty).toBeGreaterThan(50);
      // Explain names the route that runs.
      const text = "speedMaxMps > 5 and tag:night near:scene_00000010 k:5";
      const inMemory = await memory.explain(parseQuery(text));
      expect(inMemory.steps.at(-1)?.index).toMatch(/route: memory.*k-means clusters/);
      const onLance = await lance.explain(parseQuery(text));
      expect(onLance.steps.at(-1)?.index).toMatch(/route: lance, vectorRoute "lance"/);
      const spatial = await memory.explain(parseQuery(`${text} and within:(0, 0, 500m)`));
      expect(spatial.steps.map((s) => s.stage)).toEqual(["spatial-grid", "post-filter", "vector-search"]);
      // Filter columns load on first use here too, and per-cluster summaries with them.
      const before = (await memory.vectorStats()).filterColumnBytes;
      await memory.scenes().where("jerkMaxMps3", ">", 2).near(vector0(), { k: 3 }).toArray();
      expect((await memory.vectorStats()).filterColumnBytes - before).toBeGreaterThanOrEqual(8 * rows.length);
      await expect(memory.scenes().near("scene_missing").toArray()).rejects.toMatchObject({
        code: "STRATA_E_NOT_FOUND",
      });
    } finally {
      await memory.close();
      await lance.close();
    }
  });

  const vector0 = (): Float32Array => Float32Array.from((rows[0] as SceneRow).vector);

  it("drops the vectors on every write, stays exact while they reload, and reloads them", async () => {
    const rand = seededRandom(5);
    const check = async (): Promise<void> => {
      for (let q = 0; q < 12; q++) {
        const { plan, vector } = randomPlan(rand);
        await expectExact(writer, plan, vector);
      }
    };
    const reloaded = async (): Promise<void> => {
      const stats = await writer.vectorStats();
      expect(stats.rows).toBe(live.size);
    };
    await reloaded();
    await check();

    // upsert: new vectors and features for existing scenes, plus new scenes.
    const changed = rows.slice(100, 160).map((r, i) => ({
      ...r,
      vector: Float32Array.from(r.vector, (x) => -x + 0.01 * i),
      features: { ...r.features, speedMaxMps: r.features.speedMaxMps + 3 },
    }));
    const added = syntheticSceneRows({ count: 40, seed: 99, vectorDim: DIM, areaM: AREA_M }).map((r) => ({
      ...r,
      sceneId: `${r.sceneId}_new`,
      captureId: `${r.captureId}_new`,
    }));
    await writer.upsert([...changed, ...added]);
    for (const r of [...changed, ...added]) live.set(r.sceneId, r);
    expect((await writer.vectorStats()).rows).toBe(0 + live.size);
    await check();
    // A changed scene is found at its new place.
    const moved = changed[7] as SceneRow;
    const [top] = await writer
      .scenes()
      .near(Array.from(moved.vector), { k: 1 })
      .includeQuarantined()
      .toArray();
    expect(top?.sceneId).toBe(moved.sceneId);

    // setQuarantined: queries right after the write (LanceDB route) and after the reload agree.
    const capture = (rows[300] as SceneRow).captureId;
    expect(await writer.setQuarantined(capture, true)).toBeGreaterThan(0);
    for (const r of live.values())
      if (r.captureId === capture) live.set(r.sceneId, { ...r, quarantined: true });
    const near300 = scenes()
      .near(Array.from((rows[300] as SceneRow).vector), { k: 5 })
      .plan();
    await expectExact(writer, near300, (rows[300] as SceneRow).vector);
    await reloaded();
    await expectExact(writer, near300, (rows[300] as SceneRow).vector);
    await check();

    // deleteByCapture.
    const gone = (rows[1200] as SceneRow).captureId;
    expect(await writer.deleteByCapture(gone)).toBeGreaterThan(0);
    for (const r of [...live.values()]) if (r.captureId === gone) live.delete(r.sceneId);
    const near1200 = scenes()
      .near(Array.from((rows[1200] as SceneRow).vector), { k: 5 })
      .plan();
    await expectExact(writer, near1200, (rows[1200] as SceneRow).vector);
    await reloaded();
    await expectExact(writer, near1200, (rows[1200] as SceneRow).vector);
    await check();

    // A write while a query runs: every answer is exact for the table before or after the write.
    const restore = [...live.values()].filter((r) => r.captureId === capture);
    const plan = scenes()
      .tag("night")
      .near(Array.from((rows[300] as SceneRow).vector), { k: 8 })
      .plan();
    const before = bruteNearest(live.values(), plan, (rows[300] as SceneRow).vector, 8).map((e) => e.sceneId);
    const racing = writer.query(plan).toArray();
    const write = writer.setQuarantined(capture, false);
    const during = (await racing).map((h) => h.sceneId);
    await write;
    for (const r of restore) live.set(r.sceneId, { ...r, quarantined: false });
    const after = bruteNearest(live.values(), plan, (rows[300] as SceneRow).vector, 8).map((e) => e.sceneId);
    expect([before.join(), after.join()]).toContain(during.join());
    await reloaded();
    await check();
  });

  it("leaves sceneId predicates to LanceDB", async () => {
    expect(SceneColumns.supports(scenes().where("sceneId", "=", "x").near([1], { k: 1 }).plan())).toBe(false);
    const source = rows[5] as SceneRow;
    const plan = scenes()
      .where("sceneId", "!=", (rows[6] as SceneRow).sceneId)
      .near(Array.from(source.vector), { k: 4 })
      .plan();
    await expectExact(writer, plan, source.vector);
    expect((await writer.explain(plan)).steps.at(-1)?.index).toMatch(/route: lance: sceneId predicates/);
  });
});
