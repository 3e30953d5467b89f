/**
 * LZ4 *compression* for MCAP chunks. The installed @foxglove/wasm-lz4 only decompresses, so this is
 * a small greedy LZ4 block compressor (4-byte hash, 64 KiB window) wrapped in the LZ4 frame format
 * (what MCAP's `lz4` means): independent blocks of up to 4 MiB, content size recorded, no
 * checksums. Blocks that do not shrink are stored uncompressed. Ratio is below the reference
 * encoder's; correctness is checked against the wasm decoder in tests.
 */

const BLOCK_MAX_BYTES = 4 * 1024 * 1024;
const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MATCH_FIND_LIMIT = 12;
const MAX_OFFSET = 65535;
const HASH_BITS = 16;

/** Compresses `data` into one LZ4 frame. */
export function lz4FrameCompress(data: Uint8Array): Uint8Array {
  const blockCount = Math.max(1, Math.ceil(data.byteLength / BLOCK_MAX_BYTES));
  // Worst case: every block stored raw, plus headers.
  const out = new Uint8Array(19 + data.byteLength + blockCount * 4 + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x184d2204, true);
  out[4] = 0b0110_1000; // version 01, independent blocks, content size present
  out[5] = 0b0111_0000; // block max size 4 MiB
  view.setBigUint64(6, BigInt(data.byteLength), true);
  out[14] = (xxh32Short(out.subarray(4, 14)) >>> 8) & 0xff;
  let pos = 15;
  const scratch = new Uint8Array(lz4BlockBound(Math.min(data.byteLength, BLOCK_MAX_BYTES)));
  const table = new Int32Array(1 << HASH_BITS);
  for (let start = 0; start < data.byteLength; start += BLOCK_MAX_BYTES) {
    const block = data.subarray(start, Math.min(data.byteLength, start + BLOCK_MAX_BYTES));
    const compressedLength = compressBlock(block, scratch, table);
    if (compressedLength < block.byteLength) {
      view.setUint32(pos, compressedLength, true);
      out.set(scratch.subarray(0, compressedLength), pos + 4);
      pos += 4 + compressedLength;
    } else {
      view.setUint32(pos, (block.byteLength | 0x80000000) >>> 0, true);
      out.set(block, pos + 4);
      pos += 4 + block.byteLength;
    }
  }
  view.setUint32(pos, 0, true); // end mark
  pos += 4;
  return out.slice(0, pos);
}

function lz4BlockBound(length: number): number {
  return length + Math.ceil(length / 255) + 16;
}

function read32(data: Uint8Array, at: number): number {
  return (
    ((data[at] as number) |
      ((data[at + 1] as number) << 8) |
      ((data[at + 2] as number) << 16) |
      ((data[at + 3] as number) << 24)) >>>
    0
  );
}

function hash(sequence: number): number {
  return Math.imul(sequence, 2654435761) >>> (32 - HASH_BITS);
}

function writeLength(out: Uint8Array, pos: number, extra: number): number {
  let rest = extra;
  while (rest >= 255) {
    out[pos++] = 255;
    rest -= 255;
  }
  out[pos++] = rest;
  return pos;
}

/** One LZ4 block; returns its length in `out`. */
function compressBlock(src: Uint8Array, out: Uint8Array, table: Int32Array): number {
  table.fill(-1);
  const end = src.byteLength;
  const matchLimit = end - LAST_LITERALS;
  const findLimit = end - MATCH_FIND_LIMIT;
  let anchor = 0;
  let ip = 0;
  let op = 0;
  while (ip < findLimit) {
    const sequence = read32(src, ip);
    const h = hash(sequence);
    const ref = table[h] as number;
    table[h] = ip;
    if (ref < 0 || ip - ref > MAX_OFFSET || read32(src, ref) !== sequence) {
      ip += 1;
      continue;
    }
    let matchLength = MIN_MATCH;
    while (ip + matchLength < matchLimit && src[ref + matchLength] === src[ip + matchLength])
      matchLength += 1;
    const literalLength = ip - anchor;
    const tokenAt = op++;
    if (literalLength >= 15) op = writeLength(out, op, literalLength - 15);
    out.set(src.subarray(anchor, ip), op);
    op += literalLength;
    const offset = ip - ref;
    out[op++] = offset & 0xff;
    out[op++] = offset >>> 8;
    const extraMatch = matchLength - MIN_MATCH;
    if (extraMatch >= 15) op = writeLength(out, op, extraMatch - 15);
    out[tokenAt] = (Math.min(literalLength, 15) << 4) | Math.min(extraMatch, 15);
    ip += matchLength;
    anchor = ip;
  }
  const literalLength = end - anchor;
  const tokenAt = op++;
  if (literalLength >= 15) op = writeLength(out, op, literalLength - 15);
  out[tokenAt] = Math.min(literalLength, 15) << 4;
  out.set(src.subarray(anchor, end), op);
  return op + literalLength;
}

const PRIME1 = 2654435761;
const PRIME2 = 2246822519;
const PRIME3 = 3266489917;
const PRIME4 = 668265263;
const PRIME5 = 374761393;

function rotl(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}

/** xxHash32 with seed 0 of fewer than 16 bytes (all the frame descriptor needs). */
export function xxh32Short(input: Uint8Array): number {
  if (input.byteLength >= 16) throw new RangeError("xxh32Short takes fewer than 16 bytes");
  let h = (PRIME5 + input.byteLength) >>> 0;
  let i = 0;
  for (; i + 4 <= input.byteLength; i += 4) {
    h = (h + Math.imul(read32(input, i), PRIME3)) >>> 0;
    h = Math.imul(rotl(h, 17), PRIME4) >>> 0;
  }
  for (; i < input.byteLength; i++) {
    h = (h + Math.imul(input[i] as number, PRIME5)) >>> 0;
    h = Math.imul(rotl(h, 11), PRIME1) >>> 0;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
