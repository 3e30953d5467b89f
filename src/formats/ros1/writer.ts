/**
 * ROS 1 bag (format 2.0) writer, written from the format description at
 * http://wiki.ros.org/Bags/Format/2.0 (there is no maintained JavaScript writer).
 *
 * Layout: `#ROSBAG V2.0\n`, the bag header record padded to 4096 bytes, then per chunk a Chunk
 * record (connection records on first use + message data records, optionally LZ4-framed) followed
 * by one IndexData record per connection in it; at `index_pos` every Connection record, then one
 * ChunkInfo record per chunk. The bag header is rewritten at close with the final index position.
 *
 * Output is deterministic: the same calls give the same bytes (fields in a fixed order, connections
 * and index records by ascending id, index entries sorted by time). Bytes go to `<path>.tmp` and are
 * renamed onto `path` only by a successful `close()`. Memory: one chunk (`chunkSizeBytes`) plus one
 * ChunkInfo per chunk.
 */
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { StrataError, toStrataError } from "../../core/index.ts";
import { lz4CompressFrame } from "../lz4.ts";
import {
  BAG_HEADER_PADDED_BYTES,
  BAG_MAGIC_BYTES,
  concatBytes,
  encodeHeader,
  encodeRecord,
  OP,
  timeField,
  uint8Field,
  uint32Field,
  uint64Field,
} from "./records.ts";

export type Ros1Compression = "none" | "lz4";

export interface Ros1BagWriterOptions {
  /** Chunk compression (default `"none"`). `lz4` writes LZ4 frames as `roslz4` does. */
  compression?: Ros1Compression;
  /** A chunk is closed once its uncompressed data reaches this many bytes (default 768 KiB, as `rosbag record`). */
  chunkSizeBytes?: number;
}

export interface Ros1ConnectionSpec {
  topic: string;
  /** ROS 1 type name, e.g. `geometry_msgs/PoseStamped`. */
  type: string;
  md5sum: string;
  /** Full message definition text (with dependencies), as `gendeps --cat` prints it. */
  messageDefinition: string;
  callerid?: string;
  latching?: boolean;
}

export interface Ros1MessageSpec {
  connectionId: number;
  /** Record time (ns since the Unix epoch; must fit ROS 1 `time`: u32 seconds). */
  timeNs: bigint;
  /** The ROS 1 serialized message. */
  data: Uint8Array;
}

export interface Ros1BagWriteResult {
  path: string;
  sizeBytes: bigint;
  messageCount: bigint;
  chunkCount: number;
  connectionCount: number;
}

export interface Ros1BagWriter {
  readonly path: string;
  /** Registers a connection and returns its id (0, 1, 2, … in call order). */
  addConnection(spec: Ros1ConnectionSpec): number;
  /** Appends one message; messages may come in any time order. */
  addMessage(message: Ros1MessageSpec): Promise<void>;
  /** Writes the index and header, then renames the temp file onto `path`. */
  close(): Promise<Ros1BagWriteResult>;
  /** Stops and deletes the temp file (safe after a failure). */
  abort(): Promise<void>;
}

const DEFAULT_CHUNK_SIZE_BYTES = 768 * 1024;
const FIRST_CHUNK_POSITION = BAG_MAGIC_BYTES.byteLength + 8 + BAG_HEADER_PADDED_BYTES;
const MAX_UINT32 = 0xffff_ffff;

interface ChunkIndexEntry {
  timeNs: bigint;
  offsetInChunk: number;
}

interface OpenChunk {
  parts: Uint8Array[];
  uncompressedBytes: number;
  startTimeNs: bigint;
  endTimeNs: bigint;
  entries: Map<number, ChunkIndexEntry[]>;
}

interface WrittenChunk {
  positionBytes: bigint;
  startTimeNs: bigint;
  endTimeNs: bigint;
  /** (connection id, message count), ascending by id. */
  counts: Array<[number, number]>;
}

/** Creates `<path>.tmp` and returns a writer; see the module comment for the layout. */
export async function createRos1BagWriter(
  path: string,
  options: Ros1BagWriterOptions = {},
): Promise<Ros1BagWriter> {
  const compression = options.compression ?? "none";
  if (compression !== "none" && compression !== "lz4") {
    throw new StrataError(
      "STRATA_E_USAGE",
      `ROS 1 chunk compression must be none or lz4, not ${String(compression)}`,
    );
  }
  const chunkSizeBytes = options.chunkSizeBytes ?? DEFAULT_CHUNK_SIZE_BYTES;
  if (!Number.isInteger(chunkSizeBytes) || chunkSizeBytes <= 0 || chunkSizeBytes > 1024 * 1024 * 1024) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `chunkSizeBytes must be an integer in 1..1 GiB, not ${chunkSizeBytes}`,
    );
  }
  const tempPath = `${path}.tmp`;
  let handle: FileHandle;
  try {
    handle = await open(tempPath, "w");
  } catch (error) {
    throw toStrataError(error, { file: tempPath });
  }
  const writer = new BagWriter(path, tempPath, handle, compression, chunkSizeBytes);
  try {
    await writer.writeAt(0n, concatBytes([BAG_MAGIC_BYTES, bagHeaderRecord(0n, 0, 0)]));
  } catch (error) {
    await writer.abort();
    throw toStrataError(error, { file: tempPath });
  }
  return writer;
}

