/**
 * One contract suite for every LogReader over the real bags in ../shared/fixtures/{ros1,rosbag2}.
 *
 * Part 1 (the contract) holds for every bag: summary counts equal what `messages()` and
 * `timestamps()` give, messages come in time order, the summary's range is the messages' range,
 * every message belongs to a declared channel.
 * Part 2 checks the expected values written in the fixture READMEs (counts, types, times, decoded
 * values, time windows), and the coded errors for the broken inputs.
 * A completeness check fails when a fixture file has no case here.
 */
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type ErrorCode, nsFromRosTime, StrataError } from "../src/core/index.ts";
import { detectFormat, openLog } from "../src/formats/open.ts";
import type { LogFormat, LogMessage, LogReader, LogSummary, MessageQuery } from "../src/formats/types.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const fixturesRoot = path.resolve(repoRoot, "../shared/fixtures");
const fixture = (relative: string): string => path.join(fixturesRoot, relative);

// ---------------------------------------------------------------------------------------------
// helpers

async function withReader<T>(relative: string, use: (reader: LogReader) => Promise<T>): Promise<T> {
  const reader = await openLog(fixture(relative));
  try {
    return await use(reader);
  } finally {
    await reader.close();
  }
}

async function collect(reader: LogReader, query?: MessageQuery): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  for await (const message of reader.messages(query)) out.push(message);
  return out;
}

async function count(reader: LogReader, query?: MessageQuery): Promise<number> {
  let n = 0;
  for await (const _ of reader.messages(query)) n += 1;
  return n;
}

/** Walks `a.b.0.c` into a decoded message. */
function at(value: unknown, dotted: string): unknown {
  let current: unknown = value;
  for (const key of dotted.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** A number field; -0 reads as 0 (README values are printed by Python, which prints 0 for both). */
const num = (value: unknown, dotted: string): number => (at(value, dotted) as number) + 0;
const str = (value: unknown, dotted: string): string => at(value, dotted) as string;
const stampNs = (value: unknown, dotted: string): bigint =>
  nsFromRosTime(at(value, dotted) as { sec: number; nsec?: number; nanosec?: number });

function xyz(value: unknown, dotted: string): [number, number, number] {
  return [num(value, `${dotted}.x`), num(value, `${dotted}.y`), num(value, `${dotted}.z`)];
}

function xyzw(value: unknown, dotted: string): [number, number, number, number] {
  return [
    num(value, `${dotted}.x`),
    num(value, `${dotted}.y`),
    num(value, `${dotted}.z`),
    num(value, `${dotted}.w`),
  ];
}

async function firstOn(reader: LogReader, topic: string): Promise<LogMessage> {
  for await (const message of reader.messages({ topics: [topic], decode: true })) return message;
  throw new Error(`no message on ${topic}`);
}

async function lastOn(reader: LogReader, topic: string): Promise<LogMessage> {
  let last: LogMessage | undefined;
  for await (const message of reader.messages({ topics: [topic], decode: true })) last = message;
  if (last === undefined) throw new Error(`no message on ${topic}`);
  return last;
}

/** Sum of distances between consecutive positions (metres). */
async function pathLength(reader: LogReader, topic: string, positionPath: string): Promise<number> {
  let total = 0;
  let previous: [number, number, number] | undefined;
  for await (const message of reader.messages({ topics: [topic], decode: true })) {
    const p = xyz(message.decoded, positionPath);
    if (previous !== undefined)
      total += Math.hypot(p[0] - previous[0], p[1] - previous[1], p[2] - previous[2]);
    previous = p;
  }
  return total;
}

async function rejection(promise: Promise<unknown>): Promise<StrataError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StrataError);
    return error as StrataError;
  }
  throw new Error("expected a coded error");
}

// ---------------------------------------------------------------------------------------------
// cases

