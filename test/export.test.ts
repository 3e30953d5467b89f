/**
 * Window export: the exported MCAP re-reads with @mcap/core (its own indexed and stream readers, not
 * Strata's) with exactly the selected messages — count, order, bytes, times, sequence — and the source's
 * schemas; exported ROS 1 bags read with Debian's python3-rosbag with the counts and bytes python3-rosbag
 * itself reads from the source window. Lineage and audit are recorded.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { McapIndexedReader, McapStreamReader, type TypedMcapRecords } from "@mcap/core";
import { loadDecompressHandlers } from "@mcap/support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStrata, exportCaptureWindow, resolveConfig, type Strata } from "../src/app/index.ts";
import { openFileSource } from "../src/formats/index.ts";
import {
  TEST_CAPTURE_START_NS,
  type TestMessage,
  writeTestCapture,
} from "../src/pipelines/export/test-support.ts";
import { fixtures, json, strata as strataCli, tempDir } from "./helpers.ts";

const SEC = 1_000_000_000n;

interface McapFile {
  index: McapIndexedReader;
  /** Messages in file order (stream reader), with their topic. */
  fileOrder: (TypedMcapRecords["Message"] & { topic: string })[];
  schemas: TypedMcapRecords["Schema"][];
  channels: TypedMcapRecords["Channel"][];
  metadata: TypedMcapRecords["Metadata"][];
  attachments: TypedMcapRecords["Attachment"][];
  close(): Promise<void>;
}

/** Reads an MCAP file with @mcap/core alone: its indexed reader and, independently, its stream reader. */
async function readMcap(file: string): Promise<McapFile> {
  const decompressHandlers = await loadDecompressHandlers();
  const source = await openFileSource(file);
  const index = await McapIndexedReader.Initialize({ readable: source, decompressHandlers });
  const stream = new McapStreamReader({ decompressHandlers, validateCrcs: true });
  stream.append(readFileSync(file));
  const channels = new Map<number, TypedMcapRecords["Channel"]>();
  const out: Omit<McapFile, "index" | "close"> = {
    fileOrder: [],
    schemas: [],
    channels: [],
    metadata: [],
    attachments: [],
  };
  for (let record = stream.nextRecord(); record; record = stream.nextRecord()) {
    if (record.type === "Schema") out.schemas.push(record);
    if (record.type === "Channel" && !channels.has(record.id)) {
      channels.set(record.id, record);
      out.channels.push(record);
    }
    if (record.type === "Metadata") out.metadata.push(record);
    if (record.type === "Attachment") out.attachments.push(record);
    if (record.type === "Message")
      out.fileOrder.push({ ...record, topic: channels.get(record.channelId)?.topic ?? "?" });
  }
  expect(stream.done()).toBe(true);
  return { ...out, index, close: async () => source.close?.() };
}

const hex = (data: Uint8Array) => Buffer.from(data).toString("hex");
const byTime = <T extends { logTime: bigint }>(a: T, b: T) =>
  a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0;

/** A comparable view of a message (ties in log time are ordered by topic and bytes). */
function key(m: { topic: string; logTime: bigint; publishTime: bigint; sequence: number; data: Uint8Array }) {
  return `${m.logTime}|${m.topic}|${m.publishTime}|${m.sequence}|${hex(m.data)}`;
}

