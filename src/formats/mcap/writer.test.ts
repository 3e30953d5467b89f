import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStrataError } from "../../core/index.ts";
import { commonSchemaText, encoderFor } from "../codec/index.ts";
import { bufferSource, openFileSource } from "../node-source.ts";
import { createMcapFileWriter, createMcapWriter, type McapCompression, openMcapReader } from "./index.ts";
import { memorySink, syntheticMessages, writeSyntheticMcap } from "./test-support.ts";

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
