/**
 * The MCAP LogReader.
 *
 * Two modes, chosen at open:
 * - **indexed**: the file has a readable summary whose chunk indexes point at message indexes for
 *   channels (and schemas) the summary repeats. Messages come from @mcap/core's McapIndexedReader;
 *   timestamps and per-topic statistics come from the MessageIndex records alone (no chunk is
 *   decompressed). The data section outside the indexed chunks ("gaps", normally empty) is scanned
 *   at open for attachments, metadata and any records the index does not cover.
 * - **streamed**: anything else (no summary, no chunk/message index, unchunked, truncated, corrupt
 *   tail). One scan at open collects schemas, channels, statistics, attachments (by offset) and a
 *   block index; see blocks.ts for how messages are then served in log-time order with bounded memory.
 */
import {
  type DecompressHandlers,
  McapIndexedReader,
  McapStreamReader,
  Opcode,
  type TypedMcapRecord,
  type TypedMcapRecords,
} from "@mcap/core";
import { mcapDecompressHandlers } from "../mcap-support.ts";
import { StrataError } from "../../core/index.ts";
import { type Decoder, decoderFor } from "../codec/index.ts";
import type {
  AttachmentInfo,
  ByteSource,
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
import {
  addMessageToBlock,
  type Block,
  BlockLoader,
  DEFAULT_MERGE_BUDGET_BYTES,
  MESSAGE_RUN_LIMIT_BYTES,
  newBlock,
  orderedMessages,
} from "./blocks.ts";
import { mcapError } from "./errors.ts";
import { checkMagic, MAGIC, RecordScanner, scanAllRecords } from "./scan.ts";

type Records = TypedMcapRecords;

export interface McapReaderOptions {
  /** Check chunk, attachment, data-section and summary CRCs; a mismatch is STRATA_E_CRC_MISMATCH (default true). */
  validateCrcs?: boolean;
  /** Memory budget for ordering the messages of an unindexed file (default 256 MiB; see blocks.ts). */
  mergeBudgetBytes?: number;
}

export type McapReadMode = "indexed" | "streamed";

export interface McapLogReader extends LogReader {
  readonly format: "mcap";
  /** How the file is being read (see the module comment). */
  readonly mode: McapReadMode;
  /** The file's Statistics record, when it has one (as written, not checked). */
  readonly statistics: Records["Statistics"] | undefined;
}

/** Message encodings Strata recognises; others get a warning (a mislabelled or exotic file). */
const KNOWN_MESSAGE_ENCODINGS = new Set(["ros1", "cdr", "json", "protobuf", "flatbuffer", "cbor", "msgpack"]);

interface AttachmentRef {
  offset: bigint;
  byteLength: bigint;
}

interface ChannelStats {
  count: bigint;
  firstNs: bigint;
  lastNs: bigint;
}

/** Everything both modes know after open. */
interface FileContents {
  header: Records["Header"];
  schemas: Map<number, Records["Schema"]>;
  channels: Map<number, Records["Channel"]>;
  attachments: AttachmentRef[];
  metadata: Records["Metadata"][];
  statistics: Records["Statistics"] | undefined;
  warnings: string[];
}

/**
 * Opens an MCAP file for reading. Throws STRATA_E_EMPTY_FILE (0 bytes), STRATA_E_UNKNOWN_FORMAT
 * (no MCAP magic), STRATA_E_CORRUPT_LOG (nothing readable after the magic), STRATA_E_CRC_MISMATCH.
 * A truncated or damaged tail is salvaged: every whole record before it is read and
 * `summary().warnings` names the byte offset where reading stopped.
 * The reader owns `source`: `close()` closes it, and so does a failed open.
 */
export async function openMcapReader(
  source: ByteSource,
  options: McapReaderOptions = {},
): Promise<McapLogReader> {
  const settings: Settings = {
    validateCrcs: options.validateCrcs ?? true,
    mergeBudgetBytes: options.mergeBudgetBytes ?? DEFAULT_MERGE_BUDGET_BYTES,
    decompressHandlers: await mcapDecompressHandlers(),
  };
  try {
    const sizeBytes = await source.size();
    await checkMagic(source, sizeBytes);
    const indexed = await tryIndexed(source, sizeBytes, settings);
    if (indexed instanceof IndexedMcapReader) return indexed;
    return await openStreamed(source, sizeBytes, settings, indexed);
  } catch (error) {
    await source.close?.();
    throw error;
  }
}

/** Every record in file order (chunks expanded, MessageIndex dropped); see scanAllRecords. */
export async function* recordStream(
  source: ByteSource,
  options: { validateCrcs?: boolean } = {},
): AsyncGenerator<TypedMcapRecord, void, void> {
  yield* scanAllRecords(source, {
    validateCrcs: options.validateCrcs ?? true,
    decompressHandlers: await mcapDecompressHandlers(),
  });
}

interface Settings {
  validateCrcs: boolean;
  mergeBudgetBytes: number;
  decompressHandlers: DecompressHandlers;
}

// ---------------------------------------------------------------------------------------------
// Shared reader behaviour

abstract class BaseMcapReader implements McapLogReader {
  readonly format = "mcap" as const;
  abstract readonly mode: McapReadMode;
  protected readonly source: ByteSource;
  protected readonly sizeBytes: bigint;
  protected readonly settings: Settings;
  protected readonly contents: FileContents;
  readonly #schemaInfos = new Map<number, SchemaInfo>();
  readonly #channelInfos = new Map<number, ChannelInfo>();
  readonly #decoders = new Map<number, Decoder | null>();
  #summary: Promise<LogSummary> | undefined;

  constructor(source: ByteSource, sizeBytes: bigint, settings: Settings, contents: FileContents) {
    this.source = source;
    this.sizeBytes = sizeBytes;
    this.settings = settings;
    this.contents = contents;
    for (const schema of contents.schemas.values()) {
      this.#schemaInfos.set(schema.id, {
        id: schema.id,
        name: schema.name,
        encoding: schema.encoding,
        data: schema.data,
      });
    }
    for (const channel of contents.channels.values()) {
      this.#channelInfos.set(channel.id, {
        id: channel.id,
        topic: channel.topic,
        schemaId: channel.schemaId,
        schemaName: contents.schemas.get(channel.schemaId)?.name ?? "",
        messageEncoding: channel.messageEncoding,
        metadata: Object.fromEntries(channel.metadata),
      });
    }
    contents.warnings.push(...encodingWarnings(contents.header.profile, this.#channelInfos.values()));
  }

  get statistics(): Records["Statistics"] | undefined {
    return this.contents.statistics;
  }

  /** Per-channel message count and first/last log time. */
  protected abstract channelStats(): Promise<Map<number, ChannelStats>>;
  protected abstract rawMessages(filter: {
    topics?: readonly string[];
    channelIds?: ReadonlySet<number>;
    startNs?: bigint;
    endNs?: bigint;
  }): AsyncIterable<Records["Message"]>;
  abstract timestamps(): AsyncIterable<MessageStamp[]>;

  summary(): Promise<LogSummary> {
    this.#summary ??= this.#buildSummary();
    return this.#summary;
  }

  async #buildSummary(): Promise<LogSummary> {
    const stats = await this.channelStats();
    const topics = new Map<string, TopicSummary>();
    let messageCount = 0n;
    let startTimeNs: bigint | undefined;
    let endTimeNs: bigint | undefined;
    for (const channel of this.#channelInfos.values()) {
      let topic = topics.get(channel.topic);
      if (!topic) {
        topic = {
          topic: channel.topic,
          schemaName: channel.schemaName,
          messageEncoding: channel.messageEncoding,
          messageCount: 0n,
        };
        topics.set(channel.topic, topic);
      }
      const s = stats.get(channel.id);
      if (!s || s.count === 0n) continue;
      topic.messageCount += s.count;
      messageCount += s.count;
      if (topic.firstTimeNs === undefined || s.firstNs < topic.firstTimeNs) topic.firstTimeNs = s.firstNs;
      if (topic.lastTimeNs === undefined || s.lastNs > topic.lastTimeNs) topic.lastTimeNs = s.lastNs;
      if (startTimeNs === undefined || s.firstNs < startTimeNs) startTimeNs = s.firstNs;
      if (endTimeNs === undefined || s.lastNs > endTimeNs) endTimeNs = s.lastNs;
    }
    const warnings = this.contents.warnings;
    const declared = this.contents.statistics;
    if (declared && declared.messageCount !== messageCount && this.mode === "indexed") {
      warnings.push(
        `the Statistics record counts ${declared.messageCount} messages but the message indexes hold ${messageCount}`,
      );
    }
    const attachments: AttachmentInfo[] = [];
    for (const ref of this.contents.attachments) attachments.push(await this.#loadAttachment(ref));
    const metadata: MetadataInfo[] = this.contents.metadata.map((m) => ({
      name: m.name,
      metadata: Object.fromEntries(m.metadata),
    }));
    return {
      format: "mcap",
      path: this.source.name,
      sizeBytes: this.sizeBytes,
      startTimeNs,
      endTimeNs,
      messageCount,
      schemas: [...this.#schemaInfos.values()].sort((a, b) => a.id - b.id),
      channels: [...this.#channelInfos.values()].sort((a, b) => a.id - b.id),
      topics: [...topics.values()],
      attachments,
      metadata,
      profile: this.contents.header.profile,
      library: this.contents.header.library,
      warnings: [...warnings],
    };
  }

  async #loadAttachment(ref: AttachmentRef): Promise<AttachmentInfo> {
    const record = await readSingleRecord(this.source, ref.offset, ref.byteLength, this.settings);
    if (record?.type !== "Attachment") {
      throw new StrataError(
        "STRATA_E_CORRUPT_LOG",
        `expected an Attachment record, found ${record?.type ?? "nothing"}`,
        {
          file: this.source.name,
          offset: ref.offset,
        },
      );
    }
    return {
      name: record.name,
      mediaType: record.mediaType,
      logTimeNs: record.logTime,
      createTimeNs: record.createTime,
      data: record.data,
    };
  }

  async *messages(query: MessageQuery = {}): AsyncGenerator<LogMessage, void, void> {
    let channelIds: Set<number> | undefined;
    if (query.topics) {
      const wanted = new Set(query.topics);
      channelIds = new Set(
        [...this.#channelInfos.values()].filter((c) => wanted.has(c.topic)).map((c) => c.id),
      );
      if (channelIds.size === 0) return;
    }
    const filter = { topics: query.topics, channelIds, startNs: query.startNs, endNs: query.endNs };
    for await (const message of this.rawMessages(filter)) {
      const channel = this.#channelInfos.get(message.channelId);
      const out: LogMessage = {
        channelId: message.channelId,
        topic: channel?.topic ?? "",
        logTimeNs: message.logTime,
        publishTimeNs: message.publishTime,
        sequence: message.sequence,
        data: message.data,
      };
      if (query.decode && channel) {
        const decode = this.#decoderFor(channel);
        if (decode) {
          try {
            out.decoded = decode(message.data);
          } catch (error) {
            throw new StrataError(
              "STRATA_E_DECODE",
              `${channel.schemaName || channel.messageEncoding} message at log time ${message.logTime}: ${String(error)}`,
              { file: this.source.name, topic: channel.topic },
              { cause: error },
            );
          }
        }
      }
      yield out;
    }
  }

  #decoderFor(channel: ChannelInfo): Decoder | undefined {
    let decoder = this.#decoders.get(channel.id);
    if (decoder === undefined) {
      decoder =
        decoderFor(channel, this.#schemaInfos.get(channel.schemaId), { file: this.source.name }) ?? null;
      this.#decoders.set(channel.id, decoder);
    }
    return decoder ?? undefined;
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}

function encodingWarnings(profile: string, channels: Iterable<ChannelInfo>): string[] {
  const warnings: string[] = [];
  for (const channel of channels) {
    const encoding = channel.messageEncoding;
    if (!KNOWN_MESSAGE_ENCODINGS.has(encoding)) {
      warnings.push(
        `channel ${channel.id} (${channel.topic}) declares an unknown message encoding "${encoding}"`,
      );
    } else if ((profile === "ros2" && encoding !== "cdr") || (profile === "ros1" && encoding !== "ros1")) {
      warnings.push(
        `channel ${channel.id} (${channel.topic}) uses "${encoding}" in a ${profile}-profile file`,
      );
    }
  }
  return warnings;
}

/** Parses the one record stored at [offset, offset + byteLength). */
async function readSingleRecord(
  source: ByteSource,
  offset: bigint,
  byteLength: bigint,
  settings: Settings,
): Promise<TypedMcapRecord | undefined> {
  const parser = new McapStreamReader({
    noMagicPrefix: true,
    validateCrcs: settings.validateCrcs,
    decompressHandlers: settings.decompressHandlers,
  });
  try {
    parser.append(await source.read(offset, byteLength));
    return parser.nextRecord();
  } catch (error) {
    throw mcapError(error, source.name, offset);
  }
}

function addStamp(stats: Map<number, ChannelStats>, channelId: number, logTimeNs: bigint): void {
  const s = stats.get(channelId);
  if (!s) {
    stats.set(channelId, { count: 1n, firstNs: logTimeNs, lastNs: logTimeNs });
    return;
  }
  s.count += 1n;
  if (logTimeNs < s.firstNs) s.firstNs = logTimeNs;
  if (logTimeNs > s.lastNs) s.lastNs = logTimeNs;
}

/** Pulls "chunk at offset N" out of a library message, for errors raised while reading through the index. */
function offsetInMessage(error: unknown): bigint | undefined {
  const match = /chunk at offset (\d+)/.exec(error instanceof Error ? error.message : "");
  return match?.[1] ? BigInt(match[1]) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Indexed mode

class IndexedMcapReader extends BaseMcapReader {
  readonly mode = "indexed" as const;
  readonly #index: McapIndexedReader;
  readonly #lastChunkRead: { offset: bigint };
  #stats: Promise<Map<number, ChannelStats>> | undefined;

  constructor(
    source: ByteSource,
    sizeBytes: bigint,
    settings: Settings,
    contents: FileContents,
    index: McapIndexedReader,
    lastChunkRead: { offset: bigint },
  ) {
    super(source, sizeBytes, settings, contents);
    this.#index = index;
    this.#lastChunkRead = lastChunkRead;
  }

  protected channelStats(): Promise<Map<number, ChannelStats>> {
    this.#stats ??= (async () => {
      const stats = new Map<number, ChannelStats>();
      for await (const batch of this.timestamps()) {
        for (const stamp of batch) addStamp(stats, stamp.channelId, stamp.logTimeNs);
      }
      return stats;
    })();
    return this.#stats;
  }

  protected async *rawMessages(filter: {
    topics?: readonly string[];
    startNs?: bigint;
    endNs?: bigint;
  }): AsyncGenerator<Records["Message"], void, void> {
    try {
      yield* this.#index.readMessages({
        topics: filter.topics,
        startTime: filter.startNs,
        endTime: filter.endNs,
        validateCrcs: this.settings.validateCrcs,
      });
    } catch (error) {
      throw mcapError(
        error,
        this.source.name,
        offsetInMessage(error) ?? this.#lastChunkRead.offset,
        "while reading chunks",
      );
    }
  }

  /** Log times from the MessageIndex records that follow each chunk; chunk payloads are never read. */
  async *timestamps(): AsyncGenerator<MessageStamp[], void, void> {
    for (const chunk of this.#index.chunkIndexes) {
      const offsets = [...chunk.messageIndexOffsets.values()];
      if (offsets.length === 0 || chunk.messageIndexLength === 0n) continue;
      const start = offsets.reduce((a, b) => (b < a ? b : a));
      const end = offsets.reduce((a, b) => (b > a ? b : a));
      // The records run from the first offset for messageIndexLength bytes (they are contiguous).
      const length = chunk.messageIndexLength >= end - start ? chunk.messageIndexLength : end - start;
      if (start + length > this.sizeBytes) {
        throw new StrataError("STRATA_E_CORRUPT_LOG", "message index runs past the end of the file", {
          file: this.source.name,
          offset: start,
        });
      }
      const parser = new McapStreamReader({ noMagicPrefix: true, validateCrcs: this.settings.validateCrcs });
      const batch: MessageStamp[] = [];
      try {
        parser.append(await this.source.read(start, length));
        for (let record = parser.nextRecord(); record; record = parser.nextRecord()) {
          if (record.type !== "MessageIndex") continue;
          for (const [logTimeNs] of record.records) batch.push({ channelId: record.channelId, logTimeNs });
        }
      } catch (error) {
        throw mcapError(error, this.source.name, start, "bad MessageIndex record");
      }
      if (batch.length > 0) yield batch;
    }
  }
}

