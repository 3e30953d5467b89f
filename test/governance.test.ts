/**
 * Governance acceptance (issue 5), on real parts: synthetic captures from the generator ingested through
 * createStrata (SQLite catalog, local blobs, the registry and QA analyzers), MCAPs with changing message
 * definitions from the formats' writer, and the real CLI for the commands users run.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addContract,
  approveOntologyProposal,
  checkContract,
  contractJsonSchema,
  createStrata,
  diffSchema,
  importLabels,
  initOntologyFromFile,
  labelsOf,
  listSchemas,
  ontologyDrift,
  overrideCaptureQa,
  proposeOntologyChanges,
  resolveConfig,
  runCaptureQa,
  showCaptureQa,
  showContract,
  showSchema,
  type Strata,
} from "../src/app/index.ts";
import { createMcapFileWriter, encoderFor } from "../src/formats/index.ts";
import { type CaptureTruth, generateCapture, type QaReason } from "../src/pipelines/index.ts";
import { json, strata as cli, tempDir } from "./helpers.ts";

const MS = 1_000_000n;
const { dir, cleanup } = tempDir("strata-governance-");
const home = path.join(dir, "home");
let app: Strata;
let truth: CaptureTruth;
let faultyId: string;
let cleanId: string;
let cleanWarnings: string[];

beforeAll(async () => {
  const faults = [
    "calib-drift",
    "lidar-dropout",
    "camera-skew",
    "epoch0",
    "duplicates",
    "imu-bias",
    "gps-jump",
  ];
  const [faulty] = await Promise.all([
    generateCapture({ outPath: path.join(dir, "faulty.mcap"), seconds: 8, seed: 11, faults }),
    generateCapture({ outPath: path.join(dir, "clean.mcap"), seconds: 8, seed: 11 }),
  ]);
  truth = JSON.parse(await readFile(faulty.truthPath, "utf8")) as CaptureTruth;
  app = await createStrata(resolveConfig({ home }));
  const f = await app.ingest(path.join(dir, "faulty.mcap"), { rig: "synth-car", site: "town" });
  const c = await app.ingest(path.join(dir, "clean.mcap"), { rig: "synth-car", site: "town" });
  faultyId = f.captureId;
  cleanId = c.captureId;
  cleanWarnings = c.warnings;
}, 240_000);

afterAll(async () => {
  await app?.close();
  cleanup();
});

/** The check each injected fault must raise, and how far its window may be from the truth. */
const EXPECTED: Record<string, { check: QaReason["check"]; toleranceNs: bigint }> = {
  "calib-drift": { check: "calibration.drift", toleranceNs: 100n * MS },
  "lidar-dropout": { check: "topic.gap", toleranceNs: 100n * MS },
  "camera-skew": { check: "stamp.skew", toleranceNs: 100n * MS },
  duplicates: { check: "message.duplicate", toleranceNs: 100n * MS },
  "imu-bias": { check: "imu.biasJump", toleranceNs: 200n * MS },
  "gps-jump": { check: "gps.jump", toleranceNs: 100n * MS },
};

const abs = (v: bigint) => (v < 0n ? -v : v);
const near = (a: bigint, b: bigint, tol: bigint) => abs(a - b) <= tol;

