/**
 * The one test suite every BlobStore passes. Call it from a `*.test.ts` beside the implementation:
 *
 *   blobStoreContract("local", async () => { const store = …; return { store, corrupt, dispose } });
 *
 * Test-only: imports vitest, so it is not re-exported from index.ts.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isStrataError, sha256Hex } from "../core/index.ts";
import type { BlobStore } from "./types.ts";

export interface BlobStoreUnderTest {
  store: BlobStore;
  /** Replaces the stored bytes of a blob behind the store's back (to test verify-on-read). */
  corrupt(sha256: string, bytes: Uint8Array): Promise<void>;
  dispose(): Promise<void>;
}

export interface BlobStoreContractOptions {
  /** Size of the streamed put whose memory is measured (default 200 MiB). */
  largeStreamBytes?: number;
  /** Allowed RSS growth while streaming it (default 64 MiB). */
  maxRssGrowthBytes?: number;
}

const MiB = 1 << 20;

export function blobStoreContract(
  name: string,
  makeStore: () => Promise<BlobStoreUnderTest>,
  options: BlobStoreContractOptions = {},
): void {
  describe(`BlobStore contract: ${name}`, () => {
    let subject: BlobStoreUnderTest;
    let store: BlobStore;
    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.dispose();
    });

    it("stores an async iterable under its SHA-256 and reads the same bytes back", async () => {
      const parts = [bytes("hello "), bytes("blob "), bytes("world")];
      const result = await store.put(fromArray(parts));
      const expected = sha256Hex(Buffer.concat(parts));
      expect(result).toEqual({ sha256: expected, sizeBytes: 16, created: true });
      expect(await store.has(expected)).toBe(true);
      expect(Buffer.from(await readAll(await store.get(expected))).toString()).toBe("hello blob world");
    });

    it("accepts a Node Readable and string chunks", async () => {
      const fromReadable = await store.put(Readable.from([Buffer.from("abc"), Buffer.from("def")]));
      expect(fromReadable.sha256).toBe(sha256Hex("abcdef"));
      const fromStrings = await store.put(fromArray(["abc", "def"]));
      expect(fromStrings).toEqual({ sha256: sha256Hex("abcdef"), sizeBytes: 6, created: false });
    });

    it("stages bytes: nothing is stored until commit, which gives the same result as put", async () => {
      const staged = await store.stage(fromArray([bytes("staged "), bytes("bytes")]));
      const expected = sha256Hex("staged bytes");
      expect({ sha256: staged.sha256, sizeBytes: staged.sizeBytes }).toEqual({
        sha256: expected,
        sizeBytes: 12,
      });
      expect(await store.has(expected)).toBe(false);
      expect(await staged.commit()).toEqual({ sha256: expected, sizeBytes: 12, created: true });
      expect(Buffer.from(await readAll(await store.get(expected))).toString()).toBe("staged bytes");
      await expect(staged.commit()).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
    });

    it("a discarded stage stores nothing and leaves no blob to list", async () => {
      const staged = await store.stage(fromArray([bytes("dropped")]));
      await staged.discard();
      expect(await store.has(sha256Hex("dropped"))).toBe(false);
      const listed = [];
      for await (const info of store.list()) listed.push(info);
      expect(listed).toEqual([]);
    });

    it("stores a local file named by filePath, reporting progress; a missing file is STRATA_E_FILE_NOT_FOUND", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "strata-blob-file-"));
      try {
        const file = path.join(dir, "input.bin");
        // Many copy chunks (several in flight at once) and a ragged tail, with content that differs by position.
        const content = Buffer.alloc(41 * MiB + 12_345);
        for (let i = 0; i < content.length; i += 4096) content.writeUInt32LE(i, i);
        await writeFile(file, content);
        const seen: number[] = [];
        const staged = await store.stage({ filePath: file }, { onProgress: (done) => seen.push(done) });
        if (staged.localPath !== undefined)
          expect(sha256Hex(await readFile(staged.localPath))).toBe(staged.sha256);
        const result = await staged.commit();
        expect(result).toEqual({ sha256: sha256Hex(content), sizeBytes: content.length, created: true });
        expect(seen.at(-1)).toBe(content.length);
        expect(seen).toEqual([...seen].sort((a, b) => a - b));
        expect(Buffer.compare(Buffer.from(await readAll(await store.get(result.sha256))), content)).toBe(0);
        await expect(store.put({ filePath: path.join(dir, "missing.bin") })).rejects.toMatchObject({
          code: "STRATA_E_FILE_NOT_FOUND",
        });
        await expect(store.put({ filePath: dir })).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("a stage stopped by its signal rejects with the signal's reason and stores nothing", async () => {
      const dir = await mkdtemp(path.join(tmpdir(), "strata-blob-abort-"));
      try {
        const file = path.join(dir, "input.bin");
        const content = pattern(12 * MiB + 5, 3);
        await writeFile(file, content);
        const reason = new Error("stop now");
        // Stopped after the first progress report, i.e. mid-copy.
        const fromFile = new AbortController();
        await expect(
          store.stage(
            { filePath: file },
            { signal: fromFile.signal, onProgress: () => fromFile.abort(reason) },
          ),
        ).rejects.toBe(reason);
        const fromStream = new AbortController();
        await expect(
          store.stage(chunked(content, 64 * 1024), {
            signal: fromStream.signal,
            onProgress: () => fromStream.abort(reason),
          }),
        ).rejects.toBe(reason);
        await expect(store.stage({ filePath: file }, { signal: AbortSignal.abort(reason) })).rejects.toBe(
          reason,
        );
        expect(await store.has(sha256Hex(content))).toBe(false);
        expect(await collect(store.list())).toEqual([]);
        // Nothing was left behind: the same file stages and commits afterwards.
        expect((await (await store.stage({ filePath: file })).commit()).sha256).toBe(sha256Hex(content));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("stores an empty stream", async () => {
      const result = await store.put(fromArray([]));
      expect(result).toEqual({ sha256: sha256Hex(new Uint8Array(0)), sizeBytes: 0, created: true });
      expect((await readAll(await store.get(result.sha256))).byteLength).toBe(0);
    });

    it("is idempotent: the same bytes twice are one blob, the second put reports created: false", async () => {
      const first = await store.put(fromArray([bytes("same bytes")]));
      const second = await store.put(fromArray([bytes("same "), bytes("bytes")]));
      expect(first.created).toBe(true);
      expect(second).toEqual({ ...first, created: false });
      const listed = await collect(store.list());
      expect(listed).toEqual([{ sha256: first.sha256, sizeBytes: 10 }]);
    });

    it("concurrent puts of the same bytes leave one blob", async () => {
      const data = pattern(3 * MiB + 17, 5);
      const results = await Promise.all([1, 2, 3, 4].map(() => store.put(chunked(data, 64 * 1024))));
      expect(new Set(results.map((r) => r.sha256))).toEqual(new Set([sha256Hex(data)]));
      expect(results.some((r) => r.created)).toBe(true);
      expect(await collect(store.list())).toEqual([{ sha256: sha256Hex(data), sizeBytes: data.byteLength }]);
      expect(Buffer.compare(await readAll(await store.get(sha256Hex(data))), data)).toBe(0);
    });

    it("lists every blob with its size", async () => {
      const a = await store.put(fromArray([bytes("a")]));
      const b = await store.put(fromArray([bytes("bb")]));
      const c = await store.put(fromArray([pattern(MiB + 3, 1)]));
      const listed = (await collect(store.list())).sort((x, y) => x.sha256.localeCompare(y.sha256));
      const expected = [
        { sha256: a.sha256, sizeBytes: 1 },
        { sha256: b.sha256, sizeBytes: 2 },
        { sha256: c.sha256, sizeBytes: MiB + 3 },
      ].sort((x, y) => x.sha256.localeCompare(y.sha256));
      expect(listed).toEqual(expected);
    });

    it("missing blobs: has is false, get fails with STRATA_E_NOT_FOUND, delete returns false", async () => {
      const absent = sha256Hex("never stored");
      expect(await store.has(absent)).toBe(false);
      await expect(store.get(absent)).rejects.toMatchObject({ code: "STRATA_E_NOT_FOUND" });
      expect(await store.delete(absent)).toBe(false);
    });

    it("delete removes a blob", async () => {
      const { sha256 } = await store.put(fromArray([bytes("doomed")]));
      expect(await store.delete(sha256)).toBe(true);
      expect(await store.has(sha256)).toBe(false);
      await expect(store.get(sha256)).rejects.toMatchObject({ code: "STRATA_E_NOT_FOUND" });
      expect(await collect(store.list())).toEqual([]);
      expect((await store.put(fromArray([bytes("doomed")]))).created).toBe(true);
    });

    it("rejects names that are not SHA-256 hex digests", async () => {
      for (const bad of ["", "abc", "../../etc/passwd", "A".repeat(64), `${"0".repeat(63)}/`]) {
        await expect(store.has(bad)).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
        await expect(store.get(bad)).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
        await expect(store.delete(bad)).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
      }
    });

    it("a failing source stores nothing and its error reaches the caller", async () => {
      const boom = new Error("source broke");
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield pattern(2 * MiB, 9);
        throw boom;
      }
      await expect(store.put(failing())).rejects.toBe(boom);
      expect(await collect(store.list())).toEqual([]);
    });

    it("a Readable that fails, even before the put starts reading, rejects the put and stores nothing", async () => {
      const early = new PassThrough();
      early.destroy(new Error("early failure"));
      await expect(store.put(early)).rejects.toThrow("early failure");
      const later = new PassThrough();
      later.write(pattern(MiB, 2));
      setTimeout(() => later.destroy(new Error("later failure")), 5);
      await expect(store.put(later)).rejects.toThrow("later failure");
      expect(await collect(store.list())).toEqual([]);
    });

    it("expectedSha256: a mismatch fails with STRATA_E_CRC_MISMATCH and stores nothing", async () => {
      const data = bytes("payload");
      await expect(
        store.put(fromArray([data]), { expectedSha256: sha256Hex("other") }),
      ).rejects.toMatchObject({
        code: "STRATA_E_CRC_MISMATCH",
      });
      expect(await collect(store.list())).toEqual([]);
      const ok = await store.put(fromArray([data]), { expectedSha256: sha256Hex(data) });
      expect(ok.created).toBe(true);
    });

    it("reads a byte range", async () => {
      const data = pattern(3 * MiB, 3);
      const { sha256 } = await store.put(chunked(data, 100_000));
      const slice = await readAll(await store.get(sha256, { offset: MiB - 5, length: MiB + 10 }));
      expect(Buffer.compare(slice, data.subarray(MiB - 5, 2 * MiB + 5))).toBe(0);
      const tail = await readAll(await store.get(sha256, { offset: 3 * MiB - 4 }));
      expect(Buffer.compare(tail, data.subarray(3 * MiB - 4))).toBe(0);
      expect((await readAll(await store.get(sha256, { offset: 10, length: 0 }))).byteLength).toBe(0);
      await expect(store.get(sha256, { offset: 0, length: 10, verify: true })).rejects.toMatchObject({
        code: "STRATA_E_USAGE",
      });
      await expect(store.get(sha256, { offset: -1 })).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
    });

    it("verify-on-read: corrupted bytes fail the stream with STRATA_E_BLOB_CORRUPT; verify: false reads them", async () => {
      const data = pattern(2 * MiB + 1, 7);
      const { sha256 } = await store.put(fromArray([data]));
      const damaged = Buffer.from(data);
      damaged[MiB] = (damaged[MiB] ?? 0) ^ 0xff;
      await subject.corrupt(sha256, damaged);

      const failure = await readAll(await store.get(sha256)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isStrataError(failure)).toBe(true);
      expect(failure).toMatchObject({ code: "STRATA_E_BLOB_CORRUPT", context: { sha256 } });

      const unverified = await readAll(await store.get(sha256, { verify: false }));
      expect(Buffer.compare(unverified, damaged)).toBe(0);
      // An intact blob passes verification explicitly too.
      const intact = await store.put(fromArray([bytes("intact")]));
      expect(Buffer.from(await readAll(await store.get(intact.sha256, { verify: true }))).toString()).toBe(
        "intact",
      );
    });

    const largeBytes = options.largeStreamBytes ?? 200 * MiB;
    const maxGrowth = options.maxRssGrowthBytes ?? 64 * MiB;
    it(`streams a ${Math.round(largeBytes / MiB)} MiB put with bounded memory (RSS growth < ${Math.round(maxGrowth / MiB)} MiB)`, async () => {
      const chunkBytes = 256 * 1024;
      const expectedHash = createHash("sha256");
      const baselineRss = process.memoryUsage.rss();
      let peakRss = baselineRss;
      async function* generated(): AsyncGenerator<Uint8Array> {
        for (let produced = 0, index = 0; produced < largeBytes; index += 1) {
          const size = Math.min(chunkBytes, largeBytes - produced);
          // A fresh buffer per chunk: a store that held on to chunks would show it in RSS.
          const chunk = Buffer.allocUnsafe(size).fill(index % 251);
          chunk.writeUInt32LE(index, 0);
          expectedHash.update(chunk);
          produced += size;
          if (index % 16 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
          yield chunk;
        }
      }
      const result = await store.put(generated());
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      expect(result).toEqual({ sha256: expectedHash.digest("hex"), sizeBytes: largeBytes, created: true });
      expect(peakRss - baselineRss).toBeLessThan(maxGrowth);

      // Reading it back verified is streaming too.
      let readBytes = 0;
      const readBaseline = process.memoryUsage.rss();
      let readPeak = readBaseline;
      for await (const chunk of await store.get(result.sha256)) {
        readBytes += (chunk as Buffer).byteLength;
        readPeak = Math.max(readPeak, process.memoryUsage.rss());
      }
      expect(readBytes).toBe(largeBytes);
      expect(readPeak - readBaseline).toBeLessThan(maxGrowth);
    });
  });
}

function bytes(text: string): Uint8Array {
  return Buffer.from(text, "utf8");
}

/** Deterministic bytes that differ per `seed`. */
function pattern(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i += 1) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function* chunked(data: Uint8Array, chunkBytes: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < data.byteLength; offset += chunkBytes) {
    yield data.subarray(offset, Math.min(offset + chunkBytes, data.byteLength));
  }
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
