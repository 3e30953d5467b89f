/**
 * Scene embeddings. `Embedder` is the pluggable interface (a model, a service, a file of vectors); the
 * built-in one is deterministic and needs no model: a fixed 32-d vector of normalised features and
 * scene-graph statistics, each squashed into (−1, 1) with tanh so no single feature dominates distances.
 *
 * Layout of the built-in vector (index: value before tanh):
 *    0 speedMean/10   1 speedMax/10   2 speedMin/10   3 accelMin/3   4 accelMax/3   5 jerkMax/10
 *    6 yawRateMax/0.3   7 distance/100   8 stops   9 closeness exp(−nearestAgent/5) (0 without agents)
 *   10 urgency exp(−minTtc/2) (0 without a TTC)   11 ln(1+pedestrians)   12 ln(1+cars)/2   13 ln(1+cyclists)
 *   14 (0.5 − brightness)·4 (0 unknown)   15 lidarClutter·50   16 ln(1+sensorDropouts)   17 ln(1+ATE)   18 ln(1+RPE)
 *   19–26 ln(1+relation spans)/2 for ahead_of, behind, left_of, right_of, crossing_path, approaching,
 *         following, within
 *   27–31 1 when tagged hard_brake, near_miss, cut_in, crossing, u_turn (else 0), times 2
 */
import type { RelationKind, SceneFeatures, SceneGraph } from "../../search/index.ts";

export interface SceneForEmbedding {
  sceneId: string;
  features: SceneFeatures;
  tags: readonly string[];
  graph: SceneGraph;
  durationSecs: number;
}

/** Turns scenes into vectors of one fixed dimension. */
export interface Embedder {
  /** The vector set's name in the index (lowercase letters, digits, _). */
  readonly name: string;
  readonly dim: number;
  embed(scenes: readonly SceneForEmbedding[]): Promise<Float32Array[]>;
}

export const BUILTIN_EMBEDDER_NAME = "builtin";
export const BUILTIN_EMBEDDING_DIM = 32;

const RELATIONS: readonly RelationKind[] = [
  "ahead_of",
  "behind",
  "left_of",
  "right_of",
  "crossing_path",
  "approaching",
  "following",
  "within",
];
const EVENT_TAGS = ["hard_brake", "near_miss", "cut_in", "crossing", "u_turn"] as const;

/** The built-in vector of one scene (pure). */
export function builtinEmbedding(scene: SceneForEmbedding): Float32Array {
  const f = scene.features;
  const raw: number[] = [
    f.speedMeanMps / 10,
    f.speedMaxMps / 10,
    f.speedMinMps / 10,
    f.accelMinMps2 / 3,
    f.accelMaxMps2 / 3,
    f.jerkMaxMps3 / 10,
    f.yawRateMaxRadps / 0.3,
    f.distanceM / 100,
    f.stops,
    f.nearestAgentM === null ? 0 : Math.exp(-f.nearestAgentM / 5),
    f.minTtcS === null ? 0 : Math.exp(-f.minTtcS / 2),
    Math.log1p(f.pedestrians),
    Math.log1p(f.cars) / 2,
    Math.log1p(f.cyclists),
    f.brightness === null ? 0 : (0.5 - f.brightness) * 4,
    (f.lidarClutter ?? 0) * 50,
    Math.log1p(f.sensorDropouts),
    Math.log1p(f.ateRmseM ?? 0),
    Math.log1p(f.rpeRmseM ?? 0),
  ];
  const counts = new Map<RelationKind, number>();
  for (const r of scene.graph.relations) counts.set(r.relation, (counts.get(r.relation) ?? 0) + 1);
  for (const kind of RELATIONS) raw.push(Math.log1p(counts.get(kind) ?? 0) / 2);
  const tags = new Set(scene.tags);
  for (const tag of EVENT_TAGS) raw.push(tags.has(tag) ? 2 : 0);
  const out = new Float32Array(BUILTIN_EMBEDDING_DIM);
  raw.forEach((value, i) => {
    out[i] = Math.tanh(Number.isFinite(value) ? value : 0);
  });
  return out;
}

export const builtinEmbedder: Embedder = {
  name: BUILTIN_EMBEDDER_NAME,
  dim: BUILTIN_EMBEDDING_DIM,
  embed: async (scenes) => scenes.map(builtinEmbedding),
};
