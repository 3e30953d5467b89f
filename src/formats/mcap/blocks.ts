/**
 * Log-time ordered reading of MCAP files that have no usable index ("streamed" files).
 *
 * Bounded-memory design: the open scan builds a small *block index* instead of holding messages:
 * one block per Chunk record, and one block per run of consecutive unchunked Message records
 * (cut at 4 MiB). Each block keeps only its offset, size, min/max log time, message count and
 * channel ids. `messages()` then merges blocks the way McapIndexedReader merges chunks: a block is
 * loaded only when the merge reaches its first log time, and dropped when exhausted, so memory is
 * the bytes of the blocks whose time ranges overlap (one or two for a normally recorded file).
 *
 * If the blocks overlap so much that this would exceed the budget (a shuffled file), we switch to
 * a per-message timeline: one pass records (logTime, block, index) per message, 16 bytes each plus
 * a 4-byte sort permutation, and messages are then served in that order through an LRU of loaded
 * blocks bounded by the same budget. Memory stays bounded at the cost of re-reading blocks.
 */
import { type Channel, type DecompressHandlers, McapStreamReader, type TypedMcapRecords } from "@mcap/core";
import type { ByteSource } from "../types.ts";
import { mcapError } from "./errors.ts";
import { channelRecordBytes } from "./scan.ts";

type Message = TypedMcapRecords["Message"];

/** A contiguous byte range holding messages: a Chunk record or a run of Message records. */
export interface Block {
  kind: "chunk" | "messages";
  offset: bigint;
  byteLength: bigint;
  /** Bytes held in memory once loaded (a chunk's uncompressed size). */
  loadedBytes: number;
  messageCount: number;
  minLogTimeNs: bigint;
  maxLogTimeNs: bigint;
  channelIds: Set<number>;
  /** Messages already in log-time order inside the block. */
  sorted: boolean;
}

export const MESSAGE_RUN_LIMIT_BYTES = 4n * 1024n * 1024n;
export const DEFAULT_MERGE_BUDGET_BYTES = 256 * 1024 * 1024;

export function newBlock(
  kind: Block["kind"],
  offset: bigint,
  byteLength: bigint,
  loadedBytes: number,
): Block {
  return {
    kind,
    offset,
    byteLength,
    loadedBytes,
    messageCount: 0,
    minLogTimeNs: 0n,
    maxLogTimeNs: 0n,
    channelIds: new Set(),
    sorted: true,
  };
}

export function addMessageToBlock(block: Block, channelId: number, logTimeNs: bigint): void {
  if (block.messageCount === 0) {
    block.minLogTimeNs = logTimeNs;
    block.maxLogTimeNs = logTimeNs;
  } else {
    if (logTimeNs < block.maxLogTimeNs) block.sorted = false;
    if (logTimeNs < block.minLogTimeNs) block.minLogTimeNs = logTimeNs;
    if (logTimeNs > block.maxLogTimeNs) block.maxLogTimeNs = logTimeNs;
  }
  block.messageCount += 1;
  block.channelIds.add(channelId);
}

export interface BlockFilter {
  channelIds?: ReadonlySet<number>;
  startNs?: bigint;
  endNs?: bigint;
}

function blockMatches(block: Block, filter: BlockFilter): boolean {
  if (block.messageCount === 0) return false;
  if (filter.startNs !== undefined && block.maxLogTimeNs < filter.startNs) return false;
  if (filter.endNs !== undefined && block.minLogTimeNs > filter.endNs) return false;
  if (filter.channelIds) {
    for (const id of block.channelIds) if (filter.channelIds.has(id)) return true;
    return false;
  }
  return true;
}

function messageMatches(message: Message, filter: BlockFilter): boolean {
  if (filter.channelIds && !filter.channelIds.has(message.channelId)) return false;
  if (filter.startNs !== undefined && message.logTime < filter.startNs) return false;
  if (filter.endNs !== undefined && message.logTime > filter.endNs) return false;
  return true;
}

