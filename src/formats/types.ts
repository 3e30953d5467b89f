/**
 * The one interface every log format implements. Parsers read through a ByteSource and give
 * async iterables; nothing here holds a whole log in memory.
 */

export type LogFormat = "mcap" | "ros1" | "ros2";

/** Random-access bytes (a file, a blob, a buffer). Mirrors @mcap/core's IReadable. */
export interface ByteSource {
  /** Human-readable origin for error messages (usually the path). */
  readonly name: string;
  size(): Promise<bigint>;
  read(offset: bigint, length: bigint): Promise<Uint8Array>;
  close?(): Promise<void>;
}

export interface SchemaInfo {
  /** Format-local id (MCAP schema id; for ROS 1 / ROS 2, a stable index assigned by the reader). */
  id: number;
  /** Type name as written in the file, e.g. `sensor_msgs/msg/Imu`, `geometry_msgs/PoseStamped`. */
  name: string;
  /** `ros1msg`, `ros2msg`, `ros2idl`, `jsonschema`, `protobuf`, `` (none), … */
  encoding: string;
  data: Uint8Array;
}

export interface ChannelInfo {
  id: number;
  topic: string;
  /** 0 when the channel has no schema. */
  schemaId: number;
  schemaName: string;
  /** `ros1`, `cdr`, `json`, `protobuf`, … */
  messageEncoding: string;
  metadata: Record<string, string>;
}

export interface TopicSummary {
  topic: string;
  schemaName: string;
  messageEncoding: string;
  messageCount: bigint;
  /** undefined when the topic has no messages. */
  firstTimeNs?: bigint;
  lastTimeNs?: bigint;
}

export interface AttachmentInfo {
  name: string;
  mediaType: string;
  logTimeNs: bigint;
  createTimeNs: bigint;
  data: Uint8Array;
}

export interface MetadataInfo {
  name: string;
  metadata: Record<string, string>;
}

export interface LogSummary {
  format: LogFormat;
  path: string;
  sizeBytes: bigint;
  /** Time range of the messages actually present (never trusted from headers); undefined when empty. */
  startTimeNs?: bigint;
  endTimeNs?: bigint;
  messageCount: bigint;
  schemas: SchemaInfo[];
  channels: ChannelInfo[];
  topics: TopicSummary[];
  attachments: AttachmentInfo[];
  metadata: MetadataInfo[];
  /** e.g. "ros2", "ros1" (MCAP profile; for bags the implied profile). */
  profile: string;
  /** Writer library when the file names it. */
  library: string;
  /** Non-fatal problems: salvaged truncation, missing summary, mislabelled encodings. */
  warnings: string[];
}

export interface LogMessage {
  channelId: number;
  topic: string;
  logTimeNs: bigint;
  publishTimeNs: bigint;
  sequence: number;
  /** Raw serialized bytes exactly as stored. */
  data: Uint8Array;
  /** Present when the query asked for `decode: true` and a decoder exists for the channel. */
  decoded?: unknown;
}

export interface MessageStamp {
  channelId: number;
  logTimeNs: bigint;
}

export interface MessageQuery {
  /** Topic names; all topics when omitted. */
  topics?: readonly string[];
  /** Inclusive bounds in ns. */
  startNs?: bigint;
  endNs?: bigint;
  /** Decode each message through its schema (default false: raw bytes only). */
  decode?: boolean;
}

export interface LogReader {
  readonly format: LogFormat;
  summary(): Promise<LogSummary>;
  /** Messages in log-time order (stable for equal times) within the query. */
  messages(query?: MessageQuery): AsyncIterable<LogMessage>;
  /**
   * Log times of every message, in batches, in any order. Implementations serve this from the
   * file's own indexes (MCAP MessageIndex, ROS 1 IndexData) without decompressing payloads where
   * they can; ingest uses it for per-topic statistics.
   */
  timestamps(): AsyncIterable<MessageStamp[]>;
  close(): Promise<void>;
}
