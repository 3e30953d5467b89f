/**
 * Node adapters for plain files: the one place in `formats` that touches `node:fs` for log bytes.
 * Parsers never see a path; they get a ByteSource (read side) or a ByteSink (write side).
 */
import { constants as fsConstants } from "node:fs";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { StrataError, toStrataError } from "../core/index.ts";
import type { ByteSource } from "./types.ts";

/** Opens a file for positional reads. Missing file → STRATA_E_FILE_NOT_FOUND naming the path. */
export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, fsConstants.O_RDONLY);
  } catch (error) {
    throw toStrataError(error, { file: path });
  }
  let sizeBytes: bigint;
  try {
    const stat = await handle.stat({ bigint: true });
    if (stat.isDirectory())
      throw new StrataError("STRATA_E_USAGE", "expected a file, found a directory", { file: path });
    sizeBytes = stat.size;
  } catch (error) {
    await handle.close();
    throw toStrataError(error, { file: path });
  }
  let closed = false;
  return {
    name: path,
    async size() {
      return sizeBytes;
    },
    async read(offset: bigint, length: bigint): Promise<Uint8Array> {
      if (offset < 0n || length < 0n || offset + length > sizeBytes) {
        throw new StrataError(
          "STRATA_E_INTERNAL",
          `read of ${length} bytes beyond the end of a ${sizeBytes}-byte file`,
          { file: path, offset },
        );
      }
      const out = new Uint8Array(Number(length));
      let filled = 0;
      while (filled < out.byteLength) {
        const { bytesRead } = await handle.read(
          out,
          filled,
          out.byteLength - filled,
          Number(offset) + filled,
        );
        if (bytesRead === 0) {
          throw new StrataError("STRATA_E_TRUNCATED_LOG", "the file shrank while it was being read", {
            file: path,
            offset: offset + BigInt(filled),
          });
        }
        filled += bytesRead;
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** A ByteSource over bytes already in memory (tests, small uploads). */
export function bufferSource(name: string, bytes: Uint8Array): ByteSource {
  const sizeBytes = BigInt(bytes.byteLength);
  return {
    name,
    async size() {
      return sizeBytes;
    },
    async read(offset: bigint, length: bigint): Promise<Uint8Array> {
      if (offset < 0n || length < 0n || offset + length > sizeBytes) {
        throw new StrataError(
          "STRATA_E_INTERNAL",
          `read of ${length} bytes beyond the end of ${sizeBytes} bytes`,
          {
            file: name,
            offset,
          },
        );
      }
      return bytes.subarray(Number(offset), Number(offset + length));
    },
  };
}

/** Where a writer's bytes go, in order. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** A file being written: bytes go to `<path>.tmp`; `finish()` renames it into place, `abort()` removes it. */
export interface FileSink extends ByteSink {
  readonly path: string;
  readonly tempPath: string;
  /** Flushes, fsyncs, closes and renames the temp file onto `path`. */
  finish(): Promise<void>;
  /** Closes and deletes the temp file (safe to call after a failure). */
  abort(): Promise<void>;
}

export interface FileSinkOptions {
  /** Writes are coalesced into buffers of this many bytes (default 8 MiB). */
  bufferBytes?: number;
}

/** Opens `<path>.tmp` for writing (truncating it); temp-then-rename so readers never see half a file. */
export async function openFileSink(path: string, options: FileSinkOptions = {}): Promise<FileSink> {
  const tempPath = `${path}.tmp`;
  const bufferBytes = options.bufferBytes ?? 8 * 1024 * 1024;
  let handle: FileHandle;
  try {
    handle = await open(tempPath, "w");
  } catch (error) {
    throw toStrataError(error, { file: tempPath });
  }
  let pending = new Uint8Array(bufferBytes);
  let pendingLength = 0;
  let state: "open" | "finished" | "aborted" = "open";

  const writeAll = async (bytes: Uint8Array): Promise<void> => {
    let written = 0;
    while (written < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, written, bytes.byteLength - written);
      written += bytesWritten;
    }
  };
  const flush = async (): Promise<void> => {
    if (pendingLength === 0) return;
    await writeAll(pending.subarray(0, pendingLength));
    pendingLength = 0;
  };

  return {
    path,
    tempPath,
    async write(bytes: Uint8Array): Promise<void> {
      if (state !== "open")
        throw new StrataError("STRATA_E_INTERNAL", `write after ${state}`, { file: tempPath });
      try {
        if (pendingLength + bytes.byteLength <= pending.byteLength) {
          pending.set(bytes, pendingLength);
          pendingLength += bytes.byteLength;
          return;
        }
        await flush();
        if (bytes.byteLength >= pending.byteLength) {
          await writeAll(bytes);
        } else {
          pending.set(bytes, 0);
          pendingLength = bytes.byteLength;
        }
      } catch (error) {
        throw toStrataError(error, { file: tempPath });
      }
    },
    async finish(): Promise<void> {
      if (state !== "open")
        throw new StrataError("STRATA_E_INTERNAL", `finish after ${state}`, { file: tempPath });
      try {
        await flush();
        await handle.sync();
        await handle.close();
        state = "finished";
        pending = new Uint8Array(0);
        await rename(tempPath, path);
      } catch (error) {
        throw toStrataError(error, { file: path });
      }
    },
    async abort(): Promise<void> {
      if (state === "aborted") return;
      if (state === "open") await handle.close().catch(() => undefined);
      state = "aborted";
      pending = new Uint8Array(0);
      await rm(tempPath, { force: true });
    },
  };
}
