/** Turns catalog records and log summaries into the API's JSON shapes (ns as decimal strings). */
import type { Capture, CaptureDetail, TopicRow } from "../api/index.ts";
import type { CaptureRecord, TopicRecord } from "../catalog/index.ts";
import { StrataError, isSha256Hex } from "../core/index.ts";
import { type LogSummary, openLog } from "../formats/index.ts";
import type { Strata } from "./strata.ts";

const ns = (value: bigint | null | undefined): string | null =>
  value === null || value === undefined ? null : value.toString();

export function presentCapture(record: CaptureRecord): Capture {
  return {
    captureId: record.captureId,
    sha256: record.sha256,
    format: record.format as Capture["format"],
    sizeBytes: Number(record.sizeBytes),
    startTimeNs: ns(record.startNs),
    endTimeNs: ns(record.endNs),
    messageCount: Number(record.messageCount),
    rig: record.rig,
    site: record.site,
    region: record.region,
    status: record.status,
    sourcePath: record.sourcePath,
    ingestedAtNs: record.ingestedAtNs.toString(),
  };
}

export function presentTopic(topic: TopicRecord): TopicRow {
  return {
    topic: topic.topic,
    schemaName: topic.schemaName,
    messageEncoding: topic.messageEncoding,
    messageCount: Number(topic.messageCount),
    firstTimeNs: ns(topic.firstNs),
    lastTimeNs: ns(topic.lastNs),
    meanRateHz: topic.meanRateHz ?? 0,
    maxGapNs: (topic.maxGapNs ?? 0n).toString(),
  };
}

/** Finds a capture by id (`cap_…`) or full SHA-256. */
export async function requireCapture(strata: Strata, captureIdOrSha: string): Promise<CaptureRecord> {
  const record = isSha256Hex(captureIdOrSha)
    ? await strata.catalog.findCaptureBySha256(captureIdOrSha)
    : await strata.catalog.getCapture(captureIdOrSha);
  if (!record)
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `no capture ${captureIdOrSha}`,
      {},
      { hint: "List captures with `strata captures list`." },
    );
  return record;
}

export async function captureDetail(strata: Strata, captureIdOrSha: string): Promise<CaptureDetail> {
  const record = await requireCapture(strata, captureIdOrSha);
  const [topics, files] = await Promise.all([
    strata.catalog.listTopics(record.captureId),
    strata.catalog.listCaptureFiles(record.captureId),
  ]);
  return {
    ...presentCapture(record),
    topics: topics.map(presentTopic),
    files: files.map((f) => ({
      pathInCapture: f.pathInCapture,
      sha256: f.sha256,
      sizeBytes: Number(f.sizeBytes),
    })),
  };
}

export interface LogInfo {
  format: string;
  path: string;
  sizeBytes: number;
  startTimeNs: string | null;
  endTimeNs: string | null;
  messageCount: number;
  topics: {
    topic: string;
    schemaName: string;
    messageEncoding: string;
    messageCount: number;
    firstTimeNs: string | null;
    lastTimeNs: string | null;
  }[];
  warnings: string[];
}

export function presentSummary(summary: LogSummary, path: string): LogInfo {
  return {
    format: summary.format,
    path,
    sizeBytes: Number(summary.sizeBytes),
    startTimeNs: ns(summary.startTimeNs),
    endTimeNs: ns(summary.endTimeNs),
    messageCount: Number(summary.messageCount),
    topics: summary.topics.map((t) => ({
      topic: t.topic,
      schemaName: t.schemaName,
      messageEncoding: t.messageEncoding,
      messageCount: Number(t.messageCount),
      firstTimeNs: ns(t.firstTimeNs),
      lastTimeNs: ns(t.lastTimeNs),
    })),
    warnings: summary.warnings,
  };
}

/** `strata info`: reads a log without ingesting it. */
export async function readLogInfo(path: string): Promise<LogInfo> {
  const reader = await openLog(path);
  try {
    return presentSummary(await reader.summary(), path);
  } finally {
    await reader.close();
  }
}

/** A value as JSON sees it once bigints are decimal strings. */
export type Jsonified<T> = T extends bigint
  ? string
  : T extends (infer U)[]
    ? Jsonified<U>[]
    : T extends object
      ? { [K in keyof T]: Jsonified<T[K]> }
      : T;

export function jsonify<T>(value: T): Jsonified<T> {
  return JSON.parse(
    JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  ) as Jsonified<T>;
}
