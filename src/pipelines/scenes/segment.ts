/**
 * Segmentation: the time windows a capture becomes scenes of.
 *
 * - Fixed windows of `windowSecs` every `hopSecs` from the capture's start; the last one ends at the
 *   capture's end (a capture shorter than a window is one window).
 * - Event windows: each detected event of an aligned kind, padded by `eventPadSecs` on both sides, at least
 *   `minEventWindowSecs` and at most 3 × `windowSecs` long; overlapping events of one kind share a window.
 *
 * Windows are clipped to the capture; near duplicates are folded together (see `segmentCapture`).
 */
import { StrataError } from "../../core/index.ts";
import type { SceneEvent, SceneEventKind } from "./events.ts";
import type { ResolvedSceneOptions } from "./options.ts";

/** Event kinds that get their own windows (the others are tags only). */
export const ALIGNED_EVENT_KINDS: readonly SceneEventKind[] = [
  "hard_brake",
  "stop",
  "near_miss",
  "cut_in",
  "crossing",
  "overtake",
  "u_turn",
];

export type WindowKind = "fixed" | "event";

export interface SceneWindow {
  startNs: bigint;
  endNs: bigint;
  kind: WindowKind;
  /** For event windows: the kinds of the events it is aligned to. */
  alignedTo: SceneEventKind[];
}

const nsOf = (secs: number): bigint => BigInt(Math.round(secs * 1e9));

export function fixedWindows(
  startNs: bigint,
  endNs: bigint,
  windowSecs: number,
  hopSecs: number,
): SceneWindow[] {
  if (endNs < startNs)
    throw new StrataError("STRATA_E_USAGE", "segmentation: the capture ends before it starts");
  const windowNs = nsOf(windowSecs);
  const hopNs = nsOf(hopSecs);
  if (windowNs <= 0n || hopNs <= 0n)
    throw new StrataError("STRATA_E_USAGE", "segmentation: window and hop must be positive");
  if (endNs - startNs <= windowNs) return [{ startNs, endNs, kind: "fixed", alignedTo: [] }];
  const out: SceneWindow[] = [];
  let s = startNs;
  for (; s + windowNs < endNs; s += hopNs)
    out.push({ startNs: s, endNs: s + windowNs, kind: "fixed", alignedTo: [] });
  const last = out[out.length - 1];
  if (!last || last.endNs < endNs)
    out.push({ startNs: endNs - windowNs, endNs, kind: "fixed", alignedTo: [] });
  return out;
}

export function eventWindows(
  startNs: bigint,
  endNs: bigint,
  events: readonly SceneEvent[],
  options: Pick<ResolvedSceneOptions, "eventPadSecs" | "minEventWindowSecs" | "windowSecs">,
): SceneWindow[] {
  const padNs = nsOf(options.eventPadSecs);
  const minNs = nsOf(options.minEventWindowSecs);
  const maxNs = nsOf(3 * options.windowSecs);
  const out: SceneWindow[] = [];
  for (const kind of ALIGNED_EVENT_KINDS) {
    const spans = events
      .filter((e) => e.kind === kind)
      .map((e) => [e.startNs - padNs, e.endNs + padNs] as [bigint, bigint])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const merged: Array<[bigint, bigint]> = [];
    for (const span of spans) {
      const last = merged[merged.length - 1];
      if (last && span[0] <= last[1]) last[1] = span[1] > last[1] ? span[1] : last[1];
      else merged.push([span[0], span[1]]);
    }
    for (let [s, e] of merged) {
      if (e - s < minNs) {
        const grow = (minNs - (e - s)) / 2n;
        s -= grow;
        e += grow;
      }
      if (e - s > maxNs) e = s + maxNs;
      // Clip, keeping the length where the capture allows.
      if (s < startNs) {
        e += startNs - s;
        s = startNs;
      }
      if (e > endNs) {
        s -= e - endNs;
        e = endNs;
      }
      if (s < startNs) s = startNs;
      if (e > s) out.push({ startNs: s, endNs: e, kind: "event", alignedTo: [kind] });
    }
  }
  return out;
}

/** Intersection over union of two windows' time spans. */
export function windowIou(
  a: { startNs: bigint; endNs: bigint },
  b: { startNs: bigint; endNs: bigint },
): number {
  const inter = (a.endNs < b.endNs ? a.endNs : b.endNs) - (a.startNs > b.startNs ? a.startNs : b.startNs);
  if (inter <= 0n) return 0;
  const union = (a.endNs > b.endNs ? a.endNs : b.endNs) - (a.startNs < b.startNs ? a.startNs : b.startNs);
  return union === 0n ? 1 : Number(inter) / Number(union);
}

/**
 * Fixed and event windows of a capture, in start order, without near duplicates: an event window that
 * overlaps an existing window by `mergeIou` (intersection over union, default 0.8) or more is folded into it
 * (a fixed window keeps its bounds; two event windows become their union).
 */
export function segmentCapture(
  startNs: bigint,
  endNs: bigint,
  events: readonly SceneEvent[],
  options: Pick<ResolvedSceneOptions, "windowSecs" | "hopSecs" | "eventPadSecs" | "minEventWindowSecs">,
  mergeIou = 0.8,
): SceneWindow[] {
  const windows: SceneWindow[] = fixedWindows(startNs, endNs, options.windowSecs, options.hopSecs);
  for (const w of eventWindows(startNs, endNs, events, options)) {
    const near = windows.find((e) => windowIou(e, w) >= mergeIou);
    if (!near) {
      windows.push({ ...w, alignedTo: [...w.alignedTo] });
      continue;
    }
    for (const kind of w.alignedTo) if (!near.alignedTo.includes(kind)) near.alignedTo.push(kind);
    if (near.kind === "event") {
      if (w.startNs < near.startNs) near.startNs = w.startNs;
      if (w.endNs > near.endNs) near.endNs = w.endNs;
    }
  }
  const byKey = new Map<string, SceneWindow>();
  for (const w of windows) {
    const key = `${w.startNs}:${w.endNs}`;
    const existing = byKey.get(key);
    if (existing) {
      for (const kind of w.alignedTo) if (!existing.alignedTo.includes(kind)) existing.alignedTo.push(kind);
    } else byKey.set(key, w);
  }
  return [...byKey.values()].sort((a, b) =>
    a.startNs < b.startNs
      ? -1
      : a.startNs > b.startNs
        ? 1
        : a.endNs < b.endNs
          ? -1
          : a.endNs > b.endNs
            ? 1
            : 0,
  );
}