/** Loads blocks' messages through one McapStreamReader primed with every known channel. */
export class BlockLoader {
  readonly #source: ByteSource;
  readonly #parser: McapStreamReader;

  constructor(
    source: ByteSource,
    channels: Iterable<Channel>,
    options: { validateCrcs: boolean; decompressHandlers: DecompressHandlers },
  ) {
    this.#source = source;
    this.#parser = new McapStreamReader({
      noMagicPrefix: true,
      validateCrcs: options.validateCrcs,
      decompressHandlers: options.decompressHandlers,
    });
    this.#parser.append(channelRecordBytes(channels));
    while (this.#parser.nextRecord()) {
      // registering channels only
    }
  }

  /** The block's messages that pass the filter, in file order. */
  async load(block: Block, filter: BlockFilter = {}): Promise<Message[]> {
    const bytes = await this.#source.read(block.offset, block.byteLength);
    const messages: Message[] = [];
    try {
      this.#parser.append(bytes);
      for (let record = this.#parser.nextRecord(); record; record = this.#parser.nextRecord()) {
        if (record.type === "Message" && messageMatches(record, filter)) messages.push(record);
      }
    } catch (error) {
      throw mcapError(
        error,
        this.#source.name,
        block.offset,
        `bad ${block.kind === "chunk" ? "Chunk" : "Message"} record`,
      );
    }
    return messages;
  }
}

/** Stable sort by log time (Array.prototype.sort is stable). */
function sortByLogTime(messages: Message[]): Message[] {
  return messages.sort((a, b) => (a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0));
}

/** The most loaded bytes that overlapping blocks would hold at once during a merge. */
export function peakOverlapBytes(blocks: readonly Block[]): number {
  const events: Array<[bigint, number, number]> = [];
  for (const block of blocks) {
    if (block.messageCount === 0) continue;
    events.push([block.minLogTimeNs, 0, block.loadedBytes], [block.maxLogTimeNs, 1, -block.loadedBytes]);
  }
  // At equal times, opens (0) before closes (1): a block ending at t and one starting at t coexist.
  events.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  let current = 0;
  let peak = 0;
  for (const [, , delta] of events) {
    current += delta;
    if (current > peak) peak = current;
  }
  return peak;
}

interface Cursor {
  messages: Message[];
  position: number;
  blockIndex: number;
}

function cursorBefore(a: Cursor, b: Cursor): boolean {
  const ta = a.messages[a.position]?.logTime ?? 0n;
  const tb = b.messages[b.position]?.logTime ?? 0n;
  return ta < tb || (ta === tb && a.blockIndex < b.blockIndex);
}

/** A binary min-heap of cursors. */
class CursorHeap {
  readonly items: Cursor[] = [];

