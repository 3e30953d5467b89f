/**
 * Message types, definitions and builders for both profiles: ROS 2 (`pkg/msg/Type`, `ros2msg`
 * definitions, CDR) and ROS 1 (`pkg/Type`, `ros1msg` definitions with md5, ROS 1 serialization).
 * Standard definitions come from the formats layer's copy of @foxglove/rosmsg-msgs-common; the
 * perception message is our own, with its full definition embedded below.
 */
import { commonSchemaText, encoderFor, ros1Md5, ros1Md5FromText } from "../../formats/index.ts";

export type Profile = "ros1" | "ros2";

/** Types by their ROS 1 spelling (`pkg/Type`). */
export type MessageType =
  | "tf2_msgs/TFMessage"
  | "nav_msgs/Odometry"
  | "sensor_msgs/Imu"
  | "sensor_msgs/NavSatFix"
  | "sensor_msgs/CameraInfo"
  | "sensor_msgs/CompressedImage"
  | "sensor_msgs/PointCloud2"
  | "diagnostic_msgs/DiagnosticArray"
  | "strata_msgs/ObjectArray";

const OBJECT_ARRAY_TYPE = "strata_msgs/ObjectArray";

const OBJECT_ARRAY_TEXT = `# Objects perceived around the robot at one instant (Strata synthetic reference perception).
# header.stamp is the lidar scan the objects were found in; header.frame_id is base_link.
std_msgs/Header header
strata_msgs/Object[] objects
`;

const OBJECT_TEXT = `# One tracked object as an oriented 3D box.
# Stable across messages for as long as the object is tracked.
uint32 track_id
# "car", "pedestrian" or "cyclist".
string class_name
# Detection confidence in [0, 1].
float32 score
# Box centre and orientation in header.frame_id.
geometry_msgs/Pose pose
# Box size in metres: x = length, y = width, z = height (box axes).
geometry_msgs/Vector3 size
# Velocity over ground of the box centre (m/s), expressed in header.frame_id axes.
geometry_msgs/Vector3 velocity
`;

const SEPARATOR = "================================================================================\n";

/** Splits a concatenated definition into (type name → own text); the first section is `mainName`. */
function sections(mainName: string, text: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = text.split(SEPARATOR);
  out.set(mainName, (parts[0] ?? "").trimEnd());
  for (const part of parts.slice(1)) {
    const m = /^MSG: (\S+)\n([\s\S]*)$/.exec(part);
    if (m?.[1]) out.set(m[1], (m[2] ?? "").trimEnd());
  }
  return out;
}

function objectArrayDefinition(profile: Profile): string {
  const all = new Map<string, string>([
    [OBJECT_ARRAY_TYPE, OBJECT_ARRAY_TEXT.trimEnd()],
    ["strata_msgs/Object", OBJECT_TEXT.trimEnd()],
  ]);
  // The standard package lists leaf types only inside the types that use them (for ROS 1), so
  // take the dependency sections from two carriers.
  const wanted = [
    "std_msgs/Header",
    "geometry_msgs/Pose",
    "geometry_msgs/Point",
    "geometry_msgs/Quaternion",
    "geometry_msgs/Vector3",
  ];
  const found = new Map<string, string>();
  for (const carrier of ["geometry_msgs/PoseStamped", "geometry_msgs/Vector3Stamped"]) {
    for (const [name, text] of sections(carrier, commonSchemaText(carrier, profile))) found.set(name, text);
  }
  for (const name of wanted) {
    const text = found.get(name);
    if (text === undefined) throw new Error(`no standard ${profile} definition section for ${name}`);
    all.set(name, text);
  }
  const [first, ...rest] = [...all.entries()];
  return [
    `${(first as [string, string])[1]}\n`,
    ...rest.map(([name, text]) => `${SEPARATOR}MSG: ${name}\n${text}\n`),
  ].join("\n");
}

