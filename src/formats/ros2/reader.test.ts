import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StrataError } from "../../core/index.ts";
import { commonSchemaText, encoderFor } from "../codec/index.ts";
import type { LogMessage, LogReader } from "../types.ts";
import { openRos2Reader, planRos2Bag } from "./reader.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const rosbag2 = path.resolve(repoRoot, "../shared/fixtures/rosbag2");

const STRING_TYPE = "std_msgs/msg/String";
const encodeString = encoderFor("cdr", STRING_TYPE, commonSchemaText(STRING_TYPE, "ros2"));
const cdrString = (text: string): Uint8Array => encodeString({ data: text });

let tempDir = "";
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), "strata-ros2-reader-"));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

interface TopicSpec {
  id: number;
  name: string;
  type?: string;
  serializationFormat?: string;
}

/** Writes a rosbag2 `.db3` with the old schema (topics + messages only). */
function writeDb3(
  file: string,
  topics: TopicSpec[],
  messages: Array<[topicId: number, timeNs: bigint, data: Uint8Array]>,
  definitions?: Array<[type: string, text: string]>,
): void {
  const db = new Database(file);
  db.exec(
    "CREATE TABLE topics(id INTEGER PRIMARY KEY,name TEXT NOT NULL,type TEXT NOT NULL,serialization_format TEXT NOT NULL,offered_qos_profiles TEXT NOT NULL);" +
      "CREATE TABLE messages(id INTEGER PRIMARY KEY,topic_id INTEGER NOT NULL,timestamp INTEGER NOT NULL, data BLOB NOT NULL);" +
      "CREATE INDEX timestamp_idx ON messages (timestamp ASC);",
  );
  const insertTopic = db.prepare("INSERT INTO topics VALUES (?, ?, ?, ?, '')");
  for (const t of topics)
    insertTopic.run(t.id, t.name, t.type ?? STRING_TYPE, t.serializationFormat ?? "cdr");
  const insertMessage = db.prepare("INSERT INTO messages (topic_id, timestamp, data) VALUES (?, ?, ?)");
  db.transaction(() => {
    for (const [topicId, timeNs, data] of messages) insertMessage.run(topicId, timeNs, Buffer.from(data));
  })();
  if (definitions !== undefined) {
    db.exec(
      "CREATE TABLE message_definitions(id INTEGER PRIMARY KEY, topic_type TEXT NOT NULL, encoding TEXT NOT NULL, encoded_message_definition TEXT NOT NULL, type_description_hash TEXT NOT NULL);",
    );
    const insert = db.prepare(
      "INSERT INTO message_definitions (topic_type, encoding, encoded_message_definition, type_description_hash) VALUES (?, 'ros2msg', ?, '')",
    );
    for (const [type, text] of definitions) insert.run(type, text);
  }
  db.close();
}

async function collect(
  reader: LogReader,
  query?: Parameters<LogReader["messages"]>[0],
): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const message of reader.messages(query)) out.push(message);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<StrataError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StrataError);
    return error as StrataError;
  }
  throw new Error("expected a rejection");
}

describe("planRos2Bag", () => {
  it("takes the file list from metadata.yaml, from a directory listing, or a single file", async () => {
    const wbag = await planRos2Bag(path.join(rosbag2, "rosbag2_py/sqlite3/wbag"));
    expect(wbag.metadata?.version).toBe(4);
    expect(wbag.files.map((f) => [path.basename(f.path), f.storage])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [`wbag_${i}.db3`, "sqlite3"]),
    );
    const viaYaml = await planRos2Bag(path.join(rosbag2, "rosbag2_py/sqlite3/wbag/metadata.yaml"));
    expect(viaYaml.files).toEqual(wbag.files);
    const listed = await planRos2Bag(path.join(rosbag2, "rosbag2_py/mcap/reindex_test_bags/multiple_files"));
    expect(listed.metadata).toBeUndefined();
    expect(listed.files.map((f) => [path.basename(f.path), f.storage])).toEqual(
      [0, 1, 2].map((i) => [`multiple_files_${i}.mcap`, "mcap"]),
    );
    const single = await planRos2Bag(path.join(rosbag2, "rosbag2_cpp/bags/topics_and_services.db3"));
    expect(single.files).toEqual([
      { path: path.join(rosbag2, "rosbag2_cpp/bags/topics_and_services.db3"), storage: "sqlite3" },
    ]);
  });

  it("lists split files in numeric order (…_2 before …_10)", async () => {
    const dir = path.join(tempDir, "natural");
    await mkdir(dir);
    for (const i of [10, 2, 1]) writeDb3(path.join(dir, `bag_${i}.db3`), [{ id: 1, name: "/a" }], []);
    await writeFile(path.join(dir, "notes.txt"), "not a bag file");
    const plan = await planRos2Bag(dir);
    expect(plan.files.map((f) => path.basename(f.path))).toEqual(["bag_1.db3", "bag_2.db3", "bag_10.db3"]);
  });
});

