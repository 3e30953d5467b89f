// Worker-thread body for MCAP chunk encoding (writer.ts, `chunkThreads`). Plain JavaScript on purpose:
// the worker starts without a TypeScript loader. It encodes zstd chunks the way encodeMcapChunk does
// (CRC-32 of the records, zstd, CRC-32 of the compressed bytes) with zlib's CRC-32; the writer uses
// it only when both exist, and the writer's layout tests compare its files byte for byte.
import { parentPort } from "node:worker_threads";
import * as zlib from "node:zlib";
import zstd from "@foxglove/wasm-zstd";

const port = parentPort;
if (port) {
  await zstd.isLoaded;
  port.on("message", (job) => {
    try {
      if (job.compression !== "zstd")
        throw new Error(`the chunk worker encodes zstd only, not ${job.compression}`);
      const uncompressedCrc = zlib.crc32(job.records) >>> 0;
      let compressed = zstd.compress(job.records, job.zstdLevel);
      // A Buffer may share its memory with others: transfer a copy that owns its memory.
      if (compressed.byteOffset !== 0 || compressed.byteLength !== compressed.buffer.byteLength) {
        compressed = new Uint8Array(compressed);
      }
      const compressedCrc = zlib.crc32(compressed) >>> 0;
      port.postMessage({ jobId: job.jobId, uncompressedCrc, compressed, compressedCrc }, [compressed.buffer]);
    } catch (error) {
      port.postMessage({ jobId: job.jobId, error: String(error) });
    }
  });
  port.postMessage("ready");
}
