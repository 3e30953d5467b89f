import decompressLz4 from "@foxglove/wasm-lz4";
import { beforeAll, describe, expect, it } from "vitest";
import { lz4CompressBlock, lz4CompressFrame, xxh32 } from "./lz4.ts";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
function noise(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe("xxh32", () => {
  it("matches the reference vectors", () => {
    expect(xxh32(new Uint8Array(0))).toBe(0x02cc5d05);
    expect(xxh32(text("abc"))).toBe(0x32d153ff);
    // The LZ4 frame header check byte roslz4 writes for FLG=0x64, BD=0x60 is 0x85.
    expect((xxh32(Uint8Array.of(0x64, 0x60)) >>> 8) & 0xff).toBe(0x85);
    // Content checksum roslz4 wrote for this input (python3-roslz4 1.15.15).
    expect(xxh32(text("hello world hello world hello world hello world".repeat(3)))).toBe(0xb238f9dd);
  });
});

describe("lz4CompressFrame", () => {
  beforeAll(async () => {
    await decompressLz4.isLoaded;
  });

  const cases: Array<[string, Uint8Array]> = [
    ["empty", new Uint8Array(0)],
    ["tiny", text("abc")],
    ["13 bytes", text("aaaaaaaaaaaaa")],
    ["repetitive", text("hello world ".repeat(5000))],
    ["noise", noise(100_000)],
    ["zeros over two blocks", new Uint8Array(2_500_000)],
    ["mixed over two blocks", new Uint8Array([...noise(700_000, 7), ...new Uint8Array(700_000).fill(3)])],
  ];
  for (const [name, input] of cases) {
    it(`round-trips ${name} through @foxglove/wasm-lz4`, () => {
      const frame = lz4CompressFrame(input);
      const back = decompressLz4(frame, input.byteLength);
      expect(back.byteLength).toBe(input.byteLength);
      expect(Buffer.compare(Buffer.from(back), Buffer.from(input))).toBe(0);
    });
  }

  it("actually compresses repetitive data and stores noise raw", () => {
    const repetitive = text("0123456789".repeat(10_000));
    expect(lz4CompressBlock(repetitive).byteLength).toBeLessThan(repetitive.byteLength / 50);
    const random = noise(50_000, 3);
    // header 7 + block size 4 + raw block + end mark 4 + checksum 4
    expect(lz4CompressFrame(random).byteLength).toBe(random.byteLength + 19);
  });

  it("is deterministic", () => {
    const input = text("strata ".repeat(1000));
    expect(Buffer.from(lz4CompressFrame(input)).equals(Buffer.from(lz4CompressFrame(input)))).toBe(true);
  });
});
