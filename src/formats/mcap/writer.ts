/**
 * MCAP writer on top of @mcap/core's McapWriter: chunked (zstd, lz4 or uncompressed), with message
 * indexes, chunk indexes, repeated schemas/channels, statistics, attachment/metadata indexes and
 * summary offsets. Output is deterministic: no wall-clock value is written, so the same calls give
 * byte-identical files.
 */
import { type IWritable, McapWriter } from "@mcap/core";
import * as zstd from "@foxglove/wasm-zstd";
import { StrataError, toStrataError } from "../../core/index.ts";
import { type ByteSink, openFileSink } from "../node-source.ts";
import { lz4CompressFrame } from "../lz4.ts";

export type McapCompression = "zstd" | "lz4" | "none";

export interface McapWriterOptions {
  /** Header profile: "ros1", "ros2", "" … */
  profile: string;
  /** Header library (default "strata"). */
  library?: string;
  compression: McapCompression;
  /** A chunk is closed once its uncompressed records exceed this many bytes (default 4 MiB). */
  chunkSize?: number;
  /** zstd level (default 3: fast, good ratio). */
  zstdLevel?: number;
}

export interface McapSchemaInput {
  name: string;
  /** `ros2msg`, `ros1msg`, `ros2idl`, `protobuf`, `jsonschema`, … */
  encoding: string;
  data: Uint8Array;
}

export interface McapChannelInput {
  topic: string;
  /** 0 for a channel without schema. */
  schemaId: number;
  messageEncoding: string;
  metadata?: Record<string, string>;
}

export interface McapMessageInput {
  channelId: number;
  logTimeNs: bigint;
  /** Defaults to logTimeNs. */
  publishTimeNs?: bigint;
  /** Defaults to 0. */
  sequence?: number;
  data: Uint8Array;
}

export interface McapAttachmentInput {
  name: string;
  mediaType: string;
  logTimeNs: bigint;
  createTimeNs: bigint;
  data: Uint8Array;
}

export interface McapMetadataInput {
  name: string;
  metadata: Record<string, string>;
}

/** Calls are queued, so they need not be awaited one by one; `end()` waits for all of them. */
export interface McapLogWriter {
  addSchema(schema: McapSchemaInput): Promise<number>;
  addChannel(channel: McapChannelInput): Promise<number>;
  addMessage(message: McapMessageInput): Promise<void>;
  addMetadata(metadata: McapMetadataInput): Promise<void>;
  addAttachment(attachment: McapAttachmentInput): Promise<void>;
  /** Writes the last chunk, the summary and the footer. */
  end(): Promise<void>;
}

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
const DEFAULT_ZSTD_LEVEL = 3;

