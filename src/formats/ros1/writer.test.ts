import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StrataError } from "../../core/index.ts";
import { commonSchemaText, encoderFor, ros1Md5 } from "../codec/index.ts";
import { openFileSource } from "../node-source.ts";
import type { LogMessage } from "../types.ts";
import { openRos1Reader } from "./reader.ts";
import { fieldOp, fieldUint64, parseRecord } from "./records.ts";
import { createRos1BagWriter, type Ros1BagWriterOptions } from "./writer.ts";

let tempDir = "";
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), "strata-ros1-writer-"));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

const POSE_TYPE = "geometry_msgs/PoseStamped";
const poseText = commonSchemaText(POSE_TYPE, "ros1");
const encodePose = encoderFor("ros1", POSE_TYPE, poseText);

function pose(i: number, frameId: string): Uint8Array {
  return encodePose({
    header: { seq: i, stamp: { sec: 100 + i, nsec: 5 }, frame_id: frameId },
    pose: { position: { x: i, y: -i, z: 0.5 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
  });
}

/**
 * Writes a bag with three connections on two topics (two connections share `/pose`), messages in
 * time order (so rosbag's file-order reading agrees with ours), spread over several chunks.
 */
async function writeSample(name: string, options: Ros1BagWriterOptions): Promise<string> {
  const bagPath = path.join(tempDir, name);
  const writer = await createRos1BagWriter(bagPath, options);
  const md5sum = ros1Md5(POSE_TYPE);
  const poseA = writer.addConnection({
    topic: "/pose",
    type: POSE_TYPE,
    md5sum,
    messageDefinition: poseText,
    callerid: "/a",
  });
  const poseB = writer.addConnection({
    topic: "/pose",
    type: POSE_TYPE,
    md5sum,
    messageDefinition: poseText,
    callerid: "/b",
    latching: true,
  });
  const other = writer.addConnection({
    topic: "/other",
    type: POSE_TYPE,
    md5sum,
    messageDefinition: poseText,
  });
  for (let i = 0; i < 200; i++) {
    const connectionId = i % 5 === 0 ? other : i % 2 === 0 ? poseA : poseB;
    await writer.addMessage({
      connectionId,
      timeNs: 1_700_000_000_000_000_000n + BigInt(i) * 10_000_000n,
      data: pose(i, `f${i}`),
    });
  }
  const result = await writer.close();
  expect(result).toMatchObject({ path: bagPath, messageCount: 200n, connectionCount: 3 });
  expect(result.chunkCount).toBeGreaterThan(1);
  expect(existsSync(`${bagPath}.tmp`)).toBe(false);
  return bagPath;
}

async function readAll(bagPath: string): Promise<LogMessage[]> {
  const reader = await openRos1Reader(await openFileSource(bagPath));
  const out: LogMessage[] = [];
  for await (const message of reader.messages({ decode: true })) out.push(message);
  await reader.close();
  return out;
}

/** The first interpreter that can `import rosbag` (Debian's python3-rosbag installs into /usr/bin/python3). */
function pythonWithRosbag(): { python?: string; reason: string } {
  const reasons: string[] = [];
  for (const python of ["/usr/bin/python3", "python3"]) {
    const probe = spawnSync(python, ["-c", "import rosbag"], { encoding: "utf8" });
    if (probe.status === 0) return { python, reason: "" };
    reasons.push(`${python}: ${probe.error?.message ?? probe.stderr.trim().split("\n").pop()}`);
  }
  return { reason: reasons.join("; ") };
}

describe("createRos1BagWriter", () => {
  for (const compression of ["none", "lz4"] as const) {
    it(`round-trips through openRos1Reader (${compression})`, async () => {
      const bagPath = await writeSample(`sample-${compression}.bag`, { compression, chunkSizeBytes: 4096 });
      const reader = await openRos1Reader(await openFileSource(bagPath));
      const summary = await reader.summary();
      expect(summary.messageCount).toBe(200n);
      expect(summary.channels.map((c) => [c.id, c.topic, c.metadata])).toEqual([
        [0, "/pose", { md5sum: ros1Md5(POSE_TYPE), callerid: "/a" }],
        [1, "/pose", { md5sum: ros1Md5(POSE_TYPE), callerid: "/b", latching: "1" }],
        [2, "/other", { md5sum: ros1Md5(POSE_TYPE) }],
      ]);
      expect(summary.schemas).toHaveLength(1);
      expect(summary.topics.map((t) => [t.topic, t.messageCount])).toEqual([
        ["/other", 40n],
        ["/pose", 160n],
      ]);
      expect(summary.metadata[0]?.metadata.compression).toBe(compression);
      await reader.close();
      const messages = await readAll(bagPath);
      expect(messages).toHaveLength(200);
      const first = messages[7]!.decoded as {
        header: { frame_id: string };
        pose: { position: { x: number } };
      };
      expect(first.header.frame_id).toBe("f7");
      expect(first.pose.position.x).toBe(7);
    });
  }

  it("writes the header padded to 4096 bytes and the index position", async () => {
    const bagPath = await writeSample("layout.bag", { chunkSizeBytes: 4096 });
    const bytes = new Uint8Array(readFileSync(bagPath));
    expect(new TextDecoder().decode(bytes.subarray(0, 13))).toBe("#ROSBAG V2.0\n");
    const header = parseRecord(bytes, 13);
    expect(header.recordBytes).toBe(4096 + 8);
    expect(fieldOp(header.fields)).toBe(3);
    const indexPosition = Number(fieldUint64(header.fields, "index_pos"));
    expect(fieldOp(parseRecord(bytes, indexPosition).fields)).toBe(7);
    expect(fieldOp(parseRecord(bytes, 4117).fields)).toBe(5);
  });

  it("is deterministic: the same calls give the same bytes", async () => {
    const a = readFileSync(await writeSample("det-a.bag", { compression: "lz4", chunkSizeBytes: 3000 }));
    const b = readFileSync(await writeSample("det-b.bag", { compression: "lz4", chunkSizeBytes: 3000 }));
    expect(a.equals(b)).toBe(true);
  });

  it("accepts out-of-order times: reader sorts, chunk infos cover the true range", async () => {
    const bagPath = path.join(tempDir, "unordered.bag");
    const writer = await createRos1BagWriter(bagPath, { chunkSizeBytes: 200 });
    const id = writer.addConnection({
      topic: "t",
      type: POSE_TYPE,
      md5sum: ros1Md5(POSE_TYPE),
      messageDefinition: poseText,
    });
    const order = [5, 1, 9, 3, 7, 0, 8, 2, 6, 4];
    for (const i of order)
      await writer.addMessage({ connectionId: id, timeNs: BigInt(i) * 1_000_000_000n, data: pose(i, "x") });
    await writer.close();
    const messages = await readAll(bagPath);
    expect(messages.map((m) => Number(m.logTimeNs / 1_000_000_000n))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("an empty bag (connections, no messages) reads back", async () => {
    const bagPath = path.join(tempDir, "empty.bag");
    const writer = await createRos1BagWriter(bagPath);
    writer.addConnection({
      topic: "t",
      type: POSE_TYPE,
      md5sum: ros1Md5(POSE_TYPE),
      messageDefinition: poseText,
    });
    expect(await writer.close()).toMatchObject({ chunkCount: 0, messageCount: 0n });
    const reader = await openRos1Reader(await openFileSource(bagPath));
    const summary = await reader.summary();
    expect(summary.messageCount).toBe(0n);
    expect(summary.startTimeNs).toBeUndefined();
    expect(summary.topics).toEqual([
      { topic: "t", schemaName: POSE_TYPE, messageEncoding: "ros1", messageCount: 0n },
    ]);
    await reader.close();
  });

  it("rejects bad input with coded errors and abort() leaves no file", async () => {
    const bagPath = path.join(tempDir, "aborted.bag");
    const writer = await createRos1BagWriter(bagPath);
    expect(existsSync(`${bagPath}.tmp`)).toBe(true);
    await expect(
      writer.addMessage({ connectionId: 3, timeNs: 0n, data: new Uint8Array() }),
    ).rejects.toMatchObject({
      code: "STRATA_E_USAGE",
    });
    const id = writer.addConnection({ topic: "t", type: POSE_TYPE, md5sum: "x", messageDefinition: "" });
    await expect(
      writer.addMessage({ connectionId: id, timeNs: -1n, data: new Uint8Array() }),
    ).rejects.toBeInstanceOf(StrataError);
    await writer.abort();
    expect(existsSync(`${bagPath}.tmp`)).toBe(false);
    expect(existsSync(bagPath)).toBe(false);
    await expect(createRos1BagWriter(bagPath, { compression: "bz2" as "lz4" })).rejects.toMatchObject({
      code: "STRATA_E_USAGE",
    });
  });

  it("is read identically by Debian's python3-rosbag (reference implementation)", async () => {
    const { python, reason } = pythonWithRosbag();
    if (python === undefined) {
      console.log(`python3-rosbag check not run: ${reason} (apt-get install -y python3-rosbag to run it)`);
      return;
    }
    for (const compression of ["none", "lz4"] as const) {
      const bagPath = await writeSample(`python-${compression}.bag`, { compression, chunkSizeBytes: 4096 });
      const script = [
        "import json, sys, hashlib, rosbag",
        "bag = rosbag.Bag(sys.argv[1])",
        "info = bag.get_type_and_topic_info()",
        "out = {'compression': bag.get_compression_info().compression, 'count': bag.get_message_count(),",
        "  'topics': {t: [v.msg_type, v.message_count, v.connections] for t, v in info.topics.items()}, 'messages': []}",
        "for topic, msg, t in bag.read_messages():",
        "    out['messages'].append([topic, t.to_nsec(), msg.header.frame_id, msg.pose.position.x])",
        "for topic, raw, t in bag.read_messages(raw=True):",
        "    out.setdefault('sha', []).append(hashlib.sha256(raw[1]).hexdigest())",
        "print(json.dumps(out))",
      ].join("\n");
      const run = spawnSync(python, ["-c", script, bagPath], { encoding: "utf8" });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      const result = JSON.parse(run.stdout) as {
        compression: string;
        count: number;
        topics: Record<string, [string, number, number]>;
        messages: Array<[string, number, string, number]>;
        sha: string[];
      };
      expect(result.compression).toBe(compression);
      expect(result.count).toBe(200);
      expect(result.topics).toEqual({ "/pose": [POSE_TYPE, 160, 2], "/other": [POSE_TYPE, 40, 1] });
      const ours = await readAll(bagPath);
      expect(result.messages.map(([topic, , frameId, x]) => [topic, frameId, x])).toEqual(
        ours.map((m) => {
          const decoded = m.decoded as { header: { frame_id: string }; pose: { position: { x: number } } };
          return [m.topic, decoded.header.frame_id, decoded.pose.position.x];
        }),
      );
      // Python floats lose ns precision at 1.7e18; compare times as ms.
      expect(result.messages.map(([, t]) => Math.round(t / 1e6))).toEqual(
        ours.map((m) => Number(m.logTimeNs / 1_000_000n)),
      );
      const { createHash } = await import("node:crypto");
      expect(result.sha).toEqual(ours.map((m) => createHash("sha256").update(m.data).digest("hex")));
    }
  });
});
