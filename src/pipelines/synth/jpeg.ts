/**
 * A small baseline JPEG encoder for the synthetic cameras: YCbCr planes in, JFIF bytes out.
 * 4:2:0 chroma subsampling, the standard (Annex K) quantisation and Huffman tables scaled by
 * quality like libjpeg, and the Arai–Agui–Nakajima floating-point forward DCT. It exists because
 * pure-JS general-purpose encoders are ~15× too slow for 20 frames per simulated second; it keeps
 * every buffer between frames and takes a fast path for flat blocks (sky, walls, road).
 */

const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
]);

const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22,
  29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103,
  121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
  99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

// Annex K.3 Huffman tables: code counts per length 1..16, then symbol values.
const DC_LUMA_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_LUMA_VALS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const DC_CHROMA_BITS = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_CHROMA_VALS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_LUMA_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_LUMA_VALS = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71,
  0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72,
  0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37,
  0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
  0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
  0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3,
  0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
  0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
  0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];
const AC_CHROMA_BITS = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const AC_CHROMA_VALS = [
  0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22,
  0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1,
  0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36,
  0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
  0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
  0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a,
  0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba,
  0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
  0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
];

interface HuffmanTable {
  /** Code per symbol (index = symbol). */
  codes: Uint16Array;
  sizes: Uint8Array;
}

function buildHuffman(bits: readonly number[], values: readonly number[]): HuffmanTable {
  const codes = new Uint16Array(256);
  const sizes = new Uint8Array(256);
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    const count = bits[length - 1] as number;
    for (let i = 0; i < count; i++) {
      const symbol = values[k++] as number;
      codes[symbol] = code;
      sizes[symbol] = length;
      code++;
    }
    code <<= 1;
  }
  return { codes, sizes };
}

