import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McapWriter } from "@mcap/core";
import { describe, expect, it } from "vitest";
import { isStrataError } from "../../core/index.ts";
import { bufferSource, openFileSource } from "../node-source.ts";
import type { ByteSource, LogMessage } from "../types.ts";
import { createMcapFileWriter, openMcapReader, recordStream } from "./index.ts";
import {
  memorySink,
  prng,
  type SyntheticMessage,
  syntheticMessages,
  writeSyntheticMcap,
} from "./test-support.ts";

const fixtures = new URL("../../../../shared/fixtures/", import.meta.url);
const fixture = (relative: string) => new URL(relative, fixtures).pathname;

async function collect(iterable: AsyncIterable<LogMessage>): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const m of iterable) out.push(m);
  return out;
}

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; offset: unknown }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStrataError(error)) throw new Error(`expected a StrataError, got ${String(error)}`);
  return { code: error.code, offset: error.context.offset };
}

/** Writes messages with @mcap/core directly, for layouts our writer never produces. */
async function writeRawLayout(
  messages: readonly SyntheticMessage[],
  layout: { useChunks: boolean; useChunkIndex: boolean; chunkSize?: number; summary: boolean },
): Promise<Uint8Array> {
  const sink = memorySink();
  let position = 0n;
  const writer = new McapWriter({
    writable: {
      write: async (b: Uint8Array) => {
        await sink.write(b.slice());
        position += BigInt(b.byteLength);
      },
      position: () => position,
    },
    useChunks: layout.useChunks,
    useChunkIndex: layout.useChunkIndex,
    chunkSize: layout.chunkSize ?? 50_000,
    useStatistics: layout.summary,
    repeatChannels: layout.summary,
    repeatSchemas: layout.summary,
    useSummaryOffsets: layout.summary,
    useAttachmentIndex: layout.summary,
    useMetadataIndex: layout.summary,
  });
  await writer.start({ profile: "", library: "layout-test" });
  const ids = new Map<string, number>();
  for (const m of messages) {
    let id = ids.get(m.topic);
    if (id === undefined) {
      id = await writer.registerChannel({
        topic: m.topic,
        schemaId: 0,
        messageEncoding: "raw",
        metadata: new Map(),
      });
      ids.set(m.topic, id);
    }
    await writer.addMessage({
      channelId: id,
      logTime: m.logTimeNs,
      publishTime: m.logTimeNs,
      sequence: m.sequence,
      data: m.data,
    });
  }
  await writer.addAttachment({
    name: "a.bin",
    mediaType: "application/octet-stream",
    logTime: 1n,
    createTime: 2n,
    data: new Uint8Array([9]),
  });
  await writer.end();
  return sink.bytes();
}

