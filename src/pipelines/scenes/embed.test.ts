import { describe, expect, it } from "vitest";
import type { SceneFeatures, SceneGraph, SceneRecord } from "../../search/index.ts";
import { BUILTIN_EMBEDDING_DIM, builtinEmbedder, builtinEmbedding, type SceneForEmbedding } from "./embed.ts";
import { miningRules, rankEdgeCases } from "./mine.ts";

const features = (over: Partial<SceneFeatures> = {}): SceneFeatures => ({
  speedMinMps: 5,
  speedMeanMps: 8,
  speedMaxMps: 10,
  accelMinMps2: -1,
  accelMaxMps2: 1,
  jerkMaxMps3: 2,
  yawRateMaxRadps: 0.05,
  distanceM: 80,
  stops: 0,
  nearestAgentM: 12,
  minTtcS: null,
  pedestrians: 1,
  cars: 3,
  cyclists: 0,
  brightness: 0.4,
  lidarClutter: 0.0002,
  sensorDropouts: 0,
  ateRmseM: null,
  rpeRmseM: null,
  ...over,
});
const graph: SceneGraph = {
  sceneId: "s",
  captureId: "c",
  nodes: [{ nodeId: "ego", kind: "ego", agentClass: "ego", trackId: null }],
  relations: [],
};
const scene = (over: Partial<SceneForEmbedding> = {}): SceneForEmbedding => ({
  sceneId: "s",
  features: features(),
  tags: [],
  graph,
  durationSecs: 10,
  ...over,
});

describe("built-in embedding", () => {
  it("is deterministic, fixed-size and bounded", async () => {
    const a = builtinEmbedding(scene());
    expect(a.length).toBe(BUILTIN_EMBEDDING_DIM);
    expect(Array.from(a)).toEqual(Array.from(builtinEmbedding(scene())));
    const extreme = builtinEmbedding(
      scene({ features: features({ speedMaxMps: 1e6, accelMinMps2: -1e6, sensorDropouts: 1e9 }) }),
    );
    for (const v of extreme) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    const [viaInterface] = await builtinEmbedder.embed([scene()]);
    expect(Array.from(viaInterface ?? [])).toEqual(Array.from(a));
  });

  it("puts similar scenes closer than different ones", () => {
    const d = (x: Float32Array, y: Float32Array) =>
      Math.hypot(...Array.from(x, (v, i) => v - (y[i] as number)));
    const base = builtinEmbedding(scene());
    const similar = builtinEmbedding(scene({ features: features({ speedMeanMps: 8.5 }) }));
    const braking = builtinEmbedding(
      scene({ features: features({ accelMinMps2: -6.5, jerkMaxMps3: 12 }), tags: ["hard_brake"] }),
    );
    expect(d(base, similar)).toBeLessThan(d(base, braking));
  });
});

describe("edge-case mining", () => {
  const record = (sceneId: string, over: Partial<SceneFeatures>, tags: string[] = []): SceneRecord => ({
    sceneId,
    captureId: "cap",
    startNs: 0n,
    endNs: 10n,
    site: "",
    rig: "",
    quarantined: false,
    tags,
    features: features(over),
    xM: 0,
    yM: 0,
    headingRad: 0,
  });

  it("applies the rules", () => {
    const rules = miningRules();
    const hit = (r: SceneRecord) =>
      rules.filter((rule) => rule.test(r) !== undefined).map((rule) => rule.name);
    expect(hit(record("a", { accelMinMps2: -4.5 }))).toEqual(["hard_brake"]);
    expect(hit(record("b", { accelMinMps2: -3.9, minTtcS: 1.2 }))).toEqual(["near_miss"]);
    expect(hit(record("c", {}, ["near_miss", "cut_in"]))).toEqual(["near_miss", "cut_in"]);
    expect(hit(record("d", { sensorDropouts: 2 }, ["dropout:lidar/points"]))).toEqual(["sensor_dropout"]);
    expect(rules[3]?.test(record("d", { sensorDropouts: 2 }, ["dropout:lidar/points"]))).toBe(
      "2 dropout(s) on lidar/points",
    );
    expect(hit(record("e", {}))).toEqual([]);
  });

  it("ranks rule hits first, then rarity", () => {
    const scenes = [
      record("plain", {}),
      record("rare", {}),
      record("brake", { accelMinMps2: -6 }),
      record("two", { accelMinMps2: -6, sensorDropouts: 1 }),
    ];
    const rarity = [
      { sceneId: "plain", rarity: 0.1 },
      { sceneId: "rare", rarity: 0.9 },
      { sceneId: "brake", rarity: 0.2 },
      { sceneId: "two", rarity: 0.05 },
    ];
    const ranked = rankEdgeCases(scenes, rarity, { top: 3 });
    expect(ranked.map((m) => m.sceneId)).toEqual(["two", "brake", "rare"]);
    expect(ranked[0]?.score).toBeCloseTo(2, 9);
    expect(ranked[2]?.rarityPercentile).toBe(1);
  });
});