describe("openRos2Reader on synthetic split bags", () => {
  it("merges files by time, breaks ties by file order, unifies channels by topic", async () => {
    const dir = path.join(tempDir, "split");
    await mkdir(dir);
    // File 0 lists /a then /b; file 1 lists /b then /a with other local ids.
    writeDb3(
      path.join(dir, "split_0.db3"),
      [
        { id: 1, name: "/a" },
        { id: 2, name: "/b" },
      ],
      [
        [1, 10n, cdrString("a0")],
        [2, 30n, cdrString("b0")],
        [1, 50n, cdrString("a1")],
      ],
    );
    writeDb3(
      path.join(dir, "split_1.db3"),
      [
        { id: 7, name: "/b" },
        { id: 9, name: "/a" },
      ],
      [
        [9, 20n, cdrString("a-f1")],
        [7, 30n, cdrString("b-f1")],
        [9, 60n, cdrString("a-f1-late")],
      ],
    );
    const reader = await openRos2Reader(dir);
    const summary = await reader.summary();
    expect(summary.channels.map((c) => [c.id, c.topic])).toEqual([
      [1, "/a"],
      [2, "/b"],
    ]);
    expect(summary.topics.map((t) => [t.topic, t.messageCount, t.firstTimeNs, t.lastTimeNs])).toEqual([
      ["/a", 4n, 10n, 60n],
      ["/b", 2n, 30n, 30n],
    ]);
    const all = await collect(reader, { decode: true });
    expect(all.map((m) => [m.logTimeNs, m.channelId, (m.decoded as { data: string }).data])).toEqual([
      [10n, 1, "a0"],
      [20n, 1, "a-f1"],
      [30n, 2, "b0"],
      [30n, 2, "b-f1"],
      [50n, 1, "a1"],
      [60n, 1, "a-f1-late"],
    ]);
    const onlyA = await collect(reader, { topics: ["/a"], startNs: 20n, endNs: 50n });
    expect(onlyA.map((m) => m.logTimeNs)).toEqual([20n, 50n]);
    // Breaking off early releases the per-file iterations; the reader stays usable.
    for await (const _ of reader.messages()) break;
    expect((await reader.summary()).messageCount).toBe(6n);
    await reader.close();
  });

  it("uses message_definitions, else standard definitions; unknown or broken stays raw or falls back", async () => {
    const file = path.join(tempDir, "defs.db3");
    writeDb3(
      file,
      [
        { id: 1, name: "/known", type: STRING_TYPE },
        { id: 2, name: "/unknown", type: "my_pkg/msg/Thing" },
        { id: 3, name: "/stub", type: "std_msgs/msg/Header" },
      ],
      [
        [1, 1n, cdrString("hi")],
        [2, 2n, Uint8Array.of(0, 1, 0, 0, 9, 9, 9, 9)],
        [
          3,
          3n,
          encoderFor(
            "cdr",
            "std_msgs/msg/Header",
            commonSchemaText("std_msgs/msg/Header", "ros2"),
          )({ stamp: { sec: 4, nanosec: 5 }, frame_id: "map" }),
        ],
      ],
      // A definition that references a type it does not include cannot be parsed.
      [["std_msgs/msg/Header", "MissingType stamp\nstring frame_id\n"]],
    );
    const reader = await openRos2Reader(file);
    const summary = await reader.summary();
    const schemaOf = (topic: string) =>
      summary.schemas.find((s) => s.id === summary.channels.find((c) => c.topic === topic)?.schemaId);
    expect(new TextDecoder().decode(schemaOf("/known")?.data)).toContain("string data");
    expect(summary.channels.find((c) => c.topic === "/unknown")?.schemaId).toBe(0);
    expect(new TextDecoder().decode(schemaOf("/stub")?.data)).toContain("MissingType");
    const [known, unknown, stub] = await collect(reader, { decode: true });
    expect(known?.decoded).toEqual({ data: "hi" });
    expect(unknown?.decoded).toBeUndefined();
    expect(unknown?.data).toEqual(Uint8Array.of(0, 1, 0, 0, 9, 9, 9, 9));
    expect(stub?.decoded).toEqual({ stamp: { sec: 4, nanosec: 5 }, frame_id: "map" });
    await reader.close();
  });

  it("streams a 200 MB .db3 with bounded memory", async () => {
    const file = path.join(tempDir, "big.db3");
    const payload = cdrString("y".repeat(256 * 1024));
    const messages: Array<[number, bigint, Uint8Array]> = [];
    for (let i = 0; i < 800; i++) messages.push([1 + (i % 2), BigInt(800 - i), payload]); // reverse time order on disk
    writeDb3(
      file,
      [
        { id: 1, name: "/a" },
        { id: 2, name: "/b" },
      ],
      messages,
    );
    messages.length = 0;
    const baseline = process.memoryUsage();
    let peakBytes = 0;
    const reader = await openRos2Reader(file);
    let n = 0;
    let previous = 0n;
    for await (const message of reader.messages()) {
      expect(message.logTimeNs > previous).toBe(true);
      previous = message.logTimeNs;
      n += 1;
      if (n % 20 === 0) {
        const now = process.memoryUsage();
        peakBytes = Math.max(
          peakBytes,
          now.heapUsed - baseline.heapUsed + (now.arrayBuffers - baseline.arrayBuffers),
        );
      }
    }
    await reader.close();
    expect(n).toBe(800);
    console.log(`ros2 reader: peak growth ${(peakBytes / 1e6).toFixed(1)} MB over ${n} messages of 256 KiB`);
    expect(peakBytes).toBeLessThan(64 * 1024 * 1024);
  });
});

