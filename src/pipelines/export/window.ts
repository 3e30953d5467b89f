/**
 * Window export, step 2: the executor. Reads the plan's window through the source log's own index
 * (`LogReader.messages({startNs, endNs, topics})` seeks to the chunks that overlap the window) and
 * streams the messages, unchanged (same bytes, log/publish time, sequence), into an MCAP file (chunked,
 * with message/chunk/attachment/metadata indexes, statistics and summary offsets) or a ROS 1 bag.
 * Memory: one message in flight plus the writer's open chunk; the output's SHA-256 is computed by
 * reading it back once.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { StrataError, type Sha256Hex, toStrataError } from "../../core/index.ts";
import {
  createMcapFileWriter,
  createRos1BagWriter,
  type LogLayout,
  type LogMessage,
  type LogReader,
  type McapCompression,
  openLog,
  readLogAttachments,
  type Ros1Compression,
  type Ros1ConnectionSpec,
  ros1Md5FromText,
} from "../../formats/index.ts";
import type { PlannedChannel, WindowExportPlan } from "./plan.ts";

/** MCAP metadata record written into every exported file, naming where its messages came from. */
export const EXPORT_METADATA_NAME = "strata.export";
/** Source metadata records not copied: rosbag2's per-topic counts describe the whole source file. */
const STALE_METADATA = new Set(["rosbag2", EXPORT_METADATA_NAME]);

export interface WindowExportSource {
  /** A path `openLog` can read (the stored blob, or a directory of links for multi-file captures). */
  logPath: string;
  layout: LogLayout;
}

export interface WindowExportResult {
  path: string;
  sha256: Sha256Hex;
  sizeBytes: number;
  messageCount: number;
  /** Per selected topic, in topic order (0 for topics without messages in the window). */
  topics: { topic: string; messageCount: number }[];
  /** Log times of the first and last exported message; null when the window is empty. */
  firstLogTimeNs: bigint | null;
  lastLogTimeNs: bigint | null;
  attachmentCount: number;
}

interface Progress {
  counts: Map<string, number>;
  messageCount: number;
  firstLogTimeNs: bigint | null;
  lastLogTimeNs: bigint | null;
}

/** Executes `plan`; the output appears at `plan.output.path` only when complete. */
export async function executeWindowExport(
  plan: WindowExportPlan,
  source: WindowExportSource,
): Promise<WindowExportResult> {
  const reader = await openLog(source.logPath);
  const progress: Progress = {
    counts: new Map(plan.topics.map((t) => [t, 0])),
    messageCount: 0,
    firstLogTimeNs: null,
    lastLogTimeNs: null,
  };
  let attachmentCount = 0;
  try {
    if (plan.format === "mcap") attachmentCount = await writeMcap(plan, source, reader, progress);
    else await writeBag(plan, source, reader, progress);
  } catch (error) {
    throw toStrataError(error, { file: plan.output.path });
  } finally {
    await reader.close();
  }
  const { sha256, sizeBytes } = await hashFile(plan.output.path);
  return {
    path: plan.output.path,
    sha256,
    sizeBytes,
    messageCount: progress.messageCount,
    topics: plan.topics.map((topic) => ({ topic, messageCount: progress.counts.get(topic) ?? 0 })),
    firstLogTimeNs: progress.firstLogTimeNs,
    lastLogTimeNs: progress.lastLogTimeNs,
    attachmentCount,
  };
}

/**
 * The window's messages in log-time order, preceded (when the plan asks) by the last message before the
 * window of each latched topic. Finding those reads the topic from the capture's start: cheap for the
 * sparse topics that latch (one index lookup per chunk that holds them).
 */
async function* windowMessages(plan: WindowExportPlan, reader: LogReader): AsyncGenerator<LogMessage> {
  if (plan.latchedTopics.length > 0 && plan.window.startNs > 0n) {
    const last = new Map<string, LogMessage>();
    for await (const message of reader.messages({
      topics: plan.latchedTopics,
      endNs: plan.window.startNs - 1n,
    })) {
      last.set(message.topic, message);
    }
    yield* [...last.values()].sort((a, b) =>
      a.logTimeNs < b.logTimeNs ? -1 : a.logTimeNs > b.logTimeNs ? 1 : 0,
    );
  }
  yield* reader.messages({
    topics: plan.allTopics ? undefined : plan.topics,
    startNs: plan.window.startNs,
    endNs: plan.window.endNs,
  });
}

function count(progress: Progress, topic: string, logTimeNs: bigint): void {
  progress.counts.set(topic, (progress.counts.get(topic) ?? 0) + 1);
  progress.messageCount += 1;
  progress.firstLogTimeNs ??= logTimeNs;
  progress.lastLogTimeNs = logTimeNs;
}

function unknownChannel(plan: WindowExportPlan, channelId: number, topic: string): StrataError {
  return new StrataError(
    "STRATA_E_CORRUPT_LOG",
    `message on channel ${channelId} (${topic}), which the log's summary does not list`,
    { file: plan.capture.captureId, topic },
  );
}

