import { readFile } from "node:fs/promises";
import type { MessageDefinition } from "@foxglove/message-definition";
import { parse } from "@foxglove/rosmsg";
import { McapStreamReader, type TypedMcapRecord } from "@mcap/core";
import { loadDecompressHandlers, protobufToDescriptor } from "@mcap/support";
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { describe, expect, it } from "vitest";
import { isStrataError } from "../../core/index.ts";
import type { ChannelInfo, SchemaInfo } from "../types.ts";
import { commonSchemaText, decoderFor, encoderFor, normalizeTypeName, ros1Md5 } from "./index.ts";

const fixtures = new URL("../../../../shared/fixtures/", import.meta.url);
const utf8 = new TextEncoder();

const COMMON_TYPES = [
  "sensor_msgs/msg/Imu",
  "sensor_msgs/msg/NavSatFix",
  "sensor_msgs/msg/CameraInfo",
  "sensor_msgs/msg/CompressedImage",
  "sensor_msgs/msg/Image",
  "sensor_msgs/msg/PointCloud2",
  "sensor_msgs/msg/LaserScan",
  "nav_msgs/msg/Odometry",
  "tf2_msgs/msg/TFMessage",
  "diagnostic_msgs/msg/DiagnosticArray",
  "geometry_msgs/msg/PoseStamped",
  "geometry_msgs/msg/PoseWithCovarianceStamped",
  "geometry_msgs/msg/TwistStamped",
  "std_msgs/msg/String",
];

function channel(messageEncoding: string, schemaName: string, topic = "/t"): ChannelInfo {
  return { id: 1, topic, schemaId: 1, schemaName, messageEncoding, metadata: {} };
}

function schema(name: string, encoding: string, text: string | Uint8Array): SchemaInfo {
  return { id: 1, name, encoding, data: typeof text === "string" ? utf8.encode(text) : text };
}

/** A deterministic sample value for every field of a definition (exactly representable numbers). */
function sampleMessage(
  defs: MessageDefinition[],
  name: string | undefined,
  profile: "ros1" | "ros2",
  seed: number,
): Record<string, unknown> {
  const def = name === undefined ? defs[0] : defs.find((d) => d.name === name);
  if (!def) throw new Error(`missing definition ${name}`);
  const out: Record<string, unknown> = {};
  let i = seed;
  for (const field of def.definitions) {
    if (field.isConstant) continue;
    i += 1;
    const one = (k: number): unknown => {
      if (field.isComplex) return sampleMessage(defs, field.type, profile, k * 7);
      switch (field.type) {
        case "bool":
          return k % 2 === 0;
        case "string":
          return profile === "ros1" ? `s${k}é` : `s${k}`;
        case "float32":
        case "float64":
          return k + 0.5;
        case "int8":
          return -(k % 100);
        case "uint8":
        case "byte":
        case "char":
          return k % 250;
        case "int16":
        case "int32":
          return -k * 3;
        case "uint16":
        case "uint32":
          return k * 3;
        case "int64":
          return BigInt(-k) * 1_000_000_007n;
        case "uint64":
          return BigInt(k) * 1_000_000_007n;
        case "time":
        case "duration":
          return profile === "ros2"
            ? { sec: 1_700_000_000 + k, nanosec: k * 1000 }
            : { sec: 1_700_000_000 + k, nsec: k * 1000 };
        default:
          throw new Error(`unhandled primitive ${field.type}`);
      }
    };
    out[field.name] = field.isArray
      ? Array.from({ length: field.arrayLength ?? 3 }, (_, k) => one(i * 10 + k))
      : one(i);
  }
  return out;
}

