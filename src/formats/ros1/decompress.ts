import Bzip2 from "@foxglove/wasm-bz2";
import decompressLz4 from "@foxglove/wasm-lz4";

/** Chunk decompressors keyed by the bag's `compression` field, in @foxglove/rosbag's callback shape. */
export type ChunkDecompressors = Record<
  string,
  (compressed: Uint8Array, uncompressedBytes: number) => Uint8Array
>;

let loading: Promise<ChunkDecompressors> | undefined;

/** Loads the WebAssembly decompressors once per process (bz2 and lz4 are the only ROS 1 options). */
export function loadChunkDecompressors(): Promise<ChunkDecompressors> {
  loading ??= (async () => {
    const [bzip2] = await Promise.all([Bzip2.init(), decompressLz4.isLoaded]).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return {
      bz2: (compressed, uncompressedBytes) =>
        bzip2.decompress(compressed, uncompressedBytes, { small: false }),
      lz4: (compressed, uncompressedBytes) => {
        const out = decompressLz4(compressed, uncompressedBytes);
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      },
    };
  })();
  return loading;
}
