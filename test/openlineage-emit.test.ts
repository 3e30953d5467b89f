/**
 * OpenLineage emission wired into the app: after an ingest and a dataset build (real SQLite, real files),
 * the JSONL sink under $STRATA_HOME holds START and COMPLETE events for every run, and every event validates
 * against the OpenLineage 2-0-2 JSON Schema kept in testdata (plus Strata's facet schema). A config.json
 * `openlineage.jsonl` path moves the file.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataset, createStrata, resolveConfig, type Strata } from "../src/app/index.ts";
import { writeTestCapture } from "../src/pipelines/export/test-support.ts";
import { type RunEvent, runUuid, strataFacetsSchema } from "../src/pipelines/index.ts";
import { repoRoot, tempDir } from "./helpers.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

async function validator(): Promise<(event: unknown) => string | null> {
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  const schema = JSON.parse(
    await readFile(path.join(repoRoot, "testdata/openlineage/OpenLineage.json"), "utf8"),
  ) as { $id: string };
  ajv.addSchema(schema);
  const facets = strataFacetsSchema();
  ajv.addSchema(facets);
  const event = ajv.getSchema(schema.$id);
  const robotics = ajv.getSchema(`${facets.$id}#/$defs/StrataRoboticsDatasetFacet`);
  if (!event || !robotics) throw new Error("schemas did not compile");
  return (value) => {
    if (!event(value)) return JSON.stringify(event.errors);
    const e = value as RunEvent;
    for (const dataset of [...e.inputs, ...e.outputs]) {
      const facet = dataset.facets?.strata_robotics;
      if (facet !== undefined && !robotics(facet)) return JSON.stringify(robotics.errors);
    }
    return null;
  };
}

async function readEvents(file: string): Promise<RunEvent[]> {
  const text = await readFile(file, "utf8");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as RunEvent);
}

describe("OpenLineage emission after every run", () => {
  const tmp = tempDir("strata-ol-");
  let strata: Strata;
  let captureId: string;
  let versionId: string;
  let datasetRunId: string | null;

  beforeAll(async () => {
    const home = path.join(tmp.dir, "home");
    strata = await createStrata(resolveConfig({ home, env: {} }));
    const file = path.join(tmp.dir, "pass.mcap");
    await writeTestCapture(file, { durationSecs: 3 });
    captureId = (await strata.ingest(file, { rig: "rig-7", site: "lab" })).captureId;
    const created = await createDataset(strata, { name: "ol", captures: [captureId], actor: "test" });
    versionId = created.version.versionId;
    datasetRunId = created.runId;
  }, 120_000);

  afterAll(async () => {
    await strata?.close();
    tmp.cleanup();
  });

  it("writes valid START/COMPLETE events for the ingest and dataset runs to $STRATA_HOME/lineage/openlineage.jsonl", async () => {
    const events = await readEvents(path.join(strata.config.home, "lineage", "openlineage.jsonl"));
    const validate = await validator();
    for (const event of events) expect(validate(event), `${event.eventType} ${event.job.name}`).toBeNull();

    const ingestRuns = await strata.catalog.listRuns({ kind: "ingest" });
    expect(ingestRuns).toHaveLength(1);
    const ingestUuid = runUuid(ingestRuns[0]?.runId ?? "");
    const ingestEvents = events.filter((e) => e.run.runId === ingestUuid);
    expect(ingestEvents.map((e) => e.eventType)).toEqual(["START", "COMPLETE"]);
    const captureOut = ingestEvents[1]?.outputs.find((d) => d.facets?.strata_robotics !== undefined);
    expect(captureOut?.facets?.strata_robotics?.captureId).toBe(captureId);
    expect(captureOut?.facets?.strata_robotics?.rig).toBe("rig-7");

    expect(datasetRunId).not.toBeNull();
    const datasetEvents = events.filter((e) => e.run.runId === runUuid(datasetRunId ?? ""));
    expect(datasetEvents.map((e) => e.eventType)).toEqual(["START", "COMPLETE"]);
    expect(datasetEvents[1]?.job.name).toBe("dataset");
    expect(datasetEvents[1]?.outputs.map((d) => d.name)).toContain(`dataset/${versionId}`);

    // Every finished run in the catalog was emitted exactly once (START + COMPLETE/FAIL).
    const runs = await strata.catalog.listRuns({ limit: 1000 });
    for (const run of runs.filter((r) => r.status !== "running")) {
      expect(
        events.filter((e) => e.run.runId === runUuid(run.runId)),
        run.kind,
      ).toHaveLength(2);
    }
  });

  it("follows config.json's openlineage.jsonl path, and a failed run emits FAIL", async () => {
    const home = path.join(tmp.dir, "home2");
    await import("node:fs/promises").then((fs) => fs.mkdir(home, { recursive: true }));
    await writeFile(
      path.join(home, "config.json"),
      JSON.stringify({ openlineage: { jsonl: "ol/events.jsonl" } }),
    );
    const other = await createStrata(resolveConfig({ home, env: {} }));
    try {
      const broken = path.join(tmp.dir, "broken.mcap");
      await writeFile(broken, Buffer.from("not a log at all"));
      await expect(other.ingest(broken)).rejects.toThrow();
      const events = await readEvents(path.join(home, "ol", "events.jsonl"));
      expect(events.map((e) => e.eventType)).toEqual(["START", "FAIL"]);
      const validate = await validator();
      for (const event of events) expect(validate(event)).toBeNull();
    } finally {
      await other.close();
    }
  });
});
