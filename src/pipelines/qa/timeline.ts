/**
 * Index-level QA: the log times of every message (served by the format's own indexes, no payload is
 * decompressed) give per-topic rate, gaps and dropouts over the whole capture, whatever is sampled.
 * Memory: 8 bytes per message (one BigInt64Array per topic).
 */
import type { LogReader, LogSummary } from "../../formats/index.ts";
import type { QaThresholds } from "./types.ts";

export interface TopicTimeline {
  topic: string;
  /** Sorted log times. */
  logTimesNs: BigInt64Array;
  count: number;
  firstNs: bigint | null;
  lastNs: bigint | null;
  /** (count − 1) / (last − first); 0 with fewer than two messages. */
  meanRateHz: number;
  maxGapNs: bigint;
  /** Median interval between consecutive messages (null with fewer than two). */
  medianPeriodNs: number | null;
  /** Regular enough for the heuristic gap and rate checks (see QaThresholds.periodicMaxJitter). */
  periodic: boolean;
}

/** A finding of the index-level checks (severity is decided later). */
export interface TimelineFinding {
  check: "topic.gap" | "topic.rate";
  topic: string;
  startNs: bigint;
  endNs: bigint;
  measured: number;
  threshold: number;
  unit: string;
  count: number;
  message: string;
}

/** Minimum messages before a topic's period is trusted. */
const MIN_MESSAGES_FOR_PERIOD = 10;