/** Returns an indexed reader, or the reason the file must be scanned instead. */
async function tryIndexed(
  source: ByteSource,
  sizeBytes: bigint,
  settings: Settings,
): Promise<IndexedMcapReader | string> {
  let index: McapIndexedReader;
  // Chunk loads are reads at a chunk's start offset; remember the last one so errors the library
  // raises while reading a chunk (CRC, decompression) can name its offset.
  const chunkStarts = new Set<bigint>();
  const lastChunkRead = { offset: 0n };
  try {
    index = await McapIndexedReader.Initialize({
      readable: {
        size: async () => sizeBytes,
        read: (offset, length) => {
          if (chunkStarts.has(offset)) lastChunkRead.offset = offset;
          return source.read(offset, length);
        },
      },
      decompressHandlers: settings.decompressHandlers,
    });
  } catch (error) {
    const footerOffset = sizeBytes - BigInt(MAGIC.byteLength + 1 + 8 + 20);
    const wrapped = mcapError(error, source.name, footerOffset > 0n ? footerOffset : 0n, "summary");
    if (wrapped.code === "STRATA_E_CRC_MISMATCH" && settings.validateCrcs) throw wrapped;
    const message = error instanceof Error ? error.message : String(error);
    if (/not indexed/.test(message)) return "the file has no summary section";
    if (/magic|footer|too small/i.test(message))
      return "the file does not end with a valid Footer (truncated?)";
    return `the summary is unreadable (${message})`;
  }
  const chunkIndexes = index.chunkIndexes;
  if (chunkIndexes.length === 0) return "the summary has no chunk index";
  for (const chunk of chunkIndexes) {
    if (chunk.messageIndexOffsets.size === 0) return "a chunk has no message index";
    for (const channelId of chunk.messageIndexOffsets.keys()) {
      const channel = index.channelsById.get(channelId);
      if (!channel) return "the summary does not repeat every channel";
      if (channel.schemaId !== 0 && !index.schemasById.get(channel.schemaId)) {
        return "the summary does not repeat every schema";
      }
    }
  }
  const contents: FileContents = {
    header: index.header,
    schemas: new Map(index.schemasById),
    channels: new Map(index.channelsById),
    attachments: [],
    metadata: [],
    statistics: index.statistics,
    warnings: [],
  };
  const gapProblem = await scanGaps(source, sizeBytes, settings, index, contents);
  if (gapProblem !== undefined) return gapProblem;
  for (const chunk of chunkIndexes) chunkStarts.add(chunk.chunkStartOffset);
  return new IndexedMcapReader(source, sizeBytes, settings, contents, index, lastChunkRead);
}

