/**
 * Failure traceability ("blame"): given the samples a model failed on, which captures, rigs, sites,
 * calibrations, QA verdicts/flags or scene-feature ranges are over-represented among them compared with
 * the version as a whole?
 *
 * For each (dimension, value): K of the N samples have it, k of the n failing ones. The failing samples
 * are a draw without replacement from the version, so under "no effect" k is hypergeometric with mean
 * nK/N and variance n(K/N)(1−K/N)(N−n)/(N−1); causes are ranked by the z-score of k, with the lift
 * (k/n)/(K/N) and a smoothed (+½) log odds ratio beside it. Equal evidence ranks the more specific
 * dimension first (a capture before its rig).
 */
import type { CaptureRecord } from "../../catalog/index.ts";
import { StrataError } from "../../core/index.ts";
import { type CaptureFactSource, captureFacts } from "../lineage/facts.ts";
import { parseSampleId } from "./manifest.ts";
import { type DatasetDeps, requireVersion } from "./store.ts";
import type { DatasetItem, DatasetVersion } from "./types.ts";

/** Scene features by scene id (from the scenes module): numbers are bucketed, other values used as is. */
export type SceneFeatureSource = (
  sceneIds: readonly string[],
) => Promise<ReadonlyMap<string, Readonly<Record<string, number | string | boolean | null>>>>;

export interface BlameDeps extends Pick<DatasetDeps, "catalog"> {
  factSources?: readonly CaptureFactSource[];
  sceneFeatures?: SceneFeatureSource;
}

export interface BlameOptions {
  /** Report a value only when at least this many failing samples have it (default 2). */
  minFailures?: number;
  /** Quantile buckets per numeric scene feature (default 4). */
  featureBuckets?: number;
  /** At most this many causes (default 20). */
  limit?: number;
}

export type BlameDimension =
  | "capture"
  | "calibration"
  | "qa_flag"
  | "qa_verdict"
  | "rig"
  | "site"
  | "split"
  | `feature:${string}`;

export interface BlameCause {
  dimension: BlameDimension;
  /** `(none)` when the samples have no value (e.g. no calibration recorded). */
  value: string;
  /** Failing samples with this value (k) and their share k/n. */
  failCount: number;
  failShare: number;
  /** Samples of the version with this value (K) and their share K/N. */
  baseCount: number;
  baseShare: number;
  /** failShare / baseShare. */
  lift: number;
  /** Hypergeometric z-score of failCount; the ranking key. */
  zScore: number;
  /** ln of the +½-smoothed odds ratio (failing vs passing samples). */
  logOddsRatio: number;
}

export interface BlameReport {
  versionId: string;
  /** N: the version's samples. */
  sampleCount: number;
  /** n: distinct failing samples of this version. */
  failingCount: number;
  /** Ids that are not samples of this version (other versions, malformed, out of range). */
  ignoredSampleIds: string[];
  /** Over-represented values, most suspicious first. */
  causes: BlameCause[];
}

const NONE = "(none)";
const SPECIFICITY: Record<string, number> = {
  capture: 0,
  calibration: 1,
  qa_flag: 2,
  qa_verdict: 3,
  rig: 4,
  site: 5,
  split: 7,
};

export async function blame(
  failingSampleIds: readonly string[],
  version: string | DatasetVersion,
  deps: BlameDeps,
  options: BlameOptions = {},
): Promise<BlameReport> {
  const resolved = typeof version === "string" ? await requireVersion(version, deps) : version;
  const items = resolved.manifest.items;
  const failing = new Set<number>();
  const ignored: string[] = [];
  for (const id of new Set(failingSampleIds)) {
    const parsed = parseSampleId(id);
    if (parsed === undefined || parsed.versionId !== resolved.versionId || parsed.itemIndex >= items.length) {
      ignored.push(id);
    } else failing.add(parsed.itemIndex);
  }
  if (failing.size === 0) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `none of the ${failingSampleIds.length} sample ids is a sample of ${resolved.versionId}`,
      {
        versionId: resolved.versionId,
      },
      { hint: "Sample ids look like <versionId>/<itemIndex>, for the version the model was evaluated on." },
    );
  }

  const valuesOf = await itemValues(items, deps, options.featureBuckets ?? 4);
  const N = items.length;
  const n = failing.size;
  const counts = new Map<string, { dimension: BlameDimension; value: string; K: number; k: number }>();
  valuesOf.forEach((values, index) => {
    for (const [dimension, value] of values) {
      const key = `${dimension}\u0000${value}`;
      const entry = counts.get(key) ?? { dimension, value, K: 0, k: 0 };
      entry.K++;
      if (failing.has(index)) entry.k++;
      counts.set(key, entry);
    }
  });

  const minFailures = options.minFailures ?? 2;
  const causes: BlameCause[] = [];
  for (const { dimension, value, K, k } of counts.values()) {
    const p = K / N;
    const mean = n * p;
    if (k < minFailures || k <= mean) continue;
    const variance = N > 1 ? (n * p * (1 - p) * (N - n)) / (N - 1) : 0;
    const zScore = variance > 0 ? (k - mean) / Math.sqrt(variance) : 0;
    const logOddsRatio = Math.log((k + 0.5) / (n - k + 0.5) / ((K - k + 0.5) / (N - n - (K - k) + 0.5)));
    causes.push({
      dimension,
      value,
      failCount: k,
      failShare: k / n,
      baseCount: K,
      baseShare: p,
      lift: k / n / p,
      zScore,
      logOddsRatio,
    });
  }
  causes.sort(
    (a, b) =>
      b.zScore - a.zScore ||
      b.logOddsRatio - a.logOddsRatio ||
      specificity(a.dimension) - specificity(b.dimension) ||
      (a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
  );
  return {
    versionId: resolved.versionId,
    sampleCount: N,
    failingCount: n,
    ignoredSampleIds: ignored,
    causes: causes.slice(0, options.limit ?? 20),
  };
}

