/**
 * MCAP writer: chunked (zstd, lz4 or uncompressed), with message indexes, chunk indexes, repeated
 * schemas/channels, statistics, attachment/metadata indexes and summary offsets. Output is
 * deterministic: no wall-clock value is written, so the same calls give byte-identical files.
 *
 * The records are laid out exactly as @mcap/core's McapWriter lays them out with those options (the
 * tests compare the two byte for byte), but the work is arranged for throughput:
 * - messages are appended straight into the open chunk's buffer (one copy per message);
 * - a closed chunk is *encoded* (CRC-32 of its records, compression, CRC-32 of the compressed bytes)
 *   either on the calling thread or on worker threads (`chunkThreads`), with a few chunks in flight
 *   while the caller keeps adding messages; encoded chunks are written strictly in order;
 * - the data-section CRC is assembled from the pieces' CRCs with `crc32Combine`, so no chunk is
 *   scanned twice, and where a chunk is encoded never changes a byte of the file;
 * - bytes reach the sink through a short queue, so file I/O overlaps the caller's work.
 * See docs/decisions/0010-mcap-writer-own-records-chunk-threads.md.
 */
import { Worker } from "node:worker_threads";
import * as zlib from "node:zlib";
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
  /**
   * Worker threads that encode closed zstd chunks (CRC + compression) while the caller keeps adding
   * messages (default 0: everything on the calling thread). The file's bytes are the same either
   * way. Used for zstd on a Node with zlib.crc32 (≥ 20.15); otherwise, or if a worker cannot
   * start, chunks are encoded on the calling thread.
   */
  chunkThreads?: number;
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
/** Closed chunks that may wait for their encoding per chunk thread before adding a message waits. */
const CHUNKS_IN_FLIGHT_PER_THREAD = 2;
/** Bytes handed to the writer but not yet to the sink, beyond which adding waits for the sink. */
const SINK_BACKLOG_BYTES = 32 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE, as MCAP uses): slicing-by-8 tables, and combination of two CRCs.

const CRC_POLYNOMIAL = 0xedb88320;
/** CRC_TABLES[k * 256 + b]: the CRC register after byte b followed by k zero bytes. */
const CRC_TABLES = (() => {
  const tables = new Int32Array(256 * 8);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ CRC_POLYNOMIAL : c >>> 1;
    tables[b] = c;
  }
  for (let i = 256; i < tables.length; i++) {
    const previous = tables[i - 256] as number;
    tables[i] = (tables[previous & 0xff] as number) ^ (previous >>> 8);
  }
  return tables;
})();
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Feeds bytes into a CRC-32 register (start with 0xffffffff; the CRC is the register's complement). */
function crc32Register(register: number, bytes: Uint8Array): number {
  const t = CRC_TABLES;
  let c = register | 0;
  let i = 0;
  const n = bytes.length;
  // Whole 8-byte groups through 32-bit reads once the position is 4-byte aligned.
  for (; i < n && ((bytes.byteOffset + i) & 3) !== 0; i++) {
    c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  }
  if (LITTLE_ENDIAN_HOST && n - i >= 8) {
    const groups = (n - i) >>> 3;
    const words = new Int32Array(bytes.buffer, bytes.byteOffset + i, groups * 2);
    for (let k = 0; k < words.length; k += 2) {
      const a = c ^ (words[k] as number);
      const d = words[k + 1] as number;
      c =
        (t[1792 + (a & 0xff)] as number) ^
        (t[1536 + ((a >>> 8) & 0xff)] as number) ^
        (t[1280 + ((a >>> 16) & 0xff)] as number) ^
        (t[1024 + (a >>> 24)] as number) ^
        (t[768 + (d & 0xff)] as number) ^
        (t[512 + ((d >>> 8) & 0xff)] as number) ^
        (t[256 + ((d >>> 16) & 0xff)] as number) ^
        (t[d >>> 24] as number);
    }
    i += groups * 8;
  }
  for (; i < n; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c;
}

/** CRC-32 of `bytes` in JavaScript (slicing-by-8), as an unsigned 32-bit number. */
export function crc32Portable(bytes: Uint8Array): number {
  return ~crc32Register(-1, bytes) >>> 0;
}

/** zlib's CRC-32 (Node ≥ 20.15; several times faster than crc32Portable), when this Node has it. */
const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** CRC-32 of `bytes`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  return zlibCrc32 ? zlibCrc32(bytes) >>> 0 : crc32Portable(bytes);
}

/** M·v over GF(2), M given as 32 columns. */
function gf2Times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let i = 0; vector !== 0; i++, vector >>>= 1) if (vector & 1) sum ^= matrix[i] as number;
  return sum >>> 0;
}

