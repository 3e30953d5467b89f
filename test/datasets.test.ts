/**
 * Datasets end to end (real SQLite, real blobs, real files, the real CLI): materialising a version twice
 * gives byte-identical files (every file re-hashed from disk); a changed item changes the version id; the
 * Parquet index reads back; `strata lineage trace dsv_…/0` reaches the raw blob, whose bytes re-hash to the
 * recorded SHA-256; and `strata blame` ranks the faulty synthetic capture first.
 */
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDataset,
  createStrata,
  diffDatasetVersions,
  materializeDataset,
  resolveConfig,
  type Strata,
} from "../src/app/index.ts";
import { writeTestCapture } from "../src/pipelines/export/test-support.ts";
import { type BlameReport, generateCapture, type LineageGraph } from "../src/pipelines/index.ts";
import { json, strata as strataCli, tempDir } from "./helpers.ts";

const SEC = 1_000_000_000n;

/** Relative path → SHA-256 of every file under `dir`, re-read from disk. */
async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = createHash("sha256")
      .update(await readFile(full))
      .digest("hex");
  }
  return out;
}

describe("dataset versions: materialise, lineage", () => {
  const tmp = tempDir("strata-ds-");
  const home = path.join(tmp.dir, "home");
  let strata: Strata;
  const captures: Array<{ captureId: string; sha256: string; startNs: bigint }> = [];

  beforeAll(async () => {
    strata = await createStrata(resolveConfig({ home, env: {} }));
    for (const [i, secs] of [4, 5].entries()) {
      const file = path.join(tmp.dir, `pass-${i}.mcap`);
      await writeTestCapture(file, { durationSecs: secs });
      const result = await strata.ingest(file, { rig: `rig-${i}`, site: "lab" });
      const capture = await strata.catalog.getCapture(result.captureId);
      if (capture?.startNs == null) throw new Error("capture without messages");
      captures.push({ captureId: capture.captureId, sha256: capture.sha256, startNs: capture.startNs });
    }
  }, 120_000);

  afterAll(async () => {
    await strata?.close();
    tmp.cleanup();
  });

  const items = (endOffsetNs: bigint) =>
    captures.flatMap((c) => [
      {
        captureId: c.captureId,
        startNs: String(c.startNs),
        endNs: String(c.startNs + 2n * SEC),
        split: "train",
      },
      {
        captureSha256: c.sha256,
        startNs: String(c.startNs + 2n * SEC),
        endNs: String(c.startNs + endOffsetNs),
        topics: ["/chatter", "/imu_raw"],
        split: "train",
      },
    ]);

  it("materialising the same version twice gives identical bytes; a changed item changes the id", async () => {
    const { version } = await createDataset(strata, { name: "urban", items: items(3n * SEC), actor: "test" });
    expect(version.manifest.items).toHaveLength(4);

    const a = await materializeDataset(strata, {
      versionId: version.versionId,
      outDir: path.join(tmp.dir, "a"),
    });
    const b = await materializeDataset(strata, {
      versionId: version.versionId,
      outDir: path.join(tmp.dir, "b"),
    });
    const treeA = await hashTree(path.join(tmp.dir, "a"));
    const treeB = await hashTree(path.join(tmp.dir, "b"));
    expect(Object.keys(treeA).sort()).toEqual([
      "manifest.json",
      "samples.parquet",
      "samples/000000.mcap",
      "samples/000001.mcap",
      "samples/000002.mcap",
      "samples/000003.mcap",
    ]);
    expect(treeB).toEqual(treeA);
    // What the run reports is what is on disk.
    for (const f of a.files) expect(treeA[f.file]).toBe(f.sha256);
    expect(b.files).toEqual(a.files);
    expect(a.samples.every((s) => s.messageCount > 0)).toBe(true);

    // The materialize run names every sample with its file's hash.
    const run = await strata.catalog.getRun(a.runId);
    expect(run?.kind).toBe("materialize");
    expect(run?.inputs).toEqual([{ datasetVersionId: version.versionId }]);
    expect(run?.outputs).toEqual(
      a.samples.map((s) => ({ datasetVersionId: version.versionId, sampleId: s.sampleId, sha256: s.sha256 })),
    );
    const audit = await strata.catalog.listAudit({});
    expect(
      audit.some((e) => e.action === "dataset.version.materialize" && e.target === version.versionId),
    ).toBe(true);

    // The Parquet index reads back (DuckDB), one row per sample in item order.
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll(
      `SELECT "sampleId", "captureSha256", "startNs", "endNs", topics, split, file, sha256 FROM read_parquet('${path.join(tmp.dir, "a", "samples.parquet")}')`,
    );
    const rows = reader.getRowObjectsJson();
    connection.closeSync();
    instance.closeSync();
    expect(rows.map((r) => r.sampleId)).toEqual(a.samples.map((s) => s.sampleId));
    expect(rows[1]?.topics).toEqual(["/chatter", "/imu_raw"]);
    expect(rows.map((r) => r.sha256)).toEqual(a.samples.map((s) => s.sha256));

    // The second windows half a second longer: another version, and the diff names the change.
    const { version: changed } = await createDataset(strata, {
      name: "urban",
      items: items(3n * SEC + SEC / 2n),
      parentVersionId: version.versionId,
      actor: "test",
    });
    expect(changed.versionId).not.toBe(version.versionId);
    const diff = await diffDatasetVersions(strata, version.versionId, changed.versionId);
    // The second window of each capture is longer: two changes, two unchanged items.
    expect(diff.changed.length + diff.added.length).toBeGreaterThanOrEqual(2);
    expect(diff.unchangedCount).toBe(2);
    const c = await materializeDataset(strata, {
      versionId: changed.versionId,
      outDir: path.join(tmp.dir, "c"),
    });
    expect(c.files.find((f) => f.file === "manifest.json")?.sha256).not.toBe(
      a.files.find((f) => f.file === "manifest.json")?.sha256,
    );

    // The real CLI: trace a materialised sample back to the raw blob, and re-hash the blob's bytes.
    const trace = json<LineageGraph>(
      strataCli(["lineage", "trace", `${version.versionId}/0`, "--json"], home),
    );
    const sample = trace.nodes.find((n) => n.id === trace.rootId);
    expect(sample?.kind).toBe("sample");
    const captureId = sample?.attributes.captureId;
    const capture = captures.find((x) => x.captureId === captureId);
    expect(capture).toBeDefined();
    const blob = trace.nodes.find((n) => n.kind === "blob" && n.key === capture?.sha256);
    expect(blob?.attributes.verified).toBe(true);
    const blobPath = strata.blobs.path?.(capture?.sha256 ?? "") ?? "";
    expect(
      createHash("sha256")
        .update(await readFile(blobPath))
        .digest("hex"),
    ).toBe(capture?.sha256);
    expect(trace.nodes.some((n) => n.kind === "run" && n.attributes.kind === "ingest")).toBe(true);
    expect(trace.nodes.some((n) => n.kind === "qa_verdict")).toBe(true);
  }, 120_000);

  it("the CLI creates, lists, checks and materialises a version", async () => {
    const ids = captures.map((c) => c.captureId).join(",");
    const created = json<{ version: { versionId: string; manifest: { items: Array<{ split: string }> } } }>(
      strataCli(
        [
          "dataset",
          "create",
          "cli",
          "--captures",
          ids,
          "--split",
          "train=0.5,test=0.5",
          "--seed",
          "3",
          "--json",
        ],
        home,
      ),
    );
    const versionId = created.version.versionId;
    expect(new Set(created.version.manifest.items.map((i) => i.split)).size).toBeGreaterThanOrEqual(1);
    const listed = json<Array<{ name: string; versions: Array<{ versionId: string }> }>>(
      strataCli(["dataset", "list", "--json"], home),
    );
    expect(listed.find((d) => d.name === "cli")?.versions.map((v) => v.versionId)).toEqual([versionId]);
    const leakage = json<{ ok: boolean }>(strataCli(["dataset", "leakage", versionId, "--json"], home));
    expect(leakage.ok).toBe(true);
    const out = path.join(tmp.dir, "cli-out");
    const materialized = json<{ files: Array<{ file: string }> }>(
      strataCli(["dataset", "materialize", versionId, "--out", out, "--json"], home),
    );
    expect(materialized.files.map((f) => f.file)).toContain("samples.parquet");
    const dot = strataCli(["lineage", "graph", "--format", "dot"], home);
    expect(dot.status).toBe(0);
    expect(dot.stdout).toContain("digraph lineage");
  }, 120_000);
});