interface BagCase {
  /** Relative to fixtures/. */
  path: string;
  format: LogFormat;
  messageCount: number;
  startNs?: bigint;
  endNs?: bigint;
  /** topic → [type, count]; when given, the summary's topic set must equal it. */
  topics?: Record<string, [string, number]>;
  channelCount?: number;
  check?: (reader: LogReader, summary: LogSummary) => Promise<void>;
}

interface ErrorCase {
  path: string;
  code: ErrorCode;
  /** Text the message must contain (besides the file name). */
  mentions?: string;
}

const TURTLE_TOPICS: Record<string, [string, number]> = {
  "/rosout": ["rosgraph_msgs/Log", 10],
  "/tf": ["tf/tfMessage", 2688],
  "/tf_static": ["tf2_msgs/TFMessage", 1],
  "/turtle1/cmd_vel": ["geometry_msgs/Twist", 357],
  "/turtle1/color_sensor": ["turtlesim/Color", 1351],
  "/turtle1/pose": ["turtlesim/Pose", 1344],
  "/turtle2/cmd_vel": ["geometry_msgs/Twist", 208],
  "/turtle2/color_sensor": ["turtlesim/Color", 1344],
  "/turtle2/pose": ["turtlesim/Pose", 1344],
};

const TURTLE_MD5: Record<string, string> = {
  "rosgraph_msgs/Log": "acffd30cd6b6de30f120938c17c593fb",
  "tf/tfMessage": "94810edda583a504dfda3829e70d7eec",
  "tf2_msgs/TFMessage": "94810edda583a504dfda3829e70d7eec",
  "geometry_msgs/Twist": "9f195f881246fdfa2798d1d3eebca84a",
  "turtlesim/Color": "353891e354491c51aabe32df673fb446",
  "turtlesim/Pose": "863b248d5016ca62ea2e895ae5265cf9",
};

function turtleCase(file: string, connections: number, compression: string): BagCase {
  return {
    path: `ros1/${file}`,
    format: "ros1",
    messageCount: 8647,
    startNs: 1396293887844783943n,
    endNs: 1396293909544870199n,
    topics: TURTLE_TOPICS,
    channelCount: connections,
    async check(reader, summary) {
      for (const channel of summary.channels) {
        expect(channel.messageEncoding).toBe("ros1");
        expect(channel.metadata.md5sum).toBe(TURTLE_MD5[channel.schemaName]);
      }
      expect(summary.schemas.every((s) => s.encoding === "ros1msg" && s.data.byteLength > 0)).toBe(true);
      expect(summary.metadata.find((m) => m.name === "rosbag")?.metadata).toMatchObject({
        chunk_count: "1",
        compression,
      });
      const point = await count(reader, { startNs: 1396293887846735850n, endNs: 1396293887846735850n });
      expect(point).toBe(1);
      const window = await count(reader, { startNs: 1396293886846735850n, endNs: 1396293888846735850n });
      expect(window).toBe(319);
      const [first] = await collect(reader, { decode: true, endNs: 1396293887844783943n });
      expect(first?.topic).toBe("/rosout");
      expect(str(first?.decoded, "name")).toBe("/record_1396293886837508126");
      expect(str(first?.decoded, "msg")).toBe("Subscribing to /rosout");
      const pose = await firstOn(reader, "/turtle1/pose");
      expect(pose.logTimeNs).toBe(1396293888056045055n);
      expect(pose.decoded).toEqual({
        x: 5.544444561004639,
        y: 5.544444561004639,
        theta: 0,
        linear_velocity: 0,
        angular_velocity: 0,
      });
    },
  };
}