describe("QA at ingest on the synthetic capture", () => {
  it("reports every injected fault with the right topic and time window, and quarantines the capture", async () => {
    const shown = await showCaptureQa(app, faultyId);
    expect(shown.status).toBe("quarantined");
    const qa = shown.latest;
    expect(qa?.verdict).toBe("fail");
    expect(qa?.plan.mode).toBe("full");
    const reasons = qa?.reasons ?? [];
    expect(truth.faults.map((f) => f.kind).sort()).toEqual([
      "calib-drift",
      "camera-skew",
      "duplicates",
      "epoch0",
      "gps-jump",
      "imu-bias",
      "lidar-dropout",
    ]);
    for (const fault of truth.faults) {
      const startNs = BigInt(fault.startNs);
      const endNs = BigInt(fault.endNs);
      if (fault.kind === "epoch0") {
        // Single messages: each affected log time lies in an epoch0 window of its topic.
        for (const [topic, times] of Object.entries(fault.logTimesNs ?? {})) {
          expect(times.length).toBeGreaterThan(0);
          for (const t of times.map(BigInt)) {
            const hit = reasons.some(
              (r) => r.check === "stamp.epoch0" && r.topic === topic && r.startNs <= t && t <= r.endNs,
            );
            expect(hit, `epoch0 on ${topic} at ${t}`).toBe(true);
          }
        }
        continue;
      }
      const expected = EXPECTED[fault.kind];
      if (!expected) throw new Error(`no expectation for fault ${fault.kind}`);
      const matching = reasons.filter(
        (r) =>
          r.check === expected.check &&
          fault.topics.includes(r.topic) &&
          near(r.startNs, startNs, expected.toleranceNs) &&
          near(r.endNs, endNs, expected.toleranceNs),
      );
      expect(
        matching.length,
        `${fault.kind}: ${JSON.stringify(
          reasons.filter((r) => r.check === expected.check),
          (_k, v) => (typeof v === "bigint" ? v.toString() : v),
        )}`,
      ).toBeGreaterThan(0);
      for (const r of matching) {
        expect(typeof r.measured === "number" || typeof r.measured === "string").toBe(true);
        expect(r.threshold).not.toBeUndefined();
      }
    }
    // Skew is seen on both camera_front topics, duplicates on both /imu and /odom.
    const skewTopics = new Set(reasons.filter((r) => r.check === "stamp.skew").map((r) => r.topic));
    expect([...skewTopics].sort()).toEqual(["/camera_front/camera_info", "/camera_front/image/compressed"]);
    const dupTopics = new Set(reasons.filter((r) => r.check === "message.duplicate").map((r) => r.topic));
    expect([...dupTopics].sort()).toEqual(["/imu", "/odom"]);
    // Magnitudes: the drift angle and the GPS offset are measured, not guessed.
    const drift = reasons.find((r) => r.check === "calibration.drift");
    const driftTruth = truth.faults.find((f) => f.kind === "calib-drift");
    expect(Number(drift?.measured)).toBeCloseTo(Number(driftTruth?.magnitude.angleDeg), 2);
    const jump = reasons.find((r) => r.check === "gps.jump");
    expect(
      Math.abs(
        Number(jump?.measured) - Number(truth.faults.find((f) => f.kind === "gps-jump")?.magnitude.metres),
      ),
    ).toBeLessThan(3);
  });

  it("raises nothing outside the faults: every reason is on a faulty topic, within a second of its window", async () => {
    const reasons = (await showCaptureQa(app, faultyId)).latest?.reasons ?? [];
    for (const r of reasons) {
      const explained = truth.faults.some(
        (f) =>
          f.topics.includes(r.topic) &&
          r.startNs <= BigInt(f.endNs) + 1000n * MS &&
          r.endNs >= BigInt(f.startNs) - 1000n * MS,
      );
      expect(explained, `${r.check} on ${r.topic}: ${r.message}`).toBe(true);
    }
  });

  it("passes the clean capture with no warnings", async () => {
    const shown = await showCaptureQa(app, cleanId);
    expect(shown.latest?.verdict).toBe("pass");
    expect(shown.latest?.reasons).toEqual([]);
    expect(shown.latest?.coverage.notApplicable).toEqual([]);
    expect(shown.status).toBe("ready");
    expect(cleanWarnings.filter((w) => w.startsWith("qa:"))).toEqual([]);
  });

  it("re-runs QA with a sampled policy: index-level checks still see every message", async () => {
    const run = await runCaptureQa(app, faultyId, {
      policy: { sampling: { fullReadMaxBytes: 0, windows: 4, sampleFraction: 0.2 } },
    });
    expect(run.result.plan.mode).toBe("sampled");
    expect(run.result.plan.windows).toHaveLength(4);
    expect(run.result.plan.fullTopics).toContain("/tf_static");
    expect(run.result.coverage.messagesDecoded).toBeLessThan(run.result.coverage.messagesIndexed / 2);
    const checks = new Set(run.result.reasons.map((r) => r.check));
    expect(checks.has("topic.gap")).toBe(true);
    expect(checks.has("calibration.drift")).toBe(true);
    expect(run.status).toBe("quarantined");
    const shown = await showCaptureQa(app, faultyId);
    expect(shown.latest?.runId).toBe(run.runId);
    expect(shown.history).toHaveLength(2);
  });

  it("shows the verdict through the CLI and lets a steward override the quarantine (audited)", async () => {
    const shown = json<{ latest: { verdict: string; reasons: Array<{ check: string; startNs: string }> } }>(
      cli(["qa", "show", faultyId, "--json"], home),
    );
    expect(shown.latest.verdict).toBe("fail");
    expect(typeof shown.latest.reasons[0]?.startNs).toBe("string");
    await expect(overrideCaptureQa(app, faultyId, { reason: "   " })).rejects.toMatchObject({
      code: "STRATA_E_USAGE",
    });
    const released = json<{ status: string }>(
      cli(["qa", "override", faultyId, "--reason", "dropout window excluded by hand", "--json"], home),
    );
    expect(released.status).toBe("ready");
    expect((await app.catalog.getCapture(faultyId))?.status).toBe("ready");
    const audit = await app.catalog.listAudit({ action: "qa.override", target: faultyId });
    expect(audit).toHaveLength(1);
    expect(audit[0]?.details.reason).toBe("dropout window excluded by hand");
    expect((await showCaptureQa(app, faultyId)).overrides).toHaveLength(1);
    // Overriding a capture that is not quarantined is refused.
    await expect(overrideCaptureQa(app, faultyId, { reason: "again" })).rejects.toMatchObject({
      code: "STRATA_E_CONFLICT",
    });
  });
});