function gf2Square(square: Uint32Array, matrix: Uint32Array): void {
  for (let i = 0; i < 32; i++) square[i] = gf2Times(matrix, matrix[i] as number);
}

/**
 * CRC-32 of A‖B from crcA = crc32(A), crcB = crc32(B) and B's length: crcA is advanced through
 * lengthB zero bytes (an operator on the register, squared up bit by bit of the length), then xored
 * with crcB.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  let odd = new Uint32Array(32);
  let even = new Uint32Array(32);
  // The operator for one zero bit.
  odd[0] = CRC_POLYNOMIAL;
  for (let i = 1; i < 32; i++) odd[i] = (1 << (i - 1)) >>> 0;
  gf2Square(even, odd); // two zero bits
  gf2Square(odd, even); // four zero bits
  let crc = crcA >>> 0;
  let remaining = lengthB;
  // Each round squares the operator (8, 16, 32 … zero bits) and applies it for a set length bit.
  while (remaining > 0) {
    gf2Square(even, odd);
    [odd, even] = [even, odd];
    if (remaining % 2 === 1) crc = gf2Times(odd, crc);
    remaining = Math.floor(remaining / 2);
  }
  return (crc ^ crcB) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Chunk encoding: pure, so it can run on any thread.

interface McapEncodedChunk {
  /** CRC-32 of the uncompressed records. */
  uncompressedCrc: number;
  /** The compressed records (the records themselves for "none"). */
  compressed: Uint8Array;
  /** CRC-32 of `compressed`. */
  compressedCrc: number;
}

/** Encodes one chunk's records. For zstd, `@foxglove/wasm-zstd` must have loaded (`isLoaded`). */
function encodeMcapChunk(
  records: Uint8Array,
  compression: McapCompression,
  zstdLevel: number,
): McapEncodedChunk {
  const uncompressedCrc = crc32(records);
  let compressed: Uint8Array;
  switch (compression) {
    case "none":
      return { uncompressedCrc, compressed: records, compressedCrc: uncompressedCrc };
    case "zstd":
      compressed = zstd.compress(records, zstdLevel);
      break;
    case "lz4":
      compressed = lz4CompressFrame(records);
      break;
    default:
      throw new StrataError("STRATA_E_USAGE", `unknown compression ${String(compression)}`);
  }
  return { uncompressedCrc, compressed, compressedCrc: crc32(compressed) };
}

const compressionName = (compression: McapCompression): string => (compression === "none" ? "" : compression);

/** A job for chunk-worker.mjs. */
interface ChunkJobMessage {
  jobId: number;
  /** The records, in memory shared with the calling thread (nothing is copied or transferred). */
  records: Uint8Array;
  compression: McapCompression;
  zstdLevel: number;
}

/** chunk-worker.mjs's answer to a job. */
interface ChunkResultMessage {
  jobId: number;
  uncompressedCrc?: number;
  /** Absent when the records are their own compressed form ("none"). */
  compressed?: Uint8Array;
  compressedCrc?: number;
  error?: string;
}

/** Encodes a closed chunk's records (which it must leave unchanged). */
type ChunkEncoder = (records: Uint8Array) => Promise<McapEncodedChunk>;

interface ChunkThreads {
  encode: ChunkEncoder;
  close(): Promise<void>;
}

/**
 * Round-robin over worker threads; a worker that fails to start hands its jobs to `inline`. Jobs
 * must hold their records in SharedArrayBuffer memory.
 */
