/**
 * Lakehouse tables from a real (in-memory SQLite) catalog: scenes, long-form scene features and scene-graph
 * relations (from a graph store behind the SceneGraphStore interface), Hive partitions, the manifest's
 * schema matching the Parquet files, refusal of foreign directories, and incremental append.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Catalog, openCatalog } from "../../catalog/index.ts";
import { canonicalJson, captureIdFromSha256, sha256Hex } from "../../core/index.ts";
import type { SceneGraph } from "../../search/index.ts";
import {
  executeLakehouseExport,
  LAKEHOUSE_MANIFEST_FILE,
  type LakehouseManifest,
  type LakehouseSource,
  partitionDate,
  planLakehouseExport,
} from "./parquet.ts";

const DAY_NS = 86_400_000_000_000n;
const START_NS = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

let dir: string;
let catalog: Catalog;
const graphs = new Map<string, SceneGraph>();
const source = (): LakehouseSource => ({ catalog, sceneGraphs: { get: async (id) => graphs.get(id) } });

async function addCapture(label: string, site: string | null, startNs: bigint): Promise<string> {
  const sha256 = sha256Hex(label);
  const captureId = captureIdFromSha256(sha256);
  await catalog.insertCapture({
    sha256,
    format: "mcap",
    sizeBytes: 1000,
    startNs,
    endNs: startNs + 10_000_000_000n,
    messageCount: 30,
    site,
    rig: "rig-a",
  });
  await catalog.insertTopics([
    {
      captureId,
      topic: "/odom",
      schemaName: "nav_msgs/msg/Odometry",
      messageEncoding: "cdr",
      messageCount: 20,
    },
    { captureId, topic: "/imu", schemaName: "sensor_msgs/msg/Imu", messageEncoding: "cdr", messageCount: 10 },
  ]);
  const sceneId = `scn_${label}`;
  await catalog.db
    .insertInto("scenes")
    .values({
      scene_id: sceneId,
      capture_id: captureId,
      start_ns: startNs,
      end_ns: startNs + 5_000_000_000n,
      kind: "fixed",
      tags: canonicalJson(["night", "pedestrian"]),
      features: canonicalJson({
        egoSource: "odom:/odom",
        features: { speed_mean_mps: 3.5, stops: 1, ttc_min_s: null },
      }),
      run_id: null,
      created_at_ns: startNs,
    })
    .execute();
  graphs.set(sceneId, {
    sceneId,
    captureId,
    nodes: [
      { nodeId: "ego", kind: "ego", agentClass: "ego", trackId: null },
      { nodeId: "pedestrian/7", kind: "agent", agentClass: "pedestrian", trackId: "7" },
    ],
    relations: [
      {
        subjectNodeId: "pedestrian/7",
        relation: "crossing_path",
        objectNodeId: "ego",
        startNs: startNs + 1_000_000_000n,
        endNs: startNs + 2_000_000_000n,
        minDistanceM: 4.25,
      },
    ],
  });
  return captureId;
}

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

const table = (name: string) =>
  `read_parquet('${path.join(dir, "lake", name)}/**/*.parquet', hive_partitioning = true)`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "strata-lakehouse-unit-"));
  catalog = await openCatalog({ kind: "sqlite", path: ":memory:" });
  await addCapture("a", "sf", START_NS);
  await addCapture("b", null, START_NS + DAY_NS);
});

