/**
 * One LZ4 *frame* encoder for MCAP chunks and ROS 1 bag chunks (the LZ4 frame and block formats).
 * @foxglove/wasm-lz4 only decompresses, and the frames of the `lz4js` package are rejected by ROS 1's
 * `roslz4` (python3-rosbag), so this mirrors what roslz4 writes: independent blocks of up to 1 MiB, no
 * block checksums, a content checksum (xxHash32, seed 0). The block compressor is a plain greedy
 * matcher: fast enough for writers and the synthetic generator, not tuned for ratio.
 */

const FRAME_MAGIC = 0x184d2204;
/** FLG: version 01, blocks independent, content checksum present. */
const FRAME_FLG = 0x64;
/** BD: block maximum size id 6 (1 MiB). */
const FRAME_BD = 0x60;
const BLOCK_MAX_BYTES = 1 << 20;
const UNCOMPRESSED_BLOCK_FLAG = 0x8000_0000;

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
/** The last match must start at least this many bytes before the end of the block. */
const MATCH_FIND_LIMIT = 12;
const MAX_OFFSET = 0xffff;
const HASH_BITS = 16;

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

const rotl32 = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** xxHash32 of `bytes` (the checksum the LZ4 frame format uses). */
export function xxh32(bytes: Uint8Array, seed = 0): number {
  const length = bytes.byteLength;
  let at = 0;
  let h: number;
  const round = (acc: number, lane: number): number =>
    Math.imul(rotl32((acc + Math.imul(lane, PRIME32_2)) | 0, 13), PRIME32_1);
  if (length >= 16) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) | 0;
    let v2 = (seed + PRIME32_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME32_1) | 0;
    while (at + 16 <= length) {
      v1 = round(v1, readU32(bytes, at));
      v2 = round(v2, readU32(bytes, at + 4));
      v3 = round(v3, readU32(bytes, at + 8));
      v4 = round(v4, readU32(bytes, at + 12));
      at += 16;
    }
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) | 0;
  } else {
    h = (seed + PRIME32_5) | 0;
  }
  h = (h + length) | 0;
  while (at + 4 <= length) {
    h = Math.imul(rotl32((h + Math.imul(readU32(bytes, at), PRIME32_3)) | 0, 17), PRIME32_4);
    at += 4;
  }
  while (at < length) {
    h = Math.imul(rotl32((h + Math.imul(bytes[at]!, PRIME32_5)) | 0, 11), PRIME32_1);
    at += 1;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Compresses one LZ4 block (raw block format, no frame). */
export function lz4CompressBlock(src: Uint8Array): Uint8Array {
  const length = src.byteLength;
  const out = new Uint8Array(length + Math.ceil(length / 255) + 16);
  let outAt = 0;
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  const hash = (word: number): number => Math.imul(word, 2654435761) >>> (32 - HASH_BITS);

  const writeLength = (rest: number): void => {
    let remaining = rest;
    while (remaining >= 255) {
      out[outAt++] = 255;
      remaining -= 255;
    }
    out[outAt++] = remaining;
  };
  const emit = (literalStart: number, literalEnd: number, offset: number, matchBytes: number): void => {
    const literalBytes = literalEnd - literalStart;
    const matchCode = matchBytes === 0 ? 0 : matchBytes - MIN_MATCH;
    out[outAt++] = (Math.min(literalBytes, 15) << 4) | Math.min(matchCode, 15);
    if (literalBytes >= 15) writeLength(literalBytes - 15);
    out.set(src.subarray(literalStart, literalEnd), outAt);
    outAt += literalBytes;
    if (matchBytes === 0) return;
    out[outAt++] = offset & 0xff;
    out[outAt++] = offset >>> 8;
    if (matchCode >= 15) writeLength(matchCode - 15);
  };

  let anchor = 0;
  let at = 0;
  const matchStartLimit = length - MATCH_FIND_LIMIT;
  const matchEndLimit = length - LAST_LITERALS;
  let misses = 0;
  while (at < matchStartLimit) {
    const word = readU32(src, at);
    const slot = hash(word);
    const candidate = table[slot]!;
    table[slot] = at;
    if (candidate >= 0 && at - candidate <= MAX_OFFSET && readU32(src, candidate) === word) {
      let matchBytes = MIN_MATCH;
      while (at + matchBytes < matchEndLimit && src[candidate + matchBytes] === src[at + matchBytes])
        matchBytes++;
      emit(anchor, at, at - candidate, matchBytes);
      at += matchBytes;
      anchor = at;
      misses = 0;
    } else {
      // Skip faster through incompressible data, as the reference encoder does.
      misses += 1;
      at += 1 + (misses >>> 6);
    }
  }
  emit(anchor, length, 0, 0);
  return out.subarray(0, outAt);
}

/** Compresses `src` into one LZ4 frame (readable by `roslz4`, `lz4 -d` and @foxglove/wasm-lz4). */
export function lz4CompressFrame(src: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(7);
  const headerView = new DataView(header.buffer);
  headerView.setUint32(0, FRAME_MAGIC, true);
  header[4] = FRAME_FLG;
  header[5] = FRAME_BD;
  header[6] = (xxh32(header.subarray(4, 6)) >>> 8) & 0xff;
  parts.push(header);
  for (let start = 0; start < src.byteLength; start += BLOCK_MAX_BYTES) {
    const block = src.subarray(start, Math.min(src.byteLength, start + BLOCK_MAX_BYTES));
    const compressed = lz4CompressBlock(block);
    const useRaw = compressed.byteLength >= block.byteLength;
    const sizeField = new Uint8Array(4);
    new DataView(sizeField.buffer).setUint32(
      0,
      useRaw ? (block.byteLength | UNCOMPRESSED_BLOCK_FLAG) >>> 0 : compressed.byteLength,
      true,
    );
    parts.push(sizeField, useRaw ? block : compressed);
  }
  const trailer = new Uint8Array(8);
  const trailerView = new DataView(trailer.buffer);
  trailerView.setUint32(0, 0, true); // end mark
  trailerView.setUint32(4, xxh32(src), true);
  parts.push(trailer);
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
