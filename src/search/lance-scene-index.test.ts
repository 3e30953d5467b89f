import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StrataError } from "../core/index.ts";
import { scenes } from "./builder.ts";
import { type SceneGraph, parseGraphPattern, relationMatches } from "./graph.ts";
import { LanceSceneIndex, type SceneIndex, openSceneIndex } from "./lance-scene-index.ts";
import { type QueryPlan, type SpatialRegion, formatQuery } from "./plan.ts";
import type { SceneRow } from "./schema.ts";
import { seededRandom, syntheticSceneRows } from "./synthetic.ts";
import { bruteNearest, l2Squared, passesPlan, predicateMakers } from "./test-support.ts";
import { parseQuery } from "./text.ts";

const AREA_M = 2000;
const DIM = 16;

const l2 = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.sqrt(l2Squared(a, b));
/** Ids of the brute-force nearest rows, nearest first. */
const nearestIds = (...args: Parameters<typeof bruteNearest>): string[] =>
  bruteNearest(...args).map((r) => r.sceneId);

const ids = (hits: { sceneId: string }[]): string[] => hits.map((h) => h.sceneId).sort();

describe("LanceSceneIndex", () => {
  let dir: string;
  let index: SceneIndex;
  let rows: SceneRow[];
  let live: Map<string, SceneRow>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "strata-scene-index-"));
    rows = syntheticSceneRows({
      count: 3000,
      seed: 5,
      vectorDim: DIM,
      areaM: AREA_M,
      scenesPerCapture: 25,
      quarantinedFraction: 0.1,
    });
    live = new Map(rows.map((r) => [r.sceneId, r]));
    index = await openSceneIndex({ dir, vectorDim: DIM });
    await index.upsert(rows.slice(0, 2000));
    await index.upsert(rows.slice(2000));
  });

  afterAll(async () => {
    await index.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts and returns stored scenes with typed columns", async () => {
    expect(await index.count()).toBe(3000);
    const source = rows[17] as SceneRow;
    const got = await index.get(source.sceneId, { withVector: true });
    expect(got?.startNs).toBe(source.startNs);
    expect(typeof got?.startNs).toBe("bigint");
    expect(got?.features).toEqual(source.features);
    expect(got?.tags).toEqual(source.tags);
    expect(Array.from(got?.vector ?? [])).toEqual(Array.from(source.vector, (v) => Math.fround(v)));
  });

  it("filters on metadata exactly as the reference filter does", async () => {
    const queries = [
      "speedMaxMps > 10 and tag:night",
      "site = downtown and pedestrians >= 3 and minTtcS < 3",
      "ateRmseM != null and accelMinMps2 < -4",
      "minTtcS = null and tag:highway",
      "rig = rig_b1 and startNs >= 1704200000000000000 and tag:rain",
      "tag:hard_brake include:quarantined",
      "cars = 0 and cyclists > 0",
    ];
    for (const text of queries) {
      const plan = parseQuery(text);
      const expected = rows
        .filter((r) => passesPlan(r, plan))
        .map((r) => r.sceneId)
        .sort();
      expect(ids(await index.query(plan).toArray()), text).toEqual(expected);
      expect(expected.length, `${text} should match something`).toBeGreaterThan(0);
    }
    expect(await index.scenes().tag("night").limit(7).toArray()).toHaveLength(7);
  });

  it("returns the true k nearest neighbours (vs brute force), with and without filters", async () => {
    const rand = seededRandom(99);
    for (let q = 0; q < 15; q++) {
      const vector = Array.from({ length: DIM }, () => (rand() - 0.5) * 4);
      const plan =
        q % 3 === 0
          ? scenes().near(vector, { k: 10 }).plan()
          : scenes()
              .where("speedMaxMps", ">", 8)
              .tag(q % 2 ? "day" : "urban")
              .near(vector, { k: 10 })
              .plan();
      const hits = await index.query(plan).toArray();
      expect(hits.map((h) => h.sceneId)).toEqual(nearestIds(rows, plan, vector, 10));
      for (const h of hits) expect(h.distance).toBeCloseTo(l2(live.get(h.sceneId)?.vector ?? [], vector), 4);
    }
  });

  it("finds scenes near a scene, excluding the scene itself", async () => {
    const source = rows[42] as SceneRow;
    const hits = await index.scenes().near(source.sceneId, { k: 5 }).toArray();
    expect(hits.map((h) => h.sceneId)).toEqual(
      nearestIds(rows, scenes().near(source.sceneId).plan(), source.vector, 5, source.sceneId),
    );
    await expect(index.scenes().near("scene_missing").toArray()).rejects.toMatchObject({
      code: "STRATA_E_NOT_FOUND",
    });
  });

  it("combines spatial, heading, metadata and kNN predicates exactly, through the IN list and the post-filter", async () => {
    const postFiltering = await openSceneIndex({ dir, maxInListIds: 5, spatialFilter: "lance" });
    try {
      const rand = seededRandom(7);
      let nonEmpty = 0;
      for (let q = 0; q < 12; q++) {
        let builder = scenes()
          .within({ xM: (rand() - 0.5) * AREA_M, yM: (rand() - 0.5) * AREA_M, radiusM: 50 + rand() * 250 })
          .where("speedMeanMps", ">", 3);
        if (q % 2) builder = builder.heading(rand() * 360 - 180, 45);
        const plan = builder.plan();
        const expected = rows
          .filter((r) => passesPlan(r, plan))
          .map((r) => r.sceneId)
          .sort();
        expect(ids(await index.query(plan).toArray())).toEqual(expected);
        expect(ids(await postFiltering.query(plan).toArray())).toEqual(expected);
        const near = builder.near(rows[0]?.vector ?? [], { k: 3 }).plan();
        const nearest = nearestIds(rows, near, rows[0]?.vector ?? [], 3);
        expect((await index.query(near).toArray()).map((h) => h.sceneId)).toEqual(nearest);
        expect((await postFiltering.query(near).toArray()).map((h) => h.sceneId)).toEqual(nearest);
        if (expected.length > 0) nonEmpty++;
      }
      expect(nonEmpty).toBeGreaterThan(6);
      // A region too large for the cell prefilter: candidates go through the IN list or the two-phase read.
      const everywhere = scenes()
        .within({ xM: 0, yM: 0, radiusM: 30_000 })
        .where("cars", ">=", 4)
        .limit(100_000)
        .plan();
      const expected = rows
        .filter((r) => passesPlan(r, everywhere))
        .map((r) => r.sceneId)
        .sort();
      expect(ids(await index.query(everywhere).toArray())).toEqual(expected);
      expect(ids(await postFiltering.query(everywhere).toArray())).toEqual(expected);
      expect(await postFiltering.query({ ...everywhere, limit: 7 }).toArray()).toHaveLength(7);
    } finally {
      await postFiltering.close();
    }
  });

  it("filters spatial candidates in memory exactly as LanceDB and brute force do, and follows writes", async () => {
    const inMemory = await openSceneIndex({ dir });
    const inLance = await openSceneIndex({ dir, spatialFilter: "lance" });
    try {
      const rand = seededRandom(11);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
      const ops = ["=", "!=", "<", "<=", ">", ">="] as const;
      const sample = (): SceneRow => pick(rows);
      // Each maker returns a predicate whose value comes from a stored row, so "=" can match.
      const makers: (() => QueryPlan["predicates"][number])[] = [
        () => ({ field: "speedMaxMps", op: pick(ops), value: sample().features.speedMaxMps }),
        ...predicateMakers(rand, sample),
        () => ({ field: "xM", op: pick(["<", ">="] as const), value: (rand() - 0.5) * AREA_M }),
      ];
      expect((await inMemory.spatialStats()).filterColumnBytes).toBeGreaterThan(0);
      let nonEmpty = 0;
      for (let q = 0; q < 40; q++) {
        const plan: QueryPlan = {
          predicates: Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(makers)()),
          tags: rand() < 0.4 ? [pick(["night", "urban", "highway", "rain", "hard_brake"])] : [],
          within: {
            kind: "circle",
            xM: (rand() - 0.5) * AREA_M,
            yM: (rand() - 0.5) * AREA_M,
            radiusM: 100 + rand() * 500,
          },
          graph: [],
          includeQuarantined: rand() < 0.3,
        };
        if (q % 3 === 0) plan.heading = { centerDeg: rand() * 360 - 180, toleranceDeg: 60 };
        const expected = rows
          .filter((r) => passesPlan(r, plan))
          .map((r) => r.sceneId)
          .sort();
        const text = formatQuery(plan);
        expect(ids(await inMemory.query(plan).toArray()), text).toEqual(expected);
        expect(ids(await inLance.query(plan).toArray()), text).toEqual(expected);
        const limited = await inMemory.query({ ...plan, limit: 3 }).toArray();
        expect(limited.length, text).toBe(Math.min(3, expected.length));
        for (const hit of limited) expect(expected).toContain(hit.sceneId);
        if (expected.length > 0) nonEmpty++;
      }
      expect(nonEmpty).toBeGreaterThan(15);
      // Every operator on nullable columns (null never compares) and on strings, over a large region.
      const everywhere: SpatialRegion = { kind: "circle", xM: 0, yM: 0, radiusM: AREA_M };
      const site = (rows[0] as SceneRow).site;
      for (const op of ops) {
        for (const predicate of [
          { field: "minTtcS", op, value: 3 },
          { field: "ateRmseM", op, value: 0.15 },
          { field: "site", op, value: site },
        ] as QueryPlan["predicates"]) {
          const plan: QueryPlan = {
            predicates: [predicate],
            tags: [],
            within: everywhere,
            graph: [],
            includeQuarantined: false,
          };
          const expected = rows
            .filter((r) => passesPlan(r, plan))
            .map((r) => r.sceneId)
            .sort();
          expect(ids(await inMemory.query(plan).toArray()), formatQuery(plan)).toEqual(expected);
        }
      }
      expect(
        rows.some((r) => r.features.minTtcS === null) && rows.some((r) => r.features.ateRmseM === null),
      ).toBe(true);
      const explained = await inMemory.explain(
        scenes().within({ xM: 0, yM: 0, radiusM: 300 }).tag("night").plan(),
      );
      expect(explained.steps.map((s) => s.stage)).toEqual(["spatial-grid", "post-filter"]);
      expect(explained.steps[1]?.index).toContain("in-memory filter columns");
      // The filter columns load on first use: a field not asked for yet grows them by a float64 per row.
      const before = (await inMemory.spatialStats()).filterColumnBytes;
      await inMemory.scenes().within({ xM: 0, yM: 0, radiusM: 200 }).where("jerkMaxMps3", ">", 1).toArray();
      expect((await inMemory.spatialStats()).filterColumnBytes - before).toBeGreaterThanOrEqual(
        8 * rows.length,
      );

      // A write drops the columns (this index is the writer); queries stay exact while they reload and after.
      const region = { xM: 0, yM: 0, radiusM: 400 };
      const query = () => index.scenes().within(region).where("speedMaxMps", ">", 0).toArray();
      const inRegion = await query();
      const capture = inRegion[0]?.captureId as string;
      expect(await index.setQuarantined(capture, true)).toBeGreaterThan(0);
      const expectedAfter = ids(inRegion.filter((h) => h.captureId !== capture));
      expect(ids(await query())).toEqual(expectedAfter);
      for (let i = 0; i < 100 && (await index.spatialStats()).filterColumnBytes === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await index.spatialStats()).filterColumnBytes).toBeGreaterThan(0);
      expect(ids(await query())).toEqual(expectedAfter);
      await index.setQuarantined(capture, false);
      expect(ids(await query())).toEqual(ids(inRegion));
    } finally {
      await inMemory.close();
      await inLance.close();
    }
  });

  it("matches scene-graph patterns, alone and combined with other predicates", async () => {
    const rand = seededRandom(3);
    const classes = ["pedestrian", "car", "cyclist"];
    const relations = [
      "ahead_of",
      "behind",
      "left_of",
      "right_of",
      "crossing_path",
      "approaching",
      "following",
      "within",
    ] as const;
    const graphs: SceneGraph[] = rows.slice(0, 600).map((row) => {
      const agents = Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => ({
        nodeId: `agent/${i}`,
        kind: "agent" as const,
        agentClass: classes[Math.floor(rand() * classes.length)] as string,
        trackId: String(i),
      }));
      const nodes = [{ nodeId: "ego", kind: "ego" as const, agentClass: "ego", trackId: null }, ...agents];
      return {
        sceneId: row.sceneId,
        captureId: row.captureId,
        nodes,
        relations: agents.map((agent) => {
          const startNs = row.startNs + BigInt(Math.floor(rand() * 5e9));
          return {
            subjectNodeId: agent.nodeId,
            relation: relations[Math.floor(rand() * relations.length)] as (typeof relations)[number],
            objectNodeId: rand() < 0.8 ? "ego" : (agents[0]?.nodeId as string),
            startNs,
            endNs: startNs + BigInt(Math.floor(rand() * 6e9)),
            minDistanceM: rand() * 30,
          };
        }),
      };
    });
    await index.graphs.put(graphs);
    expect(await index.graphs.get(graphs[3]?.sceneId as string)).toEqual(graphs[3]);
    const reference = (patternText: string[]): Set<string> =>
      new Set(
        graphs
          .filter((g) =>
            patternText.every((text) => {
              const pattern = parseGraphPattern(text);
              const classOf = new Map(g.nodes.map((n) => [n.nodeId, n.agentClass]));
              return g.relations.some((r) =>
                relationMatches(
                  pattern,
                  classOf.get(r.subjectNodeId) as string,
                  r,
                  classOf.get(r.objectNodeId) as string,
                ),
              );
            }),
          )
          .map((g) => g.sceneId),
      );
    const patterns = [
      ["pedestrian crossing_path ego within 10m"],
      ["car within_5m ego"],
      ["* approaching ego for 3s"],
      ["cyclist left_of *", "car ahead_of ego"],
    ];
    for (const p of patterns) {
      const expected = reference(p);
      expect(await index.graphs.match(p.map(parseGraphPattern))).toEqual(expected);
      expect(expected.size, p.join(";")).toBeGreaterThan(0);
      let builder = scenes().where("speedMaxMps", ">", 5);
      for (const text of p) builder = builder.graph(text);
      const plan = builder.plan();
      expect(ids(await index.query(plan).toArray())).toEqual(
        rows
          .filter((r) => expected.has(r.sceneId) && passesPlan(r, plan))
          .map((r) => r.sceneId)
          .sort(),
      );
    }
    const viaPostFilter = await openSceneIndex({ dir, maxInListIds: 1 });
    for (const p of patterns) {
      let builder = scenes().where("speedMaxMps", ">", 5);
      for (const text of p) builder = builder.graph(text);
      expect(ids(await viaPostFilter.query(builder.plan()).toArray())).toEqual(
        ids(await index.query(builder.plan()).toArray()),
      );
    }
    await viaPostFilter.close();
    // Replacing a scene's graph drops its old relations.
    const first = graphs[0] as SceneGraph;
    await index.graphs.put([{ ...first, relations: [] }]);
    expect((await index.graphs.get(first.sceneId))?.relations).toEqual([]);
    await expect(
      index.graphs.put([
        {
          ...first,
          relations: [
            { ...(graphs[1]?.relations[0] as SceneGraph["relations"][number]), subjectNodeId: "ghost" },
          ],
        },
      ]),
    ).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
  });

  it("excludes quarantined scenes unless the plan includes them, and follows quarantine changes", async () => {
    const quarantined = rows.filter((r) => r.quarantined);
    expect(quarantined.length).toBeGreaterThan(0);
    const all = await index.query(parseQuery("include:quarantined")).toArray();
    const visible = await index.scenes().toArray();
    expect(all).toHaveLength(3000);
    expect(visible).toHaveLength(3000 - quarantined.length);
    expect(visible.some((h) => h.quarantined)).toBe(false);
    const target = quarantined[0] as SceneRow;
    expect(await index.scenes().near(target.vector, { k: 1 }).toArray()).not.toContainEqual(
      expect.objectContaining({ sceneId: target.sceneId }),
    );
    expect(
      (await index.scenes().near(target.vector, { k: 1 }).includeQuarantined().toArray())[0]?.sceneId,
    ).toBe(target.sceneId);
    const clean = rows.find((r) => !r.quarantined) as SceneRow;
    const changed = await index.setQuarantined(clean.captureId, true);
    expect(changed).toBe(rows.filter((r) => r.captureId === clean.captureId).length);
    expect((await index.scenes().where("captureId", "=", clean.captureId).toArray()).length).toBe(0);
    await index.setQuarantined(clean.captureId, false);
    expect((await index.scenes().where("captureId", "=", clean.captureId).toArray()).length).toBe(changed);
  });

  it("searches bring-your-own-model vectors by embedder name, with the other predicates", async () => {
    const rand = seededRandom(17);
    const subset = rows.filter((_, i) => i % 3 === 0);
    const clip = new Map(subset.map((r) => [r.sceneId, Array.from({ length: 8 }, () => rand() - 0.5)]));
    await index.attachVectors(
      "clip",
      [...clip].map(([sceneId, vector]) => ({ sceneId, vector })),
    );
    expect(await index.embedders()).toContain("clip");
    const query = Array.from({ length: 8 }, () => rand() - 0.5);
    const plan = scenes().tag("day").where("speedMaxMps", ">", 6).near(query, { k: 8, using: "clip" }).plan();
    const expected = subset
      .filter((r) => passesPlan(r, plan))
      .map((r) => ({ id: r.sceneId, d: l2(clip.get(r.sceneId) ?? [], query) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 8);
    const hits = await index.query(plan).toArray();
    expect(hits.map((h) => h.sceneId)).toEqual(expected.map((e) => e.id));
    expect(hits[0]?.distance).toBeCloseTo(expected[0]?.d ?? -1, 4);
    const bySceneId = await index
      .scenes()
      .near(subset[1]?.sceneId as string, { k: 3, using: "clip" })
      .toArray();
    expect(bySceneId.map((h) => h.sceneId)).not.toContain(subset[1]?.sceneId);
    expect(bySceneId).toHaveLength(3);
    await expect(index.scenes().near(query, { using: "dino" }).toArray()).rejects.toMatchObject({
      code: "STRATA_E_NOT_FOUND",
    });
    await expect(
      index.attachVectors("clip", [{ sceneId: subset[0]?.sceneId as string, vector: [1, 2, 3] }]),
    ).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
    await expect(
      index.attachVectors("clip", [{ sceneId: "scene_nope", vector: query }]),
    ).rejects.toMatchObject({ code: "STRATA_E_NOT_FOUND" });
  });

  it("scores rarity as the mean distance to the k nearest other scenes", async () => {
    const targets = rows.slice(100, 110).filter((r) => !r.quarantined);
    const scores = await index.rarity(
      targets.map((r) => r.sceneId),
      { k: 5 },
    );
    const pool = rows.filter((r) => !r.quarantined);
    const expected = targets
      .map((t) => {
        const d = pool
          .filter((r) => r.sceneId !== t.sceneId)
          .map((r) => l2(r.vector, t.vector))
          .sort((a, b) => a - b)
          .slice(0, 5);
        return { sceneId: t.sceneId, rarity: d.reduce((a, b) => a + b, 0) / 5 };
      })
      .sort((a, b) => b.rarity - a.rarity);
    expect(scores.map((s) => s.sceneId)).toEqual(expected.map((e) => e.sceneId));
    scores.forEach((s, i) => expect(s.rarity).toBeCloseTo(expected[i]?.rarity ?? -1, 4));
  });

  it("explains which index filters first, with estimates close to the results", async () => {
    const plan = parseQuery("within:(0, 0, 300m) and speedMaxMps > 5 and tag:urban near:scene_00000010 k:5");
    const explained = await index.explain(plan);
    expect(explained.steps.map((s) => s.stage)).toEqual([
      "spatial-grid",
      "scalar-filter",
      "post-filter",
      "vector-search",
    ]);
    const spatialOnly = await index
      .query({ ...plan, near: undefined, predicates: [], tags: [], includeQuarantined: true })
      .toArray();
    expect(explained.steps[0]?.estimatedRows).toBe(spatialOnly.length);
    expect(explained.steps[1]?.index).toContain("LabelList(cells)");
    const filtered = await index.query({ ...plan, near: undefined }).toArray();
    expect(filtered.length).toBeGreaterThan(0);
    expect(Math.abs((explained.steps[2]?.estimatedRows ?? -1) - filtered.length)).toBeLessThanOrEqual(
      Math.max(5, filtered.length / 2),
    );
    expect(explained.steps[3]?.estimatedRows).toBe(5);
    expect(explained.lancePlan).toContain("KNNVectorDistance");
    expect(explained.query).toContain("within:(0, 0, 300m)");
    const graphOnly = await index.explain(parseQuery('graph:"car within_5m ego" and tag:day'));
    expect(graphOnly.steps.map((s) => s.stage)).toEqual(["scene-graph", "scalar-filter"]);
    expect(graphOnly.steps[1]?.estimatedRows).toBe((await index.query(graphOnly.plan).toArray()).length);
  });

  it("replaces scenes on upsert, removes captures everywhere, and persists across reopen", async () => {
    const target = rows[5] as SceneRow;
    const moved: SceneRow = {
      ...target,
      features: { ...target.features, speedMaxMps: 99 },
      trajectory: { xM: [5000, 5010], yM: [5000, 5000], headingRad: [0, 0] },
    };
    await index.upsert([moved]);
    live.set(moved.sceneId, moved);
    expect(await index.count()).toBe(3000);
    expect((await index.get(moved.sceneId))?.features.speedMaxMps).toBe(99);
    expect(
      ids(await index.scenes().within({ xM: 5005, yM: 5001, radiusM: 2 }).includeQuarantined().toArray()),
    ).toEqual([moved.sceneId]);

    const captureId = (rows[2500] as SceneRow).captureId;
    const inCapture = rows.filter((r) => r.captureId === captureId).map((r) => r.sceneId);
    expect(await index.deleteByCapture(captureId)).toBe(inCapture.length);
    expect(await index.count()).toBe(3000 - inCapture.length);
    const whole = scenes()
      .within({ xM: 0, yM: 0, radiusM: 2 * AREA_M })
      .includeQuarantined();
    const everywhere = await index.query(whole.plan()).toArray();
    expect(everywhere.some((h) => inCapture.includes(h.sceneId))).toBe(false);

    await index.close();
    index = await openSceneIndex({ dir });
    expect(index.vectorDim).toBe(DIM);
    expect(await index.count()).toBe(3000 - inCapture.length);
    expect(ids(await index.query(whole.plan()).toArray())).toEqual(ids(everywhere));
    expect((await index.spatialStats()).scenes).toBe(3000 - inCapture.length);
    await expect(openSceneIndex({ dir, vectorDim: DIM + 1 })).rejects.toBeInstanceOf(StrataError);
  });

  it("rejects malformed rows before writing anything", async () => {
    const good = rows[0] as SceneRow;
    await expect(index.upsert([{ ...good, sceneId: "bad_vector", vector: [1, 2] }])).rejects.toMatchObject({
      code: "STRATA_E_USAGE",
    });
    await expect(
      index.upsert([
        { ...good, sceneId: "bad_traj", trajectory: { xM: [0, Number.NaN], yM: [0, 0], headingRad: [0, 0] } },
      ]),
    ).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
    expect(await index.get("bad_vector")).toBeUndefined();
    expect(await index.get("bad_traj")).toBeUndefined();
  });

  it("keeps recall with an approximate vector index", async () => {
    const report = await index.createIndexes({ vectorIndex: "ivf_pq", numPartitions: 8 });
    expect(report.vectorIndex).toBe("ivf_pq");
    expect(index instanceof LanceSceneIndex).toBe(true);
    // LanceDB's vector search (the route while in-memory vectors reload, or with vectorRoute "lance").
    const onLance = await openSceneIndex({ dir, vectorRoute: "lance" });
    try {
      const rand = seededRandom(123);
      let found = 0;
      const current = [...live.values()].filter((r) => r.captureId !== (rows[2500] as SceneRow).captureId);
      for (let q = 0; q < 10; q++) {
        const vector = (current[Math.floor(rand() * current.length)] as SceneRow).vector;
        const plan = scenes().where("speedMaxMps", ">", 5).near(vector, { k: 10 }).plan();
        const truth = new Set(nearestIds(current, plan, vector, 10));
        for (const h of await onLance.query(plan).toArray()) if (truth.has(h.sceneId)) found++;
      }
      expect(found / 100).toBeGreaterThanOrEqual(0.9);
      const explained = await onLance.explain(parseQuery("speedMaxMps > 5 near:scene_00000010"));
      expect(explained.steps.at(-1)?.index).toMatch(/IVF_PQ/);
      expect(explained.lancePlan).toMatch(/ScalarIndexQuery|speedMaxMps_idx/);
    } finally {
      await onLance.close();
    }
  });
});