/** The evo TF recording, the same in ROS 1 and ROS 2 form. */
async function checkTfExample(reader: LogReader): Promise<void> {
  const first = await firstOn(reader, "/tf");
  expect(first.logTimeNs).toBe(1714741164196592603n);
  expect(stampNs(first.decoded, "transforms.0.header.stamp")).toBe(1714741164177519307n);
  expect(xyz(first.decoded, "transforms.0.transform.translation")).toEqual([
    1.1603796887148006, -2.942426888388735, 0,
  ]);
  expect(xyzw(first.decoded, "transforms.0.transform.rotation")).toEqual([
    0, 0, 0.6808039454578293, 0.7324656905610344,
  ]);
  const last = await lastOn(reader, "/tf");
  expect(stampNs(last.decoded, "transforms.0.header.stamp")).toBe(1714741215784817334n);
  expect(xyz(last.decoded, "transforms.0.transform.translation")).toEqual([
    0.4409785886185202, -0.1300152062732442, 0,
  ]);
  expect(xyzw(last.decoded, "transforms.0.transform.rotation")).toEqual([
    0, 0, -0.026197894229220066, 0.9996567762677121,
  ]);
  for await (const message of reader.messages({ topics: ["/tf"], decode: true })) {
    expect(str(message.decoded, "transforms.0.header.frame_id")).toBe("odom");
    expect(str(message.decoded, "transforms.0.child_frame_id")).toBe("base_footprint");
  }
  const fixed = await firstOn(reader, "/tf_static");
  expect(str(fixed.decoded, "transforms.0.header.frame_id")).toBe("base_footprint");
  expect(str(fixed.decoded, "transforms.0.child_frame_id")).toBe("base_link");
  expect(xyz(fixed.decoded, "transforms.0.transform.translation")).toEqual([0, 0, 0]);
  expect(xyzw(fixed.decoded, "transforms.0.transform.rotation")).toEqual([0, 0, 0, 1]);
}

const ROS2_TALKER: Record<string, [string, number]> = {
  "/topic": ["std_msgs/msg/String", 10],
  "/rosout": ["rcl_interfaces/msg/Log", 10],
  "/parameter_events": ["rcl_interfaces/msg/ParameterEvent", 0],
};

function talkerCase(storage: "sqlite3" | "mcap"): BagCase {
  return {
    path: `rosbag2/rosbag2_py/${storage}/talker`,
    format: "ros2",
    messageCount: 20,
    startNs: 1585866235112411371n,
    endNs: 1585866239643508139n,
    topics: ROS2_TALKER,
    async check(reader) {
      const messages = await collect(reader, { topics: ["/topic"], decode: true });
      expect(messages.map((m) => str(m.decoded, "data"))).toEqual(
        Array.from({ length: 10 }, (_, i) => `Hello, world! ${i}`),
      );
      for (const message of messages) {
        expect(message.data.byteLength).toBe(24);
        expect([...message.data.subarray(0, 4)]).toEqual([0, 1, 0, 0]);
      }
    },
  };
}

const WBAG_TOPICS: Record<string, [string, number]> = Object.fromEntries(
  (
    [
      ["AAA", 804],
      ["BBB", 742],
      ["CCC", 742],
      ["DDD", 753],
      ["EEE", 804],
      ["FFF", 772],
      ["GGG", 731],
      ["HHH", 726],
    ] as const
  ).map(([topic, n]) => [topic, ["std_msgs/msg/String", n]]),
);

function wbagCase(storage: "sqlite3" | "mcap"): BagCase {
  const extension = storage === "sqlite3" ? "db3" : "mcap";
  return {
    path: `rosbag2/rosbag2_py/${storage}/wbag`,
    format: "ros2",
    messageCount: 6074,
    startNs: 1000n,
    endNs: 2998n,
    topics: WBAG_TOPICS,
    channelCount: 8,
    async check(_reader, summary) {
      // metadata.yaml's starting_time 2623 / duration 411 are wrong on purpose: flagged, not used.
      expect(summary.warnings.some((w) => w.includes("starting_time 2623"))).toBe(true);
      const perFile: number[] = [];
      for (let i = 0; i < 5; i++) {
        perFile.push(
          await withReader(`rosbag2/rosbag2_py/${storage}/wbag/wbag_${i}.${extension}`, async (single) =>
            Number((await single.summary()).messageCount),
          ),
        );
      }
      expect(perFile).toEqual([1246, 1240, 1240, 1240, 1108]);
    },
  };
}

