/**
 * ROS bag v2.0 record layout (http://wiki.ros.org/Bags/Format/2.0), shared by the reader's index
 * scan and the writer. A record is `<u32 header_len><header><u32 data_len><data>`; a header is a
 * run of `<u32 field_len><name>=<value>` fields. All integers are little-endian.
 */

export const BAG_MAGIC = "#ROSBAG V2.0\n";
export const BAG_MAGIC_BYTES: Uint8Array = new TextEncoder().encode(BAG_MAGIC);
/** The bag header record's header+data are padded to this many bytes (so chunk 1 starts at 4117). */
export const BAG_HEADER_PADDED_BYTES = 4096;

export const OP = {
  messageData: 0x02,
  bagHeader: 0x03,
  indexData: 0x04,
  chunk: 0x05,
  chunkInfo: 0x06,
  connection: 0x07,
} as const;

export type HeaderFields = Map<string, Uint8Array>;

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Thrown by the parsers below; the reader turns it into a StrataError with the file and offset. */
export class RecordParseError extends Error {
  override readonly name = "RecordParseError";
  constructor(
    message: string,
    /** Offset of the problem relative to the start of the parsed buffer. */
    readonly bufferOffset: number,
  ) {
    super(message);
  }
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Splits a record header into its fields (later duplicates win, as in rosbag). */
export function parseHeaderFields(header: Uint8Array): HeaderFields {
  const fields: HeaderFields = new Map();
  const view = viewOf(header);
  let at = 0;
  while (at < header.byteLength) {
    if (at + 4 > header.byteLength) throw new RecordParseError("header field length is truncated", at);
    const fieldLen = view.getUint32(at, true);
    at += 4;
    if (at + fieldLen > header.byteLength) {
      throw new RecordParseError(`header field of ${fieldLen} bytes overruns the header`, at - 4);
    }
    const field = header.subarray(at, at + fieldLen);
    const eq = field.indexOf(0x3d);
    if (eq < 0) throw new RecordParseError("header field has no '='", at);
    fields.set(textDecoder.decode(field.subarray(0, eq)), field.subarray(eq + 1));
    at += fieldLen;
  }
  return fields;
}

export interface ParsedRecord {
  fields: HeaderFields;
  /** Offset of the data section relative to the start of the buffer. */
  dataOffset: number;
  data: Uint8Array;
  /** Total record length in bytes (both length prefixes included). */
  recordBytes: number;
}

/** Parses one record at `at` inside `buffer` (data is a view, not a copy). */
export function parseRecord(buffer: Uint8Array, at: number): ParsedRecord {
  const view = viewOf(buffer);
  if (at + 4 > buffer.byteLength) throw new RecordParseError("record header length is truncated", at);
  const headerLen = view.getUint32(at, true);
  const headerEnd = at + 4 + headerLen;
  if (headerEnd + 4 > buffer.byteLength) {
    throw new RecordParseError(`record header of ${headerLen} bytes is truncated`, at);
  }
  const fields = parseHeaderFields(buffer.subarray(at + 4, headerEnd));
  const dataLen = view.getUint32(headerEnd, true);
  const dataOffset = headerEnd + 4;
  if (dataOffset + dataLen > buffer.byteLength) {
    throw new RecordParseError(`record data of ${dataLen} bytes is truncated`, headerEnd);
  }
  return {
    fields,
    dataOffset,
    data: buffer.subarray(dataOffset, dataOffset + dataLen),
    recordBytes: dataOffset + dataLen - at,
  };
}

function requireField(fields: HeaderFields, name: string, bytes: number, at: number): DataView {
  const value = fields.get(name);
  if (value === undefined) throw new RecordParseError(`record has no '${name}' field`, at);
  if (value.byteLength < bytes)
    throw new RecordParseError(`field '${name}' is shorter than ${bytes} bytes`, at);
  return viewOf(value);
}

export function fieldOp(fields: HeaderFields, at = 0): number {
  return requireField(fields, "op", 1, at).getUint8(0);
}

export function fieldUint32(fields: HeaderFields, name: string, at = 0): number {
  return requireField(fields, name, 4, at).getUint32(0, true);
}

export function fieldUint64(fields: HeaderFields, name: string, at = 0): bigint {
  return requireField(fields, name, 8, at).getBigUint64(0, true);
}

/** A ROS `time` field (u32 sec, u32 nsec) as ns. */
export function fieldTimeNs(fields: HeaderFields, name: string, at = 0): bigint {
  const view = requireField(fields, name, 8, at);
  return timeNsAt(view, 0);
}

export function fieldString(fields: HeaderFields, name: string): string | undefined {
  const value = fields.get(name);
  return value === undefined ? undefined : textDecoder.decode(value);
}

export function timeNsAt(view: DataView, at: number): bigint {
  return BigInt(view.getUint32(at, true)) * 1_000_000_000n + BigInt(view.getUint32(at + 4, true));
}

export interface IndexEntry {
  timeNs: bigint;
  /** Offset of the message data record inside the uncompressed chunk data. */
  offsetInChunk: number;
}

export interface IndexDataRecord {
  connectionId: number;
  entries: IndexEntry[];
}

/** Parses an IndexData record (op 0x04, version 1): `count` × (time, u32 offset). */
export function parseIndexData(record: ParsedRecord, at: number): IndexDataRecord {
  const op = fieldOp(record.fields, at);
  if (op !== OP.indexData) throw new RecordParseError(`expected IndexData (op 4), found op ${op}`, at);
  const version = fieldUint32(record.fields, "ver", at);
  if (version !== 1) throw new RecordParseError(`IndexData version ${version} is not supported`, at);
  const connectionId = fieldUint32(record.fields, "conn", at);
  const count = fieldUint32(record.fields, "count", at);
  if (record.data.byteLength < count * 12) {
    throw new RecordParseError(
      `IndexData declares ${count} entries but holds ${record.data.byteLength} bytes`,
      at,
    );
  }
  const view = viewOf(record.data);
  const entries: IndexEntry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    entries[i] = { timeNs: timeNsAt(view, i * 12), offsetInChunk: view.getUint32(i * 12 + 8, true) };
  }
  return { connectionId, entries };
}

