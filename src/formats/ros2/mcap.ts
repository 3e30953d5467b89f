/** rosbag2 `mcap` storage: each file is read by the MCAP reader and presented as a StorageFile. */
import { openMcapReader } from "../mcap/index.ts";
import { openFileSource } from "../node-source.ts";
import type { LogReader, LogSummary } from "../types.ts";
import type {
  StorageFile,
  StorageMessage,
  StorageQuery,
  StorageStamp,
  StorageTopic,
  StorageTopicStats,
} from "./storage.ts";

export async function openMcapStorage(path: string): Promise<StorageFile> {
  const reader = await openMcapReader(await openFileSource(path));
  try {
    return new McapStorage(path, reader, await reader.summary());
  } catch (error) {
    await reader.close().catch(() => undefined);
    throw error;
  }
}

class McapStorage implements StorageFile {
  readonly storageIdentifier = "mcap";
  readonly library: string;
  readonly sizeBytes: bigint;
  private readonly topicList: StorageTopic[];
  private readonly topicByLocalId = new Map<number, string>();

  constructor(
    readonly path: string,
    private readonly reader: LogReader,
    private readonly summary: LogSummary,
  ) {
    this.library = summary.library;
    this.sizeBytes = summary.sizeBytes;
    const schemas = new Map(summary.schemas.map((schema) => [schema.id, schema]));
    this.topicList = summary.channels.map((channel) => {
      this.topicByLocalId.set(channel.id, channel.topic);
      const schema = channel.schemaId === 0 ? undefined : schemas.get(channel.schemaId);
      const topic: StorageTopic = {
        localId: channel.id,
        name: channel.topic,
        type: schema?.name || channel.schemaName,
        serializationFormat: channel.messageEncoding,
        offeredQosProfiles: channel.metadata.offered_qos_profiles ?? "",
        typeDescriptionHash: channel.metadata.topic_type_hash ?? "",
      };
      if (schema !== undefined) topic.definition = { encoding: schema.encoding, data: schema.data };
      return topic;
    });
  }

  topics(): StorageTopic[] {
    return this.topicList;
  }

  async stats(): Promise<Map<number, StorageTopicStats>> {
    // The MCAP summary counts per topic; a topic's counts go to its first channel.
    const out = new Map<number, StorageTopicStats>();
    const seen = new Set<string>();
    for (const topic of this.topicList) {
      if (seen.has(topic.name)) continue;
      seen.add(topic.name);
      const stats = this.summary.topics.find((t) => t.topic === topic.name);
      if (stats === undefined) continue;
      const entry: StorageTopicStats = { messageCount: stats.messageCount };
      if (stats.firstTimeNs !== undefined) entry.firstTimeNs = stats.firstTimeNs;
      if (stats.lastTimeNs !== undefined) entry.lastTimeNs = stats.lastTimeNs;
      out.set(topic.localId, entry);
    }
    return out;
  }

  async *messages(query: StorageQuery): AsyncIterable<StorageMessage> {
    const topics =
      query.localIds === undefined
        ? undefined
        : [
            ...new Set(
              query.localIds.map((id) => this.topicByLocalId.get(id)).filter((t) => t !== undefined),
            ),
          ];
    if (topics !== undefined && topics.length === 0) return;
    const wanted = query.localIds === undefined ? undefined : new Set(query.localIds);
    const mcapQuery: Parameters<LogReader["messages"]>[0] = {};
    if (topics !== undefined) mcapQuery.topics = topics;
    if (query.startNs !== undefined) mcapQuery.startNs = query.startNs;
    if (query.endNs !== undefined) mcapQuery.endNs = query.endNs;
    for await (const message of this.reader.messages(mcapQuery)) {
      if (wanted !== undefined && !wanted.has(message.channelId)) continue;
      yield {
        localId: message.channelId,
        logTimeNs: message.logTimeNs,
        publishTimeNs: message.publishTimeNs,
        sequence: message.sequence,
        data: message.data,
      };
    }
  }

  async *timestamps(): AsyncIterable<StorageStamp[]> {
    for await (const batch of this.reader.timestamps()) {
      yield batch.map((stamp) => ({ localId: stamp.channelId, logTimeNs: stamp.logTimeNs }));
    }
  }

  async warnings(): Promise<string[]> {
    return this.summary.warnings;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}
