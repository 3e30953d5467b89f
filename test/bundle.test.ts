/**
 * Portability bundle and legacy import. The round trip runs through the real CLI: export → import into
 * an empty home → export again gives a byte-identical manifest; the restored home holds the same rows,
 * blobs and a verifying audit chain, and exports the same window bytes. Tampered bundles and non-empty
 * homes are refused before anything is written. Legacy logs keep their sidecar provenance.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createStrata,
  exportCaptureWindow,
  exportHomeBundle,
  importHomeBundle,
  importLegacyDirectory,
  resolveConfig,
  type Strata,
} from "../src/app/index.ts";
import { canonicalJson, sha256Hex } from "../src/core/index.ts";
import type { BundleManifest } from "../src/pipelines/index.ts";
import { writeTestCapture } from "../src/pipelines/export/test-support.ts";
import { fixtures, json, strata as strataCli, tempDir } from "./helpers.ts";

const open = (home: string) => createStrata(resolveConfig({ home, env: {} }));

/** Every row of every table a bundle carries, as canonical JSON lines per table. */
async function dump(strata: Strata, manifest: BundleManifest): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of manifest.tables) {
    const rows = (await strata.catalog.db
      .selectFrom(table.name as "captures")
      .selectAll()
      .execute()) as Record<string, unknown>[];
    out[table.name] = rows.map((r) => canonicalJson(r)).sort();
  }
  return out;
}

