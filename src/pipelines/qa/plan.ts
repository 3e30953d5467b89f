/**
 * The sampling plan: which messages QA decodes, decided from the capture's size and per-topic counts
 * before any payload is read (plan, then execute). Decoding means decompressing chunks, which is what
 * costs; so big captures are decoded in evenly spread windows, and topics with only a few messages
 * (/tf_static and the like) completely.
 */
import type { TopicTimeline } from "./timeline.ts";
import type { SamplingPlan, SamplingPolicy } from "./types.ts";

export function planSampling(
  capture: { sizeBytes: number; startNs: bigint | null; endNs: bigint | null },
  timelines: ReadonlyMap<string, Pick<TopicTimeline, "count">>,
  policy: SamplingPolicy,
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
  const durationNs = Number(endNs - startNs);
  const n = Math.max(1, Math.floor(policy.windows));
  const fraction = Math.min(1, Math.max(0, policy.sampleFraction));
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
  return {
    mode: "sampled",
    why: `capture is ${mb(capture.sizeBytes)} > ${mb(policy.fullReadMaxBytes)}: ${(fraction * 100).toFixed(1)}% of its duration in ${windows.length} windows, topics with ≤ ${policy.smallTopicMaxMessages} messages completely`,
    windows,
    fullTopics,
    sampledTopics,
  };
}
