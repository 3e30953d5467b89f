/**
 * @mcap/support (protobufjs and the wasm decompressors) loads on first use rather than with every reader:
 * a ROS 1 bag or a db3 file never needs it. One (CommonJS) copy serves the MCAP reader, the layout
 * reader and the protobuf codec.
 */
import { createRequire } from "node:module";

let support: typeof import("@mcap/support") | undefined;

export function mcapSupport(): typeof import("@mcap/support") {
  support ??= createRequire(import.meta.url)("@mcap/support") as typeof import("@mcap/support");
  return support;
}
