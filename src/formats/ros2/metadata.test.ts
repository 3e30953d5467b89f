import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { StrataError } from "../../core/index.ts";
import { parseBagMetadata, parseOfferedQosProfiles } from "./metadata.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const rosbag2 = path.resolve(repoRoot, "../shared/fixtures/rosbag2");
const read = (relative: string): string => readFileSync(path.join(rosbag2, relative), "utf8");

describe("parseBagMetadata", () => {
  it("reads a version 4 file (talker) with QoS as YAML inside a YAML string", () => {
    const metadata = parseBagMetadata(
      read("rosbag2_py/sqlite3/talker/metadata.yaml"),
      "talker/metadata.yaml",
    );
    expect(metadata).toMatchObject({
      version: 4,
      storageIdentifier: "sqlite3",
      relativeFilePaths: ["talker.db3"],
      declaredMessageCount: 20n,
      declaredStartingTimeNs: 1585866235112411371n,
      declaredDurationNs: 4531096768n,
      compressionFormat: "",
      compressionMode: "",
    });
    const topic = metadata.topics.find((t) => t.name === "/topic")!;
    expect(topic).toMatchObject({
      type: "std_msgs/msg/String",
      serializationFormat: "cdr",
      declaredMessageCount: 10n,
    });
    const [qos] = parseOfferedQosProfiles(topic.offeredQosProfiles);
    expect(qos).toMatchObject({ history: 3, depth: 0, reliability: 1, durability: 2 });
    expect(qos?.deadline).toEqual({ sec: 0, nsec: 0 });
  });

  it("reads a version 8 file (rosbags writer) with files, custom_data and ros_distro", () => {
    const metadata = parseBagMetadata(read("evo/tf_example/metadata.yaml"), "metadata.yaml");
    expect(metadata.version).toBe(8);
    expect(metadata.rosDistro).toBe("rosbags");
    expect(metadata.relativeFilePaths).toEqual(["tf_example.db3"]);
    expect(metadata.topics.map((t) => t.typeDescriptionHash)).toEqual([
      "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087",
      "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087",
    ]);
    expect(parseOfferedQosProfiles("")).toEqual([]);
  });

  it("keeps INT64_MAX starting_time exact (empty bag) and reads the wrong_format declaration", () => {
    const empty = parseBagMetadata(read("ros2bag/empty_bag/metadata.yaml"), "metadata.yaml");
    expect(empty.declaredStartingTimeNs).toBe(9223372036854775807n);
    const wrong = parseBagMetadata(read("rosbag2_tests/mcap/wrong_rmw_test/metadata.yaml"), "metadata.yaml");
    expect(wrong.version).toBe(6);
    expect(wrong.topics.map((t) => t.serializationFormat)).toEqual(["wrong_format", "wrong_format"]);
  });

  it("takes the file list from `files:` when relative_file_paths is absent, and inline QoS lists as YAML text", () => {
    const text = [
      "rosbag2_bagfile_information:",
      "  version: 9",
      "  storage_identifier: mcap",
      "  files:",
      "    - path: a_0.mcap",
      "    - path: a_1.mcap",
      "  topics_with_message_count:",
      "    - message_count: 2",
      "      topic_metadata:",
      "        name: /x",
      "        type: std_msgs/msg/String",
      "        serialization_format: cdr",
      "        offered_qos_profiles:",
      "          - history: keep_last",
      "            depth: 10",
    ].join("\n");
    const metadata = parseBagMetadata(text, "metadata.yaml");
    expect(metadata.relativeFilePaths).toEqual(["a_0.mcap", "a_1.mcap"]);
    expect(parseOfferedQosProfiles(metadata.topics[0]!.offeredQosProfiles)).toEqual([
      { history: "keep_last", depth: 10 },
    ]);
  });

  it("rejects invalid YAML and YAML that is not rosbag2 metadata with coded errors", () => {
    const broken = (() => {
      try {
        parseBagMetadata("rosbag2_bagfile_information: [unclosed", "bad/metadata.yaml");
      } catch (error) {
        return error;
      }
    })();
    expect(broken).toBeInstanceOf(StrataError);
    expect((broken as StrataError).code).toBe("STRATA_E_CORRUPT_LOG");
    expect((broken as StrataError).message).toContain("bad/metadata.yaml");
    expect(() => parseBagMetadata("just: text", "other.yaml")).toThrow(/rosbag2_bagfile_information/);
  });
});