/** A writer that streams an MCAP file into `sink`. */
export async function createMcapWriter(sink: ByteSink, options: McapWriterOptions): Promise<McapLogWriter> {
  const compressChunk = await chunkCompressor(options);
  let position = 0n;
  const writable: IWritable = {
    // McapWriter reuses its buffer after each write: hand the sink its own copy.
    write: async (buffer: Uint8Array) => {
      await sink.write(buffer.slice());
      position += BigInt(buffer.byteLength);
    },
    position: () => position,
  };
  const writer = new McapWriter({
    writable,
    chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    compressChunk,
    startChannelId: 1,
    useChunks: true,
    useMessageIndex: true,
    useChunkIndex: true,
    useStatistics: true,
    useSummaryOffsets: true,
    repeatSchemas: true,
    repeatChannels: true,
    useAttachmentIndex: true,
    useMetadataIndex: true,
  });
  const schemaIds = new Set<number>();
  const channelIds = new Set<number>();
  let state: "open" | "ended" | "failed" = "open";
  let queue: Promise<unknown> = writer.start({
    profile: options.profile,
    library: options.library ?? "strata",
  });

  function enqueue<T>(operation: () => Promise<T>): Promise<T> {
    if (state !== "open") {
      return Promise.reject(new StrataError("STRATA_E_USAGE", `the MCAP writer is ${state}`));
    }
    const result = queue.then(() => {
      if (state === "failed") throw new StrataError("STRATA_E_USAGE", "the MCAP writer failed earlier");
      return operation();
    });
    // The queue itself never rejects; the caller gets the error through `result`.
    queue = result.then(
      () => undefined,
      () => {
        state = "failed";
      },
    );
    return result.catch((error: unknown) => {
      throw error instanceof StrataError ? error : toStrataError(error);
    });
  }

  return {
    addSchema: (schema) =>
      enqueue(async () => {
        const id = await writer.registerSchema({
          name: schema.name,
          encoding: schema.encoding,
          data: schema.data,
        });
        schemaIds.add(id);
        return id;
      }),
    addChannel: (channel) =>
      enqueue(async () => {
        if (channel.schemaId !== 0 && !schemaIds.has(channel.schemaId)) {
          throw new StrataError(
            "STRATA_E_USAGE",
            `channel ${channel.topic} names unknown schema id ${channel.schemaId}`,
          );
        }
        const id = await writer.registerChannel({
          topic: channel.topic,
          schemaId: channel.schemaId,
          messageEncoding: channel.messageEncoding,
          metadata: new Map(Object.entries(channel.metadata ?? {})),
        });
        channelIds.add(id);
        return id;
      }),
    addMessage: (message) =>
      enqueue(async () => {
        if (!channelIds.has(message.channelId)) {
          throw new StrataError("STRATA_E_USAGE", `message for unknown channel id ${message.channelId}`);
        }
        await writer.addMessage({
          channelId: message.channelId,
          logTime: message.logTimeNs,
          publishTime: message.publishTimeNs ?? message.logTimeNs,
          sequence: message.sequence ?? 0,
          data: message.data,
        });
      }),
    addMetadata: (metadata) =>
      enqueue(() =>
        writer.addMetadata({ name: metadata.name, metadata: new Map(Object.entries(metadata.metadata)) }),
      ),
    addAttachment: (attachment) =>
      enqueue(() =>
        writer.addAttachment({
          name: attachment.name,
          mediaType: attachment.mediaType,
          logTime: attachment.logTimeNs,
          createTime: attachment.createTimeNs,
          data: attachment.data,
        }),
      ),
    end: async () => {
      await enqueue(() => writer.end());
      state = "ended";
    },
  };
}

async function chunkCompressor(
  options: McapWriterOptions,
): Promise<((data: Uint8Array) => { compression: string; compressedData: Uint8Array }) | undefined> {
  switch (options.compression) {
    case "none":
      return undefined;
    case "zstd": {
      await zstd.isLoaded;
      const level = options.zstdLevel ?? DEFAULT_ZSTD_LEVEL;
      return (data) => ({ compression: "zstd", compressedData: zstd.compress(data, level) });
    }
    case "lz4":
      return (data) => ({ compression: "lz4", compressedData: lz4CompressFrame(data) });
    default:
      throw new StrataError("STRATA_E_USAGE", `unknown compression ${String(options.compression)}`);
  }
}

export interface McapFileWriter extends McapLogWriter {
  readonly path: string;
  /** Stops writing and deletes the temporary file. */
  abort(): Promise<void>;
}

/**
 * Writes an MCAP file at `path` through `path + ".tmp"`: the file appears (by rename) only when
 * `end()` succeeds, so a crash never leaves a half-written file under the final name.
 */
export async function createMcapFileWriter(
  path: string,
  options: McapWriterOptions,
): Promise<McapFileWriter> {
  const sink = await openFileSink(path);
  let writer: McapLogWriter;
  try {
    writer = await createMcapWriter(sink, options);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return {
    ...writer,
    path,
    end: async () => {
      try {
        await writer.end();
        await sink.finish();
      } catch (error) {
        await sink.abort();
        throw error;
      }
    },
    abort: () => sink.abort(),
  };
}