describe("contracts", () => {
  it("serves its JSON Schema (app and CLI agree)", () => {
    const schema = contractJsonSchema();
    expect(schema.title).toBe("Strata data contract");
    expect(json(cli(["contract", "schema", "--json"], home))).toEqual(schema);
  });

  it("names the rule, topic, measured value and threshold of each violation", async () => {
    const file = path.join(dir, "synth-car.yaml");
    await writeFile(
      file,
      `apiVersion: strata/v1
kind: DataContract
name: synth-car
version: 1.0.0
appliesTo: { rigs: [synth-car] }
enforcement: warn
topics:
  - { topic: /lidar/points, type: sensor_msgs/PointCloud2, minRateHz: 9, maxGapMs: 150 }
  - { topic: /imu, type: sensor_msgs/msg/Imu, maxRateHz: 210 }
  - { topic: /camera_front/image/compressed, type: sensor_msgs/msg/CompressedImage, maxStampSkewMs: 60 }
  - { topic: /radar/targets }
frames: { root: base_link, required: [base_link, lidar, imu, camera_front_optical, camera_left_optical] }
calibration:
  - { sensor: camera_front, cameraInfoTopic: /camera_front/camera_info, frame: camera_front_optical }
sync:
  - { name: camera-lidar, topics: [/camera_front/image/compressed, /lidar/points], toleranceMs: 50 }
`,
    );
    const added = json<{ created: boolean; version: { version: string } }>(
      cli(["contract", "add", file, "--json"], home),
    );
    expect(added).toMatchObject({ created: true, version: { version: "1.0.0" } });
    expect((await addContract(app, { file })).created).toBe(false);

    const faulty = cli(["contract", "check", faultyId, "--json"], home);
    expect(faulty.status).toBe(1);
    const result = JSON.parse(faulty.stdout) as {
      checks: Array<{
        passed: boolean;
        violations: Array<{ rule: string; topic: string; measured: unknown; threshold: unknown }>;
      }>;
    };
    const violations = result.checks[0]?.violations ?? [];
    const find = (rule: string, topic: string) =>
      violations.find((v) => v.rule === rule && v.topic === topic);
    expect(find("topic.maxGap", "/lidar/points")).toMatchObject({ measured: 1300, threshold: 150 });
    expect(find("topic.minRate", "/lidar/points")?.threshold).toBe(9);
    expect(Number(find("topic.minRate", "/lidar/points")?.measured)).toBeLessThan(9);
    expect(Number(find("topic.maxRate", "/imu")?.measured)).toBeGreaterThan(210);
    expect(find("stamp.skew", "/camera_front/image/compressed")?.threshold).toBe(60);
    expect(find("topic.required", "/radar/targets")).toMatchObject({ measured: "absent" });
    expect(violations.map((v) => v.rule)).not.toContain("frames.required");
    expect(violations.map((v) => v.rule)).not.toContain("calibration.present");
    expect(violations.map((v) => v.rule)).not.toContain("sync.tolerance");

    const clean = await checkContract(app, cleanId);
    expect(clean.checks[0]?.violations.map((v) => `${v.rule} ${v.topic}`)).toEqual([
      "topic.required /radar/targets",
    ]);
    // enforcement: warn — a violated contract does not quarantine.
    expect(clean.status).toBe("ready");
  });
});

