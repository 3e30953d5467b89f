/**
 * Header-stamp checks (epoch-0 stamps, stamps going backwards, stamp − log-time skew against the topic's
 * own median) and duplicate messages. State per topic: a skew histogram (1 ms buckets) and one
 * min/max per 100 ms of log time, so memory follows the capture's duration, not its message count.
 */
import { EventRuns, type Finding } from "./runs.ts";
import type { ScanMessage } from "./scan-types.ts";
import { headerOf } from "./decoded.ts";

const BIN_NS = 100_000_000n;
const MAX_SYNC_STAMPS = 200_000;

interface SkewBin {
  minSkewMs: number;
  minAtNs: bigint;
  maxSkewMs: number;
  maxAtNs: bigint;
}

interface TopicStampState {
  lastStampNs: bigint | undefined;
  histogram: Map<number, number>;
  bins: Map<number, SkewBin>;
  stamped: number;
  /** Largest |stamp − log time| including epoch-0 stamps (for contracts). */
  maxAbsSkewNs: bigint;
  maxAbsSkewAtNs: bigint;
  frameIds: Set<string>;
  /** Header stamps kept for cross-sensor sync (only for topics asked for). */
  stamps: BigInt64Array | undefined;
  stampCount: number;
}

export interface TopicStampSummary {
  stamped: number;
  maxAbsSkewNs: bigint;
  maxAbsSkewAtNs: bigint;
  medianSkewMs: number | null;
  frameIds: string[];
  /** Sorted non-zero header stamps (sync topics only). */
  stamps?: BigInt64Array;
}

export class StampProbe {
  readonly #topics = new Map<string, TopicStampState>();
  readonly #events = new EventRuns();
  readonly #originNs: bigint;
  readonly #keepStampsFor: ReadonlySet<string>;

  constructor(originNs: bigint, keepStampsFor: ReadonlySet<string>) {
    this.#originNs = originNs;
    this.#keepStampsFor = keepStampsFor;
  }

