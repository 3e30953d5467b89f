import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StrataError } from "../../core/index.ts";
import { bufferSource, openFileSource } from "../node-source.ts";
import type { ByteSource, LogMessage, LogReader } from "../types.ts";
import { openRos1Reader } from "./reader.ts";
import { fieldUint64, parseRecord } from "./records.ts";
import { createRos1BagWriter } from "./writer.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const ros1Fixtures = path.resolve(repoRoot, "../shared/fixtures/ros1");
const fixture = (name: string): string => path.join(ros1Fixtures, name);

async function rejection(promise: Promise<unknown>): Promise<StrataError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StrataError);
    return error as StrataError;
  }
  throw new Error("expected a rejection");
}

async function collect(
  reader: LogReader,
  query?: Parameters<LogReader["messages"]>[0],
): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const message of reader.messages(query)) out.push(message);
  return out;
}

function stringMessage(text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setUint32(0, body.byteLength, true);
  out.set(body, 4);
  return out;
}

let tempDir = "";
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), "strata-ros1-reader-"));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

describe("openRos1Reader on real bags", () => {
  it("filters by topic and inclusive time window, in time order", async () => {
    const reader = await openRos1Reader(await openFileSource(fixture("example.bag")));
    try {
      const poses = await collect(reader, { topics: ["/turtle1/pose"] });
      expect(poses).toHaveLength(1344);
      expect(new Set(poses.map((m) => m.topic))).toEqual(new Set(["/turtle1/pose"]));
      // /rosout has 3 connections; all of them belong to the topic.
      const rosout = await collect(reader, { topics: ["/rosout"] });
      expect(rosout).toHaveLength(10);
      expect(new Set(rosout.map((m) => m.channelId)).size).toBeGreaterThan(1);
      const window = await collect(reader, { startNs: 1396293886846735850n, endNs: 1396293888846735850n });
      expect(window).toHaveLength(319);
      for (let i = 1; i < window.length; i++) {
        expect(window[i]!.logTimeNs >= window[i - 1]!.logTimeNs).toBe(true);
      }
      expect(await collect(reader, { topics: ["/no/such/topic"] })).toHaveLength(0);
    } finally {
      await reader.close();
    }
  });

  it("gives the same messages for none, bz2 and lz4 chunks", async () => {
    const digests: string[] = [];
    for (const name of ["example.bag", "example-bz2.bag", "example-lz4.bag"]) {
      const reader = await openRos1Reader(await openFileSource(fixture(name)));
      const hash = (await import("node:crypto")).createHash("sha256");
      for await (const message of reader.messages()) {
        hash.update(`${message.topic} ${message.logTimeNs} `);
        hash.update(message.data);
      }
      digests.push(hash.digest("hex"));
      await reader.close();
    }
    expect(new Set(digests).size).toBe(1);
  });

  it("serves timestamps() from IndexData without reading chunk payloads", async () => {
    const file = await openFileSource(fixture("example-bz2.bag"));
    const reads: Array<[bigint, bigint]> = [];
    const spy: ByteSource = {
      name: file.name,
      size: () => file.size(),
      read: (offset, length) => {
        reads.push([offset, length]);
        return file.read(offset, length);
      },
      close: () => file.close!(),
    };
    const reader = await openRos1Reader(spy);
    reads.length = 0;
    const perChannel = new Map<number, number>();
    for await (const batch of reader.timestamps()) {
      for (const stamp of batch) perChannel.set(stamp.channelId, (perChannel.get(stamp.channelId) ?? 0) + 1);
    }
    const summary = await reader.summary();
    expect([...perChannel.values()].reduce((a, b) => a + b, 0)).toBe(8647);
    for (const channel of summary.channels) {
      const topic = summary.topics.find((t) => t.topic === channel.topic)!;
      expect(perChannel.get(channel.id) ?? 0).toBeLessThanOrEqual(Number(topic.messageCount));
    }
    // The only chunk starts at 4117; its compressed payload covers byte 10000. No read touched it.
    const payloadByte = 10_000n;
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.some(([offset, length]) => offset <= payloadByte && payloadByte < offset + length)).toBe(
      false,
    );
    await reader.close();
  });

  it("decodes through the connection's message definition", async () => {
    const reader = await openRos1Reader(await openFileSource(fixture("example-unsorted-chunks.bag")));
    const messages = await collect(reader, { decode: true });
    expect(messages.map((m) => (m.decoded as { data: string }).data)).toEqual(["1", "2", "3"]);
    expect(messages.map((m) => m.logTimeNs)).toEqual([1_000_000_000n, 2_000_000_000n, 3_000_000_000n]);
    const raw = await collect(reader);
    expect(raw[0]!.decoded).toBeUndefined();
    await reader.close();
  });
});