describe("strata blame on synthetic captures", () => {
  const tmp = tempDir("strata-blame-");
  const home = path.join(tmp.dir, "home");
  afterAll(() => tmp.cleanup());

  it("ranks the faulty capture first", async () => {
    const strata = await createStrata(resolveConfig({ home, env: {} }));
    const ids: Record<string, string> = {};
    for (const [name, seed, faults] of [
      ["faulty", 11, ["lidar-dropout"]],
      ["clean", 12, []],
    ] as const) {
      const outPath = path.join(tmp.dir, `${name}.mcap`);
      await generateCapture({ outPath, seconds: 20, seed, faults });
      const result = await strata.ingest(outPath, { rig: "rig-1", site: "depot" });
      ids[name] = result.captureId;
    }
    // Ten 2-second windows per capture.
    const windows = [];
    for (const name of ["faulty", "clean"]) {
      const capture = await strata.catalog.getCapture(ids[name] ?? "");
      if (capture?.startNs == null || capture.endNs === null) throw new Error("capture without messages");
      const endOfCaptureNs = capture.endNs + 1n;
      for (let w = 0n; w < 10n; w++) {
        const endNs = capture.startNs + (w + 1n) * 2n * SEC;
        windows.push({
          captureId: capture.captureId,
          startNs: String(capture.startNs + w * 2n * SEC),
          endNs: String(endNs < endOfCaptureNs ? endNs : endOfCaptureNs),
        });
      }
    }
    const { version } = await createDataset(strata, {
      name: "blame",
      items: windows,
      allowQuarantined: true,
      actor: "test",
    });
    await strata.close();
    // Failing samples: 7 of the faulty capture's windows, 1 of the clean one's.
    const failing = version.manifest.items
      .map((item, index) => ({ item, sampleId: `${version.versionId}/${index}` }))
      .filter(({ item }, k) => (item.captureId === ids.faulty ? k % 10 < 7 : k % 10 === 0))
      .map(({ sampleId }) => ({ sampleId }));
    const samplesFile = path.join(tmp.dir, "failing.json");
    await writeFile(samplesFile, JSON.stringify(failing));
    const report = json<BlameReport>(strataCli(["blame", samplesFile, "--json"], home));
    expect(report.failingCount).toBe(failing.length);
    const top = report.causes[0];
    const faultyFirst =
      (top?.dimension === "capture" && top.value === ids.faulty) ||
      top?.dimension === "qa_flag" ||
      top?.dimension === "qa_verdict";
    expect(faultyFirst, JSON.stringify(report.causes.slice(0, 3))).toBe(true);
    expect(report.causes.find((c) => c.dimension === "capture")?.value).toBe(ids.faulty);
  }, 600_000);
});