function multipleFilesCase(storage: "sqlite3" | "mcap"): BagCase {
  return {
    path: `rosbag2/rosbag2_py/${storage}/reindex_test_bags/multiple_files`,
    format: "ros2",
    messageCount: 3177,
    startNs: 1616653333034080451n,
    endNs: 1616653339386193357n,
    topics: { "/chatter": ["std_msgs/msg/String", 3177] },
    async check(reader) {
      for await (const message of reader.messages({ decode: true }))
        expect(str(message.decoded, "data")).toBe("test");
    },
  };
}

function convertCases(storage: "sqlite3" | "mcap"): BagCase[] {
  return [
    {
      path: `rosbag2/rosbag2_py/${storage}/convert_a`,
      format: "ros2",
      messageCount: 150,
      startNs: 0n,
      endNs: 100000000n,
      topics: { a_empty: ["test_msgs/msg/Empty", 100], b_basictypes: ["test_msgs/msg/BasicTypes", 50] },
    },
    {
      path: `rosbag2/rosbag2_py/${storage}/convert_b`,
      format: "ros2",
      messageCount: 75,
      startNs: 0n,
      endNs: 222000000n,
      topics: { a_empty: ["test_msgs/msg/Empty", 25], c_strings: ["test_msgs/msg/Strings", 50] },
    },
  ];
}

const CDR_TEST_TOPICS: Record<string, [string, number]> = {
  "/test_topic": ["test_msgs/msg/BasicTypes", 3],
  "/array_topic": ["test_msgs/msg/Arrays", 4],
};

const SERVICE_EVENT_TOPICS: Record<string, [string, number]> = {
  "/test_topic1": ["test_msgs/msg/Strings", 1],
  "/test_topic2": ["test_msgs/msg/Strings", 1],
  "/test_service1/_service_event": ["test_msgs/srv/BasicTypes_Event", 4],
  "/test_service2/_service_event": ["test_msgs/srv/BasicTypes_Event", 4],
  "/events/write_split": ["rosbag2_interfaces/msg/WriteSplitEvent", 0],
};

const TOPICS_AND_SERVICES: Record<string, [string, number]> = {
  "/parameter_events": ["rcl_interfaces/msg/ParameterEvent", 7],
  "/add_two_ints/_service_event": ["example_interfaces/srv/AddTwoInts_Event", 6],
  "/rosout": ["rcl_interfaces/msg/Log", 0],
  "/events/write_split": ["rosbag2_interfaces/msg/WriteSplitEvent", 0],
  "/add_two_ints2/_service_event": ["example_interfaces/srv/AddTwoInts_Event", 0],
};

