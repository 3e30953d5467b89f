/**
 * ROS 1 bag (format 2.0) reader. @foxglove/rosbag parses the bag header, connections and chunk
 * infos; this module reads the chunks' IndexData records itself (without decompressing chunks) for
 * statistics and `timestamps()`, and merges chunks by time so unsorted or overlapping chunks still
 * give messages in log-time order.
 *
 * Memory: the index of one chunk at a time for `summary()`/`timestamps()`; for `messages()` the
 * chunks whose time ranges overlap the current read position (normally one, ~768 KiB).
 */
import { Bag, type Filelike } from "@foxglove/rosbag";
import { StrataError } from "../../core/index.ts";
import { decoderFor } from "../codec/index.ts";
import type {
  ByteSource,
  ChannelInfo,
  LogMessage,
  LogReader,
  LogSummary,
  MessageQuery,
  MessageStamp,
  SchemaInfo,
  TopicSummary,
} from "../types.ts";
import { type ChunkDecompressors, loadChunkDecompressors } from "./decompress.ts";
import { MinHeap } from "./heap.ts";
import {
  BAG_MAGIC,
  fieldOp,
  fieldString,
  fieldUint32,
  type IndexDataRecord,
  OP,
  parseHeaderFields,
  parseIndexData,
  parseMessageData,
  parseRecord,
  RecordParseError,
} from "./records.ts";

type LibConnection = Bag["connections"] extends Map<number, infer C> ? C : never;
type LibChunkInfo = Bag["chunkInfos"][number];
type Decoder = (data: Uint8Array) => unknown;

/** Where a chunk's pieces are in the file, from its record header (no payload read). */
interface ChunkLayout {
  chunkInfo: LibChunkInfo;
  /** Position of the chunk record; also the chunk's identity. */
  positionBytes: number;
  compression: string;
  uncompressedBytes: number;
  dataOffsetBytes: number;
  dataBytes: number;
  /** The chunk's IndexData records occupy [indexStartBytes, indexEndBytes). */
  indexStartBytes: number;
  indexEndBytes: number;
}

interface ConnectionStats {
  messageCount: bigint;
  firstTimeNs?: bigint;
  lastTimeNs?: bigint;
}

/** Per-chunk facts from its IndexData records (the real message times, not the ChunkInfo's). */
interface ChunkStats {
  layout: ChunkLayout;
  /** File-order rank, the tie-breaker for equal times. */
  ordinal: number;
  messageCount: number;
  startTimeNs: bigint;
  endTimeNs: bigint;
  connectionIds: Set<number>;
}

interface IndexScan {
  chunks: ChunkStats[];
  connections: Map<number, ConnectionStats>;
  warnings: string[];
}

interface PendingMessage {
  timeNs: bigint;
  ordinal: number;
  offsetInChunk: number;
  connectionId: number;
  chunk: LoadedChunk;
}

interface LoadedChunk {
  stats: ChunkStats;
  data: Uint8Array | undefined;
  pendingMessages: number;
}

const BAG_HEADER_OFFSET = 13;
/** Bytes read at a chunk's start to find its header (re-read when a header is larger). */
const CHUNK_HEADER_READAHEAD = 256;
/** A chunk's index region larger than this is treated as corrupt (12 bytes per message). */
const MAX_INDEX_REGION_BYTES = 256 * 1024 * 1024;

/** Opens a ROS 1 bag v2.0. The reader owns `source` and closes it in `close()`. */
export async function openRos1Reader(source: ByteSource): Promise<LogReader> {
  try {
    const reader = new Ros1Reader(source);
    await reader.open();
    return reader;
  } catch (error) {
    await source.close?.().catch(() => undefined);
    throw error;
  }
}

/** Adapts a ByteSource to @foxglove/rosbag's Filelike; remembers the last offset read for errors. */
class FilelikeAdapter implements Filelike {
  lastReadOffset = 0;
  constructor(
    private readonly source: ByteSource,
    private readonly sizeBytes: number,
  ) {}