describe("openRos1Reader errors", () => {
  it("0-byte file → STRATA_E_EMPTY_FILE naming the file", async () => {
    const error = await rejection(openRos1Reader(await openFileSource(fixture("empty-file.bag"))));
    expect(error.code).toBe("STRATA_E_EMPTY_FILE");
    expect(error.message).toContain("empty-file.bag");
  });

  it("not a bag → STRATA_E_UNKNOWN_FORMAT; an old bag version → STRATA_E_UNSUPPORTED", async () => {
    const notBag = await rejection(
      openRos1Reader(bufferSource("notes.txt", new TextEncoder().encode("hello there"))),
    );
    expect(notBag.code).toBe("STRATA_E_UNKNOWN_FORMAT");
    expect(notBag.message).toContain("notes.txt");
    const old = await rejection(
      openRos1Reader(bufferSource("old.bag", new TextEncoder().encode("#ROSRECORD V1.2\n....."))),
    );
    expect(old.code).toBe("STRATA_E_UNSUPPORTED");
  });

  it("a cut-off bag → STRATA_E_TRUNCATED_LOG at the file end", async () => {
    const bytes = readFileSync(fixture("example.bag")).subarray(0, 500_000);
    const error = await rejection(openRos1Reader(bufferSource("cut.bag", bytes)));
    expect(error.code).toBe("STRATA_E_TRUNCATED_LOG");
    expect(error.context).toMatchObject({ file: "cut.bag", offset: 500_000n });
  });

  it("a damaged index → STRATA_E_CORRUPT_LOG with the offset", async () => {
    const bytes = new Uint8Array(readFileSync(fixture("example.bag")));
    const indexPosition = Number(fieldUint64(parseRecord(bytes, 13).fields, "index_pos"));
    expect(indexPosition).toBeGreaterThan(4117);
    bytes.fill(0xff, indexPosition, indexPosition + 64);
    const error = await rejection(openRos1Reader(bufferSource("bad-index.bag", bytes)));
    expect(error.code).toBe("STRATA_E_CORRUPT_LOG");
    expect(error.context.file).toBe("bad-index.bag");
    expect(error.context.offset).toBe(indexPosition);
  });

  it("a damaged chunk → STRATA_E_CORRUPT_LOG naming the chunk offset", async () => {
    const pristine = readFileSync(fixture("example.bag"));
    const badHeader = new Uint8Array(pristine);
    badHeader.fill(0xff, 4117, 4121);
    const reader = await openRos1Reader(bufferSource("bad-chunk.bag", badHeader));
    const error = await rejection(reader.summary());
    expect(error.code).toBe("STRATA_E_CORRUPT_LOG");
    expect(error.context.offset).toBe(4117);

    const badRecords = new Uint8Array(pristine);
    badRecords.fill(0xff, 6000, 9000);
    const reader2 = await openRos1Reader(bufferSource("bad-records.bag", badRecords));
    const error2 = await rejection(collect(reader2));
    expect(error2.code).toBe("STRATA_E_CORRUPT_LOG");
    expect(error2.context.offset).toBe(4117);
  });
});

describe("openRos1Reader ordering and memory", () => {
  it("orders equal times by file position (stable) across chunks and connections", async () => {
    const bagPath = path.join(tempDir, "ties.bag");
    const writer = await createRos1BagWriter(bagPath, { chunkSizeBytes: 64 });
    const a = writer.addConnection({
      topic: "/a",
      type: "std_msgs/String",
      md5sum: "992ce8a1687cec8c8bd883ec73ca41d1",
      messageDefinition: "string data\n",
    });
    const b = writer.addConnection({
      topic: "/b",
      type: "std_msgs/String",
      md5sum: "992ce8a1687cec8c8bd883ec73ca41d1",
      messageDefinition: "string data\n",
    });
    const labels: string[] = [];
    for (let i = 0; i < 12; i++) {
      const label = `m${i}`;
      labels.push(label);
      await writer.addMessage({
        connectionId: i % 2 === 0 ? a : b,
        timeNs: 5_000_000_000n,
        data: stringMessage(label),
      });
    }
    const result = await writer.close();
    expect(result.chunkCount).toBeGreaterThan(3);
    const reader = await openRos1Reader(await openFileSource(bagPath));
    const messages = await collect(reader, { decode: true });
    expect(messages.map((m) => (m.decoded as { data: string }).data)).toEqual(labels);
    await reader.close();
  });

  it("reads a 160 MB bag with bounded memory", async () => {
    const bagPath = path.join(tempDir, "big.bag");
    const writer = await createRos1BagWriter(bagPath, { chunkSizeBytes: 1024 * 1024 });
    const id = writer.addConnection({
      topic: "/blob",
      type: "std_msgs/String",
      md5sum: "992ce8a1687cec8c8bd883ec73ca41d1",
      messageDefinition: "string data\n",
    });
    const payload = stringMessage("x".repeat(64 * 1024));
    const messageCount = 2500; // 2500 × 64 KiB ≈ 160 MB
    for (let i = 0; i < messageCount; i++) {
      // Interleave times so chunks overlap a little and the merge has real work.
      await writer.addMessage({
        connectionId: id,
        timeNs: 1_000_000_000n + BigInt(i ^ 1) * 1_000_000n,
        data: payload,
      });
    }
    const result = await writer.close();
    expect(result.sizeBytes).toBeGreaterThan(150_000_000n);

    const baseline = process.memoryUsage();
    let peakBytes = 0;
    const reader = await openRos1Reader(await openFileSource(bagPath));
    let count = 0;
    let previous = 0n;
    for await (const message of reader.messages()) {
      expect(message.logTimeNs >= previous).toBe(true);
      previous = message.logTimeNs;
      count += 1;
      if (count % 50 === 0) {
        const now = process.memoryUsage();
        const grown = now.heapUsed - baseline.heapUsed + (now.arrayBuffers - baseline.arrayBuffers);
        peakBytes = Math.max(peakBytes, grown);
      }
    }
    await reader.close();
    expect(count).toBe(messageCount);
    console.log(
      `ros1 reader: peak growth ${(peakBytes / 1e6).toFixed(1)} MB while reading ${result.sizeBytes} bytes`,
    );
    expect(peakBytes).toBeLessThan(64 * 1024 * 1024);
  });
});
