/**
 * Record-by-record scanning of MCAP bytes in file order.
 *
 * We frame the outer records ourselves (opcode + u64 length) and hand each whole record to
 * @mcap/core's McapStreamReader, which parses it, decompresses chunks, checks chunk/attachment CRCs
 * and expands chunk contents. Framing ourselves gives every record its exact byte offset (for
 * errors and for the block index), lets us stop cleanly at a truncated tail without buffering a
 * bogus multi-GB "record", and keeps memory at one window (4 MiB) or one record, whichever is larger.
 */
import { crc32 } from "node:zlib";
import {
  type Channel,
  type DecompressHandlers,
  MCAP_MAGIC,
  McapRecordBuilder,
  McapStreamReader,
  Opcode,
  type TypedMcapRecord,
} from "@mcap/core";
import { StrataError } from "../../core/index.ts";
import type { ByteSource } from "../types.ts";
import { mcapError } from "./errors.ts";

export const MAGIC = Uint8Array.from(MCAP_MAGIC);
const RECORD_PREFIX_BYTES = 9n;
const FOOTER_PREFIX_BYTES = 1 + 8 + 8 + 8;
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024;

const OPCODE_NAMES: Record<number, string> = {
  [Opcode.HEADER]: "Header",
  [Opcode.FOOTER]: "Footer",
  [Opcode.SCHEMA]: "Schema",
  [Opcode.CHANNEL]: "Channel",
  [Opcode.MESSAGE]: "Message",
  [Opcode.CHUNK]: "Chunk",
  [Opcode.MESSAGE_INDEX]: "MessageIndex",
  [Opcode.CHUNK_INDEX]: "ChunkIndex",
  [Opcode.ATTACHMENT]: "Attachment",
  [Opcode.ATTACHMENT_INDEX]: "AttachmentIndex",
  [Opcode.STATISTICS]: "Statistics",
  [Opcode.METADATA]: "Metadata",
  [Opcode.METADATA_INDEX]: "MetadataIndex",
  [Opcode.SUMMARY_OFFSET]: "SummaryOffset",
  [Opcode.DATA_END]: "DataEnd",
};

export function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? `unknown (0x${opcode.toString(16).padStart(2, "0")})`;
}

/** Reads through a cached window so many small records cost one read. */
export class WindowedSource {
  readonly source: ByteSource;
  readonly sizeBytes: bigint;
  readonly #windowBytes: bigint;
  #window: Uint8Array = new Uint8Array(0);
  #windowStart = 0n;

  constructor(source: ByteSource, sizeBytes: bigint, windowBytes = DEFAULT_WINDOW_BYTES) {
    this.source = source;
    this.sizeBytes = sizeBytes;
    this.#windowBytes = BigInt(windowBytes);
  }