export function typeNameFor(type: MessageType, profile: Profile): string {
  if (profile === "ros1") return type;
  const [pkg, name] = type.split("/");
  return `${pkg}/msg/${name}`;
}

export function definitionFor(type: MessageType, profile: Profile): string {
  if (type === OBJECT_ARRAY_TYPE) return objectArrayDefinition(profile);
  return commonSchemaText(type, profile);
}

export function md5For(type: MessageType): string {
  if (type === OBJECT_ARRAY_TYPE) return ros1Md5FromText(objectArrayDefinition("ros1"));
  return ros1Md5(type);
}

export function encoderForType(type: MessageType, profile: Profile): (message: object) => Uint8Array {
  return encoderFor(
    profile === "ros2" ? "cdr" : "ros1",
    typeNameFor(type, profile),
    definitionFor(type, profile),
  );
}

const NS = 1_000_000_000n;

function stampOf(
  ns: bigint,
  profile: Profile,
): { sec: number; nanosec: number } | { sec: number; nsec: number } {
  const sec = Number(ns / NS);
  const nanos = Number(ns % NS);
  return profile === "ros2" ? { sec, nanosec: nanos } : { sec, nsec: nanos };
}

export function headerOf(ns: bigint, frameId: string, profile: Profile, seq: number): object {
  return profile === "ros2"
    ? { stamp: stampOf(ns, profile), frame_id: frameId }
    : { seq, stamp: stampOf(ns, profile), frame_id: frameId };
}

/** rosbag2-style QoS metadata for an MCAP channel (transient-local for latched topics). */
export function qosProfileYaml(latched: boolean): string {
  return [
    "- history: 3",
    "  depth: 0",
    "  reliability: 1",
    `  durability: ${latched ? 1 : 2}`,
    "  deadline:",
    "    sec: 9223372036",
    "    nsec: 854775807",
    "  lifespan:",
    "    sec: 9223372036",
    "    nsec: 854775807",
    "  liveliness: 1",
    "  liveliness_lease_duration:",
    "    sec: 9223372036",
    "    nsec: 854775807",
    "  avoid_ros_namespace_conventions: false",
  ].join("\n");
}

const NO_BYTES = new Uint8Array(0);

/**
 * Encodes a message whose large `uint8[]` field is followed only by `suffixBytes` bytes of
 * byte-aligned fields (PointCloud2: `is_dense`; CompressedImage: nothing). `build` gets an empty
 * array for that field; its encoding ends in the array's zero length and the suffix, and the bytes
 * are spliced in between, so they are copied once, into `into` when given (reused by the caller)
 * or else into a new array. Both ROS 1 and CDR write a `uint8[]` as a uint32 length and the bytes
 * with no padding after them, so this equals encoding the whole message.
 */
export function encodeWithBytes(
  encode: (message: object) => Uint8Array,
  build: (emptyBytes: Uint8Array) => object,
  bytes: Uint8Array,
  suffixBytes: number,
  into?: (byteLength: number) => Uint8Array,
): Uint8Array {
  const rest = encode(build(NO_BYTES));
  const headLength = rest.byteLength - suffixBytes;
  const out = into
    ? into(rest.byteLength + bytes.byteLength)
    : new Uint8Array(rest.byteLength + bytes.byteLength);
  const lengthAt = headLength - 4;
  if (
    lengthAt < 0 ||
    rest[lengthAt] !== 0 ||
    rest[lengthAt + 1] !== 0 ||
    rest[lengthAt + 2] !== 0 ||
    rest[lengthAt + 3] !== 0
  ) {
    throw new Error("encodeWithBytes: the encoding does not end in an empty uint8[] and the suffix");
  }
  out.set(rest.subarray(0, headLength), 0);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(lengthAt, bytes.byteLength, true);
  out.set(bytes, headLength);
  out.set(rest.subarray(headLength), headLength + bytes.byteLength);
  return out;
}
