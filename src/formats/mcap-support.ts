/**
 * @mcap/support (protobufjs and the wasm decompressors) loads on first use rather than with every reader:
 * a ROS 1 bag or a db3 file never needs it. One (CommonJS) copy serves the MCAP reader, the layout
 * reader and the protobuf codec.
 */
import { createRequire } from "node:module";
import type { DecompressHandlers } from "@mcap/core";

let support: typeof import("@mcap/support") | undefined;

export function mcapSupport(): typeof import("@mcap/support") {
  support ??= createRequire(import.meta.url)("@mcap/support") as typeof import("@mcap/support");
  return support;
}

let handlers: Promise<DecompressHandlers> | undefined;

/**
 * MCAP chunk decompressors. The wasm lz4/zstd decoders already return a fresh buffer per chunk, so they are
 * called directly rather than through @mcap/support's handlers, which copy every decompressed chunk once
 * more; bz2 comes from @mcap/support.
 */
export function mcapDecompressHandlers(): Promise<DecompressHandlers> {
  handlers ??= (async () => {
    const require = createRequire(import.meta.url);
    const zstd = require("@foxglove/wasm-zstd") as typeof import("@foxglove/wasm-zstd");
    const lz4 = require("@foxglove/wasm-lz4") as typeof import("@foxglove/wasm-lz4")["default"];
    const [supportHandlers] = await Promise.all([
      mcapSupport().loadDecompressHandlers(),
      zstd.isLoaded,
      lz4.isLoaded,
    ]);
    return {
      ...supportHandlers,
      lz4: (compressed: Uint8Array, uncompressedBytes: bigint) => lz4(compressed, Number(uncompressedBytes)),
      zstd: (compressed: Uint8Array, uncompressedBytes: bigint) =>
        zstd.decompress(compressed, Number(uncompressedBytes)),
    };
  })().catch((error: unknown) => {
    handlers = undefined;
    throw error;
  });
  return handlers;
}
