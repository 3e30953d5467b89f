/**
 * The sampling plan: which messages QA decodes, decided from the capture's size and per-topic counts
 * before any payload is read (plan, then execute). Decoding means decompressing chunks, which is what
 * costs; so big captures are decoded in evenly spread windows, and topics with only a few messages
 * (/tf_static and the like) completely.
 *
 * When the reader can tell its storage blocks (chunks; see blocks.ts) the windows are placed on them:
 * a chunk is decompressed whole however little of it a window needs, so a window that clips the edge
 * of a neighbouring chunk pays for all of it. Each window starts from the chunk holding its centre and
 * grows by whole neighbouring chunks (or, in a chunk longer than the window, stays inside it) until the
 * windows together cover the sampled share of the duration (to within 1% of it). Chunks that hold
 * messages of the small topics are decompressed anyway, so they are decoded whole and count first.
 */
import { type BlockSpan, mergeSpans } from "./blocks.ts";
import type { TopicTimeline } from "./timeline.ts";
import type { SamplingPlan, SamplingPolicy } from "./types.ts";

export function planSampling(
  capture: { sizeBytes: number; startNs: bigint | null; endNs: bigint | null },
  timelines: ReadonlyMap<string, Pick<TopicTimeline, "count"> & Partial<Pick<TopicTimeline, "logTimesNs">>>,
  policy: SamplingPolicy,
  blocks?: readonly BlockSpan[],
): SamplingPlan {
  const topics = [...timelines.entries()]
    .filter(([, t]) => t.count > 0)
    .map(([topic]) => topic)
    .sort();
  const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  const full =
    policy.mode === "full" ||
    (policy.mode === "auto" && capture.sizeBytes <= policy.fullReadMaxBytes) ||
    capture.startNs === null ||
    capture.endNs === null;
  if (full) {
    const why =
      policy.mode === "full"
        ? "policy mode full"
        : capture.startNs === null
          ? "capture has no messages"
          : `capture is ${mb(capture.sizeBytes)} ≤ ${mb(policy.fullReadMaxBytes)}`;
    return {
      mode: "full",
      why,
      windows:
        capture.startNs !== null && capture.endNs !== null
          ? [{ startNs: capture.startNs, endNs: capture.endNs }]
          : [],
      fullTopics: topics,
      sampledTopics: [],
    };
  }
  const startNs = capture.startNs as bigint;
  const endNs = capture.endNs as bigint;
  const fullTopics = topics.filter((t) => (timelines.get(t)?.count ?? 0) <= policy.smallTopicMaxMessages);
  const sampledTopics = topics.filter((t) => !fullTopics.includes(t));
  const n = Math.max(1, Math.floor(policy.windows));
  const fraction = Math.min(1, Math.max(0, policy.sampleFraction));
  const share = `${(fraction * 100).toFixed(1)}% of its duration`;
  const base = `capture is ${mb(capture.sizeBytes)} > ${mb(policy.fullReadMaxBytes)}`;
  const small = `topics with ≤ ${policy.smallTopicMaxMessages} messages completely`;
  // The small topics' messages: the blocks holding them are decompressed anyway.
  const smallTopicTimesNs = fullTopics.flatMap((t) => [...(timelines.get(t)?.logTimesNs ?? [])]);
  const aligned = blocks
    ? blockWindows(startNs, endNs, n, fraction, mergeSpans(blocks), smallTopicTimesNs)
    : undefined;
  if (aligned) {
    return {
      mode: "sampled",
      why: `${base}: ${share} in ${aligned.windows.length} windows on chunk boundaries (${aligned.blocksRead} of ${aligned.blocks} chunks), ${small}`,
      windows: aligned.windows,
      fullTopics,
      sampledTopics,
    };
  }
  return {
    mode: "sampled",
    why: `${base}: ${share} in ${n} windows, ${small}`,
    windows: evenWindows(startNs, endNs, n, fraction),
    fullTopics,
    sampledTopics,
  };
}