export interface MessageDataRecord {
  connectionId: number;
  timeNs: bigint;
  data: Uint8Array;
}

/** Parses a MessageData record (op 0x02) at `at` inside uncompressed chunk data. */
export function parseMessageData(chunkData: Uint8Array, at: number): MessageDataRecord {
  const record = parseRecord(chunkData, at);
  const op = fieldOp(record.fields, at);
  if (op !== OP.messageData) throw new RecordParseError(`expected MessageData (op 2), found op ${op}`, at);
  return {
    connectionId: fieldUint32(record.fields, "conn", at),
    timeNs: fieldTimeNs(record.fields, "time", at),
    data: record.data,
  };
}

// ---------------------------------------------------------------------------------------------
// Encoding (writer side)

export type FieldValue = Uint8Array | string;

export function uint8Field(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff);
}

export function uint32Field(value: number): Uint8Array {
  const out = new Uint8Array(4);
  viewOf(out).setUint32(0, value, true);
  return out;
}

export function uint64Field(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  viewOf(out).setBigUint64(0, value, true);
  return out;
}

const MAX_UINT32 = 0xffff_ffffn;

/** A ROS `time` (u32 sec, u32 nsec); throws RangeError outside 1970..2106. */
export function timeField(timeNs: bigint): Uint8Array {
  if (timeNs < 0n || timeNs / 1_000_000_000n > MAX_UINT32) {
    throw new RangeError(`time ${timeNs} ns does not fit a ROS 1 time (u32 seconds)`);
  }
  const out = new Uint8Array(8);
  const view = viewOf(out);
  view.setUint32(0, Number(timeNs / 1_000_000_000n), true);
  view.setUint32(4, Number(timeNs % 1_000_000_000n), true);
  return out;
}

/** Encodes header fields in the given order (deterministic output). */
export function encodeHeader(fields: ReadonlyArray<readonly [string, FieldValue]>): Uint8Array {
  const parts = fields.map(([name, value]) => {
    const nameBytes = textEncoder.encode(`${name}=`);
    const valueBytes = typeof value === "string" ? textEncoder.encode(value) : value;
    const out = new Uint8Array(4 + nameBytes.byteLength + valueBytes.byteLength);
    viewOf(out).setUint32(0, nameBytes.byteLength + valueBytes.byteLength, true);
    out.set(nameBytes, 4);
    out.set(valueBytes, 4 + nameBytes.byteLength);
    return out;
  });
  return concatBytes(parts);
}

/** `<u32 header_len><header><u32 data_len><data>`. */
export function encodeRecord(header: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.byteLength + data.byteLength);
  const view = viewOf(out);
  view.setUint32(0, header.byteLength, true);
  out.set(header, 4);
  view.setUint32(4 + header.byteLength, data.byteLength, true);
  out.set(data, 8 + header.byteLength);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
