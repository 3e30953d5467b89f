/**
 * Generates big logs for benchmarks and memory/crash tests (never committed): 8 topics mixing ~1 KB
 * messages (IMU-, odometry-, TF-like rates) and ~200 KB messages (camera-like), part noise and part
 * structure so compression has real work. Deterministic for a given size and seed.
 */
import { createMcapFileWriter, createRos1BagWriter, type McapCompression, ros1Md5FromText } from "../../src/formats/index.ts";

interface TopicPlan {
  topic: string;
  periodNs: bigint;
  bytes: number;
}

const TOPICS: TopicPlan[] = [
  { topic: "/imu", periodNs: 5_000_000n, bytes: 1_024 },
  { topic: "/odom", periodNs: 20_000_000n, bytes: 1_024 },
  { topic: "/tf", periodNs: 20_000_000n, bytes: 900 },
  { topic: "/gps/fix", periodNs: 100_000_000n, bytes: 800 },
  { topic: "/diagnostics", periodNs: 1_000_000_000n, bytes: 1_500 },
  { topic: "/perception/objects", periodNs: 100_000_000n, bytes: 1_200 },
  { topic: "/camera_front/image", periodNs: 100_000_000n, bytes: 200_000 },
  { topic: "/camera_left/image", periodNs: 100_000_000n, bytes: 200_000 },
];

/** Bytes of one simulated second across all topics. */
const BYTES_PER_SEC = TOPICS.reduce((sum, t) => sum + Number(1_000_000_000n / t.periodNs) * t.bytes, 0);

class Payloads {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }
  /** Half xorshift noise (incompressible), half a gradient with a moving offset (compressible). */
  fill(buffer: Uint8Array, sequence: number): void {
    const words = new Uint32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength >>> 2);
    const half = words.length >>> 1;
    let x = this.#state;
    for (let i = 0; i < half; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
    this.#state = x >>> 0;
    for (let i = half; i < words.length; i++) words[i] = ((i + sequence) & 0xff) * 0x01010101;
  }
}

export interface LargeLogOptions {
  targetBytes: number;
  seed?: number;
  /** MCAP only (default zstd). */
  compression?: McapCompression;
  startNs?: bigint;
}

export interface LargeLogResult {
  messageCount: number;
  durationSecs: number;
}

/** Messages of all topics in log-time order until about `targetBytes` of payload are written. */
function* schedule(options: LargeLogOptions): Generator<{ topicIndex: number; logTimeNs: bigint; sequence: number }> {
  const durationSecs = Math.max(1, Math.ceil(options.targetBytes / BYTES_PER_SEC));
  const startNs = options.startNs ?? 1_700_000_000_000_000_000n;
  const endNs = startNs + BigInt(durationSecs) * 1_000_000_000n;
  const next = TOPICS.map(() => startNs);
  const sequences = TOPICS.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < TOPICS.length; i++) if (best < 0 || (next[i] ?? endNs) < (next[best] ?? endNs)) best = i;
    const t = next[best] ?? endNs;
    if (t >= endNs) return;
    yield { topicIndex: best, logTimeNs: t, sequence: sequences[best] ?? 0 };
    next[best] = t + (TOPICS[best]?.periodNs ?? 1n);
    sequences[best] = (sequences[best] ?? 0) + 1;
  }
}

export async function writeLargeMcap(path: string, options: LargeLogOptions): Promise<LargeLogResult> {
  const writer = await createMcapFileWriter(path, { profile: "", compression: options.compression ?? "zstd" });
  const schemaId = await writer.addSchema({ name: "bench/Blob", encoding: "", data: new Uint8Array() });
  const channelIds: number[] = [];
  for (const t of TOPICS) channelIds.push(await writer.addChannel({ topic: t.topic, schemaId, messageEncoding: "bytes" }));
  const payloads = new Payloads(options.seed ?? 1);
  const buffers = TOPICS.map((t) => new Uint8Array(t.bytes));
  let messageCount = 0;
  let lastNs = 0n;
  for (const { topicIndex, logTimeNs, sequence } of schedule(options)) {
    const data = buffers[topicIndex] ?? new Uint8Array();
    payloads.fill(data, sequence);
    await writer.addMessage({ channelId: channelIds[topicIndex] ?? 0, logTimeNs, sequence, data });
    messageCount++;
    lastNs = logTimeNs;
  }
  await writer.end();
  return { messageCount, durationSecs: Number(lastNs - (options.startNs ?? 1_700_000_000_000_000_000n)) / 1e9 };
}

export async function writeLargeBag(path: string, options: LargeLogOptions): Promise<LargeLogResult> {
  const writer = await createRos1BagWriter(path, { compression: "none" });
  const definition = "uint8[] data\n";
  const md5sum = ros1Md5FromText(definition);
  const connectionIds: number[] = [];
  for (const t of TOPICS) {
    connectionIds.push(writer.addConnection({ topic: t.topic, type: "bench_msgs/Blob", md5sum, messageDefinition: definition }));
  }
  const payloads = new Payloads(options.seed ?? 1);
  let messageCount = 0;
  let lastNs = 0n;
  for (const { topicIndex, logTimeNs, sequence } of schedule(options)) {
    const bytes = TOPICS[topicIndex]?.bytes ?? 0;
    // ROS 1 serialisation of `uint8[] data`: uint32 length, then the bytes.
    const data = new Uint8Array(4 + bytes);
    new DataView(data.buffer).setUint32(0, bytes, true);
    payloads.fill(data.subarray(4), sequence);
    await writer.addMessage({ connectionId: connectionIds[topicIndex] ?? 0, timeNs: logTimeNs, data });
    messageCount++;
    lastNs = logTimeNs;
  }
  await writer.close();
  return { messageCount, durationSecs: Number(lastNs - (options.startNs ?? 1_700_000_000_000_000_000n)) / 1e9 };
}
