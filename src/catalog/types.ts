import type { Kysely } from "kysely";
import type { Sha256Hex } from "../core/index.ts";
import type { CatalogDialect } from "./migrations/index.ts";
import type { CatalogDatabase } from "./schema.ts";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type CatalogConfig =
  | {
      kind: "sqlite";
      /** Database file (created with its directory if missing), or ":memory:". */
      path: string;
      /** How long a writer waits for another process's lock before failing (default 5000 ms). */
      busyTimeoutMs?: number;
      /** Apply pending migrations on open (default true). */
      migrate?: boolean;
    }
  | {
      kind: "postgres";
      /** e.g. postgres://user@host:5432/db */
      url: string;
      /** Schema holding the catalog's tables (created if missing; default: the server's search_path, i.e. public). */
      schema?: string;
      /** Connections in the pool (default 10). */
      poolSize?: number;
      /** Apply pending migrations on open (default true). */
      migrate?: boolean;
    };

// ---- records (what the catalog returns): camelCase, bigint ns, JSON parsed ----

/** `ingesting` while an ingest is writing, `ready` when usable, `quarantined` when QA/contract held it back. */
export type CaptureStatus = "ingesting" | "ready" | "quarantined" | "failed";

export interface CaptureRecord {
  captureId: string;
  sha256: Sha256Hex;
  /** `mcap`, `ros1`, `ros2` (see formats' LogFormat). */
  format: string;
  sizeBytes: bigint;
  /** null when the capture has no messages. */
  startNs: bigint | null;
  endNs: bigint | null;
  messageCount: bigint;
  rig: string | null;
  site: string | null;
  region: string | null;
  status: CaptureStatus;
  sourcePath: string | null;
  ingestedAtNs: bigint;
  provenance: JsonObject;
}

export interface CaptureFileRecord {
  captureId: string;
  /** 0-based position of the file in the capture (ROS 2 bags have several). */
  ordinal: number;
  pathInCapture: string;
  sha256: Sha256Hex;
  sizeBytes: bigint;
}

export interface TopicRecord {
  captureId: string;
  topic: string;
  schemaName: string;
  messageEncoding: string;
  schemaHash: Sha256Hex | null;
  messageCount: bigint;
  firstNs: bigint | null;
  lastNs: bigint | null;
  meanRateHz: number | null;
  maxGapNs: bigint | null;
}

/** Messages of one topic in [bucketStartNs, bucketStartNs + bucketNs): the sensor-health timeline. */
export interface HistogramBucket {
  captureId: string;
  topic: string;
  bucketStartNs: bigint;
  bucketNs: bigint;
  messageCount: bigint;
}

export interface SchemaRecord {
  /** computeSchemaHash(encoding, name, definition). */
  schemaHash: Sha256Hex;
  name: string;
  encoding: string;
  /** The definition text (binary encodings such as protobuf descriptors: base64). */
  definition: string;
  /** null once that capture is deleted. */
  firstCaptureId: string | null;
  lastCaptureId: string | null;
  firstSeenNs: bigint;
}

export type RunStatus = "running" | "completed" | "failed";

export interface RunRecord {
  runId: string;
  /** `ingest`, `qa`, `scenes`, `dataset`, `export`, … */
  kind: string;
  status: RunStatus;
  inputs: JsonValue;
  outputs: JsonValue | null;
  params: JsonValue;
  codeVersion: string;
  startedAtNs: bigint;
  endedAtNs: bigint | null;
  error: JsonValue | null;
}

export interface AuditEvent {
  eventId: string;
  /** Position in the chain, increasing (gaps are possible on PostgreSQL; the hashes carry the order). */
  seq: bigint;
  actor: string;
  action: string;
  target: string;
  atNs: bigint;
  details: JsonObject;
  prevHash: Sha256Hex;
  /** sha256(prevHash + canonicalJson({eventId, actor, action, target, atNs, details})). */
  hash: Sha256Hex;
}

