import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunRecord } from "../../catalog/index.ts";
import {
  type CaptureDatasetInfo,
  openLineageEvents,
  type RunEvent,
  runUuid,
  strataFacetsSchema,
} from "./openlineage.ts";
import { emitRunEvents, HttpLineageSink, JsonlFileSink, type LineageSink } from "./sinks.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const SCHEMA_FILE = path.join(import.meta.dirname, "../../../testdata/openlineage/OpenLineage.json");

const SHA = "6f8b495a7215a03099836955e1ffbf80f2abaff7f8bd65a1bdf9e52c809cef5d";
const T = 1_700_000_000_123_456_789n;

const ingestRun: RunRecord = {
  runId: "run_0123456789abcdef0123",
  kind: "ingest",
  status: "completed",
  inputs: [{ path: "/data/pass.bag", sha256: SHA, files: [{ path: "pass.bag", sha256: SHA }] }],
  outputs: [{ captureId: "cap_6f8b495a7215a030" }],
  params: { rig: "rig-7", site: "lab", region: null },
  codeVersion: "0.1.0+abc123",
  startedAtNs: T,
  endedAtNs: T + 2_500_000_000n,
  error: null,
};

const datasetRun: RunRecord = {
  ...ingestRun,
  runId: "run_dataset000000000001",
  kind: "dataset",
  inputs: [{ datasetVersionId: `dsv_${"a".repeat(64)}` }, { captureId: "cap_6f8b495a7215a030", sha256: SHA }],
  outputs: [{ datasetVersionId: `dsv_${"b".repeat(64)}`, datasetName: "urban", itemCount: 3 }],
};

const failedRun: RunRecord = {
  ...ingestRun,
  runId: "run_failed000000000001",
  status: "failed",
  inputs: [{ path: "/data/broken.bag" }],
  outputs: null,
  error: { code: "STRATA_E_TRUNCATED_LOG", message: "The log is truncated (/data/broken.bag, at byte 4096)" },
};

const runningRun: RunRecord = {
  ...ingestRun,
  runId: "run_running00000000001",
  status: "running",
  outputs: null,
  endedAtNs: null,
};

const captures = new Map<string, CaptureDatasetInfo>([
  [
    "cap_6f8b495a7215a030",
    {
      captureId: "cap_6f8b495a7215a030",
      sha256: SHA,
      rig: "rig-7",
      site: "lab",
      startNs: T,
      endNs: T + 60_000_000_000n,
      topics: ["/tf", "/camera/image"],
      calibrationVersion: "calib_rig7_v3",
      qaVerdict: "warn",
      qaFlags: ["rate"],
    },
  ],
]);

