/**
 * Storage blocks of a capture: the log-time spans of the units a reader must load and decompress as a
 * whole (MCAP chunks). Reading any message of a block costs the whole block, so the sampling plan
 * places its windows on block boundaries (see plan.ts) instead of letting a window clip a neighbour.
 *
 * The spans come from `LogReader.timestamps()`, which an indexed MCAP reader serves one batch per
 * chunk from the MessageIndex records (no chunk is decompressed). Other readers batch differently, or
 * decompress to list log times (an MCAP without a usable index), so for them there are no blocks and
 * the plan keeps its plain windows.
 */
import type { LogReader, McapLogReader } from "../../formats/index.ts";

/** Inclusive log-time span of one block (first and last message). */
export interface BlockSpan {
  startNs: bigint;
  endNs: bigint;
}

/** Whether `reader.timestamps()` yields one batch per storage block without decompressing anything. */
export function servesBlockSpans(reader: LogReader): boolean {
  return reader.format === "mcap" && (reader as McapLogReader).mode === "indexed";
}

/**
 * The reader's block spans, sorted and merged where they overlap (blocks whose times interleave are
 * loaded together by any read between them); undefined when the reader cannot tell them cheaply.
 * Cost: one read of the capture's message indexes (8 bytes of log time per message, held per batch).
 */
export async function readBlockSpans(reader: LogReader): Promise<BlockSpan[] | undefined> {
  if (!servesBlockSpans(reader)) return undefined;
  const spans: BlockSpan[] = [];
  for await (const batch of reader.timestamps()) {
    const first = batch[0];
    if (first === undefined) continue;
    let startNs = first.logTimeNs;
    let endNs = first.logTimeNs;
    for (const stamp of batch) {
      if (stamp.logTimeNs < startNs) startNs = stamp.logTimeNs;
      if (stamp.logTimeNs > endNs) endNs = stamp.logTimeNs;
    }
    spans.push({ startNs, endNs });
  }
  return mergeSpans(spans);
}

/**
 * Sorts spans and merges the ones that overlap. Spans that only touch (the last log time of one is the
 * first of the next) stay apart: a window can take either without the other by leaving out that one
 * instant, unless one of them is that single instant, in which case they merge.
 */
export function mergeSpans(spans: readonly BlockSpan[]): BlockSpan[] {
  const sorted = [...spans].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const out: BlockSpan[] = [];
  for (const span of sorted) {
    const last = out[out.length - 1];
    const touchesInstant =
      last !== undefined &&
      span.startNs === last.endNs &&
      (last.startNs === last.endNs || span.startNs === span.endNs);
    if (last && (span.startNs < last.endNs || touchesInstant)) {
      if (span.endNs > last.endNs) last.endNs = span.endNs;
    } else out.push({ startNs: span.startNs, endNs: span.endNs });
  }
  return out;
}