/** Expected order: stable sort by log time. */
function byLogTime(messages: readonly SyntheticMessage[]): SyntheticMessage[] {
  return [...messages].sort((a, b) => (a.logTimeNs < b.logTimeNs ? -1 : a.logTimeNs > b.logTimeNs ? 1 : 0));
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A ByteSource that counts the bytes read. */
function countingSource(inner: ByteSource): ByteSource & { bytesRead: number } {
  const counting = {
    name: inner.name,
    bytesRead: 0,
    size: () => inner.size(),
    read: async (offset: bigint, length: bigint) => {
      counting.bytesRead += Number(length);
      return await inner.read(offset, length);
    },
  };
  return counting;
}

describe("truncated multi-chunk MCAP", () => {
  const messages = syntheticMessages(6000, 700, 7);
  const fullPromise = writeSyntheticMcap(messages, { chunkSize: 256 * 1024 });

  it("the generated file is a few MB with many chunks and reads fully through the index", async () => {
    const full = await fullPromise;
    expect(full.byteLength).toBeGreaterThan(2_000_000);
    const reader = await openMcapReader(bufferSource("full.mcap", full));
    expect(reader.mode).toBe("indexed");
    expect(reader.statistics?.chunkCount).toBeGreaterThan(10);
    expect((await collect(reader.messages())).map((m) => m.sequence)).toEqual(
      messages.map((m) => m.sequence),
    );
  });

  const random = prng(99);
  const cuts = Array.from({ length: 12 }, () => random());
  it.each(cuts.map((fraction) => [fraction.toFixed(3), fraction] as const))(
    "cut at %s of the file: salvages whole chunks before the cut and warns with the offset",
    async (_label, fraction) => {
      const full = await fullPromise;
      const cut = Math.max(100, Math.floor(full.byteLength * fraction));
      const reader = await openMcapReader(bufferSource("cut.mcap", full.subarray(0, cut)));
      expect(reader.mode).toBe("streamed");
      const summary = await reader.summary();
      const warning = summary.warnings.find((w) => w.startsWith("the file is truncated"));
      expect(warning).toBeDefined();
      const stopAt = Number(/stopped at byte (\d+)/.exec(warning ?? "")?.[1]);
      expect(stopAt).toBeGreaterThan(0);
      expect(stopAt).toBeLessThanOrEqual(cut);
      const salvaged = await collect(reader.messages());
      // A prefix of the original (written in log-time order), byte for byte.
      expect(salvaged.map((m) => m.sequence)).toEqual(
        messages.slice(0, salvaged.length).map((m) => m.sequence),
      );
      for (const m of salvaged.slice(-3)) expect(m.data).toEqual(messages[m.sequence]?.data);
      expect(summary.messageCount).toBe(BigInt(salvaged.length));
      // Chunks are ~256 KiB: whatever lies more than two chunks before the cut must be there.
      expect(salvaged.length * 700).toBeGreaterThanOrEqual(cut - 2 * 300 * 1024 - 100_000);
      let stamps = 0;
      for await (const batch of reader.timestamps()) stamps += batch.length;
      expect(stamps).toBe(salvaged.length);
    },
  );

  it("salvages more the later the cut, and everything when only the closing magic is missing", async () => {
    const full = await fullPromise;
    let previous = -1;
    for (const fraction of [0.1, 0.3, 0.5, 0.7, 0.9]) {
      const reader = await openMcapReader(
        bufferSource("cut.mcap", full.subarray(0, Math.floor(full.byteLength * fraction))),
      );
      const count = Number((await reader.summary()).messageCount);
      expect(count).toBeGreaterThan(previous);
      previous = count;
    }
    const reader = await openMcapReader(bufferSource("cut.mcap", full.subarray(0, full.byteLength - 1)));
    expect(reader.mode).toBe("streamed");
    expect((await reader.summary()).messageCount).toBe(BigInt(messages.length));
  });
});

describe("coded errors", () => {
  it("0-byte file → STRATA_E_EMPTY_FILE", async () => {
    expect((await codeOf(openMcapReader(bufferSource("empty.mcap", new Uint8Array(0))))).code).toBe(
      "STRATA_E_EMPTY_FILE",
    );
  });

  it("random bytes → STRATA_E_UNKNOWN_FORMAT at offset 0", async () => {
    const bytes = randomBytes(4096);
    bytes[0] = 0; // never the magic
    expect(await codeOf(openMcapReader(bufferSource("random.bin", bytes)))).toEqual({
      code: "STRATA_E_UNKNOWN_FORMAT",
      offset: 0,
    });
  });

  it("a real ROS 1 bag → STRATA_E_UNKNOWN_FORMAT", async () => {
    const error = await codeOf(openMcapReader(await openFileSource(fixture("ros1/example.bag"))));
    expect(error.code).toBe("STRATA_E_UNKNOWN_FORMAT");
  });

  it.each([1, 2, 3, 4, 5])(
    "magic followed by random bytes (seed %i) → STRATA_E_CORRUPT_LOG at offset 8",
    async (seed) => {
      const random = prng(seed);
      const bytes = new Uint8Array(8 + 5000).map(() => Math.floor(random() * 256));
      bytes.set([0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a]);
      expect(await codeOf(openMcapReader(bufferSource("garbage.mcap", bytes)))).toEqual({
        code: "STRATA_E_CORRUPT_LOG",
        offset: 8n,
      });
    },
  );

  it("a file cut inside the magic → STRATA_E_TRUNCATED_LOG", async () => {
    const bytes = new Uint8Array([0x89, 0x4d, 0x43, 0x41]);
    expect((await codeOf(openMcapReader(bufferSource("stub.mcap", bytes)))).code).toBe(
      "STRATA_E_TRUNCATED_LOG",
    );
  });

  it("missing file → STRATA_E_FILE_NOT_FOUND naming the path", async () => {
    const error = await openFileSource("/nonexistent/x.mcap").catch((e: unknown) => e);
    expect(isStrataError(error) && error.code).toBe("STRATA_E_FILE_NOT_FOUND");
    expect(isStrataError(error) && error.message).toContain("/nonexistent/x.mcap");
  });

  describe("CRC mismatch (validation on by default)", () => {
    const messages = syntheticMessages(500, 200, 3);
    /** Flips one byte inside the payload of message 321. */
    function corrupt(bytes: Uint8Array): { bytes: Uint8Array; at: number } {
      const at = Buffer.from(bytes).indexOf("MSG321;");
      expect(at).toBeGreaterThan(0);
      const copy = bytes.slice();
      copy[at + 20] = (copy[at + 20] ?? 0) ^ 0xff;
      return { bytes: copy, at };
    }

    it("in an indexed uncompressed chunk: messages() throws STRATA_E_CRC_MISMATCH with the chunk offset", async () => {
      const { bytes, at } = corrupt(
        await writeSyntheticMcap(messages, { compression: "none", chunkSize: 20_000 }),
      );
      const reader = await openMcapReader(bufferSource("crc.mcap", bytes));
      expect(reader.mode).toBe("indexed");
      const error = await codeOf(collect(reader.messages()));
      expect(error.code).toBe("STRATA_E_CRC_MISMATCH");
      expect(Number(error.offset)).toBeLessThan(at);
      expect(Number(error.offset)).toBeGreaterThan(at - 25_000);
      const lenient = await openMcapReader(bufferSource("crc.mcap", bytes), { validateCrcs: false });
      expect(await collect(lenient.messages())).toHaveLength(500);
    });

    it("in a scanned file: open throws STRATA_E_CRC_MISMATCH", async () => {
      const { bytes } = corrupt(
        await writeSyntheticMcap(messages, { compression: "none", chunkSize: 20_000 }),
      );
      const truncated = bytes.subarray(0, bytes.byteLength - 3); // no footer: scanned
      expect((await codeOf(openMcapReader(bufferSource("crc.mcap", truncated)))).code).toBe(
        "STRATA_E_CRC_MISMATCH",
      );
    });

    it("in unchunked data: the data-section CRC catches it", async () => {
      const raw = await writeRawLayout(messages, { useChunks: false, useChunkIndex: false, summary: true });
      const { bytes } = corrupt(raw);
      expect((await codeOf(openMcapReader(bufferSource("crc.mcap", bytes)))).code).toBe(
        "STRATA_E_CRC_MISMATCH",
      );
      expect((await codeOf(collect(recordStream(bufferSource("crc.mcap", bytes)) as never))).code).toBe(
        "STRATA_E_CRC_MISMATCH",
      );
      const lenient = await openMcapReader(bufferSource("crc.mcap", bytes), { validateCrcs: false });
      expect((await lenient.summary()).messageCount).toBe(500n);
    });
  });
});

describe("files without a usable index", () => {
  const messages = syntheticMessages(3000, 120, 11);
  const order = shuffled(messages, 5);
  const expected = byLogTime(order).map((m) => m.sequence);
  const layouts = [
    ["unchunked, with summary", { useChunks: false, useChunkIndex: false, summary: true }],
    ["unchunked, no summary", { useChunks: false, useChunkIndex: false, summary: false }],
    ["chunked, no chunk index", { useChunks: true, useChunkIndex: false, summary: true }],
  ] as const;

  it.each(layouts)(
    "%s: streamed, in log-time order, filters work (block merge and timeline)",
    async (_label, layout) => {
      const bytes = await writeRawLayout(order, layout);
      for (const mergeBudgetBytes of [undefined, 1]) {
        const reader = await openMcapReader(bufferSource("raw.mcap", bytes), { mergeBudgetBytes });
        expect(reader.mode).toBe("streamed");
        expect((await collect(reader.messages())).map((m) => m.sequence)).toEqual(expected);
        const startNs = messages[1000]?.logTimeNs as bigint;
        const endNs = messages[1999]?.logTimeNs as bigint;
        const filtered = await collect(reader.messages({ topics: ["/gps"], startNs, endNs }));
        expect(filtered.map((m) => m.sequence)).toEqual(
          expected.filter((s) => s >= 1000 && s <= 1999 && messages[s]?.topic === "/gps"),
        );
        const summary = await reader.summary();
        expect(summary.messageCount).toBe(3000n);
        expect(summary.startTimeNs).toBe(messages[0]?.logTimeNs);
        expect(summary.endTimeNs).toBe(messages[2999]?.logTimeNs);
        expect(summary.attachments.map((a) => a.name)).toEqual(["a.bin"]);
        expect(summary.warnings.some((w) => w.startsWith("read by scanning"))).toBe(true);
      }
    },
  );

  it("an indexed file with shuffled messages still comes out in log-time order", async () => {
    const bytes = await writeSyntheticMcap(order, { chunkSize: 30_000 });
    const reader = await openMcapReader(bufferSource("shuffled.mcap", bytes));
    expect(reader.mode).toBe("indexed");
    expect((await collect(reader.messages())).map((m) => m.sequence)).toEqual(expected);
    expect(await collect(reader.messages({ topics: ["/nope"] }))).toEqual([]);
  });
});

describe("timestamps() on indexed files", () => {
  it("comes from the message indexes: a few % of the file is read, no chunk payload", async () => {
    const messages = syntheticMessages(20_000, 400, 21);
    const bytes = await writeSyntheticMcap(messages, { chunkSize: 512 * 1024 });
    const source = countingSource(bufferSource("big.mcap", bytes));
    const reader = await openMcapReader(source);
    expect(reader.mode).toBe("indexed");
    const before = source.bytesRead;
    const stamps: string[] = [];
    for await (const batch of reader.timestamps())
      for (const s of batch) stamps.push(`${s.channelId}:${s.logTimeNs}`);
    expect(stamps).toHaveLength(20_000);
    expect(source.bytesRead - before).toBeLessThan(bytes.byteLength * 0.1);
    const summary = await reader.summary();
    expect(summary.topics.map((t) => [t.topic, t.messageCount, t.firstTimeNs])).toEqual([
      ["/imu", 6667n, messages[0]?.logTimeNs],
      ["/gps", 6667n, messages[1]?.logTimeNs],
      ["/camera/compressed", 6666n, messages[2]?.logTimeNs],
    ]);
    expect(source.bytesRead).toBeLessThan(bytes.byteLength * 0.2);
  });
});

describe("real rosbag2 MCAP fixtures", () => {
  it("nav2_turtlebot: topics, counts, channel ids, true time range, decoding", async () => {
    const reader = await openMcapReader(await openFileSource(fixture("rosbag2/evo/nav2_turtlebot.mcap")));
    try {
      const summary = await reader.summary();
      expect(summary.profile).toBe("ros2");
      expect(summary.library).toBe("mcap go v1.8.0; libmcap 1.4.0");
      expect(summary.messageCount).toBe(8197n);
      expect([summary.startTimeNs, summary.endTimeNs]).toEqual([1778234353382747000n, 1778234450738043000n]);
      expect(Object.fromEntries(summary.topics.map((t) => [t.topic, t.messageCount]))).toEqual({
        "/odom": 2639n,
        "/tf": 5422n,
        "/tf_static": 1n,
        "/amcl_pose": 135n,
      });
      expect(summary.channels.map((c) => c.id)).toEqual([6, 9, 13, 24]);
      const amcl = await collect(reader.messages({ topics: ["/amcl_pose"], decode: true }));
      expect(amcl).toHaveLength(135);
      const first = amcl[0]?.decoded as {
        header: { frame_id: string };
        pose: { pose: { position: object } };
      };
      expect(first.header.frame_id).toBe("map");
      expect(first.pose.pose.position).toEqual({ x: 4.36519665396771, y: 7.579351695734543, z: 0 });
    } finally {
      await reader.close();
    }
  });

  it("talker (zstd, mcap go): decodes std_msgs/String", async () => {
    const reader = await openMcapReader(
      await openFileSource(fixture("rosbag2/rosbag2_py/mcap/talker/talker.mcap")),
    );
    const topic = await collect(reader.messages({ topics: ["/topic"], decode: true }));
    expect(topic.map((m) => (m.decoded as { data: string }).data).slice(0, 3)).toEqual([
      "Hello, world! 0",
      "Hello, world! 1",
      "Hello, world! 2",
    ]);
    const summary = await reader.summary();
    expect(summary.topics.find((t) => t.topic === "/parameter_events")?.messageCount).toBe(0n);
    await reader.close();
  });

  it("service events decode to info/request/response", async () => {
    const reader = await openMcapReader(
      await openFileSource(fixture("rosbag2/rosbag2_cpp/bags/only_services.mcap")),
    );
    const events = await collect(reader.messages({ decode: true }));
    expect(events).toHaveLength(12);
    const decoded = events.map(
      (m) => m.decoded as { request: Array<{ a: bigint }>; response: Array<{ sum: bigint }> },
    );
    const withResponse = decoded.find((d) => d.response.length === 1);
    expect(withResponse).toBeDefined();
    await reader.close();
  });

  it("wrong_rmw_test: the mislabelled encoding is flagged and not decoded", async () => {
    const reader = await openMcapReader(
      await openFileSource(fixture("rosbag2/rosbag2_tests/mcap/wrong_rmw_test/wrong_rmw_test_0.mcap")),
    );
    const summary = await reader.summary();
    expect(summary.warnings.some((w) => w.includes('"wrong_format"'))).toBe(true);
    const messages = await collect(reader.messages({ decode: true }));
    expect(messages).toHaveLength(7);
    expect(messages.every((m) => m.decoded === undefined)).toBe(true);
    await reader.close();
  });
});

describe("bounded memory", () => {
  it("reads a 256 MB file without its index (scanned, truncated) holding far less than the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "strata-mcap-memory-"));
    try {
      const path = join(dir, "large.mcap");
      const writer = await createMcapFileWriter(path, {
        profile: "",
        compression: "none",
        chunkSize: 1024 * 1024,
      });
      const channelId = await writer.addChannel({ topic: "/blob", schemaId: 0, messageEncoding: "raw" });
      const payload = new Uint8Array(256 * 1024).map((_, i) => i & 0xff);
      const count = 1024;
      for (let i = 0; i < count; i++) {
        await writer.addMessage({ channelId, logTimeNs: BigInt(i), sequence: i, data: payload });
      }
      await writer.end();
      const file = await openFileSource(path);
      const cutSize = (await file.size()) - 200n; // drop the footer: forces the scanning path
      const source: ByteSource = {
        name: path,
        size: async () => cutSize,
        read: (o, l) => file.read(o, l),
        close: () => file.close?.() ?? Promise.resolve(),
      };
      const used = () => {
        const m = process.memoryUsage();
        return m.heapUsed + m.arrayBuffers;
      };
      const baseline = used();
      let peak = 0;
      const reader = await openMcapReader(source);
      expect(reader.mode).toBe("streamed");
      let seen = 0;
      for await (const m of reader.messages()) {
        expect(m.sequence).toBe(seen);
        seen++;
        if (seen % 16 === 0) peak = Math.max(peak, used() - baseline);
      }
      for await (const batch of reader.timestamps()) {
        expect(batch.length).toBeGreaterThan(0);
        peak = Math.max(peak, used() - baseline);
      }
      await reader.close();
      expect(seen).toBe(count);
      expect(peak).toBeLessThan(96 * 1024 * 1024);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
