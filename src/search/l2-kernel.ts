/**
 * A WebAssembly SIMD kernel for squared L2 distances of a run of float32 vectors to one query (decision 0014).
 *
 * `distances(queryOffset, vectorsOffset, count, dim, maskOffset, outOffset)` (byte offsets into the kernel's
 * memory) writes, for every i < count with mask byte i ≠ 0, Σ (v[i][j] − q[j])² as a float32 at out[i]; rows with
 * mask 0 are skipped and their out value left as it was. dim must be a positive multiple of 4. The sums are
 * float32 (four lanes, then the lanes added), so callers that need float64 distances re-compute the few rows that
 * can enter their result (the kernel only screens).
 *
 * The function body is written out below with its text form beside each instruction, so no toolchain is
 * needed; vector-route.test.ts checks the kernel against plain JS.
 */

/** Unsigned LEB128. */
function leb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v === 0 ? byte : byte | 0x80);
  } while (v !== 0);
  return out;
}

const section = (id: number, content: number[]): number[] => [id, ...leb(content.length), ...content];

// biome-ignore format: one instruction per line, with its text form
const BODY = [
  0x02, 0x04, 0x7f, 0x02, 0x7b, // locals: 6 i, 7 j, 8 vp, 9 rowBytes (i32); 10 acc, 11 d (v128)
  0x20, 0x03, 0x41, 0x02, 0x74, 0x21, 0x09, // rowBytes = dim << 2
  0x20, 0x01, 0x21, 0x08, // vp = vectors
  0x02, 0x40, // block
  0x03, 0x40, //   loop (rows)
  0x20, 0x06, 0x20, 0x02, 0x4f, 0x0d, 0x01, //     br_if 1 (i >= count)
  0x20, 0x04, 0x20, 0x06, 0x6a, 0x2d, 0x00, 0x00, //     i32.load8_u (mask + i)
  0x04, 0x40, //     if
  0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x21, 0x0a, //       acc = v128.const 0
  0x41, 0x00, 0x21, 0x07, //       j = 0
  0x03, 0x40, //       loop (4 lanes at a time)
  0x20, 0x0a, //         acc
  0x20, 0x08, 0x20, 0x07, 0x6a, 0xfd, 0x00, 0x00, 0x00, //         v128.load (vp + j)
  0x20, 0x00, 0x20, 0x07, 0x6a, 0xfd, 0x00, 0x00, 0x00, //         v128.load (query + j)
  0xfd, 0xe5, 0x01, 0x21, 0x0b, //         d = f32x4.sub
  0x20, 0x0b, 0x20, 0x0b, 0xfd, 0xe6, 0x01, //         f32x4.mul d d
  0xfd, 0xe4, 0x01, 0x21, 0x0a, //         acc = f32x4.add acc (d × d)
  0x20, 0x07, 0x41, 0x10, 0x6a, 0x22, 0x07, //         j += 16
  0x20, 0x09, 0x49, 0x0d, 0x00, //         br_if 0 (j < rowBytes)
  0x0b, //       end
  0x20, 0x05, 0x20, 0x06, 0x41, 0x02, 0x74, 0x6a, //       out + (i << 2)
  0x20, 0x0a, 0xfd, 0x1f, 0x00, //       lane 0
  0x20, 0x0a, 0xfd, 0x1f, 0x01, 0x92, //       + lane 1
  0x20, 0x0a, 0xfd, 0x1f, 0x02, 0x92, //       + lane 2
  0x20, 0x0a, 0xfd, 0x1f, 0x03, 0x92, //       + lane 3
  0x38, 0x02, 0x00, //       f32.store
  0x0b, //     end
  0x20, 0x08, 0x20, 0x09, 0x6a, 0x21, 0x08, //     vp += rowBytes
  0x20, 0x06, 0x41, 0x01, 0x6a, 0x21, 0x06, //     i += 1
  0x0c, 0x00, //     br 0
  0x0b, //   end
  0x0b, // end
  0x0b, // end of function
];

function moduleBytes(): Uint8Array {
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
    ...section(1, [0x01, 0x60, 0x06, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]), // (func (param i32 × 6))
    ...section(2, [0x01, 0x01, 0x65, 0x01, 0x6d, 0x02, 0x00, 0x01]), // (import "e" "m" (memory 1))
    ...section(3, [0x01, 0x00]), // one function of type 0
    ...section(7, [0x01, 0x01, 0x64, 0x00, 0x00]), // (export "d" (func 0))
    ...section(10, [0x01, ...leb(BODY.length), ...BODY]),
  ]);
}

/** The part of the WebAssembly JS API used here (the compiler's lib has no DOM/WebAssembly typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: object | null | undefined;

export interface L2Kernel {
  readonly memory: WasmMemory;
  distances(
    queryOffset: number,
    vectorsOffset: number,
    count: number,
    dim: number,
    maskOffset: number,
    outOffset: number,
  ): void;
}

/** A kernel over a fresh memory of at least `bytes` bytes; undefined when SIMD or the memory is unavailable. */
export function createL2Kernel(bytes: number): L2Kernel | undefined {
  if (compiled === undefined) {
    try {
      const code = moduleBytes();
      compiled = wasm?.validate(code) ? new wasm.Module(code) : null;
    } catch {
      compiled = null;
    }
  }
  if (!compiled || !wasm) return undefined;
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > 65536) return undefined;
  try {
    const memory = new wasm.Memory({ initial: pages, maximum: pages });
    const instance = new wasm.Instance(compiled, { e: { m: memory } });
    const distances = instance.exports.d as L2Kernel["distances"];
    return { memory, distances };
  } catch {
    return undefined;
  }
}