/**
 * Reads the parts of the data section not covered by a chunk and its message indexes (normally
 * nothing but attachments and metadata). Returns a reason to fall back to scanning if they hold
 * messages or chunks the index does not know, or do not parse.
 */
async function scanGaps(
  source: ByteSource,
  sizeBytes: bigint,
  settings: Settings,
  index: McapIndexedReader,
  contents: FileContents,
): Promise<string | undefined> {
  const headerPrefix = await source.read(BigInt(MAGIC.byteLength), 9n);
  const headerEnd =
    BigInt(MAGIC.byteLength) +
    9n +
    new DataView(headerPrefix.buffer, headerPrefix.byteOffset, headerPrefix.byteLength).getBigUint64(1, true);
  const regions = index.chunkIndexes
    .map((chunk) => {
      const chunkEnd = chunk.chunkStartOffset + chunk.chunkLength;
      const firstIndex = [...chunk.messageIndexOffsets.values()].reduce((a, b) => (b < a ? b : a), chunkEnd);
      return {
        start: chunk.chunkStartOffset,
        end: firstIndex === chunkEnd ? chunkEnd + chunk.messageIndexLength : chunkEnd,
      };
    })
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const attachmentIndexed = new Map(index.attachmentIndexes.map((a) => [a.offset, a.length]));
  for (const a of index.attachmentIndexes)
    contents.attachments.push({ offset: a.offset, byteLength: a.length });

  const gaps: Array<[bigint, bigint]> = [];
  let pos = headerEnd;
  for (const region of regions) {
    if (region.start < pos) return "the chunk index has overlapping or misplaced chunks";
    if (region.start > pos) gaps.push([pos, region.start]);
    pos = region.end;
  }
  if (pos > index.dataEndOffset) return "the chunk index points past the data section";
  if (pos < index.dataEndOffset) gaps.push([pos, index.dataEndOffset]);

  for (const [start, end] of gaps) {
    const scanner = new RecordScanner(source, sizeBytes, {
      validateCrcs: settings.validateCrcs,
      decompressHandlers: settings.decompressHandlers,
      startOffset: start,
      endOffset: end,
      knownChannels: contents.channels.values(),
      skip: (opcode, offset) =>
        opcode === Opcode.MESSAGE_INDEX || (opcode === Opcode.ATTACHMENT && attachmentIndexed.has(offset)),
    });
    for await (const { record, outer } of scanner.records()) {
      switch (record.type) {
        case "Schema":
          if (!contents.schemas.has(record.id)) contents.schemas.set(record.id, record);
          break;
        case "Channel":
          if (!contents.channels.has(record.id)) contents.channels.set(record.id, record);
          break;
        case "Attachment":
          contents.attachments.push({ offset: outer.offset, byteLength: outer.byteLength });
          break;
        case "Metadata":
          contents.metadata.push(record);
          break;
        case "Message":
        case "Chunk":
          return `the data section holds a ${record.type} record outside the chunk index (byte ${outer.offset})`;
        default:
          break;
      }
    }
    const stop = scanner.stop;
    if (stop?.kind === "corrupt") {
      if (stop.error.code === "STRATA_E_CRC_MISMATCH") throw stop.error;
      return `unreadable bytes between chunks (${stop.error.message})`;
    }
    if (stop?.kind === "truncated")
      return `unreadable bytes between chunks at byte ${stop.offset} (${stop.detail})`;
  }
  contents.attachments.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Streamed mode

class StreamedMcapReader extends BaseMcapReader {
  readonly mode = "streamed" as const;
  readonly #blocks: Block[];
  readonly #stats: Map<number, ChannelStats>;

  constructor(
    source: ByteSource,
    sizeBytes: bigint,
    settings: Settings,
    contents: FileContents,
    blocks: Block[],
    stats: Map<number, ChannelStats>,
  ) {
    super(source, sizeBytes, settings, contents);
    this.#blocks = blocks;
    this.#stats = stats;
  }

  protected async channelStats(): Promise<Map<number, ChannelStats>> {
    return this.#stats;
  }

  #loader(): BlockLoader {
    return new BlockLoader(this.source, this.contents.channels.values(), this.settings);
  }

  protected rawMessages(filter: {
    channelIds?: ReadonlySet<number>;
    startNs?: bigint;
    endNs?: bigint;
  }): AsyncIterable<Records["Message"]> {
    return orderedMessages(this.#blocks, this.#loader(), filter, this.settings.mergeBudgetBytes);
  }

  /** Streamed files have no message index: every block is read (in file order). */
  async *timestamps(): AsyncGenerator<MessageStamp[], void, void> {
    const loader = this.#loader();
    for (const block of this.#blocks) {
      if (block.messageCount === 0) continue;
      const messages = await loader.load(block);
      yield messages.map((m) => ({ channelId: m.channelId, logTimeNs: m.logTime }));
    }
  }
}

async function openStreamed(
  source: ByteSource,
  sizeBytes: bigint,
  settings: Settings,
  reason: string,
): Promise<StreamedMcapReader> {
  const scanner = new RecordScanner(source, sizeBytes, {
    validateCrcs: settings.validateCrcs,
    decompressHandlers: settings.decompressHandlers,
    checkSectionCrcs: true,
  });
  let header: Records["Header"] | undefined;
  const contents: Omit<FileContents, "header"> = {
    schemas: new Map(),
    channels: new Map(),
    attachments: [],
    metadata: [],
    statistics: undefined,
    warnings: [],
  };
  const blocks: Block[] = [];
  const stats = new Map<number, ChannelStats>();
  let run: Block | undefined;
  // A chunk's messages count only once the whole chunk has parsed.
  let pendingChunk: { block: Block; stamps: Array<[number, bigint]> } | undefined;
  const commitChunk = (): void => {
    if (!pendingChunk) return;
    blocks.push(pendingChunk.block);
    for (const [channelId, logTimeNs] of pendingChunk.stamps) addStamp(stats, channelId, logTimeNs);
    pendingChunk = undefined;
  };
  let afterDataEnd = false;
  let ignoredAfterDataEnd = 0;

  for await (const { record, outer } of scanner.records()) {
    if (pendingChunk && outer.offset !== pendingChunk.block.offset) commitChunk();
    if (outer.opcode !== Opcode.MESSAGE) run = undefined;
    if (!header) {
      if (record.type !== "Header") {
        throw new StrataError("STRATA_E_CORRUPT_LOG", `the first record is a ${record.type}, not a Header`, {
          file: source.name,
          offset: outer.offset,
        });
      }
      header = record;
      continue;
    }
    switch (record.type) {
      case "Schema":
        if (!contents.schemas.has(record.id)) contents.schemas.set(record.id, record);
        break;
      case "Channel":
        if (!contents.channels.has(record.id)) contents.channels.set(record.id, record);
        break;
      case "Chunk":
        pendingChunk = {
          block: newBlock("chunk", outer.offset, outer.byteLength, Number(record.uncompressedSize)),
          stamps: [],
        };
        break;
      case "Message":
        if (afterDataEnd) {
          ignoredAfterDataEnd += 1;
        } else if (pendingChunk && outer.opcode === Opcode.CHUNK) {
          addMessageToBlock(pendingChunk.block, record.channelId, record.logTime);
          pendingChunk.stamps.push([record.channelId, record.logTime]);
        } else {
          if (
            !run ||
            run.offset + run.byteLength !== outer.offset ||
            run.byteLength >= MESSAGE_RUN_LIMIT_BYTES
          ) {
            run = newBlock("messages", outer.offset, 0n, 0);
            blocks.push(run);
          }
          run.byteLength = outer.offset + outer.byteLength - run.offset;
          run.loadedBytes = Number(run.byteLength);
          addMessageToBlock(run, record.channelId, record.logTime);
          addStamp(stats, record.channelId, record.logTime);
        }
        break;
      case "Attachment":
        contents.attachments.push({ offset: outer.offset, byteLength: outer.byteLength });
        break;
      case "Metadata":
        contents.metadata.push(record);
        break;
      case "Statistics":
        contents.statistics = record;
        break;
      case "DataEnd":
        afterDataEnd = true;
        break;
      default:
        break;
    }
  }
  const stop = scanner.stop;
  if (stop?.kind !== "corrupt" || stop.offset !== pendingChunk?.block.offset) commitChunk();
  if (!header) {
    if (stop?.kind === "corrupt" && stop.error.code === "STRATA_E_CRC_MISMATCH") throw stop.error;
    const why =
      stop?.kind === "corrupt" ? stop.error.message : stop?.kind === "truncated" ? stop.detail : "no records";
    throw new StrataError("STRATA_E_CORRUPT_LOG", `nothing readable after the magic: ${why}`, {
      file: source.name,
      offset: stop?.offset ?? BigInt(MAGIC.byteLength),
    });
  }
  if (stop?.kind === "corrupt" && stop.error.code === "STRATA_E_CRC_MISMATCH") throw stop.error;

  const warnings = contents.warnings;
  warnings.push(`read by scanning the whole file: ${reason}`);
  if (stop?.kind === "truncated") {
    warnings.push(
      `the file is truncated (${stop.detail}): reading stopped at byte ${stop.offset}; every whole record before it was read`,
    );
  } else if (stop?.kind === "corrupt") {
    warnings.push(
      `reading stopped at byte ${stop.offset} (${stop.error.message}); every whole record before it was read`,
    );
  } else if (stop?.kind === "footer" && stop.trailingBytes > 0n) {
    warnings.push(`${stop.trailingBytes} bytes after the closing magic (byte ${stop.offset}) were ignored`);
  }
  if (ignoredAfterDataEnd > 0)
    warnings.push(`${ignoredAfterDataEnd} Message records after DataEnd were ignored`);
  return new StreamedMcapReader(source, sizeBytes, settings, { header, ...contents }, blocks, stats);
}
