import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStrataError } from "../core/index.ts";
import { bufferSource, openFileSink, openFileSource } from "./node-source.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-node-source-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("openFileSource", () => {
  it("reads positional ranges and reports the size", async () => {
    const path = join(dir, "bytes.bin");
    await writeFile(
      path,
      Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff),
    );
    const source = await openFileSource(path);
    expect(source.name).toBe(path);
    expect(await source.size()).toBe(1000n);
    expect(Array.from(await source.read(998n, 2n))).toEqual([998 & 0xff, 999 & 0xff]);
    expect((await source.read(10n, 0n)).byteLength).toBe(0);
    await expect(source.read(999n, 2n)).rejects.toThrow(/beyond the end/);
    await source.close?.();
    await source.close?.(); // idempotent
  });

  it("a missing file is STRATA_E_FILE_NOT_FOUND with the path", async () => {
    const error = await openFileSource(join(dir, "missing.mcap")).catch((e: unknown) => e);
    expect(isStrataError(error) && error.code).toBe("STRATA_E_FILE_NOT_FOUND");
    expect(isStrataError(error) && error.context.file).toBe(join(dir, "missing.mcap"));
  });

  it("a directory is a usage error, not a crash", async () => {
    const error = await openFileSource(dir).catch((e: unknown) => e);
    expect(isStrataError(error) && error.code).toBe("STRATA_E_USAGE");
  });
});

describe("bufferSource", () => {
  it("serves ranges of the buffer and rejects reads past the end", async () => {
    const source = bufferSource("mem", new Uint8Array([1, 2, 3, 4]));
    expect(await source.size()).toBe(4n);
    expect(Array.from(await source.read(1n, 2n))).toEqual([2, 3]);
    await expect(source.read(3n, 2n)).rejects.toThrow(/beyond the end/);
  });
});

describe("openFileSink", () => {
  it("coalesces writes into path.tmp and renames on finish", async () => {
    const path = join(dir, "sink.bin");
    const sink = await openFileSink(path, { bufferBytes: 16 });
    for (let i = 0; i < 10; i++) await sink.write(new Uint8Array([i, i, i]));
    await sink.write(new Uint8Array(40).fill(7)); // larger than the buffer
    await expect(stat(path)).rejects.toThrow();
    await sink.finish();
    const bytes = await readFile(path);
    expect(bytes.byteLength).toBe(70);
    expect(Array.from(bytes.subarray(0, 6))).toEqual([0, 0, 0, 1, 1, 1]);
    expect(bytes.at(-1)).toBe(7);
    await expect(stat(`${path}.tmp`)).rejects.toThrow();
    await expect(sink.write(new Uint8Array(1))).rejects.toThrow(/after finished/);
  });

  it("abort deletes the temp file", async () => {
    const path = join(dir, "aborted.bin");
    const sink = await openFileSink(path);
    await sink.write(new Uint8Array(10));
    await sink.abort();
    await expect(stat(`${path}.tmp`)).rejects.toThrow();
    await expect(stat(path)).rejects.toThrow();
  });
});
