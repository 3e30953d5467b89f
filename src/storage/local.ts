import { createHash, randomBytes } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { link, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { pipeline, Readable, Transform } from "node:stream";
import { Worker } from "node:worker_threads";
import { isSha256Hex, type Sha256Hex, StrataError, toStrataError } from "../core/index.ts";
import type {
  BlobInfo,
  BlobSource,
  BlobStore,
  GetOptions,
  PutOptions,
  PutResult,
  StagedBlob,
} from "./types.ts";
import { type CopyFailure, type CopyWorkerData, type CopyWorkerMessage, copyHashed } from "./copy-hashed.mjs";

/** Small chunks are gathered into a buffer of this size before each write (bounds syscalls and memory). */
const STAGING_BYTES = 1 << 20;
const READ_CHUNK_BYTES = 1 << 20;
/** Files at least this large are copied on a worker thread (below it, starting the worker costs more than it saves). */
const OFF_THREAD_MIN_BYTES = 32 << 20;
const HOUR_MS = 3_600_000;

export interface LocalBlobStoreOptions {
  /** fsync each blob and its directory before it gets its name (default true; turn off only in throwaway stores). */
  fsync?: boolean;
  /**
   * `stage({ filePath })` copies and hashes files at least this large on a worker thread, leaving the calling
   * thread free (default 32 MiB; 0 sends every file there).
   */
  offThreadMinBytes?: number;
}

export interface SweepOptions {
  /** Temp files whose last write is at least this old are removed (default 24). 0 removes all of them. */
  olderThanHours?: number;
  /**
   * Also remove, whatever their age, temp files whose writing process (on this host) no longer exists:
   * the leftovers of a killed ingest. Safe with concurrent writers, whose processes are alive.
   */
  deadWriters?: boolean;
}

/**
 * Blobs on the local filesystem at `<root>/sha256/ab/cd/<hex>`.
 *
 * A put streams into `<root>/tmp/`, hashing as bytes pass, fsyncs, and only then gives the file its
 * hash name (a hard link, which cannot overwrite; rename where links are unsupported). A crash
 * mid-put leaves only a temp file, never a wrong blob; `sweepTemp()` removes stale temp files.
 */
export class LocalBlobStore implements BlobStore {
  readonly root: string;
  readonly #blobDir: string;
  readonly #tempDir: string;
  readonly #fsync: boolean;
  readonly #offThreadMinBytes: number;

  constructor(root: string, options: LocalBlobStoreOptions = {}) {
    this.root = path.resolve(root);
    this.#blobDir = path.join(this.root, "sha256");
    this.#tempDir = path.join(this.root, "tmp");
    this.#fsync = options.fsync ?? true;
    this.#offThreadMinBytes = options.offThreadMinBytes ?? OFF_THREAD_MIN_BYTES;
  }

  path(sha256: Sha256Hex): string {
    assertSha256(sha256);
    return path.join(this.#blobDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async put(source: BlobSource, options: PutOptions = {}): Promise<PutResult> {
    return (await this.stage(source, options)).commit();
  }

  async stage(source: BlobSource, options: PutOptions = {}): Promise<StagedBlob> {
    if (options.expectedSha256 !== undefined) assertSha256(options.expectedSha256);
    // A Readable may fail before iteration starts; keep that error for the loop instead of crashing.
    if (source instanceof Readable) source.on("error", noop);
    try {
      return await this.#stage(source, options);
    } finally {
      if (source instanceof Readable) source.destroy();
    }
  }

  async #stage(source: BlobSource, options: PutOptions): Promise<StagedBlob> {
    return fsErrors(async () => {
      options.signal?.throwIfAborted();
      await mkdir(this.#tempDir, { recursive: true });
      const tempPath = path.join(
        this.#tempDir,
        `${Date.now()}-${process.pid}-${randomBytes(8).toString("hex")}.partial`,
      );
      const handle = await open(tempPath, "wx");
      let durable: Promise<void>;
      let written: { sha256: Sha256Hex; sizeBytes: number };
      try {
        if ("filePath" in source && (await fileSize(source.filePath)) >= this.#offThreadMinBytes) {
          // The temp file exists (created exclusively above); the worker writes it through its own handle.
          await handle.close();
          ({ written, durable } = await copyOffThread(source.filePath, tempPath, this.#fsync, options));
        } else {
          written =
            "filePath" in source
              ? await copyInThread(source.filePath, handle, tempPath, options)
              : await writeHashed(handle, source, options);
          // The flush to disk starts now and runs while the caller works with the staged bytes.
          durable = (this.#fsync ? handle.sync() : Promise.resolve()).finally(() => handle.close());
        }
        durable.catch(noop);
        const { sha256, sizeBytes } = written;
        if (options.expectedSha256 !== undefined && options.expectedSha256 !== sha256) {
          await durable.catch(noop);
          throw new StrataError(
            "STRATA_E_CRC_MISMATCH",
            `expected SHA-256 ${options.expectedSha256}, the bytes hash to ${sha256}`,
            { expectedSha256: options.expectedSha256, actualSha256: sha256, sizeBytes },
          );
        }
      } catch (error) {
        await handle.close().catch(noop);
        await unlink(tempPath).catch(ignoreMissing);
        throw error;
      }
      let settled = false;
      const settle = (): void => {
        if (settled) throw new StrataError("STRATA_E_USAGE", "a staged blob is committed or discarded once");
        settled = true;
      };
      return {
        ...written,
        localPath: tempPath,
        commit: async () => {
          settle();
          return fsErrors(async () => {
            try {
              await durable;
              const target = this.path(written.sha256);
              await mkdir(path.dirname(target), { recursive: true });
              const created = await publish(tempPath, target);
              if (created && this.#fsync) await fsyncDirectory(path.dirname(target));
              return { ...written, created };
            } finally {
              await unlink(tempPath).catch(ignoreMissing);
            }
          });
        },
        discard: async () => {
          settle();
          await durable.catch(noop);
          await unlink(tempPath).catch(ignoreMissing);
        },
      };
    });
  }

  async has(sha256: Sha256Hex): Promise<boolean> {
    const file = this.path(sha256);
    try {
      return (await stat(file)).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw toStrataError(error, { file });
    }
  }

  async get(sha256: Sha256Hex, options: GetOptions = {}): Promise<Readable> {
    const file = this.path(sha256);
    const ranged = options.offset !== undefined || options.length !== undefined;
    if (ranged && options.verify === true) {
      throw new StrataError(
        "STRATA_E_USAGE",
        "verify needs the whole blob; it cannot be combined with offset/length",
        {
          sha256,
        },
      );
    }
    const offset = options.offset ?? 0;
    checkByteCount("offset", offset);
    if (options.length !== undefined) checkByteCount("length", options.length);
    let handle: FileHandle;
    try {
      handle = await open(file, "r");
    } catch (error) {
      if (isMissing(error)) throw new StrataError("STRATA_E_NOT_FOUND", `no blob ${sha256}`, { sha256 });
      throw toStrataError(error, { file });
    }
    if (options.length === 0) {
      await handle.close();
      return Readable.from([]);
    }
    const end = options.length === undefined ? undefined : offset + options.length - 1;
    const raw = handle.createReadStream({ start: offset, end, highWaterMark: READ_CHUNK_BYTES });
    if (!(options.verify ?? !ranged)) return raw;
    return verifyingStream(raw, sha256, file);
  }

  async delete(sha256: Sha256Hex): Promise<boolean> {
    const file = this.path(sha256);
    try {
      await unlink(file);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw toStrataError(error, { file });
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const first of await listDirectory(this.#blobDir)) {
      if (!/^[0-9a-f]{2}$/.test(first)) continue;
      const firstDir = path.join(this.#blobDir, first);
      for (const second of await listDirectory(firstDir)) {
        if (!/^[0-9a-f]{2}$/.test(second)) continue;
        const secondDir = path.join(firstDir, second);
        for (const name of await listDirectory(secondDir)) {
          if (!isSha256Hex(name) || !name.startsWith(first + second)) continue;
          try {
            const info = await stat(path.join(secondDir, name));
            if (info.isFile()) yield { sha256: name, sizeBytes: info.size };
          } catch (error) {
            if (!isMissing(error)) throw toStrataError(error, { file: path.join(secondDir, name) });
          }
        }
      }
    }
  }

  /**
   * Removes temp files left by interrupted puts. A put in progress keeps its temp file's mtime
   * fresh, so with the default age only abandoned files go. Returns how many were removed.
   */
  async sweepTemp(options: SweepOptions = {}): Promise<number> {
    const maxAgeMs = (options.olderThanHours ?? 24) * HOUR_MS;
    const now = Date.now();
    let removed = 0;
    for (const name of await listDirectory(this.#tempDir)) {
      const file = path.join(this.#tempDir, name);
      try {
        const info = await stat(file);
        if (!info.isFile()) continue;
        const abandoned = options.deadWriters === true && writerIsGone(name);
        if (!abandoned && now - info.mtimeMs < maxAgeMs) continue;
        await unlink(file);
        removed += 1;
      } catch (error) {
        if (!isMissing(error)) throw toStrataError(error, { file });
      }
    }
    return removed;
  }
}

/** Temp names are `<ms>-<pid>-<random>.partial`; a writer is gone when no process has its pid. */
function writerIsGone(tempName: string): boolean {
  const pid = Number(tempName.split("-")[1]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === "ESRCH";
  }
}

/** Size of a regular file; 0 (so: copied in this thread, which reports the error) when it cannot be read. */
async function fileSize(filePath: string): Promise<number> {
  try {
    return (await stat(filePath)).size;
  } catch {
    return 0;
  }
}

/** A copy failure as the coded error the caller sees, naming the file and offset. */
function copyError(failure: CopyFailure, sourcePath: string, targetPath: string): StrataError {
  const file = failure.file ?? targetPath;
  const context = failure.offset === undefined ? { file } : { file, offset: failure.offset };
  if (failure.code === "ENOTFILE") return new StrataError("STRATA_E_USAGE", "not a regular file", context);
  if (failure.code === "ENOENT" && file !== sourcePath) {
    return new StrataError("STRATA_E_INTERNAL", failure.message, context);
  }
  const cause = Object.assign(new Error(failure.message), { code: failure.code, syscall: failure.syscall });
  return toStrataError(cause, context);
}

async function copyInThread(
  sourcePath: string,
  handle: FileHandle,
  targetPath: string,
  options: PutOptions,
): Promise<{ sha256: Sha256Hex; sizeBytes: number }> {
  const result = await copyHashed(sourcePath, handle, {
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    shouldStop: () => options.signal?.aborted === true,
  }).catch((error: unknown) => {
    throw copyError(error as CopyFailure, sourcePath, targetPath);
  });
  options.signal?.throwIfAborted();
  return { sha256: result.sha256 as Sha256Hex, sizeBytes: result.sizeBytes };
}

/**
 * The copy on a worker thread (copy-hashed.mjs). Resolves once the bytes are copied and hashed, with
 * `durable` settling when the worker has flushed (if asked) and closed the copy.
 */
function copyOffThread(
  sourcePath: string,
  targetPath: string,
  fsync: boolean,
  options: PutOptions,
): Promise<{ written: { sha256: Sha256Hex; sizeBytes: number }; durable: Promise<void> }> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const workerData: CopyWorkerData = { copyHashedWorker: true, sourcePath, targetPath, fsync, stop };
  const worker = new Worker(new URL("./copy-hashed.mjs", import.meta.url), { workerData });
  const onAbort = (): void => {
    Atomics.store(stop, 0, 1);
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let settleDurable: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const durable = new Promise<void>((resolve, reject) => {
    settleDurable = { resolve, reject };
  });
  return new Promise((resolve, reject) => {
    let hashed = false;
    const fail = (error: unknown): void => {
      options.signal?.removeEventListener("abort", onAbort);
      if (hashed) settleDurable?.reject(error);
      else reject(error);
    };
    worker.on("message", (message: CopyWorkerMessage) => {
      switch (message.type) {
        case "progress":
          options.onProgress?.(message.doneBytes);
          return;
        case "hashed":
          if (options.signal?.aborted) {
            reject(options.signal.reason);
            return;
          }
          hashed = true;
          resolve({
            written: { sha256: message.sha256 as Sha256Hex, sizeBytes: message.sizeBytes },
            durable,
          });
          return;
        case "stopped":
          reject(options.signal?.reason ?? new StrataError("STRATA_E_USAGE", "the copy was stopped"));
          return;
        case "done":
          options.signal?.removeEventListener("abort", onAbort);
          settleDurable?.resolve();
          return;
        case "error":
          fail(copyError(message.error, sourcePath, targetPath));
          return;
      }
    });
    worker.on("error", (error) => fail(toStrataError(error, { file: sourcePath })));
    worker.on("exit", (code) => {
      if (code !== 0) fail(new StrataError("STRATA_E_INTERNAL", `the copy worker exited with code ${code}`));
    });
  });
}

async function writeHashed(
  handle: FileHandle,
  source: AsyncIterable<unknown>,
  { onProgress, signal }: PutOptions,
): Promise<{ sha256: Sha256Hex; sizeBytes: number }> {
  const hash = createHash("sha256");
  const staging = Buffer.allocUnsafe(STAGING_BYTES);
  let staged = 0;
  let sizeBytes = 0;
  for await (const item of source) {
    signal?.throwIfAborted();
    const chunk = toBytes(item);
    hash.update(chunk);
    sizeBytes += chunk.byteLength;
    onProgress?.(sizeBytes);
    if (staged + chunk.byteLength <= STAGING_BYTES) {
      staging.set(chunk, staged);
      staged += chunk.byteLength;
      continue;
    }
    if (staged > 0) await writeAll(handle, staging, staged);
    staged = 0;
    if (chunk.byteLength >= STAGING_BYTES) {
      await writeAll(handle, chunk, chunk.byteLength);
    } else {
      staging.set(chunk, 0);
      staged = chunk.byteLength;
    }
  }
  if (staged > 0) await writeAll(handle, staging, staged);
  return { sha256: hash.digest("hex"), sizeBytes };
}

function toBytes(item: unknown): Uint8Array {
  if (item instanceof Uint8Array) return item;
  if (typeof item === "string") return Buffer.from(item, "utf8");
  throw new StrataError("STRATA_E_USAGE", `a blob source must yield Uint8Array chunks, got ${typeof item}`);
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, length: number): Promise<void> {
  let offset = 0;
  while (offset < length) {
    const { bytesWritten } = await handle.write(bytes, offset, length - offset);
    offset += bytesWritten;
  }
}

/** Gives the temp file its final name without ever replacing an existing blob. true when it was new. */
async function publish(tempPath: string, target: string): Promise<boolean> {
  try {
    await link(tempPath, target);
    return true;
  } catch (error) {
    const code = errorCode(error);
    if (code === "EEXIST") return false;
    if (
      code !== "EPERM" &&
      code !== "ENOTSUP" &&
      code !== "EOPNOTSUPP" &&
      code !== "EMLINK" &&
      code !== "ENOSYS"
    ) {
      throw error;
    }
  }
  // Filesystems without hard links: rename is atomic, and an identical blob may be replaced harmlessly.
  try {
    await stat(target);
    return false;
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  await rename(tempPath, target);
  return true;
}

async function fsyncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch (error) {
    // Some platforms cannot fsync a directory; the file itself is already synced.
    const code = errorCode(error);
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw error;
  } finally {
    await handle?.close();
  }
}

function verifyingStream(raw: Readable, sha256: Sha256Hex, file: string): Readable {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  const checker = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sizeBytes += chunk.byteLength;
      callback(null, chunk);
    },
    flush(callback) {
      const actual = hash.digest("hex");
      if (actual === sha256) return callback();
      callback(
        new StrataError("STRATA_E_BLOB_CORRUPT", `blob ${sha256} now hashes to ${actual}`, {
          file,
          sha256,
          actualSha256: actual,
          sizeBytes,
        }),
      );
    },
  });
  pipeline(raw, checker, () => {
    // Errors reach the consumer through `checker`; nothing else to do here.
  });
  return checker;
}

async function listDirectory(directory: string): Promise<string[]> {
  try {
    return (await readdir(directory)).sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw toStrataError(error, { file: directory });
  }
}

function assertSha256(value: string): void {
  if (typeof value !== "string" || !isSha256Hex(value)) {
    throw new StrataError("STRATA_E_USAGE", `not a SHA-256 hex digest: ${JSON.stringify(value)}`);
  }
}

function checkByteCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StrataError("STRATA_E_USAGE", `${name} must be a non-negative integer, got ${value}`);
  }
}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

function isMissing(error: unknown): boolean {
  return errorCode(error) === "ENOENT";
}

function noop(): void {}

function ignoreMissing(error: unknown): void {
  if (!isMissing(error)) throw error;
}

/** Filesystem failures become catalogue errors naming the path; errors from the source pass unchanged. */
async function fsErrors<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    const systemError = error as { syscall?: unknown; path?: unknown } | null;
    if (systemError && typeof systemError.syscall === "string") {
      const file = typeof systemError.path === "string" ? systemError.path : undefined;
      throw toStrataError(error, file === undefined ? {} : { file });
    }
    throw error;
  }
}
