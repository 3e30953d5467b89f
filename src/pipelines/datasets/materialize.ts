/**
 * Materialise a dataset version into a directory: per item a trimmed MCAP of its window and topics (the
 * export module's window export), `manifest.json` (canonical JSON: the version's manifest plus every
 * sample's file and SHA-256) and `samples.parquet` (one row per sample, written by DuckDB with one
 * thread, a fixed row order and no timestamps). Nothing depends on the time or the output path, so the same
 * version always gives the same bytes. Records a `materialize` run and an audit event.
 *
 * Layout of `outDir`:
 *   manifest.json
 *   samples.parquet
 *   samples/000000.mcap, samples/000001.mcap, …   (item index, zero-padded)
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Catalog, JsonValue } from "../../catalog/index.ts";
import { StrataError, canonicalJson, sha256Hex, toStrataError } from "../../core/index.ts";
import { readLogLayout } from "../../formats/index.ts";
import type { BlobStore } from "../../storage/index.ts";
import { executeWindowExport, hashFile, planWindowExport, storedCapturePath } from "../export/index.ts";
import { sampleIdOf } from "./manifest.ts";
import { requireVersion } from "./store.ts";
import type { DatasetVersion, Split } from "./types.ts";

export const MATERIALIZE_FORMAT = "strata.dataset.materialized";
export const MATERIALIZE_FORMAT_VERSION = 1;
export const MATERIALIZED_MANIFEST_FILE = "manifest.json";
export const MATERIALIZED_INDEX_FILE = "samples.parquet";

export interface MaterializeDeps {
  catalog: Catalog;
  blobs: BlobStore;
  /** Scratch space for multi-file captures' link directories. */
  tempDir: string;
  /** Recorded on the run (package version + git sha). Default `unknown`. */
  codeVersion?: string;
}

export interface MaterializeOptions {
  /** The output directory (created; files of an earlier materialisation are overwritten). */
  outDir: string;
  /** Who asked (audit log), e.g. `cli:alice`. */
  actor: string;
}

export interface MaterializedSample {
  sampleId: string;
  itemIndex: number;
  captureId: string;
  captureSha256: string;
  startNs: bigint;
  /** Exclusive, as in the manifest. */
  endNs: bigint;
  topics: string[];
  split: Split;
  sceneId: string | null;
  /** Relative to the output directory, `/`-separated. */
  file: string;
  sha256: string;
  sizeBytes: number;
  messageCount: number;
}

export interface MaterializeResult {
  versionId: string;
  outDir: string;
  samples: MaterializedSample[];
  /** Every written file (relative path, SHA-256), sorted by path. */
  files: Array<{ file: string; sha256: string; sizeBytes: number }>;
  runId: string;
}

export async function materializeVersion(
  version: string | DatasetVersion,
  options: MaterializeOptions,
  deps: MaterializeDeps,
): Promise<MaterializeResult> {
  const resolved = typeof version === "string" ? await requireVersion(version, deps) : version;
  const outDir = path.resolve(options.outDir);
  const run = await deps.catalog.startRun({
    kind: "materialize",
    inputs: [{ datasetVersionId: resolved.versionId }],
    params: { format: "mcap", outDir, itemCount: resolved.manifest.items.length },
    codeVersion: deps.codeVersion ?? "unknown",
  });
  try {
    const result = await write(resolved, outDir, deps);
    await deps.catalog.finishRun(run.runId, {
      status: "completed",
      outputs: result.samples.map((s) => ({
        datasetVersionId: resolved.versionId,
        sampleId: s.sampleId,
        sha256: s.sha256,
      })),
    });
    await deps.catalog.appendAudit({
      actor: options.actor,
      action: "dataset.version.materialize",
      target: resolved.versionId,
      details: {
        runId: run.runId,
        outDir,
        sampleCount: result.samples.length,
        files: result.files.map((f) => ({ file: f.file, sha256: f.sha256 })),
      },
    });
    return { ...result, runId: run.runId };
  } catch (error) {
    const e = toStrataError(error, { versionId: resolved.versionId });
    await deps.catalog
      .finishRun(run.runId, { status: "failed", error: e.toJSON() as unknown as JsonValue })
      .catch(() => undefined);
    throw e;
  }
}