afterAll(async () => {
  await catalog.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("lakehouse export (unit)", () => {
  it("writes scenes, long-form features and scene-graph relations, partitioned by site and date", async () => {
    const out = path.join(dir, "lake");
    const plan = await planLakehouseExport(source(), { outDir: out, runId: "run_first" });
    expect(plan.tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(["captures", "topics", "scenes", "scene_features", "scene_relations", "runs"]),
    );
    const result = await executeLakehouseExport(plan, source());
    expect(result.captureIds).toHaveLength(2);

    const scenes = await query(
      `select scene_id, site, cast(date as varchar) as date, tags, ego_source from ${table("scenes")} order by scene_id`,
    );
    expect(scenes).toEqual([
      {
        scene_id: "scn_a",
        site: "sf",
        date: "2026-01-01",
        tags: ["night", "pedestrian"],
        ego_source: "odom:/odom",
      },
      {
        scene_id: "scn_b",
        site: null,
        date: "2026-01-02",
        tags: ["night", "pedestrian"],
        ego_source: "odom:/odom",
      },
    ]);
    const features = await query(
      `select feature, value, value_text from ${table("scene_features")} where scene_id = 'scn_a' order by feature`,
    );
    expect(features).toEqual([
      { feature: "speed_mean_mps", value: 3.5, value_text: null },
      { feature: "stops", value: 1, value_text: null },
      { feature: "ttc_min_s", value: null, value_text: null },
    ]);
    const relations = await query(
      `select subject_class, subject_track_id, relation, object_class, min_distance_m, end_ns - start_ns as span_ns from ${table("scene_relations")} order by scene_id`,
    );
    expect(relations).toHaveLength(2);
    expect(relations[0]).toEqual({
      subject_class: "pedestrian",
      subject_track_id: "7",
      relation: "crossing_path",
      object_class: "ego",
      min_distance_m: 4.25,
      span_ns: "1000000000",
    });
    // A capture without a site goes to Hive's null partition.
    const nullSite = await query(`select count(*) as n from ${table("captures")} where site is null`);
    expect(nullSite).toEqual([{ n: "1" }]);
    expect(partitionDate(START_NS)).toBe("2026-01-01");
  });

  it("writes every column the manifest documents, with the documented types", async () => {
    const manifest = JSON.parse(
      await import("node:fs/promises").then((fs) =>
        fs.readFile(path.join(dir, "lake", LAKEHOUSE_MANIFEST_FILE), "utf8"),
      ),
    ) as LakehouseManifest;
    for (const t of manifest.tables.filter((t) => t.rows > 0)) {
      const described = await query(`describe select * from ${table(t.name)}`);
      const expected = [
        ...t.columns.map((c) => ({ name: c.name, type: c.type })),
        ...t.partitionBy.map((p) => ({ name: p, type: p === "date" ? "DATE" : "VARCHAR" })),
      ];
      const actual = described.map((d) => ({ name: d.column_name, type: d.column_type }));
      expect(new Set(actual.map((a) => JSON.stringify(a))), t.name).toEqual(
        new Set(expected.map((e) => JSON.stringify(e))),
      );
    }
  });

  it("appends only new captures on an incremental run, and rewrites everything otherwise", async () => {
    const out = path.join(dir, "lake");
    await addCapture("c", "sf", START_NS);
    const plan = await planLakehouseExport(source(), { outDir: out, runId: "run_second", incremental: true });
    expect(plan.mode).toBe("incremental");
    const result = await executeLakehouseExport(plan, source());
    expect(result.captureIds).toEqual([captureIdFromSha256(sha256Hex("c"))]);
    expect(
      await query(`select count(*) as n, count(distinct capture_id) as d from ${table("captures")}`),
    ).toEqual([{ n: "3", d: "3" }]);
    expect(await query(`select count(*) as n from ${table("scene_relations")}`)).toEqual([{ n: "3" }]);

    const full = await executeLakehouseExport(
      await planLakehouseExport(source(), { outDir: out, runId: "run_third" }),
      source(),
    );
    expect(full.mode).toBe("full");
    // One file per partition (sf/2026-01-01 holds a and c; the null site b), nothing left of earlier runs.
    expect(
      await query(
        `select count(*) as n, count(distinct filename) as files from read_parquet('${out}/topics/**/*.parquet', filename = true)`,
      ),
    ).toEqual([{ n: "6", files: "2" }]);
    const files = await query(
      `select distinct filename from read_parquet('${out}/captures/**/*.parquet', filename = true)`,
    );
    expect(files.every((f) => String(f.filename).includes("part-run_third-"))).toBe(true);
  });

  it("documents every table and column in docs/lakehouse.md", async () => {
    const doc = readFileSync(new URL("../../../docs/lakehouse.md", import.meta.url), "utf8");
    const plan = await planLakehouseExport(source(), {
      outDir: path.join(dir, "docs-check"),
      runId: "run_doc",
    });
    for (const t of plan.tables) {
      const start = doc.indexOf(`### \`${t.name}\``);
      expect(start, t.name).toBeGreaterThan(-1);
      const end = doc.indexOf("\n#", start + 1);
      const section = doc.slice(start, end === -1 ? undefined : end);
      for (const c of t.columns)
        expect(section, `${t.name}.${c.name}`).toContain(`| \`${c.name}\` | ${c.type} |`);
    }
  });

  it("refuses a non-empty directory that is not a lakehouse", async () => {
    const foreign = path.join(dir, "foreign");
    await import("node:fs/promises").then((fs) => fs.mkdir(foreign));
    writeFileSync(path.join(foreign, "notes.txt"), "mine");
    await expect(planLakehouseExport(source(), { outDir: foreign, runId: "run_x" })).rejects.toMatchObject({
      code: "STRATA_E_CONFLICT",
    });
  });
});