async function writeMcap(
  plan: WindowExportPlan,
  source: WindowExportSource,
  reader: LogReader,
  progress: Progress,
): Promise<number> {
  const writer = await createMcapFileWriter(plan.output.path, {
    profile: plan.output.profile,
    compression: plan.output.compression as McapCompression,
  });
  try {
    const schemaIds = new Map<number, number>();
    const channelIds = new Map<number, number>();
    const channelById = new Map(source.layout.channels.map((c) => [c.id, c]));
    for (const planned of plan.channels) {
      let schemaId = 0;
      if (planned.sourceSchemaId !== 0) {
        schemaId = schemaIds.get(planned.sourceSchemaId) ?? 0;
        const schema = source.layout.schemas.find((s) => s.id === planned.sourceSchemaId);
        if (schemaId === 0 && schema) {
          schemaId = await writer.addSchema({
            name: schema.name,
            encoding: schema.encoding,
            data: schema.data,
          });
          schemaIds.set(planned.sourceSchemaId, schemaId);
        }
      }
      channelIds.set(
        planned.sourceChannelId,
        await writer.addChannel({
          topic: planned.topic,
          schemaId,
          messageEncoding: planned.messageEncoding,
          metadata: channelById.get(planned.sourceChannelId)?.metadata ?? {},
        }),
      );
    }
    for (const record of source.layout.metadata) {
      if (!STALE_METADATA.has(record.name)) await writer.addMetadata(record);
    }
    await writer.addMetadata({
      name: EXPORT_METADATA_NAME,
      metadata: {
        captureId: plan.capture.captureId,
        captureSha256: plan.capture.sha256,
        sourceFormat: plan.capture.format,
        startNs: plan.window.startNs.toString(),
        endNs: plan.window.endNs.toString(),
        topics: JSON.stringify(plan.topics),
      },
    });
    const attachments = await readLogAttachments(source.logPath, plan.window);
    for (const attachment of attachments) await writer.addAttachment(attachment);
    for await (const message of windowMessages(plan, reader)) {
      const channelId = channelIds.get(message.channelId);
      if (channelId === undefined) throw unknownChannel(plan, message.channelId, message.topic);
      await writer.addMessage({
        channelId,
        logTimeNs: message.logTimeNs,
        publishTimeNs: message.publishTimeNs,
        sequence: message.sequence,
        data: message.data,
      });
      count(progress, message.topic, message.logTimeNs);
    }
    await writer.end();
    return attachments.length;
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
}

async function writeBag(
  plan: WindowExportPlan,
  source: WindowExportSource,
  reader: LogReader,
  progress: Progress,
): Promise<void> {
  const writer = await createRos1BagWriter(plan.output.path, {
    compression: plan.output.compression as Ros1Compression,
  });
  try {
    const connectionIds = new Map<number, number>();
    for (const planned of plan.channels) {
      connectionIds.set(
        planned.sourceChannelId,
        writer.addConnection(connectionSpec(planned, source.layout)),
      );
    }
    for await (const message of windowMessages(plan, reader)) {
      const connectionId = connectionIds.get(message.channelId);
      if (connectionId === undefined) throw unknownChannel(plan, message.channelId, message.topic);
      await writer.addMessage({ connectionId, timeNs: message.logTimeNs, data: message.data });
      count(progress, message.topic, message.logTimeNs);
    }
    await writer.close();
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
}

/** A bag connection from a ROS 1 channel: type and full definition from its schema, md5sum as recorded. */
function connectionSpec(planned: PlannedChannel, layout: LogLayout): Ros1ConnectionSpec {
  const channel = layout.channels.find((c) => c.id === planned.sourceChannelId);
  const schema = layout.schemas.find((s) => s.id === planned.sourceSchemaId);
  const definition = schema ? new TextDecoder().decode(schema.data) : "";
  let md5sum = channel?.metadata.md5sum ?? "";
  if (md5sum === "" || md5sum === "*") {
    if (definition === "") {
      throw new StrataError(
        "STRATA_E_UNSUPPORTED",
        `topic ${planned.topic} has neither a message definition nor an md5sum; a ROS 1 bag needs them`,
        { topic: planned.topic },
      );
    }
    md5sum = ros1Md5FromText(definition);
  }
  const spec: Ros1ConnectionSpec = {
    topic: planned.topic,
    type: planned.schemaName,
    md5sum,
    messageDefinition: definition,
  };
  if (channel?.metadata.callerid !== undefined) spec.callerid = channel.metadata.callerid;
  if (channel?.metadata.latching !== undefined) spec.latching = channel.metadata.latching === "1";
  return spec;
}

/** SHA-256 and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: Sha256Hex; sizeBytes: number }> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return { sha256: hash.digest("hex"), sizeBytes: (await stat(path)).size };
}
