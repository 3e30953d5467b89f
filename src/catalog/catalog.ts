import { type Kysely, Migrator, type Selectable, sql } from "kysely";
import {
  canonicalJson,
  captureIdFromSha256,
  type ErrorContext,
  isSha256Hex,
  newId,
  nowNs,
  type Sha256Hex,
  StrataError,
} from "../core/index.ts";
import { catalogError } from "./errors.ts";
import { AUDIT_GENESIS_HASH, computeAuditHash, computeSchemaHash } from "./hashes.ts";
import { type CatalogDialect, migrationProvider } from "./migrations/index.ts";
import type {
  ApiTokensTable,
  AuditEventsTable,
  CaptureFilesTable,
  CapturesTable,
  CatalogDatabase,
  TopicHistogramTable,
  RunsTable,
  SchemasTable,
  TopicsTable,
} from "./schema.ts";
import type {
  ApiTokenRecord,
  AuditEvent,
  AuditFilter,
  AuditVerification,
  CaptureFileRecord,
  CaptureFilter,
  CaptureRecord,
  CaptureStatus,
  Catalog,
  CatalogCounts,
  HistogramBucket,
  JsonObject,
  JsonValue,
  NewApiToken,
  NewAuditEvent,
  NewCapture,
  NewCaptureFile,
  NewHistogramBucket,
  NewRun,
  NewSchema,
  NewTopic,
  Page,
  RunFilter,
  RunOutcome,
  RunRecord,
  RunStatus,
  SchemaRecord,
  TopicRecord,
} from "./types.ts";

const CAPTURE_STATUSES: ReadonlySet<string> = new Set<CaptureStatus>([
  "ingesting",
  "ready",
  "quarantined",
  "failed",
]);
const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>(["running", "completed", "failed"]);
/** Rows per INSERT statement: far below SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_BATCH_ROWS = 500;
const VERIFY_BATCH_ROWS = 1000;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

interface CatalogScope {
  dialect: CatalogDialect;
  /** PostgreSQL schema holding the tables (undefined: the connection's default). */
  schema?: string;
  inTransaction: boolean;
  /** SQLite: one writer at a time per database file within this process (see #write). */
  writeLock?: AsyncMutex;
}

/** A promise-chain mutex. */
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  async run<T>(body: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await body();
    } finally {
      release();
    }
  }
}

/** The one Catalog implementation; the dialect differences live in openCatalog and in a few branches here. */
export class KyselyCatalog implements Catalog {
  readonly db: Kysely<CatalogDatabase>;
  readonly dialect: CatalogDialect;
  readonly #scope: CatalogScope;

  constructor(db: Kysely<CatalogDatabase>, scope: CatalogScope) {
    this.db = db;
    this.dialect = scope.dialect;
    this.#scope = scope;
  }

  // ---- lifecycle ----

