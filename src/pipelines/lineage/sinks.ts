/**
 * Where RunEvents go: a JSONL file (one event per line) and an OpenLineage HTTP endpoint (Marquez:
 * `POST <url>/api/v1/lineage`, one event per request). Lineage is a side channel: a failing sink is
 * reported and logged, never the failure of the run it describes.
 */
import { appendFile, mkdir, open } from "node:fs/promises";
import path from "node:path";
import type { RunRecord } from "../../catalog/index.ts";
import { type OpenLineageOptions, type RunEvent, openLineageEvents } from "./openlineage.ts";

export interface LineageSink {
  /** For logs and reports, e.g. `jsonl:/var/strata/lineage.jsonl`. */
  readonly name: string;
  /** Delivers the events in order; may throw (emitRunEvents catches). */
  emit(events: readonly RunEvent[]): Promise<void>;
}

export type LineageLog = (message: string) => void;

const defaultLog: LineageLog = (message) => {
  process.stderr.write(`strata lineage: ${message}\n`);
};

/**
 * Appends one JSON object per line. Each batch is one `O_APPEND` write of whole lines, serialised within the
 * process, so concurrent emitters never interleave partial lines; if an earlier crash left a torn last
 * line, the batch starts on a fresh line so every complete line stays parseable.
 */
export class JsonlFileSink implements LineageSink {
  readonly name: string;
  readonly file: string;
  #tail: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = path.resolve(file);
    this.name = `jsonl:${this.file}`;
  }

  emit(events: readonly RunEvent[]): Promise<void> {
    const next = this.#tail.then(() => this.#append(events));
    this.#tail = next.catch(() => undefined);
    return next;
  }

  async #append(events: readonly RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    await mkdir(path.dirname(this.file), { recursive: true });
    const text = events.map((e) => `${JSON.stringify(e)}\n`).join("");
    const prefix = (await endsMidLine(this.file)) ? "\n" : "";
    await appendFile(this.file, prefix + text, { encoding: "utf8", flag: "a" });
  }
}

async function endsMidLine(file: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, "r");
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return false;
    throw error;
  } finally {
    await handle?.close();
  }
}

export interface HttpSinkOptions {
  /** Base URL of the OpenLineage server, e.g. `http://localhost:5000` (Marquez); events go to `<url>/api/v1/lineage`. */
  url: string;
  /** Sent as `Authorization: Bearer <apiKey>` when given. */
  apiKey?: string;
  /** Per request (default 5000 ms). */
  timeoutMs?: number;
  /** Where failures are reported (default: stderr). */
  log?: LineageLog;
}

/** Posts each event to an OpenLineage HTTP endpoint. Never throws: failures are logged and counted. */
export class HttpLineageSink implements LineageSink {
  readonly name: string;
  readonly endpoint: string;
  /** Events that could not be delivered since the sink was made. */
  failedCount = 0;
  readonly #options: HttpSinkOptions;

  constructor(options: HttpSinkOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, "")}/api/v1/lineage`;
    this.name = `http:${this.endpoint}`;
    this.#options = options;
  }

  async emit(events: readonly RunEvent[]): Promise<void> {
    const log = this.#options.log ?? defaultLog;
    for (const event of events) {
      try {
        const response = await fetch(this.endpoint, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(this.#options.apiKey === undefined
              ? {}
              : { authorization: `Bearer ${this.#options.apiKey}` }),
          },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(this.#options.timeoutMs ?? 5000),
        });
        if (!response.ok) {
          const body = (await response.text().catch(() => "")).slice(0, 200);
          throw new Error(`HTTP ${response.status}${body === "" ? "" : `: ${body}`}`);
        }
        await response.body?.cancel().catch(() => undefined);
      } catch (error) {
        this.failedCount++;
        const reason =
          error instanceof Error
            ? error.cause instanceof Error
              ? `${error.message} (${error.cause.message})`
              : error.message
            : String(error);
        log(
          `${event.eventType} of run ${event.run.runId} (${event.job.name}) not delivered to ${this.endpoint}: ${reason}`,
        );
      }
    }
  }
}

export interface EmitReport {
  events: RunEvent[];
  /** Sinks that threw, with the reason (HTTP sinks log and count instead of throwing). */
  failures: Array<{ sink: string; error: string }>;
}

/** Builds the run's events (see openLineageEvents) and hands them to every sink; never throws. */
export async function emitRunEvents(
  run: RunRecord,
  sinks: readonly LineageSink[],
  options: OpenLineageOptions & { log?: LineageLog } = {},
): Promise<EmitReport> {
  const events = openLineageEvents(run, options);
  const failures: EmitReport["failures"] = [];
  for (const sink of sinks) {
    try {
      await sink.emit(events);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      failures.push({ sink: sink.name, error: reason });
      (options.log ?? defaultLog)(`sink ${sink.name} failed for run ${run.runId}: ${reason}`);
    }
  }
  return { events, failures };
}