  /** `length` bytes at `offset`; a window read never goes past `limit` (default: end of file). */
  async bytes(offset: bigint, length: bigint, limit = this.sizeBytes): Promise<Uint8Array> {
    const windowEnd = this.#windowStart + BigInt(this.#window.byteLength);
    if (offset >= this.#windowStart && offset + length <= windowEnd) {
      const start = Number(offset - this.#windowStart);
      return this.#window.subarray(start, start + Number(length));
    }
    if (length >= this.#windowBytes) return await this.source.read(offset, length);
    const available = limit - offset;
    const readLength = available < this.#windowBytes ? available : this.#windowBytes;
    this.#window = await this.source.read(offset, readLength < length ? length : readLength);
    this.#windowStart = offset;
    return this.#window.subarray(0, Number(length));
  }
}

/** An outer (file-level) record: its opcode, where it starts and its size including the 9-byte prefix. */
export interface OuterRecord {
  opcode: number;
  offset: bigint;
  byteLength: bigint;
}

/** A parsed record and the outer record it came from (the Chunk, for records inside a chunk). */
export interface ScannedRecord {
  record: TypedMcapRecord;
  outer: OuterRecord;
}

/** Why a scan stopped. `offset` is where reading stopped (the first byte not read as a whole record). */
export type ScanStop =
  | { kind: "footer"; offset: bigint; trailingBytes: bigint }
  | { kind: "end"; offset: bigint }
  | { kind: "truncated"; offset: bigint; detail: string }
  | { kind: "corrupt"; offset: bigint; error: StrataError };

export interface ScanOptions {
  validateCrcs: boolean;
  decompressHandlers: DecompressHandlers;
  /** First outer record (default 8, just after the magic). */
  startOffset?: bigint;
  /** Range scan: stop here instead of expecting a Footer (no footer or section CRC handling). */
  endOffset?: bigint;
  /** Outer records for which this returns true are stepped over without being read. */
  skip?: (opcode: number, offset: bigint, byteLength: bigint) => boolean;
  /** Check DataEnd.data_section_crc and Footer.summary_crc (whole-file scans from offset 8, no skip). */
  checkSectionCrcs?: boolean;
  /** Channels to register before scanning (for ranges that use channels defined earlier). */
  knownChannels?: Iterable<Channel>;
  windowBytes?: number;
}

/** Channel records as bytes, so a fresh McapStreamReader accepts messages of channels defined elsewhere. */
export function channelRecordBytes(channels: Iterable<Channel>): Uint8Array {
  const builder = new McapRecordBuilder();
  for (const channel of channels) builder.writeChannel(channel);
  return builder.buffer.slice();
}

function readU64(bytes: Uint8Array, at: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(at, true);
}

/**
 * Scans outer records in file order, yielding each parsed record (chunk contents expanded; the Chunk
 * record itself comes first). When it returns, `stop` says why. It never throws for bad bytes: a
 * parse or CRC failure becomes a `corrupt` stop, so callers choose between salvage and failure.
 */
export class RecordScanner {
  stop: ScanStop | undefined;
  readonly #window: WindowedSource;
  readonly #options: ScanOptions;
  readonly #name: string;

  constructor(source: ByteSource, sizeBytes: bigint, options: ScanOptions) {
    this.#window = new WindowedSource(source, sizeBytes, options.windowBytes);
    this.#options = options;
    this.#name = source.name;
  }

  async *records(): AsyncGenerator<ScannedRecord, void, void> {
    const options = this.#options;
    const sizeBytes = this.#window.sizeBytes;
    const isRange = options.endOffset !== undefined;
    const endOffset = options.endOffset ?? sizeBytes;
    const checkCrcs = options.validateCrcs && options.checkSectionCrcs === true && !isRange;
    const parser = new McapStreamReader({
      includeChunks: true,
      noMagicPrefix: true,
      validateCrcs: options.validateCrcs,
      decompressHandlers: options.decompressHandlers,
    });
    if (options.knownChannels) {
      parser.append(channelRecordBytes(options.knownChannels));
      while (parser.nextRecord()) {
        // registering channels only
      }
    }
    let dataCrc = crc32(MAGIC);
    let summaryCrc: number | undefined;
    let pos = options.startOffset ?? BigInt(MAGIC.byteLength);

    for (;;) {
      if (pos >= endOffset) {
        this.stop = isRange
          ? { kind: "end", offset: pos }
          : { kind: "truncated", offset: pos, detail: "the file ends without a Footer record" };
        return;
      }
      if (endOffset - pos < RECORD_PREFIX_BYTES) {
        this.stop = { kind: "truncated", offset: pos, detail: "a partial record header at the end" };
        return;
      }
      const head = await this.#window.bytes(pos, RECORD_PREFIX_BYTES, endOffset);
      const opcode = head[0] ?? 0;
      const byteLength = RECORD_PREFIX_BYTES + readU64(head, 1);
      if (pos + byteLength > endOffset) {
        this.stop = {
          kind: "truncated",
          offset: pos,
          detail: `a ${opcodeName(opcode)} record of ${byteLength} bytes runs past the end${isRange ? " of its section" : " of the file"}`,
        };
        return;
      }
      if (options.skip?.(opcode, pos, byteLength)) {
        pos += byteLength;
        continue;
      }
      let feedLength = byteLength;
      if (opcode === Opcode.FOOTER && !isRange) {
        if (pos + byteLength + BigInt(MAGIC.byteLength) > sizeBytes) {
          this.stop = {
            kind: "truncated",
            offset: pos,
            detail: "the Footer record is not followed by the closing magic",
          };
          return;
        }
        feedLength += BigInt(MAGIC.byteLength);
      }
      const bytes = await this.#window.bytes(pos, feedLength, isRange ? endOffset : sizeBytes);
      const outer: OuterRecord = { opcode, offset: pos, byteLength };
      if (checkCrcs) {
        if (opcode === Opcode.DATA_END) summaryCrc = summaryCrc === undefined ? 0 : summaryCrc;
        else if (summaryCrc === undefined) dataCrc = crc32(bytes, dataCrc);
        else
          summaryCrc = crc32(
            opcode === Opcode.FOOTER ? bytes.subarray(0, FOOTER_PREFIX_BYTES) : bytes,
            summaryCrc,
          );
      }
      try {
        parser.append(bytes);
        for (let record = parser.nextRecord(); record; record = parser.nextRecord()) {
          if (
            checkCrcs &&
            record.type === "DataEnd" &&
            record.dataSectionCrc !== 0 &&
            record.dataSectionCrc !== dataCrc
          ) {
            throw new StrataError(
              "STRATA_E_CRC_MISMATCH",
              `data section CRC is ${dataCrc}, the DataEnd record says ${record.dataSectionCrc}`,
              { file: this.#name, offset: pos },
            );
          }
          if (
            checkCrcs &&
            record.type === "Footer" &&
            record.summaryCrc !== 0 &&
            summaryCrc !== undefined &&
            record.summaryCrc !== summaryCrc
          ) {
            throw new StrataError(
              "STRATA_E_CRC_MISMATCH",
              `summary CRC is ${summaryCrc}, the Footer says ${record.summaryCrc}`,
              { file: this.#name, offset: pos },
            );
          }
          if (isRange && record.type === "Footer") {
            throw new Error("Footer record inside the data section");
          }
          yield { record, outer };
        }
      } catch (error) {
        this.stop = {
          kind: "corrupt",
          offset: pos,
          error: mcapError(error, this.#name, pos, `bad ${opcodeName(opcode)} record`),
        };
        return;
      }
      pos += feedLength;
      if (opcode === Opcode.FOOTER && !isRange) {
        this.stop = { kind: "footer", offset: pos, trailingBytes: sizeBytes - pos };
        return;
      }
    }
  }
}

/** Checks the leading magic; throws the coded error for empty files, other formats and stubs. */
export async function checkMagic(source: ByteSource, sizeBytes: bigint): Promise<void> {
  if (sizeBytes === 0n) throw new StrataError("STRATA_E_EMPTY_FILE", undefined, { file: source.name });
  const headLength = sizeBytes < BigInt(MAGIC.byteLength) ? sizeBytes : BigInt(MAGIC.byteLength);
  const head = await source.read(0n, headLength);
  const matches = head.every((byte, i) => byte === MAGIC[i]);
  if (!matches) {
    throw new StrataError("STRATA_E_UNKNOWN_FORMAT", "the file does not start with the MCAP magic", {
      file: source.name,
      offset: 0,
    });
  }
  if (head.byteLength < MAGIC.byteLength) {
    throw new StrataError("STRATA_E_TRUNCATED_LOG", "the file ends inside the MCAP magic", {
      file: source.name,
      offset: sizeBytes,
    });
  }
}

export interface RecordStreamOptions {
  /** Check chunk, attachment, data-section and summary CRCs (default true). */
  validateCrcs?: boolean;
  decompressHandlers: DecompressHandlers;
}

/**
 * Every record of an MCAP file in file order, as @mcap/core types: chunk contents expanded in place
 * (no Chunk records), MessageIndex records dropped. Throws STRATA_E_TRUNCATED_LOG /
 * STRATA_E_CORRUPT_LOG / STRATA_E_CRC_MISMATCH (with the offset) after yielding every whole record
 * before the problem.
 */
export async function* scanAllRecords(
  source: ByteSource,
  options: RecordStreamOptions,
): AsyncGenerator<TypedMcapRecord, void, void> {
  const sizeBytes = await source.size();
  await checkMagic(source, sizeBytes);
  const scanner = new RecordScanner(source, sizeBytes, {
    validateCrcs: options.validateCrcs ?? true,
    decompressHandlers: options.decompressHandlers,
    checkSectionCrcs: true,
  });
  for await (const { record } of scanner.records()) {
    if (record.type === "Chunk" || record.type === "MessageIndex") continue;
    yield record;
  }
  const stop = scanner.stop;
  if (stop?.kind === "corrupt") throw stop.error;
  if (stop?.kind === "truncated") {
    throw new StrataError("STRATA_E_TRUNCATED_LOG", stop.detail, { file: source.name, offset: stop.offset });
  }
}