describe("OpenLineage RunEvents", () => {
  let validateEvent: (event: unknown) => boolean;
  let validateRobotics: (facet: unknown) => boolean;
  let validateRunFacet: (facet: unknown) => boolean;
  let errors: () => unknown;

  beforeAll(async () => {
    const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
    const schema = JSON.parse(await readFile(SCHEMA_FILE, "utf8")) as { $id: string };
    ajv.addSchema(schema);
    const facets = strataFacetsSchema();
    ajv.addSchema(facets);
    const event = ajv.getSchema(schema.$id);
    const robotics = ajv.getSchema(`${facets.$id}#/$defs/StrataRoboticsDatasetFacet`);
    const runFacet = ajv.getSchema(`${facets.$id}#/$defs/StrataRunRunFacet`);
    if (!event || !robotics || !runFacet) throw new Error("schemas did not compile");
    validateEvent = (e) => event(e) as boolean;
    validateRobotics = (f) => robotics(f) as boolean;
    validateRunFacet = (f) => runFacet(f) as boolean;
    errors = () => [event.errors, robotics.errors, runFacet.errors];
  });

  function expectValid(events: RunEvent[]): void {
    for (const event of events) {
      const ok = validateEvent(event);
      if (!ok) throw new Error(`invalid ${event.eventType}: ${JSON.stringify(errors(), null, 1)}`);
      for (const dataset of [...event.inputs, ...event.outputs]) {
        const facet = dataset.facets?.strata_robotics;
        if (facet !== undefined) expect(validateRobotics(facet), JSON.stringify(errors())).toBe(true);
      }
      expect(validateRunFacet(event.run.facets?.strata_run), JSON.stringify(errors())).toBe(true);
    }
  }

  it("validates a schema-violating event as invalid (the validator is live)", () => {
    const [start] = openLineageEvents(ingestRun);
    expect(validateEvent({ ...start, run: { runId: "not-a-uuid" } })).toBe(false);
    expect(validateEvent({ ...start, eventTime: "yesterday" })).toBe(false);
    const facet = { ...start?.run.facets?.strata_run };
    delete facet._producer;
    expect(validateEvent({ ...start, run: { ...start?.run, facets: { strata_run: facet } } })).toBe(false);
    expect(validateRobotics({ _producer: "https://x", _schemaURL: "https://y", captureId: "c" })).toBe(false);
  });

  it("emits START and COMPLETE for a completed ingest, with blob inputs and the robotics facet on the capture", () => {
    const events = openLineageEvents(ingestRun, { captures, instance: "home" });
    expectValid(events);
    expect(events.map((e) => e.eventType)).toEqual(["START", "COMPLETE"]);
    const [start, complete] = events as [RunEvent, RunEvent];
    expect(start.eventTime).toBe("2023-11-14T22:13:20.123Z");
    expect(complete.eventTime).toBe("2023-11-14T22:13:22.623Z");
    expect(start.run.runId).toBe(complete.run.runId);
    expect(start.job).toEqual({ namespace: "strata", name: "ingest" });
    expect(start.inputs).toEqual([{ namespace: "strata://home", name: `blob/${SHA}` }]);
    expect(start.outputs).toEqual([]);
    expect(complete.outputs).toHaveLength(1);
    expect(complete.outputs[0]).toMatchObject({
      namespace: "strata://home",
      name: `capture/${SHA}`,
      facets: {
        strata_robotics: {
          captureId: "cap_6f8b495a7215a030",
          topics: ["/camera/image", "/tf"],
          rig: "rig-7",
          calibrationVersion: "calib_rig7_v3",
          qaVerdict: "warn",
          qaFlags: ["rate"],
          timeWindow: { startNs: T.toString(), endNs: (T + 60_000_000_000n).toString() },
        },
      },
    });
  });

  it("names dataset versions and captures of a dataset build", () => {
    const events = openLineageEvents(datasetRun, { captures });
    expectValid(events);
    const complete = events[1] as RunEvent;
    expect(complete.inputs.map((d) => d.name)).toEqual([`dataset/dsv_${"a".repeat(64)}`, `capture/${SHA}`]);
    expect(complete.outputs.map((d) => d.name)).toEqual([`dataset/dsv_${"b".repeat(64)}`]);
  });

  it("emits FAIL with the error message for a failed run, only START for a running one", () => {
    const failed = openLineageEvents(failedRun);
    expectValid(failed);
    expect(failed.map((e) => e.eventType)).toEqual(["START", "FAIL"]);
    expect(failed[1]?.run.facets?.errorMessage).toMatchObject({
      message: "STRATA_E_TRUNCATED_LOG: The log is truncated (/data/broken.bag, at byte 4096)",
      programmingLanguage: "TypeScript",
    });
    expect(failed[0]?.inputs).toEqual([{ namespace: "strata://local", name: "file:/data/broken.bag" }]);
    const running = openLineageEvents(runningRun);
    expectValid(running);
    expect(running.map((e) => e.eventType)).toEqual(["START"]);
  });

  it("derives a stable RFC 4122 version-5 UUID per run id", () => {
    const id = runUuid(ingestRun.runId);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(runUuid(ingestRun.runId)).toBe(id);
    expect(runUuid(failedRun.runId)).not.toBe(id);
  });
});

