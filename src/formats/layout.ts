/**
 * A log's layout (profile, schemas, channels, metadata) without its statistics, and its attachments in a
 * time range: what a writer needs to reproduce part of a log. `LogReader.summary()` also counts every
 * message (for an indexed MCAP it reads every MessageIndex record), so its cost follows the file; these
 * read only the MCAP summary section and the records they return, so a window export costs what the
 * window holds. Other formats (and MCAP files without a usable summary) fall back to `summary()`.
 */
import { McapIndexedReader } from "@mcap/core";
import { mcapDecompressHandlers } from "./mcap-support.ts";
import { openFileSource } from "./node-source.ts";
import { detectFormat, openLog } from "./open.ts";
import type { AttachmentInfo, ChannelInfo, LogFormat, MetadataInfo, SchemaInfo } from "./types.ts";

export interface LogLayout {
  format: LogFormat;
  /** MCAP header profile (`ros1`, `ros2`, `` …); for bags the implied profile. */
  profile: string;
  library: string;
  /** Ids are the ones `LogReader.messages()` reports for the same path. */
  schemas: SchemaInfo[];
  channels: ChannelInfo[];
  metadata: MetadataInfo[];
  /** How the layout was read: `summary` (MCAP summary section only) or `full` (`LogReader.summary()`). */
  source: "summary" | "full";
}

/** Reads the layout of the log at `path` (see the module comment for the cost). */
export async function readLogLayout(path: string): Promise<LogLayout> {
  if ((await detectFormat(path)) === "mcap") {
    const layout = await withIndexedMcap(path, async (index) => {
      const metadata: MetadataInfo[] = [];
      for await (const record of index.readMetadata()) {
        metadata.push({ name: record.name, metadata: Object.fromEntries(record.metadata) });
      }
      const schemas = [...index.schemasById.values()]
        .map((s) => ({ id: s.id, name: s.name, encoding: s.encoding, data: s.data }))
        .sort((a, b) => a.id - b.id);
      const channels = [...index.channelsById.values()]
        .map((c) => ({
          id: c.id,
          topic: c.topic,
          schemaId: c.schemaId,
          schemaName: index.schemasById.get(c.schemaId)?.name ?? "",
          messageEncoding: c.messageEncoding,
          metadata: Object.fromEntries(c.metadata),
        }))
        .sort((a, b) => a.id - b.id);
      return {
        format: "mcap" as const,
        profile: index.header.profile,
        library: index.header.library,
        schemas,
        channels,
        metadata,
        source: "summary" as const,
      };
    });
    if (layout) return layout;
  }
  const reader = await openLog(path);
  try {
    const summary = await reader.summary();
    return {
      format: summary.format,
      profile: summary.profile,
      library: summary.library,
      schemas: summary.schemas,
      channels: summary.channels,
      metadata: summary.metadata,
      source: "full",
    };
  } finally {
    await reader.close();
  }
}

/**
 * Attachments whose log time is in [startNs, endNs] (inclusive), read through the MCAP attachment index.
 * Bags have no attachments; an MCAP file without a summary falls back to `summary().attachments`.
 */
export async function readLogAttachments(
  path: string,
  window: { startNs?: bigint; endNs?: bigint } = {},
): Promise<AttachmentInfo[]> {
  const format = await detectFormat(path);
  if (format !== "mcap") return [];
  const inWindow = (logTimeNs: bigint) =>
    (window.startNs === undefined || logTimeNs >= window.startNs) &&
    (window.endNs === undefined || logTimeNs <= window.endNs);
  const indexed = await withIndexedMcap(path, async (index) => {
    const out: AttachmentInfo[] = [];
    for await (const a of index.readAttachments({ startTime: window.startNs, endTime: window.endNs })) {
      if (!inWindow(a.logTime)) continue;
      out.push({
        name: a.name,
        mediaType: a.mediaType,
        logTimeNs: a.logTime,
        createTimeNs: a.createTime,
        data: a.data,
      });
    }
    return out;
  });
  if (indexed) return indexed;
  const reader = await openLog(path);
  try {
    return (await reader.summary()).attachments.filter((a) => inWindow(a.logTimeNs));
  } finally {
    await reader.close();
  }
}

/** Runs fn over the file's MCAP summary; undefined when the file has no readable summary. */
async function withIndexedMcap<T>(
  path: string,
  fn: (index: McapIndexedReader) => Promise<T>,
): Promise<T | undefined> {
  const source = await openFileSource(path);
  try {
    let index: McapIndexedReader;
    try {
      index = await McapIndexedReader.Initialize({
        readable: source,
        decompressHandlers: await mcapDecompressHandlers(),
      });
    } catch {
      return undefined;
    }
    return await fn(index);
  } finally {
    await source.close?.();
  }
}
