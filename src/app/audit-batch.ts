/**
 * Group commit for the audit log: events appended close together are chained and written in one
 * transaction with one multi-row insert, so a busy server pays one head read and one commit per batch
 * instead of per request. Each `append` resolves only once its event is committed, so a caller that
 * answers after awaiting it never answers an unaudited request. The chain is the catalog's own:
 * `computeAuditHash(prevHash, event)` from the head read inside the write transaction, exactly as
 * `Catalog.appendAudit` does (verifyAuditChain checks batches like any other events).
 */
import { AUDIT_GENESIS_HASH, computeAuditHash, type JsonObject } from "../catalog/index.ts";
import { canonicalJson, newId, nowNs } from "../core/index.ts";
import type { Strata } from "./strata.ts";

export interface AuditInput {
  actor: string;
  action: string;
  target: string;
  details?: JsonObject;
}

export interface AuditBatcher {
  append(event: AuditInput): Promise<void>;
  /** Resolves when everything appended so far is committed. */
  flush(): Promise<void>;
}

interface Pending {
  event: AuditInput & { atNs: bigint };
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function createAuditBatcher(strata: Strata, options: { maxBatch?: number } = {}): AuditBatcher {
  const maxBatch = options.maxBatch ?? 256;
  let queue: Pending[] = [];
  let writing: Promise<void> | undefined;

  const writeBatch = async (batch: Pending[]): Promise<void> => {
    await strata.catalog.transaction(async (tx) => {
      if (tx.dialect === "postgres") {
        // PostgreSQL: the catalog's appendAudit takes the table lock that serialises appenders.
        for (const { event } of batch) await tx.appendAudit(event);
        return;
      }
      // SQLite: the transaction holds the write lock (BEGIN IMMEDIATE) for the head read and the insert.
      const head = await tx.db
        .selectFrom("audit_events")
        .select("hash")
        .orderBy("seq", "desc")
        .limit(1)
        .executeTakeFirst();
      let prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
      const rows = batch.map(({ event }) => {
        const fields = {
          eventId: newId("evt"),
          actor: event.actor,
          action: event.action,
          target: event.target,
          atNs: event.atNs,
          details: JSON.parse(canonicalJson(event.details ?? {})) as JsonObject,
        };
        const hash = computeAuditHash(prevHash, fields);
        const row = {
          event_id: fields.eventId,
          actor: fields.actor,
          action: fields.action,
          target: fields.target,
          at_ns: fields.atNs,
          details: canonicalJson(fields.details),
          prev_hash: prevHash,
          hash,
        };
        prevHash = hash;
        return row;
      });
      await tx.db.insertInto("audit_events").values(rows).execute();
    });
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        await writeBatch(batch);
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error);
      }
    }
  };

  const schedule = (): void => {
    if (writing) return;
    writing = new Promise<void>((resolve) => setImmediate(resolve)).then(drain).finally(() => {
      writing = undefined;
      if (queue.length > 0) schedule();
    });
  };

  return {
    append(event) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ event: { ...event, atNs: nowNs() }, resolve, reject });
        schedule();
      });
    },
    async flush() {
      while (writing || queue.length > 0) {
        schedule();
        await writing;
      }
    },
  };
}