describe("schema evolution", () => {
  const TYPE = "demo_msgs/msg/Reading";
  async function writeCapture(
    file: string,
    definition: string,
    message: object,
    startSecs: number,
  ): Promise<string> {
    const writer = await createMcapFileWriter(file, { profile: "ros2", compression: "none" });
    const schemaId = await writer.addSchema({
      name: TYPE,
      encoding: "ros2msg",
      data: new TextEncoder().encode(definition),
    });
    const channelId = await writer.addChannel({ topic: "/reading", schemaId, messageEncoding: "cdr" });
    const encode = encoderFor("cdr", TYPE, definition);
    for (let i = 0; i < 20; i++) {
      const logTimeNs = BigInt(1_800_000_000 + startSecs) * 1_000_000_000n + BigInt(i) * 100n * MS;
      await writer.addMessage({
        channelId,
        logTimeNs,
        publishTimeNs: logTimeNs,
        sequence: i,
        data: encode(message),
      });
    }
    await writer.end();
    return file;
  }

  it("flags a new definition of a known type as compatible (field added at the end) or breaking (field retyped)", async () => {
    const v1 = await writeCapture(
      path.join(dir, "v1.mcap"),
      "float64 value\nuint32 count\n",
      { value: 1.5, count: 3 },
      0,
    );
    const first = await app.ingest(v1, { rig: "bench-7" });
    expect(first.warnings.filter((w) => w.startsWith("schema:"))).toEqual([]);

    // A contract added now pins v1 as the baseline of /reading.
    const file = path.join(dir, "bench.yaml");
    await writeFile(
      file,
      "apiVersion: strata/v1\nkind: DataContract\nname: bench\nversion: 2.0.0\nappliesTo: { rigs: [bench-7] }\ntopics:\n  - { topic: /reading, type: demo_msgs/Reading }\n",
    );
    await addContract(app, { file });

    const v2 = await writeCapture(
      path.join(dir, "v2.mcap"),
      "float64 value\nuint32 count\nstring unit\n",
      { value: 1.5, count: 3, unit: "m" },
      10,
    );
    const second = await app.ingest(v2, { rig: "bench-7" });
    expect(second.warnings).toContain(
      `schema: new definition of ${TYPE} (compatible: added demo_msgs/Reading.unit string at the end)`,
    );
    expect((await app.catalog.getCapture(second.captureId))?.status).toBe("ready");

    const v3 = await writeCapture(
      path.join(dir, "v3.mcap"),
      "float32 value\nuint32 count\nstring unit\n",
      { value: 1.5, count: 3, unit: "m" },
      20,
    );
    const third = await app.ingest(v3, { rig: "bench-7" });
    expect(third.warnings).toContain(
      `schema: new definition of ${TYPE} (breaking: retyped demo_msgs/Reading.value float64 → float32)`,
    );
    // The contract's baseline is v1: v3 breaks it (and is held back), v2 does not.
    expect((await app.catalog.getCapture(third.captureId))?.status).toBe("quarantined");
    const contract = await showContract(app, "bench@2.0.0");
    expect(contract.breakingCaptures).toEqual([third.captureId]);
    const broken = contract.checks.find((c) => c.captureId === third.captureId)?.violations[0];
    expect(broken).toMatchObject({ rule: "schema.compatible", topic: "/reading" });
    // Against the v1 baseline: the retype, and the field v2 added.
    expect(broken?.measured).toBe(
      "breaking: retyped demo_msgs/Reading.value float64 → float32, added demo_msgs/Reading.unit string at the end",
    );

    const [history] = await showSchema(app, "demo_msgs/Reading");
    expect(
      history?.versions.map((v) => [v.version, v.change?.compatibility ?? null, v.firstCaptureId]),
    ).toEqual([
      [1, null, first.captureId],
      [2, "compatible", second.captureId],
      [3, "breaking", third.captureId],
    ]);
    const listed = (await listSchemas(app)).find((s) => s.name === TYPE);
    expect(listed).toMatchObject({ versions: 3, breakingChanges: 1, compatibleChanges: 1 });

    const diff = await diffSchema(app, `${TYPE}@1`, `${TYPE}@latest`);
    expect(diff.diff.compatibility).toBe("breaking");
    expect(diff.diff.changes).toEqual([
      {
        kind: "field-retyped",
        type: "demo_msgs/Reading",
        field: "value",
        from: "float64",
        to: "float32",
        position: 0,
        breaking: true,
      },
      {
        kind: "field-added",
        type: "demo_msgs/Reading",
        field: "unit",
        to: "string",
        position: 2,
        breaking: false,
      },
    ]);
    const viaCli = json<{ diff: { compatibility: string } }>(
      cli(["schema", "diff", `${TYPE}@1`, `${TYPE}@2`, "--json"], home),
    );
    expect(viaCli.diff.compatibility).toBe("compatible");
    const evolved = await app.catalog.listAudit({ action: "schema.evolve" });
    expect(evolved.map((e) => e.details.compatibility)).toEqual(["compatible", "breaking"]);
  });
});