export type AuditVerification =
  | { ok: true; eventCount: number; headHash: Sha256Hex }
  | { ok: false; eventCount: number; seq: bigint; eventId: string; reason: string };

export interface ApiTokenRecord {
  tokenId: string;
  name: string;
  role: string;
  /** Hash of the secret; the secret itself is never stored. */
  tokenHash: string;
  createdAtNs: bigint;
  revokedAtNs: bigint | null;
}

export interface CatalogCounts {
  captures: number;
  captureFiles: number;
  topics: number;
  histogramBuckets: number;
  schemas: number;
  runs: number;
  auditEvents: number;
  apiTokens: number;
}

// ---- inputs ----

type Int = bigint | number;

export interface NewCapture {
  /** Default: captureIdFromSha256(sha256). */
  captureId?: string;
  sha256: Sha256Hex;
  format: string;
  sizeBytes: Int;
  startNs?: bigint | null;
  endNs?: bigint | null;
  messageCount?: Int;
  rig?: string | null;
  site?: string | null;
  region?: string | null;
  /** Default `ready`. */
  status?: CaptureStatus;
  sourcePath?: string | null;
  /** Default: now. */
  ingestedAtNs?: bigint;
  provenance?: JsonObject;
}

export interface NewCaptureFile {
  captureId: string;
  ordinal: number;
  pathInCapture: string;
  sha256: Sha256Hex;
  sizeBytes: Int;
}

export interface NewTopic {
  captureId: string;
  topic: string;
  schemaName: string;
  messageEncoding: string;
  schemaHash?: Sha256Hex | null;
  messageCount: Int;
  firstNs?: bigint | null;
  lastNs?: bigint | null;
  meanRateHz?: number | null;
  maxGapNs?: bigint | null;
}

export interface NewHistogramBucket {
  captureId: string;
  topic: string;
  bucketStartNs: bigint;
  bucketNs: bigint;
  messageCount: Int;
}

export interface NewSchema {
  name: string;
  encoding: string;
  definition: string;
}

export interface CaptureFilter {
  site?: string;
  rig?: string;
  status?: CaptureStatus;
}

export interface Page {
  /** Default 100, at most 10 000. */
  limit?: number;
  /** Default 0. */
  offset?: number;
}

export interface NewRun {
  /** Default: newId("run"). */
  runId?: string;
  kind: string;
  inputs?: JsonValue;
  params?: JsonValue;
  codeVersion: string;
  /** Default: now. */
  startedAtNs?: bigint;
}

export interface RunOutcome {
  status: "completed" | "failed";
  outputs?: JsonValue;
  error?: JsonValue;
  /** Default: now. */
  endedAtNs?: bigint;
}

export interface RunFilter extends Page {
  kind?: string;
  status?: RunStatus;
}

export interface NewAuditEvent {
  actor: string;
  action: string;
  target: string;
  details?: JsonObject;
  /** Default: now. */
  atNs?: bigint;
}

export interface AuditFilter {
  /** Default 100, at most 10 000. */
  limit?: number;
  /** Only events with seq > afterSeq (cursor paging). */
  afterSeq?: bigint;
  /** Only events with seq < beforeSeq. */
  beforeSeq?: bigint;
  actor?: string;
  action?: string;
  target?: string;
  /** Default `asc` (chain order). */
  order?: "asc" | "desc";
}

export interface NewApiToken {
  /** Default: newId("tok"). */
  tokenId?: string;
  name: string;
  role: string;
  tokenHash: string;
  /** Default: now. */
  createdAtNs?: bigint;
}

/**
 * The relational catalog. Implementations: SQLite (default) and PostgreSQL, one contract suite.
 * Every failure is a StrataError: STRATA_E_CONFLICT for unique/foreign-key violations and state
 * conflicts, STRATA_E_NOT_FOUND for missing ids, STRATA_E_CATALOG for everything else from the database.
 */
