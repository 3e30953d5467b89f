/**
 * Leakage check of a version: the same capture, site or rig on both sides of a split boundary, and above
 * all overlapping time windows of one capture in different splits (the same frames in train and test).
 * Item indexes are positions in the canonical item order (the sample ids' `<itemIndex>`).
 */
import { normalizeManifest } from "./manifest.ts";
import type { DatasetManifest, Split, SplitGroupBy } from "./types.ts";

export type LeakageFinding =
  | {
      kind: "overlapping_windows";
      severity: "error";
      captureId: string;
      splits: [Split, Split];
      itemIndexes: [number, number];
      overlapStartNs: bigint;
      overlapEndNs: bigint;
      message: string;
    }
  | {
      kind: "shared_capture";
      severity: "error";
      captureId: string;
      splits: Split[];
      itemIndexes: number[];
      message: string;
    }
  | {
      kind: "shared_group";
      severity: "error";
      groupBy: "site" | "rig";
      group: string;
      splits: Split[];
      captureIds: string[];
      message: string;
    }
  | {
      kind: "unknown_group";
      severity: "warning";
      groupBy: "site" | "rig";
      captureIds: string[];
      message: string;
    };

export interface LeakageReport {
  /** true when there is no finding of severity `error`. */
  ok: boolean;
  findings: LeakageFinding[];
}

export interface LeakageOptions {
  /** Where each capture was recorded; needed to check site/rig grouping. */
  captures?: ReadonlyMap<string, { site: string | null; rig: string | null }>;
  /** Default: the version's split policy's groupBy, else `capture`. */
  groupBy?: SplitGroupBy;
}

export function checkLeakage(manifest: DatasetManifest, options: LeakageOptions = {}): LeakageReport {
  const { items, splitPolicy } = normalizeManifest(manifest);
  const groupBy = options.groupBy ?? splitPolicy?.groupBy ?? "capture";
  const findings: LeakageFinding[] = [];

  const indexesByCapture = new Map<string, number[]>();
  items.forEach((item, index) => {
    const list = indexesByCapture.get(item.captureId) ?? [];
    list.push(index);
    indexesByCapture.set(item.captureId, list);
  });

  for (const [captureId, indexes] of indexesByCapture) {
    const splits = distinct(indexes.map((i) => items[i]?.split as Split));
    if (splits.length < 2) continue;
    const byStart = [...indexes].sort((a, b) => {
      const x = items[a]?.startNs as bigint;
      const y = items[b]?.startNs as bigint;
      return x < y ? -1 : x > y ? 1 : a - b;
    });
    for (let i = 0; i < byStart.length; i++) {
      const a = items[byStart[i] as number];
      if (a === undefined) continue;
      for (let j = i + 1; j < byStart.length; j++) {
        const b = items[byStart[j] as number];
        if (b === undefined || b.startNs >= a.endNs) break;
        if (a.split === b.split) continue;
        const overlapStartNs = b.startNs;
        const overlapEndNs = a.endNs < b.endNs ? a.endNs : b.endNs;
        findings.push({
          kind: "overlapping_windows",
          severity: "error",
          captureId,
          splits: [a.split, b.split],
          itemIndexes: [byStart[i] as number, byStart[j] as number],
          overlapStartNs,
          overlapEndNs,
          message: `${captureId}: items ${byStart[i]} (${a.split}) and ${byStart[j]} (${b.split}) overlap in [${overlapStartNs}, ${overlapEndNs}) ns`,
        });
      }
    }
    findings.push({
      kind: "shared_capture",
      severity: "error",
      captureId,
      splits,
      itemIndexes: indexes,
      message: `${captureId} has items in ${splits.join(" and ")}`,
    });
  }

  if (groupBy === "site" || groupBy === "rig") {
    const splitsByGroup = new Map<string, { splits: Set<Split>; captureIds: Set<string> }>();
    const unknown: string[] = [];
    for (const [captureId, indexes] of indexesByCapture) {
      const info = options.captures?.get(captureId);
      const group = info === undefined ? null : groupBy === "site" ? info.site : info.rig;
      if (group === null) {
        unknown.push(captureId);
        continue;
      }
      const entry = splitsByGroup.get(group) ?? { splits: new Set(), captureIds: new Set() };
      for (const i of indexes) entry.splits.add(items[i]?.split as Split);
      entry.captureIds.add(captureId);
      splitsByGroup.set(group, entry);
    }
    for (const [group, entry] of [...splitsByGroup].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (entry.splits.size < 2) continue;
      const splits = distinct([...entry.splits]);
      findings.push({
        kind: "shared_group",
        severity: "error",
        groupBy,
        group,
        splits,
        captureIds: [...entry.captureIds].sort(),
        message: `${groupBy} ${group} has items in ${splits.join(" and ")}`,
      });
    }
    if (unknown.length > 0) {
      findings.push({
        kind: "unknown_group",
        severity: "warning",
        groupBy,
        captureIds: unknown.sort(),
        message: `${unknown.length} capture(s) have no ${groupBy}; their ${groupBy} leakage cannot be checked`,
      });
    }
  }

  return { ok: findings.every((f) => f.severity !== "error"), findings };
}

const SPLIT_ORDER: Record<Split, number> = { train: 0, val: 1, test: 2 };

function distinct(splits: Split[]): Split[] {
  return [...new Set(splits)].sort((a, b) => SPLIT_ORDER[a] - SPLIT_ORDER[b]);
}