describe("ontology", () => {
  it("approves a rename + merge proposal, migrates stored labels, and reports drift", async () => {
    const ontologyFile = path.join(dir, "ontology.yaml");
    await writeFile(
      ontologyFile,
      `apiVersion: strata/v1
kind: Ontology
name: road
version: 1.0.0
classes:
  - { name: object }
  - { name: vehicle, parent: object, attributes: [{ name: kind, type: enum, values: [sedan, van] }] }
  - { name: car, parent: object }
  - { name: automobile, parent: object }
  - { name: pedestrian, parent: object, attributes: [{ name: occluded, type: boolean }] }
  - { name: cyclist, parent: object }
`,
    );
    const v1 = await initOntologyFromFile(app, { file: ontologyFile });
    expect(v1.version).toBe("1.0.0");

    const labelsFile = path.join(dir, "labels.jsonl");
    await writeFile(
      labelsFile,
      [
        { className: "car", captureId: cleanId, startNs: "1", endNs: "2" },
        { className: "automobile", captureId: cleanId },
        { className: "pedestrian", captureId: cleanId, attributes: { occluded: true } },
        { className: "cyclist", captureId: cleanId },
        { className: "scooter", captureId: cleanId },
      ]
        .map((l) => JSON.stringify(l))
        .join("\n"),
    );
    expect(await importLabels(app, { file: labelsFile })).toEqual({
      imported: 5,
      source: "import:labels.jsonl",
    });

    const proposalFile = path.join(dir, "proposal.yaml");
    await writeFile(
      proposalFile,
      "note: one class per road user\nchanges:\n  - { op: rename, from: pedestrian, to: person }\n  - { op: merge, from: [car, automobile], into: vehicle }\n",
    );
    const proposed = await proposeOntologyChanges(app, { file: proposalFile, actor: "cli:labeller" });
    expect(proposed.preview.version).toBe("2.0.0");
    expect(proposed.proposal.status).toBe("proposed");

    const approved = await approveOntologyProposal(app, proposed.proposal.proposalId, {
      reason: "taxonomy review 12",
      actor: "cli:steward",
    });
    expect(approved.version.version).toBe("2.0.0");
    expect(approved.migratedLabels).toEqual({
      "automobile → vehicle": 1,
      "car → vehicle": 1,
      "pedestrian → person": 1,
    });
    const imported = await labelsOf(app, { source: "import:labels.jsonl" });
    expect(imported.map((l) => [l.className, l.ontologyVersion]).sort()).toEqual([
      ["cyclist", "1.0.0"],
      ["person", "2.0.0"],
      ["scooter", "1.0.0"],
      ["vehicle", "2.0.0"],
      ["vehicle", "2.0.0"],
    ]);
    expect(imported.find((l) => l.className === "person")?.attributes).toEqual({ occluded: true });
    const audit = await app.catalog.listAudit({ action: "ontology.approve" });
    expect(audit[0]).toMatchObject({
      actor: "cli:steward",
      details: { reason: "taxonomy review 12", toVersion: "2.0.0" },
    });

    // Drift: the imported "scooter", and the class names the perception topic still publishes.
    const drift = await ontologyDrift(app);
    expect(drift.ontologyVersion).toBe("2.0.0");
    const unknown = new Map(drift.unknown.map((e) => [e.className, e]));
    expect(unknown.get("scooter")?.sources).toEqual(["import:labels.jsonl"]);
    expect(unknown.get("car")?.sources).toEqual(["topic:/perception/objects"]);
    expect(unknown.get("car")?.suggestion).toBe("vehicle");
    expect(unknown.has("cyclist")).toBe(false);
    expect(unknown.has("vehicle")).toBe(false);
    const viaCli = json<{ unknown: Array<{ className: string }> }>(
      cli(["ontology", "drift", "--json"], home),
    );
    expect(viaCli.unknown.map((e) => e.className)).toContain("scooter");

    // A second approval of the same proposal is refused.
    await expect(
      approveOntologyProposal(app, proposed.proposal.proposalId, { reason: "again", actor: "cli:steward" }),
    ).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
  });
});
