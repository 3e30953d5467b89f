import { cp, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeLargeMcap } from "../../../testdata/generators/large-log.ts";
import { type Catalog, openCatalog } from "../../catalog/index.ts";
import { sha256Hex, StrataError } from "../../core/index.ts";
import { LocalBlobStore } from "../../storage/index.ts";
import type { AnalyzerResult, CaptureAnalyzer } from "./ingest.ts";
import { ingestPath } from "./ingest.ts";

const fixtures = path.resolve(import.meta.dirname, "../../../../shared/fixtures");

/** Counts its runs and, on the first, does `onFirst` (e.g. touches the source mid-ingest). */
function probe(onFirst: () => Promise<void>): CaptureAnalyzer & { runs: number[] } {
  const runs: number[] = [];
  return {
    name: "probe",
    runs,
    async analyze(context): Promise<AnalyzerResult> {
      runs.push(context.stats.messageCount);
      if (runs.length === 1) await onFirst();
      return { outputs: { runs: runs.length } };
    },
  };
}

describe("ingest: storing and analysing at once", () => {
  let dir: string;
  let catalog: Catalog;
  let blobs: LocalBlobStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-ingest-"));
    catalog = await openCatalog({ kind: "sqlite", path: path.join(dir, "catalog.db") });
    // Every file copy on the worker thread, however small.
    blobs = new LocalBlobStore(path.join(dir, "blobs"), { offThreadMinBytes: 0 });
  });
  afterEach(async () => {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  });

  const tempLeft = async () => readdir(path.join(dir, "blobs", "tmp")).catch(() => []);
  const blobCount = async () => {
    let n = 0;
    for await (const _ of blobs.list()) n++;
    return n;
  };

  it("stores the bytes it analysed: the blob hashes like the source, the stats match, no temp file is left", async () => {
    const file = path.join(dir, "log.mcap");
    const written = await writeLargeMcap(file, { targetBytes: 24e6 });
    const analyzer = probe(async () => {});
    const result = await ingestPath(
      file,
      { actor: "test" },
      { catalog, blobs, codeVersion: "t", analyzers: [analyzer] },
    );
    expect(result.created).toBe(true);
    expect(result.messageCount).toBe(written.messageCount);
    expect(analyzer.runs).toEqual([written.messageCount]);
    expect(result.sha256).toBe(sha256Hex(await readFile(file)));
    // The stored bytes themselves, re-hashed as they are read back.
    const stored = await readFile(blobs.path(result.sha256));
    expect(sha256Hex(stored)).toBe(result.sha256);
    expect(await tempLeft()).toEqual([]);
    // The same bytes again: the existing capture, and the second copy is dropped.
    const again = await ingestPath(
      file,
      { actor: "test" },
      { catalog, blobs, codeVersion: "t", analyzers: [] },
    );
    expect(again).toMatchObject({ captureId: result.captureId, created: false });
    expect(await tempLeft()).toEqual([]);
    expect(await blobCount()).toBe(1);
  });

  it("a file touched while it was analysed is analysed again from the stored copy", async () => {
    const file = path.join(dir, "log.mcap");
    const written = await writeLargeMcap(file, { targetBytes: 8e6 });
    const later = new Date(Date.now() + 60_000);
    const analyzer = probe(() => utimes(file, later, later));
    const result = await ingestPath(
      file,
      { actor: "test" },
      { catalog, blobs, codeVersion: "t", analyzers: [analyzer] },
    );
    expect(analyzer.runs).toEqual([written.messageCount, written.messageCount]);
    expect(result.created).toBe(true);
    const run = (await catalog.listRuns()).find((r) => r.kind === "ingest");
    expect(run?.outputs).toEqual([
      expect.objectContaining({ captureId: result.captureId, probe: { runs: 2 } }),
    ]);
    expect(await tempLeft()).toEqual([]);
  });

  it("a ROS 2 bag directory touched while it was analysed is refused with STRATA_E_CONFLICT, storing nothing", async () => {
    const bag = path.join(dir, "talker");
    await cp(path.join(fixtures, "rosbag2/rosbag2_py/sqlite3/talker"), bag, { recursive: true });
    const metadata = path.join(bag, "metadata.yaml");
    const later = new Date(Date.now() + 60_000);
    const analyzer = probe(() => utimes(metadata, later, later));
    const failure = await ingestPath(
      bag,
      { actor: "test" },
      { catalog, blobs, codeVersion: "t", analyzers: [analyzer] },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StrataError);
    expect(failure).toMatchObject({ code: "STRATA_E_CONFLICT", context: { file: bag } });
    expect(await catalog.listCaptures()).toEqual([]);
    expect(await blobCount()).toBe(0);
    expect(await tempLeft()).toEqual([]);
    // Untouched, the same directory ingests, and once: reading the .db3 left SQLite's side files beside it,
    // which are not part of the bag.
    const result = await ingestPath(bag, { actor: "test" }, { catalog, blobs, codeVersion: "t" });
    expect(result.created).toBe(true);
    expect((await readdir(bag)).sort()).toEqual([
      "metadata.yaml",
      "talker.db3",
      "talker.db3-shm",
      "talker.db3-wal",
    ]);
    const again = await ingestPath(bag, { actor: "test" }, { catalog, blobs, codeVersion: "t" });
    expect(again).toMatchObject({ captureId: result.captureId, created: false });
  });

  it("unreadable input stops the copy: a coded error naming the file, nothing stored, no temp file left", async () => {
    const file = path.join(dir, "noise.mcap");
    const noise = Buffer.alloc(40 << 20);
    for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE((i * 2654435761) >>> 0, i);
    await writeFile(file, noise);
    const failure = await ingestPath(file, { actor: "test" }, { catalog, blobs, codeVersion: "t" }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StrataError);
    expect((failure as StrataError).code).toMatch(/^STRATA_E_(UNKNOWN_FORMAT|CORRUPT_LOG)$/);
    expect((failure as StrataError).context.file).toBe(file);
    expect(await blobCount()).toBe(0);
    expect(await tempLeft()).toEqual([]);
    expect((await stat(file)).size).toBe(noise.length);
  });
});
