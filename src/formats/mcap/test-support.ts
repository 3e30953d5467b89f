/** Helpers shared by the MCAP tests: in-memory sinks and deterministic synthetic logs. */
import type { ByteSink } from "../node-source.ts";
import { createMcapWriter, type McapWriterOptions } from "./writer.ts";

/** A sink that keeps everything in memory (tests only). */
export function memorySink(): ByteSink & { bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    async write(bytes) {
      parts.push(bytes);
    },
    bytes() {
      return Buffer.concat(parts);
    },
  };
}

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticMessage {
  topic: string;
  logTimeNs: bigint;
  sequence: number;
  data: Uint8Array;
}

/**
 * Messages on three topics, 10 ms apart, in log-time order, payloads partly random (so chunks
 * compress but not to nothing). Each payload starts with "MSG<n>;".
 */
export function syntheticMessages(count: number, payloadBytes: number, seed = 1): SyntheticMessage[] {
  const random = prng(seed);
  const topics = ["/imu", "/gps", "/camera/compressed"];
  const messages: SyntheticMessage[] = [];
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(payloadBytes);
    const head = new TextEncoder().encode(`MSG${i};`);
    data.set(head.subarray(0, payloadBytes));
    for (let k = head.byteLength; k < payloadBytes; k++)
      data[k] = k % 4 === 0 ? Math.floor(random() * 256) : k & 0xff;
    messages.push({
      topic: topics[i % 3] as string,
      logTimeNs: 1_700_000_000_000_000_000n + BigInt(i) * 10_000_000n,
      sequence: i,
      data,
    });
  }
  return messages;
}

/** Writes messages (in the given order) to an in-memory MCAP with one schemaless channel per topic. */
export async function writeSyntheticMcap(
  messages: readonly SyntheticMessage[],
  options: Partial<McapWriterOptions> = {},
): Promise<Uint8Array> {
  const sink = memorySink();
  const writer = await createMcapWriter(sink, { profile: "", compression: "zstd", ...options });
  const channelIds = new Map<string, number>();
  for (const message of messages) {
    let channelId = channelIds.get(message.topic);
    if (channelId === undefined) {
      channelId = await writer.addChannel({ topic: message.topic, schemaId: 0, messageEncoding: "raw" });
      channelIds.set(message.topic, channelId);
    }
    await writer.addMessage({
      channelId,
      logTimeNs: message.logTimeNs,
      publishTimeNs: message.logTimeNs,
      sequence: message.sequence,
      data: message.data,
    });
  }
  await writer.end();
  return sink.bytes();
}