/** Quality-scaled quantisation table (natural order) as libjpeg computes it. */
function scaledQuant(base: readonly number[], quality: number): Uint8Array {
  const q = Math.max(1, Math.min(100, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  const out = new Uint8Array(64);
  for (let i = 0; i < 64; i++)
    out[i] = Math.max(1, Math.min(255, Math.floor(((base[i] as number) * scale + 50) / 100)));
  return out;
}

const AAN_SCALE = [1.0, 1.387039845, 1.306562965, 1.175875602, 1.0, 0.785694958, 0.5411961, 0.275899379];

/** Reciprocal divisors that fold the AAN output scaling into quantisation, in natural order. */
function divisors(quant: Uint8Array): Float64Array {
  const out = new Float64Array(64);
  for (let row = 0; row < 8; row++) {
    for (let col = 0; col < 8; col++) {
      const i = row * 8 + col;
      out[i] = 1 / ((quant[i] as number) * (AAN_SCALE[row] as number) * (AAN_SCALE[col] as number) * 8);
    }
  }
  return out;
}

export interface YCbCrImage {
  width: number;
  height: number;
  /** Full-resolution planes, row-major, one byte per pixel. */
  y: Uint8Array;
  cb: Uint8Array;
  cr: Uint8Array;
}

/** A reusable encoder for one image size and quality. */
export class JpegEncoder {
  private readonly lumaQuant: Uint8Array;
  private readonly chromaQuant: Uint8Array;
  private readonly lumaDiv: Float64Array;
  private readonly chromaDiv: Float64Array;
  private readonly dcLuma = buildHuffman(DC_LUMA_BITS, DC_LUMA_VALS);
  private readonly acLuma = buildHuffman(AC_LUMA_BITS, AC_LUMA_VALS);
  private readonly dcChroma = buildHuffman(DC_CHROMA_BITS, DC_CHROMA_VALS);
  private readonly acChroma = buildHuffman(AC_CHROMA_BITS, AC_CHROMA_VALS);
  private readonly block = new Float64Array(64);
  private readonly cbSmall: Uint8Array;
  private readonly crSmall: Uint8Array;
  private readonly header: Uint8Array;
  private out: Uint8Array;
  private pos = 0;
  private bitBuffer = 0;
  private bitCount = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    quality = 85,
  ) {
    this.lumaQuant = scaledQuant(LUMA_QUANT, quality);
    this.chromaQuant = scaledQuant(CHROMA_QUANT, quality);
    this.lumaDiv = divisors(this.lumaQuant);
    this.chromaDiv = divisors(this.chromaQuant);
    const cw = Math.ceil(width / 16) * 8;
    const ch = Math.ceil(height / 16) * 8;
    this.cbSmall = new Uint8Array(cw * ch);
    this.crSmall = new Uint8Array(cw * ch);
    this.header = this.buildHeader();
    this.out = new Uint8Array(Math.max(65536, width * height));
  }

  /** Encodes the planes; the returned bytes are a fresh copy owned by the caller. */
  encode(image: YCbCrImage): Uint8Array {
    const { width, height } = this;
    if (image.width !== width || image.height !== height)
      throw new RangeError("image size does not match the encoder");
    this.downsample(image.cb, this.cbSmall);
    this.downsample(image.cr, this.crSmall);
    this.pos = 0;
    this.bitBuffer = 0;
    this.bitCount = 0;
    this.ensure(this.header.length);
    this.out.set(this.header, 0);
    this.pos = this.header.length;
    let dcY = 0;
    let dcCb = 0;
    let dcCr = 0;
    const cw = Math.ceil(width / 16) * 8;
    const ch = Math.ceil(height / 16) * 8;
    for (let my = 0; my < height; my += 16) {
      for (let mx = 0; mx < width; mx += 16) {
        this.ensure(4096);
        dcY = this.encodeBlock(image.y, width, height, mx, my, dcY, this.lumaDiv, this.dcLuma, this.acLuma);
        dcY = this.encodeBlock(
          image.y,
          width,
          height,
          mx + 8,
          my,
          dcY,
          this.lumaDiv,
          this.dcLuma,
          this.acLuma,
        );
        dcY = this.encodeBlock(
          image.y,
          width,
          height,
          mx,
          my + 8,
          dcY,
          this.lumaDiv,
          this.dcLuma,
          this.acLuma,
        );
        dcY = this.encodeBlock(
          image.y,
          width,
          height,
          mx + 8,
          my + 8,
          dcY,
          this.lumaDiv,
          this.dcLuma,
          this.acLuma,
        );
        dcCb = this.encodeBlock(
          this.cbSmall,
          cw,
          ch,
          mx / 2,
          my / 2,
          dcCb,
          this.chromaDiv,
          this.dcChroma,
          this.acChroma,
        );
        dcCr = this.encodeBlock(
          this.crSmall,
          cw,
          ch,
          mx / 2,
          my / 2,
          dcCr,
          this.chromaDiv,
          this.dcChroma,
          this.acChroma,
        );
      }
    }
    // Pad the last byte with 1-bits, then EOI.
    if (this.bitCount > 0) this.writeBits(0x7f, 7);
    this.ensure(2);
    this.out[this.pos++] = 0xff;
    this.out[this.pos++] = 0xd9;
    return this.out.slice(0, this.pos);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.out.length) return;
    const bigger = new Uint8Array(Math.max(this.out.length * 2, this.pos + extra));
    bigger.set(this.out.subarray(0, this.pos));
    this.out = bigger;
  }

  /** 2×2 box filter into a plane of (ceil(w/16)·8) × (ceil(h/16)·8), edges replicated. */
  private downsample(plane: Uint8Array, out: Uint8Array): void {
    const { width, height } = this;
    const cw = Math.ceil(width / 16) * 8;
    const ch = Math.ceil(height / 16) * 8;
    for (let y = 0; y < ch; y++) {
      const y0 = Math.min(2 * y, height - 1);
      const y1 = Math.min(2 * y + 1, height - 1);
      const r0 = y0 * width;
      const r1 = y1 * width;
      for (let x = 0; x < cw; x++) {
        const x0 = Math.min(2 * x, width - 1);
        const x1 = Math.min(2 * x + 1, width - 1);
        out[y * cw + x] =
          ((plane[r0 + x0] as number) +
            (plane[r0 + x1] as number) +
            (plane[r1 + x0] as number) +
            (plane[r1 + x1] as number) +
            2) >>
          2;
      }
    }
  }

  private encodeBlock(
    plane: Uint8Array,
    stride: number,
    rows: number,
    bx: number,
    by: number,
    previousDc: number,
    div: Float64Array,
    dcTable: HuffmanTable,
    acTable: HuffmanTable,
  ): number {
    const block = this.block;
    let flat = true;
    const first = plane[Math.min(by, rows - 1) * stride + Math.min(bx, stride - 1)] as number;
    if (bx + 8 <= stride && by + 8 <= rows && (stride & 3) === 0 && plane.byteOffset === 0) {
      // Uniform-block check on 32-bit words first: most blocks of a rendered frame are flat.
      const words = this.wordsOf(plane);
      const pattern = (first * 0x01010101) >>> 0;
      const wordStride = stride >> 2;
      let w = (by * stride + bx) >> 2;
      for (let y = 0; y < 8 && flat; y++, w += wordStride) {
        flat = words[w] === pattern && words[w + 1] === pattern;
      }
      if (!flat) {
        for (let y = 0; y < 8; y++) {
          const row = (by + y) * stride + bx;
          const o = y * 8;
          for (let x = 0; x < 8; x++) block[o + x] = (plane[row + x] as number) - 128;
        }
      }
    } else {
      for (let y = 0; y < 8; y++) {
        const row = Math.min(by + y, rows - 1) * stride;
        for (let x = 0; x < 8; x++) {
          const v = plane[row + Math.min(bx + x, stride - 1)] as number;
          flat = flat && v === first;
          block[y * 8 + x] = v - 128;
        }
      }
    }
    const acCodes = acTable.codes;
    const acSizes = acTable.sizes;
    let dc: number;
    if (flat) {
      dc = Math.round((first - 128) * 64 * (div[0] as number));
    } else {
      fdct(block);
      dc = Math.round((block[0] as number) * (div[0] as number));
    }
    const diff = dc - previousDc;
    const dcMagnitude = diff < 0 ? -diff : diff;
    const dcSize = dcMagnitude === 0 ? 0 : 32 - Math.clz32(dcMagnitude);
    this.writeBits(dcTable.codes[dcSize] as number, dcTable.sizes[dcSize] as number);
    if (dcSize > 0) this.writeBits(diff < 0 ? diff + (1 << dcSize) - 1 : diff, dcSize);
    if (!flat) {
      let run = 0;
      for (let i = 1; i < 64; i++) {
        const natural = ZIGZAG[i] as number;
        const v = Math.round((block[natural] as number) * (div[natural] as number));
        if (v === 0) {
          run++;
          continue;
        }
        while (run > 15) {
          this.writeBits(acCodes[0xf0] as number, acSizes[0xf0] as number);
          run -= 16;
        }
        const magnitude = v < 0 ? -v : v;
        const size = 32 - Math.clz32(magnitude);
        const symbol = (run << 4) | size;
        this.writeBits(acCodes[symbol] as number, acSizes[symbol] as number);
        this.writeBits(v < 0 ? v + (1 << size) - 1 : v, size);
        run = 0;
      }
      if (run > 0) this.writeBits(acCodes[0] as number, acSizes[0] as number);
    } else {
      this.writeBits(acCodes[0] as number, acSizes[0] as number);
    }
    return dc;
  }

  private lastPlane: Uint8Array | undefined;
  private lastWords: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

  /** A 32-bit view of a plane (cached for the plane last seen). */
  private wordsOf(plane: Uint8Array): Uint32Array {
    if (plane !== this.lastPlane) {
      this.lastPlane = plane;
      this.lastWords = new Uint32Array(plane.buffer, 0, plane.byteLength >> 2);
    }
    return this.lastWords;
  }

  private writeBits(value: number, count: number): void {
    this.bitBuffer = (this.bitBuffer << count) | (value & ((1 << count) - 1));
    this.bitCount += count;
    const out = this.out;
    while (this.bitCount >= 8) {
      this.bitCount -= 8;
      const byte = (this.bitBuffer >>> this.bitCount) & 0xff;
      out[this.pos++] = byte;
      if (byte === 0xff) out[this.pos++] = 0;
    }
    this.bitBuffer &= (1 << this.bitCount) - 1;
  }

  private buildHeader(): Uint8Array {
    const bytes: number[] = [];
    const u16 = (v: number): void => {
      bytes.push((v >> 8) & 0xff, v & 0xff);
    };
    bytes.push(0xff, 0xd8);
    // APP0 JFIF 1.01, no thumbnail.
    bytes.push(0xff, 0xe0);
    u16(16);
    bytes.push(0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0);
    u16(1);
    u16(1);
    bytes.push(0, 0);
    // DQT: both tables, zigzag order.
    bytes.push(0xff, 0xdb);
    u16(2 + 2 * 65);
    for (const [id, table] of [
      [0, this.lumaQuant],
      [1, this.chromaQuant],
    ] as const) {
      bytes.push(id);
      for (let i = 0; i < 64; i++) bytes.push(table[ZIGZAG[i] as number] as number);
    }
    // SOF0: 8-bit, three components; Y 2×2, Cb/Cr 1×1.
    bytes.push(0xff, 0xc0);
    u16(17);
    bytes.push(8);
    u16(this.height);
    u16(this.width);
    bytes.push(3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1);
    // DHT: the four standard tables.
    const dht = (cls: number, id: number, bits: readonly number[], values: readonly number[]): void => {
      bytes.push(0xff, 0xc4);
      u16(2 + 1 + 16 + values.length);
      bytes.push((cls << 4) | id, ...bits, ...values);
    };
    dht(0, 0, DC_LUMA_BITS, DC_LUMA_VALS);
    dht(1, 0, AC_LUMA_BITS, AC_LUMA_VALS);
    dht(0, 1, DC_CHROMA_BITS, DC_CHROMA_VALS);
    dht(1, 1, AC_CHROMA_BITS, AC_CHROMA_VALS);
    // SOS.
    bytes.push(0xff, 0xda);
    u16(12);
    bytes.push(3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0);
    return Uint8Array.from(bytes);
  }
}

