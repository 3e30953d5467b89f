/**
 * ROS 2 bag reader (rosbag2): a bag directory with `metadata.yaml`, a directory of `.db3`/`.mcap`
 * files without one, a single `.db3` file, or a `metadata.yaml` path. Split bags are merged in
 * time order; channels are unified by topic across files (file-local ids differ between files).
 *
 * Trust: file list, storage, declared serialization formats and QoS come from metadata.yaml; counts
 * and times always come from the data (differences become summary warnings).
 *
 * Wrong encodings: a topic whose serialization_format is not `cdr` (in metadata.yaml or in a
 * storage file) makes the open fail with STRATA_E_WRONG_ENCODING naming that file and topic. We
 * reject rather than warn because nothing downstream (decoding, export, statistics by type) can
 * be right for bytes whose encoding is unknown.
 *
 * Memory: one pending message per storage file (sqlite rows stream with `.iterate()`).
 */
import { open, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { StrataError } from "../../core/index.ts";
import { type Decoder, decoderFor, findCommonSchemaText } from "../codec/index.ts";
import { MinHeap } from "../ros1/heap.ts";
import type {
  ChannelInfo,
  LogMessage,
  LogReader,
  LogSummary,
  MessageQuery,
  MessageStamp,
  MetadataInfo,
  SchemaInfo,
  TopicSummary,
} from "../types.ts";
import { NEWEST_KNOWN_METADATA_VERSION, parseBagMetadata, type Ros2BagMetadata } from "./metadata.ts";
import { openSqliteStorage } from "./sqlite.ts";
import type { StorageFile, StorageMessage, StorageTopic, StorageTopicStats } from "./storage.ts";

export type Ros2Storage = "sqlite3" | "mcap";

/** What to open, before anything is opened: a plain plan object (testable, printable). */
export interface Ros2BagPlan {
  /** The path the caller gave. */
  bagPath: string;
  metadataPath?: string;
  metadata?: Ros2BagMetadata;
  files: Array<{ path: string; storage: Ros2Storage }>;
}

const SQLITE_MAGIC = "SQLite format 3\u0000";
const MCAP_MAGIC = Uint8Array.of(0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a);
const EXPECTED_ENCODING = "cdr";

async function statOrThrow(target: string): Promise<Awaited<ReturnType<typeof stat>>> {
  try {
    return await stat(target);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT")
      throw new StrataError("STRATA_E_FILE_NOT_FOUND", undefined, { file: target }, { cause: error });
    throw new StrataError("STRATA_E_INTERNAL", (error as Error).message, { file: target }, { cause: error });
  }
}

async function exists(target: string): Promise<boolean> {
  try {
    await stat(target);
    return true;
  } catch {
    return false;
  }
}

async function headBytes(file: string, length: number): Promise<Uint8Array> {
  const handle = await open(file, "r");
  try {
    const out = new Uint8Array(length);
    const { bytesRead } = await handle.read(out, 0, length, 0);
    return out.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function sniffStorage(file: string): Promise<Ros2Storage | undefined> {
  const head = await headBytes(file, 16);
  if (new TextDecoder("latin1").decode(head) === SQLITE_MAGIC) return "sqlite3";
  if (head.byteLength >= MCAP_MAGIC.byteLength && MCAP_MAGIC.every((b, i) => head[i] === b)) return "mcap";
  return undefined;
}

function storageFromExtension(file: string): Ros2Storage | undefined {
  if (file.endsWith(".db3")) return "sqlite3";
  if (file.endsWith(".mcap")) return "mcap";
  return undefined;
}

const naturalOrder = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });

/** Works out which files make up the bag at `bagPath` (no storage file is opened). */
export async function planRos2Bag(bagPath: string): Promise<Ros2BagPlan> {
  const info = await statOrThrow(bagPath);
  if (info.isFile()) {
    if (path.basename(bagPath) === "metadata.yaml") return planRos2Directory(path.dirname(bagPath), bagPath);
    if (info.size === 0)
      throw new StrataError("STRATA_E_EMPTY_FILE", `${bagPath} has 0 bytes`, { file: bagPath });
    const storage = (await sniffStorage(bagPath)) ?? undefined;
    if (storage === undefined) {
      throw new StrataError("STRATA_E_UNKNOWN_FORMAT", "not a rosbag2 storage file (.db3 or .mcap)", {
        file: bagPath,
      });
    }
    return { bagPath, files: [{ path: bagPath, storage }] };
  }
  return planRos2Directory(bagPath, bagPath);
}

async function planRos2Directory(directory: string, bagPath: string): Promise<Ros2BagPlan> {
  const metadataPath = path.join(directory, "metadata.yaml");
  if (await exists(metadataPath)) {
    const metadata = parseBagMetadata(await readFile(metadataPath, "utf8"), metadataPath);
    if (metadata.compressionMode !== "" || metadata.compressionFormat !== "") {
      throw new StrataError(
        "STRATA_E_UNSUPPORTED",
        `compressed rosbag2 bags (compression ${metadata.compressionFormat || "?"}, mode ${metadata.compressionMode || "?"}) are not read yet; decompress with \`ros2 bag convert\``,
        { file: metadataPath },
      );
    }
    const files: Ros2BagPlan["files"] = [];
    for (const relative of metadata.relativeFilePaths) {
      // Old writers stored `<bag>/<bag>_0.db3`; rosbag2 resolves those by base name too.
      let file = path.resolve(directory, relative);
      if (!(await exists(file))) file = path.join(directory, path.basename(relative));
      if (!(await exists(file))) {
        throw new StrataError(
          "STRATA_E_FILE_NOT_FOUND",
          `metadata.yaml lists ${relative}, which is missing`,
          {
            file: path.resolve(directory, relative),
          },
        );
      }
      const storage =
        metadata.storageIdentifier === "sqlite3" || metadata.storageIdentifier === "mcap"
          ? metadata.storageIdentifier
          : (storageFromExtension(file) ?? (await sniffStorage(file)));
      if (storage === undefined) {
        throw new StrataError("STRATA_E_UNSUPPORTED", `storage '${metadata.storageIdentifier}'`, {
          file: metadataPath,
        });
      }
      files.push({ path: file, storage });
    }
    return { bagPath, metadataPath, metadata, files };
  }
  const names = (await readdir(directory))
    .filter((name) => storageFromExtension(name) !== undefined)
    .sort(naturalOrder);
  if (names.length === 0) {
    throw new StrataError(
      "STRATA_E_UNKNOWN_FORMAT",
      "a directory without metadata.yaml, .db3 or .mcap files",
      {
        file: directory,
      },
    );
  }
  return {
    bagPath,
    files: names.map((name) => ({ path: path.join(directory, name), storage: storageFromExtension(name)! })),
  };
}

/** Opens a rosbag2 bag (directory, metadata.yaml, or single .db3/.mcap file). */
export async function openRos2Reader(pathToDirOrFile: string): Promise<LogReader> {
  const plan = await planRos2Bag(pathToDirOrFile);
  return openRos2Plan(plan);
}

/** Opens the files of a plan; closes whatever it opened when one of them fails. */
export async function openRos2Plan(plan: Ros2BagPlan): Promise<LogReader> {
  const metadata = plan.metadata;
  if (metadata !== undefined && plan.metadataPath !== undefined) {
    for (const topic of metadata.topics)
      checkEncoding(topic.serializationFormat, plan.metadataPath, topic.name);
  }
  const files: StorageFile[] = [];
  try {
    for (const file of plan.files) {
      const storage =
        file.storage === "sqlite3"
          ? await openSqliteStorage(file.path)
          : await (await import("./mcap.ts")).openMcapStorage(file.path);
      files.push(storage);
      for (const topic of storage.topics()) checkEncoding(topic.serializationFormat, file.path, topic.name);
    }
  } catch (error) {
    await Promise.all(files.map((file) => file.close().catch(() => undefined)));
    throw error;
  }
  return new Ros2Reader(plan, files);
}

function checkEncoding(serializationFormat: string, file: string, topic: string): void {
  if (serializationFormat === EXPECTED_ENCODING) return;
  throw new StrataError(
    "STRATA_E_WRONG_ENCODING",
    `serialization_format is '${serializationFormat}', expected '${EXPECTED_ENCODING}'`,
    { file, topic },
  );
}

interface PendingMessage {
  message: StorageMessage;
  fileIndex: number;
  order: number;
  iterator: AsyncIterator<StorageMessage>;
}

class Ros2Reader implements LogReader {
  readonly format = "ros2" as const;
  private readonly channels: ChannelInfo[] = [];
  private readonly schemas: SchemaInfo[] = [];
  /** Per file: local id → unified channel id. */
  private readonly channelIdMaps: Array<Map<number, number>> = [];
  private readonly channelsById = new Map<number, ChannelInfo>();
  private readonly decoders = new Map<number, Decoder | undefined>();
  private readonly buildWarnings: string[] = [];

  constructor(
    private readonly plan: Ros2BagPlan,
    private readonly files: StorageFile[],
  ) {
    this.unifyChannels();
  }

  /** One channel per topic across all files, in first-seen order (file order, then local id). */
  private unifyChannels(): void {
    const byTopic = new Map<string, ChannelInfo>();
    const schemaIds = new Map<string, number>();
    const textDecoder = new TextDecoder();
    const schemaFor = (topic: StorageTopic): number => {
      let encoding: string;
      let data: Uint8Array;
      if (topic.definition !== undefined) {
        ({ encoding, data } = topic.definition);
      } else {
        const common = findCommonSchemaText(topic.type, "ros2");
        if (common === undefined) return 0;
        encoding = "ros2msg";
        data = new TextEncoder().encode(common);
      }
      const key = `${topic.type}\u0000${encoding}\u0000${textDecoder.decode(data)}`;
      let id = schemaIds.get(key);
      if (id === undefined) {
        id = this.schemas.length + 1;
        schemaIds.set(key, id);
        this.schemas.push({ id, name: topic.type, encoding, data });
      }
      return id;
    };
    const add = (topic: StorageTopic): ChannelInfo => {
      const metadata: Record<string, string> = { offered_qos_profiles: topic.offeredQosProfiles };
      if (topic.typeDescriptionHash !== "") metadata.topic_type_hash = topic.typeDescriptionHash;
      const channel: ChannelInfo = {
        id: byTopic.size + 1,
        topic: topic.name,
        schemaId: schemaFor(topic),
        schemaName: topic.type,
        messageEncoding: topic.serializationFormat,
        metadata,
      };
      byTopic.set(topic.name, channel);
      this.channels.push(channel);
      this.channelsById.set(channel.id, channel);
      return channel;
    };
    for (const [fileIndex, file] of this.files.entries()) {
      const map = new Map<number, number>();
      for (const topic of file.topics()) {
        let channel = byTopic.get(topic.name);
        if (channel === undefined) {
          channel = add(topic);
        } else if (channel.schemaName !== topic.type) {
          this.buildWarnings.push(
            `topic ${topic.name} is ${channel.schemaName} in one file and ${topic.type} in ${path.basename(file.path)}`,
          );
        }
        map.set(topic.localId, channel.id);
      }
      this.channelIdMaps[fileIndex] = map;
    }
    // Topics that metadata.yaml declares but no storage file holds (e.g. never published).
    for (const topic of this.plan.metadata?.topics ?? []) {
      if (byTopic.has(topic.name)) continue;
      add({
        localId: -1,
        name: topic.name,
        type: topic.type,
        serializationFormat: topic.serializationFormat,
        offeredQosProfiles: topic.offeredQosProfiles,
        typeDescriptionHash: topic.typeDescriptionHash,
      });
    }
  }

  async summary(): Promise<LogSummary> {
    const topics = new Map<string, TopicSummary>();
    for (const channel of this.channels) {
      topics.set(channel.topic, {
        topic: channel.topic,
        schemaName: channel.schemaName,
        messageEncoding: channel.messageEncoding,
        messageCount: 0n,
      });
    }
    const warnings = [...this.buildWarnings];
    let messageCount = 0n;
    let startTimeNs: bigint | undefined;
    let endTimeNs: bigint | undefined;
    let sizeBytes = 0n;
    let library = "";
    for (const [fileIndex, file] of this.files.entries()) {
      sizeBytes += file.sizeBytes;
      library ||= file.library;
      for (const warning of await file.warnings()) warnings.push(`${path.basename(file.path)}: ${warning}`);
      const stats: Map<number, StorageTopicStats> = await file.stats();
      for (const [localId, entry] of stats) {
        const channelId = this.channelIdMaps[fileIndex]?.get(localId);
        const channel = channelId === undefined ? undefined : this.channelsById.get(channelId);
        if (channel === undefined) {
          throw new StrataError(
            "STRATA_E_CORRUPT_LOG",
            `messages reference topic id ${localId}, which is not in topics`,
            {
              file: file.path,
            },
          );
        }
        const topic = topics.get(channel.topic)!;
        topic.messageCount += entry.messageCount;
        messageCount += entry.messageCount;
        const { firstTimeNs, lastTimeNs } = entry;
        if (firstTimeNs !== undefined) {
          if (topic.firstTimeNs === undefined || firstTimeNs < topic.firstTimeNs)
            topic.firstTimeNs = firstTimeNs;
          if (startTimeNs === undefined || firstTimeNs < startTimeNs) startTimeNs = firstTimeNs;
        }
        if (lastTimeNs !== undefined) {
          if (topic.lastTimeNs === undefined || lastTimeNs > topic.lastTimeNs) topic.lastTimeNs = lastTimeNs;
          if (endTimeNs === undefined || lastTimeNs > endTimeNs) endTimeNs = lastTimeNs;
        }
      }
    }
    const metadata: MetadataInfo[] = [];
    const declared = this.plan.metadata;
    if (declared !== undefined) {
      metadata.push({
        name: "rosbag2",
        metadata: {
          version: String(declared.version),
          storage_identifier: declared.storageIdentifier,
          ...(declared.rosDistro === "" ? {} : { ros_distro: declared.rosDistro }),
          files: this.files.map((f) => path.basename(f.path)).join(","),
        },
      });
      if (Object.keys(declared.customData).length > 0) {
        metadata.push({ name: "rosbag2.custom_data", metadata: { ...declared.customData } });
      }
      warnings.push(...this.metadataWarnings(declared, messageCount, startTimeNs, endTimeNs, topics));
    }
    const summary: LogSummary = {
      format: "ros2",
      path: this.plan.bagPath,
      sizeBytes,
      messageCount,
      schemas: this.schemas.map((s) => ({ ...s })),
      channels: this.channels.map((c) => ({ ...c, metadata: { ...c.metadata } })),
      topics: [...topics.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0)),
      attachments: [],
      metadata,
      profile: "ros2",
      library,
      warnings,
    };
    if (startTimeNs !== undefined) summary.startTimeNs = startTimeNs;
    if (endTimeNs !== undefined) summary.endTimeNs = endTimeNs;
    return summary;
  }

  private metadataWarnings(
    declared: Ros2BagMetadata,
    messageCount: bigint,
    startTimeNs: bigint | undefined,
    endTimeNs: bigint | undefined,
    topics: Map<string, TopicSummary>,
  ): string[] {
    const warnings: string[] = [];
    if (declared.version > NEWEST_KNOWN_METADATA_VERSION) {
      warnings.push(
        `metadata.yaml version ${declared.version} is newer than the versions Strata was tested with`,
      );
    }
    if (declared.declaredMessageCount !== messageCount) {
      warnings.push(
        `metadata.yaml declares ${declared.declaredMessageCount} messages; the files hold ${messageCount}`,
      );
    }
    if (startTimeNs !== undefined && endTimeNs !== undefined) {
      const durationNs = endTimeNs - startTimeNs;
      if (declared.declaredStartingTimeNs !== startTimeNs || declared.declaredDurationNs !== durationNs) {
        warnings.push(
          `metadata.yaml declares starting_time ${declared.declaredStartingTimeNs} ns and duration ${declared.declaredDurationNs} ns; the messages span ${startTimeNs}..${endTimeNs} ns (duration ${durationNs} ns)`,
        );
      }
    }
    for (const topic of declared.topics) {
      const actual = topics.get(topic.name)?.messageCount ?? 0n;
      if (actual !== topic.declaredMessageCount) {
        warnings.push(
          `metadata.yaml declares ${topic.declaredMessageCount} messages on ${topic.name}; found ${actual}`,
        );
      }
    }
    return warnings;
  }

  private decoderFor(channelId: number): Decoder | undefined {
    if (this.decoders.has(channelId)) return this.decoders.get(channelId);
    const channel = this.channelsById.get(channelId);
    let decoder: Decoder | undefined;
    if (channel !== undefined) {
      const schema = this.schemas.find((s) => s.id === channel.schemaId);
      try {
        decoder = decoderFor(channel, schema);
      } catch {
        // The stored definition does not parse (e.g. a stub without its dependencies): fall back to
        // the standard definition of the type, else leave messages raw.
        try {
          decoder = decoderFor(channel, undefined);
        } catch {
          decoder = undefined;
        }
      }
    }
    this.decoders.set(channelId, decoder);
    return decoder;
  }

  async *messages(query: MessageQuery = {}): AsyncIterable<LogMessage> {
    const wantedTopics = query.topics === undefined ? undefined : new Set(query.topics);
    const heap = new MinHeap<PendingMessage>((a, b) =>
      a.message.logTimeNs !== b.message.logTimeNs
        ? a.message.logTimeNs < b.message.logTimeNs
        : a.fileIndex !== b.fileIndex
          ? a.fileIndex < b.fileIndex
          : a.order < b.order,
    );
    const iterators: Array<AsyncIterator<StorageMessage>> = [];
    try {
      for (const [fileIndex, file] of this.files.entries()) {
        const map = this.channelIdMaps[fileIndex]!;
        let localIds: number[] | undefined;
        if (wantedTopics !== undefined) {
          localIds = [...map]
            .filter(([, id]) => wantedTopics.has(this.channelsById.get(id)!.topic))
            .map(([l]) => l);
          if (localIds.length === 0) continue;
        }
        const storageQuery: Parameters<StorageFile["messages"]>[0] = {};
        if (localIds !== undefined) storageQuery.localIds = localIds;
        if (query.startNs !== undefined) storageQuery.startNs = query.startNs;
        if (query.endNs !== undefined) storageQuery.endNs = query.endNs;
        const iterator = file.messages(storageQuery)[Symbol.asyncIterator]();
        iterators.push(iterator);
        const first = await iterator.next();
        if (!first.done) heap.push({ message: first.value, fileIndex, order: 0, iterator });
      }
      for (;;) {
        const item = heap.pop();
        if (item === undefined) return;
        yield this.toLogMessage(item, query.decode === true);
        const next = await item.iterator.next();
        if (!next.done) heap.push({ ...item, message: next.value, order: item.order + 1 });
      }
    } finally {
      await Promise.all(iterators.map((it) => it.return?.().catch(() => undefined)));
    }
  }

  private toLogMessage(item: PendingMessage, decode: boolean): LogMessage {
    const file = this.files[item.fileIndex]!;
    const { message } = item;
    const channelId = this.channelIdMaps[item.fileIndex]?.get(message.localId);
    const channel = channelId === undefined ? undefined : this.channelsById.get(channelId);
    if (channelId === undefined || channel === undefined) {
      throw new StrataError(
        "STRATA_E_CORRUPT_LOG",
        `a message references topic id ${message.localId}, which is not in topics`,
        {
          file: file.path,
        },
      );
    }
    const out: LogMessage = {
      channelId,
      topic: channel.topic,
      logTimeNs: message.logTimeNs,
      publishTimeNs: message.publishTimeNs,
      sequence: message.sequence,
      data: message.data,
    };
    if (decode) {
      const decoder = this.decoderFor(channelId);
      if (decoder !== undefined) {
        try {
          out.decoded = decoder(message.data);
        } catch (error) {
          if (error instanceof StrataError) throw error;
          throw new StrataError(
            "STRATA_E_DECODE",
            error instanceof Error ? error.message : String(error),
            { file: file.path, topic: channel.topic, logTimeNs: message.logTimeNs },
            { cause: error },
          );
        }
      }
    }
    return out;
  }

  async *timestamps(): AsyncIterable<MessageStamp[]> {
    for (const [fileIndex, file] of this.files.entries()) {
      const map = this.channelIdMaps[fileIndex]!;
      for await (const batch of file.timestamps()) {
        const out: MessageStamp[] = [];
        for (const stamp of batch) {
          const channelId = map.get(stamp.localId);
          if (channelId === undefined) {
            throw new StrataError("STRATA_E_CORRUPT_LOG", `messages reference topic id ${stamp.localId}`, {
              file: file.path,
            });
          }
          out.push({ channelId, logTimeNs: stamp.logTimeNs });
        }
        yield out;
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((file) => file.close()));
  }
}