const BAG_CASES: BagCase[] = [
  // ---------------- ROS 1
  turtleCase("example.bag", 12, "none"),
  turtleCase("example-bz2.bag", 9, "bz2"),
  turtleCase("example-lz4.bag", 9, "lz4"),
  { path: "ros1/no-messages.bag", format: "ros1", messageCount: 0, topics: {}, channelCount: 0 },
  {
    path: "ros1/example-unsorted-chunks.bag",
    format: "ros1",
    messageCount: 3,
    startNs: 1_000_000_000n,
    endNs: 3_000_000_000n,
    topics: { foo: ["std_msgs/String", 3] },
    channelCount: 1,
    async check(reader, summary) {
      expect(summary.channels[0]?.metadata.md5sum).toBe("992ce8a1687cec8c8bd883ec73ca41d1");
      const messages = await collect(reader, { decode: true });
      expect(messages.map((m) => str(m.decoded, "data"))).toEqual(["1", "2", "3"]);
      expect(summary.metadata.find((m) => m.name === "rosbag")?.metadata.chunk_count).toBe("3");
    },
  },
  {
    path: "ros1/tf_example.bag",
    format: "ros1",
    messageCount: 518,
    startNs: 1714741164111822142n,
    endNs: 1714741215796545476n,
    topics: { "/tf": ["tf2_msgs/TFMessage", 517], "/tf_static": ["tf2_msgs/TFMessage", 1] },
    async check(reader, summary) {
      expect(summary.metadata.find((m) => m.name === "rosbag")?.metadata).toMatchObject({
        chunk_count: "1",
        compression: "lz4",
      });
      await checkTfExample(reader);
    },
  },
  {
    path: "ros1/ROS_example.bag",
    format: "ros1",
    messageCount: 26566,
    // The true maximum is in chunk 3 of 5 (Python rosbag reports the last chunk's end instead).
    startNs: 1502792570283404827n,
    endNs: 1502793459302349567n,
    topics: {
      groundtruth: ["geometry_msgs/PoseStamped", 12765],
      "ORB-SLAM": ["geometry_msgs/PoseStamped", 8362],
      "S-PTAM": ["geometry_msgs/PoseStamped", 5439],
    },
    async check(reader, summary) {
      expect(summary.metadata.find((m) => m.name === "rosbag")?.metadata.chunk_count).toBe("5");
      expect(new Set(summary.channels.map((c) => c.metadata.md5sum))).toEqual(
        new Set(["d3812c3cbc69362b77dc0b19b345f8f5"]),
      );
      for await (const message of reader.messages({ decode: true })) {
        expect(str(message.decoded, "header.frame_id")).toBe(message.topic);
        expect(stampNs(message.decoded, "header.stamp")).toBe(message.logTimeNs);
      }
      const truth = await firstOn(reader, "groundtruth");
      expect(stampNs(truth.decoded, "header.stamp")).toBe(1502792570283404827n);
      expect(xyz(truth.decoded, "pose.position")).toEqual([
        -0.004899939787714927, -0.01775981455685227, -0.013755318406774505,
      ]);
      expect(xyzw(truth.decoded, "pose.orientation")).toEqual([
        -0.0036862949370505883, -7.802442831383871e-5, 0.0010617464008890892, 0.9999926388911098,
      ]);
      for (const [topic, stamp] of [
        ["ORB-SLAM", 1502792579827646017n],
        ["S-PTAM", 1502792579887224912n],
      ] as const) {
        const first = await firstOn(reader, topic);
        expect(stampNs(first.decoded, "header.stamp")).toBe(stamp);
        expect(xyz(first.decoded, "pose.position")).toEqual([0, 0, 0]);
        expect(xyzw(first.decoded, "pose.orientation")).toEqual([0, 0, 0, 1]);
      }
    },
  },

  // ---------------- ROS 2: single files without metadata.yaml
  {
    path: "rosbag2/rosbag2_cpp/bags/only_topics.mcap",
    format: "mcap",
    messageCount: 7,
    startNs: 1697521620031724098n,
    endNs: 1697521620038262023n,
    topics: {
      "/rosout": ["rcl_interfaces/msg/Log", 0],
      "/parameter_events": ["rcl_interfaces/msg/ParameterEvent", 7],
      "/events/write_split": ["rosbag2_interfaces/msg/WriteSplitEvent", 0],
    },
    async check(_reader, summary) {
      expect(summary.profile).toBe("ros2");
      expect(summary.library).toBe("libmcap 1.1.0");
    },
  },
  {
    path: "rosbag2/rosbag2_cpp/bags/only_services.mcap",
    format: "mcap",
    messageCount: 12,
    startNs: 1697521953726475197n,
    endNs: 1697521956226579212n,
    topics: { "/add_two_ints/_service_event": ["example_interfaces/srv/AddTwoInts_Event", 12] },
  },
  {
    path: "rosbag2/rosbag2_cpp/bags/topics_and_services.mcap",
    format: "mcap",
    messageCount: 13,
    startNs: 1697522263121459207n,
    endNs: 1697522264629347866n,
    topics: TOPICS_AND_SERVICES,
  },
  {
    path: "rosbag2/rosbag2_cpp/bags/topics_and_services.db3",
    format: "ros2",
    messageCount: 13,
    startNs: 1697522387465250790n,
    endNs: 1697522388973342699n,
    topics: TOPICS_AND_SERVICES,
  },

  // ---------------- ROS 2: rosbag2_py, both storages
  talkerCase("sqlite3"),
  talkerCase("mcap"),
  ...convertCases("sqlite3"),
  ...convertCases("mcap"),
  wbagCase("sqlite3"),
  wbagCase("mcap"),
  multipleFilesCase("sqlite3"),
  multipleFilesCase("mcap"),

  // ---------------- ROS 2: rosbag2_tests
  {
    path: "rosbag2/rosbag2_tests/sqlite3/cdr_test",
    format: "ros2",
    messageCount: 7,
    startNs: 1586406456763032325n,
    endNs: 1586406456914169506n,
    topics: CDR_TEST_TOPICS,
  },
  {
    path: "rosbag2/rosbag2_tests/mcap/cdr_test",
    format: "ros2",
    messageCount: 7,
    startNs: 1586406456763032325n,
    endNs: 1586406456914169506n,
    topics: CDR_TEST_TOPICS,
  },
  {
    path: "rosbag2/rosbag2_tests/sqlite3/bag_with_topics_and_service_events",
    format: "ros2",
    messageCount: 10,
    startNs: 1699345836023194036n,
    endNs: 1699345836093827766n,
    topics: SERVICE_EVENT_TOPICS,
  },
  {
    path: "rosbag2/rosbag2_tests/mcap/bag_with_topics_and_service_events",
    format: "ros2",
    messageCount: 10,
    startNs: 1699345836270074454n,
    endNs: 1699345836340728398n,
    topics: SERVICE_EVENT_TOPICS,
  },

  // ---------------- ROS 2: others
  {
    path: "rosbag2/ros2bag/empty_bag",
    format: "ros2",
    messageCount: 0,
    topics: {
      "/rosout": ["rcl_interfaces/msg/Log", 0],
      "/parameter_events": ["rcl_interfaces/msg/ParameterEvent", 0],
    },
  },
  {
    path: "rosbag2/rosbag2_transport/sqlite3/test_bag_for_seek",
    format: "ros2",
    messageCount: 5,
    startNs: 1000000000n,
    endNs: 1400000000n,
    topics: { topic1: ["test_msgs/BasicTypes", 5] },
  },
  {
    path: "rosbag2/rosbag2_transport/mcap/test_bag_for_seek",
    format: "ros2",
    messageCount: 5,
    startNs: 1000000000n,
    endNs: 1400000000n,
    topics: { topic1: ["test_msgs/BasicTypes", 5] },
  },
  {
    path: "rosbag2/evo/tf_example",
    format: "ros2",
    messageCount: 518,
    startNs: 1714741164111822142n,
    endNs: 1714741215796545476n,
    topics: { "/tf": ["tf2_msgs/msg/TFMessage", 517], "/tf_static": ["tf2_msgs/msg/TFMessage", 1] },
    check: checkTfExample,
  },
  {
    path: "rosbag2/evo/nav2_turtlebot.mcap",
    format: "mcap",
    messageCount: 8197,
    startNs: 1778234353382747000n,
    endNs: 1778234450738043000n,
    topics: {
      "/odom": ["nav_msgs/msg/Odometry", 2639],
      "/tf": ["tf2_msgs/msg/TFMessage", 5422],
      "/tf_static": ["tf2_msgs/msg/TFMessage", 1],
      "/amcl_pose": ["geometry_msgs/msg/PoseWithCovarianceStamped", 135],
    },
    async check(reader, summary) {
      expect(summary.channels.map((c) => c.id).sort((a, b) => a - b)).toEqual([6, 9, 13, 24]);
      const odom = await firstOn(reader, "/odom");
      expect(stampNs(odom.decoded, "header.stamp")).toBe(928_800_000_000n);
      expect(str(odom.decoded, "header.frame_id")).toBe("odom");
      expect(str(odom.decoded, "child_frame_id")).toBe("base_link");
      expect(xyz(odom.decoded, "pose.pose.position")).toEqual([-2.8019166340612314, 1.0977901491292252, 0]);
      expect(xyzw(odom.decoded, "pose.pose.orientation")).toEqual([
        0, 0, 0.08457359616958599, -0.9964172353140746,
      ]);
      const lastOdom = await lastOn(reader, "/odom");
      expect(stampNs(lastOdom.decoded, "header.stamp")).toBe(1_025_496_000_000n);
      expect(xyz(lastOdom.decoded, "pose.pose.position")).toEqual([
        0.21005680059713844, 1.7384547450994159, 0,
      ]);
      expect(await pathLength(reader, "/odom", "pose.pose.position")).toBeCloseTo(34.321886, 5);
      const amcl = await firstOn(reader, "/amcl_pose");
      expect(str(amcl.decoded, "header.frame_id")).toBe("map");
      expect(stampNs(amcl.decoded, "header.stamp")).toBe(924_102_000_000n);
      expect(xyz(amcl.decoded, "pose.pose.position")).toEqual([4.36519665396771, 7.579351695734543, 0]);
      const lastAmcl = await lastOn(reader, "/amcl_pose");
      expect(stampNs(lastAmcl.decoded, "header.stamp")).toBe(1_023_300_000_000n);
      expect(xyz(lastAmcl.decoded, "pose.pose.position")).toEqual([7.188903053858683, 7.787517263356672, 0]);
      expect(await pathLength(reader, "/amcl_pose", "pose.pose.position")).toBeCloseTo(34.45023, 5);
    },
  },
];