/** Typed arrays → plain arrays so encoder input and decoder output compare structurally. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<unknown>);
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

describe("commonSchemaText", () => {
  it.each(COMMON_TYPES)("%s has ROS 1 and ROS 2 text that parses", (typeName) => {
    const ros2 = commonSchemaText(typeName, "ros2");
    const ros1 = commonSchemaText(normalizeTypeName(typeName), "ros1");
    expect(parse(ros2, { ros2: true }).length).toBeGreaterThan(0);
    expect(parse(ros1).length).toBeGreaterThan(0);
  });

  it("concatenates dependencies as MSG sections, main type first", () => {
    const text = commonSchemaText("sensor_msgs/msg/Imu", "ros2");
    expect(text.startsWith("# This is a message to hold data from an IMU")).toBe(true);
    expect(text).toContain(
      "\n================================================================================\nMSG: std_msgs/Header\n",
    );
    expect(text).toContain("builtin_interfaces/Time stamp");
    expect(commonSchemaText("sensor_msgs/Imu", "ros1")).toContain("MSG: geometry_msgs/Quaternion");
  });

  it("throws a coded error for unknown types", () => {
    try {
      commonSchemaText("nope_msgs/msg/Nothing", "ros2");
      expect.unreachable();
    } catch (error) {
      expect(isStrataError(error) && error.code).toBe("STRATA_E_UNSUPPORTED");
    }
  });
});

describe("ros1Md5", () => {
  it.each([
    ["std_msgs/Header", "2176decaecbce78abc3b96ef049fabed"],
    ["sensor_msgs/Imu", "6a62c6daae103f4ff57a132d6f95cec2"],
    ["sensor_msgs/msg/NavSatFix", "2d3a8cd499b9b4a0249fb98fd05cfa48"],
    ["geometry_msgs/PoseStamped", "d3812c3cbc69362b77dc0b19b345f8f5"],
    ["nav_msgs/Odometry", "cd5e73d190d741a2f92e81eda573aca7"],
    ["tf2_msgs/TFMessage", "94810edda583a504dfda3829e70d7eec"],
    ["std_msgs/String", "992ce8a1687cec8c8bd883ec73ca41d1"],
    // `byte` fields and constants are hashed as written, not as the uint8 they decode to.
    ["diagnostic_msgs/DiagnosticArray", "60810da900de1dd6ddd437c3503511da"],
    ["sensor_msgs/CompressedImage", "8f7a12909da2c9d3332d540a0977563f"],
  ])("%s → %s", (typeName, sum) => {
    expect(ros1Md5(typeName)).toBe(sum);
  });
});

describe("encode → decode round trips", () => {
  it.each(COMMON_TYPES)("cdr %s", (typeName) => {
    const text = commonSchemaText(typeName, "ros2");
    const message = sampleMessage(parse(text, { ros2: true }), undefined, "ros2", 1);
    const bytes = encoderFor("cdr", typeName, text)(message);
    const decode = decoderFor(channel("cdr", typeName), schema(typeName, "ros2msg", text));
    expect(decode).toBeDefined();
    expect(plain(decode?.(bytes))).toEqual(plain(message));
  });

  it.each(COMMON_TYPES)("ros1 %s", (typeName) => {
    const name = normalizeTypeName(typeName);
    const text = commonSchemaText(name, "ros1");
    const message = sampleMessage(parse(text), undefined, "ros1", 2);
    const bytes = encoderFor("ros1", name, text)(message);
    const decode = decoderFor(channel("ros1", name), schema(name, "ros1msg", text));
    expect(plain(decode?.(bytes))).toEqual(plain(message));
  });

  it("CDR bytes of std_msgs/String are the standard layout", () => {
    const text = commonSchemaText("std_msgs/msg/String", "ros2");
    const bytes = encoderFor("cdr", "std_msgs/msg/String", text)({ data: "Hello, world! 0" });
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 1, 0, 0, 16, 0, 0, 0]);
    expect(bytes.byteLength).toBe(24);
  });

  it("a schema text that does not parse is STRATA_E_DECODE", () => {
    try {
      encoderFor("ros1", "bad/Bad", "int32 x\nthis is ] not a field");
      expect.unreachable();
    } catch (error) {
      expect(isStrataError(error) && error.code).toBe("STRATA_E_DECODE");
    }
  });

  it("refuses non-ASCII text for CDR (the CDR library miscounts UTF-8 lengths) with a coded error", () => {
    const text = commonSchemaText("std_msgs/msg/String", "ros2");
    try {
      encoderFor("cdr", "std_msgs/msg/String", text)({ data: "café" });
      expect.unreachable();
    } catch (error) {
      expect(isStrataError(error) && error.code).toBe("STRATA_E_UNSUPPORTED");
    }
  });
});

describe("decoderFor", () => {
  it("falls back to standard definitions for schemaless ROS 2 channels (pkg/msg/Type and pkg/Type)", () => {
    const text = commonSchemaText("geometry_msgs/msg/Point", "ros2");
    const bytes = encoderFor("cdr", "geometry_msgs/msg/Point", text)({ x: 1, y: 2, z: 3 });
    for (const name of ["geometry_msgs/msg/Point", "geometry_msgs/Point"]) {
      const decode = decoderFor({ ...channel("cdr", name), schemaId: 0 }, undefined);
      expect(decode?.(bytes)).toEqual({ x: 1, y: 2, z: 3 });
    }
    expect(decoderFor({ ...channel("cdr", "my_pkg/msg/Custom"), schemaId: 0 }, undefined)).toBeUndefined();
  });

  it("decodes json", () => {
    const decode = decoderFor(channel("json", "Thing"), schema("Thing", "jsonschema", "{}"));
    expect(decode?.(utf8.encode('{"a":[1,2],"b":"c"}'))).toEqual({ a: [1, 2], b: "c" });
  });

  it("decodes protobuf through a FileDescriptorSet, int64 as bigint", () => {
    const root = protobuf.Root.fromJSON({
      nested: {
        demo: {
          nested: {
            Pose: {
              fields: {
                frame: { type: "string", id: 1 },
                stampNs: { type: "int64", id: 2 },
                values: { rule: "repeated", type: "double", id: 3 },
              },
            },
          },
        },
      },
    });
    const descriptorSet = descriptor.FileDescriptorSet.encode(protobufToDescriptor(root)).finish();
    const Pose = root.lookupType("demo.Pose");
    const bytes = Pose.encode(
      Pose.fromObject({ frame: "map", stampNs: "1700000000123456789", values: [1.5, 2] }),
    ).finish();
    const decode = decoderFor(
      channel("protobuf", "demo.Pose"),
      schema("demo.Pose", "protobuf", descriptorSet),
    );
    expect(decode?.(bytes)).toEqual({ frame: "map", stampNs: 1700000000123456789n, values: [1.5, 2] });
  });

  it("caches one decoder per schema", () => {
    const s = schema(
      "geometry_msgs/msg/Point",
      "ros2msg",
      commonSchemaText("geometry_msgs/msg/Point", "ros2"),
    );
    expect(decoderFor(channel("cdr", s.name), s)).toBe(decoderFor(channel("cdr", s.name, "/other"), s));
  });

  it("returns undefined for encodings it does not know", () => {
    expect(decoderFor(channel("flatbuffer", "X"), schema("X", "flatbuffer", "abc"))).toBeUndefined();
    expect(decoderFor(channel("wrong_format", "std_msgs/msg/String"), undefined)).toBeUndefined();
  });

  it("a schema that cannot be parsed is STRATA_E_DECODE", () => {
    try {
      decoderFor(
        channel("cdr", "bad/msg/Bad"),
        schema("bad/msg/Bad", "ros2msg", "this is not ] a definition"),
      );
      expect.unreachable();
    } catch (error) {
      expect(isStrataError(error) && error.code).toBe("STRATA_E_DECODE");
    }
  });
});

/** Reads every record of a small MCAP fixture (tests only; the product reader lives in ../mcap). */
async function fixtureRecords(relativePath: string): Promise<TypedMcapRecord[]> {
  const reader = new McapStreamReader({ decompressHandlers: await loadDecompressHandlers() });
  reader.append(await readFile(new URL(relativePath, fixtures)));
  const records: TypedMcapRecord[] = [];
  for (let record = reader.nextRecord(); record; record = reader.nextRecord()) records.push(record);
  return records;
}