  size(): number {
    return this.sizeBytes;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.lastReadOffset = offset;
    // The library reads ahead (4 KiB for the bag header); clamp to the file so short files fail
    // on their content, not on the read.
    const clampedLength = Math.max(0, Math.min(length, this.sizeBytes - offset));
    if (offset < 0 || offset > this.sizeBytes) {
      throw new StrataError("STRATA_E_CORRUPT_LOG", `a record points outside the file (${offset})`, {
        file: this.source.name,
        offset,
      });
    }
    return await this.source.read(BigInt(offset), BigInt(clampedLength));
  }
}

class Ros1Reader implements LogReader {
  readonly format = "ros1" as const;
  private readonly fileName: string;
  private sizeBytes = 0n;
  private indexPositionBytes = 0;
  private decompressors: ChunkDecompressors = {};
  private connections = new Map<number, LibConnection>();
  private chunkInfosByPosition: LibChunkInfo[] = [];
  private chunkLayouts: Promise<ChunkLayout[]> | undefined;
  private indexScan: Promise<IndexScan> | undefined;
  private channels: ChannelInfo[] = [];
  private schemas: SchemaInfo[] = [];
  private readonly decoders = new Map<number, Decoder | undefined>();

  constructor(private readonly source: ByteSource) {
    this.fileName = source.name;
  }

  async open(): Promise<void> {
    this.sizeBytes = await this.source.size();
    if (this.sizeBytes === 0n) {
      throw new StrataError("STRATA_E_EMPTY_FILE", `${this.fileName} has 0 bytes`, { file: this.fileName });
    }
    const magicBytes = BigInt(BAG_MAGIC.length);
    const head = await this.source.read(0n, this.sizeBytes < magicBytes ? this.sizeBytes : magicBytes);
    const headText = new TextDecoder("latin1").decode(head);
    if (headText !== BAG_MAGIC) {
      if (headText.startsWith("#ROSBAG V") || headText.startsWith("#ROSRECORD V")) {
        throw new StrataError(
          "STRATA_E_UNSUPPORTED",
          `bag version line ${JSON.stringify(headText.trim())}; only ROS bag format 2.0 is read`,
          { file: this.fileName, offset: 0 },
        );
      }
      throw new StrataError(
        "STRATA_E_UNKNOWN_FORMAT",
        `not a ROS 1 bag (starts with ${JSON.stringify(headText)})`,
        {
          file: this.fileName,
          offset: 0,
        },
      );
    }
    if (this.sizeBytes > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new StrataError("STRATA_E_UNSUPPORTED", "bag larger than 2^53 bytes", { file: this.fileName });
    }
    this.decompressors = await loadChunkDecompressors();
    const filelike = new FilelikeAdapter(this.source, Number(this.sizeBytes));
    const bag = new Bag(filelike, { parse: false, decompress: this.decompressors });

    const header = await this.wrapLibrary(() => bag.reader.readHeader(), filelike);
    if (header.indexPosition === 0) {
      throw new StrataError(
        "STRATA_E_TRUNCATED_LOG",
        "the bag has no index (the recorder did not close it); run `rosbag reindex` on it",
        { file: this.fileName, offset: BAG_HEADER_OFFSET },
      );
    }
    if (header.indexPosition > Number(this.sizeBytes)) {
      throw new StrataError(
        "STRATA_E_TRUNCATED_LOG",
        `the bag header puts the index at byte ${header.indexPosition} but the file has ${this.sizeBytes} bytes`,
        { file: this.fileName, offset: this.sizeBytes },
      );
    }
    this.indexPositionBytes = header.indexPosition;
    await this.wrapLibrary(() => bag.open(), filelike);
    this.connections = bag.connections;
    if (bag.connections.size !== header.connectionCount || bag.chunkInfos.length !== header.chunkCount) {
      throw new StrataError(
        "STRATA_E_CORRUPT_LOG",
        "the index holds fewer records than the bag header declares",
        {
          file: this.fileName,
          offset: header.indexPosition,
        },
      );
    }
    for (const info of bag.chunkInfos) {
      if (info.chunkPosition < BAG_HEADER_OFFSET || info.chunkPosition >= header.indexPosition) {
        throw new StrataError("STRATA_E_CORRUPT_LOG", `a chunk info points at byte ${info.chunkPosition}`, {
          file: this.fileName,
          offset: info.offset ?? header.indexPosition,
        });
      }
    }
    const chunkInfos = [...bag.chunkInfos].sort((a, b) => a.chunkPosition - b.chunkPosition);
    this.buildChannels();
    this.chunkInfosByPosition = chunkInfos;
  }