function bagHeaderRecord(
  indexPositionBytes: bigint,
  connectionCount: number,
  chunkCount: number,
): Uint8Array {
  const header = encodeHeader([
    ["op", uint8Field(OP.bagHeader)],
    ["index_pos", uint64Field(indexPositionBytes)],
    ["conn_count", uint32Field(connectionCount)],
    ["chunk_count", uint32Field(chunkCount)],
  ]);
  const padding = new Uint8Array(Math.max(0, BAG_HEADER_PADDED_BYTES - header.byteLength)).fill(0x20);
  return encodeRecord(header, padding);
}

class BagWriter implements Ros1BagWriter {
  private readonly connections: Ros1ConnectionSpec[] = [];
  /** Connections whose record has been written into some chunk already. */
  private readonly announced = new Set<number>();
  private readonly chunks: WrittenChunk[] = [];
  private chunk: OpenChunk | undefined;
  private nextPositionBytes = BigInt(FIRST_CHUNK_POSITION);
  private messageCount = 0n;
  private state: "open" | "closed" | "aborted" = "open";

  constructor(
    readonly path: string,
    private readonly tempPath: string,
    private readonly handle: FileHandle,
    private readonly compression: Ros1Compression,
    private readonly chunkSizeBytes: number,
  ) {}

  async writeAt(positionBytes: bigint, bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(
        bytes,
        written,
        bytes.byteLength - written,
        Number(positionBytes) + written,
      );
      written += bytesWritten;
    }
  }

  private async append(bytes: Uint8Array): Promise<void> {
    await this.writeAt(this.nextPositionBytes, bytes);
    this.nextPositionBytes += BigInt(bytes.byteLength);
  }

  private assertOpen(): void {
    if (this.state !== "open") {
      throw new StrataError("STRATA_E_USAGE", `the bag writer is ${this.state}`, { file: this.path });
    }
  }

  addConnection(spec: Ros1ConnectionSpec): number {
    this.assertOpen();
    for (const field of ["topic", "type", "md5sum"] as const) {
      if (typeof spec[field] !== "string" || spec[field] === "") {
        throw new StrataError("STRATA_E_USAGE", `connection ${field} must be a non-empty string`, {
          file: this.path,
        });
      }
    }
    this.connections.push({ ...spec });
    return this.connections.length - 1;
  }

  private connectionRecord(connectionId: number): Uint8Array {
    const spec = this.connections[connectionId]!;
    const header = encodeHeader([
      ["op", uint8Field(OP.connection)],
      ["conn", uint32Field(connectionId)],
      ["topic", spec.topic],
    ]);
    const fields: Array<[string, string]> = [
      ["topic", spec.topic],
      ["type", spec.type],
      ["md5sum", spec.md5sum],
      ["message_definition", spec.messageDefinition],
    ];
    if (spec.callerid !== undefined) fields.push(["callerid", spec.callerid]);
    if (spec.latching !== undefined) fields.push(["latching", spec.latching ? "1" : "0"]);
    return encodeRecord(header, encodeHeader(fields));
  }

  async addMessage(message: Ros1MessageSpec): Promise<void> {
    this.assertOpen();
    const { connectionId, timeNs, data } = message;
    if (!Number.isInteger(connectionId) || this.connections[connectionId] === undefined) {
      throw new StrataError("STRATA_E_USAGE", `unknown connection id ${connectionId}`, { file: this.path });
    }
    let time: Uint8Array;
    try {
      time = timeField(timeNs);
    } catch (error) {
      throw new StrataError("STRATA_E_USAGE", (error as Error).message, {
        file: this.path,
        topic: this.connections[connectionId]!.topic,
      });
    }
    if (this.chunk === undefined) {
      this.chunk = {
        parts: [],
        uncompressedBytes: 0,
        startTimeNs: timeNs,
        endTimeNs: timeNs,
        entries: new Map(),
      };
    }
    const chunk = this.chunk;
    if (!this.announced.has(connectionId)) {
      this.announced.add(connectionId);
      const record = this.connectionRecord(connectionId);
      chunk.parts.push(record);
      chunk.uncompressedBytes += record.byteLength;
    }
    const header = encodeHeader([
      ["op", uint8Field(OP.messageData)],
      ["conn", uint32Field(connectionId)],
      ["time", time],
    ]);
    const record = encodeRecord(header, data);
    if (chunk.uncompressedBytes + record.byteLength > MAX_UINT32) {
      throw new StrataError("STRATA_E_USAGE", "a chunk would exceed 4 GiB", { file: this.path });
    }
    const entries = chunk.entries.get(connectionId) ?? [];
    chunk.entries.set(connectionId, entries);
    entries.push({ timeNs, offsetInChunk: chunk.uncompressedBytes });
    chunk.parts.push(record);
    chunk.uncompressedBytes += record.byteLength;
    if (timeNs < chunk.startTimeNs) chunk.startTimeNs = timeNs;
    if (timeNs > chunk.endTimeNs) chunk.endTimeNs = timeNs;
    this.messageCount += 1n;
    if (chunk.uncompressedBytes >= this.chunkSizeBytes) await this.flushChunk();
  }

  private async flushChunk(): Promise<void> {
    const chunk = this.chunk;
    if (chunk === undefined) return;
    this.chunk = undefined;
    const uncompressed = concatBytes(chunk.parts);
    const payload = this.compression === "lz4" ? lz4CompressFrame(uncompressed) : uncompressed;
    const chunkHeader = encodeHeader([
      ["op", uint8Field(OP.chunk)],
      ["compression", this.compression],
      ["size", uint32Field(uncompressed.byteLength)],
    ]);
    const parts: Uint8Array[] = [encodeRecord(chunkHeader, payload)];
    const counts: Array<[number, number]> = [];
    const connectionIds = [...chunk.entries.keys()].sort((a, b) => a - b);
    for (const connectionId of connectionIds) {
      const entries = chunk.entries.get(connectionId)!;
      // Readers binary-search and merge these, so they must be sorted by time.
      entries.sort((a, b) =>
        a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : a.offsetInChunk - b.offsetInChunk,
      );
      const data = new Uint8Array(entries.length * 12);
      for (const [i, entry] of entries.entries()) {
        data.set(timeField(entry.timeNs), i * 12);
        data.set(uint32Field(entry.offsetInChunk), i * 12 + 8);
      }
      const indexHeader = encodeHeader([
        ["op", uint8Field(OP.indexData)],
        ["ver", uint32Field(1)],
        ["conn", uint32Field(connectionId)],
        ["count", uint32Field(entries.length)],
      ]);
      parts.push(encodeRecord(indexHeader, data));
      counts.push([connectionId, entries.length]);
    }
    this.chunks.push({
      positionBytes: this.nextPositionBytes,
      startTimeNs: chunk.startTimeNs,
      endTimeNs: chunk.endTimeNs,
      counts,
    });
    await this.append(concatBytes(parts));
  }

  async close(): Promise<Ros1BagWriteResult> {
    this.assertOpen();
    try {
      await this.flushChunk();
      const indexPositionBytes = this.nextPositionBytes;
      const index: Uint8Array[] = [];
      for (const connectionId of this.connections.keys()) index.push(this.connectionRecord(connectionId));
      for (const chunk of this.chunks) {
        const header = encodeHeader([
          ["op", uint8Field(OP.chunkInfo)],
          ["ver", uint32Field(1)],
          ["chunk_pos", uint64Field(chunk.positionBytes)],
          ["start_time", timeField(chunk.startTimeNs)],
          ["end_time", timeField(chunk.endTimeNs)],
          ["count", uint32Field(chunk.counts.length)],
        ]);
        const data = new Uint8Array(chunk.counts.length * 8);
        for (const [i, [connectionId, count]] of chunk.counts.entries()) {
          data.set(uint32Field(connectionId), i * 8);
          data.set(uint32Field(count), i * 8 + 4);
        }
        index.push(encodeRecord(header, data));
      }
      await this.append(concatBytes(index));
      await this.writeAt(
        BigInt(BAG_MAGIC_BYTES.byteLength),
        bagHeaderRecord(indexPositionBytes, this.connections.length, this.chunks.length),
      );
      await this.handle.sync();
      await this.handle.close();
      this.state = "closed";
      await rename(this.tempPath, this.path);
    } catch (error) {
      await this.abort();
      throw toStrataError(error, { file: this.path });
    }
    return {
      path: this.path,
      sizeBytes: this.nextPositionBytes,
      messageCount: this.messageCount,
      chunkCount: this.chunks.length,
      connectionCount: this.connections.length,
    };
  }

  async abort(): Promise<void> {
    if (this.state === "aborted") return;
    if (this.state === "open") await this.handle.close().catch(() => undefined);
    this.state = "aborted";
    this.chunk = undefined;
    await rm(this.tempPath, { force: true });
  }
}