async function decodeFirst(relativePath: string, topic: string): Promise<unknown[]> {
  const records = await fixtureRecords(relativePath);
  const schemas = new Map<number, SchemaInfo>();
  const channels = new Map<number, ChannelInfo>();
  const decoded: unknown[] = [];
  for (const r of records) {
    if (r.type === "Schema") schemas.set(r.id, r);
    if (r.type === "Channel") {
      const s = schemas.get(r.schemaId);
      channels.set(r.id, {
        id: r.id,
        topic: r.topic,
        schemaId: r.schemaId,
        schemaName: s?.name ?? "",
        messageEncoding: r.messageEncoding,
        metadata: Object.fromEntries(r.metadata),
      });
    }
    if (r.type === "Message") {
      const c = channels.get(r.channelId);
      if (c?.topic !== topic) continue;
      const decode = decoderFor(c, schemas.get(c.schemaId));
      expect(decode).toBeDefined();
      decoded.push(decode?.(r.data));
    }
  }
  return decoded;
}

describe("real fixture messages", () => {
  it("rosbag2 talker: std_msgs/msg/String from a zstd MCAP", async () => {
    const decoded = await decodeFirst("rosbag2/rosbag2_py/mcap/talker/talker.mcap", "/topic");
    expect(decoded).toHaveLength(10);
    expect(decoded.slice(0, 2)).toEqual([{ data: "Hello, world! 0" }, { data: "Hello, world! 1" }]);
  });

  it("nav2 turtlebot: nav_msgs/msg/Odometry", async () => {
    const decoded = (await decodeFirst("rosbag2/evo/nav2_turtlebot.mcap", "/odom")) as Array<{
      header: { stamp: { sec: number; nanosec: number }; frame_id: string };
      child_frame_id: string;
      pose: { pose: { position: { x: number; y: number; z: number }; orientation: Record<string, number> } };
    }>;
    expect(decoded).toHaveLength(2639);
    const first = decoded[0];
    expect(first?.header).toEqual({ stamp: { sec: 928, nanosec: 800000000 }, frame_id: "odom" });
    expect(first?.child_frame_id).toBe("base_link");
    expect(first?.pose.pose.position).toEqual({ x: -2.8019166340612314, y: 1.0977901491292252, z: 0 });
    const q = first?.pose.pose.orientation;
    expect([q?.x === 0, q?.y === 0, q?.z, q?.w]).toEqual([
      true,
      true,
      0.08457359616958599,
      -0.9964172353140746,
    ]);
  });

  it("rosbag2 cdr_test: test_msgs BasicTypes and Arrays decode", async () => {
    const basic = await decodeFirst("rosbag2/rosbag2_tests/mcap/cdr_test/cdr_test_0.mcap", "/test_topic");
    expect(basic).toHaveLength(3);
    expect(Object.keys(basic[0] as object)).toContain("int64_value");
    const arrays = await decodeFirst("rosbag2/rosbag2_tests/mcap/cdr_test/cdr_test_0.mcap", "/array_topic");
    expect(arrays).toHaveLength(4);
  });
});