describe("lineage sinks", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-ol-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("appends one event per line, whole lines even under concurrent emits and after a torn tail", async () => {
    const file = path.join(dir, "nested", "lineage.jsonl");
    const sink = new JsonlFileSink(file);
    await Promise.all(Array.from({ length: 20 }, () => emitRunEvents(ingestRun, [sink], { captures })));
    let lines = (await readFile(file, "utf8")).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(40);
    for (const line of lines) expect((JSON.parse(line) as RunEvent).job.name).toBe("ingest");

    await writeFile(file, `${await readFile(file, "utf8")}{"eventType":"STA`); // a crash mid-line
    await sink.emit(openLineageEvents(failedRun));
    lines = (await readFile(file, "utf8")).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(43);
    expect(lines[40]).toBe('{"eventType":"STA');
    expect((JSON.parse(lines[42] ?? "") as RunEvent).eventType).toBe("FAIL");
  });

  describe("HTTP (Marquez-compatible)", () => {
    let server: Server;
    let url: string;
    const received: Array<{ method: string; url: string; type: string; auth: string; body: RunEvent }> = [];
    let failNext = 0;

    beforeAll(async () => {
      server = createServer((req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          if (failNext > 0) {
            failNext--;
            res.writeHead(500, { "content-type": "text/plain" }).end("boom");
            return;
          }
          received.push({
            method: req.method ?? "",
            url: req.url ?? "",
            type: req.headers["content-type"] ?? "",
            auth: req.headers.authorization ?? "",
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as RunEvent,
          });
          res.writeHead(201).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("POSTs each event as JSON to <url>/api/v1/lineage", async () => {
      const sink = new HttpLineageSink({ url, apiKey: "k3y" });
      const report = await emitRunEvents(ingestRun, [sink], { captures });
      expect(report.failures).toEqual([]);
      expect(received.map((r) => [r.method, r.url, r.type, r.auth, r.body.eventType])).toEqual([
        ["POST", "/api/v1/lineage", "application/json", "Bearer k3y", "START"],
        ["POST", "/api/v1/lineage", "application/json", "Bearer k3y", "COMPLETE"],
      ]);
      expect(received[1]?.body).toEqual(report.events[1]);
      expect(sink.failedCount).toBe(0);
    });

    it("logs and counts failures without throwing (server error, nothing listening)", async () => {
      const logged: string[] = [];
      const log = (m: string) => logged.push(m);
      failNext = 1;
      const sink = new HttpLineageSink({ url, log });
      const before = received.length;
      await sink.emit(openLineageEvents(ingestRun));
      expect(sink.failedCount).toBe(1);
      expect(received.length).toBe(before + 1); // the COMPLETE after the failed START still went out
      expect(logged[0]).toMatch(/START of run .* not delivered .*HTTP 500: boom/);

      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const nobody = new HttpLineageSink({ url: `http://127.0.0.1:${port}`, log, timeoutMs: 2000 });
      const report = await emitRunEvents(failedRun, [nobody], { log });
      expect(report.failures).toEqual([]);
      expect(nobody.failedCount).toBe(2);
      expect(logged.slice(1).every((m) => m.includes("not delivered"))).toBe(true);
    });

    it("reports a sink that throws, and still serves the other sinks", async () => {
      const broken: LineageSink = {
        name: "broken",
        emit: async () => {
          throw new Error("disk full");
        },
      };
      const file = path.join(dir, "after-broken.jsonl");
      const logged: string[] = [];
      const report = await emitRunEvents(ingestRun, [broken, new JsonlFileSink(file)], {
        log: (m) => logged.push(m),
      });
      expect(report.failures).toEqual([{ sink: "broken", error: "disk full" }]);
      expect(logged).toHaveLength(1);
      expect((await readFile(file, "utf8")).trim().split("\n")).toHaveLength(2);
    });
  });
});
