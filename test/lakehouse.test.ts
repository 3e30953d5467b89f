/**
 * Parquet lakehouse end to end: a synthetic capture and two small MCAP captures are ingested into a real
 * home; `strata export parquet` (the real CLI) writes the lakehouse; DuckDB (@duckdb/node-api) reads it with
 * Hive partitioning and returns the catalog's counts (captures, topics, messages per topic, poses, runs);
 * the site/date partitions exist; an incremental run adds only the new capture, leaving earlier files as
 * they were; lineage and audit are recorded.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStrata, exportLakehouse, resolveConfig, type Strata } from "../src/app/index.ts";
import { writeTestCapture } from "../src/pipelines/export/test-support.ts";
import { generateCapture } from "../src/pipelines/index.ts";
import { json, strata as strataCli, tempDir } from "./helpers.ts";

let home: string;
let work: ReturnType<typeof tempDir>;
let strata: Strata;
let lake: string;

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create();
  const connection = await db.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

const table = (name: string) => `read_parquet('${lake}/${name}/**/*.parquet', hive_partitioning = true)`;

/** Every file under a directory with its size and mtime. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const s = statSync(file);
    out.set(path.relative(dir, file), `${s.size}:${s.mtimeMs}`);
  }
  return out;
}

/** The catalog's view: captures, topics with message counts, poses, runs. */
async function catalogCounts(s: Strata) {
  const captures = await s.catalog.listCaptures({ limit: 10_000 });
  const topics = new Map<string, bigint>();
  for (const c of captures) {
    for (const t of await s.catalog.listTopics(c.captureId))
      topics.set(`${c.captureId} ${t.topic}`, t.messageCount);
  }
  const poses = await s.catalog.db.selectFrom("trajectories").select(["pose_count"]).execute();
  return {
    captures: captures.length,
    topics,
    poses: poses.reduce((n, r) => n + Number(r.pose_count), 0),
  };
}

async function lakehouseTopicCounts(): Promise<Map<string, bigint>> {
  const rows = await query(`select capture_id, topic, message_count from ${table("topics")}`);
  return new Map(rows.map((r) => [`${r.capture_id} ${r.topic}`, BigInt(String(r.message_count))]));
}

beforeAll(async () => {
  work = tempDir("strata-lakehouse-");
  home = path.join(work.dir, "home");
  lake = path.join(work.dir, "lake");
  strata = await createStrata(resolveConfig({ home }));
  const synth = await generateCapture({ outPath: path.join(work.dir, "drive.mcap"), seconds: 3, seed: 11 });
  await strata.ingest(synth.path, { rig: "rig-a", site: "sf" });
  await writeTestCapture(path.join(work.dir, "small.mcap"), { durationSecs: 2 });
  await strata.ingest(path.join(work.dir, "small.mcap"), { rig: "rig-b", site: "munich" });
}, 240_000);

afterAll(async () => {
  await strata?.close();
  work?.cleanup();
});