/** n windows of equal width centred at (i + ½)/n of the duration; overlapping ones merge. */
function evenWindows(startNs: bigint, endNs: bigint, n: number, fraction: number): SamplingPlan["windows"] {
  const durationNs = Number(endNs - startNs);
  const windowNs = (durationNs * fraction) / n;
  const windows: SamplingPlan["windows"] = [];
  for (let i = 0; i < n; i++) {
    const centerNs = ((i + 0.5) / n) * durationNs;
    const ws = startNs + BigInt(Math.max(0, Math.round(centerNs - windowNs / 2)));
    const we = startNs + BigInt(Math.min(durationNs, Math.round(centerNs + windowNs / 2)));
    const last = windows[windows.length - 1];
    if (last && ws <= last.endNs) last.endNs = we;
    else windows.push({ startNs: ws, endNs: we });
  }
  return windows;
}

/** A window under construction: blocks lo..hi, log times [fromNs, toNs). */
interface Growing {
  lo: number;
  hi: number;
  fromNs: bigint;
  toNs: bigint;
  centerNs: bigint;
}

/**
 * Windows on block boundaries. Each block owns the log times from its first message up to the next
 * block's first message (its slot), so the slots partition the capture. Returns undefined (plain
 * windows instead) when the blocks do not cover the window centres.
 */
function blockWindows(
  startNs: bigint,
  endNs: bigint,
  n: number,
  fraction: number,
  blocks: readonly BlockSpan[],
  smallTopicTimesNs: readonly bigint[],
): { windows: SamplingPlan["windows"]; blocksRead: number; blocks: number } | undefined {
  const count = blocks.length;
  if (count === 0) return undefined;
  const slotStart = (i: number): bigint => (blocks[i] as BlockSpan).startNs;
  const slotEnd = (i: number): bigint =>
    i + 1 < count ? (blocks[i + 1] as BlockSpan).startNs : (blocks[i] as BlockSpan).endNs + 1n;
  const blockAt = (ns: bigint): number => {
    let lo = 0;
    let hi = count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (slotStart(mid) <= ns) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found >= 0 && ns < slotEnd(found) ? found : -1;
  };
  const durationNs = endNs - startNs;
  const budgetNs = BigInt(Math.round(Number(durationNs) * fraction));
  const widthNs = (budgetNs + BigInt(n) - 1n) / BigInt(n);
  const used = new Set<number>();
  const windows: Growing[] = [];
  let coveredNs = 0n;
  for (let i = 0; i < n; i++) {
    const centerNs = startNs + BigInt(Math.round(((i + 0.5) / n) * Number(durationNs)));
    const anchor = blockAt(centerNs);
    if (anchor < 0) return undefined;
    const s = slotStart(anchor);
    const e = slotEnd(anchor);
    if (e - s >= widthNs) {
      // A block longer than the window: the window stays inside it, as near its centre as it can.
      let fromNs = centerNs - widthNs / 2n;
      if (fromNs < s) fromNs = s;
      if (fromNs + widthNs > e) fromNs = e - widthNs;
      windows.push({ lo: anchor, hi: anchor, fromNs, toNs: fromNs + widthNs, centerNs });
      coveredNs += widthNs;
    } else {
      if (used.has(anchor)) continue;
      windows.push({ lo: anchor, hi: anchor, fromNs: s, toNs: e, centerNs });
      coveredNs += e - s;
    }
    used.add(anchor);
  }
  // A shortfall under 1% of the share is left: closing it would decompress a whole block for a sliver.
  const toleranceNs = budgetNs / 100n;
  // Blocks read anyway for the small topics count first: they cost decoding, not decompression.
  const free = [...new Set(smallTopicTimesNs.map(blockAt))].filter((b) => b >= 0).sort((a, b) => a - b);
  for (const b of free) {
    if (coveredNs + toleranceNs >= budgetNs) break;
    if (used.has(b)) continue;
    const s = slotStart(b);
    const e = slotEnd(b);
    const toNs = e - s <= budgetNs - coveredNs ? e : s + (budgetNs - coveredNs);
    windows.push({ lo: b, hi: b, fromNs: s, toNs, centerNs: s + (e - s) / 2n });
    used.add(b);
    coveredNs += toNs - s;
  }
  // Then grow the narrowest window by whole neighbouring blocks (the last one only as far as needed).
  while (coveredNs + toleranceNs < budgetNs) {
    const deficitNs = budgetNs - coveredNs;
    const order = windows
      .map((w, index) => ({ w, index }))
      .sort((a, b) => {
        const wa = a.w.toNs - a.w.fromNs;
        const wb = b.w.toNs - b.w.fromNs;
        return wa < wb ? -1 : wa > wb ? 1 : a.index - b.index;
      });
    let grown = 0n;
    for (const { w } of order) {
      grown = growWindow(w, deficitNs, { slotStart, slotEnd, count, used });
      if (grown > 0n) break;
    }
    if (grown === 0n) break;
    coveredNs += grown;
  }
  windows.sort((a, b) => (a.fromNs < b.fromNs ? -1 : a.fromNs > b.fromNs ? 1 : 0));
  const out: SamplingPlan["windows"] = [];
  for (const w of windows) {
    const last = out[out.length - 1];
    // A block starting at the instant its predecessor ends: leave that instant out, or the read
    // would decompress the predecessor too (the end is already short of the next block's start).
    const previousEndNs = w.lo > 0 ? (blocks[w.lo - 1] as BlockSpan).endNs : undefined;
    const fromNs = previousEndNs !== undefined && w.fromNs <= previousEndNs ? previousEndNs + 1n : w.fromNs;
    const window = { startNs: fromNs, endNs: w.toNs - 1n };
    if (window.startNs > window.endNs) continue;
    if (last && window.startNs <= last.endNs) {
      if (window.endNs > last.endNs) last.endNs = window.endNs;
    } else out.push(window);
  }
  return { windows: out, blocksRead: used.size, blocks: count };
}

