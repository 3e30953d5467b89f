/**
 * The one test suite every Catalog passes (SQLite, PostgreSQL). Call it from a `*.test.ts`:
 *
 *   catalogContract("sqlite", async () => ({ catalog, reopen, dispose }));
 *
 * Each test gets a fresh, migrated, empty catalog. Test-only: imports vitest, so not in index.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex, StrataError } from "../core/index.ts";
import { AUDIT_GENESIS_HASH, computeSchemaHash } from "./hashes.ts";
import type { Catalog, NewCapture } from "./types.ts";

export interface CatalogUnderTest {
  catalog: Catalog;
  /** A second, independent connection (pool) to the same database, already open. */
  reopen(): Promise<Catalog>;
  /** Closes everything and removes the database (file or schema). */
  dispose(): Promise<void>;
}

const BEYOND_2_53 = 2n ** 53n + 1n;
const INT64_MAX = 2n ** 63n - 1n;
const T0 = 1_700_000_000_123_456_789n;

export function catalogContract(name: string, makeCatalog: () => Promise<CatalogUnderTest>): void {
  describe(`Catalog contract: ${name}`, () => {
    let subject: CatalogUnderTest;
    let catalog: Catalog;
    const extra: Catalog[] = [];
    beforeEach(async () => {
      subject = await makeCatalog();
      catalog = subject.catalog;
    });
    afterEach(async () => {
      for (const other of extra.splice(0)) await other.close();
      await subject.dispose();
    });
    const reopen = async () => {
      const other = await subject.reopen();
      extra.push(other);
      return other;
    };

    describe("migrations", () => {
      it("are idempotent: migrating again applies nothing and keeps the data", async () => {
        await catalog.insertCapture(capture(1));
        expect(await catalog.migrate()).toEqual([]);
        expect(await catalog.migrate()).toEqual([]);
        const other = await reopen();
        expect(await other.migrate()).toEqual([]);
        expect((await other.counts()).captures).toBe(1);
      });

      it("start empty", async () => {
        expect(await catalog.counts()).toEqual({
          captures: 0,
          captureFiles: 0,
          topics: 0,
          histogramBuckets: 0,
          schemas: 0,
          runs: 0,
          auditEvents: 0,
          apiTokens: 0,
        });
      });
    });

    describe("captures", () => {
      it("insert, get by id and by sha256; captureId defaults to captureIdFromSha256", async () => {
        const input = capture(1, {
          provenance: { writer: "rosbag2", args: ["--rig", "r1"], nested: { n: 1 } },
        });
        const stored = await catalog.insertCapture(input);
        expect(stored.captureId).toBe(`cap_${input.sha256.slice(0, 16)}`);
        expect(stored).toEqual({
          captureId: stored.captureId,
          sha256: input.sha256,
          format: "mcap",
          sizeBytes: 1001n,
          startNs: T0,
          endNs: T0 + 10n,
          messageCount: 7n,
          rig: "rig-1",
          site: "site-a",
          region: "eu",
          status: "ready",
          sourcePath: "/data/1.mcap",
          ingestedAtNs: T0 + 1n,
          provenance: { writer: "rosbag2", args: ["--rig", "r1"], nested: { n: 1 } },
        });
        expect(await catalog.getCapture(stored.captureId)).toEqual(stored);
        expect(await catalog.findCaptureBySha256(input.sha256)).toEqual(stored);
        expect(await catalog.getCapture("cap_missing")).toBeUndefined();
        expect(await catalog.findCaptureBySha256(sha256Hex("nope"))).toBeUndefined();
      });

      it("optional fields default to null / ready / now", async () => {
        const before = BigInt(Date.now()) * 1_000_000n;
        const stored = await catalog.insertCapture({
          sha256: sha256Hex("bare"),
          format: "ros1",
          sizeBytes: 5,
        });
        expect(stored).toMatchObject({
          startNs: null,
          endNs: null,
          messageCount: 0n,
          rig: null,
          site: null,
          region: null,
          status: "ready",
          sourcePath: null,
          provenance: {},
        });
        expect(stored.ingestedAtNs >= before).toBe(true);
      });

      it("round-trips 64-bit integers beyond 2^53 exactly, as bigint", async () => {
        const c = await catalog.insertCapture(
          capture(1, {
            startNs: BEYOND_2_53,
            endNs: INT64_MAX,
            sizeBytes: BEYOND_2_53 + 2n,
            messageCount: INT64_MAX - 1n,
          }),
        );
        const read = await catalog.getCapture(c.captureId);
        expect(read?.startNs).toBe(BEYOND_2_53);
        expect(read?.endNs).toBe(INT64_MAX);
        expect(read?.sizeBytes).toBe(BEYOND_2_53 + 2n);
        expect(read?.messageCount).toBe(INT64_MAX - 1n);
        expect(typeof read?.ingestedAtNs).toBe("bigint");

        await catalog.insertTopics([
          {
            captureId: c.captureId,
            topic: "/imu",
            schemaName: "sensor_msgs/msg/Imu",
            messageEncoding: "cdr",
            messageCount: BEYOND_2_53,
            firstNs: -INT64_MAX,
            lastNs: INT64_MAX,
            meanRateHz: 200,
            maxGapNs: BEYOND_2_53,
          },
        ]);
        expect(await catalog.listTopics(c.captureId)).toEqual([
          {
            captureId: c.captureId,
            topic: "/imu",
            schemaName: "sensor_msgs/msg/Imu",
            messageEncoding: "cdr",
            schemaHash: null,
            messageCount: BEYOND_2_53,
            firstNs: -INT64_MAX,
            lastNs: INT64_MAX,
            meanRateHz: 200,
            maxGapNs: BEYOND_2_53,
          },
        ]);
        await catalog.insertHistogram([
          {
            captureId: c.captureId,
            topic: "/imu",
            bucketStartNs: INT64_MAX - 5n,
            bucketNs: 5n,
            messageCount: 3,
          },
        ]);
        expect(await catalog.getHistogram(c.captureId)).toEqual([
          {
            captureId: c.captureId,
            topic: "/imu",
            bucketStartNs: INT64_MAX - 5n,
            bucketNs: 5n,
            messageCount: 3n,
          },
        ]);
        const run = await catalog.startRun({ kind: "ingest", codeVersion: "v", startedAtNs: BEYOND_2_53 });
        expect((await catalog.getRun(run.runId))?.startedAtNs).toBe(BEYOND_2_53);
        const event = await catalog.appendAudit({ actor: "a", action: "x", target: "t", atNs: INT64_MAX });
        expect((await catalog.listAudit())[0]?.atNs).toBe(INT64_MAX);
        expect(typeof event.seq).toBe("bigint");
      });

      it("keeps fractional rates and rejects unsafe numbers", async () => {
        const c = await catalog.insertCapture(capture(1));
        await catalog.insertTopics([
          {
            captureId: c.captureId,
            topic: "/a",
            schemaName: "A",
            messageEncoding: "cdr",
            messageCount: 1,
            meanRateHz: 9.75,
          },
          { captureId: c.captureId, topic: "/b", schemaName: "B", messageEncoding: "cdr", messageCount: 0 },
        ]);
        const topics = await catalog.listTopics(c.captureId);
        expect(topics.map((t) => t.meanRateHz)).toEqual([9.75, null]);
        await expect(catalog.insertCapture({ ...capture(2), sizeBytes: 2 ** 60 })).rejects.toMatchObject({
          code: "STRATA_E_USAGE",
        });
        await expect(catalog.insertCapture({ ...capture(3), sha256: "not-a-hash" })).rejects.toMatchObject({
          code: "STRATA_E_USAGE",
        });
      });

      it("sha256 is unique: the same bytes twice is a STRATA_E_CONFLICT", async () => {
        const first = await catalog.insertCapture(capture(1));
        const again = catalog.insertCapture({ ...capture(1), captureId: "cap_other" });
        await expect(again).rejects.toBeInstanceOf(StrataError);
        await expect(again).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
        await expect(catalog.insertCapture(capture(1))).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
        expect(await catalog.countCaptures()).toBe(1);
        expect((await catalog.findCaptureBySha256(first.sha256))?.captureId).toBe(first.captureId);
      });

      it("lists newest first with paging and filters", async () => {
        for (let i = 0; i < 25; i += 1) {
          await catalog.insertCapture(
            capture(i, {
              ingestedAtNs: T0 + BigInt(i),
              site: i % 2 === 0 ? "even" : "odd",
              rig: i % 5 === 0 ? "rig-5" : "rig-1",
              status: i === 3 ? "quarantined" : "ready",
            }),
          );
        }
        const pages = [
          await catalog.listCaptures({ limit: 10 }),
          await catalog.listCaptures({ limit: 10, offset: 10 }),
          await catalog.listCaptures({ limit: 10, offset: 20 }),
          await catalog.listCaptures({ limit: 10, offset: 30 }),
        ];
        expect(pages.map((p) => p.length)).toEqual([10, 10, 5, 0]);
        const times = pages.flat().map((c) => c.ingestedAtNs);
        expect(times).toEqual([...times].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
        expect(new Set(pages.flat().map((c) => c.captureId)).size).toBe(25);
        expect(pages[0]?.[0]?.ingestedAtNs).toBe(T0 + 24n);

        expect((await catalog.listCaptures({ site: "odd", limit: 100 })).length).toBe(12);
        expect(await catalog.countCaptures({ site: "odd" })).toBe(12);
        expect((await catalog.listCaptures({ rig: "rig-5" })).map((c) => c.ingestedAtNs)).toEqual(
          [20n, 15n, 10n, 5n, 0n].map((i) => T0 + i),
        );
        expect((await catalog.listCaptures({ status: "quarantined" })).map((c) => c.ingestedAtNs)).toEqual([
          T0 + 3n,
        ]);
        expect(await catalog.countCaptures({ site: "even", rig: "rig-5" })).toBe(3);
        expect(await catalog.countCaptures()).toBe(25);
        expect((await catalog.listCaptures()).length).toBe(25);
        await expect(catalog.listCaptures({ limit: 0 })).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
        await expect(catalog.listCaptures({ offset: -1 })).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
      });

      it("setCaptureStatus changes the status; unknown captures are STRATA_E_NOT_FOUND", async () => {
        const c = await catalog.insertCapture(capture(1, { status: "ingesting" }));
        expect((await catalog.setCaptureStatus(c.captureId, "quarantined")).status).toBe("quarantined");
        expect((await catalog.getCapture(c.captureId))?.status).toBe("quarantined");
        await expect(catalog.setCaptureStatus("cap_nope", "ready")).rejects.toMatchObject({
          code: "STRATA_E_NOT_FOUND",
        });
      });

      it("files, topics and histogram belong to a capture; an unknown capture is STRATA_E_CONFLICT", async () => {
        const c = await catalog.insertCapture(capture(1));
        await catalog.insertCaptureFiles([
          {
            captureId: c.captureId,
            ordinal: 1,
            pathInCapture: "b_1.db3",
            sha256: sha256Hex("b"),
            sizeBytes: 20,
          },
          {
            captureId: c.captureId,
            ordinal: 0,
            pathInCapture: "b_0.db3",
            sha256: sha256Hex("a"),
            sizeBytes: 10,
          },
        ]);
        expect(
          (await catalog.listCaptureFiles(c.captureId)).map((f) => [f.ordinal, f.pathInCapture, f.sizeBytes]),
        ).toEqual([
          [0, "b_0.db3", 10n],
          [1, "b_1.db3", 20n],
        ]);
        await expect(
          catalog.insertTopics([
            { captureId: "cap_nope", topic: "/x", schemaName: "X", messageEncoding: "cdr", messageCount: 1 },
          ]),
        ).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
        await expect(
          catalog.insertCaptureFiles([
            {
              captureId: c.captureId,
              ordinal: 0,
              pathInCapture: "dup",
              sha256: sha256Hex("c"),
              sizeBytes: 1,
            },
          ]),
        ).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
      });

      it("histogram: per topic, in time order, filterable by topic; large batches insert", async () => {
        const c = await catalog.insertCapture(capture(1));
        const buckets = [];
        for (const topic of ["/camera", "/imu"]) {
          for (let i = 1199; i >= 0; i -= 1) {
            buckets.push({
              captureId: c.captureId,
              topic,
              bucketStartNs: T0 + BigInt(i) * 1_000_000_000n,
              bucketNs: 1_000_000_000n,
              messageCount: i % 7,
            });
          }
        }
        await catalog.insertHistogram(buckets);
        const imu = await catalog.getHistogram(c.captureId, "/imu");
        expect(imu.length).toBe(1200);
        expect(imu[0]).toEqual({
          captureId: c.captureId,
          topic: "/imu",
          bucketStartNs: T0,
          bucketNs: 1_000_000_000n,
          messageCount: 0n,
        });
        expect(
          imu.every(
            (b, i) => b.bucketStartNs === T0 + BigInt(i) * 1_000_000_000n && b.messageCount === BigInt(i % 7),
          ),
        ).toBe(true);
        const all = await catalog.getHistogram(c.captureId);
        expect(all.length).toBe(2400);
        expect(all[0]?.topic).toBe("/camera");
        expect(all[2399]?.topic).toBe("/imu");
        expect(await catalog.getHistogram(c.captureId, "/none")).toEqual([]);
      });

      it("a failing batch insert writes none of its rows", async () => {
        const c = await catalog.insertCapture(capture(1));
        const buckets = [];
        for (let i = 0; i < 1500; i += 1) {
          buckets.push({
            captureId: c.captureId,
            topic: "/t",
            bucketStartNs: BigInt(i),
            bucketNs: 1n,
            messageCount: 1,
          });
        }
        buckets.push({
          captureId: c.captureId,
          topic: "/t",
          bucketStartNs: 5n,
          bucketNs: 1n,
          messageCount: 1,
        });
        await expect(catalog.insertHistogram(buckets)).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
        expect(await catalog.getHistogram(c.captureId)).toEqual([]);
      });

      it("deleteCapture cascades to its files, topics and histogram, and leaves other captures alone", async () => {
        const doomed = await catalog.insertCapture(capture(1));
        const kept = await catalog.insertCapture(capture(2));
        for (const c of [doomed, kept]) {
          await catalog.insertCaptureFiles([
            { captureId: c.captureId, ordinal: 0, pathInCapture: "x.mcap", sha256: c.sha256, sizeBytes: 1 },
          ]);
          await catalog.insertTopics([
            { captureId: c.captureId, topic: "/t", schemaName: "T", messageEncoding: "cdr", messageCount: 1 },
          ]);
          await catalog.insertHistogram([
            { captureId: c.captureId, topic: "/t", bucketStartNs: 0n, bucketNs: 1n, messageCount: 1 },
          ]);
        }
        const [schema] = await catalog.upsertSchemas(doomed.captureId, [
          { name: "T", encoding: "ros2msg", definition: "int32 x" },
        ]);
        expect(await catalog.deleteCapture(doomed.captureId)).toBe(true);
        expect(await catalog.deleteCapture(doomed.captureId)).toBe(false);
        expect(await catalog.getCapture(doomed.captureId)).toBeUndefined();
        expect(await catalog.listCaptureFiles(doomed.captureId)).toEqual([]);
        expect(await catalog.listTopics(doomed.captureId)).toEqual([]);
        expect(await catalog.getHistogram(doomed.captureId)).toEqual([]);
        expect(await catalog.counts()).toMatchObject({
          captures: 1,
          captureFiles: 1,
          topics: 1,
          histogramBuckets: 1,
          schemas: 1,
        });
        expect((await catalog.listTopics(kept.captureId)).length).toBe(1);
        // The schema registry outlives the capture; its pointer to it is cleared.
        expect(await catalog.getSchema(schema?.schemaHash ?? "")).toMatchObject({
          firstCaptureId: null,
          lastCaptureId: null,
        });
      });
    });

    describe("transactions", () => {
      it("commit all writes of fn together", async () => {
        const result = await catalog.transaction(async (tx) => {
          const c = await tx.insertCapture(capture(1));
          await tx.insertTopics([
            { captureId: c.captureId, topic: "/t", schemaName: "T", messageEncoding: "cdr", messageCount: 2 },
          ]);
          await tx.appendAudit({ actor: "ingest", action: "capture.create", target: c.captureId });
          return c.captureId;
        });
        expect((await catalog.getCapture(result))?.captureId).toBe(result);
        expect(await catalog.counts()).toMatchObject({ captures: 1, topics: 1, auditEvents: 1 });
      });

      it("roll back every write when fn throws, and rethrow its error unchanged", async () => {
        const boom = new Error("ingest failed half way");
        const attempt = catalog.transaction(async (tx) => {
          const c = await tx.insertCapture(capture(1));
          await tx.insertCaptureFiles([
            { captureId: c.captureId, ordinal: 0, pathInCapture: "a", sha256: c.sha256, sizeBytes: 1 },
          ]);
          await tx.insertTopics([
            { captureId: c.captureId, topic: "/t", schemaName: "T", messageEncoding: "cdr", messageCount: 2 },
          ]);
          await tx.upsertSchemas(c.captureId, [{ name: "T", encoding: "ros2msg", definition: "int32 x" }]);
          await tx.startRun({ kind: "ingest", codeVersion: "v" });
          await tx.appendAudit({ actor: "ingest", action: "capture.create", target: c.captureId });
          await tx.transaction(async (inner) => inner.insertCapture(capture(2)));
          expect((await tx.counts()).captures).toBe(2);
          throw boom;
        });
        await expect(attempt).rejects.toBe(boom);
        expect(await catalog.counts()).toEqual({
          captures: 0,
          captureFiles: 0,
          topics: 0,
          histogramBuckets: 0,
          schemas: 0,
          runs: 0,
          auditEvents: 0,
          apiTokens: 0,
        });
        // The catalog is still usable afterwards.
        await catalog.insertCapture(capture(1));
        expect(await catalog.countCaptures()).toBe(1);
      });

      it("roll back when a statement inside fails (a duplicate), with the catalogue error", async () => {
        await catalog.insertCapture(capture(1));
        const attempt = catalog.transaction(async (tx) => {
          await tx.insertCapture(capture(2));
          await tx.insertCapture(capture(1));
        });
        await expect(attempt).rejects.toMatchObject({ code: "STRATA_E_CONFLICT" });
        expect(await catalog.countCaptures()).toBe(1);
        expect(await catalog.findCaptureBySha256(capture(2).sha256)).toBeUndefined();
      });

      it("do not show uncommitted rows to another connection", async () => {
        const other = await reopen();
        let release!: () => void;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        let inserted!: () => void;
        const insertedSignal = new Promise<void>((resolve) => {
          inserted = resolve;
        });
        const tx = catalog.transaction(async (t) => {
          await t.insertCapture(capture(1));
          inserted();
          await gate;
        });
        await insertedSignal;
        // SQLite's other connection reads the last committed snapshot (WAL); PostgreSQL's read committed.
        expect(await other.countCaptures()).toBe(0);
        release();
        await tx;
        expect(await other.countCaptures()).toBe(1);
      });
    });

    describe("schemas", () => {
      it("upsert inserts new schemas and moves lastCaptureId of known ones", async () => {
        const a = await catalog.insertCapture(capture(1));
        const b = await catalog.insertCapture(capture(2));
        const imu = { name: "sensor_msgs/msg/Imu", encoding: "ros2msg", definition: "float64 x" };
        const odom = { name: "nav_msgs/msg/Odometry", encoding: "ros2msg", definition: "float64 y" };
        const first = await catalog.upsertSchemas(a.captureId, [imu, imu], T0);
        expect(first).toEqual([
          {
            schemaHash: computeSchemaHash("ros2msg", imu.name, imu.definition),
            name: imu.name,
            encoding: "ros2msg",
            definition: "float64 x",
            firstCaptureId: a.captureId,
            lastCaptureId: a.captureId,
            firstSeenNs: T0,
          },
        ]);
        const second = await catalog.upsertSchemas(b.captureId, [odom, imu], T0 + 5n);
        expect(second.map((s) => [s.name, s.firstCaptureId, s.lastCaptureId, s.firstSeenNs])).toEqual([
          [odom.name, b.captureId, b.captureId, T0 + 5n],
          [imu.name, a.captureId, b.captureId, T0],
        ]);
        // A changed definition is a different schema.
        await catalog.upsertSchemas(b.captureId, [{ ...imu, definition: "float64 x\nfloat64 z" }]);
        expect((await catalog.listSchemas()).length).toBe(3);
        expect(await catalog.upsertSchemas(a.captureId, [])).toEqual([]);
        expect(computeSchemaHash("a", "b", "c")).not.toBe(computeSchemaHash("ab", "", "c"));
      });
    });

    describe("runs", () => {
      it("start, finish, get and list newest first with JSON parsed", async () => {
        const started = await catalog.startRun({
          kind: "ingest",
          inputs: [{ kind: "file", path: "/data/a.mcap" }],
          params: { rig: "r1", verify: true },
          codeVersion: "0.1.0+abc",
          startedAtNs: T0,
        });
        expect(started).toMatchObject({
          kind: "ingest",
          status: "running",
          outputs: null,
          endedAtNs: null,
          error: null,
        });
        expect(started.runId).toMatch(/^run_/);
        expect(started.inputs).toEqual([{ kind: "file", path: "/data/a.mcap" }]);
        expect(started.params).toEqual({ rig: "r1", verify: true });
        const done = await catalog.finishRun(started.runId, {
          status: "completed",
          outputs: { captureId: "cap_1", topics: 3 },
          endedAtNs: T0 + 100n,
        });
        expect(done).toMatchObject({
          status: "completed",
          outputs: { captureId: "cap_1", topics: 3 },
          endedAtNs: T0 + 100n,
        });
        expect(await catalog.getRun(started.runId)).toEqual(done);
        await expect(catalog.finishRun(started.runId, { status: "failed" })).rejects.toMatchObject({
          code: "STRATA_E_CONFLICT",
        });
        await expect(catalog.finishRun("run_nope", { status: "failed" })).rejects.toMatchObject({
          code: "STRATA_E_NOT_FOUND",
        });

        const failed = await catalog.startRun({
          runId: "run_qa1",
          kind: "qa",
          codeVersion: "v",
          startedAtNs: T0 + 1n,
        });
        await catalog.finishRun(failed.runId, {
          status: "failed",
          error: { code: "STRATA_E_DECODE", message: "bad" },
        });
        expect((await catalog.getRun("run_qa1"))?.error).toEqual({ code: "STRATA_E_DECODE", message: "bad" });
        await catalog.startRun({ kind: "qa", codeVersion: "v", startedAtNs: T0 + 2n });
        expect((await catalog.listRuns()).map((r) => r.startedAtNs)).toEqual([T0 + 2n, T0 + 1n, T0]);
        expect((await catalog.listRuns({ kind: "qa" })).length).toBe(2);
        expect((await catalog.listRuns({ status: "running" })).length).toBe(1);
        expect((await catalog.listRuns({ limit: 1, offset: 1 }))[0]?.runId).toBe("run_qa1");
        expect(await catalog.getRun("run_nope")).toBeUndefined();
        await expect(
          catalog.startRun({ runId: "run_qa1", kind: "qa", codeVersion: "v" }),
        ).rejects.toMatchObject({
          code: "STRATA_E_CONFLICT",
        });
      });
    });

    describe("audit chain", () => {
      it("links each event to the previous one and verifies", async () => {
        expect(await catalog.verifyAuditChain()).toEqual({
          ok: true,
          eventCount: 0,
          headHash: AUDIT_GENESIS_HASH,
        });
        const first = await catalog.appendAudit({
          actor: "alice",
          action: "capture.read",
          target: "cap_1",
          atNs: T0,
        });
        const second = await catalog.appendAudit({
          actor: "bob",
          action: "token.create",
          target: "tok_1",
          details: { role: "viewer", big: "12345678901234567890" },
        });
        expect(first.prevHash).toBe(AUDIT_GENESIS_HASH);
        expect(second.prevHash).toBe(first.hash);
        expect(second.seq > first.seq).toBe(true);
        expect(second.details).toEqual({ role: "viewer", big: "12345678901234567890" });
        expect(await catalog.verifyAuditChain()).toEqual({ ok: true, eventCount: 2, headHash: second.hash });
        expect(await catalog.listAudit()).toEqual([first, second]);
      });

      it("lists with filters, cursor and order", async () => {
        for (let i = 0; i < 6; i += 1) {
          await catalog.appendAudit({
            actor: i % 2 ? "bob" : "alice",
            action: "read",
            target: `cap_${i % 3}`,
            atNs: T0 + BigInt(i),
          });
        }
        const all = await catalog.listAudit();
        expect(all.map((e) => e.atNs)).toEqual([0n, 1n, 2n, 3n, 4n, 5n].map((i) => T0 + i));
        expect((await catalog.listAudit({ actor: "bob" })).length).toBe(3);
        expect((await catalog.listAudit({ target: "cap_0" })).map((e) => e.atNs)).toEqual([T0, T0 + 3n]);
        expect((await catalog.listAudit({ afterSeq: all[1]?.seq, limit: 2 })).map((e) => e.atNs)).toEqual([
          T0 + 2n,
          T0 + 3n,
        ]);
        expect((await catalog.listAudit({ order: "desc", limit: 2 })).map((e) => e.atNs)).toEqual([
          T0 + 5n,
          T0 + 4n,
        ]);
        expect((await catalog.listAudit({ beforeSeq: all[2]?.seq })).length).toBe(2);
      });

      it("detects tampering with an event's content", async () => {
        const events = [];
        for (let i = 0; i < 5; i += 1)
          events.push(await catalog.appendAudit({ actor: "a", action: "x", target: `t${i}` }));
        await catalog.db
          .updateTable("audit_events")
          .set({ details: '{"forged":true}' })
          .where("event_id", "=", events[2]?.eventId ?? "")
          .execute();
        const result = await catalog.verifyAuditChain();
        expect(result).toMatchObject({
          ok: false,
          eventCount: 2,
          seq: events[2]?.seq,
          eventId: events[2]?.eventId,
        });
      });

      it("detects a removed event and a re-hashed forgery", async () => {
        const events = [];
        for (let i = 0; i < 4; i += 1)
          events.push(await catalog.appendAudit({ actor: "a", action: "x", target: `t${i}` }));
        await catalog.db
          .deleteFrom("audit_events")
          .where("event_id", "=", events[1]?.eventId ?? "")
          .execute();
        expect(await catalog.verifyAuditChain()).toMatchObject({
          ok: false,
          eventCount: 1,
          seq: events[2]?.seq,
        });
        // Putting the row back repairs it; changing the actor and recomputing only that hash does not.
        const e1 = events[1];
        if (e1 === undefined) throw new Error("unreachable");
        await catalog.db
          .insertInto("audit_events")
          .values({
            seq: e1.seq,
            event_id: e1.eventId,
            actor: e1.actor,
            action: e1.action,
            target: e1.target,
            at_ns: e1.atNs,
            details: "{}",
            prev_hash: e1.prevHash,
            hash: e1.hash,
          })
          .execute();
        expect(await catalog.verifyAuditChain()).toMatchObject({ ok: true, eventCount: 4 });
        await catalog.db
          .updateTable("audit_events")
          .set({ actor: "mallory", hash: sha256Hex("forged") })
          .where("event_id", "=", e1.eventId)
          .execute();
        expect(await catalog.verifyAuditChain()).toMatchObject({ ok: false, eventCount: 1, seq: e1.seq });
      });

      it("stays one chain under concurrent appends, on one connection pool and across two", async () => {
        const other = await reopen();
        const writes = [];
        for (let i = 0; i < 20; i += 1) {
          writes.push(
            (i % 2 ? other : catalog).appendAudit({
              actor: `w${i}`,
              action: "x",
              target: "t",
              details: { i },
            }),
          );
        }
        const appended = await Promise.all(writes);
        expect(new Set(appended.map((e) => e.prevHash)).size).toBe(20);
        expect(await catalog.verifyAuditChain()).toMatchObject({ ok: true, eventCount: 20 });
        const listed = await other.listAudit();
        expect(listed.length).toBe(20);
        for (let i = 1; i < listed.length; i += 1) expect(listed[i]?.prevHash).toBe(listed[i - 1]?.hash);
      });
    });

    describe("API tokens", () => {
      it("insert, find by hash, list, revoke (idempotent)", async () => {
        const token = await catalog.insertToken({
          name: "ci",
          role: "editor",
          tokenHash: sha256Hex("secret"),
          createdAtNs: T0,
        });
        expect(token).toEqual({
          tokenId: token.tokenId,
          name: "ci",
          role: "editor",
          tokenHash: sha256Hex("secret"),
          createdAtNs: T0,
          revokedAtNs: null,
        });
        expect(token.tokenId).toMatch(/^tok_/);
        expect(await catalog.findTokenByHash(sha256Hex("secret"))).toEqual(token);
        expect(await catalog.findTokenByHash(sha256Hex("other"))).toBeUndefined();
        await expect(
          catalog.insertToken({ name: "dup", role: "viewer", tokenHash: sha256Hex("secret") }),
        ).rejects.toMatchObject({
          code: "STRATA_E_CONFLICT",
        });
        const admin = await catalog.insertToken({
          tokenId: "tok_admin",
          name: "admin",
          role: "admin",
          tokenHash: sha256Hex("root"),
          createdAtNs: T0 + 1n,
        });
        expect((await catalog.listTokens()).map((t) => t.tokenId)).toEqual([token.tokenId, admin.tokenId]);
        const revoked = await catalog.revokeToken(token.tokenId, T0 + 10n);
        expect(revoked.revokedAtNs).toBe(T0 + 10n);
        expect((await catalog.revokeToken(token.tokenId, T0 + 20n)).revokedAtNs).toBe(T0 + 10n);
        expect((await catalog.findTokenByHash(sha256Hex("secret")))?.revokedAtNs).toBe(T0 + 10n);
        await expect(catalog.revokeToken("tok_nope")).rejects.toMatchObject({ code: "STRATA_E_NOT_FOUND" });
      });
    });

    it("exposes the typed query builder for later modules", async () => {
      await catalog.insertCapture(capture(1, { site: "lab" }));
      const rows = await catalog.db
        .selectFrom("captures")
        .select(["capture_id", "site", "size_bytes"])
        .execute();
      expect(rows).toEqual([
        { capture_id: `cap_${capture(1).sha256.slice(0, 16)}`, site: "lab", size_bytes: 1001n },
      ]);
    });
  });
}

function capture(i: number, overrides: Partial<NewCapture> = {}): NewCapture {
  return {
    sha256: sha256Hex(`capture ${i}`),
    format: "mcap",
    sizeBytes: 1000 + i,
    startNs: T0,
    endNs: T0 + 10n,
    messageCount: 7,
    rig: "rig-1",
    site: "site-a",
    region: "eu",
    sourcePath: `/data/${i}.mcap`,
    ingestedAtNs: T0 + 1n,
    ...overrides,
  };
}
