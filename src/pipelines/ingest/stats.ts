/**
 * Per-topic statistics from message log times, for the catalog's topic rows and the sensor-health
 * histogram. Times arrive in batches in any order; each topic keeps one growable BigInt64Array
 * (8 bytes per message), which is the only per-message state ingest holds.
 */

export interface TopicStats {
  topic: string;
  messageCount: number;
  firstNs?: bigint;
  lastNs?: bigint;
  /** (count − 1) / (last − first); 0 with fewer than two messages. */
  meanRateHz: number;
  /** Largest interval between consecutive messages; 0n with fewer than two messages. */
  maxGapNs: bigint;
  /** Message counts per bucket of `bucketNs`, starting at the capture's `bucketOriginNs`. */
  histogram: number[];
  /** Every log time of the topic, sorted (8 bytes per message): analyzers reuse it instead of re-reading the index. */
  logTimesNs: BigInt64Array;
}

export interface CaptureStats {
  startNs?: bigint;
  endNs?: bigint;
  messageCount: number;
  bucketOriginNs: bigint;
  bucketNs: bigint;
  topics: TopicStats[];
}

const NICE_BUCKETS_NS = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400,
].map((secs) => BigInt(Math.round(secs * 1e9)));

/** The smallest "nice" bucket width that keeps the histogram under `maxBuckets` buckets. */
export function chooseBucketNs(durationNs: bigint, maxBuckets = 600): bigint {
  for (const bucketNs of NICE_BUCKETS_NS) if (durationNs / bucketNs < BigInt(maxBuckets)) return bucketNs;
  const last = NICE_BUCKETS_NS[NICE_BUCKETS_NS.length - 1] ?? 86_400_000_000_000n;
  return (durationNs / BigInt(maxBuckets) / last + 1n) * last;
}

class StampColumn {
  values = new BigInt64Array(1024);
  length = 0;
  push(value: bigint): void {
    if (this.length === this.values.length) {
      const grown = new BigInt64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  sorted(): BigInt64Array {
    return this.values.subarray(0, this.length).sort();
  }
}

export class StatsAccumulator {
  readonly #columns = new Map<string, StampColumn>();
  readonly #topicOfChannel = new Map<number, string>();

  /** Declares a channel; several channels may share a topic (ROS 1 connections). */
  addChannel(channelId: number, topic: string): void {
    this.#topicOfChannel.set(channelId, topic);
    if (!this.#columns.has(topic)) this.#columns.set(topic, new StampColumn());
  }

  add(channelId: number, logTimeNs: bigint): void {
    const topic = this.#topicOfChannel.get(channelId);
    if (topic === undefined) return;
    this.#columns.get(topic)?.push(logTimeNs);
  }

  finish(): CaptureStats {
    const sortedByTopic = new Map<string, BigInt64Array>();
    let startNs: bigint | undefined;
    let endNs: bigint | undefined;
    let messageCount = 0;
    for (const [topic, column] of this.#columns) {
      const sorted = column.sorted();
      sortedByTopic.set(topic, sorted);
      messageCount += sorted.length;
      const first = sorted[0];
      const last = sorted[sorted.length - 1];
      if (first !== undefined && (startNs === undefined || first < startNs)) startNs = first;
      if (last !== undefined && (endNs === undefined || last > endNs)) endNs = last;
    }
    const bucketOriginNs = startNs ?? 0n;
    const bucketNs = chooseBucketNs(endNs !== undefined && startNs !== undefined ? endNs - startNs : 0n);
    const bucketCount = endNs !== undefined ? Number((endNs - bucketOriginNs) / bucketNs) + 1 : 0;
    const topics = [...sortedByTopic].map(([topic, sorted]) =>
      topicStats(topic, sorted, bucketOriginNs, bucketNs, bucketCount),
    );
    topics.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
    return { startNs, endNs, messageCount, bucketOriginNs, bucketNs, topics };
  }
}

function topicStats(
  topic: string,
  sorted: BigInt64Array,
  bucketOriginNs: bigint,
  bucketNs: bigint,
  bucketCount: number,
): TopicStats {
  const histogram = new Array<number>(bucketCount).fill(0);
  let maxGapNs = 0n;
  let previous: bigint | undefined;
  for (const t of sorted) {
    const bucket = Number((t - bucketOriginNs) / bucketNs);
    histogram[bucket] = (histogram[bucket] ?? 0) + 1;
    if (previous !== undefined && t - previous > maxGapNs) maxGapNs = t - previous;
    previous = t;
  }
  const firstNs = sorted[0];
  const lastNs = sorted[sorted.length - 1];
  const spanSecs = firstNs !== undefined && lastNs !== undefined ? Number(lastNs - firstNs) / 1e9 : 0;
  const meanRateHz = sorted.length > 1 && spanSecs > 0 ? (sorted.length - 1) / spanSecs : 0;
  return {
    topic,
    messageCount: sorted.length,
    firstNs,
    lastNs,
    meanRateHz,
    maxGapNs,
    histogram,
    logTimesNs: sorted,
  };
}
