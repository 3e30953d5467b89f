/**
 * rosbag2 `metadata.yaml` (versions 1–9; fixtures cover 4–8). Only what the data cannot tell us is
 * trusted from here: file list, storage id, declared serialization formats, QoS, compression.
 * Counts and times are kept as `declared*` and compared against the data, never used in its place.
 */
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { StrataError } from "../../core/index.ts";

export interface Ros2TopicMetadata {
  name: string;
  type: string;
  serializationFormat: string;
  /** The QoS profiles as YAML text (rosbag2 stores a YAML document inside a YAML string). */
  offeredQosProfiles: string;
  typeDescriptionHash: string;
  declaredMessageCount: bigint;
}

export interface Ros2BagMetadata {
  version: number;
  storageIdentifier: string;
  relativeFilePaths: string[];
  topics: Ros2TopicMetadata[];
  declaredMessageCount: bigint;
  declaredStartingTimeNs: bigint;
  declaredDurationNs: bigint;
  compressionFormat: string;
  compressionMode: string;
  rosDistro: string;
  customData: Record<string, string>;
}

export const NEWEST_KNOWN_METADATA_VERSION = 9;

type YamlMap = Record<string, unknown>;

const isMap = (value: unknown): value is YamlMap =>
  value !== null && typeof value === "object" && !Array.isArray(value);

function asBigint(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isFinite(value)) return BigInt(Math.trunc(value));
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  return 0n;
}

const asString = (value: unknown): string =>
  typeof value === "string" ? value : value === null || value === undefined ? "" : String(value);

/** Parses metadata.yaml text; `fileName` names the file in errors. */
export function parseBagMetadata(text: string, fileName: string): Ros2BagMetadata {
  let document: unknown;
  try {
    // intAsBigInt: starting_time can be INT64_MAX (9223372036854775807) in empty bags.
    document = parseYaml(text, { intAsBigInt: true });
  } catch (error) {
    throw new StrataError(
      "STRATA_E_CORRUPT_LOG",
      `metadata.yaml is not valid YAML: ${(error as Error).message}`,
      { file: fileName },
      { cause: error },
    );
  }
  const info = isMap(document) ? document.rosbag2_bagfile_information : undefined;
  if (!isMap(info)) {
    throw new StrataError("STRATA_E_UNKNOWN_FORMAT", "metadata.yaml has no rosbag2_bagfile_information", {
      file: fileName,
    });
  }
  const topics: Ros2TopicMetadata[] = [];
  const rawTopics = Array.isArray(info.topics_with_message_count) ? info.topics_with_message_count : [];
  for (const entry of rawTopics) {
    if (!isMap(entry) || !isMap(entry.topic_metadata)) continue;
    const topic = entry.topic_metadata;
    topics.push({
      name: asString(topic.name),
      type: asString(topic.type),
      serializationFormat: asString(topic.serialization_format),
      offeredQosProfiles: qosText(topic.offered_qos_profiles),
      typeDescriptionHash: asString(topic.type_description_hash),
      declaredMessageCount: asBigint(entry.message_count),
    });
  }
  let relativeFilePaths = Array.isArray(info.relative_file_paths)
    ? info.relative_file_paths.map(asString)
    : [];
  if (relativeFilePaths.length === 0 && Array.isArray(info.files)) {
    relativeFilePaths = info.files.filter(isMap).map((file) => asString(file.path));
  }
  const customData: Record<string, string> = {};
  if (isMap(info.custom_data)) {
    for (const [key, value] of Object.entries(info.custom_data)) customData[key] = asString(value);
  }
  return {
    version: Number(asBigint(info.version)),
    storageIdentifier: asString(info.storage_identifier),
    relativeFilePaths: relativeFilePaths.filter((p) => p !== ""),
    topics,
    declaredMessageCount: asBigint(info.message_count),
    declaredStartingTimeNs: isMap(info.starting_time)
      ? asBigint(info.starting_time.nanoseconds_since_epoch)
      : 0n,
    declaredDurationNs: isMap(info.duration) ? asBigint(info.duration.nanoseconds) : 0n,
    compressionFormat: asString(info.compression_format),
    compressionMode: asString(info.compression_mode),
    rosDistro: asString(info.ros_distro),
    customData,
  };
}

/** Up to v8 the QoS list is a YAML string; newer writers may inline it. Either way: YAML text. */
function qosText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  return stringifyYaml(value, (_key, v) => (typeof v === "bigint" ? Number(v) : v)).trimEnd();
}

export interface QosProfile {
  history?: number;
  depth?: number;
  reliability?: number;
  durability?: number;
  [key: string]: unknown;
}

/** Parses the YAML-inside-YAML `offered_qos_profiles` text into profiles ([] when empty). */
export function parseOfferedQosProfiles(text: string): QosProfile[] {
  if (text.trim() === "") return [];
  const parsed: unknown = parseYaml(text);
  return Array.isArray(parsed) ? parsed.filter(isMap) : [];
}