export interface Catalog {
  readonly dialect: CatalogDialect;
  /**
   * Escape hatch for later modules (typed query builder over the tables). Inside `transaction(fn)`,
   * the `tx.db` given to fn is the transaction; the outer `db` must not be used there.
   */
  readonly db: Kysely<CatalogDatabase>;

  /** Applies pending migrations; returns the names applied (empty when up to date). */
  migrate(): Promise<string[]>;
  /**
   * Runs fn with a catalog bound to one transaction: all its writes commit together, or none when fn
   * throws (the error is rethrown unchanged). Use only `tx` inside fn. Nested calls join the outer one.
   * On PostgreSQL a failed statement aborts the transaction: let its error propagate out of fn.
   * On SQLite it takes the write lock up front (BEGIN IMMEDIATE); keep fn short.
   */
  transaction<T>(fn: (tx: Catalog) => Promise<T>): Promise<T>;

  insertCapture(capture: NewCapture): Promise<CaptureRecord>;
  getCapture(captureId: string): Promise<CaptureRecord | undefined>;
  findCaptureBySha256(sha256: Sha256Hex): Promise<CaptureRecord | undefined>;
  /** Newest first (ingestedAtNs desc, then captureId). */
  listCaptures(filter?: CaptureFilter & Page): Promise<CaptureRecord[]>;
  countCaptures(filter?: CaptureFilter): Promise<number>;
  setCaptureStatus(captureId: string, status: CaptureStatus): Promise<CaptureRecord>;
  /** Deletes the capture with its files, topics and histogram; schemas keep existing. false if absent. */
  deleteCapture(captureId: string): Promise<boolean>;
  insertCaptureFiles(files: readonly NewCaptureFile[]): Promise<void>;
  /** In ordinal order. */
  listCaptureFiles(captureId: string): Promise<CaptureFileRecord[]>;
  insertTopics(topics: readonly NewTopic[]): Promise<void>;
  /** In topic order. */
  listTopics(captureId: string): Promise<TopicRecord[]>;
  insertHistogram(buckets: readonly NewHistogramBucket[]): Promise<void>;
  /** By topic, then time. */
  getHistogram(captureId: string, topic?: string): Promise<HistogramBucket[]>;

  /** Inserts schemas not seen before (first = last = captureId) and moves lastCaptureId of the others. */
  upsertSchemas(captureId: string, schemas: readonly NewSchema[], seenAtNs?: bigint): Promise<SchemaRecord[]>;
  getSchema(schemaHash: Sha256Hex): Promise<SchemaRecord | undefined>;
  listSchemas(page?: Page): Promise<SchemaRecord[]>;

  startRun(run: NewRun): Promise<RunRecord>;
  /** STRATA_E_NOT_FOUND for an unknown run, STRATA_E_CONFLICT when it already finished. */
  finishRun(runId: string, outcome: RunOutcome): Promise<RunRecord>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Newest first. */
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;

  /** Appends to the hash chain; serialised across connections and processes. */
  appendAudit(event: NewAuditEvent): Promise<AuditEvent>;
  listAudit(filter?: AuditFilter): Promise<AuditEvent[]>;
  /** Re-hashes the whole chain in order (streaming) and reports the first break. */
  verifyAuditChain(): Promise<AuditVerification>;

  insertToken(token: NewApiToken): Promise<ApiTokenRecord>;
  /** Also returns revoked tokens; the caller checks revokedAtNs. */
  findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined>;
  listTokens(): Promise<ApiTokenRecord[]>;
  /** Idempotent (keeps the first revocation time); STRATA_E_NOT_FOUND for an unknown token. */
  revokeToken(tokenId: string, atNs?: bigint): Promise<ApiTokenRecord>;

  counts(): Promise<CatalogCounts>;
  /** Closes the database or pool. Not allowed on a transaction-bound catalog. */
  close(): Promise<void>;
}
