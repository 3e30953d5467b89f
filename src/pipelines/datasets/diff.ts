/**
 * Diff of two versions: items added, removed and changed (same capture and same scene or overlapping
 * window, but a different window, topics, split or scene id), manifest-level changes, and the time
 * coverage gained and lost per topic and per capture.
 */
import { compareItems, normalizeManifest, versionIdOf } from "./manifest.ts";
import type { CaptureRange, DatasetItem, DatasetManifest, DatasetVersion } from "./types.ts";

export type ItemField = "window" | "topics" | "split" | "sceneId";

export interface IndexedItem {
  /** Position in its version's canonical item order. */
  index: number;
  item: DatasetItem;
}

export interface ItemChange {
  before: IndexedItem;
  after: IndexedItem;
  fields: ItemField[];
}

export interface CoverageDelta {
  /** Time ranges covered in the second version but not the first. */
  added: CaptureRange[];
  /** Time ranges covered in the first version but not the second. */
  removed: CaptureRange[];
  addedNs: bigint;
  removedNs: bigint;
}

export interface TopicDiff extends CoverageDelta {
  topic: string;
}

export interface CaptureDiff extends CoverageDelta {
  captureId: string;
}

export interface ManifestFieldChange {
  field: "datasetName" | "ontologyVersion" | "contractVersion" | "query" | "splitPolicy";
  before: unknown;
  after: unknown;
}

export interface VersionDiff {
  fromVersionId: string;
  toVersionId: string;
  added: IndexedItem[];
  removed: IndexedItem[];
  changed: ItemChange[];
  unchangedCount: number;
  manifest: ManifestFieldChange[];
  /** Topics whose coverage changed, by name. */
  byTopic: TopicDiff[];
  /** Captures whose coverage (any topic) changed, by capture id. */
  byCapture: CaptureDiff[];
}

type VersionLike = DatasetManifest | DatasetVersion;

export function diffVersions(from: VersionLike, to: VersionLike): VersionDiff {
  const a = normalizeManifest(manifestOf(from));
  const b = normalizeManifest(manifestOf(to));

  // 1. Exact matches (both lists are in canonical order: a merge walk).
  const restA: IndexedItem[] = [];
  const restB: IndexedItem[] = [];
  let i = 0;
  let j = 0;
  let unchangedCount = 0;
  while (i < a.items.length || j < b.items.length) {
    const x = a.items[i];
    const y = b.items[j];
    const order = x === undefined ? 1 : y === undefined ? -1 : compareItems(x, y);
    if (order === 0) {
      unchangedCount++;
      i++;
      j++;
    } else if (order < 0) {
      restA.push({ index: i, item: x as DatasetItem });
      i++;
    } else {
      restB.push({ index: j, item: y as DatasetItem });
      j++;
    }
  }

  // 2. Pair the rest: same capture and (same scene id, or overlapping windows); best pairs first.
  const candidates: Array<{ x: IndexedItem; y: IndexedItem; sameScene: boolean; overlapNs: bigint }> = [];
  const restBByCapture = groupBy(restB, (e) => e.item.captureId);
  for (const x of restA) {
    for (const y of restBByCapture.get(x.item.captureId) ?? []) {
      const sameScene = x.item.sceneId !== undefined && x.item.sceneId === y.item.sceneId;
      const overlapNs = overlap(x.item, y.item);
      if (sameScene || overlapNs > 0n) candidates.push({ x, y, sameScene, overlapNs });
    }
  }
  candidates.sort(
    (p, q) =>
      Number(q.sameScene) - Number(p.sameScene) ||
      (q.overlapNs > p.overlapNs ? 1 : q.overlapNs < p.overlapNs ? -1 : 0) ||
      p.x.index - q.x.index ||
      p.y.index - q.y.index,
  );
  const pairedA = new Set<number>();
  const pairedB = new Set<number>();
  const changed: ItemChange[] = [];
  for (const c of candidates) {
    if (pairedA.has(c.x.index) || pairedB.has(c.y.index)) continue;
    pairedA.add(c.x.index);
    pairedB.add(c.y.index);
    changed.push({ before: c.x, after: c.y, fields: changedFields(c.x.item, c.y.item) });
  }
  changed.sort((p, q) => p.before.index - q.before.index);

  const manifest: ManifestFieldChange[] = [];
  for (const field of [
    "datasetName",
    "ontologyVersion",
    "contractVersion",
    "query",
    "splitPolicy",
  ] as const) {
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field]))
      manifest.push({ field, before: a[field], after: b[field] });
  }

  const topics = [...new Set([...a.items, ...b.items].flatMap((item) => item.topics))].sort();
  const byTopic: TopicDiff[] = [];
  for (const topic of topics) {
    const delta = coverageDelta(
      a.items.filter((item) => item.topics.includes(topic)),
      b.items.filter((item) => item.topics.includes(topic)),
    );
    if (delta.added.length > 0 || delta.removed.length > 0) byTopic.push({ topic, ...delta });
  }
  const captureIds = [...new Set([...a.items, ...b.items].map((item) => item.captureId))].sort();
  const byCapture: CaptureDiff[] = [];
  for (const captureId of captureIds) {
    const delta = coverageDelta(
      a.items.filter((item) => item.captureId === captureId),
      b.items.filter((item) => item.captureId === captureId),
    );
    if (delta.added.length > 0 || delta.removed.length > 0) byCapture.push({ captureId, ...delta });
  }

  return {
    fromVersionId: versionIdOf(a),
    toVersionId: versionIdOf(b),
    added: restB.filter((e) => !pairedB.has(e.index)),
    removed: restA.filter((e) => !pairedA.has(e.index)),
    changed,
    unchangedCount,
    manifest,
    byTopic,
    byCapture,
  };
}