describe("openRos2Reader errors", () => {
  it("wrong serialization_format in a storage file → STRATA_E_WRONG_ENCODING naming the file", async () => {
    const file = path.join(tempDir, "wrong.db3");
    writeDb3(file, [{ id: 1, name: "/x", serializationFormat: "wrong_format" }], [[1, 1n, cdrString("x")]]);
    const error = await rejection(openRos2Reader(file));
    expect(error.code).toBe("STRATA_E_WRONG_ENCODING");
    expect(error.context).toMatchObject({ file, topic: "/x" });
  });

  it("empty, non-SQLite and non-rosbag2 SQLite files give coded errors", async () => {
    const empty = path.join(tempDir, "empty.db3");
    await writeFile(empty, "");
    expect((await rejection(openRos2Reader(empty))).code).toBe("STRATA_E_EMPTY_FILE");
    const garbage = path.join(tempDir, "garbage.db3");
    await writeFile(garbage, "this is not sqlite at all");
    expect((await rejection(openRos2Reader(garbage))).code).toBe("STRATA_E_UNKNOWN_FORMAT");
    const other = path.join(tempDir, "other.db3");
    const db = new Database(other);
    db.exec("CREATE TABLE people(name TEXT)");
    db.close();
    const error = await rejection(openRos2Reader(other));
    expect(error.code).toBe("STRATA_E_UNKNOWN_FORMAT");
    expect(error.message).toContain("other.db3");
    const corrupt = path.join(tempDir, "corrupt.db3");
    const bytes = Buffer.alloc(8192, 0xee);
    Buffer.from("SQLite format 3\u0000").copy(bytes);
    await writeFile(corrupt, bytes);
    const corruptError = await rejection(openRos2Reader(corrupt));
    expect(corruptError.code).toBe("STRATA_E_CORRUPT_LOG");
    expect(corruptError.message).toContain("corrupt.db3");
  });

  it("bag directories: missing listed file, nothing to read, compressed bag", async () => {
    const missing = path.join(tempDir, "missing");
    await mkdir(missing);
    await writeFile(
      path.join(missing, "metadata.yaml"),
      "rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: sqlite3\n  relative_file_paths: [missing_0.db3]\n",
    );
    const notFound = await rejection(openRos2Reader(missing));
    expect(notFound.code).toBe("STRATA_E_FILE_NOT_FOUND");
    expect(notFound.message).toContain("missing_0.db3");

    const nothing = path.join(tempDir, "nothing");
    await mkdir(nothing);
    expect((await rejection(openRos2Reader(nothing))).code).toBe("STRATA_E_UNKNOWN_FORMAT");

    const compressed = path.join(tempDir, "compressed");
    await mkdir(compressed);
    await writeFile(
      path.join(compressed, "metadata.yaml"),
      "rosbag2_bagfile_information:\n  version: 5\n  storage_identifier: sqlite3\n  relative_file_paths: [c_0.db3.zstd]\n  compression_format: zstd\n  compression_mode: FILE\n",
    );
    expect((await rejection(openRos2Reader(compressed))).code).toBe("STRATA_E_UNSUPPORTED");
    expect((await rejection(openRos2Reader(path.join(tempDir, "no-such-bag")))).code).toBe(
      "STRATA_E_FILE_NOT_FOUND",
    );
  });
});
