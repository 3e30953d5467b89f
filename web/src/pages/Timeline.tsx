/**
 * Sensor-health timeline: one row per topic, one cell per histogram bucket, shaded by the rate in that
 * bucket relative to the topic's median rate. Gaps (no messages inside the topic's own time span) are red;
 * buckets below half the median rate are amber.
 */
import { useEffect, useRef } from "react";
import type { Histogram, QaReason } from "../api.ts";

export interface TopicHealth {
  topic: string;
  counts: number[];
  medianRateHz: number;
  gapBuckets: number;
  lowBuckets: number;
  /** Buckets inside a silence longer than two of the topic's mean periods. */
  gapMask: boolean[];
}

const LABEL_WIDTH = 220;
const ROW_HEIGHT = 18;
const AXIS_HEIGHT = 22;

/** Per-topic health derived from the histogram (pure; the stats table uses it too). */
export function topicHealth(histogram: Histogram, bucketCount: number): TopicHealth[] {
  const bucketSecs = Number(BigInt(histogram.bucketNs)) / 1e9 || 1;
  return histogram.topics.map(({ topic, counts }) => {
    const padded = Array.from({ length: bucketCount }, (_, i) => counts[i] ?? 0);
    const first = padded.findIndex((n) => n > 0);
    let last = -1;
    for (let i = padded.length - 1; i >= 0; i--)
      if ((padded[i] ?? 0) > 0) {
        last = i;
        break;
      }
    // The first and last buckets are partial; judge only the inner ones.
    const inner = first >= 0 && last - first >= 2 ? padded.slice(first + 1, last) : [];
    const sorted = inner.filter((n) => n > 0).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    // A silence is a gap when it lasts longer than two mean periods of the topic (a 1 Hz topic leaves
    // most 0.1 s buckets empty without any gap).
    const total = padded.reduce((a, b) => a + b, 0);
    const spanSecs = (last - first + 1) * bucketSecs;
    const periodSecs = total > 1 ? spanSecs / (total - 1) : Infinity;
    const gapMask = padded.map(() => false);
    for (let i = first + 1; i < last; ) {
      if ((padded[i] ?? 0) > 0) {
        i += 1;
        continue;
      }
      let end = i;
      while (end < last && (padded[end] ?? 0) === 0) end += 1;
      if ((end - i) * bucketSecs >= 2 * periodSecs) for (let k = i; k < end; k++) gapMask[k] = true;
      i = end;
    }
    return {
      topic,
      counts: padded,
      medianRateHz: median / bucketSecs,
      gapBuckets: gapMask.filter(Boolean).length,
      lowBuckets: median >= 4 ? inner.filter((n) => n > 0 && n < median / 2).length : 0,
      gapMask,
    };
  });
}

export function Timeline({
  histogram,
  durationNs,
  reasons = [],
}: {
  histogram: Histogram;
  durationNs: bigint;
  /** QA findings drawn as flags over their topic's row and time window. */
  reasons?: readonly QaReason[];
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const bucketNs = BigInt(histogram.bucketNs) || 1n;
  const bucketCount = Math.max(1, Number(durationNs / bucketNs) + 1);
  const rows = topicHealth(histogram, bucketCount);

  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext("2d");
    if (!element || !context) return;
    const width = element.clientWidth || 900;
    const height = AXIS_HEIGHT + rows.length * ROW_HEIGHT;
    const scale = window.devicePixelRatio || 1;
    element.width = width * scale;
    element.height = height * scale;
    element.style.height = `${height}px`;
    context.scale(scale, scale);
    context.clearRect(0, 0, width, height);
    context.font = "12px system-ui, sans-serif";
    context.textBaseline = "middle";
    const plotWidth = width - LABEL_WIDTH - 8;
    const cellWidth = plotWidth / bucketCount;

    // Time axis in seconds from the capture start.
    const bucketSecs = Number(bucketNs) / 1e9;
    const totalSecs = bucketCount * bucketSecs;
    const step = niceStep(totalSecs / 8);
    context.fillStyle = "#666";
    for (let s = 0; s <= totalSecs; s += step) {
      const x = LABEL_WIDTH + (s / totalSecs) * plotWidth;
      context.fillRect(x, AXIS_HEIGHT - 4, 1, 4);
      context.fillText(`${+s.toFixed(3)} s`, x + 2, AXIS_HEIGHT / 2);
    }

    rows.forEach((row, r) => {
      const y = AXIS_HEIGHT + r * ROW_HEIGHT;
      context.fillStyle = r % 2 ? "#fafafa" : "#f1f3f5";
      context.fillRect(0, y, width, ROW_HEIGHT);
      context.fillStyle = "#222";
      context.fillText(ellipsize(row.topic, 32), 4, y + ROW_HEIGHT / 2);
      const first = row.counts.findIndex((n) => n > 0);
      const last = row.counts.length - 1 - [...row.counts].reverse().findIndex((n) => n > 0);
      const median = row.medianRateHz * bucketSecs;
      row.counts.forEach((count, i) => {
        const x = LABEL_WIDTH + i * cellWidth;
        const w = Math.max(cellWidth, 1);
        if (count === 0) {
          if (row.gapMask[i]) {
            context.fillStyle = "#e03131";
            context.fillRect(x, y + 2, w, ROW_HEIGHT - 4);
          }
          return;
        }
        const isEdge = i === first || i === last;
        if (!isEdge && median >= 4 && count < median / 2) context.fillStyle = "#f59f00";
        else {
          const level = median > 0 ? Math.min(1, count / median) : 1;
          context.fillStyle = `rgba(28, 126, 214, ${0.35 + 0.65 * level})`;
        }
        context.fillRect(x, y + 2, w, ROW_HEIGHT - 4);
      });
    });
    // QA flags: a bar along the top of the row over each finding's window.
    const originNs = BigInt(histogram.originNs);
    const spanNs = Number(bucketNs) * bucketCount;
    let flags = 0;
    for (const reason of reasons) {
      const r = rows.findIndex((row) => row.topic === reason.topic);
      if (r < 0) continue;
      const x0 = LABEL_WIDTH + (Number(BigInt(reason.startNs) - originNs) / spanNs) * plotWidth;
      const x1 = LABEL_WIDTH + (Number(BigInt(reason.endNs) - originNs) / spanNs) * plotWidth;
      context.fillStyle = reason.severity === "fail" ? "#ae3ec9" : "#5c940d";
      context.fillRect(Math.max(LABEL_WIDTH, x0), AXIS_HEIGHT + r * ROW_HEIGHT, Math.max(3, x1 - x0), 3);
      flags += 1;
    }
    element.dataset.drawn = String(rows.length);
    element.dataset.flags = String(flags);
  }, [rows, bucketCount, bucketNs, reasons, histogram.originNs]);

  return (
    <figure className="timeline">
      <canvas ref={canvas} data-testid="timeline" style={{ width: "100%" }} />
      <figcaption className="muted">
        Bucket {Number(bucketNs) / 1e9} s. <span className="swatch blue" /> rate (darker = nearer the topic's
        median) <span className="swatch amber" /> below half the median <span className="swatch red" /> gap
        (no messages) <span className="swatch purple" /> QA fail <span className="swatch green" /> QA warn
      </figcaption>
    </figure>
  );
}

function niceStep(raw: number): number {
  if (raw <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

const ellipsize = (text: string, max: number): string =>
  text.length > max ? `…${text.slice(-max + 1)}` : text;