function manifestOf(version: VersionLike): DatasetManifest {
  return "manifest" in version ? version.manifest : version;
}

function changedFields(x: DatasetItem, y: DatasetItem): ItemField[] {
  const fields: ItemField[] = [];
  if (x.startNs !== y.startNs || x.endNs !== y.endNs) fields.push("window");
  if (x.topics.join("\u0000") !== y.topics.join("\u0000")) fields.push("topics");
  if (x.split !== y.split) fields.push("split");
  if (x.sceneId !== y.sceneId) fields.push("sceneId");
  return fields;
}

function overlap(x: DatasetItem, y: DatasetItem): bigint {
  const start = x.startNs > y.startNs ? x.startNs : y.startNs;
  const end = x.endNs < y.endNs ? x.endNs : y.endNs;
  return end > start ? end - start : 0n;
}

function groupBy<T>(values: readonly T[], key: (value: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const value of values) {
    const k = key(value);
    const list = out.get(k) ?? [];
    list.push(value);
    out.set(k, list);
  }
  return out;
}

// ---- time coverage as sorted, disjoint half-open ranges per capture ----

type Range = [startNs: bigint, endNs: bigint];

function coverageDelta(before: readonly DatasetItem[], after: readonly DatasetItem[]): CoverageDelta {
  const rangesBefore = coverage(before);
  const rangesAfter = coverage(after);
  const added: CaptureRange[] = [];
  const removed: CaptureRange[] = [];
  for (const captureId of [...new Set([...rangesBefore.keys(), ...rangesAfter.keys()])].sort()) {
    const x = rangesBefore.get(captureId) ?? [];
    const y = rangesAfter.get(captureId) ?? [];
    for (const [startNs, endNs] of subtract(y, x)) added.push({ captureId, startNs, endNs });
    for (const [startNs, endNs] of subtract(x, y)) removed.push({ captureId, startNs, endNs });
  }
  const total = (ranges: CaptureRange[]) => ranges.reduce((sum, r) => sum + (r.endNs - r.startNs), 0n);
  return { added, removed, addedNs: total(added), removedNs: total(removed) };
}

function coverage(items: readonly DatasetItem[]): Map<string, Range[]> {
  const byCapture = groupBy(items, (item) => item.captureId);
  const out = new Map<string, Range[]>();
  for (const [captureId, list] of byCapture) {
    const sorted = list
      .map((item): Range => [item.startNs, item.endNs])
      .sort((p, q) => (p[0] < q[0] ? -1 : p[0] > q[0] ? 1 : 0));
    const merged: Range[] = [];
    for (const range of sorted) {
      const last = merged[merged.length - 1];
      if (last !== undefined && range[0] <= last[1]) {
        if (range[1] > last[1]) last[1] = range[1];
      } else merged.push([range[0], range[1]]);
    }
    out.set(captureId, merged);
  }
  return out;
}

/** x minus y, both sorted and disjoint. */
function subtract(x: readonly Range[], y: readonly Range[]): Range[] {
  const out: Range[] = [];
  let k = 0;
  for (const [start, end] of x) {
    let cursor = start;
    while (k < y.length && (y[k] as Range)[1] <= cursor) k++;
    let m = k;
    while (m < y.length && (y[m] as Range)[0] < end) {
      const [ys, ye] = y[m] as Range;
      if (ys > cursor) out.push([cursor, ys]);
      if (ye > cursor) cursor = ye;
      if (cursor >= end) break;
      m++;
    }
    if (cursor < end) out.push([cursor, end]);
  }
  return out;
}
