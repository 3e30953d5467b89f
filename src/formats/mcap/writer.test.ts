import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zstd from "@foxglove/wasm-zstd";
import { McapWriter } from "@mcap/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStrataError } from "../../core/index.ts";
import { commonSchemaText, encoderFor } from "../codec/index.ts";
import { lz4CompressFrame } from "../lz4.ts";
import { bufferSource, openFileSource } from "../node-source.ts";
import { createMcapFileWriter, createMcapWriter, type McapCompression, openMcapReader } from "./index.ts";
import { memorySink, prng, syntheticMessages, writeSyntheticMcap } from "./test-support.ts";
import { crc32, crc32Combine, crc32Portable } from "./writer.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-mcap-writer-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const utf8 = new TextEncoder();

describe("createMcapWriter", () => {
  it.each<McapCompression>(["zstd", "lz4", "none"])(
    "%s: everything written reads back through the index",
    async (compression) => {
      const sink = memorySink();
      const writer = await createMcapWriter(sink, {
        profile: "ros2",
        library: "strata-test",
        compression,
        chunkSize: 64 * 1024,
      });
      const typeName = "geometry_msgs/msg/PointStamped";
      const schemaText = commonSchemaText(typeName, "ros2");
      const schemaId = await writer.addSchema({
        name: typeName,
        encoding: "ros2msg",
        data: utf8.encode(schemaText),
      });
      const channelId = await writer.addChannel({
        topic: "/point",
        schemaId,
        messageEncoding: "cdr",
        metadata: { offered_qos_profiles: "" },
      });
      const encode = encoderFor("cdr", typeName, schemaText);
      for (let i = 0; i < 2000; i++) {
        await writer.addMessage({
          channelId,
          logTimeNs: 1_000_000_000n + BigInt(i) * 1_000_000n,
          publishTimeNs: 999n,
          sequence: i,
          data: encode({
            header: { stamp: { sec: 1, nanosec: i }, frame_id: "map" },
            point: { x: i, y: -i, z: 0.5 },
          }),
        });
      }
      await writer.addMetadata({ name: "rosbag2", metadata: { ros_distro: "humble" } });
      await writer.addAttachment({
        name: "calibration.yaml",
        mediaType: "application/yaml",
        logTimeNs: 5n,
        createTimeNs: 4n,
        data: utf8.encode("k: 1\n"),
      });
      await writer.end();

      const reader = await openMcapReader(bufferSource("written.mcap", sink.bytes()));
      expect(reader.mode).toBe("indexed");
      const summary = await reader.summary();
      expect(summary).toMatchObject({
        profile: "ros2",
        library: "strata-test",
        messageCount: 2000n,
        startTimeNs: 1_000_000_000n,
        endTimeNs: 1_000_000_000n + 1999n * 1_000_000n,
        warnings: [],
      });
      expect(summary.channels).toEqual([
        {
          id: channelId,
          topic: "/point",
          schemaId,
          schemaName: typeName,
          messageEncoding: "cdr",
          metadata: { offered_qos_profiles: "" },
        },
      ]);
      expect(summary.metadata).toEqual([{ name: "rosbag2", metadata: { ros_distro: "humble" } }]);
      expect(summary.attachments).toEqual([
        {
          name: "calibration.yaml",
          mediaType: "application/yaml",
          logTimeNs: 5n,
          createTimeNs: 4n,
          data: utf8.encode("k: 1\n"),
        },
      ]);
      expect(reader.statistics?.messageCount).toBe(2000n);
      expect(reader.statistics?.chunkCount).toBeGreaterThan(1);
      let i = 0;
      for await (const m of reader.messages({ decode: true })) {
        expect(m.sequence).toBe(i);
        expect(m.publishTimeNs).toBe(999n);
        expect(m.decoded).toMatchObject({ point: { x: i, y: -i, z: 0.5 }, header: { frame_id: "map" } });
        i++;
      }
      expect(i).toBe(2000);
    },
  );

  it("is deterministic: the same calls give byte-identical files", async () => {
    const messages = syntheticMessages(3000, 300);
    const a = await writeSyntheticMcap(messages, { chunkSize: 100_000 });
    const b = await writeSyntheticMcap(messages, { chunkSize: 100_000 });
    expect(a.byteLength).toBeGreaterThan(100_000);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
  });

  it("rejects messages for unknown channels and channels for unknown schemas with STRATA_E_USAGE", async () => {
    const writer = await createMcapWriter(memorySink(), { profile: "", compression: "none" });
    for (const attempt of [
      () => writer.addMessage({ channelId: 7, logTimeNs: 1n, data: new Uint8Array(1) }),
      () => writer.addChannel({ topic: "/x", schemaId: 3, messageEncoding: "json" }),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(isStrataError(error) && error.code).toBe("STRATA_E_USAGE");
    }
  });

  it("queues calls that are not awaited one by one", async () => {
    const sink = memorySink();
    const writer = await createMcapWriter(sink, { profile: "", compression: "none" });
    const channel = writer.addChannel({ topic: "/q", schemaId: 0, messageEncoding: "json" });
    const writes = Array.from({ length: 100 }, (_, i) =>
      writer.addMessage({
        channelId: 1,
        logTimeNs: BigInt(100 - i),
        sequence: i,
        data: utf8.encode(`{"i":${i}}`),
      }),
    );
    await Promise.all([channel, ...writes, writer.end()]);
    const reader = await openMcapReader(bufferSource("q.mcap", sink.bytes()));
    const sequences: number[] = [];
    for await (const m of reader.messages()) sequences.push(m.sequence);
    expect(sequences).toEqual(Array.from({ length: 100 }, (_, i) => 99 - i));
  });
});

describe("createMcapFileWriter", () => {
  it("writes through path.tmp and renames on end", async () => {
    const path = join(dir, "out.mcap");
    const writer = await createMcapFileWriter(path, { profile: "ros1", compression: "zstd" });
    const channelId = await writer.addChannel({ topic: "/a", schemaId: 0, messageEncoding: "json" });
    await writer.addMessage({ channelId, logTimeNs: 10n, data: utf8.encode("{}") });
    await expect(stat(path)).rejects.toThrow();
    expect((await stat(`${path}.tmp`)).isFile()).toBe(true);
    await writer.end();
    await expect(stat(`${path}.tmp`)).rejects.toThrow();
    const reader = await openMcapReader(await openFileSource(path));
    expect((await reader.summary()).messageCount).toBe(1n);
    await reader.close();
    expect((await readFile(path)).subarray(1, 5).toString()).toBe("MCAP");
  });

  it("abort removes the temporary file and leaves no final file", async () => {
    const path = join(dir, "aborted.mcap");
    const writer = await createMcapFileWriter(path, { profile: "", compression: "none" });
    await writer.addChannel({ topic: "/a", schemaId: 0, messageEncoding: "json" });
    await writer.abort();
    await expect(stat(`${path}.tmp`)).rejects.toThrow();
    await expect(stat(path)).rejects.toThrow();
  });
});

/** The same calls through @mcap/core's McapWriter (the layout our writer reproduces). */
async function referenceMcap(
  compression: McapCompression,
  calls: (writer: McapWriter) => Promise<void>,
  chunkSize: number,
): Promise<Uint8Array> {
  await zstd.isLoaded;
  const parts: Uint8Array[] = [];
  let position = 0n;
  const writer = new McapWriter({
    writable: {
      write: async (buffer: Uint8Array) => {
        parts.push(buffer.slice());
        position += BigInt(buffer.byteLength);
      },
      position: () => position,
    },
    chunkSize,
    compressChunk:
      compression === "none"
        ? undefined
        : (data) => ({
            compression,
            compressedData: compression === "zstd" ? zstd.compress(data, 3) : lz4CompressFrame(data),
          }),
    startChannelId: 1,
  });
  await writer.start({ profile: "ros2", library: "strata" });
  await calls(writer);
  await writer.end();
  return Buffer.concat(parts);
}

describe("layout", () => {
  const messages = syntheticMessages(1500, 700, 3);
  const topics = ["/imu", "/gps", "/camera/compressed"];
  const utf8 = new TextEncoder();

  it.each<[McapCompression, number]>([
    ["zstd", 0],
    ["zstd", 1],
    ["zstd", 2],
    ["lz4", 1],
    ["none", 0],
    ["none", 1],
  ])(
    "%s, %i chunk threads asked for: byte-identical to @mcap/core's McapWriter",
    async (compression, threads) => {
      const chunkSize = 50_000;
      const sink = memorySink();
      const writer = await createMcapWriter(sink, {
        profile: "ros2",
        compression,
        chunkSize,
        chunkThreads: threads,
      });
      const schemaId = await writer.addSchema({
        name: "pkg/msg/T",
        encoding: "ros2msg",
        data: utf8.encode("int32 a"),
      });
      await writer.addSchema({ name: "pkg/msg/Unused", encoding: "ros2msg", data: utf8.encode("int8 b") });
      const ids = await Promise.all(
        topics.map((topic, i) =>
          writer.addChannel({
            topic,
            schemaId: i === 1 ? 0 : schemaId,
            messageEncoding: "cdr",
            metadata: { k: topic },
          }),
        ),
      );
      await writer.addChannel({ topic: "/silent", schemaId, messageEncoding: "cdr" });
      for (const [i, m] of messages.entries()) {
        if (i === 700) await writer.addMetadata({ name: "mid", metadata: { at: "700" } });
        if (i === 900) {
          await writer.addAttachment({
            name: "a.bin",
            mediaType: "application/octet-stream",
            logTimeNs: 3n,
            createTimeNs: 2n,
            data: m.data,
          });
        }
        // Times step back now and then, so chunk and file time ranges are not simply first/last.
        const logTimeNs = i % 97 === 5 ? m.logTimeNs - 50_000_000n : m.logTimeNs;
        await writer.addMessage({
          channelId: ids[i % 3] as number,
          logTimeNs,
          publishTimeNs: logTimeNs + 1n,
          sequence: m.sequence,
          data: m.data,
        });
      }
      await writer.end();

      const expected = await referenceMcap(
        compression,
        async (w) => {
          const sid = await w.registerSchema({
            name: "pkg/msg/T",
            encoding: "ros2msg",
            data: utf8.encode("int32 a"),
          });
          await w.registerSchema({
            name: "pkg/msg/Unused",
            encoding: "ros2msg",
            data: utf8.encode("int8 b"),
          });
          const cids: number[] = [];
          for (const [i, topic] of topics.entries()) {
            cids.push(
              await w.registerChannel({
                topic,
                schemaId: i === 1 ? 0 : sid,
                messageEncoding: "cdr",
                metadata: new Map([["k", topic]]),
              }),
            );
          }
          await w.registerChannel({
            topic: "/silent",
            schemaId: sid,
            messageEncoding: "cdr",
            metadata: new Map(),
          });
          for (const [i, m] of messages.entries()) {
            if (i === 700) await w.addMetadata({ name: "mid", metadata: new Map([["at", "700"]]) });
            if (i === 900) {
              await w.addAttachment({
                name: "a.bin",
                mediaType: "application/octet-stream",
                logTime: 3n,
                createTime: 2n,
                data: m.data,
              });
            }
            const logTime = i % 97 === 5 ? m.logTimeNs - 50_000_000n : m.logTimeNs;
            await w.addMessage({
              channelId: cids[i % 3] as number,
              logTime,
              publishTime: logTime + 1n,
              sequence: m.sequence,
              data: m.data,
            });
          }
        },
        chunkSize,
      );
      const actual = sink.bytes();
      expect(actual.byteLength).toBe(expected.byteLength);
      expect(Buffer.compare(Buffer.from(actual), Buffer.from(expected))).toBe(0);
      // …and it reads back with CRCs checked.
      const reader = await openMcapReader(bufferSource("layout.mcap", actual));
      expect((await reader.summary()).messageCount).toBe(1500n);
    },
  );

  it("a file without messages matches too", async () => {
    const sink = memorySink();
    const writer = await createMcapWriter(sink, { profile: "ros2", compression: "zstd", chunkThreads: 1 });
    await writer.addChannel({ topic: "/none", schemaId: 0, messageEncoding: "json" });
    await writer.end();
    const expected = await referenceMcap(
      "zstd",
      async (w) => {
        await w.registerChannel({
          topic: "/none",
          schemaId: 0,
          messageEncoding: "json",
          metadata: new Map(),
        });
      },
      1 << 20,
    );
    expect(Buffer.compare(Buffer.from(sink.bytes()), Buffer.from(expected))).toBe(0);
  });
});

describe("crc32", () => {
  /** Bit-at-a-time CRC-32, the definition. */
  const slowCrc = (bytes: Uint8Array): number => {
    let c = 0xffffffff;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const random = prng(9);
  const data = Uint8Array.from({ length: 5000 }, () => Math.floor(random() * 256));

  it.each([
    ["crc32", crc32],
    ["crc32Portable", crc32Portable],
  ])("%s matches the definition at every alignment and length, and the check value", (_name, crc) => {
    expect(crc(utf8.encode("123456789"))).toBe(0xcbf43926);
    for (const start of [0, 1, 2, 3, 5]) {
      for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 100, 4093]) {
        const view = data.subarray(start, start + length);
        expect(crc(view)).toBe(slowCrc(view));
      }
    }
  });

  it("combines the CRCs of two pieces into the CRC of both", () => {
    for (const cut of [0, 1, 8, 999, 2048, 4999, 5000]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      expect(crc32Combine(crc32(a), crc32(b), b.byteLength)).toBe(crc32(data));
    }
  });
});

describe("sink failures", () => {
  it("a sink that fails makes the writer fail, even with writes in flight", async () => {
    let writes = 0;
    const sink = {
      async write(): Promise<void> {
        writes += 1;
        if (writes === 3) throw new Error("disk full");
      },
    };
    const writer = await createMcapWriter(sink, { profile: "", compression: "zstd", chunkSize: 1000 });
    const channelId = await writer.addChannel({ topic: "/a", schemaId: 0, messageEncoding: "raw" });
    const outcome = (async () => {
      for (let i = 0; i < 200; i++) {
        await writer.addMessage({ channelId, logTimeNs: BigInt(i), data: new Uint8Array(500).fill(i) });
      }
      await writer.end();
    })();
    await expect(outcome).rejects.toThrow(/disk full/);
    expect(writes).toBe(3);
  });
});