  push(cursor: Cursor): void {
    const items = this.items;
    items.push(cursor);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as Cursor;
      if (!cursorBefore(cursor, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = cursor;
  }

  peek(): Cursor | undefined {
    return this.items[0];
  }

  /** Restores heap order after the top cursor advanced, or removes it if exhausted. */
  fixTop(): void {
    const items = this.items;
    const top = items[0];
    if (!top) return;
    if (top.position >= top.messages.length) {
      const last = items.pop() as Cursor;
      if (items.length === 0) return;
      items[0] = last;
    }
    const cursor = items[0] as Cursor;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      let child = left;
      if (right < items.length && cursorBefore(items[right] as Cursor, items[left] as Cursor)) child = right;
      const c = items[child] as Cursor;
      if (!cursorBefore(c, cursor)) break;
      items[i] = c;
      i = child;
    }
    items[i] = cursor;
  }
}

/**
 * Messages of `blocks` (given in file order) in log-time order, stable for equal times (file order).
 * Picks the block merge or the timeline (see the file comment) from the blocks' overlap.
 */
export async function* orderedMessages(
  blocks: readonly Block[],
  loader: BlockLoader,
  filter: BlockFilter,
  budgetBytes = DEFAULT_MERGE_BUDGET_BYTES,
): AsyncGenerator<Message, void, void> {
  const candidates = blocks.filter((block) => blockMatches(block, filter));
  if (peakOverlapBytes(candidates) <= budgetBytes) {
    yield* mergeBlocks(candidates, loader, filter);
  } else {
    yield* timelineMessages(candidates, loader, filter, budgetBytes);
  }
}

async function* mergeBlocks(
  blocks: readonly Block[],
  loader: BlockLoader,
  filter: BlockFilter,
): AsyncGenerator<Message, void, void> {
  const activation = blocks
    .map((block, blockIndex) => ({ block, blockIndex }))
    .sort((a, b) =>
      a.block.minLogTimeNs < b.block.minLogTimeNs
        ? -1
        : a.block.minLogTimeNs > b.block.minLogTimeNs
          ? 1
          : a.blockIndex - b.blockIndex,
    );
  const heap = new CursorHeap();
  let next = 0;
  for (;;) {
    // Load every block that may hold a message at or before the current earliest one.
    for (;;) {
      const pending = activation[next];
      if (!pending) break;
      const top = heap.peek();
      const topTime = top?.messages[top.position]?.logTime;
      if (topTime !== undefined && pending.block.minLogTimeNs > topTime) break;
      next += 1;
      const loaded = await loader.load(pending.block, filter);
      const messages = pending.block.sorted ? loaded : sortByLogTime(loaded);
      if (messages.length > 0) heap.push({ messages, position: 0, blockIndex: pending.blockIndex });
    }
    const top = heap.peek();
    if (!top) return;
    const message = top.messages[top.position] as Message;
    top.position += 1;
    heap.fixTop();
    yield message;
  }
}

async function* timelineMessages(
  blocks: readonly Block[],
  loader: BlockLoader,
  filter: BlockFilter,
  budgetBytes: number,
): AsyncGenerator<Message, void, void> {
  // Pass 1: (logTime, block, index) of every matching message, in file order.
  let count = 0;
  let times = new BigUint64Array(1024);
  let blockOf = new Uint32Array(1024);
  let indexOf = new Uint32Array(1024);
  for (let b = 0; b < blocks.length; b++) {
    const messages = await loader.load(blocks[b] as Block, filter);
    for (let i = 0; i < messages.length; i++) {
      if (count === times.length) {
        const grow = <T extends BigUint64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
          const bigger = make(a.length * 2);
          bigger.set(a as never);
          return bigger;
        };
        times = grow(times, (n) => new BigUint64Array(n));
        blockOf = grow(blockOf, (n) => new Uint32Array(n));
        indexOf = grow(indexOf, (n) => new Uint32Array(n));
      }
      times[count] = (messages[i] as Message).logTime;
      blockOf[count] = b;
      indexOf[count] = i;
      count += 1;
    }
  }
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => {
    const ta = times[a] as bigint;
    const tb = times[b] as bigint;
    return ta < tb ? -1 : ta > tb ? 1 : a - b;
  });
  // Pass 2: serve in order through an LRU of loaded blocks.
  const cache = new Map<number, Message[]>();
  let cachedBytes = 0;
  for (let k = 0; k < count; k++) {
    const entry = order[k] as number;
    const b = blockOf[entry] as number;
    let messages = cache.get(b);
    if (messages) {
      cache.delete(b);
      cache.set(b, messages);
    } else {
      const block = blocks[b] as Block;
      messages = await loader.load(block, filter);
      cache.set(b, messages);
      cachedBytes += block.loadedBytes;
      for (const [evict] of cache) {
        if (cachedBytes <= budgetBytes || evict === b) break;
        cachedBytes -= (blocks[evict] as Block).loadedBytes;
        cache.delete(evict);
      }
    }
    yield messages[indexOf[entry] as number] as Message;
  }
}
