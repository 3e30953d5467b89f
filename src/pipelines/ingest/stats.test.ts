import { describe, expect, it } from "vitest";
import { StatsAccumulator, chooseBucketNs } from "./stats.ts";

describe("StatsAccumulator", () => {
  it("merges channels of one topic, sorts out-of-order stamps and finds gaps", () => {
    const stats = new StatsAccumulator();
    stats.addChannel(1, "/a");
    stats.addChannel(2, "/a");
    stats.addChannel(3, "/b");
    for (const t of [3_000_000_000n, 1_000_000_000n, 1_500_000_000n]) stats.add(1, t);
    stats.add(2, 2_000_000_000n);
    stats.add(3, 1_200_000_000n);
    stats.add(99, 5n); // unknown channel: ignored
    const result = stats.finish();
    expect(result.startNs).toBe(1_000_000_000n);
    expect(result.endNs).toBe(3_000_000_000n);
    expect(result.messageCount).toBe(5);
    const a = result.topics.find((t) => t.topic === "/a");
    expect(a?.messageCount).toBe(4);
    expect(a?.maxGapNs).toBe(1_000_000_000n);
    expect(a?.meanRateHz).toBeCloseTo(1.5, 9);
    expect(a?.histogram.reduce((s, n) => s + n, 0)).toBe(4);
    const b = result.topics.find((t) => t.topic === "/b");
    expect(b?.meanRateHz).toBe(0);
    expect(b?.maxGapNs).toBe(0n);
  });

  it("reports an empty capture without times", () => {
    const stats = new StatsAccumulator();
    stats.addChannel(1, "/a");
    const result = stats.finish();
    expect(result.startNs).toBeUndefined();
    expect(result.topics[0]?.messageCount).toBe(0);
    expect(result.topics[0]?.histogram).toEqual([]);
  });

  it("picks buckets that keep the histogram small", () => {
    expect(chooseBucketNs(10_000_000_000n)).toBe(100_000_000n);
    expect(chooseBucketNs(3_600_000_000_000n)).toBe(10_000_000_000n);
    expect(chooseBucketNs(0n)).toBe(100_000_000n);
  });
});
