/**
 * Decoded messages of a stored capture in a time window, as JSON-safe lines (the HTTP API streams
 * them as NDJSON). Reads the content-addressed blob through formats' `openLog`; memory stays bounded
 * because messages are pulled one at a time from the reader's async iterator.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, symlink } from "node:fs/promises";
import path from "node:path";
import type { MessageLine } from "../api/index.ts";
import { StrataError } from "../core/index.ts";
import { type LogReader, openLog } from "../formats/index.ts";
import { requireCapture } from "./present.ts";
import type { Strata } from "./strata.ts";

export interface CaptureMessagesQuery {
  /** Topic names; all topics when omitted or empty. */
  topics?: readonly string[];
  /** Inclusive window bounds. */
  startNs?: bigint;
  endNs?: bigint;
  /** Stop after this many messages. */
  limit?: number;
  /** Per topic, skip messages closer than this to the last one emitted (downsampling for overviews). */
  everyNs?: bigint;
}

/**
 * Opens the capture (failing early with STRATA_E_NOT_FOUND and friends) and returns the lines lazily.
 * The reader closes when iteration ends, fails, or the consumer stops early.
 */
export async function readCaptureMessages(
  strata: Strata,
  captureIdOrSha: string,
  query: CaptureMessagesQuery = {},
): Promise<AsyncIterable<MessageLine>> {
  const capture = await requireCapture(strata, captureIdOrSha);
  const opened = await openStoredCapture(strata, capture.captureId, capture.sha256);
  const summary = await opened.reader.summary().catch(async (error: unknown) => {
    await opened.close();
    throw error;
  });
  const schemaOfTopic = new Map(summary.topics.map((t) => [t.topic, t.schemaName]));
  return (async function* lines() {
    try {
      let sent = 0;
      const lastSentNs = new Map<string, bigint>();
      for await (const message of opened.reader.messages({
        topics: query.topics && query.topics.length > 0 ? query.topics : undefined,
        startNs: query.startNs,
        endNs: query.endNs,
        decode: true,
      })) {
        if (query.everyNs !== undefined) {
          const last = lastSentNs.get(message.topic);
          if (last !== undefined && message.logTimeNs - last < query.everyNs) continue;
          lastSentNs.set(message.topic, message.logTimeNs);
        }
        yield {
          topic: message.topic,
          schemaName: schemaOfTopic.get(message.topic) ?? "",
          logTimeNs: message.logTimeNs.toString(),
          publishTimeNs: message.publishTimeNs.toString(),
          sequence: message.sequence,
          sizeBytes: message.data.byteLength,
          message: message.decoded === undefined ? null : toJsonSafe(message.decoded),
        };
        sent += 1;
        if (query.limit !== undefined && sent >= query.limit) return;
      }
    } finally {
      await opened.close();
    }
  })();
}

interface OpenedCapture {
  reader: LogReader;
  close(): Promise<void>;
}

/**
 * A reader over the stored bytes. One-file captures open their blob directly; multi-file captures
 * (ROS 2 bag directories) are laid out again as a directory of symlinks to their blobs.
 */
async function openStoredCapture(strata: Strata, captureId: string, sha256: string): Promise<OpenedCapture> {
  const files = await strata.catalog.listCaptureFiles(captureId);
  const only = files.length === 1 ? files[0] : undefined;
  if (only && only.sha256 === sha256) {
    const reader = await openLog(strata.blobs.path(sha256));
    return { reader, close: () => reader.close() };
  }
  if (files.length === 0)
    throw new StrataError("STRATA_E_NOT_FOUND", `capture ${captureId} has no stored files`);
  const dir = path.join(strata.config.home, "tmp", `open-${captureId}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  try {
    for (const file of files) {
      await symlink(strata.blobs.path(file.sha256), path.join(dir, path.basename(file.pathInCapture)));
    }
    const reader = await openLog(dir);
    return {
      reader,
      close: async () => {
        await reader.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Decoded values as JSON sees them: bigint → decimal string, Uint8Array → base64 string, other typed
 * arrays → plain arrays of numbers (bigint arrays → strings); NaN and ±Infinity → null.
 */
export function toJsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? value : null;
    case "string":
    case "boolean":
      return value;
    case "object":
      break;
    default:
      return null;
  }
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (ArrayBuffer.isView(value)) {
    const items = Array.from(value as unknown as ArrayLike<number | bigint>);
    return items.map((item) => toJsonSafe(item));
  }
  if (Array.isArray(value)) return value.map((item) => toJsonSafe(item));
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = toJsonSafe(item);
  return out;
}