class Column {
  values = new BigInt64Array(256);
  length = 0;
  push(value: bigint): void {
    if (this.length === this.values.length) {
      const grown = new BigInt64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
}

/**
 * One timeline per topic: from `logTimesByTopic` when ingest already collected them (sorted), otherwise
 * by reading every message's log time through `reader.timestamps()`.
 */
export async function readTimelines(
  reader: LogReader,
  summary: LogSummary,
  thresholds: QaThresholds,
  logTimesByTopic?: ReadonlyMap<string, BigInt64Array>,
): Promise<Map<string, TopicTimeline>> {
  if (logTimesByTopic) {
    const out = new Map<string, TopicTimeline>();
    for (const channel of summary.channels) {
      if (out.has(channel.topic)) continue;
      // Shared, not copied: buildTimeline leaves sorted input as it is (ingest's are sorted).
      const times = logTimesByTopic.get(channel.topic) ?? new BigInt64Array(0);
      out.set(channel.topic, buildTimeline(channel.topic, times, thresholds));
    }
    return out;
  }
  const topicOfChannel = new Map<number, string>();
  const columns = new Map<string, Column>();
  for (const channel of summary.channels) {
    topicOfChannel.set(channel.id, channel.topic);
    if (!columns.has(channel.topic)) columns.set(channel.topic, new Column());
  }
  for await (const batch of reader.timestamps()) {
    for (const stamp of batch) {
      const topic = topicOfChannel.get(stamp.channelId);
      if (topic !== undefined) columns.get(topic)?.push(stamp.logTimeNs);
    }
  }
  const out = new Map<string, TopicTimeline>();
  for (const [topic, column] of columns)
    out.set(topic, buildTimeline(topic, column.values.slice(0, column.length), thresholds));
  return out;
}

/** A timeline from log times in any order (sorted in place unless already sorted, which is never written to). */
export function buildTimeline(
  topic: string,
  logTimesNs: BigInt64Array,
  thresholds: QaThresholds,
): TopicTimeline {
  const times = isSorted(logTimesNs) ? logTimesNs : logTimesNs.sort();
  const count = times.length;
  const firstNs = count > 0 ? (times[0] as bigint) : null;
  const lastNs = count > 0 ? (times[count - 1] as bigint) : null;
  let maxGapNs = 0n;
  const intervals = new Float64Array(Math.max(0, count - 1));
  for (let i = 1; i < count; i++) {
    const d = (times[i] as bigint) - (times[i - 1] as bigint);
    if (d > maxGapNs) maxGapNs = d;
    intervals[i - 1] = Number(d);
  }
  let medianPeriodNs: number | null = null;
  let periodic = false;
  if (intervals.length > 0) {
    const period = median(intervals);
    medianPeriodNs = period;
    if (count >= MIN_MESSAGES_FOR_PERIOD && period > 0) {
      // intervals is scratch now: reuse it for the absolute deviations.
      for (let i = 0; i < intervals.length; i++) intervals[i] = Math.abs((intervals[i] as number) - period);
      periodic = median(intervals) <= thresholds.periodicMaxJitter * period;
    }
  }
  const spanNs = firstNs !== null && lastNs !== null ? Number(lastNs - firstNs) : 0;
  return {
    topic,
    logTimesNs: times,
    count,
    firstNs,
    lastNs,
    meanRateHz: count > 1 && spanNs > 0 ? ((count - 1) * 1e9) / spanNs : 0,
    maxGapNs,
    medianPeriodNs,
    periodic,
  };
}

function isSorted(values: BigInt64Array): boolean {
  for (let i = 1; i < values.length; i++) if ((values[i] as bigint) < (values[i - 1] as bigint)) return false;
  return true;
}

/** Median of `values` (reordered in place: selection, not a full sort). */
function median(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return 0;
  const mid = n >> 1;
  const upper = select(values, mid);
  if (n % 2 === 1) return upper;
  // After selecting `mid`, everything before it is ≤ it: the lower middle is their maximum.
  let lower = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < mid; i++) if ((values[i] as number) > lower) lower = values[i] as number;
  return (lower + upper) / 2;
}

/** The k-th smallest of `values` (Hoare's quickselect with a middle pivot; reorders `values`). */
function select(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((values[i] as number) < pivot) i++;
      while ((values[j] as number) > pivot) j--;
      if (i <= j) {
        const t = values[i] as number;
        values[i] = values[j] as number;
        values[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return values[k] as number;
}

/**
 * Gaps (intervals above gapFactor × the median period, including a topic starting late or stopping
 * early within the capture) and windows whose rate leaves nominal ± rateTolerance. Periodic topics only,
 * unless `expected` gives the topic's rate (from a contract).
 */
export function timelineFindings(
  timeline: TopicTimeline,
  capture: { startNs: bigint; endNs: bigint },
  thresholds: QaThresholds,
  expected?: { rateHz?: number },
): TimelineFinding[] {
  const periodNs =
    expected?.rateHz !== undefined && expected.rateHz > 0
      ? 1e9 / expected.rateHz
      : timeline.periodic
        ? timeline.medianPeriodNs
        : null;
  if (periodNs === null || periodNs <= 0 || timeline.firstNs === null || timeline.lastNs === null) return [];
  return [
    ...gapFindings(timeline, capture, periodNs, thresholds),
    ...rateFindings(timeline, periodNs, thresholds),
  ];
}

function gapFindings(
  timeline: TopicTimeline,
  capture: { startNs: bigint; endNs: bigint },
  periodNs: number,
  thresholds: QaThresholds,
): TimelineFinding[] {
  const limitNs = thresholds.gapFactor * periodNs;
  const limitSecs = limitNs / 1e9;
  const out: TimelineFinding[] = [];
  const times = timeline.logTimesNs;
  const finding = (startNs: bigint, endNs: bigint, what: string): TimelineFinding => {
    const gapSecs = Number(endNs - startNs) / 1e9;
    return {
      check: "topic.gap",
      topic: timeline.topic,
      startNs,
      endNs,
      measured: round(gapSecs, 6),
      threshold: round(limitSecs, 6),
      unit: "s",
      count: Math.max(0, Math.round((gapSecs * 1e9) / periodNs) - 1),
      message: `${what}: no message for ${gapSecs.toFixed(3)} s (nominal period ${(periodNs / 1e6).toFixed(1)} ms, about ${Math.max(0, Math.round((gapSecs * 1e9) / periodNs) - 1)} missing)`,
    };
  };
  // Edge silences need a margin too: sensors start a little after the recorder.
  const edgeLimitNs = Math.max(limitNs, 1e9);
  const first = timeline.firstNs as bigint;
  const last = timeline.lastNs as bigint;
  if (Number(first - capture.startNs) > edgeLimitNs) out.push(finding(capture.startNs, first, "starts late"));
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1] as bigint;
    const b = times[i] as bigint;
    if (Number(b - a) > limitNs) out.push(finding(a, b, "dropout"));
  }
  if (Number(capture.endNs - last) > edgeLimitNs) out.push(finding(last, capture.endNs, "stops early"));
  return out;
}

function rateFindings(
  timeline: TopicTimeline,
  periodNs: number,
  thresholds: QaThresholds,
): TimelineFinding[] {
  const windowNs = Math.max(thresholds.rateWindowSecs * 1e9, 10 * periodNs);
  const times = timeline.logTimesNs;
  const first = timeline.firstNs as bigint;
  const last = timeline.lastNs as bigint;
  const windows = Math.floor(Number(last - first) / windowNs);
  const nominalHz = 1e9 / periodNs;
  const out: TimelineFinding[] = [];
  let open: TimelineFinding | undefined;
  let lo = 0;
  for (let w = 0; w < windows; w++) {
    const ws = first + BigInt(Math.round(w * windowNs));
    const we = first + BigInt(Math.round((w + 1) * windowNs));
    while (lo < times.length && (times[lo] as bigint) < ws) lo++;
    let hi = lo;
    while (hi < times.length && (times[hi] as bigint) < we) hi++;
    const count = hi - lo;
    const rateHz = (count * 1e9) / windowNs;
    const deviation = rateHz / nominalHz - 1;
    if (Math.abs(deviation) <= thresholds.rateTolerance) {
      open = undefined;
      continue;
    }
    const bound = nominalHz * (1 + Math.sign(deviation) * thresholds.rateTolerance);
    const startNs = count > 0 ? (times[lo] as bigint) : ws;
    const endNs = count > 0 ? (times[hi - 1] as bigint) : we;
    if (open && Math.sign(deviation) === Math.sign(open.measured - nominalHz)) {
      open.endNs = endNs;
      open.count += count;
      if (Math.abs(rateHz - nominalHz) > Math.abs(open.measured - nominalHz)) {
        open.measured = round(rateHz, 3);
        open.threshold = round(bound, 3);
      }
      open.message = rateMessage(open.measured, nominalHz, thresholds.rateTolerance);
      continue;
    }
    open = {
      check: "topic.rate",
      topic: timeline.topic,
      startNs,
      endNs,
      measured: round(rateHz, 3),
      threshold: round(bound, 3),
      unit: "Hz",
      count,
      message: rateMessage(rateHz, nominalHz, thresholds.rateTolerance),
    };
    out.push(open);
  }
  return out;
}

function rateMessage(rateHz: number, nominalHz: number, tolerance: number): string {
  return `rate ${rateHz.toFixed(2)} Hz against nominal ${nominalHz.toFixed(2)} Hz ± ${(tolerance * 100).toFixed(0)}%`;
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
