/**
 * rosbag2 sqlite3 storage (`.db3`). Two schemas exist: the old one with only `topics` and `messages`,
 * and the newer one (rosbag2 schema_version ≥ 3) that adds `schema`, `metadata`,
 * `message_definitions` and `topics.type_description_hash`. Opened read-only; messages stream row
 * by row with `.iterate()` ordered by the `timestamp_idx` index, each on its own connection so
 * several iterations (and `stats()`) can run at once.
 */
import { stat } from "node:fs/promises";
import Database from "better-sqlite3";
import { StrataError } from "../../core/index.ts";
import type {
  StorageFile,
  StorageMessage,
  StorageQuery,
  StorageStamp,
  StorageTopic,
  StorageTopicStats,
} from "./storage.ts";

type Db = InstanceType<typeof Database>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TIMESTAMP_BATCH = 8192;

interface TopicRow {
  id: bigint;
  name: string;
  type: string;
  serialization_format: string;
  offered_qos_profiles: string | null;
  type_description_hash?: string | null;
}

interface DefinitionRow {
  topic_type: string;
  encoding: string;
  encoded_message_definition: string;
  type_description_hash: string | null;
}

interface StatsRow {
  topic_id: bigint;
  message_count: bigint;
  first_ns: bigint;
  last_ns: bigint;
}

interface MessageRow {
  topic_id: bigint;
  timestamp: bigint;
  data: Uint8Array;
}

/** Maps better-sqlite3 failures to coded errors naming the file. */
function sqliteError(error: unknown, file: string, doing: string): StrataError {
  if (error instanceof StrataError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "SQLITE_CANTOPEN") {
    return new StrataError("STRATA_E_FILE_NOT_FOUND", `${doing}: ${message}`, { file }, { cause: error });
  }
  return new StrataError("STRATA_E_CORRUPT_LOG", `${doing}: ${message}`, { file }, { cause: error });
}

/** Opens one `.db3` file; throws STRATA_E_EMPTY_FILE / UNKNOWN_FORMAT / CORRUPT_LOG naming it. */
export async function openSqliteStorage(path: string): Promise<StorageFile> {
  let sizeBytes: bigint;
  try {
    sizeBytes = (await stat(path, { bigint: true })).size;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT")
      throw new StrataError("STRATA_E_FILE_NOT_FOUND", undefined, { file: path }, { cause: error });
    throw sqliteError(error, path, "cannot stat");
  }
  if (sizeBytes === 0n) throw new StrataError("STRATA_E_EMPTY_FILE", `${path} has 0 bytes`, { file: path });
  const storage = new SqliteStorage(path, sizeBytes);
  try {
    storage.load();
  } catch (error) {
    storage.closeSync();
    throw sqliteError(error, path, "cannot read the rosbag2 sqlite3 tables");
  }
  return storage;
}

class SqliteStorage implements StorageFile {
  readonly storageIdentifier = "sqlite3";
  library = "";
  private db: Db | undefined;
  private topicList: StorageTopic[] = [];
  private readonly iterations = new Set<Db>();

  constructor(
    readonly path: string,
    readonly sizeBytes: bigint,
  ) {}

  private connect(): Db {
    try {
      const db = new Database(this.path, { readonly: true, fileMustExist: true });
      db.defaultSafeIntegers(true);
      return db;
    } catch (error) {
      throw sqliteError(error, this.path, "cannot open as SQLite");
    }
  }