  /** Runs a @foxglove/rosbag call; its plain Errors become STRATA_E_CORRUPT_LOG at the last offset read. */
  private async wrapLibrary<T>(run: () => Promise<T>, filelike: FilelikeAdapter): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof StrataError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new StrataError(
        "STRATA_E_CORRUPT_LOG",
        `@foxglove/rosbag: ${detail}`,
        { file: this.fileName, offset: filelike.lastReadOffset },
        { cause: error },
      );
    }
  }

  private corrupt(detail: string, offset: number, cause?: unknown): StrataError {
    return new StrataError("STRATA_E_CORRUPT_LOG", detail, { file: this.fileName, offset }, { cause });
  }

  private buildChannels(): void {
    const schemaIds = new Map<string, number>();
    const encoder = new TextEncoder();
    const ids = [...this.connections.keys()].sort((a, b) => a - b);
    for (const connectionId of ids) {
      const connection = this.connections.get(connectionId)!;
      const type = connection.type ?? "";
      const md5sum = connection.md5sum ?? "";
      let schemaId = 0;
      if (type !== "") {
        const key = `${type}\u0000${md5sum}`;
        schemaId = schemaIds.get(key) ?? 0;
        if (schemaId === 0) {
          schemaId = this.schemas.length + 1;
          schemaIds.set(key, schemaId);
          this.schemas.push({
            id: schemaId,
            name: type,
            encoding: "ros1msg",
            data: encoder.encode(connection.messageDefinition),
          });
        }
      }
      const metadata: Record<string, string> = { md5sum };
      if (connection.callerid !== undefined) metadata.callerid = connection.callerid;
      if (connection.latching !== undefined) metadata.latching = connection.latching ? "1" : "0";
      this.channels.push({
        id: connectionId,
        topic: connection.topic,
        schemaId,
        schemaName: type,
        messageEncoding: "ros1",
        metadata,
      });
    }
  }

  /** Reads each chunk record's header (not its payload) to find its data and index regions. */
  private layouts(): Promise<ChunkLayout[]> {
    this.chunkLayouts ??= (async () => {
      const infos = this.chunkInfosByPosition;
      const layouts: ChunkLayout[] = [];
      for (const [i, info] of infos.entries()) {
        const nextPosition = infos[i + 1]?.chunkPosition ?? this.indexPositionBytes;
        layouts.push(await this.readChunkLayout(info, nextPosition));
      }
      return layouts;
    })();
    return this.chunkLayouts;
  }

  private async readChunkLayout(info: LibChunkInfo, nextPositionBytes: number): Promise<ChunkLayout> {
    const position = info.chunkPosition;
    const limit = this.indexPositionBytes;
    let head = await this.source.read(
      BigInt(position),
      BigInt(Math.min(CHUNK_HEADER_READAHEAD, limit - position)),
    );
    if (head.byteLength < 8) throw this.corrupt("chunk record is truncated", position);
    const headerLen = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0, true);
    if (position + 8 + headerLen > limit)
      throw this.corrupt(`chunk header of ${headerLen} bytes overruns`, position);
    if (head.byteLength < 8 + headerLen)
      head = await this.source.read(BigInt(position), BigInt(8 + headerLen));
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    try {
      const fields = parseHeaderFields(head.subarray(4, 4 + headerLen));
      const op = fieldOp(fields, position);
      if (op !== OP.chunk) throw this.corrupt(`expected a chunk record (op 5), found op ${op}`, position);
      const dataBytes = view.getUint32(4 + headerLen, true);
      const dataOffsetBytes = position + 8 + headerLen;
      const indexStartBytes = dataOffsetBytes + dataBytes;
      if (indexStartBytes > nextPositionBytes) {
        throw this.corrupt(`chunk data of ${dataBytes} bytes overruns the next record`, position);
      }
      return {
        chunkInfo: info,
        positionBytes: position,
        compression: fieldString(fields, "compression") ?? "none",
        uncompressedBytes: fieldUint32(fields, "size", position),
        dataOffsetBytes,
        dataBytes,
        indexStartBytes,
        indexEndBytes: nextPositionBytes,
      };
    } catch (error) {
      if (error instanceof RecordParseError) throw this.corrupt(error.message, position, error);
      throw error;
    }
  }

  /** Parses the IndexData records that follow a chunk (one per connection in the chunk). */
  private parseIndexRegion(layout: ChunkLayout, region: Uint8Array): IndexDataRecord[] {
    const expected = layout.chunkInfo.connections.length;
    const records: IndexDataRecord[] = [];
    let at = 0;
    try {
      for (let i = 0; i < expected; i++) {
        const record = parseRecord(region, at);
        records.push(parseIndexData(record, at));
        at += record.recordBytes;
      }
    } catch (error) {
      if (error instanceof RecordParseError) {
        throw this.corrupt(
          `chunk index: ${error.message}`,
          layout.indexStartBytes + error.bufferOffset,
          error,
        );
      }
      throw error;
    }
    return records;
  }

  private async readIndexRecords(layout: ChunkLayout): Promise<IndexDataRecord[]> {
    const regionBytes = layout.indexEndBytes - layout.indexStartBytes;
    if (regionBytes > MAX_INDEX_REGION_BYTES) {
      throw this.corrupt(`chunk index region of ${regionBytes} bytes is implausible`, layout.indexStartBytes);
    }
    const region = await this.source.read(BigInt(layout.indexStartBytes), BigInt(regionBytes));
    return this.parseIndexRegion(layout, region);
  }

  /** One pass over every chunk's IndexData: real per-chunk and per-connection times and counts. */
  private scan(): Promise<IndexScan> {
    this.indexScan ??= (async () => {
      const layouts = await this.layouts();
      const connections = new Map<number, ConnectionStats>();
      const chunks: ChunkStats[] = [];
      const warnings: string[] = [];
      for (const [ordinal, layout] of layouts.entries()) {
        const records = await this.readIndexRecords(layout);
        let startTimeNs: bigint | undefined;
        let endTimeNs: bigint | undefined;
        let messageCount = 0;
        const connectionIds = new Set<number>();
        for (const record of records) {
          if (!this.connections.has(record.connectionId)) {
            throw this.corrupt(
              `chunk index names unknown connection ${record.connectionId}`,
              layout.indexStartBytes,
            );
          }
          const stats = connections.get(record.connectionId) ?? { messageCount: 0n };
          connections.set(record.connectionId, stats);
          const declared = layout.chunkInfo.connections.find((c) => c.conn === record.connectionId)?.count;
          if (declared !== record.entries.length) {
            warnings.push(
              `chunk at byte ${layout.positionBytes}: connection ${record.connectionId} has ${record.entries.length} index entries, chunk info says ${declared ?? 0}`,
            );
          }
          if (record.entries.length > 0) connectionIds.add(record.connectionId);
          for (const entry of record.entries) {
            const t = entry.timeNs;
            stats.messageCount += 1n;
            if (stats.firstTimeNs === undefined || t < stats.firstTimeNs) stats.firstTimeNs = t;
            if (stats.lastTimeNs === undefined || t > stats.lastTimeNs) stats.lastTimeNs = t;
            if (startTimeNs === undefined || t < startTimeNs) startTimeNs = t;
            if (endTimeNs === undefined || t > endTimeNs) endTimeNs = t;
          }
          messageCount += record.entries.length;
        }
        if (startTimeNs !== undefined && endTimeNs !== undefined) {
          chunks.push({ layout, ordinal, messageCount, startTimeNs, endTimeNs, connectionIds });
        }
      }
      return { chunks, connections, warnings };
    })();
    return this.indexScan;
  }

  async summary(): Promise<LogSummary> {
    const scan = await this.scan();
    const layouts = await this.layouts();
    const topics = new Map<string, TopicSummary>();
    const warnings = [...scan.warnings];
    let messageCount = 0n;
    let startTimeNs: bigint | undefined;
    let endTimeNs: bigint | undefined;
    for (const channel of this.channels) {
      const stats = scan.connections.get(channel.id) ?? { messageCount: 0n };
      let topic = topics.get(channel.topic);
      if (topic === undefined) {
        topic = {
          topic: channel.topic,
          schemaName: channel.schemaName,
          messageEncoding: channel.messageEncoding,
          messageCount: 0n,
        };
        topics.set(channel.topic, topic);
      } else if (topic.schemaName !== channel.schemaName) {
        warnings.push(
          `topic ${channel.topic} has connections of types ${topic.schemaName} and ${channel.schemaName}`,
        );
      }
      topic.messageCount += stats.messageCount;
      messageCount += stats.messageCount;
      const { firstTimeNs, lastTimeNs } = stats;
      if (firstTimeNs !== undefined) {
        if (topic.firstTimeNs === undefined || firstTimeNs < topic.firstTimeNs)
          topic.firstTimeNs = firstTimeNs;
        if (startTimeNs === undefined || firstTimeNs < startTimeNs) startTimeNs = firstTimeNs;
      }
      if (lastTimeNs !== undefined) {
        if (topic.lastTimeNs === undefined || lastTimeNs > topic.lastTimeNs) topic.lastTimeNs = lastTimeNs;
        if (endTimeNs === undefined || lastTimeNs > endTimeNs) endTimeNs = lastTimeNs;
      }
    }
    const compressions = [...new Set(layouts.map((l) => l.compression))].sort();
    const summary: LogSummary = {
      format: "ros1",
      path: this.fileName,
      sizeBytes: this.sizeBytes,
      messageCount,
      schemas: this.schemas.map((s) => ({ ...s })),
      channels: this.channels.map((c) => ({ ...c, metadata: { ...c.metadata } })),
      topics: [...topics.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0)),
      attachments: [],
      metadata: [
        {
          name: "rosbag",
          metadata: {
            version: "2.0",
            chunk_count: String(layouts.length),
            compression: compressions.join(",") || "none",
          },
        },
      ],
      profile: "ros1",
      library: "",
      warnings,
    };
    if (startTimeNs !== undefined) summary.startTimeNs = startTimeNs;
    if (endTimeNs !== undefined) summary.endTimeNs = endTimeNs;
    return summary;
  }

  async *timestamps(): AsyncIterable<MessageStamp[]> {
    for (const layout of await this.layouts()) {
      const records = await this.readIndexRecords(layout);
      const batch: MessageStamp[] = [];
      for (const record of records) {
        for (const entry of record.entries)
          batch.push({ channelId: record.connectionId, logTimeNs: entry.timeNs });
      }
      if (batch.length > 0) yield batch;
    }
  }

  private decoderForChannel(channelId: number): Decoder | undefined {
    if (this.decoders.has(channelId)) return this.decoders.get(channelId);
    const channel = this.channels.find((c) => c.id === channelId);
    const schema = channel === undefined ? undefined : this.schemas.find((s) => s.id === channel.schemaId);
    const decoder = channel === undefined ? undefined : decoderFor(channel, schema);
    this.decoders.set(channelId, decoder);
    return decoder;
  }

  /** Reads and decompresses a chunk's payload and reads its index (one read for both). */
  private async loadChunk(stats: ChunkStats): Promise<{ data: Uint8Array; records: IndexDataRecord[] }> {
    const layout = stats.layout;
    const span = await this.source.read(
      BigInt(layout.dataOffsetBytes),
      BigInt(layout.indexEndBytes - layout.dataOffsetBytes),
    );
    const compressed = span.subarray(0, layout.dataBytes);
    const records = this.parseIndexRegion(layout, span.subarray(layout.dataBytes));
    let data: Uint8Array;
    if (layout.compression === "none") {
      data = compressed;
    } else {
      const decompress = this.decompressors[layout.compression];
      if (decompress === undefined) {
        throw new StrataError("STRATA_E_UNSUPPORTED", `chunk compression '${layout.compression}'`, {
          file: this.fileName,
          offset: layout.positionBytes,
        });
      }
      try {
        data = decompress(compressed, layout.uncompressedBytes);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw this.corrupt(
          `${layout.compression} chunk does not decompress: ${detail}`,
          layout.positionBytes,
          error,
        );
      }
    }
    if (data.byteLength !== layout.uncompressedBytes) {
      throw this.corrupt(
        `chunk holds ${data.byteLength} bytes uncompressed, its header says ${layout.uncompressedBytes}`,
        layout.positionBytes,
      );
    }
    return { data, records };
  }

  async *messages(query: MessageQuery = {}): AsyncIterable<LogMessage> {
    const scan = await this.scan();
    const { startNs, endNs } = query;
    let wanted: Set<number> | undefined;
    if (query.topics !== undefined) {
      const topics = new Set(query.topics);
      wanted = new Set(this.channels.filter((c) => topics.has(c.topic)).map((c) => c.id));
    }
    const candidates = scan.chunks
      .filter((chunk) => {
        if (startNs !== undefined && chunk.endTimeNs < startNs) return false;
        if (endNs !== undefined && chunk.startTimeNs > endNs) return false;
        if (wanted === undefined) return true;
        for (const id of chunk.connectionIds) if (wanted.has(id)) return true;
        return false;
      })
      .sort((a, b) =>
        a.startTimeNs < b.startTimeNs ? -1 : a.startTimeNs > b.startTimeNs ? 1 : a.ordinal - b.ordinal,
      );

    const heap = new MinHeap<PendingMessage>((a, b) =>
      a.timeNs !== b.timeNs
        ? a.timeNs < b.timeNs
        : a.ordinal !== b.ordinal
          ? a.ordinal < b.ordinal
          : a.offsetInChunk < b.offsetInChunk,
    );
    let nextCandidate = 0;
    for (;;) {
      // Before giving out the earliest pending message, load every chunk that could hold an earlier one.
      for (;;) {
        const next = candidates[nextCandidate];
        const top = heap.peek();
        if (next === undefined || (top !== undefined && next.startTimeNs > top.timeNs)) break;
        nextCandidate += 1;
        const { data, records } = await this.loadChunk(next);
        const loaded: LoadedChunk = { stats: next, data, pendingMessages: 0 };
        for (const record of records) {
          if (wanted !== undefined && !wanted.has(record.connectionId)) continue;
          for (const entry of record.entries) {
            if (startNs !== undefined && entry.timeNs < startNs) continue;
            if (endNs !== undefined && entry.timeNs > endNs) continue;
            loaded.pendingMessages += 1;
            heap.push({
              timeNs: entry.timeNs,
              ordinal: next.ordinal,
              offsetInChunk: entry.offsetInChunk,
              connectionId: record.connectionId,
              chunk: loaded,
            });
          }
        }
      }
      const item = heap.pop();
      if (item === undefined) return;
      yield this.readMessage(item, query.decode === true);
      item.chunk.pendingMessages -= 1;
      if (item.chunk.pendingMessages === 0) item.chunk.data = undefined;
    }
  }

  private readMessage(item: PendingMessage, decode: boolean): LogMessage {
    const layout = item.chunk.stats.layout;
    const data = item.chunk.data!;
    let record: ReturnType<typeof parseMessageData>;
    try {
      record = parseMessageData(data, item.offsetInChunk);
    } catch (error) {
      if (error instanceof RecordParseError) {
        throw this.corrupt(
          `message record at chunk offset ${item.offsetInChunk}: ${error.message}`,
          layout.positionBytes,
          error,
        );
      }
      throw error;
    }
    if (record.connectionId !== item.connectionId) {
      throw this.corrupt(
        `index says connection ${item.connectionId} but the record at chunk offset ${item.offsetInChunk} has ${record.connectionId}`,
        layout.positionBytes,
      );
    }
    const topic = this.connections.get(record.connectionId)?.topic ?? "";
    const message: LogMessage = {
      channelId: record.connectionId,
      topic,
      logTimeNs: record.timeNs,
      publishTimeNs: record.timeNs,
      sequence: 0,
      // A copy, so a consumer holding a message does not pin the whole chunk.
      data: record.data.slice(),
    };
    if (decode) {
      const decoder = this.decoderForChannel(record.connectionId);
      if (decoder !== undefined) {
        try {
          message.decoded = decoder(message.data);
        } catch (error) {
          if (error instanceof StrataError) throw error;
          const detail = error instanceof Error ? error.message : String(error);
          throw new StrataError(
            "STRATA_E_DECODE",
            detail,
            { file: this.fileName, offset: layout.positionBytes, topic },
            { cause: error },
          );
        }
      }
    }
    return message;
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}
