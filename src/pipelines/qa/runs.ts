/**
 * Per-message events grouped into windows: consecutive events of one (check, topic) closer than
 * `mergeGapNs` form one finding with the worst measured value and a count. Memory is bounded: at most
 * `maxRunsPerKey` windows per (check, topic); later events extend the last window.
 */
import type { QaCheck } from "./types.ts";

export interface Finding {
  check: QaCheck;
  topic: string;
  startNs: bigint;
  endNs: bigint;
  measured: number | string;
  threshold: number | string;
  unit: string;
  count: number;
  message: string;
}

export interface EventInput {
  check: QaCheck;
  topic: string;
  logTimeNs: bigint;
  /** Larger is worse (used to keep the worst event of a window). */
  score: number;
  measured: number | string;
  threshold: number | string;
  unit: string;
  /** Describes the worst event; `count` and the window are added when the finding is listed. */
  message: string;
}

interface Run extends Finding {
  score: number;
  lastNs: bigint;
}

export class EventRuns {
  readonly #runs = new Map<string, Run[]>();
  readonly #mergeGapNs: bigint;
  readonly #maxRunsPerKey: number;
  readonly #countLabel: string;

  constructor(options: { mergeGapNs?: bigint; maxRunsPerKey?: number; countLabel?: string } = {}) {
    this.#mergeGapNs = options.mergeGapNs ?? 1_000_000_000n;
    this.#maxRunsPerKey = options.maxRunsPerKey ?? 50;
    this.#countLabel = options.countLabel ?? "messages";
  }

  add(event: EventInput): void {
    const key = `${event.check}\u0000${event.topic}`;
    let runs = this.#runs.get(key);
    if (!runs) {
      runs = [];
      this.#runs.set(key, runs);
    }
    const last = runs[runs.length - 1];
    const joins =
      last !== undefined &&
      (event.logTimeNs - last.lastNs <= this.#mergeGapNs || runs.length >= this.#maxRunsPerKey);
    if (last && joins) {
      last.count++;
      if (event.logTimeNs > last.endNs) last.endNs = event.logTimeNs;
      if (event.logTimeNs < last.startNs) last.startNs = event.logTimeNs;
      last.lastNs = event.logTimeNs;
      if (event.score > last.score) {
        last.score = event.score;
        last.measured = event.measured;
        last.threshold = event.threshold;
        last.message = event.message;
      }
      return;
    }
    runs.push({
      check: event.check,
      topic: event.topic,
      startNs: event.logTimeNs,
      endNs: event.logTimeNs,
      lastNs: event.logTimeNs,
      measured: event.measured,
      threshold: event.threshold,
      unit: event.unit,
      count: 1,
      message: event.message,
      score: event.score,
    });
  }

  findings(): Finding[] {
    const out: Finding[] = [];
    for (const runs of this.#runs.values()) {
      for (const { score: _score, lastNs: _lastNs, ...finding } of runs) {
        out.push({
          ...finding,
          message:
            finding.count > 1 ? `${finding.message} (${finding.count} ${this.#countLabel})` : finding.message,
        });
      }
    }
    return out;
  }
}