  load(): void {
    const db = this.connect();
    this.db = db;
    const tables = new Set(
      (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>
      ).map((row) => row.name),
    );
    if (!tables.has("topics") || !tables.has("messages")) {
      throw new StrataError(
        "STRATA_E_UNKNOWN_FORMAT",
        "an SQLite file without rosbag2's topics/messages tables",
        {
          file: this.path,
        },
      );
    }
    const topicColumns = new Set(
      (db.prepare("PRAGMA table_info(topics)").all() as Array<{ name: string }>).map((row) => row.name),
    );
    const hashColumn = topicColumns.has("type_description_hash") ? ", type_description_hash" : "";
    const qosColumn = topicColumns.has("offered_qos_profiles")
      ? "offered_qos_profiles"
      : "'' AS offered_qos_profiles";
    const topicRows = db
      .prepare(
        `SELECT id, name, type, serialization_format, ${qosColumn}${hashColumn} FROM topics ORDER BY id`,
      )
      .all() as TopicRow[];

    const definitions: DefinitionRow[] = tables.has("message_definitions")
      ? (db
          .prepare(
            "SELECT topic_type, encoding, encoded_message_definition, type_description_hash FROM message_definitions ORDER BY id",
          )
          .all() as DefinitionRow[])
      : [];
    if (tables.has("schema")) {
      const columns = new Set(
        (db.prepare("PRAGMA table_info(schema)").all() as Array<{ name: string }>).map((row) => row.name),
      );
      if (columns.has("ros_distro")) {
        const row = db.prepare("SELECT ros_distro FROM schema LIMIT 1").get() as
          | { ros_distro?: string }
          | undefined;
        if (row?.ros_distro) this.library = `rosbag2 sqlite3 (ros_distro ${row.ros_distro})`;
      }
    }
    const encoder = new TextEncoder();
    this.topicList = topicRows.map((row) => {
      const typeDescriptionHash = row.type_description_hash ?? "";
      // Join on the type hash when there is one: service-event topics (`…/srv/X_Event`) point at the
      // `…/srv/X` definition row. Otherwise on the type name.
      const definition =
        (typeDescriptionHash !== ""
          ? definitions.find((d) => d.type_description_hash === typeDescriptionHash)
          : undefined) ?? definitions.find((d) => d.topic_type === row.type);
      const topic: StorageTopic = {
        localId: Number(row.id),
        name: row.name,
        type: row.type,
        serializationFormat: row.serialization_format,
        offeredQosProfiles: row.offered_qos_profiles ?? "",
        typeDescriptionHash,
      };
      const usable =
        definition !== undefined &&
        definition.encoded_message_definition !== "" &&
        (definition.encoding === "ros2msg" || definition.encoding === "ros2idl");
      if (usable) {
        topic.definition = {
          encoding: definition.encoding,
          data: encoder.encode(definition.encoded_message_definition),
        };
      }
      return topic;
    });
  }

  topics(): StorageTopic[] {
    return this.topicList;
  }

  private requireDb(): Db {
    if (this.db === undefined)
      throw new StrataError("STRATA_E_USAGE", "the bag is closed", { file: this.path });
    return this.db;
  }

  async stats(): Promise<Map<number, StorageTopicStats>> {
    const out = new Map<number, StorageTopicStats>();
    let rows: StatsRow[];
    try {
      rows = this.requireDb()
        .prepare(
          "SELECT topic_id, COUNT(*) AS message_count, MIN(timestamp) AS first_ns, MAX(timestamp) AS last_ns FROM messages GROUP BY topic_id",
        )
        .all() as StatsRow[];
    } catch (error) {
      throw sqliteError(error, this.path, "cannot count messages");
    }
    for (const row of rows) {
      out.set(Number(row.topic_id), {
        messageCount: row.message_count,
        firstTimeNs: row.first_ns,
        lastTimeNs: row.last_ns,
      });
    }
    return out;
  }

  async *messages(query: StorageQuery): AsyncIterable<StorageMessage> {
    const localIds = query.localIds;
    if (localIds !== undefined && localIds.length === 0) return;
    this.requireDb();
    const db = this.connect();
    this.iterations.add(db);
    try {
      const topicFilter =
        localIds === undefined
          ? ""
          : ` AND topic_id IN (${localIds.map((id) => Number(id).toFixed(0)).join(",")})`;
      const statement = db.prepare(
        `SELECT topic_id, timestamp, data FROM messages WHERE timestamp >= ? AND timestamp <= ?${topicFilter} ORDER BY timestamp, id`,
      );
      const rows = statement.iterate(
        query.startNs ?? INT64_MIN,
        query.endNs ?? INT64_MAX,
      ) as IterableIterator<MessageRow>;
      for (const row of rows) {
        yield {
          localId: Number(row.topic_id),
          logTimeNs: row.timestamp,
          publishTimeNs: row.timestamp,
          sequence: 0,
          // better-sqlite3 gives a Buffer; hand out a plain Uint8Array view like the other readers.
          data: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
        };
      }
    } catch (error) {
      throw sqliteError(error, this.path, "cannot read messages");
    } finally {
      this.iterations.delete(db);
      db.close();
    }
  }

  async *timestamps(): AsyncIterable<StorageStamp[]> {
    this.requireDb();
    const db = this.connect();
    this.iterations.add(db);
    try {
      let batch: StorageStamp[] = [];
      const rows = db.prepare("SELECT topic_id, timestamp FROM messages").iterate() as IterableIterator<{
        topic_id: bigint;
        timestamp: bigint;
      }>;
      for (const row of rows) {
        batch.push({ localId: Number(row.topic_id), logTimeNs: row.timestamp });
        if (batch.length >= TIMESTAMP_BATCH) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } catch (error) {
      throw sqliteError(error, this.path, "cannot read timestamps");
    } finally {
      this.iterations.delete(db);
      db.close();
    }
  }

  async warnings(): Promise<string[]> {
    return [];
  }

  closeSync(): void {
    for (const db of this.iterations) {
      try {
        db.close();
      } catch {
        // An iteration still open on it; the process reclaims the handle.
      }
    }
    this.iterations.clear();
    this.db?.close();
    this.db = undefined;
  }

  async close(): Promise<void> {
    this.closeSync();
  }
}