function specificity(dimension: BlameDimension): number {
  return SPECIFICITY[dimension] ?? 6;
}

/** The (dimension, value) pairs of every item, in item order. */
async function itemValues(
  items: readonly DatasetItem[],
  deps: BlameDeps,
  featureBuckets: number,
): Promise<Array<Array<[BlameDimension, string]>>> {
  const captures = new Map<string, CaptureRecord | undefined>();
  const facts = new Map<string, Awaited<ReturnType<typeof captureFacts>> | undefined>();
  for (const captureId of new Set(items.map((i) => i.captureId))) {
    const capture = await deps.catalog.getCapture(captureId);
    captures.set(captureId, capture);
    facts.set(
      captureId,
      capture === undefined
        ? undefined
        : await captureFacts(capture, {
            catalog: deps.catalog,
            ...(deps.factSources === undefined ? {} : { factSources: deps.factSources }),
          }),
    );
  }

  const sceneIds = [...new Set(items.flatMap((i) => (i.sceneId === undefined ? [] : [i.sceneId])))];
  const features: Awaited<ReturnType<SceneFeatureSource>> =
    deps.sceneFeatures !== undefined && sceneIds.length > 0 ? await deps.sceneFeatures(sceneIds) : new Map();
  const bucketers = new Map<string, (value: number) => string>();
  const numericByFeature = new Map<string, number[]>();
  for (const item of items) {
    const f = item.sceneId === undefined ? undefined : features.get(item.sceneId);
    for (const [name, value] of Object.entries(f ?? {})) {
      if (typeof value === "number" && Number.isFinite(value)) {
        const list = numericByFeature.get(name) ?? [];
        list.push(value);
        numericByFeature.set(name, list);
      }
    }
  }
  for (const [name, values] of numericByFeature)
    bucketers.set(name, quantileBucketer(values, featureBuckets));

  return items.map((item) => {
    const capture = captures.get(item.captureId);
    const fact = facts.get(item.captureId);
    const values: Array<[BlameDimension, string]> = [
      ["capture", item.captureId],
      ["rig", capture?.rig ?? NONE],
      ["site", capture?.site ?? NONE],
      ["calibration", fact?.calibrationVersion ?? NONE],
      ["qa_verdict", fact?.qaVerdict ?? NONE],
      ["split", item.split],
    ];
    for (const flag of fact?.qaFlags ?? []) values.push(["qa_flag", flag]);
    const f = item.sceneId === undefined ? undefined : features.get(item.sceneId);
    for (const [name, value] of Object.entries(f ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (value === null) continue;
      const bucket = typeof value === "number" ? bucketers.get(name)?.(value) : String(value);
      if (bucket !== undefined) values.push([`feature:${name}`, bucket]);
    }
    return values;
  });
}

/**
 * Buckets at the population's quantiles (distinct edges), labelled `[lo, hi)` (`[lo, hi]` for the last);
 * with no more distinct values than buckets, each value is its own bucket.
 */
function quantileBucketer(values: readonly number[], buckets: number): (value: number) => string {
  const sorted = [...values].sort((a, b) => a - b);
  const format = (x: number) => Number(x.toPrecision(4)).toString();
  // Few distinct values (flags, counts): each value is its own bucket.
  if (new Set(sorted).size <= buckets) return (value) => format(value);
  const edges: number[] = [];
  for (let q = 0; q <= buckets; q++) {
    const edge = sorted[
      Math.min(sorted.length - 1, Math.floor((q / buckets) * (sorted.length - 1) + 0.5))
    ] as number;
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge);
  }
  return (value) => {
    if (edges.length === 1) return `[${format(edges[0] as number)}]`;
    for (let i = 0; i < edges.length - 1; i++) {
      const lo = edges[i] as number;
      const hi = edges[i + 1] as number;
      const last = i === edges.length - 2;
      if (value < hi || (last && value <= hi)) return `[${format(lo)}, ${format(hi)}${last ? "]" : ")"}`;
    }
    return `[${format(edges[edges.length - 1] as number)}]`;
  };
}
