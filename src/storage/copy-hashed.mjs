/**
 * File-to-file copy that hashes the bytes (SHA-256) on the way, for `LocalBlobStore.stage({ filePath })`.
 *
 * Plain JavaScript on Node's own modules, so the same code runs in the caller's thread (small files) and as
 * a worker thread (large files: the hashing then runs beside the caller's own work, e.g. ingest indexing the
 * capture), from the sources and from the CLI bundle alike. Types: `copy-hashed.d.mts`.
 *
 * Three buffers rotate: while this thread hashes one, the next is being read and the previous one written,
 * both on libuv's pool; nothing is allocated per chunk.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { isMainThread, parentPort, workerData } from "node:worker_threads";

export const COPY_CHUNK_BYTES = 4 << 20;
const BUFFERS = 3;
/** A worker that will fsync the copy starts flushing it at this interval. */
const FLUSH_EVERY_BYTES = 64 << 20;

/**
 * Copies `sourcePath` into the open `target` handle. I/O errors are rethrown with `file` and `offset` set.
 * `shouldStop()` is asked between chunks; when it says true the copy ends early with `stopped: true`.
 * `flushEveryBytes` starts a flush of what is written so far at that interval, so the disk works while the
 * copy goes on and the caller's final fsync has only the tail left (a hint: durability still needs that fsync).
 */
export async function copyHashed(sourcePath, target, { onProgress, shouldStop, flushEveryBytes } = {}) {
  let input;
  try {
    input = await open(sourcePath, "r");
  } catch (error) {
    throw located(error, sourcePath, 0);
  }
  try {
    const info = await input.stat();
    if (!info.isFile()) throw Object.assign(new Error("not a regular file"), { code: "ENOTFILE" });
    const hash = createHash("sha256");
    const buffers = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafe(COPY_CHUNK_BYTES));
    const writes = Array.from({ length: BUFFERS }, () => Promise.resolve());
    const readInto = (slot, offset) =>
      writes[slot].then(() =>
        input.read(buffers[slot], 0, COPY_CHUNK_BYTES, offset).then(
          (r) => r.bytesRead,
          (error) => {
            throw located(error, sourcePath, offset);
          },
        ),
      );
    let sizeBytes = 0;
    let flushedAt = 0;
    let flushing = Promise.resolve();
    let slot = 0;
    let reading = readInto(0, 0);
    for (;;) {
      const bytesRead = await reading;
      if (bytesRead === 0) break;
      if (shouldStop?.()) return { sha256: "", sizeBytes, stopped: true };
      const buffer = buffers[slot];
      const next = (slot + 1) % BUFFERS;
      // The next read runs on the pool while this thread hashes.
      reading = readInto(next, sizeBytes + bytesRead);
      reading.catch(() => {});
      hash.update(buffer.subarray(0, bytesRead));
      const at = sizeBytes;
      // At its own position: up to two writes are in flight and may complete in any order.
      writes[slot] = writeAll(target, buffer, bytesRead, at).catch((error) => {
        throw located(error, undefined, at);
      });
      writes[slot].catch(() => {});
      sizeBytes += bytesRead;
      onProgress?.(sizeBytes);
      if (flushEveryBytes !== undefined && sizeBytes - flushedAt >= flushEveryBytes) {
        flushedAt = sizeBytes;
        const written = writes[slot];
        flushing = Promise.all([flushing, written]).then(() => target.datasync());
        flushing.catch(() => {});
      }
      slot = next;
    }
    await Promise.all([...writes, flushing]);
    return { sha256: hash.digest("hex"), sizeBytes, stopped: false };
  } finally {
    await input.close();
  }
}

async function writeAll(handle, bytes, length, position) {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(bytes, offset, length - offset, position + offset);
    offset += bytesWritten;
  }
}

function located(error, file, offset) {
  if (error && typeof error === "object") {
    if (file !== undefined && error.file === undefined) error.file = file;
    if (error.offset === undefined) error.offset = offset;
  }
  return error;
}

/**
 * As a worker: `workerData` is `{ sourcePath, targetPath, fsync, stop }` (`stop`: an Int32Array over shared
 * memory; non-zero asks the copy to end). Messages out: `progress`, then `hashed` (or `stopped`), then `done`
 * once the copy is flushed (when asked) and closed; `error` instead on failure.
 */
async function runAsWorker() {
  const { sourcePath, targetPath, fsync, stop } = workerData;
  let target;
  try {
    target = await open(targetPath, "r+");
    const result = await copyHashed(sourcePath, target, {
      shouldStop: () => Atomics.load(stop, 0) !== 0,
      onProgress: (doneBytes) => parentPort.postMessage({ type: "progress", doneBytes }),
      ...(fsync ? { flushEveryBytes: FLUSH_EVERY_BYTES } : {}),
    });
    if (result.stopped) {
      parentPort.postMessage({ type: "stopped" });
    } else {
      parentPort.postMessage({ type: "hashed", sha256: result.sha256, sizeBytes: result.sizeBytes });
      if (fsync) await target.sync();
    }
    await target.close();
    target = undefined;
    parentPort.postMessage({ type: "done" });
  } catch (error) {
    await target?.close().catch(() => {});
    const e = error ?? {};
    parentPort.postMessage({
      type: "error",
      error: {
        message: String(e.message ?? e),
        code: e.code,
        syscall: e.syscall,
        file: e.file,
        offset: e.offset,
      },
    });
  }
}

if (!isMainThread && workerData?.copyHashedWorker === true) await runAsWorker();