  async migrate(): Promise<string[]> {
    const schema = this.#scope.schema;
    if (schema !== undefined) {
      await this.#run("migrate", async (db) => {
        await db.schema
          .createSchema(schema)
          .ifNotExists()
          .execute()
          .catch((error: unknown) => {
            // Two processes creating the schema at once: the loser sees a duplicate; the schema exists.
            const code = (error as { code?: unknown }).code;
            if (code !== "23505" && code !== "42P06") throw error;
          });
      });
    }
    const migrator = new Migrator({
      db: this.db,
      provider: migrationProvider({ dialect: this.dialect }),
      ...(schema === undefined ? {} : { migrationTableSchema: schema }),
    });
    const writeLock = this.#scope.writeLock;
    const { error, results = [] } = await (writeLock === undefined
      ? migrator.migrateToLatest()
      : writeLock.run(() => migrator.migrateToLatest()));
    if (error !== undefined) {
      const failed = results.find((r) => r.status === "Error")?.migrationName;
      throw catalogError(error, "migrate", failed === undefined ? {} : { migration: failed });
    }
    return results.filter((r) => r.status === "Success").map((r) => r.migrationName);
  }

  async transaction<T>(fn: (tx: Catalog) => Promise<T>): Promise<T> {
    if (this.#scope.inTransaction) return fn(this);
    const bind = (db: Kysely<CatalogDatabase>) =>
      new KyselyCatalog(db, { ...this.#scope, inTransaction: true });
    let failure: { error: unknown } | undefined;
    const body = async (db: Kysely<CatalogDatabase>): Promise<T> => {
      try {
        return await fn(bind(db));
      } catch (error) {
        failure = { error };
        throw error;
      }
    };
    try {
      const writeLock = this.#scope.writeLock;
      if (writeLock !== undefined) {
        // BEGIN IMMEDIATE takes the write lock up front, so a writer waits (busy_timeout) instead of
        // failing when it would otherwise upgrade a read snapshot another process has since outdated.
        // The in-process lock matters because better-sqlite3 waits for a lock synchronously: a second
        // connection in this process would block the thread the lock holder needs to finish.
        return await writeLock.run(() =>
          this.db.connection().execute(async (connection) => {
            await sql`begin immediate`.execute(connection);
            try {
              const result = await body(connection);
              await sql`commit`.execute(connection);
              return result;
            } catch (error) {
              await sql`rollback`.execute(connection).catch(() => undefined);
              throw error;
            }
          }),
        );
      }
      return await this.db.transaction().execute(body);
    } catch (error) {
      if (failure !== undefined && failure.error === error) throw error;
      throw catalogError(error, "transaction");
    }
  }

  async close(): Promise<void> {
    if (this.#scope.inTransaction) {
      throw new StrataError(
        "STRATA_E_USAGE",
        "close() on a transaction-bound catalog; close the outer catalog",
      );
    }
    await this.db.destroy();
  }

  // ---- captures ----

  async insertCapture(capture: NewCapture): Promise<CaptureRecord> {
    checkSha256("sha256", capture.sha256);
    const status = capture.status ?? "ready";
    checkMember("status", status, CAPTURE_STATUSES);
    const captureId = capture.captureId ?? captureIdFromSha256(capture.sha256);
    const row = {
      capture_id: captureId,
      sha256: capture.sha256,
      format: capture.format,
      size_bytes: int64("sizeBytes", capture.sizeBytes),
      start_ns: capture.startNs ?? null,
      end_ns: capture.endNs ?? null,
      message_count: int64("messageCount", capture.messageCount ?? 0),
      rig: capture.rig ?? null,
      site: capture.site ?? null,
      region: capture.region ?? null,
      status,
      source_path: capture.sourcePath ?? null,
      ingested_at_ns: capture.ingestedAtNs ?? nowNs(),
      provenance: canonicalJson(capture.provenance ?? {}),
    };
    return this.#write(
      "insertCapture",
      async (db) =>
        toCapture(await db.insertInto("captures").values(row).returningAll().executeTakeFirstOrThrow()),
      { captureId, sha256: capture.sha256 },
    );
  }

  async getCapture(captureId: string): Promise<CaptureRecord | undefined> {
    return this.#run("getCapture", async (db) => {
      const row = await db
        .selectFrom("captures")
        .selectAll()
        .where("capture_id", "=", captureId)
        .executeTakeFirst();
      return row === undefined ? undefined : toCapture(row);
    });
  }

  async findCaptureBySha256(sha256: Sha256Hex): Promise<CaptureRecord | undefined> {
    return this.#run("findCaptureBySha256", async (db) => {
      const row = await db.selectFrom("captures").selectAll().where("sha256", "=", sha256).executeTakeFirst();
      return row === undefined ? undefined : toCapture(row);
    });
  }

  async listCaptures(filter: CaptureFilter & Page = {}): Promise<CaptureRecord[]> {
    const { limit, offset } = page(filter);
    return this.#run("listCaptures", async (db) => {
      let query = db.selectFrom("captures").selectAll();
      if (filter.site !== undefined) query = query.where("site", "=", filter.site);
      if (filter.rig !== undefined) query = query.where("rig", "=", filter.rig);
      if (filter.status !== undefined) query = query.where("status", "=", filter.status);
      const rows = await query
        .orderBy("ingested_at_ns", "desc")
        .orderBy("capture_id", "asc")
        .limit(limit)
        .offset(offset)
        .execute();
      return rows.map(toCapture);
    });
  }

  async countCaptures(filter: CaptureFilter = {}): Promise<number> {
    return this.#run("countCaptures", async (db) => {
      let query = db.selectFrom("captures").select((eb) => eb.fn.countAll<bigint>().as("n"));
      if (filter.site !== undefined) query = query.where("site", "=", filter.site);
      if (filter.rig !== undefined) query = query.where("rig", "=", filter.rig);
      if (filter.status !== undefined) query = query.where("status", "=", filter.status);
      const row = await query.executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  async setCaptureStatus(captureId: string, status: CaptureStatus): Promise<CaptureRecord> {
    checkMember("status", status, CAPTURE_STATUSES);
    return this.#write(
      "setCaptureStatus",
      async (db) => {
        const row = await db
          .updateTable("captures")
          .set({ status })
          .where("capture_id", "=", captureId)
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) throw notFound("capture", captureId);
        return toCapture(row);
      },
      { captureId },
    );
  }

  async deleteCapture(captureId: string): Promise<boolean> {
    return this.#write(
      "deleteCapture",
      async (db) => {
        const result = await db.deleteFrom("captures").where("capture_id", "=", captureId).executeTakeFirst();
        return result.numDeletedRows > 0n;
      },
      { captureId },
    );
  }

  async insertCaptureFiles(files: readonly NewCaptureFile[]): Promise<void> {
    const rows = files.map((f) => {
      checkSha256("sha256", f.sha256);
      return {
        capture_id: f.captureId,
        ordinal: int64("ordinal", f.ordinal),
        path_in_capture: f.pathInCapture,
        sha256: f.sha256,
        size_bytes: int64("sizeBytes", f.sizeBytes),
      };
    });
    await this.#insertBatches("insertCaptureFiles", rows, (db, batch) =>
      db.insertInto("capture_files").values(batch).execute(),
    );
  }

  async listCaptureFiles(captureId: string): Promise<CaptureFileRecord[]> {
    return this.#run("listCaptureFiles", async (db) => {
      const rows = await db
        .selectFrom("capture_files")
        .selectAll()
        .where("capture_id", "=", captureId)
        .orderBy("ordinal")
        .execute();
      return rows.map(toCaptureFile);
    });
  }

  async insertTopics(topics: readonly NewTopic[]): Promise<void> {
    const rows = topics.map((t) => {
      if (t.schemaHash != null) checkSha256("schemaHash", t.schemaHash);
      return {
        capture_id: t.captureId,
        topic: t.topic,
        schema_name: t.schemaName,
        message_encoding: t.messageEncoding,
        schema_hash: t.schemaHash ?? null,
        message_count: int64("messageCount", t.messageCount),
        first_ns: t.firstNs ?? null,
        last_ns: t.lastNs ?? null,
        mean_rate_hz: finiteOrNull("meanRateHz", t.meanRateHz),
        max_gap_ns: t.maxGapNs ?? null,
      };
    });
    await this.#insertBatches("insertTopics", rows, (db, batch) =>
      db.insertInto("topics").values(batch).execute(),
    );
  }

  async listTopics(captureId: string): Promise<TopicRecord[]> {
    return this.#run("listTopics", async (db) => {
      const rows = await db
        .selectFrom("topics")
        .selectAll()
        .where("capture_id", "=", captureId)
        .orderBy("topic")
        .execute();
      return rows.map(toTopic);
    });
  }

  async insertHistogram(buckets: readonly NewHistogramBucket[]): Promise<void> {
    const rows = buckets.map((b) => {
      if (b.bucketNs <= 0n)
        throw new StrataError("STRATA_E_USAGE", `bucketNs must be positive, got ${b.bucketNs}`);
      return {
        capture_id: b.captureId,
        topic: b.topic,
        bucket_start_ns: b.bucketStartNs,
        bucket_ns: b.bucketNs,
        message_count: int64("messageCount", b.messageCount),
      };
    });
    await this.#insertBatches("insertHistogram", rows, (db, batch) =>
      db.insertInto("topic_histogram").values(batch).execute(),
    );
  }

  async getHistogram(captureId: string, topic?: string): Promise<HistogramBucket[]> {
    return this.#run("getHistogram", async (db) => {
      let query = db.selectFrom("topic_histogram").selectAll().where("capture_id", "=", captureId);
      if (topic !== undefined) query = query.where("topic", "=", topic);
      const rows = await query.orderBy("topic").orderBy("bucket_start_ns").execute();
      return rows.map(toHistogramBucket);
    });
  }

  // ---- schemas ----

  async upsertSchemas(
    captureId: string,
    schemas: readonly NewSchema[],
    seenAtNs: bigint = nowNs(),
  ): Promise<SchemaRecord[]> {
    const byHash = new Map<string, ReturnType<typeof schemaRow>>();
    const order: string[] = [];
    for (const schema of schemas) {
      const row = schemaRow(schema, captureId, seenAtNs);
      order.push(row.schema_hash);
      if (!byHash.has(row.schema_hash)) byHash.set(row.schema_hash, row);
    }
    if (byHash.size === 0) return [];
    const stored = new Map<string, SchemaRecord>();
    await this.transaction(async (tx) => {
      const rows = [...byHash.values()];
      for (let start = 0; start < rows.length; start += INSERT_BATCH_ROWS) {
        const batch = rows.slice(start, start + INSERT_BATCH_ROWS);
        const returned = await (tx as KyselyCatalog).#run(
          "upsertSchemas",
          (db) =>
            db
              .insertInto("schemas")
              .values(batch)
              .onConflict((oc) => oc.column("schema_hash").doUpdateSet({ last_capture_id: captureId }))
              .returningAll()
              .execute(),
          { captureId },
        );
        for (const row of returned) stored.set(row.schema_hash, toSchema(row));
      }
    });
    return [...new Set(order)].map((hash) => stored.get(hash) as SchemaRecord);
  }

  async getSchema(schemaHash: Sha256Hex): Promise<SchemaRecord | undefined> {
    return this.#run("getSchema", async (db) => {
      const row = await db
        .selectFrom("schemas")
        .selectAll()
        .where("schema_hash", "=", schemaHash)
        .executeTakeFirst();
      return row === undefined ? undefined : toSchema(row);
    });
  }

  async listSchemas(paging: Page = {}): Promise<SchemaRecord[]> {
    const { limit, offset } = page(paging);
    return this.#run("listSchemas", async (db) => {
      const rows = await db
        .selectFrom("schemas")
        .selectAll()
        .orderBy("name")
        .orderBy("schema_hash")
        .limit(limit)
        .offset(offset)
        .execute();
      return rows.map(toSchema);
    });
  }

  // ---- runs ----

  async startRun(run: NewRun): Promise<RunRecord> {
    const runId = run.runId ?? newId("run");
    const row = {
      run_id: runId,
      kind: run.kind,
      status: "running",
      inputs: canonicalJson(run.inputs ?? []),
      outputs: null,
      params: canonicalJson(run.params ?? {}),
      code_version: run.codeVersion,
      started_at_ns: run.startedAtNs ?? nowNs(),
      ended_at_ns: null,
      error: null,
    };
    return this.#write(
      "startRun",
      async (db) => toRun(await db.insertInto("runs").values(row).returningAll().executeTakeFirstOrThrow()),
      { runId },
    );
  }

  async finishRun(runId: string, outcome: RunOutcome): Promise<RunRecord> {
    checkMember("status", outcome.status, new Set(["completed", "failed"]));
    return this.#write(
      "finishRun",
      async (db) => {
        const row = await db
          .updateTable("runs")
          .set({
            status: outcome.status,
            outputs: outcome.outputs === undefined ? null : canonicalJson(outcome.outputs),
            error: outcome.error === undefined ? null : canonicalJson(outcome.error),
            ended_at_ns: outcome.endedAtNs ?? nowNs(),
          })
          .where("run_id", "=", runId)
          .where("status", "=", "running")
          .returningAll()
          .executeTakeFirst();
        if (row !== undefined) return toRun(row);
        const existing = await db
          .selectFrom("runs")
          .select("status")
          .where("run_id", "=", runId)
          .executeTakeFirst();
        if (existing === undefined) throw notFound("run", runId);
        throw new StrataError("STRATA_E_CONFLICT", `run ${runId} already finished (${existing.status})`, {
          runId,
        });
      },
      { runId },
    );
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.#run("getRun", async (db) => {
      const row = await db.selectFrom("runs").selectAll().where("run_id", "=", runId).executeTakeFirst();
      return row === undefined ? undefined : toRun(row);
    });
  }

  async listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    const { limit, offset } = page(filter);
    return this.#run("listRuns", async (db) => {
      let query = db.selectFrom("runs").selectAll();
      if (filter.kind !== undefined) query = query.where("kind", "=", filter.kind);
      if (filter.status !== undefined) query = query.where("status", "=", filter.status);
      const rows = await query
        .orderBy("started_at_ns", "desc")
        .orderBy("run_id", "desc")
        .limit(limit)
        .offset(offset)
        .execute();
      return rows.map(toRun);
    });
  }

  // ---- audit ----

  async appendAudit(event: NewAuditEvent): Promise<AuditEvent> {
    const fields = {
      eventId: newId("evt"),
      actor: event.actor,
      action: event.action,
      target: event.target,
      atNs: event.atNs ?? nowNs(),
      // Stored and hashed as canonical JSON; parse it back so the hash input is what a verifier reads.
      details: JSON.parse(canonicalJson(event.details ?? {})) as JsonObject,
    };
    return this.transaction((tx) =>
      (tx as KyselyCatalog).#run(
        "appendAudit",
        async (db) => {
          // SQLite: the transaction already holds the write lock (BEGIN IMMEDIATE). PostgreSQL: this lock
          // admits one appender at a time across all connections and still lets readers through.
          if (this.dialect === "postgres") await sql`lock table audit_events in exclusive mode`.execute(db);
          const head = await db
            .selectFrom("audit_events")
            .select("hash")
            .orderBy("seq", "desc")
            .limit(1)
            .executeTakeFirst();
          const prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
          const row = await db
            .insertInto("audit_events")
            .values({
              event_id: fields.eventId,
              actor: fields.actor,
              action: fields.action,
              target: fields.target,
              at_ns: fields.atNs,
              details: canonicalJson(fields.details),
              prev_hash: prevHash,
              hash: computeAuditHash(prevHash, fields),
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          return toAuditEvent(row);
        },
        { action: event.action, target: event.target },
      ),
    );
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditEvent[]> {
    const { limit } = page({ limit: filter.limit });
    return this.#run("listAudit", async (db) => {
      let query = db.selectFrom("audit_events").selectAll();
      if (filter.afterSeq !== undefined) query = query.where("seq", ">", filter.afterSeq);
      if (filter.beforeSeq !== undefined) query = query.where("seq", "<", filter.beforeSeq);
      if (filter.actor !== undefined) query = query.where("actor", "=", filter.actor);
      if (filter.action !== undefined) query = query.where("action", "=", filter.action);
      if (filter.target !== undefined) query = query.where("target", "=", filter.target);
      const rows = await query
        .orderBy("seq", filter.order ?? "asc")
        .limit(limit)
        .execute();
      return rows.map(toAuditEvent);
    });
  }

  async verifyAuditChain(): Promise<AuditVerification> {
    return this.#run("verifyAuditChain", async (db) => {
      let expectedPrev = AUDIT_GENESIS_HASH;
      let eventCount = 0;
      let afterSeq: bigint | undefined;
      for (;;) {
        let query = db.selectFrom("audit_events").selectAll();
        if (afterSeq !== undefined) query = query.where("seq", ">", afterSeq);
        const rows = await query.orderBy("seq").limit(VERIFY_BATCH_ROWS).execute();
        for (const row of rows) {
          const event = toAuditEvent(row);
          const broken = (reason: string): AuditVerification => ({
            ok: false,
            eventCount,
            seq: event.seq,
            eventId: event.eventId,
            reason,
          });
          if (event.prevHash !== expectedPrev) {
            return broken(
              `prev_hash ${event.prevHash} does not match the preceding event's hash ${expectedPrev}`,
            );
          }
          const recomputed = computeAuditHash(event.prevHash, event);
          if (recomputed !== event.hash) {
            return broken(`stored hash ${event.hash} does not match the event's content (${recomputed})`);
          }
          expectedPrev = event.hash;
          eventCount += 1;
          afterSeq = event.seq;
        }
        if (rows.length < VERIFY_BATCH_ROWS) return { ok: true, eventCount, headHash: expectedPrev };
      }
    });
  }

  // ---- API tokens ----

  async insertToken(token: NewApiToken): Promise<ApiTokenRecord> {
    const tokenId = token.tokenId ?? newId("tok");
    const row = {
      token_id: tokenId,
      name: token.name,
      role: token.role,
      token_hash: token.tokenHash,
      created_at_ns: token.createdAtNs ?? nowNs(),
      revoked_at_ns: null,
    };
    return this.#write(
      "insertToken",
      async (db) =>
        toToken(await db.insertInto("api_tokens").values(row).returningAll().executeTakeFirstOrThrow()),
      { tokenId },
    );
  }

  async findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    return this.#run("findTokenByHash", async (db) => {
      const row = await db
        .selectFrom("api_tokens")
        .selectAll()
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      return row === undefined ? undefined : toToken(row);
    });
  }

  async listTokens(): Promise<ApiTokenRecord[]> {
    return this.#run("listTokens", async (db) =>
      (
        await db.selectFrom("api_tokens").selectAll().orderBy("created_at_ns").orderBy("token_id").execute()
      ).map(toToken),
    );
  }

  async revokeToken(tokenId: string, atNs: bigint = nowNs()): Promise<ApiTokenRecord> {
    return this.#write(
      "revokeToken",
      async (db) => {
        const row = await db
          .updateTable("api_tokens")
          .set({ revoked_at_ns: atNs })
          .where("token_id", "=", tokenId)
          .where("revoked_at_ns", "is", null)
          .returningAll()
          .executeTakeFirst();
        if (row !== undefined) return toToken(row);
        const existing = await db
          .selectFrom("api_tokens")
          .selectAll()
          .where("token_id", "=", tokenId)
          .executeTakeFirst();
        if (existing === undefined) throw notFound("API token", tokenId);
        return toToken(existing);
      },
      { tokenId },
    );
  }

  // ---- whole catalog ----

  async counts(): Promise<CatalogCounts> {
    const tables = {
      captures: "captures",
      captureFiles: "capture_files",
      topics: "topics",
      histogramBuckets: "topic_histogram",
      schemas: "schemas",
      runs: "runs",
      auditEvents: "audit_events",
      apiTokens: "api_tokens",
    } as const satisfies Record<keyof CatalogCounts, keyof CatalogDatabase>;
    return this.#run("counts", async (db) => {
      const out = {} as CatalogCounts;
      for (const [key, table] of Object.entries(tables) as [keyof CatalogCounts, keyof CatalogDatabase][]) {
        const row = await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<bigint>().as("n"))
          .executeTakeFirstOrThrow();
        out[key] = Number(row.n);
      }
      return out;
    });
  }

  // ---- helpers ----

  async #run<T>(
    operation: string,
    body: (db: Kysely<CatalogDatabase>) => Promise<T>,
    context?: ErrorContext,
  ): Promise<T> {
    try {
      return await body(this.db);
    } catch (error) {
      throw catalogError(error, operation, context);
    }
  }

  /**
   * A write. On SQLite outside a transaction it runs in one (taking the process-wide writer lock), so
   * two catalogs on the same file in one process never block each other's thread.
   */
  async #write<T>(
    operation: string,
    body: (db: Kysely<CatalogDatabase>) => Promise<T>,
    context?: ErrorContext,
  ): Promise<T> {
    if (this.#scope.writeLock === undefined || this.#scope.inTransaction)
      return this.#run(operation, body, context);
    return this.transaction((tx) => (tx as KyselyCatalog).#run(operation, body, context));
  }

  async #insertBatches<R>(
    operation: string,
    rows: R[],
    insert: (db: Kysely<CatalogDatabase>, batch: R[]) => Promise<unknown>,
  ): Promise<void> {
    if (rows.length === 0) return;
    const write = (catalog: KyselyCatalog) =>
      catalog.#run(operation, async (db) => {
        for (let start = 0; start < rows.length; start += INSERT_BATCH_ROWS) {
          await insert(db, rows.slice(start, start + INSERT_BATCH_ROWS));
        }
      });
    // Several statements: all of them or none.
    if (rows.length <= INSERT_BATCH_ROWS && this.#scope.writeLock === undefined) await write(this);
    else await this.transaction((tx) => write(tx as KyselyCatalog));
  }
}