function python(script: string): string {
  const result = spawnSync("/usr/bin/python3", ["-c", script], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return result.stdout;
}

describe("window export", () => {
  let dir: string;
  let cleanup: () => void;
  let strata: Strata;
  let synthetic: { captureId: string; path: string; messages: TestMessage[] };
  let nav2: { captureId: string; startNs: bigint };
  let ros1: { captureId: string; startNs: bigint };

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir("strata-export-"));
    strata = await createStrata(resolveConfig({ home: path.join(dir, "home"), env: {} }));
    const file = path.join(dir, "synthetic.mcap");
    const messages = await writeTestCapture(file, { durationSecs: 10 });
    synthetic = { captureId: (await strata.ingest(file)).captureId, path: file, messages };
    const nav = await strata.ingest(path.join(fixtures, "rosbag2/evo/nav2_turtlebot.mcap"));
    nav2 = {
      captureId: nav.captureId,
      startNs: (await strata.catalog.getCapture(nav.captureId))?.startNs ?? 0n,
    };
    const bag = await strata.ingest(path.join(fixtures, "ros1/example.bag"));
    ros1 = {
      captureId: bag.captureId,
      startNs: (await strata.catalog.getCapture(bag.captureId))?.startNs ?? 0n,
    };
  });
  afterAll(async () => {
    await strata.close();
    cleanup();
  });

  it("writes exactly the window's messages of the chosen topics (count, order, bytes) from a capture built with the MCAP writer", async () => {
    const startNs = TEST_CAPTURE_START_NS + 2n * SEC + 500_000_000n;
    const endNs = TEST_CAPTURE_START_NS + 5n * SEC + 2n; // inclusive: /imu_raw has a message at exactly +5 s + 2 ns
    const out = path.join(dir, "window.mcap");
    const { result, plan } = await exportCaptureWindow(strata, {
      capture: synthetic.captureId,
      format: "mcap",
      start: startNs.toString(),
      end: endNs.toString(),
      topics: ["/imu_raw", "/chatter"],
      out,
    });
    const expected = synthetic.messages.filter(
      (m) => m.topic !== "/camera_raw" && m.logTimeNs >= startNs && m.logTimeNs <= endNs,
    );
    expect(expected.at(-1)?.logTimeNs).toBe(endNs);
    expect(result.messageCount).toBe(expected.length);
    expect(plan.output.profile).toBe("ros2");

    const file = await readMcap(out);
    try {
      // Count, order and bytes, from the file's own order (stream reader) and from its index.
      const got = file.fileOrder.map((m) => ({
        topic: m.topic,
        logTimeNs: m.logTime,
        publishTimeNs: m.publishTime,
        sequence: m.sequence,
        data: hex(m.data),
      }));
      expect(got).toEqual(expected.map((m) => ({ ...m, data: hex(m.data) })));
      const indexed: bigint[] = [];
      for await (const m of file.index.readMessages()) indexed.push(m.logTime);
      expect(indexed).toEqual(expected.map((m) => m.logTimeNs));
      // Windows of the export through its index agree too.
      let inner = 0;
      for await (const _ of file.index.readMessages({
        startTime: startNs + SEC,
        endTime: startNs + 2n * SEC,
      }))
        inner++;
      expect(inner).toBe(
        expected.filter((m) => m.logTimeNs >= startNs + SEC && m.logTimeNs <= startNs + 2n * SEC).length,
      );

      // ROS 2 profile, schemas preserved, summary and indexes written.
      expect(file.index.header.profile).toBe("ros2");
      expect(file.index.statistics?.messageCount).toBe(BigInt(expected.length));
      expect(file.index.chunkIndexes.length).toBeGreaterThan(0);
      for (const chunk of file.index.chunkIndexes) expect(chunk.messageIndexOffsets.size).toBeGreaterThan(0);
      expect([...file.index.channelsById.values()].map((c) => c.topic).sort()).toEqual([
        "/chatter",
        "/imu_raw",
      ]);
      const schemas = [...file.index.schemasById.values()].map((s) => ({
        name: s.name,
        encoding: s.encoding,
        data: new TextDecoder().decode(s.data),
      }));
      expect(schemas.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
        { name: "std_msgs/msg/String", encoding: "ros2msg", data: "string data\n" },
        { name: "test_msgs/msg/Blob", encoding: "ros2msg", data: "uint8[] data\n" },
      ]);
      for (const channel of file.index.channelsById.values()) {
        expect(channel.messageEncoding).toBe("cdr");
        expect(Object.fromEntries(channel.metadata)).toEqual({ offered_qos_profiles: "" });
      }
      // Source metadata kept, provenance added; the attachment at +3 s is inside the window.
      const metadata = Object.fromEntries(file.metadata.map((m) => [m.name, Object.fromEntries(m.metadata)]));
      expect(metadata.rig).toEqual({ vehicle: "test-7" });
      expect(metadata["strata.export"]).toMatchObject({
        captureId: synthetic.captureId,
        startNs: startNs.toString(),
        endNs: endNs.toString(),
        topics: JSON.stringify(["/chatter", "/imu_raw"]),
      });
      expect(file.attachments.map((a) => a.name)).toEqual(["calibration.yaml"]);
      expect(file.index.attachmentIndexes.length).toBe(1);
      expect(file.index.metadataIndexes.length).toBe(2);
    } finally {
      await file.close();
    }

    // The file's hash is what lineage recorded, and the run names the input capture and window.
    const sha256 = createHash("sha256").update(readFileSync(out)).digest("hex");
    expect(result.sha256).toBe(sha256);
    const [run] = await strata.catalog.listRuns({ kind: "export.mcap", limit: 1 });
    expect(run?.status).toBe("completed");
    expect(run?.inputs).toEqual([
      {
        captureId: synthetic.captureId,
        sha256: (await strata.catalog.getCapture(synthetic.captureId))?.sha256,
        startNs: startNs.toString(),
        endNs: endNs.toString(),
        topics: ["/chatter", "/imu_raw"],
      },
    ]);
    expect(run?.outputs).toMatchObject([{ sha256, format: "mcap", messageCount: expected.length }]);
    expect(run?.codeVersion).toBe(strata.codeVersion);
    const [event] = await strata.catalog.listAudit({
      action: "capture.export.mcap",
      order: "desc",
      limit: 1,
    });
    expect(event?.target).toBe(synthetic.captureId);
    expect(event?.details).toMatchObject({ runId: run?.runId, sha256 });
    expect((await strata.catalog.verifyAuditChain()).ok).toBe(true);
  });

  it("is deterministic: the same request gives the same bytes", async () => {
    const request = {
      capture: synthetic.captureId,
      format: "mcap" as const,
      start: "+1s",
      end: "+2s",
    };
    const a = await exportCaptureWindow(strata, { ...request, out: path.join(dir, "a.mcap") });
    const b = await exportCaptureWindow(strata, { ...request, out: path.join(dir, "b.mcap") });
    expect(a.result.sha256).toBe(b.result.sha256);
    // Offsets count from the capture's first message (/chatter at START + 1 ns).
    const firstNs = TEST_CAPTURE_START_NS + 1n;
    expect((await strata.catalog.getCapture(synthetic.captureId))?.startNs).toBe(firstNs);
    const inWindow = synthetic.messages.filter(
      (m) => m.logTimeNs >= firstNs + SEC && m.logTimeNs <= firstNs + 2n * SEC,
    );
    expect(a.result.messageCount).toBe(inWindow.length);
  });

  it("exports a window of a real ROS 2 MCAP fixture with the fixture's exact messages and schemas", async () => {
    const startNs = nav2.startNs + 3n * SEC;
    const endNs = nav2.startNs + 9n * SEC;
    const out = path.join(dir, "nav2-window.mcap");
    const { result } = await exportCaptureWindow(strata, {
      capture: nav2.captureId,
      format: "mcap",
      start: "+3s",
      end: "+9s",
      topics: ["/tf", "/odom", "/amcl_pose"],
      out,
    });
    const source = await readMcap(path.join(fixtures, "rosbag2/evo/nav2_turtlebot.mcap"));
    const exported = await readMcap(out);
    try {
      const wanted = new Set(["/tf", "/odom", "/amcl_pose"]);
      const expected = source.fileOrder
        .filter((m) => wanted.has(m.topic) && m.logTime >= startNs && m.logTime <= endNs)
        .sort(byTime);
      expect(expected.length).toBeGreaterThan(500);
      expect(result.messageCount).toBe(expected.length);
      expect(exported.fileOrder.length).toBe(expected.length);
      // Log-time order in the file; the same messages (ties in log time compared as a set).
      for (let i = 1; i < exported.fileOrder.length; i++) {
        expect(exported.fileOrder[i]!.logTime >= exported.fileOrder[i - 1]!.logTime).toBe(true);
      }
      expect(exported.fileOrder.map((m) => m.logTime)).toEqual(expected.map((m) => m.logTime));
      expect(exported.fileOrder.map(key).sort()).toEqual(expected.map(key).sort());
      // Schemas as in the source, byte for byte.
      expect(exported.index.header.profile).toBe("ros2");
      const sourceSchemaOf = new Map(
        [...source.index.channelsById.values()].map((c) => [
          c.topic,
          source.index.schemasById.get(c.schemaId),
        ]),
      );
      for (const channel of exported.index.channelsById.values()) {
        const schema = exported.index.schemasById.get(channel.schemaId);
        const original = sourceSchemaOf.get(channel.topic);
        expect(schema?.name).toBe(original?.name);
        expect(schema?.encoding).toBe(original?.encoding);
        expect(hex(schema?.data ?? new Uint8Array())).toBe(hex(original?.data ?? new Uint8Array()));
      }
      // rosbag2's own metadata record counts the whole source file: not copied.
      expect(exported.metadata.map((m) => m.name)).not.toContain("rosbag2");
    } finally {
      await source.close();
      await exported.close();
    }
  });

  it("adds the last message before the window of each latched topic when asked (--with-latched)", async () => {
    const startNs = nav2.startNs + 5n * SEC;
    const endNs = nav2.startNs + 6n * SEC;
    const out = path.join(dir, "nav2-latched.mcap");
    const { plan, result } = await exportCaptureWindow(strata, {
      capture: nav2.captureId,
      format: "mcap",
      start: startNs.toString(),
      end: endNs.toString(),
      topics: ["/tf", "/tf_static"],
      includeLatched: true,
      out,
    });
    expect(plan.latchedTopics).toEqual(["/tf_static"]);
    const source = await readMcap(path.join(fixtures, "rosbag2/evo/nav2_turtlebot.mcap"));
    const exported = await readMcap(out);
    try {
      const before = source.fileOrder
        .filter((m) => m.topic === "/tf_static" && m.logTime < startNs)
        .sort(byTime);
      const latched = before.at(-1);
      if (!latched) throw new Error("the fixture has no /tf_static before the window");
      const window = source.fileOrder
        .filter(
          (m) =>
            (m.topic === "/tf" || m.topic === "/tf_static") && m.logTime >= startNs && m.logTime <= endNs,
        )
        .sort(byTime);
      expect(exported.fileOrder.map(key)).toEqual([latched, ...window].map(key));
      expect(result.messageCount).toBe(window.length + 1);
    } finally {
      await source.close();
      await exported.close();
    }
  });

  it("exports a ROS 1 capture's window as a ROS 1 bag that python3-rosbag reads with the source window's counts and bytes", async () => {
    const startNs = ros1.startNs + 4n * SEC;
    const endNs = ros1.startNs + 11n * SEC;
    for (const compression of ["none", "lz4"] as const) {
      const out = path.join(dir, `window-${compression}.bag`);
      const { result } = await exportCaptureWindow(strata, {
        capture: ros1.captureId,
        format: "bag",
        start: startNs.toString(),
        end: endNs.toString(),
        topics: ["/tf", "/turtle1/pose", "/turtle2/cmd_vel"],
        out,
        compression,
      });
      const summarize = (file: string, window: boolean) => `
import rosbag, rospy, hashlib, json
bag = rosbag.Bag(${JSON.stringify(file)})
kw = {}
${window ? `kw = dict(topics=["/tf", "/turtle1/pose", "/turtle2/cmd_vel"], start_time=rospy.Time(${startNs / SEC}, ${startNs % SEC}), end_time=rospy.Time(${endNs / SEC}, ${endNs % SEC}))` : ""}
counts, digests, types = {}, {}, {}
for topic, raw, t in bag.read_messages(raw=True, **kw):
    counts[topic] = counts.get(topic, 0) + 1
    digests.setdefault(topic, hashlib.sha256()).update(raw[1])
    types[topic] = (raw[0], raw[2])
info = bag.get_type_and_topic_info()[1]
print(json.dumps({"counts": counts, "digests": {k: v.hexdigest() for k, v in digests.items()}, "types": types,
                  "declared": {k: v.message_count for k, v in info.items()} if not ${window ? "True" : "False"} else None}))
`;
      const exported = JSON.parse(python(summarize(out, false))) as {
        counts: Record<string, number>;
        digests: Record<string, string>;
        types: Record<string, [string, string]>;
        declared: Record<string, number>;
      };
      const source = JSON.parse(
        python(summarize(path.join(fixtures, "ros1/example.bag"), true)),
      ) as typeof exported;
      expect(exported.counts).toEqual(source.counts);
      expect(exported.declared).toEqual(source.counts);
      expect(exported.digests).toEqual(source.digests);
      expect(exported.types).toEqual(source.types);
      expect(result.messageCount).toBe(Object.values(source.counts).reduce((a, b) => a + b, 0));
      // python3-rosbag also deserialises them (definitions and md5sums are consistent).
      expect(
        python(`
import rosbag
n = 0
for topic, msg, t in rosbag.Bag(${JSON.stringify(out)}).read_messages(topics=["/turtle1/pose"]):
    n += 1; last = msg
print(n, round(last.x, 3) >= 0)
`).trim(),
      ).toBe(`${source.counts["/turtle1/pose"]} True`);
    }
  });

  it("exports a ROS 1 capture as MCAP with the ros1 profile", async () => {
    const out = path.join(dir, "ros1.mcap");
    const { result } = await exportCaptureWindow(strata, {
      capture: ros1.captureId,
      format: "mcap",
      start: "+4s",
      end: "+11s",
      out,
    });
    const file = await readMcap(out);
    try {
      expect(file.index.header.profile).toBe("ros1");
      expect(file.fileOrder.length).toBe(result.messageCount);
      for (const schema of file.index.schemasById.values()) expect(schema.encoding).toBe("ros1msg");
      for (const channel of file.index.channelsById.values()) {
        expect(channel.messageEncoding).toBe("ros1");
        expect(channel.metadata.get("md5sum")).toMatch(/^[0-9a-f]{32}$/);
      }
    } finally {
      await file.close();
    }
  });

  it("refuses what it cannot do, with coded errors and nothing written", async () => {
    const out = path.join(dir, "refused.bag");
    await expect(
      exportCaptureWindow(strata, { capture: nav2.captureId, format: "bag", out }),
    ).rejects.toMatchObject({ code: "STRATA_E_UNSUPPORTED" });
    await expect(
      exportCaptureWindow(strata, { capture: nav2.captureId, format: "mcap", topics: ["/nope"], out }),
    ).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
    await expect(
      exportCaptureWindow(strata, { capture: nav2.captureId, format: "mcap", start: "+5s", end: "+1s", out }),
    ).rejects.toMatchObject({ code: "STRATA_E_USAGE" });
    await expect(
      exportCaptureWindow(strata, { capture: "cap_0000000000000000", format: "mcap", out }),
    ).rejects.toMatchObject({ code: "STRATA_E_NOT_FOUND" });
    expect(() => readFileSync(out)).toThrow();
  });

  it("works from the CLI (--explain plans without writing; --json reports the run)", () => {
    const home = path.join(dir, "cli-home");
    const bag = path.join(fixtures, "ros1/example.bag");
    const [ingested] = json<{ captureId: string }[]>(strataCli(["ingest", bag, "--json"], home));
    const out = path.join(dir, "cli.mcap");
    const plan = json<{ window: { durationSecs: number }; output: { profile: string } }>(
      strataCli(
        [
          "export",
          "mcap",
          ingested?.captureId ?? "",
          "--start",
          "+1s",
          "--end",
          "+3s",
          "--out",
          out,
          "--explain",
          "--json",
        ],
        home,
      ),
    );
    expect(plan.window.durationSecs).toBe(2);
    expect(plan.output.profile).toBe("ros1");
    expect(() => readFileSync(out)).toThrow();
    const done = json<{ sha256: string; messageCount: number; runId: string }>(
      strataCli(
        [
          "export",
          "mcap",
          ingested?.captureId ?? "",
          "--start",
          "+1s",
          "--end",
          "+3s",
          "--topics",
          "/tf,/turtle1/pose",
          "--out",
          out,
          "--json",
        ],
        home,
      ),
    );
    expect(done.sha256).toBe(createHash("sha256").update(readFileSync(out)).digest("hex"));
    expect(done.messageCount).toBeGreaterThan(0);
    const failed = strataCli(["export", "bag", "cap_0000000000000000", "--out", out, "--json"], home);
    expect(failed.status).toBe(3);
    expect(JSON.parse(failed.stderr).error.code).toBe("STRATA_E_NOT_FOUND");
  });
});