/** In-place AAN forward DCT on an 8×8 block (rows, then columns); output scaled per AAN_SCALE. */
function fdct(d: Float64Array): void {
  for (let pass = 0; pass < 2; pass++) {
    const stride = pass === 0 ? 1 : 8;
    const step = pass === 0 ? 8 : 1;
    for (let k = 0; k < 8; k++) {
      const o = k * step;
      const i0 = o;
      const i1 = o + stride;
      const i2 = o + 2 * stride;
      const i3 = o + 3 * stride;
      const i4 = o + 4 * stride;
      const i5 = o + 5 * stride;
      const i6 = o + 6 * stride;
      const i7 = o + 7 * stride;
      const tmp0 = (d[i0] as number) + (d[i7] as number);
      const tmp7 = (d[i0] as number) - (d[i7] as number);
      const tmp1 = (d[i1] as number) + (d[i6] as number);
      const tmp6 = (d[i1] as number) - (d[i6] as number);
      const tmp2 = (d[i2] as number) + (d[i5] as number);
      const tmp5 = (d[i2] as number) - (d[i5] as number);
      const tmp3 = (d[i3] as number) + (d[i4] as number);
      const tmp4 = (d[i3] as number) - (d[i4] as number);
      // Even part.
      const tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      const tmp11 = tmp1 + tmp2;
      const tmp12 = tmp1 - tmp2;
      d[i0] = tmp10 + tmp11;
      d[i4] = tmp10 - tmp11;
      const z1 = (tmp12 + tmp13) * 0.707106781;
      d[i2] = tmp13 + z1;
      d[i6] = tmp13 - z1;
      // Odd part.
      const t10 = tmp4 + tmp5;
      const t11 = tmp5 + tmp6;
      const t12 = tmp6 + tmp7;
      const z5 = (t10 - t12) * 0.382683433;
      const z2 = 0.5411961 * t10 + z5;
      const z4 = 1.306562965 * t12 + z5;
      const z3 = t11 * 0.707106781;
      const z11 = tmp7 + z3;
      const z13 = tmp7 - z3;
      d[i5] = z13 + z2;
      d[i3] = z13 - z2;
      d[i1] = z11 + z4;
      d[i7] = z11 - z4;
    }
  }
}
