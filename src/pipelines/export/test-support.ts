/**
 * Test support (used by test/export, test/replay, test/bundle): a small deterministic ROS 2 capture
 * written with the MCAP writer — three CDR topics at different rates, distinct log times across topics,
 * small chunks (so a window touches only some of them), a metadata record and an attachment.
 */
import { createMcapFileWriter } from "../../formats/index.ts";

export const TEST_CAPTURE_START_NS = 1_700_000_000_000_000_000n;

export interface TestTopic {
  topic: string;
  schemaName: string;
  definition: string;
  periodNs: bigint;
  /** Added to every log time, so no two topics share a time. */
  offsetNs: bigint;
  payloadBytes: number;
}

export const TEST_TOPICS: readonly TestTopic[] = [
  {
    topic: "/chatter",
    schemaName: "std_msgs/msg/String",
    definition: "string data\n",
    periodNs: 100_000_000n,
    offsetNs: 1n,
    payloadBytes: 24,
  },
  {
    topic: "/imu_raw",
    schemaName: "test_msgs/msg/Blob",
    definition: "uint8[] data\n",
    periodNs: 10_000_000n,
    offsetNs: 2n,
    payloadBytes: 200,
  },
  {
    topic: "/camera_raw",
    schemaName: "test_msgs/msg/Blob",
    definition: "uint8[] data\n",
    periodNs: 50_000_000n,
    offsetNs: 3n,
    payloadBytes: 20_000,
  },
];

export interface TestMessage {
  topic: string;
  logTimeNs: bigint;
  publishTimeNs: bigint;
  sequence: number;
  data: Uint8Array;
}

/** CDR (little endian) of a message with one string or one uint8[] field. */
function cdr(topic: TestTopic, index: number): Uint8Array {
  if (topic.schemaName === "std_msgs/msg/String") {
    const text = new TextEncoder().encode(`hello ${index}`.padEnd(topic.payloadBytes - 9, "."));
    const out = new Uint8Array(4 + 4 + text.byteLength + 1);
    out.set([0, 1, 0, 0]);
    new DataView(out.buffer).setUint32(4, text.byteLength + 1, true);
    out.set(text, 8);
    return out;
  }
  const out = new Uint8Array(4 + 4 + topic.payloadBytes);
  out.set([0, 1, 0, 0]);
  new DataView(out.buffer).setUint32(4, topic.payloadBytes, true);
  let x = (index * 2654435761 + topic.topic.length) >>> 0 || 1;
  for (let i = 8; i < out.byteLength; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = i % 3 === 0 ? x & 0xff : i & 0xff;
  }
  return out;
}

/** Every message of the capture, in log-time order. */
export function testMessages(durationSecs: number): TestMessage[] {
  const endNs = TEST_CAPTURE_START_NS + BigInt(durationSecs) * 1_000_000_000n;
  const out: TestMessage[] = [];
  for (const topic of TEST_TOPICS) {
    for (let i = 0; ; i++) {
      const logTimeNs = TEST_CAPTURE_START_NS + BigInt(i) * topic.periodNs + topic.offsetNs;
      if (logTimeNs >= endNs) break;
      out.push({
        topic: topic.topic,
        logTimeNs,
        publishTimeNs: logTimeNs - 1_000n,
        sequence: i,
        data: cdr(topic, i),
      });
    }
  }
  return out.sort((a, b) => (a.logTimeNs < b.logTimeNs ? -1 : a.logTimeNs > b.logTimeNs ? 1 : 0));
}

/** Writes the capture to `path` and returns its messages (log-time order). */
export async function writeTestCapture(
  path: string,
  options: { durationSecs?: number; chunkSize?: number } = {},
): Promise<TestMessage[]> {
  const messages = testMessages(options.durationSecs ?? 10);
  const writer = await createMcapFileWriter(path, {
    profile: "ros2",
    compression: "zstd",
    chunkSize: options.chunkSize ?? 64 * 1024,
  });
  const channelIds = new Map<string, number>();
  const schemaIds = new Map<string, number>();
  for (const topic of TEST_TOPICS) {
    let schemaId = schemaIds.get(topic.schemaName);
    if (schemaId === undefined) {
      schemaId = await writer.addSchema({
        name: topic.schemaName,
        encoding: "ros2msg",
        data: new TextEncoder().encode(topic.definition),
      });
      schemaIds.set(topic.schemaName, schemaId);
    }
    channelIds.set(
      topic.topic,
      await writer.addChannel({
        topic: topic.topic,
        schemaId,
        messageEncoding: "cdr",
        metadata: { offered_qos_profiles: "" },
      }),
    );
  }
  await writer.addMetadata({ name: "rig", metadata: { vehicle: "test-7" } });
  await writer.addAttachment({
    name: "calibration.yaml",
    mediaType: "application/yaml",
    logTimeNs: TEST_CAPTURE_START_NS + 3_000_000_000n,
    createTimeNs: TEST_CAPTURE_START_NS,
    data: new TextEncoder().encode("camera: front\n"),
  });
  for (const m of messages) {
    await writer.addMessage({
      channelId: channelIds.get(m.topic) ?? 0,
      logTimeNs: m.logTimeNs,
      publishTimeNs: m.publishTimeNs,
      sequence: m.sequence,
      data: m.data,
    });
  }
  await writer.end();
  return messages;
}