/** Grows w by at most deficitNs: first within its own blocks, then into a free neighbour. Returns the growth. */
function growWindow(
  w: Growing,
  deficitNs: bigint,
  blocks: {
    slotStart: (i: number) => bigint;
    slotEnd: (i: number) => bigint;
    count: number;
    used: Set<number>;
  },
): bigint {
  const min = (a: bigint, b: bigint) => (a < b ? a : b);
  const roomRight = blocks.slotEnd(w.hi) - w.toNs;
  if (roomRight > 0n) {
    const g = min(roomRight, deficitNs);
    w.toNs += g;
    return g;
  }
  const roomLeft = w.fromNs - blocks.slotStart(w.lo);
  if (roomLeft > 0n) {
    const g = min(roomLeft, deficitNs);
    w.fromNs -= g;
    return g;
  }
  const left = w.lo - 1 >= 0 && !blocks.used.has(w.lo - 1) ? w.lo - 1 : -1;
  const right = w.hi + 1 < blocks.count && !blocks.used.has(w.hi + 1) ? w.hi + 1 : -1;
  if (left < 0 && right < 0) return 0n;
  // The side whose neighbour lies nearer the window's centre (right on a tie).
  const goRight =
    right >= 0 &&
    (left < 0 || blocks.slotStart(w.hi + 1) - w.centerNs <= w.centerNs - blocks.slotEnd(w.lo - 1));
  if (goRight) {
    const g = min(blocks.slotEnd(right) - blocks.slotStart(right), deficitNs);
    w.hi = right;
    w.toNs += g;
    blocks.used.add(right);
    return g;
  }
  const g = min(blocks.slotEnd(left) - blocks.slotStart(left), deficitNs);
  w.lo = left;
  w.fromNs -= g;
  blocks.used.add(left);
  return g;
}