describe("portability bundle", () => {
  let dir: string;
  let cleanup: () => void;
  let homeA: string;
  let a: Strata;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir("strata-bundle-"));
    homeA = path.join(dir, "home-a");
    a = await open(homeA);
    const synthetic = path.join(dir, "synthetic.mcap");
    await writeTestCapture(synthetic, { durationSecs: 4 });
    ids.synthetic = (await a.ingest(synthetic, { rig: "test-7", site: "lab" })).captureId;
    ids.nav2 = (await a.ingest(path.join(fixtures, "rosbag2/evo/nav2_turtlebot.mcap"))).captureId;
    ids.ros1 = (await a.ingest(path.join(fixtures, "ros1/example.bag"), { site: "berlin" })).captureId;
    // A multi-file capture (ROS 2 bag directory, five .db3 files + metadata.yaml).
    ids.ros2 = (await a.ingest(path.join(fixtures, "rosbag2/rosbag2_py/sqlite3/wbag"))).captureId;
    await exportCaptureWindow(a, {
      capture: ids.synthetic,
      format: "mcap",
      start: "+1s",
      end: "+2s",
      out: path.join(dir, "a-window.mcap"),
    });
    // A dataset with a parent and a child version created in the same instant (restore order matters).
    const atNs = 1_750_000_000_000_000_000n;
    await a.catalog.db
      .insertInto("datasets")
      .values({ name: "ds", created_at_ns: atNs, created_by: "test" })
      .execute();
    const manifest = (captureId: string, parent: string | null) =>
      canonicalJson({
        datasetName: "ds",
        items: [{ captureId, startNs: "0", endNs: "1", topics: [], split: "train" }],
        parent,
      });
    const parentManifest = manifest(ids.synthetic, null);
    const parentId = `dsv_${sha256Hex(parentManifest)}`;
    const childManifest = manifest(ids.ros1, parentId);
    // The child's id sorts before the parent's, so an id-ordered restore would break the foreign key.
    const childId = `dsv_0${sha256Hex(childManifest).slice(1)}`;
    await a.catalog.db
      .insertInto("dataset_versions")
      .values([
        {
          version_id: parentId,
          dataset: "ds",
          parent: null,
          manifest: parentManifest,
          created_at_ns: atNs,
          created_by: "test",
        },
        {
          version_id: childId,
          dataset: "ds",
          parent: parentId,
          manifest: childManifest,
          created_at_ns: atNs,
          created_by: "test",
        },
      ])
      .execute();
  });
  afterAll(async () => {
    await a.close();
    cleanup();
  });

  it("round-trips through the CLI: export → import into an empty home → export gives an identical manifest", async () => {
    const first = path.join(dir, "bundle-1");
    const second = path.join(dir, "bundle-2");
    const homeB = path.join(dir, "home-b");
    const exported = json<{ manifestSha256: string; runId: string; manifest: BundleManifest }>(
      strataCli(["export", "bundle", "--all", "--out", first, "--json"], homeA),
    );
    const imported = json<{ manifestSha256: string; blobs: number; audit: { events: number } }>(
      strataCli(["import", "bundle", first, "--json"], homeB),
    );
    expect(imported.manifestSha256).toBe(exported.manifestSha256);
    const again = json<{ manifestSha256: string }>(
      strataCli(["export", "bundle", "--out", second, "--json"], homeB),
    );
    expect(again.manifestSha256).toBe(exported.manifestSha256);
    expect(readFileSync(path.join(second, "manifest.json"))).toEqual(
      readFileSync(path.join(first, "manifest.json")),
    );

    // What the manifest holds: every capture file as a blob, the tables, the audit head.
    const manifest = JSON.parse(readFileSync(path.join(first, "manifest.json"), "utf8")) as BundleManifest;
    const tables = Object.fromEntries(manifest.tables.map((t) => [t.name, t.rows]));
    expect(tables.captures).toBe(4);
    expect(tables.capture_files).toBe(4 + 5); // three one-file captures + metadata.yaml and five .db3 files
    expect(tables.datasets).toBe(1);
    expect(tables.dataset_versions).toBe(2);
    expect(tables.runs).toBeGreaterThanOrEqual(5); // four ingests and the window export
    expect(tables.api_tokens).toBeUndefined();
    expect(manifest.excludedTables).toEqual(["api_tokens"]);
    expect(manifest.blobs.length).toBe(3 + 6);
    expect(imported.blobs).toBe(manifest.blobs.length);
    for (const blob of manifest.blobs) {
      expect(sha256Hex(readFileSync(path.join(first, blob.path)))).toBe(blob.sha256);
    }
    for (const table of manifest.tables) {
      const text = readFileSync(path.join(first, table.path), "utf8");
      expect(sha256Hex(text)).toBe(table.sha256);
      expect(text.split("\n").filter((l) => l !== "").length).toBe(table.rows);
    }

    // The restored home holds the same rows (the bundle export's own run and audit event came after).
    const b = await open(homeB);
    try {
      const rowsA = await dump(a, manifest);
      const rowsB = await dump(b, manifest);
      for (const table of manifest.tables) {
        if (table.name === "runs" || table.name === "audit_events") {
          // Each home also holds its own bundle export's run and audit event, recorded after the snapshot.
          expect(rowsA[table.name]?.length).toBe(table.rows + 1);
          expect(rowsB[table.name]?.length).toBe(table.rows + 1);
          expect(rowsB[table.name]?.filter((r) => rowsA[table.name]?.includes(r)).length).toBe(table.rows);
        } else {
          expect(rowsB[table.name]).toEqual(rowsA[table.name]);
        }
      }
      // The restored chain verifies, ends where the manifest says, and goes on from there.
      expect(await b.catalog.verifyAuditChain()).toMatchObject({
        ok: true,
        eventCount: manifest.audit.events + 1,
      });
      const restored = await b.catalog.listAudit({ limit: manifest.audit.events, order: "asc" });
      expect(restored.at(-1)?.hash).toBe(manifest.audit.headHash);
      const [next] = await b.catalog.listAudit({ limit: 1, order: "desc" });
      expect(next).toMatchObject({ action: "bundle.export", prevHash: manifest.audit.headHash });
      // The export run and audit event of the first export are in home A.
      expect((await a.catalog.getRun(exported.runId))?.kind).toBe("export.bundle");
      const [event] = await a.catalog.listAudit({ action: "bundle.export", order: "desc", limit: 1 });
      expect(event?.details).toMatchObject({ manifestSha256: exported.manifestSha256 });

      // Restored data is usable: the same windows export to the same bytes in both homes.
      // (The ROS 2 bag spans 2 µs: its window is the whole capture.)
      for (const [captureId, start, end] of [
        [ids.synthetic, "+0.5s", "+1.5s"],
        [ids.ros1, "+0.5s", "+1.5s"],
        [ids.ros2, undefined, undefined],
      ] as const) {
        const request = { capture: captureId ?? "", format: "mcap" as const, start, end };
        const fromA = await exportCaptureWindow(a, {
          ...request,
          out: path.join(dir, `a-${captureId}.mcap`),
        });
        const fromB = await exportCaptureWindow(b, {
          ...request,
          out: path.join(dir, `b-${captureId}.mcap`),
        });
        expect(fromB.result.sha256).toBe(fromA.result.sha256);
        expect(fromB.result.messageCount).toBeGreaterThan(0);
      }
    } finally {
      await b.close();
    }
  });

  it("refuses a tampered bundle and a non-empty home before writing anything", async () => {
    const bundle = path.join(dir, "bundle-tamper");
    const result = await exportHomeBundle(a, { out: bundle });
    const blob = result.manifest.blobs[0];
    if (!blob) throw new Error("no blob");
    const file = path.join(bundle, blob.path);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    const homeC = path.join(dir, "home-c");
    const c = await open(homeC);
    try {
      await expect(importHomeBundle(c, { dir: bundle })).rejects.toMatchObject({
        code: "STRATA_E_CRC_MISMATCH",
      });
      expect(await c.catalog.countCaptures()).toBe(0);
      expect(readdirSync(path.join(homeC))).not.toContain("blobs");
    } finally {
      await c.close();
    }
    // Into a home that already has data: refused, nothing changes.
    const clean = path.join(dir, "bundle-clean");
    await exportHomeBundle(a, { out: clean });
    const before = await a.catalog.counts();
    await expect(importHomeBundle(a, { dir: clean })).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
    expect(await a.catalog.counts()).toEqual(before);
    // And the output directory of an export must be new or empty.
    await expect(exportHomeBundle(a, { out: clean })).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
  });

  it("exports one dataset: its captures, blobs and rows only, and round-trips too", async () => {
    const bundle = path.join(dir, "bundle-ds");
    const result = await exportHomeBundle(a, { out: bundle, datasets: ["ds"] });
    const tables = Object.fromEntries(result.manifest.tables.map((t) => [t.name, t.rows]));
    expect(tables.captures).toBe(2); // synthetic + ros1, named by the two versions
    expect(tables.dataset_versions).toBe(2);
    const captures = readFileSync(path.join(bundle, "catalog/captures.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { capture_id: string }).capture_id)
      .sort();
    expect(captures).toEqual([ids.synthetic, ids.ros1].sort());
    expect(result.manifest.blobs.length).toBe(2);
    // Schemas first seen in captures outside the bundle keep existing, without the dangling reference.
    for (const line of readFileSync(path.join(bundle, "catalog/schemas.jsonl"), "utf8").trim().split("\n")) {
      const row = JSON.parse(line) as { first_capture_id: string | null };
      if (row.first_capture_id !== null) expect(captures).toContain(row.first_capture_id);
    }
    await expect(exportHomeBundle(a, { out: path.join(dir, "x"), datasets: ["nope"] })).rejects.toMatchObject(
      {
        code: "STRATA_E_NOT_FOUND",
      },
    );

    const homeD = path.join(dir, "home-d");
    const d = await open(homeD);
    try {
      await importHomeBundle(d, { dir: bundle });
      const again = await exportHomeBundle(d, { out: path.join(dir, "bundle-ds-2"), datasets: ["ds"] });
      expect(again.manifestSha256).toBe(result.manifestSha256);
    } finally {
      await d.close();
    }
  });
});

