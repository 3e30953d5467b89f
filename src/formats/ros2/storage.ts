/**
 * One storage file of a rosbag2 bag, behind a small interface the bag reader merges over.
 * Two implementations: sqlite3 `.db3` (here) and MCAP (delegating to the MCAP reader).
 */

export interface StorageTopic {
  /** File-local id (sqlite `topics.id`, MCAP channel id). */
  localId: number;
  name: string;
  type: string;
  serializationFormat: string;
  offeredQosProfiles: string;
  typeDescriptionHash: string;
  /** The definition this file stores for the type, when it stores one. */
  definition?: { encoding: string; data: Uint8Array };
}

export interface StorageTopicStats {
  messageCount: bigint;
  firstTimeNs?: bigint;
  lastTimeNs?: bigint;
}

export interface StorageMessage {
  localId: number;
  logTimeNs: bigint;
  publishTimeNs: bigint;
  sequence: number;
  data: Uint8Array;
}

export interface StorageQuery {
  /** File-local ids; all when undefined. */
  localIds?: readonly number[];
  startNs?: bigint;
  endNs?: bigint;
}

export interface StorageStamp {
  localId: number;
  logTimeNs: bigint;
}

export interface StorageFile {
  readonly path: string;
  readonly sizeBytes: bigint;
  /** e.g. `sqlite3`, `mcap`. */
  readonly storageIdentifier: string;
  /** Writer named by the file (MCAP library, sqlite `schema.ros_distro`), or "". */
  readonly library: string;
  topics(): StorageTopic[];
  /** Per local id. */
  stats(): Promise<Map<number, StorageTopicStats>>;
  /** In log-time order (stable: storage order for equal times). */
  messages(query: StorageQuery): AsyncIterable<StorageMessage>;
  timestamps(): AsyncIterable<StorageStamp[]>;
  /** Non-fatal findings (e.g. from the MCAP reader). */
  warnings(): Promise<string[]>;
  close(): Promise<void>;
}