async function write(
  version: DatasetVersion,
  outDir: string,
  deps: MaterializeDeps,
): Promise<Omit<MaterializeResult, "runId">> {
  const samplesDir = path.join(outDir, "samples");
  await mkdir(samplesDir, { recursive: true });
  const samples: MaterializedSample[] = [];
  for (const [itemIndex, item] of version.manifest.items.entries()) {
    const capture = await deps.catalog.getCapture(item.captureId);
    if (capture === undefined || capture.sha256 !== item.captureSha256) {
      throw new StrataError(
        "STRATA_E_NOT_FOUND",
        `capture ${item.captureId} (sha256 ${item.captureSha256}) of item ${itemIndex} is not in the catalog`,
        { captureId: item.captureId },
      );
    }
    const file = `samples/${String(itemIndex).padStart(6, "0")}.mcap`;
    const source = await storedCapturePath(deps, capture);
    try {
      const layout = await readLogLayout(source.path);
      const plan = planWindowExport(capture, layout, {
        format: "mcap",
        startNs: item.startNs,
        // The export window is inclusive; the item's end is exclusive.
        endNs: item.endNs - 1n,
        topics: item.topics,
        outPath: path.join(outDir, ...file.split("/")),
      });
      const exported = await executeWindowExport(plan, { logPath: source.path, layout });
      samples.push({
        sampleId: sampleIdOf(version.versionId, itemIndex),
        itemIndex,
        captureId: item.captureId,
        captureSha256: item.captureSha256,
        startNs: item.startNs,
        endNs: item.endNs,
        topics: [...item.topics],
        split: item.split,
        sceneId: item.sceneId ?? null,
        file,
        sha256: exported.sha256,
        sizeBytes: exported.sizeBytes,
        messageCount: exported.messageCount,
      });
    } finally {
      await source.release();
    }
  }

  const manifestText = `${canonicalJson({
    format: MATERIALIZE_FORMAT,
    formatVersion: MATERIALIZE_FORMAT_VERSION,
    versionId: version.versionId,
    datasetName: version.datasetName,
    manifest: version.manifest,
    samples,
  })}\n`;
  const manifestPath = path.join(outDir, MATERIALIZED_MANIFEST_FILE);
  await writeAtomically(manifestPath, manifestText);
  const indexPath = path.join(outDir, MATERIALIZED_INDEX_FILE);
  await writeSampleIndex(samples, indexPath);

  const files = [
    ...samples.map((s) => ({ file: s.file, sha256: s.sha256, sizeBytes: s.sizeBytes })),
    {
      file: MATERIALIZED_MANIFEST_FILE,
      sha256: sha256Hex(manifestText),
      sizeBytes: Buffer.byteLength(manifestText),
    },
    { file: MATERIALIZED_INDEX_FILE, ...(await hashFile(indexPath)) },
  ].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { versionId: version.versionId, outDir, samples, files };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, text, "utf8");
  await rename(tmp, file);
}

/** `samples.parquet`: one row per sample in item order; one DuckDB thread so row groups are stable. */
async function writeSampleIndex(samples: readonly MaterializedSample[], file: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await rm(tmp, { force: true });
  // DuckDB is a large native module: load it only when a version is materialized.
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
  const connection = await instance.connect();
  try {
    await connection.run(
      `CREATE TABLE samples (
        sample_index BIGINT, "sampleId" VARCHAR, "captureId" VARCHAR, "captureSha256" VARCHAR,
        "startNs" BIGINT, "endNs" BIGINT, topics VARCHAR[], split VARCHAR, "sceneId" VARCHAR,
        file VARCHAR, sha256 VARCHAR, "sizeBytes" BIGINT, "messageCount" BIGINT)`,
    );
    for (const s of samples) {
      const topics = `[${s.topics.map(literal).join(", ")}]::VARCHAR[]`;
      await connection.run(
        `INSERT INTO samples VALUES (${s.itemIndex}, ${literal(s.sampleId)}, ${literal(s.captureId)},
          ${literal(s.captureSha256)}, ${s.startNs}, ${s.endNs}, ${topics}, ${literal(s.split)},
          ${s.sceneId === null ? "NULL" : literal(s.sceneId)}, ${literal(s.file)}, ${literal(s.sha256)},
          ${s.sizeBytes}, ${s.messageCount})`,
      );
    }
    await connection.run(
      `COPY (SELECT * FROM samples ORDER BY sample_index) TO ${literal(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
    );
  } catch (error) {
    throw new StrataError(
      "STRATA_E_INTERNAL",
      `writing ${file}: ${error instanceof Error ? error.message : String(error)}`,
      { file },
      { cause: error },
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  await rename(tmp, file);
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
