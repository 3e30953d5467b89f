/**
 * Edge-case mining: rule miners over scene features and tags, plus rarity (mean distance to the k nearest
 * scenes in embedding space, from the search index). A scene's score is the number of rules it meets plus
 * its rarity percentile (0..1), so rule hits rank first and rarity orders within them and among the rest.
 *
 *   hard_brake      accelMinMps2 below −4 m/s² (configurable)
 *   near_miss       minTtcS below 1.5 s, or a detected near miss (an agent in the corridor under 2 m)
 *   cut_in          a detected cut-in
 *   sensor_dropout  at least one sensor gap over 3× its period
 */
import type { RarityScore, SceneRecord } from "../../search/index.ts";

export interface MiningRule {
  name: string;
  description: string;
  /** Why the scene meets the rule, or undefined. */
  test(scene: SceneRecord): string | undefined;
}

export interface MiningThresholds {
  hardBrakeMps2: number;
  nearMissTtcSecs: number;
}

export function miningRules(
  thresholds: MiningThresholds = { hardBrakeMps2: -4, nearMissTtcSecs: 1.5 },
): MiningRule[] {
  return [
    {
      name: "hard_brake",
      description: `longitudinal acceleration below ${thresholds.hardBrakeMps2} m/s²`,
      test: (s) =>
        s.features.accelMinMps2 < thresholds.hardBrakeMps2
          ? `accelMinMps2 ${s.features.accelMinMps2.toFixed(2)} m/s²`
          : undefined,
    },
    {
      name: "near_miss",
      description: `time-to-collision below ${thresholds.nearMissTtcSecs} s, or an agent in the ego's corridor closer than the near-miss gap`,
      test: (s) => {
        if (s.features.minTtcS !== null && s.features.minTtcS < thresholds.nearMissTtcSecs) {
          return `minTtcS ${s.features.minTtcS.toFixed(2)} s`;
        }
        return s.tags.includes("near_miss")
          ? `near miss detected (nearest agent ${s.features.nearestAgentM?.toFixed(2) ?? "?"} m)`
          : undefined;
      },
    },
    {
      name: "cut_in",
      description: "a vehicle cut into the ego's lane ahead",
      test: (s) => (s.tags.includes("cut_in") ? "cut-in detected" : undefined),
    },
    {
      name: "sensor_dropout",
      description: "a sensor topic went silent for over 3× its period",
      test: (s) => {
        if (s.features.sensorDropouts === 0) return undefined;
        const topics = s.tags.filter((t) => t.startsWith("dropout:")).map((t) => t.slice("dropout:".length));
        return `${s.features.sensorDropouts} dropout(s)${topics.length > 0 ? ` on ${topics.join(", ")}` : ""}`;
      },
    },
  ];
}

export interface MinedScene {
  sceneId: string;
  captureId: string;
  startNs: bigint;
  endNs: bigint;
  tags: string[];
  rules: Array<{ rule: string; reason: string }>;
  /** Mean kNN distance; null when the index could not score it. */
  rarity: number | null;
  /** Share of scored scenes with a lower rarity (0..1). */
  rarityPercentile: number;
  score: number;
}

export interface MineOptions {
  /** Keep the N best. Default 20. */
  top?: number;
  rules?: readonly MiningRule[];
}

/** Ranks scenes by rules met and rarity (pure; the caller supplies scenes and rarity scores). */
export function rankEdgeCases(
  scenes: readonly SceneRecord[],
  rarity: readonly RarityScore[],
  options: MineOptions = {},
): MinedScene[] {
  const rules = options.rules ?? miningRules();
  const sorted = [...rarity].sort((a, b) => a.rarity - b.rarity);
  const percentile = new Map<string, number>();
  sorted.forEach((r, i) => percentile.set(r.sceneId, sorted.length <= 1 ? 1 : i / (sorted.length - 1)));
  const rarityOf = new Map(rarity.map((r) => [r.sceneId, r.rarity]));
  const mined = scenes.map((scene): MinedScene => {
    const hits: MinedScene["rules"] = [];
    for (const rule of rules) {
      const reason = rule.test(scene);
      if (reason !== undefined) hits.push({ rule: rule.name, reason });
    }
    const rarityPercentile = percentile.get(scene.sceneId) ?? 0;
    return {
      sceneId: scene.sceneId,
      captureId: scene.captureId,
      startNs: scene.startNs,
      endNs: scene.endNs,
      tags: scene.tags,
      rules: hits,
      rarity: rarityOf.get(scene.sceneId) ?? null,
      rarityPercentile: Number(rarityPercentile.toFixed(4)),
      score: Number((hits.length + rarityPercentile).toFixed(4)),
    };
  });
  mined.sort((a, b) => b.score - a.score || a.sceneId.localeCompare(b.sceneId));
  return mined.slice(0, Math.max(1, options.top ?? 20));
}
