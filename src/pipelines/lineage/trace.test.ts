import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Catalog } from "../../catalog/index.ts";
import { LocalBlobStore } from "../../storage/index.ts";
import { createDatasetVersion } from "../datasets/store.ts";
import { catalogBackends, type TestCatalog } from "../datasets/test-catalogs.ts";
import { ingestPath } from "../ingest/index.ts";
import { verifyBlob } from "./blob.ts";
import { lineageGraph, traceLineage } from "./trace.ts";
import type { LineageGraph } from "./types.ts";

const BAG = "/work/shared/fixtures/ros1/example.bag";

function node(graph: LineageGraph, kind: string, key?: string) {
  return graph.nodes.find((n) => n.kind === kind && (key === undefined || n.key === key));
}

function hasEdge(graph: LineageGraph, from: string, to: string, relation: string): boolean {
  return graph.edges.some((e) => e.from === from && e.to === to && e.relation === relation);
}

for (const backend of catalogBackends()) {
  describe(`lineage trace (${backend.name})`, () => {
    let test: TestCatalog;
    let catalog: Catalog;
    let dir: string;
    let blobs: LocalBlobStore;
    let captureId: string;
    let sha256: string;
    let versionId: string;

    beforeEach(async () => {
      test = await backend.open();
      catalog = test.catalog;
      dir = await mkdtemp(path.join(tmpdir(), "strata-lineage-"));
      blobs = new LocalBlobStore(path.join(dir, "blobs"));
      const ingested = await ingestPath(
        BAG,
        { actor: "test", rig: "rig-7", site: "lab" },
        { catalog, blobs, codeVersion: "0.1.0" },
      );
      captureId = ingested.captureId;
      sha256 = ingested.sha256;
      const capture = await catalog.getCapture(captureId);
      const qa = await catalog.startRun({ kind: "qa", inputs: [{ captureId }], codeVersion: "0.1.0" });
      await catalog.finishRun(qa.runId, {
        status: "completed",
        outputs: [{ captureId, verdict: "warn", reasons: [{ check: "rate", topic: "/rosout" }] }],
      });
      const calib = await catalog.startRun({
        kind: "calibration",
        inputs: [{ captureId }],
        codeVersion: "0.1.0",
      });
      await catalog.finishRun(calib.runId, {
        status: "completed",
        outputs: [{ captureId, calibrationVersion: "calib_rig7_v3" }],
      });
      const startNs = capture?.startNs ?? 0n;
      const { version } = await createDatasetVersion(
        {
          name: "bags",
          fromScenes: [
            { sceneId: "scn_a", captureId, startNs, endNs: startNs + 1_000_000_000n },
            {
              sceneId: "scn_b",
              captureId,
              startNs: startNs + 2_000_000_000n,
              endNs: startNs + 3_000_000_000n,
            },
          ],
          splitPolicy: { ratios: { train: 1, val: 0, test: 0 }, groupBy: "capture", seed: "" },
          actor: "test",
        },
        { catalog, codeVersion: "0.1.0" },
      );
      versionId = version.versionId;
    });
    afterEach(async () => {
      await test.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it("walks a materialised sample back to the raw blob, whose bytes re-hash to the recorded SHA-256", async () => {
      const sampleId = `${versionId}/1`;
      const graph = await traceLineage(sampleId, { catalog, blobs });
      expect(graph.rootId).toBe(`sample:${sampleId}`);
      expect(graph.truncated).toBe(false);
      expect(node(graph, "sample")?.attributes).toMatchObject({
        captureId,
        split: "train",
        sceneId: "scn_b",
      });

      const ingestRun = (await catalog.listRuns({ kind: "ingest" }))[0];
      const recorded = (ingestRun?.inputs as Array<{ sha256: string; files: Array<{ sha256: string }> }>)[0];
      const blob = node(graph, "blob", recorded?.files[0]?.sha256);
      expect(blob?.key).toBe(sha256);
      expect(blob?.attributes).toMatchObject({ verified: true, actualSha256: sha256 });

      // The path: blob → ingest run → capture → sample, blob → capture (file), version → sample.
      expect(hasEdge(graph, `blob:${sha256}`, `run:${ingestRun?.runId}`, "input")).toBe(true);
      expect(hasEdge(graph, `run:${ingestRun?.runId}`, `capture:${captureId}`, "output")).toBe(true);
      expect(hasEdge(graph, `blob:${sha256}`, `capture:${captureId}`, "file")).toBe(true);
      expect(hasEdge(graph, `capture:${captureId}`, `sample:${sampleId}`, "window")).toBe(true);
      expect(hasEdge(graph, `dataset_version:${versionId}`, `sample:${sampleId}`, "member")).toBe(true);
      // Calibration and QA verdict, each linked to the run that established it; the dataset build run.
      expect(node(graph, "calibration", "calib_rig7_v3")).toBeDefined();
      expect(node(graph, "qa_verdict")?.attributes).toMatchObject({ verdict: "warn", flags: ["rate"] });
      const kinds = graph.nodes.filter((n) => n.kind === "run").map((n) => n.attributes.kind);
      expect(kinds.sort()).toEqual(["calibration", "dataset", "ingest", "qa"]);
      expect(node(graph, "capture", captureId)?.attributes).toMatchObject({
        sha256,
        rig: "rig-7",
        site: "lab",
      });

      const check = await verifyBlob(sha256, blobs);
      expect(check).toEqual({
        sha256,
        ok: true,
        actualSha256: sha256,
        sizeBytes: (await readFile(BAG)).length,
      });
    });

    it("notices a blob whose bytes changed", async () => {
      const file = blobs.path(sha256);
      const bytes = await readFile(file);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
      await chmod(file, 0o644);
      await writeFile(file, bytes);
      const check = await verifyBlob(sha256, blobs);
      expect(check.ok).toBe(false);
      expect(check.actualSha256).not.toBe(sha256);
      const graph = await traceLineage(captureId, { catalog, blobs });
      expect(node(graph, "blob", sha256)?.attributes.verified).toBe(false);
      const missing = await verifyBlob("0".repeat(64), blobs);
      expect(missing).toMatchObject({ ok: false, actualSha256: null });
      expect(missing.error).toMatch(/STRATA_E_NOT_FOUND/);
    });

    it("traces from a version, a capture SHA-256 and a run, and names unknown targets", async () => {
      const fromVersion = await traceLineage(versionId, { catalog });
      expect(node(fromVersion, "blob", sha256)).toBeDefined();
      expect(node(fromVersion, "sample")).toBeUndefined();
      const fromSha = await traceLineage(sha256, { catalog });
      expect(fromSha.rootId).toBe(`capture:${captureId}`);
      expect(node(fromSha, "dataset_version")).toBeUndefined();
      const run = (await catalog.listRuns({ kind: "ingest" }))[0];
      const fromRun = await traceLineage(run?.runId ?? "", { catalog });
      expect(fromRun.nodes.map((n) => n.kind)).toEqual(["run", "blob"]);
      await expect(traceLineage(`${versionId}/2`, { catalog })).rejects.toMatchObject({
        code: "STRATA_E_NOT_FOUND",
      });
      await expect(traceLineage("cap_nope", { catalog })).rejects.toMatchObject({
        code: "STRATA_E_NOT_FOUND",
      });
      await expect(traceLineage("run_nope", { catalog })).rejects.toMatchObject({
        code: "STRATA_E_NOT_FOUND",
      });
    });

    it("stops at maxNodes and says so", async () => {
      const graph = await traceLineage(`${versionId}/0`, { catalog }, { maxNodes: 3 });
      expect(graph.nodes).toHaveLength(3);
      expect(graph.truncated).toBe(true);
    });

    it("draws the whole catalog as JSON and DOT", async () => {
      const graph = await lineageGraph({ catalog });
      expect(graph.rootId).toBeNull();
      expect(graph.nodes.filter((n) => n.kind === "run")).toHaveLength(4);
      expect(node(graph, "dataset_version", versionId)).toBeDefined();
      // In the whole graph, runs also link to their outputs.
      const datasetRun = graph.nodes.find((n) => n.kind === "run" && n.attributes.kind === "dataset");
      expect(hasEdge(graph, datasetRun?.id ?? "", `dataset_version:${versionId}`, "output")).toBe(true);
      const dot = await lineageGraph({ catalog }, { format: "dot" });
      expect(dot.startsWith("digraph lineage {")).toBe(true);
      expect(dot).toContain(`"blob:${sha256}" -> "capture:${captureId}" [label="file"];`);
      expect(dot.trimEnd().endsWith("}")).toBe(true);
    });
  });
}