describe("legacy import", () => {
  let dir: string;
  let cleanup: () => void;
  let strata: Strata;

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir("strata-legacy-"));
    strata = await open(path.join(dir, "home"));
  });
  afterAll(async () => {
    await strata.close();
    cleanup();
  });

  it("ingests a directory of bags with their provenance sidecar and keeps the provenance", async () => {
    const legacy = path.join(dir, "old-system");
    mkdirSync(legacy);
    copyFileSync(path.join(fixtures, "ros1/example.bag"), path.join(legacy, "run-17.bag"));
    copyFileSync(path.join(fixtures, "rosbag2/evo/nav2_turtlebot.mcap"), path.join(legacy, "nav.mcap"));
    writeFileSync(path.join(legacy, "README.txt"), "exported from the old fleet logger\n");
    writeFileSync(
      path.join(legacy, "provenance.yaml"),
      [
        "source_system: fleetlog-v1",
        "original_root: /mnt/fleet/2019",
        "collection_date: 2019-05-01",
        "operator: j.doe",
        "site: hamburg",
        "files:",
        "  nav.mcap:",
        "    collection_date: 2019-05-03T10:15:00Z",
        "    ticket: OPS-42",
      ].join("\n"),
    );
    writeFileSync(
      path.join(legacy, "run-17.bag.provenance.json"),
      JSON.stringify({ operator: "a.smith", originalPath: "/data/robots/r17/2019-05-01.bag", rig: "r17" }),
    );

    const result = await importLegacyDirectory(strata, { dir: legacy });
    expect(result.outcomes.map((o) => [o.name, o.status])).toEqual([
      ["nav.mcap", "ingested"],
      ["run-17.bag", "ingested"],
    ]);
    expect(result.plan.skipped.map((s) => s.name)).toEqual(["README.txt"]);

    const bag = await strata.catalog.getCapture(result.outcomes[1]?.captureId ?? "");
    expect(bag?.rig).toBe("r17");
    expect(bag?.site).toBe("hamburg");
    expect(bag?.provenance.legacy).toMatchObject({
      sourceSystem: "fleetlog-v1",
      originalPath: "/data/robots/r17/2019-05-01.bag",
      collectionDate: "2019-05-01",
      operator: "a.smith",
    });
    const nav = await strata.catalog.getCapture(result.outcomes[0]?.captureId ?? "");
    expect(nav?.provenance.legacy).toMatchObject({
      sourceSystem: "fleetlog-v1",
      originalPath: "/mnt/fleet/2019/nav.mcap",
      collectionDate: "2019-05-03T10:15:00Z",
      operator: "j.doe",
      ticket: "OPS-42",
    });
    // Ingest's own provenance (profile, library) sits beside it.
    expect(nav?.provenance.profile).toBe("ros2");
    const run = await strata.catalog.getRun(result.runId);
    expect(run).toMatchObject({ kind: "import.legacy", status: "completed" });
    const [event] = await strata.catalog.listAudit({ action: "import.legacy", order: "desc", limit: 1 });
    expect(event?.details).toMatchObject({ ingested: 2, failed: 0 });

    // The provenance travels in a bundle.
    const bundle = path.join(dir, "bundle");
    await exportHomeBundle(strata, { out: bundle });
    expect(readFileSync(path.join(bundle, "catalog/captures.jsonl"), "utf8")).toContain("fleetlog-v1");
  });

  it("stops before ingesting anything when a log's provenance is incomplete", async () => {
    const legacy = path.join(dir, "incomplete");
    mkdirSync(legacy);
    copyFileSync(path.join(fixtures, "ros1/tf_example.bag"), path.join(legacy, "tf.bag"));
    writeFileSync(path.join(legacy, "provenance.json"), JSON.stringify({ sourceSystem: "x", operator: "y" }));
    const before = await strata.catalog.countCaptures();
    await expect(importLegacyDirectory(strata, { dir: legacy })).rejects.toMatchObject({
      code: "STRATA_E_USAGE",
      message: expect.stringContaining("originalPath, collectionDate"),
    });
    expect(await strata.catalog.countCaptures()).toBe(before);
  });
});
