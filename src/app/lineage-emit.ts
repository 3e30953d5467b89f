/**
 * OpenLineage emission for every run, in one place: `withRunEvents` wraps the catalog so that each
 * `finishRun` (ingest, qa, scenes, dataset, materialize, export, …) is followed by the run's START and
 * COMPLETE/FAIL events. A run finished inside a transaction is emitted after that transaction commits (and
 * never when it rolls back). Sinks come from `config.json` `{"openlineage": {"jsonl": …, "url": …}}`;
 * the default is the JSONL file `$STRATA_HOME/lineage/openlineage.jsonl`. Lineage is a side channel:
 * emission failures are logged, never the failure of the run.
 */
import path from "node:path";
import type { Catalog, RunOutcome, RunRecord } from "../catalog/index.ts";
import {
  emitRunEvents,
  HttpLineageSink,
  JsonlFileSink,
  type LineageLog,
  type LineageSink,
  loadCaptureDatasetInfo,
} from "../pipelines/index.ts";
import type { StrataConfig } from "./config.ts";

export const DEFAULT_OPENLINEAGE_JSONL = path.join("lineage", "openlineage.jsonl");

/** The sinks a configuration asks for (JSONL relative to the home). */
export function lineageSinksOf(config: Pick<StrataConfig, "home" | "openlineage">): LineageSink[] {
  const ol = config.openlineage ?? {};
  const sinks: LineageSink[] = [];
  const jsonl = ol.jsonl === undefined ? DEFAULT_OPENLINEAGE_JSONL : ol.jsonl;
  if (jsonl !== null && jsonl !== "") sinks.push(new JsonlFileSink(path.resolve(config.home, jsonl)));
  if (typeof ol.url === "string" && ol.url !== "") {
    sinks.push(
      new HttpLineageSink({ url: ol.url, ...(ol.apiKey === undefined ? {} : { apiKey: ol.apiKey }) }),
    );
  }
  return sinks;
}

export interface RunEventsOptions {
  /** Dataset namespace `strata://<instance>` (default `local`). */
  instance?: string;
  log?: LineageLog;
}

/** The catalog, with every finished run emitted to `sinks` (returns `catalog` itself when there are none). */
export function withRunEvents(
  catalog: Catalog,
  sinks: readonly LineageSink[],
  options: RunEventsOptions = {},
): Catalog {
  if (sinks.length === 0) return catalog;
  const log = options.log ?? ((message: string) => process.stderr.write(`strata lineage: ${message}\n`));
  const emit = async (runIds: readonly string[]): Promise<void> => {
    for (const runId of runIds) {
      try {
        const run = await catalog.getRun(runId);
        if (run === undefined) continue;
        const captures = await loadCaptureDatasetInfo(run, { catalog });
        await emitRunEvents(run, sinks, {
          captures,
          log,
          ...(options.instance === undefined ? {} : { instance: options.instance }),
        });
      } catch (error) {
        log(`run ${runId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  return wrap(catalog, emit, null);
}

/** `pending` is null outside a transaction, else the runs finished in it so far. */
function wrap(
  target: Catalog,
  emit: (runIds: readonly string[]) => Promise<void>,
  pending: string[] | null,
): Catalog {
  const finishRun = async (runId: string, outcome: RunOutcome): Promise<RunRecord> => {
    const record = await target.finishRun(runId, outcome);
    if (pending === null) await emit([runId]);
    else pending.push(runId);
    return record;
  };
  const transaction = async <T>(fn: (tx: Catalog) => Promise<T>): Promise<T> => {
    if (pending !== null) return target.transaction((tx) => fn(wrap(tx, emit, pending)));
    const finished: string[] = [];
    const result = await target.transaction((tx) => fn(wrap(tx, emit, finished)));
    await emit(finished);
    return result;
  };
  return new Proxy(target, {
    get(object, property) {
      if (property === "finishRun") return finishRun;
      if (property === "transaction") return transaction;
      const value: unknown = Reflect.get(object, property, object);
      // Methods run on the real catalog (its private fields are not reachable through a proxy).
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
