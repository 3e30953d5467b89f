/**
 * The front door for reading a log from a path: the format is detected from content, never from
 * the extension. Directory → ROS 2 bag; MCAP magic → MCAP; `#ROSBAG V2.0\n` → ROS 1; SQLite header
 * → a single-file ROS 2 `.db3`. Readers are imported lazily so opening one format does not load
 * the others' libraries.
 */
import { open, stat } from "node:fs/promises";
import { StrataError } from "../core/index.ts";
import type { LogFormat, LogReader } from "./types.ts";

const MCAP_MAGIC = Uint8Array.of(0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a);
const ROS1_MAGIC = new TextEncoder().encode("#ROSBAG V2.0\n");
const ROS1_ANY_VERSION = new TextEncoder().encode("#ROSBAG V");
const SQLITE_MAGIC = new TextEncoder().encode("SQLite format 3\u0000");
/** Enough bytes for every magic above. */
export const DETECT_HEAD_BYTES = 16;

const startsWith = (bytes: Uint8Array, prefix: Uint8Array): boolean =>
  bytes.byteLength >= prefix.byteLength && prefix.every((b, i) => bytes[i] === b);

export type DetectedKind = "mcap" | "ros1" | "ros2-db3";

/** Classifies the first bytes of a file; undefined when they match no supported format. */
export function detectFormatFromHead(head: Uint8Array): DetectedKind | undefined {
  if (startsWith(head, MCAP_MAGIC)) return "mcap";
  if (startsWith(head, ROS1_MAGIC)) return "ros1";
  if (startsWith(head, SQLITE_MAGIC)) return "ros2-db3";
  return undefined;
}

/** Printable preview of the first bytes (for "unknown format" messages). */
function describeHead(head: Uint8Array): string {
  const hex = Buffer.from(head).toString("hex").replace(/(..)/g, "$1 ").trim();
  const text = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
  return `first bytes ${hex} ("${text}")`;
}

interface Detected {
  format: LogFormat;
  kind: DetectedKind | "ros2-directory";
}

async function detect(path: string): Promise<Detected> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT")
      throw new StrataError("STRATA_E_FILE_NOT_FOUND", undefined, { file: path }, { cause: error });
    throw new StrataError("STRATA_E_INTERNAL", (error as Error).message, { file: path }, { cause: error });
  }
  if (info.isDirectory()) return { format: "ros2", kind: "ros2-directory" };
  if (info.size === 0) throw new StrataError("STRATA_E_EMPTY_FILE", `${path} has 0 bytes`, { file: path });
  const handle = await open(path, "r");
  let head: Uint8Array;
  try {
    const buffer = new Uint8Array(DETECT_HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, DETECT_HEAD_BYTES, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const kind = detectFormatFromHead(head);
  if (kind === "mcap") return { format: "mcap", kind };
  if (kind === "ros1") return { format: "ros1", kind };
  if (kind === "ros2-db3") return { format: "ros2", kind };
  if (startsWith(head, ROS1_ANY_VERSION)) {
    throw new StrataError("STRATA_E_UNSUPPORTED", `ROS bag version other than 2.0 (${describeHead(head)})`, {
      file: path,
      offset: 0,
    });
  }
  throw new StrataError("STRATA_E_UNKNOWN_FORMAT", describeHead(head), { file: path, offset: 0 });
}

/** The format of the log at `path` (content-based). Throws the same coded errors as `openLog`. */
export async function detectFormat(path: string): Promise<LogFormat> {
  return (await detect(path)).format;
}

/** Opens the log at `path` (file or ROS 2 bag directory) with the reader for its content. */
export async function openLog(path: string): Promise<LogReader> {
  const { kind } = await detect(path);
  switch (kind) {
    case "ros2-directory":
    case "ros2-db3": {
      const { openRos2Reader } = await import("./ros2/reader.ts");
      return openRos2Reader(path);
    }
    case "ros1": {
      const [{ openRos1Reader }, { openFileSource }] = await Promise.all([
        import("./ros1/reader.ts"),
        import("./node-source.ts"),
      ]);
      return openRos1Reader(await openFileSource(path));
    }
    case "mcap": {
      const [{ openMcapReader }, { openFileSource }] = await Promise.all([
        import("./mcap/index.ts"),
        import("./node-source.ts"),
      ]);
      return openMcapReader(await openFileSource(path));
    }
  }
}