const ERROR_CASES: ErrorCase[] = [
  { path: "ros1/empty-file.bag", code: "STRATA_E_EMPTY_FILE" },
  {
    path: "rosbag2/rosbag2_tests/sqlite3/wrong_rmw_test",
    code: "STRATA_E_WRONG_ENCODING",
    mentions: "wrong_format",
  },
  {
    path: "rosbag2/rosbag2_tests/mcap/wrong_rmw_test",
    code: "STRATA_E_WRONG_ENCODING",
    mentions: "wrong_format",
  },
  { path: "ros1/README.md", code: "STRATA_E_UNKNOWN_FORMAT", mentions: "first bytes" },
];

/**
 * The wrong_rmw_test storage files opened on their own (not as a bag directory): the .db3's topics
 * table says `cdr`, so it reads as the cdr_test data; the .mcap's channels say `wrong_format`, which
 * the MCAP reader opens and flags with a warning (the bag directory above is rejected instead).
 */
const EXTRA_BAG_CASES: BagCase[] = [
  {
    path: "rosbag2/rosbag2_tests/sqlite3/wrong_rmw_test/wrong_rmw_test_0.db3",
    format: "ros2",
    messageCount: 7,
    startNs: 1586406456763032325n,
    endNs: 1586406456914169506n,
    topics: CDR_TEST_TOPICS,
  },
  {
    path: "rosbag2/rosbag2_tests/mcap/wrong_rmw_test/wrong_rmw_test_0.mcap",
    format: "mcap",
    messageCount: 7,
    startNs: 1586406456763032325n,
    endNs: 1586406456914169506n,
    topics: CDR_TEST_TOPICS,
    async check(_reader, summary) {
      expect(summary.channels.every((c) => c.messageEncoding === "wrong_format")).toBe(true);
      expect(summary.warnings.filter((w) => w.includes('"wrong_format"'))).toHaveLength(2);
    },
  },
];

