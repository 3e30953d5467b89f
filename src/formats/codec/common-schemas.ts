/**
 * Standard ROS message definitions from @foxglove/rosmsg-msgs-common.
 *
 * The package ships, per distro, the full concatenated definition text of every message (the main
 * type, then a `MSG: pkg/Type` section per dependency), exactly the text a rosbag2 / ROS 1 writer
 * embeds in a file. We read those package files (synchronously, once per type, cached) rather than
 * re-stringifying the parsed objects, so comments, constants and default values stay as upstream
 * wrote them.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { md5, parse } from "@foxglove/rosmsg";
import { StrataError } from "../../core/index.ts";

export type RosProfile = "ros1" | "ros2";

/** ROS 2 distros searched in order; Humble (the long-term release) first. */
const ROS2_DISTROS = ["ros2humble", "ros2jazzy", "ros2iron", "ros2galactic"] as const;

let msgdefsRoot: string | undefined;
function msgdefsDir(): string {
  if (msgdefsRoot === undefined) {
    const entry = createRequire(import.meta.url).resolve("@foxglove/rosmsg-msgs-common");
    msgdefsRoot = join(dirname(entry), "..", "msgdefs");
  }
  return msgdefsRoot;
}

/** Splits `pkg/msg/Type`, `pkg/Type` (and `pkg/srv/Type`) into package and type. */
export function splitTypeName(typeName: string): { pkg: string; type: string } | undefined {
  const parts = typeName.trim().split("/");
  if (parts.length === 2 && parts[0] && parts[1]) return { pkg: parts[0], type: parts[1] };
  if (parts.length === 3 && parts[0] && parts[2] && parts[1] === "msg")
    return { pkg: parts[0], type: parts[2] };
  return undefined;
}

/** `pkg/msg/Type` and `pkg/Type` both become `pkg/Type`. */
export function normalizeTypeName(typeName: string): string {
  const split = splitTypeName(typeName);
  return split ? `${split.pkg}/${split.type}` : typeName;
}

const textCache = new Map<string, string | null>();

/** The embedded definition text for a standard type, or undefined when the package lacks it. */
export function findCommonSchemaText(typeName: string, profile: RosProfile): string | undefined {
  const split = splitTypeName(typeName);
  if (!split || !/^[A-Za-z0-9_]+$/.test(split.pkg) || !/^[A-Za-z0-9_]+$/.test(split.type)) return undefined;
  const key = `${profile}:${split.pkg}/${split.type}`;
  const cached = textCache.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const candidates =
    profile === "ros1"
      ? [join(msgdefsDir(), "ros1", split.pkg, `${split.type}.msg`)]
      : ROS2_DISTROS.map((distro) => join(msgdefsDir(), distro, split.pkg, "msg", `${split.type}.msg`));
  let found: string | null = null;
  for (const path of candidates) {
    try {
      found = readFileSync(path, "utf8");
      break;
    } catch {
      // not in this distro; try the next
    }
  }
  textCache.set(key, found);
  return found ?? undefined;
}

/**
 * The full concatenated definition text of a standard ROS type (main type first, then
 * `================================================================================\nMSG: pkg/Type`
 * sections), as a ROS 1 (`ros1msg`) or ROS 2 (`ros2msg`) writer embeds it.
 * Throws STRATA_E_UNSUPPORTED for a type @foxglove/rosmsg-msgs-common does not define.
 */
export function commonSchemaText(typeName: string, profile: RosProfile): string {
  const text = findCommonSchemaText(typeName, profile);
  if (text === undefined) {
    throw new StrataError("STRATA_E_UNSUPPORTED", `no standard ${profile} definition for ${typeName}`);
  }
  return text;
}

/**
 * The ROS 1 md5sum of a message definition text (gendeps --md5 rules, via @foxglove/rosmsg).
 *
 * gendeps hashes each field and constant with the type as written, but the parser normalises `byte`
 * and `char` to `int8`/`uint8`, which would give another sum for any type that uses them (e.g.
 * diagnostic_msgs/DiagnosticStatus: `byte level`). The written type names are put back first.
 */
export function ros1Md5FromText(definitionText: string): string {
  const definitions = parse(definitionText);
  const writtenTypes = writtenTypesBySection(definitionText);
  const restored = definitions.map((definition, index) => {
    const written = writtenTypes.get(index === 0 ? ROOT_SECTION : (definition.name ?? ""));
    if (written === undefined || written.length !== definition.definitions.length) return definition;
    return {
      ...definition,
      definitions: definition.definitions.map((field, i) => {
        const type = written[i];
        const renamed =
          (type === "byte" || type === "char") && (field.type === "int8" || field.type === "uint8");
        return renamed ? { ...field, type } : field;
      }),
    };
  });
  return md5(restored);
}

const ROOT_SECTION = "";

/** Per `MSG:` section (the root is ""), the type token of each field/constant line, in order. */
function writtenTypesBySection(definitionText: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let types: string[] = [];
  sections.set(ROOT_SECTION, types);
  for (const rawLine of definitionText.split("\n")) {
    const line = rawLine.trim();
    if (line.startsWith("MSG:")) {
      types = [];
      sections.set(line.slice(4).trim(), types);
      continue;
    }
    if (line === "" || line.startsWith("#") || /^=+$/.test(line)) continue;
    const type = line.split(/\s+/)[0] ?? "";
    types.push(type.replace(/\[\d*\]$/, ""));
  }
  return sections;
}

const md5Cache = new Map<string, string>();

/** The ROS 1 md5sum of a standard type, e.g. `sensor_msgs/Imu` → `6a62c6daae103f4ff57a132d6f95cec2`. */
export function ros1Md5(typeName: string): string {
  const key = normalizeTypeName(typeName);
  let sum = md5Cache.get(key);
  if (sum === undefined) {
    sum = ros1Md5FromText(commonSchemaText(key, "ros1"));
    md5Cache.set(key, sum);
  }
  return sum;
}