// ---- validation ----

function page(p: Page): { limit: number; offset: number } {
  const limit = p.limit ?? DEFAULT_LIMIT;
  const offset = p.offset ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new StrataError("STRATA_E_USAGE", `limit must be an integer in 1..${MAX_LIMIT}, got ${limit}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new StrataError("STRATA_E_USAGE", `offset must be a non-negative integer, got ${offset}`);
  }
  return { limit, offset };
}

function int64(name: string, value: bigint | number): bigint {
  if (typeof value === "bigint") return value;
  if (!Number.isSafeInteger(value)) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `${name} must be an integer (a bigint beyond 2^53), got ${value}`,
    );
  }
  return BigInt(value);
}

function finiteOrNull(name: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isFinite(value))
    throw new StrataError("STRATA_E_USAGE", `${name} must be finite, got ${value}`);
  return value;
}

function checkSha256(name: string, value: string): void {
  if (!isSha256Hex(value))
    throw new StrataError("STRATA_E_USAGE", `${name} is not a SHA-256 hex digest: ${value}`);
}

function checkMember(name: string, value: string, allowed: ReadonlySet<string>): void {
  if (!allowed.has(value)) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `${name} must be one of ${[...allowed].join(", ")}, got ${value}`,
    );
  }
}

function notFound(what: string, id: string): StrataError {
  return new StrataError("STRATA_E_NOT_FOUND", `no ${what} ${id}`, { id });
}

function schemaRow(schema: NewSchema, captureId: string, seenAtNs: bigint) {
  return {
    schema_hash: computeSchemaHash(schema.encoding, schema.name, schema.definition),
    name: schema.name,
    encoding: schema.encoding,
    definition: schema.definition,
    first_capture_id: captureId,
    last_capture_id: captureId,
    first_seen_ns: seenAtNs,
  };
}

// ---- rows to records ----

function big(value: bigint | number | string): bigint {
  return typeof value === "bigint" ? value : BigInt(value);
}

function bigOrNull(value: bigint | number | string | null): bigint | null {
  return value === null ? null : big(value);
}

function json(text: string): JsonValue {
  return JSON.parse(text) as JsonValue;
}

function jsonOrNull(text: string | null): JsonValue | null {
  return text === null ? null : json(text);
}

function toCapture(r: Selectable<CapturesTable>): CaptureRecord {
  return {
    captureId: r.capture_id,
    sha256: r.sha256,
    format: r.format,
    sizeBytes: big(r.size_bytes),
    startNs: bigOrNull(r.start_ns),
    endNs: bigOrNull(r.end_ns),
    messageCount: big(r.message_count),
    rig: r.rig,
    site: r.site,
    region: r.region,
    status: r.status as CaptureStatus,
    sourcePath: r.source_path,
    ingestedAtNs: big(r.ingested_at_ns),
    provenance: json(r.provenance) as JsonObject,
  };
}

function toCaptureFile(r: Selectable<CaptureFilesTable>): CaptureFileRecord {
  return {
    captureId: r.capture_id,
    ordinal: Number(r.ordinal),
    pathInCapture: r.path_in_capture,
    sha256: r.sha256,
    sizeBytes: big(r.size_bytes),
  };
}

function toTopic(r: Selectable<TopicsTable>): TopicRecord {
  return {
    captureId: r.capture_id,
    topic: r.topic,
    schemaName: r.schema_name,
    messageEncoding: r.message_encoding,
    schemaHash: r.schema_hash,
    messageCount: big(r.message_count),
    firstNs: bigOrNull(r.first_ns),
    lastNs: bigOrNull(r.last_ns),
    meanRateHz: r.mean_rate_hz === null ? null : Number(r.mean_rate_hz),
    maxGapNs: bigOrNull(r.max_gap_ns),
  };
}

function toHistogramBucket(r: Selectable<TopicHistogramTable>): HistogramBucket {
  return {
    captureId: r.capture_id,
    topic: r.topic,
    bucketStartNs: big(r.bucket_start_ns),
    bucketNs: big(r.bucket_ns),
    messageCount: big(r.message_count),
  };
}

function toSchema(r: Selectable<SchemasTable>): SchemaRecord {
  return {
    schemaHash: r.schema_hash,
    name: r.name,
    encoding: r.encoding,
    definition: r.definition,
    firstCaptureId: r.first_capture_id,
    lastCaptureId: r.last_capture_id,
    firstSeenNs: big(r.first_seen_ns),
  };
}

function toRun(r: Selectable<RunsTable>): RunRecord {
  if (!RUN_STATUSES.has(r.status))
    throw new StrataError("STRATA_E_CATALOG", `run ${r.run_id} has status ${r.status}`);
  return {
    runId: r.run_id,
    kind: r.kind,
    status: r.status as RunStatus,
    inputs: json(r.inputs),
    outputs: jsonOrNull(r.outputs),
    params: json(r.params),
    codeVersion: r.code_version,
    startedAtNs: big(r.started_at_ns),
    endedAtNs: bigOrNull(r.ended_at_ns),
    error: jsonOrNull(r.error),
  };
}

function toAuditEvent(r: Selectable<AuditEventsTable>): AuditEvent {
  return {
    eventId: r.event_id,
    seq: big(r.seq),
    actor: r.actor,
    action: r.action,
    target: r.target,
    atNs: big(r.at_ns),
    details: json(r.details) as JsonObject,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

function toToken(r: Selectable<ApiTokensTable>): ApiTokenRecord {
  return {
    tokenId: r.token_id,
    name: r.name,
    role: r.role,
    tokenHash: r.token_hash,
    createdAtNs: big(r.created_at_ns),
    revokedAtNs: bigOrNull(r.revoked_at_ns),
  };
}