describe("ros2idl schemas", () => {
  it("decodes CDR messages whose schema is IDL text", () => {
    const idl = [
      "module demo_msgs {",
      "  module msg {",
      "    struct Point2 {",
      "      double x;",
      "      double y;",
      "    };",
      "    struct Labelled {",
      "      string label;",
      "      demo_msgs::msg::Point2 at;",
      "      sequence<int32> ids;",
      "    };",
      "  };",
      "};",
    ].join("\n");
    const msgText =
      "string label\ndemo_msgs/Point2 at\nint32[] ids\n================================================================================\nMSG: demo_msgs/Point2\nfloat64 x\nfloat64 y\n";
    const bytes = encoderFor(
      "cdr",
      "demo_msgs/msg/Labelled",
      msgText,
    )({ label: "cone", at: { x: 1.5, y: -2 }, ids: [3, 4] });
    const decode = decoderFor(
      {
        id: 1,
        topic: "/labels",
        schemaId: 1,
        schemaName: "demo_msgs/msg/Labelled",
        messageEncoding: "cdr",
        metadata: {},
      },
      { id: 1, name: "demo_msgs::msg::Labelled", encoding: "ros2idl", data: new TextEncoder().encode(idl) },
    );
    expect(decode).toBeDefined();
    const decoded = decode?.(bytes) as { label: string; at: { x: number; y: number }; ids: Int32Array };
    expect(decoded.label).toBe("cone");
    expect(decoded.at).toEqual({ x: 1.5, y: -2 });
    expect(Array.from(decoded.ids)).toEqual([3, 4]);
  });
});