function startChunkThreads(
  count: number,
  compression: McapCompression,
  zstdLevel: number,
  inline: ChunkEncoder,
): ChunkThreads {
  interface Waiter {
    records: Uint8Array;
    resolve(value: McapEncodedChunk): void;
    reject(error: unknown): void;
  }
  interface Thread {
    worker: Worker;
    ready: Promise<boolean>;
    waiting: Map<number, Waiter>;
  }
  const threads: Thread[] = [];
  for (let i = 0; i < count; i++) {
    const worker = new Worker(new URL("./chunk-worker.mjs", import.meta.url));
    // Referenced only while it holds jobs, so an idle writer never keeps the process alive.
    worker.unref();
    const waiting = new Map<number, Waiter>();
    const ready = new Promise<boolean>((resolve) => {
      worker.once("message", (message: unknown) => resolve(message === "ready"));
      worker.once("error", () => resolve(false));
    });
    worker.on("message", (message: ChunkResultMessage | "ready") => {
      if (message === "ready") return;
      const waiter = waiting.get(message.jobId);
      if (!waiter) return;
      waiting.delete(message.jobId);
      if (waiting.size === 0) worker.unref();
      if (message.error !== undefined) {
        waiter.reject(new StrataError("STRATA_E_INTERNAL", `MCAP chunk worker failed: ${message.error}`));
        return;
      }
      waiter.resolve({
        uncompressedCrc: message.uncompressedCrc ?? 0,
        compressed: message.compressed ?? waiter.records,
        compressedCrc: message.compressedCrc ?? 0,
      });
    });
    const failAll = (error: unknown): void => {
      for (const waiter of waiting.values()) waiter.reject(error);
      waiting.clear();
    };
    worker.on("error", failAll);
    worker.on("exit", (code) =>
      failAll(new StrataError("STRATA_E_INTERNAL", `MCAP chunk worker exited (code ${code})`)),
    );
    threads.push({ worker, ready, waiting });
  }
  let nextJob = 0;
  return {
    encode: async (records) => {
      const jobId = nextJob++;
      const thread = threads[jobId % threads.length] as Thread;
      if (!(await thread.ready)) return inline(records);
      return new Promise((resolve, reject) => {
        thread.waiting.set(jobId, { records, resolve, reject });
        thread.worker.ref();
        const job: ChunkJobMessage = { jobId, records, compression, zstdLevel };
        thread.worker.postMessage(job);
      });
    },
    close: async () => {
      await Promise.all(threads.map((thread) => thread.worker.terminate()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Record layout.

const Opcode = {
  HEADER: 0x01,
  FOOTER: 0x02,
  SCHEMA: 0x03,
  CHANNEL: 0x04,
  MESSAGE: 0x05,
  CHUNK: 0x06,
  MESSAGE_INDEX: 0x07,
  CHUNK_INDEX: 0x08,
  ATTACHMENT: 0x09,
  ATTACHMENT_INDEX: 0x0a,
  STATISTICS: 0x0b,
  METADATA: 0x0c,
  METADATA_INDEX: 0x0d,
  SUMMARY_OFFSET: 0x0e,
  DATA_END: 0x0f,
} as const;
const MAGIC = new Uint8Array([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]); // "\x89MCAP0\r\n"
/** Opcode, record length, channel id, sequence, log time, publish time. */
const MESSAGE_HEADER_BYTES = 1 + 8 + 2 + 4 + 8 + 8;

const utf8 = new TextEncoder();

/** A growable little-endian byte buffer. */
class RecordBuffer {
  bytes: Uint8Array;
  view: DataView;
  length = 0;

  /** `shared`: keep the bytes in SharedArrayBuffer memory (for chunk threads). */
  constructor(
    capacity = 4096,
    readonly shared = false,
  ) {
    this.bytes = new Uint8Array(shared ? new SharedArrayBuffer(capacity) : new ArrayBuffer(capacity));
    this.view = new DataView(this.bytes.buffer);
  }

  /** Starts empty on `memory` (a buffer given back by an earlier chunk). */
  static over(memory: ArrayBufferLike, shared: boolean): RecordBuffer {
    const records = new RecordBuffer(0, shared);
    records.bytes = new Uint8Array(memory);
    records.view = new DataView(memory);
    return records;
  }

  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.byteLength) return;
    const capacity = Math.max(needed, Math.floor(this.bytes.byteLength * 1.5));
    const grown = new Uint8Array(this.shared ? new SharedArrayBuffer(capacity) : new ArrayBuffer(capacity));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): this {
    this.reserve(1);
    this.bytes[this.length++] = value;
    return this;
  }

  u16(value: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, value, true);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
    return this;
  }

  u64(value: bigint): this {
    this.reserve(8);
    this.view.setBigUint64(this.length, value, true);
    this.length += 8;
    return this;
  }

  raw(data: Uint8Array): this {
    this.reserve(data.byteLength);
    this.bytes.set(data, this.length);
    this.length += data.byteLength;
    return this;
  }

  string(value: string): this {
    const encoded = utf8.encode(value);
    return this.u32(encoded.byteLength).raw(encoded);
  }

  /** A uint32 byte length, then the pairs. */
  stringMap(map: ReadonlyMap<string, string>): this {
    const at = this.length;
    this.u32(0);
    for (const [key, value] of map) this.string(key).string(value);
    this.view.setUint32(at, this.length - at - 4, true);
    return this;
  }

  /** Starts a record; returns where its length goes. */
  begin(opcode: number): number {
    this.u8(opcode);
    const at = this.length;
    this.u64(0n);
    return at;
  }

  /** Ends a record started at `at`; returns the whole record's length (opcode and length included). */
  end(at: number): bigint {
    this.view.setBigUint64(at, BigInt(this.length - at - 8), true);
    return BigInt(this.length - at + 1);
  }

  /** The bytes written so far, handed over: this buffer starts again empty on fresh memory. */
  take(): Uint8Array {
    const out = this.bytes.subarray(0, this.length);
    this.bytes = new Uint8Array(Math.max(4096, Math.min(this.bytes.byteLength, 64 * 1024)));
    this.view = new DataView(this.bytes.buffer);
    this.length = 0;
    return out;
  }
}

interface SchemaRecord {
  id: number;
  name: string;
  encoding: string;
  data: Uint8Array;
}

interface ChannelRecord {
  id: number;
  schemaId: number;
  topic: string;
  messageEncoding: string;
  metadata: Map<string, string>;
}

function writeSchema(out: RecordBuffer, schema: SchemaRecord): bigint {
  const at = out.begin(Opcode.SCHEMA);
  out.u16(schema.id).string(schema.name).string(schema.encoding).u32(schema.data.byteLength).raw(schema.data);
  return out.end(at);
}

function writeChannel(out: RecordBuffer, channel: ChannelRecord): bigint {
  const at = out.begin(Opcode.CHANNEL);
  out
    .u16(channel.id)
    .u16(channel.schemaId)
    .string(channel.topic)
    .string(channel.messageEncoding)
    .stringMap(channel.metadata);
  return out.end(at);
}

/** Per channel of a chunk: log times and record offsets of its messages. */
interface MessageIndexEntries {
  channelId: number;
  logTimesNs: bigint[];
  offsets: number[];
}

/** A chunk being filled. */
class OpenChunk {
  records: RecordBuffer;
  messageCount = 0;
  startNs = 0n;
  endNs = 0n;
  /** In order of first appearance in the chunk, as McapWriter writes them. */
  indexes = new Map<number, MessageIndexEntries>();

  constructor(records: RecordBuffer) {
    this.records = records;
  }

  addMessage(
    channelId: number,
    sequence: number,
    logTimeNs: bigint,
    publishTimeNs: bigint,
    data: Uint8Array,
  ): void {
    if (this.messageCount === 0 || logTimeNs < this.startNs) this.startNs = logTimeNs;
    if (this.messageCount === 0 || logTimeNs > this.endNs) this.endNs = logTimeNs;
    this.messageCount += 1;
    const out = this.records;
    const at = out.length;
    let index = this.indexes.get(channelId);
    if (!index) {
      index = { channelId, logTimesNs: [], offsets: [] };
      this.indexes.set(channelId, index);
    }
    index.logTimesNs.push(logTimeNs);
    index.offsets.push(at);
    out.reserve(MESSAGE_HEADER_BYTES + data.byteLength);
    const view = out.view;
    out.bytes[at] = Opcode.MESSAGE;
    view.setBigUint64(at + 1, BigInt(MESSAGE_HEADER_BYTES - 9 + data.byteLength), true);
    view.setUint16(at + 9, channelId, true);
    view.setUint32(at + 11, sequence, true);
    view.setBigUint64(at + 15, logTimeNs, true);
    view.setBigUint64(at + 23, publishTimeNs, true);
    out.bytes.set(data, at + MESSAGE_HEADER_BYTES);
    out.length = at + MESSAGE_HEADER_BYTES + data.byteLength;
  }
}

/** A closed chunk whose encoding may still be running. */
interface ClosedChunk {
  startNs: bigint;
  endNs: bigint;
  uncompressedSize: number;
  indexes: MessageIndexEntries[];
  records: Uint8Array;
  encoding: Promise<McapEncodedChunk>;
  done: boolean;
}

interface ChunkIndexRecord {
  startNs: bigint;
  endNs: bigint;
  chunkStartOffset: bigint;
  chunkLength: bigint;
  messageIndexOffsets: Array<[number, bigint]>;
  messageIndexLength: bigint;
  compression: string;
  compressedSize: bigint;
  uncompressedSize: bigint;
}

interface AttachmentIndexRecord {
  offset: bigint;
  length: bigint;
  logTimeNs: bigint;
  createTimeNs: bigint;
  dataSize: bigint;
  name: string;
  mediaType: string;
}

/** The record-level writer behind `createMcapWriter`; callers serialize its calls. */
class McapRecordWriter {
  readonly #sink: ByteSink;
  /** Settles when every byte sent so far is in the sink. */
  #sinkDone: Promise<void> = Promise.resolve();
  #backlogBytes = 0;
  readonly #compression: McapCompression;
  readonly #chunkSize: number;
  readonly #encode: ChunkEncoder;
  readonly #maxInFlight: number;
  #position = 0;
  /** CRC-32 of the data section so far. */
  #dataCrc = 0;
  readonly #schemas = new Map<number, SchemaRecord>();
  readonly #channels = new Map<number, ChannelRecord>();
  readonly #writtenSchemaIds = new Set<number>();
  readonly #writtenChannelIds = new Set<number>();
  #nextSchemaId = 1;
  #nextChannelId = 1;
  #messageCount = 0n;
  #messageStartNs = 0n;
  #messageEndNs = 0n;
  readonly #channelMessageCounts = new Map<number, bigint>();
  #chunkCount = 0;
  #attachmentCount = 0;
  #metadataCount = 0;
  readonly #chunkIndexes: ChunkIndexRecord[] = [];
  readonly #attachmentIndexes: AttachmentIndexRecord[] = [];
  readonly #metadataIndexes: Array<{ offset: bigint; length: bigint; name: string }> = [];
  #chunk: OpenChunk;
  readonly #inFlight: ClosedChunk[] = [];
  /** Chunk buffers back from encoding, for the next chunks. */
  readonly #spareBuffers: ArrayBufferLike[] = [];
  /** Chunk records in SharedArrayBuffer memory (when chunk threads read them). */
  readonly #sharedChunks: boolean;

  constructor(
    sink: ByteSink,
    compression: McapCompression,
    chunkSize: number,
    encode: ChunkEncoder,
    maxInFlight: number,
    sharedChunks: boolean,
  ) {
    this.#sharedChunks = sharedChunks;
    this.#sink = sink;
    this.#compression = compression;
    this.#chunkSize = chunkSize;
    this.#encode = encode;
    this.#maxInFlight = maxInFlight;
    this.#chunk = new OpenChunk(this.#chunkBuffer());
  }

  #chunkBuffer(): RecordBuffer {
    const spare = this.#spareBuffers.pop();
    if (spare) return RecordBuffer.over(spare, this.#sharedChunks);
    return new RecordBuffer(this.#chunkSize + 64 * 1024, this.#sharedChunks);
  }

  /** Writes data-section bytes (CRC included in the data CRC). */
  async #writeData(bytes: Uint8Array, crc = crc32(bytes)): Promise<void> {
    this.#dataCrc = this.#position === 0 ? crc : crc32Combine(this.#dataCrc, crc, bytes.byteLength);
    this.#position += bytes.byteLength;
    await this.#send(bytes);
  }

  /**
   * Hands bytes to the sink in order without waiting for the sink (the file's I/O overlaps the
   * caller's work) until more than SINK_BACKLOG_BYTES are queued. The bytes are never reused.
   */
  async #send(bytes: Uint8Array): Promise<void> {
    this.#backlogBytes += bytes.byteLength;
    this.#sinkDone = this.#sinkDone.then(async () => {
      await this.#sink.write(bytes);
      this.#backlogBytes -= bytes.byteLength;
    });
    // A failed write fails every later wait (backlog, end); this only keeps it from going unobserved.
    this.#sinkDone.catch(() => undefined);
    if (this.#backlogBytes > SINK_BACKLOG_BYTES) await this.#sinkDone;
  }

  async start(profile: string, library: string): Promise<void> {
    const out = new RecordBuffer();
    out.raw(MAGIC);
    const at = out.begin(Opcode.HEADER);
    out.string(profile).string(library);
    out.end(at);
    await this.#writeData(out.take());
  }

  registerSchema(schema: McapSchemaInput): number {
    const id = this.#nextSchemaId++;
    this.#schemas.set(id, { id, name: schema.name, encoding: schema.encoding, data: schema.data });
    return id;
  }

  registerChannel(channel: McapChannelInput): number {
    const id = this.#nextChannelId++;
    this.#channels.set(id, {
      id,
      schemaId: channel.schemaId,
      topic: channel.topic,
      messageEncoding: channel.messageEncoding,
      metadata: new Map(Object.entries(channel.metadata ?? {})),
    });
    return id;
  }

  async addMessage(message: McapMessageInput): Promise<void> {
    const logTimeNs = message.logTimeNs;
    if (this.#messageCount === 0n || logTimeNs < this.#messageStartNs) this.#messageStartNs = logTimeNs;
    if (this.#messageCount === 0n || logTimeNs > this.#messageEndNs) this.#messageEndNs = logTimeNs;
    this.#channelMessageCounts.set(
      message.channelId,
      (this.#channelMessageCounts.get(message.channelId) ?? 0n) + 1n,
    );
    this.#messageCount += 1n;
    const chunk = this.#chunk;
    if (!this.#writtenChannelIds.has(message.channelId)) {
      const channel = this.#channels.get(message.channelId) as ChannelRecord;
      if (channel.schemaId !== 0 && !this.#writtenSchemaIds.has(channel.schemaId)) {
        writeSchema(chunk.records, this.#schemas.get(channel.schemaId) as SchemaRecord);
        this.#writtenSchemaIds.add(channel.schemaId);
      }
      if (!chunk.indexes.has(channel.id))
        chunk.indexes.set(channel.id, { channelId: channel.id, logTimesNs: [], offsets: [] });
      writeChannel(chunk.records, channel);
      this.#writtenChannelIds.add(message.channelId);
    }
    chunk.addMessage(
      message.channelId,
      message.sequence ?? 0,
      logTimeNs,
      message.publishTimeNs ?? logTimeNs,
      message.data,
    );
    if (chunk.records.length > this.#chunkSize) this.#closeChunk();
    // Write chunks whose encoding is done, and wait for the oldest while too many are in flight.
    while (this.#inFlight.length > 0) {
      const oldest = this.#inFlight[0] as ClosedChunk;
      if (!oldest.done && this.#inFlight.length <= this.#maxInFlight) break;
      await this.#writeOldestChunk();
    }
  }

  #closeChunk(): void {
    const chunk = this.#chunk;
    if (chunk.messageCount === 0) return;
    this.#chunkCount += 1;
    const records = chunk.records.bytes.subarray(0, chunk.records.length);
    const closed: ClosedChunk = {
      startNs: chunk.startNs,
      endNs: chunk.endNs,
      uncompressedSize: records.byteLength,
      indexes: [...chunk.indexes.values()],
      records,
      encoding: this.#encode(records),
      done: false,
    };
    closed.encoding.then(
      () => {
        closed.done = true;
      },
      () => {
        closed.done = true;
      },
    );
    this.#inFlight.push(closed);
    this.#chunk = new OpenChunk(this.#chunkBuffer());
  }

  async #writeOldestChunk(): Promise<void> {
    const closed = this.#inFlight.shift();
    if (!closed) return;
    const encoded = await closed.encoding;
    // The records' memory serves a later chunk, unless it is what gets written ("none").
    if (encoded.compressed !== closed.records) this.#spareBuffers.push(closed.records.buffer);
    const compression = compressionName(this.#compression);
    const chunkStartOffset = BigInt(this.#position);
    const head = new RecordBuffer(64);
    head.u8(Opcode.CHUNK);
    const compressionBytes = utf8.encode(compression);
    const contentLength = 8 + 8 + 8 + 4 + 4 + compressionBytes.byteLength + 8 + encoded.compressed.byteLength;
    head
      .u64(BigInt(contentLength))
      .u64(closed.startNs)
      .u64(closed.endNs)
      .u64(BigInt(closed.uncompressedSize))
      .u32(encoded.uncompressedCrc)
      .u32(compressionBytes.byteLength)
      .raw(compressionBytes)
      .u64(BigInt(encoded.compressed.byteLength));
    await this.#writeData(head.take());
    await this.#writeData(encoded.compressed, encoded.compressedCrc);
    const messageIndexStart = this.#position;
    const indexes = new RecordBuffer(256);
    const messageIndexOffsets: Array<[number, bigint]> = [];
    for (const index of closed.indexes) {
      messageIndexOffsets.push([index.channelId, BigInt(messageIndexStart + indexes.length)]);
      const at = indexes.begin(Opcode.MESSAGE_INDEX);
      indexes.u16(index.channelId).u32(index.offsets.length * 16);
      for (let i = 0; i < index.offsets.length; i++) {
        indexes.u64(index.logTimesNs[i] as bigint).u64(BigInt(index.offsets[i] as number));
      }
      indexes.end(at);
    }
    const messageIndexLength = BigInt(indexes.length);
    this.#chunkIndexes.push({
      startNs: closed.startNs,
      endNs: closed.endNs,
      chunkStartOffset,
      chunkLength: BigInt(1 + 8 + contentLength),
      messageIndexOffsets,
      messageIndexLength,
      compression,
      compressedSize: BigInt(encoded.compressed.byteLength),
      uncompressedSize: BigInt(closed.uncompressedSize),
    });
    await this.#writeData(indexes.take());
  }

  async #drain(): Promise<void> {
    while (this.#inFlight.length > 0) await this.#writeOldestChunk();
  }

  async addMetadata(metadata: McapMetadataInput): Promise<void> {
    // McapWriter writes it at once, before the open chunk: closed chunks go first.
    await this.#drain();
    const out = new RecordBuffer();
    const at = out.begin(Opcode.METADATA);
    out.string(metadata.name).stringMap(new Map(Object.entries(metadata.metadata)));
    const length = out.end(at);
    this.#metadataCount += 1;
    this.#metadataIndexes.push({ offset: BigInt(this.#position), length, name: metadata.name });
    await this.#writeData(out.take());
  }

  async addAttachment(attachment: McapAttachmentInput): Promise<void> {
    await this.#drain();
    const out = new RecordBuffer(attachment.data.byteLength + 256);
    const at = out.begin(Opcode.ATTACHMENT);
    const crcStart = out.length;
    out
      .u64(attachment.logTimeNs)
      .u64(attachment.createTimeNs)
      .string(attachment.name)
      .string(attachment.mediaType)
      .u64(BigInt(attachment.data.byteLength))
      .raw(attachment.data);
    out.u32(crc32(out.bytes.subarray(crcStart, out.length)));
    const length = out.end(at);
    this.#attachmentCount += 1;
    this.#attachmentIndexes.push({
      offset: BigInt(this.#position),
      length,
      logTimeNs: attachment.logTimeNs,
      createTimeNs: attachment.createTimeNs,
      dataSize: BigInt(attachment.data.byteLength),
      name: attachment.name,
      mediaType: attachment.mediaType,
    });
    await this.#writeData(out.take());
  }

  async end(): Promise<void> {
    this.#closeChunk();
    await this.#drain();
    const dataEnd = new RecordBuffer(16);
    dataEnd.u8(Opcode.DATA_END).u64(4n).u32(this.#dataCrc);
    await this.#send(dataEnd.take());
    this.#position += 13;

    // Summary: schemas, channels, statistics, metadata/attachment/chunk indexes, then the offsets.
    const summaryStart = this.#position;
    const out = new RecordBuffer(64 * 1024);
    const groups: Array<{ opcode: number; start: number; length: bigint }> = [];
    const group = (opcode: number, write: () => bigint): void => {
      const start = summaryStart + out.length;
      groups.push({ opcode, start, length: write() });
    };
    group(Opcode.SCHEMA, () => {
      let length = 0n;
      for (const schema of this.#schemas.values()) length += writeSchema(out, schema);
      return length;
    });
    group(Opcode.CHANNEL, () => {
      let length = 0n;
      for (const channel of this.#channels.values()) length += writeChannel(out, channel);
      return length;
    });
    group(Opcode.STATISTICS, () => {
      const at = out.begin(Opcode.STATISTICS);
      out
        .u64(this.#messageCount)
        .u16(this.#schemas.size)
        .u32(this.#channels.size)
        .u32(this.#attachmentCount)
        .u32(this.#metadataCount)
        .u32(this.#chunkCount)
        .u64(this.#messageStartNs)
        .u64(this.#messageEndNs);
      const countsAt = out.length;
      out.u32(0);
      for (const [channelId, count] of this.#channelMessageCounts) out.u16(channelId).u64(count);
      out.view.setUint32(countsAt, out.length - countsAt - 4, true);
      return out.end(at);
    });
    group(Opcode.METADATA_INDEX, () => {
      let length = 0n;
      for (const index of this.#metadataIndexes) {
        const at = out.begin(Opcode.METADATA_INDEX);
        out.u64(index.offset).u64(index.length).string(index.name);
        length += out.end(at);
      }
      return length;
    });
    group(Opcode.ATTACHMENT_INDEX, () => {
      let length = 0n;
      for (const index of this.#attachmentIndexes) {
        const at = out.begin(Opcode.ATTACHMENT_INDEX);
        out
          .u64(index.offset)
          .u64(index.length)
          .u64(index.logTimeNs)
          .u64(index.createTimeNs)
          .u64(index.dataSize)
          .string(index.name)
          .string(index.mediaType);
        length += out.end(at);
      }
      return length;
    });
    group(Opcode.CHUNK_INDEX, () => {
      let length = 0n;
      for (const index of this.#chunkIndexes) {
        const at = out.begin(Opcode.CHUNK_INDEX);
        out
          .u64(index.startNs)
          .u64(index.endNs)
          .u64(index.chunkStartOffset)
          .u64(index.chunkLength)
          .u32(index.messageIndexOffsets.length * 10);
        for (const [channelId, offset] of index.messageIndexOffsets) out.u16(channelId).u64(offset);
        out
          .u64(index.messageIndexLength)
          .string(index.compression)
          .u64(index.compressedSize)
          .u64(index.uncompressedSize);
        length += out.end(at);
      }
      return length;
    });
    const summaryOffsetStart = summaryStart + out.length;
    for (const { opcode, start, length } of groups) {
      if (length === 0n) continue;
      const at = out.begin(Opcode.SUMMARY_OFFSET);
      out.u8(opcode).u64(BigInt(start)).u64(length);
      out.end(at);
    }
    const summaryLength = summaryOffsetStart - summaryStart;
    // Footer; its CRC covers the summary and the footer up to the CRC field.
    out
      .u8(Opcode.FOOTER)
      .u64(20n)
      .u64(summaryLength === 0 ? 0n : BigInt(summaryStart))
      .u64(BigInt(summaryOffsetStart));
    out.u32(crc32(out.bytes.subarray(0, out.length)));
    out.raw(MAGIC);
    const tail = out.take();
    this.#position += tail.byteLength;
    await this.#send(tail);
    await this.#sinkDone;
  }
}

/** A writer that streams an MCAP file into `sink`. */
export async function createMcapWriter(sink: ByteSink, options: McapWriterOptions): Promise<McapLogWriter> {
  return (await startWriter(sink, options)).writer;
}

/** The writer, and `release` to stop its chunk threads early (after a failure or an abort). */
async function startWriter(
  sink: ByteSink,
  options: McapWriterOptions,
): Promise<{ writer: McapLogWriter; release(): Promise<void> }> {
  const compression = options.compression;
  if (compression !== "zstd" && compression !== "lz4" && compression !== "none") {
    throw new StrataError("STRATA_E_USAGE", `unknown compression ${String(compression)}`);
  }
  const zstdLevel = options.zstdLevel ?? DEFAULT_ZSTD_LEVEL;
  if (compression === "zstd") await zstd.isLoaded;
  const inline: ChunkEncoder = async (records) => encodeMcapChunk(records, compression, zstdLevel);
  // The chunk worker (chunk-worker.mjs) encodes zstd with zlib's CRC-32; otherwise chunks stay here.
  const threadCount =
    compression === "zstd" && zlibCrc32 ? Math.max(0, Math.floor(options.chunkThreads ?? 0)) : 0;
  const threads =
    threadCount > 0 ? startChunkThreads(threadCount, compression, zstdLevel, inline) : undefined;
  const writer = new McapRecordWriter(
    sink,
    compression,
    options.chunkSize ?? DEFAULT_CHUNK_SIZE,
    threads?.encode ?? inline,
    threads ? CHUNKS_IN_FLIGHT_PER_THREAD * threadCount : 0,
    threads !== undefined,
  );
  const schemaIds = new Set<number>();
  const channelIds = new Set<number>();
  let state: "open" | "ended" | "failed" = "open";
  let queue: Promise<unknown> = writer.start(options.profile, options.library ?? "strata");

  function enqueue<T>(operation: () => T | Promise<T>): Promise<T> {
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
        void threads?.close();
      },
    );
    return result.catch((error: unknown) => {
      throw error instanceof StrataError ? error : toStrataError(error);
    });
  }

  const release = async (): Promise<void> => {
    await threads?.close();
  };
  const logWriter: McapLogWriter = {
    addSchema: (schema) =>
      enqueue(() => {
        const id = writer.registerSchema(schema);
        schemaIds.add(id);
        return id;
      }),
    addChannel: (channel) =>
      enqueue(() => {
        if (channel.schemaId !== 0 && !schemaIds.has(channel.schemaId)) {
          throw new StrataError(
            "STRATA_E_USAGE",
            `channel ${channel.topic} names unknown schema id ${channel.schemaId}`,
          );
        }
        const id = writer.registerChannel(channel);
        channelIds.add(id);
        return id;
      }),
    addMessage: (message) =>
      enqueue(() => {
        if (!channelIds.has(message.channelId)) {
          throw new StrataError("STRATA_E_USAGE", `message for unknown channel id ${message.channelId}`);
        }
        return writer.addMessage(message);
      }),
    addMetadata: (metadata) => enqueue(() => writer.addMetadata(metadata)),
    addAttachment: (attachment) => enqueue(() => writer.addAttachment(attachment)),
    end: async () => {
      try {
        await enqueue(() => writer.end());
        state = "ended";
      } finally {
        await release();
      }
    },
  };
  return { writer: logWriter, release };
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
  let started: Awaited<ReturnType<typeof startWriter>>;
  try {
    started = await startWriter(sink, options);
  } catch (error) {
    await sink.abort();
    throw error;
  }
  const { writer, release } = started;
  return {
    ...writer,
    path,
    end: async () => {
      try {
        await writer.end();
        await sink.finish();
      } catch (error) {
        await release();
        await sink.abort();
        throw error;
      }
    },
    abort: async () => {
      await release();
      await sink.abort();
    },
  };
}