  onMessage(m: ScanMessage): void {
    const header = headerOf(m.decoded);
    if (!header) return;
    let state = this.#topics.get(m.topic);
    if (!state) {
      state = {
        lastStampNs: undefined,
        histogram: new Map(),
        bins: new Map(),
        stamped: 0,
        maxAbsSkewNs: 0n,
        maxAbsSkewAtNs: m.logTimeNs,
        frameIds: new Set(),
        stamps: this.#keepStampsFor.has(m.topic) ? new BigInt64Array(1024) : undefined,
        stampCount: 0,
      };
      this.#topics.set(m.topic, state);
    }
    state.stamped++;
    if (state.frameIds.size < 16) state.frameIds.add(header.frameId);
    const skewNs = header.stampNs - m.logTimeNs;
    const absSkewNs = skewNs < 0n ? -skewNs : skewNs;
    if (absSkewNs > state.maxAbsSkewNs) {
      state.maxAbsSkewNs = absSkewNs;
      state.maxAbsSkewAtNs = m.logTimeNs;
    }
    if (header.stampNs === 0n) {
      this.#events.add({
        check: "stamp.epoch0",
        topic: m.topic,
        logTimeNs: m.logTimeNs,
        score: 1,
        measured: "0",
        threshold: "> 0",
        unit: "ns",
        message: "header.stamp is 0 (1970-01-01)",
      });
      return;
    }
    if (state.lastStampNs !== undefined && header.stampNs < state.lastStampNs) {
      const backMs = Number(state.lastStampNs - header.stampNs) / 1e6;
      this.#events.add({
        check: "stamp.nonMonotonic",
        topic: m.topic,
        logTimeNs: m.logTimeNs,
        score: backMs,
        measured: round3(-backMs),
        threshold: 0,
        unit: "ms",
        message: `header.stamp goes back ${backMs.toFixed(3)} ms`,
      });
    }
    state.lastStampNs = header.stampNs;
    if (state.stamps) {
      if (state.stampCount === state.stamps.length && state.stampCount < MAX_SYNC_STAMPS) {
        const grown = new BigInt64Array(Math.min(MAX_SYNC_STAMPS, state.stamps.length * 2));
        grown.set(state.stamps);
        state.stamps = grown;
      }
      if (state.stampCount < state.stamps.length) state.stamps[state.stampCount++] = header.stampNs;
    }
    const skewMs = Number(skewNs) / 1e6;
    const bucket = Math.round(skewMs);
    state.histogram.set(bucket, (state.histogram.get(bucket) ?? 0) + 1);
    const binKey = Number((m.logTimeNs - this.#originNs) / BIN_NS);
    const bin = state.bins.get(binKey);
    if (!bin)
      state.bins.set(binKey, {
        minSkewMs: skewMs,
        minAtNs: m.logTimeNs,
        maxSkewMs: skewMs,
        maxAtNs: m.logTimeNs,
      });
    else {
      if (skewMs < bin.minSkewMs) {
        bin.minSkewMs = skewMs;
        bin.minAtNs = m.logTimeNs;
      }
      if (skewMs > bin.maxSkewMs) {
        bin.maxSkewMs = skewMs;
        bin.maxAtNs = m.logTimeNs;
      }
    }
  }

  /** Findings of epoch0, nonMonotonic and skew (messages off the topic's median skew by more than maxSkewJitterMs). */
  findings(maxSkewJitterMs: number): Finding[] {
    const skewRuns = new EventRuns({ countLabel: "flagged 100 ms bins" });
    for (const [topic, state] of this.#topics) {
      const medianMs = histogramMedian(state.histogram);
      if (medianMs === null) continue;
      const keys = [...state.bins.keys()].sort((a, b) => a - b);
      for (const key of keys) {
        const bin = state.bins.get(key) as SkewBin;
        // The bin's reading farthest from the median stands for the bin.
        const low = bin.minSkewMs - medianMs;
        const high = bin.maxSkewMs - medianMs;
        const [off, skewMs, atNs] =
          Math.abs(high) >= Math.abs(low)
            ? [high, bin.maxSkewMs, bin.maxAtNs]
            : [low, bin.minSkewMs, bin.minAtNs];
        if (Math.abs(off) <= maxSkewJitterMs) continue;
        skewRuns.add({
          check: "stamp.skew",
          topic,
          logTimeNs: atNs,
          score: Math.abs(off),
          measured: round3(off),
          threshold: maxSkewJitterMs,
          unit: "ms",
          message: `header.stamp − log time is ${skewMs.toFixed(1)} ms, ${off > 0 ? "+" : ""}${off.toFixed(1)} ms off the topic's median ${medianMs.toFixed(1)} ms`,
        });
      }
    }
    return [...this.#events.findings(), ...skewRuns.findings()];
  }

  summaries(): Map<string, TopicStampSummary> {
    const out = new Map<string, TopicStampSummary>();
    for (const [topic, state] of this.#topics) {
      const summary: TopicStampSummary = {
        stamped: state.stamped,
        maxAbsSkewNs: state.maxAbsSkewNs,
        maxAbsSkewAtNs: state.maxAbsSkewAtNs,
        medianSkewMs: histogramMedian(state.histogram),
        frameIds: [...state.frameIds],
      };
      if (state.stamps) summary.stamps = state.stamps.slice(0, state.stampCount).sort();
      out.set(topic, summary);
    }
    return out;
  }
}

function histogramMedian(histogram: Map<number, number>): number | null {
  let total = 0;
  for (const c of histogram.values()) total += c;
  if (total === 0) return null;
  const keys = [...histogram.keys()].sort((a, b) => a - b);
  let seen = 0;
  for (const k of keys) {
    seen += histogram.get(k) ?? 0;
    if (seen * 2 >= total) return k;
  }
  return keys[keys.length - 1] ?? null;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/**
 * Messages written twice: same topic, identical bytes, and the same log time or the same non-zero
 * header stamp as the message before. (A latched topic republishing identical content later is not one.)
 */
export class DuplicateProbe {
  readonly #previous = new Map<
    string,
    { logTimeNs: bigint; stampNs: bigint | undefined; data: Uint8Array }
  >();
  readonly #events = new EventRuns();

  onMessage(m: ScanMessage): void {
    const stampNs = headerOf(m.decoded)?.stampNs;
    const previous = this.#previous.get(m.topic);
    this.#previous.set(m.topic, { logTimeNs: m.logTimeNs, stampNs, data: m.data });
    if (!previous || previous.data.byteLength !== m.data.byteLength) return;
    const sameTime =
      previous.logTimeNs === m.logTimeNs ||
      (stampNs !== undefined && stampNs !== 0n && previous.stampNs === stampNs);
    if (!sameTime || !equalBytes(previous.data, m.data)) return;
    this.#events.add({
      check: "message.duplicate",
      topic: m.topic,
      logTimeNs: m.logTimeNs,
      score: 1,
      measured: 2,
      threshold: 1,
      unit: "copies",
      message: "identical message written twice",
    });
  }

  findings(): Finding[] {
    return this.#events.findings();
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
