/**
 * Deterministic, leakage-free split assignment. Items are grouped (by capture, site or rig); groups are
 * ordered by SHA-256(seed, group key), so the order depends on neither the input order nor the other
 * groups; each group in turn goes whole to the split furthest below its target (ties: train, val,
 * test). A group therefore never straddles splits; with many small groups the splits approach the ratios.
 */
import { sha256Hex } from "../../core/index.ts";
import { normalizeSplitPolicy } from "./manifest.ts";
import { SPLITS, type Split, type SplitGroupBy, type SplitPolicy } from "./types.ts";

/** What assignSplits needs of an item: its capture and, for site/rig grouping, where it was recorded. */
export interface SplitCandidate {
  captureId: string;
  site?: string | null;
  rig?: string | null;
  /** Weight of the item towards the ratios (default 1; e.g. the window's duration in seconds). */
  weight?: number;
}

/**
 * The group key of an item. A capture without a site (or rig) cannot be proven apart from any other, so
 * it becomes its own group keyed by capture, and `checkLeakage` cannot flag it either: record sites and rigs.
 */
export function splitGroupOf(item: SplitCandidate, groupBy: SplitGroupBy): string {
  if (groupBy === "site" && item.site != null) return `site:${item.site}`;
  if (groupBy === "rig" && item.rig != null) return `rig:${item.rig}`;
  return `capture:${item.captureId}`;
}

/** Returns the items (same order) each with its split. Same items + same policy → same splits. */
export function assignSplits<T extends SplitCandidate>(
  items: readonly T[],
  policy: SplitPolicy,
): Array<T & { split: Split }> {
  const { ratios, groupBy, seed } = normalizeSplitPolicy(policy);
  const weightOfGroup = new Map<string, number>();
  for (const item of items) {
    const weight = item.weight ?? 1;
    if (!Number.isFinite(weight) || weight < 0) throw new RangeError(`item weight must be ≥ 0: ${weight}`);
    const key = splitGroupOf(item, groupBy);
    weightOfGroup.set(key, (weightOfGroup.get(key) ?? 0) + weight);
  }
  const ratioSum = ratios.train + ratios.val + ratios.test;
  const totalWeight = [...weightOfGroup.values()].reduce((a, b) => a + b, 0);
  const targets = SPLITS.map((split) => ({
    split,
    target: (ratios[split] / ratioSum) * totalWeight,
    filled: 0,
  })).filter((t) => t.target > 0 || (totalWeight === 0 && ratios[t.split] > 0));

  const ordered = [...weightOfGroup.entries()]
    .map(([key, weight]) => ({ key, weight, rank: sha256Hex(`${seed}\u0000${key}`) }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  const splitOfGroup = new Map<string, Split>();
  for (const group of ordered) {
    let best = targets[0];
    for (const t of targets)
      if (best !== undefined && t.target - t.filled > best.target - best.filled) best = t;
    if (best === undefined) throw new RangeError("no split has a ratio > 0");
    best.filled += group.weight;
    splitOfGroup.set(group.key, best.split);
  }
  return items.map((item) => ({ ...item, split: splitOfGroup.get(splitGroupOf(item, groupBy)) as Split }));
}