describe("strata export parquet", () => {
  it("writes tables DuckDB reads with the catalog's counts", async () => {
    const result = json<{
      mode: string;
      captureIds: string[];
      runId: string;
      tables: Array<{ name: string }>;
    }>(strataCli(["export", "parquet", "--out", lake, "--json"], home));
    expect(result.mode).toBe("full");
    expect(result.captureIds).toHaveLength(2);
    const expected = await catalogCounts(strata);

    expect(await query(`select count(*) as n from ${table("captures")}`)).toEqual([
      { n: String(expected.captures) },
    ]);
    expect(await lakehouseTopicCounts()).toEqual(expected.topics);
    expect(await query(`select count(*) as n from ${table("trajectory_poses")}`)).toEqual([
      { n: String(expected.poses) },
    ]);
    // Messages per topic also add up to each capture's message count.
    const sums = await query(
      `select c.capture_id, c.message_count, sum(t.message_count) as total from ${table("captures")} c join ${table("topics")} t using (capture_id) group by all order by 1`,
    );
    for (const r of sums) expect(String(r.total)).toBe(String(r.message_count));
    // Calibrations and QA verdicts of the synthetic capture, joined through the documented keys.
    const joined = await query(
      `select c.site, k.camera_count from ${table("captures")} c join ${table("calibrations")} k using (calibration_id)`,
    );
    expect(joined).toEqual([{ site: "sf", camera_count: "2" }]);
    const qa = await strata.catalog.db.selectFrom("qa_results").select(["run_id"]).execute();
    expect(await query(`select count(*) as n from ${table("qa_results")}`)).toEqual([
      { n: String(qa.length) },
    ]);
    // Runs: every run in the catalog at export time (this export's own run included, as running).
    const runs = await query(`select run_id, status from ${table("runs")}`);
    const catalogRuns = await strata.catalog.listRuns({ limit: 10_000 });
    expect(runs.length).toBe(catalogRuns.length);
    expect(runs.find((r) => r.run_id === result.runId)?.status).toBe("running");
  });

  it("partitions capture tables by site and date (Hive style) and documents the schema", () => {
    for (const t of ["captures", "topics"]) {
      expect(readdirSync(path.join(lake, t)).sort()).toEqual(["site=munich", "site=sf"]);
      expect(readdirSync(path.join(lake, t, "site=sf"))).toEqual(["date=2026-01-01"]);
      expect(readdirSync(path.join(lake, t, "site=munich"))).toEqual(["date=2023-11-14"]);
    }
    // Only the synthetic capture has ego motion.
    for (const t of ["trajectories", "trajectory_poses"]) {
      expect(readdirSync(path.join(lake, t))).toEqual(["site=sf"]);
      expect(readdirSync(path.join(lake, t, "site=sf"))).toEqual(["date=2026-01-01"]);
    }
    expect(readdirSync(path.join(lake, "runs"))[0]).toMatch(/^date=\d{4}-\d{2}-\d{2}$/);
    const manifest = JSON.parse(readFileSync(path.join(lake, "_strata_lakehouse.json"), "utf8")) as {
      schemaVersion: number;
      tables: Array<{
        name: string;
        partitionBy: string[];
        columns: Array<{ name: string; description: string }>;
      }>;
    };
    expect(manifest.schemaVersion).toBe(1);
    const captures = manifest.tables.find((t) => t.name === "captures");
    expect(captures?.partitionBy).toEqual(["site", "date"]);
    expect(captures?.columns.every((c) => c.description.length > 0)).toBe(true);
  });

  it("adds only new captures on an incremental run", async () => {
    const before = snapshot(lake);
    const third = path.join(work.dir, "third.mcap");
    await writeTestCapture(third, { durationSecs: 3 });
    const ingested = await strata.ingest(third, { rig: "rig-b", site: "munich" });

    const result = await exportLakehouse(strata, { out: lake, incremental: true });
    expect(result.mode).toBe("incremental");
    expect(result.captureIds).toEqual([ingested.captureId]);
    const after = snapshot(lake);
    // Every capture-table file of the first run is still there, unchanged; the new ones carry the new run id.
    for (const [file, stamp] of before) {
      if (/^(captures|topics|trajectories|trajectory_poses)\//.test(file))
        expect(after.get(file), file).toBe(stamp);
    }
    const added = [...after.keys()].filter((f) => !before.has(f) && f.startsWith("topics/"));
    expect(added.length).toBeGreaterThan(0);
    expect(
      added.every((f) => f.includes(`part-${result.runId}-`) && f.startsWith("topics/site=munich/")),
    ).toBe(true);

    const expected = await catalogCounts(strata);
    expect(
      await query(`select count(*) as n, count(distinct capture_id) as d from ${table("captures")}`),
    ).toEqual([{ n: String(expected.captures), d: String(expected.captures) }]);
    expect(await lakehouseTopicCounts()).toEqual(expected.topics);

    // Nothing new: nothing appended.
    const again = await exportLakehouse(strata, { out: lake, incremental: true });
    expect(again.captureIds).toEqual([]);
    expect(again.tables.find((t) => t.name === "topics")?.rowsWritten).toBe(0);
    expect(await lakehouseTopicCounts()).toEqual(expected.topics);
  });

  it("records a lineage run and an audit event per export", async () => {
    const runs = await strata.catalog.listRuns({ kind: "export.parquet", limit: 10 });
    expect(runs).toHaveLength(3);
    expect(runs.every((r) => r.status === "completed" && r.codeVersion.startsWith("strata@"))).toBe(true);
    const audit = await strata.catalog.listAudit({ action: "lakehouse.export", limit: 10 });
    expect(audit).toHaveLength(3);
    expect(audit.map((a) => a.details.runId)).toEqual([...runs].reverse().map((r) => r.runId));
  });
});