// ---------------------------------------------------------------------------------------------
// the suite

describe("fixture coverage", () => {
  it("every bag file under fixtures/ros1 and fixtures/rosbag2 has a case", () => {
    const covered = [...BAG_CASES, ...EXTRA_BAG_CASES, ...ERROR_CASES].map((c) => fixture(c.path));
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (/\.(bag|db3|mcap)$/.test(name)) files.push(full);
      }
    };
    walk(fixture("ros1"));
    walk(fixture("rosbag2"));
    expect(files.length).toBeGreaterThan(40);
    const uncovered = files.filter(
      (file) => !covered.some((c) => file === c || file.startsWith(`${c}${path.sep}`)),
    );
    expect(uncovered).toEqual([]);
  });
});

describe.each([...BAG_CASES, ...EXTRA_BAG_CASES])("$path", (bag) => {
  it("detects the format from content", async () => {
    expect(await detectFormat(fixture(bag.path))).toBe(bag.format);
  });

  it("meets the LogReader contract", async () => {
    await withReader(bag.path, async (reader) => {
      expect(reader.format).toBe(bag.format);
      const summary = await reader.summary();
      expect(summary.format).toBe(bag.format);
      const channels = new Map(summary.channels.map((c) => [c.id, c]));
      const schemaIds = new Set(summary.schemas.map((s) => s.id));
      for (const channel of summary.channels) {
        if (channel.schemaId !== 0) expect(schemaIds.has(channel.schemaId)).toBe(true);
      }
      const perTopic = new Map<string, { count: bigint; first: bigint; last: bigint }>();
      const perChannel = new Map<number, number>();
      let total = 0n;
      let previous: bigint | undefined;
      let first: bigint | undefined;
      for await (const message of reader.messages()) {
        const channel = channels.get(message.channelId);
        expect(channel?.topic).toBe(message.topic);
        if (previous !== undefined) expect(message.logTimeNs >= previous).toBe(true);
        previous = message.logTimeNs;
        first ??= message.logTimeNs;
        total += 1n;
        perChannel.set(message.channelId, (perChannel.get(message.channelId) ?? 0) + 1);
        const stats = perTopic.get(message.topic);
        if (stats === undefined) {
          perTopic.set(message.topic, { count: 1n, first: message.logTimeNs, last: message.logTimeNs });
        } else {
          stats.count += 1n;
          stats.last = message.logTimeNs;
        }
      }
      expect(summary.messageCount).toBe(total);
      expect(summary.startTimeNs).toBe(first);
      expect(summary.endTimeNs).toBe(previous);
      for (const topic of summary.topics) {
        const seen = perTopic.get(topic.topic);
        expect(topic.messageCount).toBe(seen?.count ?? 0n);
        expect(topic.firstTimeNs).toBe(seen?.first);
        expect(topic.lastTimeNs).toBe(seen?.last);
      }
      expect([...perTopic.keys()].every((t) => summary.topics.some((s) => s.topic === t))).toBe(true);
      const stamped = new Map<number, number>();
      for await (const batch of reader.timestamps()) {
        for (const stamp of batch) {
          expect(channels.has(stamp.channelId)).toBe(true);
          stamped.set(stamp.channelId, (stamped.get(stamp.channelId) ?? 0) + 1);
        }
      }
      expect(stamped).toEqual(perChannel);
    });
  });

  it("has the documented counts, topics and time range", async () => {
    await withReader(bag.path, async (reader) => {
      const summary = await reader.summary();
      expect(summary.messageCount).toBe(BigInt(bag.messageCount));
      expect(summary.startTimeNs).toBe(bag.startNs);
      expect(summary.endTimeNs).toBe(bag.endNs);
      if (bag.topics !== undefined) {
        const actual = Object.fromEntries(
          summary.topics.map((t) => [t.topic, [t.schemaName, Number(t.messageCount)] as [string, number]]),
        );
        expect(actual).toEqual(bag.topics);
      }
      if (bag.channelCount !== undefined) expect(summary.channels).toHaveLength(bag.channelCount);
      await bag.check?.(reader, summary);
    });
  });
});

describe.each(ERROR_CASES)("$path", (bad) => {
  it(`fails with ${bad.code}`, async () => {
    const error = await rejection(openLog(fixture(bad.path)));
    expect(error.code).toBe(bad.code);
    expect(error.message).toContain(path.basename(bad.path));
    if (bad.mentions !== undefined) expect(error.message).toContain(bad.mentions);
  });
});
