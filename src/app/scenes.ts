/**
 * Scenes, scenario search and edge-case mining at the app level. This file owns the scene index's place:
 * LanceDB tables under `$STRATA_HOME/search` (the one place that chooses it). It wires the catalog, the
 * blob store and the registry's stored trajectories into the scenes pipeline, records a lineage run
 * (`scenes`) and an audit event per capture built, and keeps quarantined captures out of results unless asked.
 */
import { createReadStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { CaptureRecord, JsonObject, JsonValue } from "../catalog/index.ts";
import { StrataError, toStrataError } from "../core/index.ts";
import { openLog } from "../formats/index.ts";
import {
  BUILTIN_EMBEDDER_NAME,
  BUILTIN_EMBEDDING_DIM,
  buildCaptureScenes,
  type CaptureScenes,
  capturesWithScenes,
  type Embedder,
  latestQaResult,
  listCaptureMetrics,
  listCaptureScenes,
  type MinedScene,
  rankEdgeCases,
  type SceneOptions,
  type StoredEgoTrajectory,
  type StoredScene,
  storedCapturePath,
  writeCaptureScenes,
} from "../pipelines/index.ts";
import {
  type ExplainResult,
  emptyPlan,
  openSceneIndex,
  parseQuery,
  type QueryPlan,
  type SceneHit,
  type SceneIndex,
  searchDir,
} from "../search/index.ts";
import { requireCapture } from "./present.ts";
import { trajectoryOf } from "./registry.ts";
import type { IngestRequest, Strata } from "./strata.ts";

const indexes = new WeakMap<Strata, Promise<SceneIndex>>();

/** The scene index of this Strata home (opened once per handle; close with `closeSceneIndex`). */
export function sceneIndexOf(strata: Strata): Promise<SceneIndex> {
  let index = indexes.get(strata);
  if (!index) {
    index = openSceneIndex({ dir: searchDir(strata.config.home), vectorDim: BUILTIN_EMBEDDING_DIM });
    indexes.set(strata, index);
    index.catch(() => indexes.delete(strata));
  }
  return index;
}

export async function closeSceneIndex(strata: Strata): Promise<void> {
  const index = indexes.get(strata);
  if (!index) return;
  indexes.delete(strata);
  await (await index).close();
}

function defaultActor(): string {
  return `cli:${process.env.USER ?? "local"}`;
}

export interface BuildScenesRequest {
  /** A capture id or SHA-256; all ready and quarantined captures when omitted. */
  capture?: string;
  options?: SceneOptions;
  /** Further embedders whose vectors are attached as named sets. */
  extraEmbedders?: readonly Embedder[];
  actor?: string;
}

export interface SceneBuildOutcome {
  captureId: string;
  runId: string;
  sceneCount: number;
  /** Detected events by kind. */
  events: Record<string, number>;
  egoSource: string | null;
  quarantined: boolean;
  durationMs: number;
  warnings: string[];
}

async function storedEgo(strata: Strata, captureId: string): Promise<StoredEgoTrajectory | undefined> {
  try {
    const stored = await trajectoryOf(strata, captureId);
    if (stored.trajectory.timestampsSecs.length < 2) return undefined;
    return { source: stored.source, frame: stored.frame, trajectory: stored.trajectory };
  } catch (error) {
    if (toStrataError(error).code === "STRATA_E_NOT_FOUND") return undefined;
    throw error;
  }
}

async function storedMetrics(
  strata: Strata,
  captureId: string,
): Promise<{ ateRmseM: number; rpeRmseM: number } | undefined> {
  const [best] = await listCaptureMetrics(strata.catalog, { captureId, limit: 1 });
  return best ? { ateRmseM: best.ape.rmse, rpeRmseM: best.rpe.rmse } : undefined;
}

async function sceneQa(strata: Strata, captureId: string) {
  const result = await latestQaResult(strata.catalog, captureId);
  return result ? { verdict: result.verdict, reasons: result.reasons } : undefined;
}

/** Builds (or rebuilds) the scenes of one capture: catalog rows, index rows, graphs; one `scenes` run. */
async function buildOne(
  strata: Strata,
  capture: CaptureRecord,
  request: BuildScenesRequest,
  index: SceneIndex,
): Promise<SceneBuildOutcome> {
  const startedMs = performance.now();
  const quarantined = capture.status === "quarantined";
  const run = await strata.catalog.startRun({
    kind: "scenes",
    inputs: [{ captureId: capture.captureId, sha256: capture.sha256 }],
    params: {
      options: (request.options ?? {}) as unknown as JsonObject,
      embedder: BUILTIN_EMBEDDER_NAME,
      vectorDim: BUILTIN_EMBEDDING_DIM,
    },
    codeVersion: strata.codeVersion,
  });
  let built: CaptureScenes;
  try {
    if (capture.startNs === null || capture.endNs === null) {
      throw new StrataError(
        "STRATA_E_UNSUPPORTED",
        `capture ${capture.captureId} has no messages; it has no scenes`,
      );
    }
    const source = await storedCapturePath(
      { catalog: strata.catalog, blobs: strata.blobs, tempDir: path.join(strata.config.home, "tmp") },
      capture,
    );
    try {
      const reader = await openLog(source.path);
      try {
        const [ego, metrics, qa] = await Promise.all([
          storedEgo(strata, capture.captureId),
          storedMetrics(strata, capture.captureId),
          sceneQa(strata, capture.captureId),
        ]);
        built = await buildCaptureScenes({
          capture: {
            captureId: capture.captureId,
            startNs: capture.startNs,
            endNs: capture.endNs,
            site: capture.site,
            rig: capture.rig,
            quarantined,
          },
          reader,
          ...(ego ? { storedEgo: ego } : {}),
          ...(metrics ? { metrics } : {}),
          ...(qa ? { qa } : {}),
          ...(request.options ? { options: request.options } : {}),
        });
      } finally {
        await reader.close();
      }
    } finally {
      await source.release();
    }
    await writeCaptureScenes({ index, catalog: strata.catalog }, built, {
      runId: run.runId,
      ...(request.extraEmbedders ? { extraEmbedders: request.extraEmbedders } : {}),
    });
  } catch (error) {
    const e = toStrataError(error, { captureId: capture.captureId });
    await strata.catalog.finishRun(run.runId, {
      status: "failed",
      error: e.toJSON() as unknown as JsonValue,
    });
    throw e;
  }
  const events: Record<string, number> = {};
  for (const event of built.events) events[event.kind] = (events[event.kind] ?? 0) + 1;
  await strata.catalog.finishRun(run.runId, {
    status: "completed",
    outputs: [
      {
        captureId: capture.captureId,
        sceneIds: built.scenes.map((s) => s.row.sceneId),
        events,
        egoSource: built.egoSource,
        counts: built.counts,
        warnings: built.warnings,
      },
    ],
  });
  await strata.catalog.appendAudit({
    actor: request.actor ?? defaultActor(),
    action: "scenes.build",
    target: capture.captureId,
    details: { runId: run.runId, scenes: built.scenes.length, quarantined },
  });
  return {
    captureId: capture.captureId,
    runId: run.runId,
    sceneCount: built.scenes.length,
    events,
    egoSource: built.egoSource,
    quarantined,
    durationMs: Math.round(performance.now() - startedMs),
    warnings: built.warnings,
  };
}

async function allCaptures(strata: Strata): Promise<CaptureRecord[]> {
  const out: CaptureRecord[] = [];
  for (let offset = 0; ; offset += 10_000) {
    const page = await strata.catalog.listCaptures({ limit: 10_000, offset });
    out.push(...page);
    if (page.length < 10_000) return out;
  }
}

/** `strata scenes build [CAPTURE]`: one capture, or every ready and quarantined capture. */
export async function buildScenes(
  strata: Strata,
  request: BuildScenesRequest = {},
): Promise<SceneBuildOutcome[]> {
  const index = await sceneIndexOf(strata);
  const captures = request.capture
    ? [await requireCapture(strata, request.capture)]
    : (await allCaptures(strata)).filter(
        (c) => (c.status === "ready" || c.status === "quarantined") && c.startNs !== null,
      );
  if (
    request.capture &&
    captures[0] &&
    captures[0].status !== "ready" &&
    captures[0].status !== "quarantined"
  ) {
    throw new StrataError(
      "STRATA_E_CONFLICT",
      `capture ${captures[0].captureId} is ${captures[0].status}; scenes need a ready or quarantined capture`,
    );
  }
  const outcomes: SceneBuildOutcome[] = [];
  for (const capture of captures) outcomes.push(await buildOne(strata, capture, request, index));
  return outcomes;
}

/** `strata scenes list CAPTURE`: the capture's scenes from the catalog, in time order. */
export async function listScenes(strata: Strata, captureIdOrSha: string): Promise<StoredScene[]> {
  const capture = await requireCapture(strata, captureIdOrSha);
  return listCaptureScenes(strata.catalog, capture.captureId);
}

/** Sets the index's quarantine flag of every capture with scenes (or one) from the catalog's status. */
export async function syncSceneQuarantine(strata: Strata, captureId?: string): Promise<number> {
  const index = await sceneIndexOf(strata);
  const ids = captureId ? [captureId] : await capturesWithScenes(strata.catalog);
  let changed = 0;
  for (const id of ids) {
    const capture = await strata.catalog.getCapture(id);
    if (capture) changed += await index.setQuarantined(id, capture.status === "quarantined");
  }
  return changed;
}

export interface SearchScenesRequest {
  /** The text form (`SEARCH_QUERY_HELP`). */
  query: string;
  /** Overrides the query's `limit:`. */
  limit?: number;
  includeQuarantined?: boolean;
  explain?: boolean;
}

export interface SearchScenesResult {
  plan: QueryPlan;
  hits: SceneHit[];
  explain?: ExplainResult;
  latencyMs: number;
}

export async function searchScenes(
  strata: Strata,
  request: SearchScenesRequest,
): Promise<SearchScenesResult> {
  const plan = parseQuery(request.query);
  if (request.limit !== undefined) plan.limit = request.limit;
  if (request.includeQuarantined) plan.includeQuarantined = true;
  const index = await sceneIndexOf(strata);
  const startedMs = performance.now();
  const hits = await index.query(plan).toArray();
  const latencyMs = performance.now() - startedMs;
  const result: SearchScenesResult = { plan, hits, latencyMs: Number(latencyMs.toFixed(3)) };
  if (request.explain) result.explain = await index.explain(plan);
  return result;
}

export interface MineRequest {
  /** Default 20. */
  top?: number;
  /** Neighbours for rarity. Default 10. */
  k?: number;
  includeQuarantined?: boolean;
  /** Rarity in a bring-your-own-model vector set instead of the built-in one. */
  embedder?: string;
}

/** `strata mine`: rule miners + rarity over every indexed scene. */
export async function mineScenes(strata: Strata, request: MineRequest = {}): Promise<MinedScene[]> {
  const index = await sceneIndexOf(strata);
  const plan = { ...emptyPlan(), includeQuarantined: request.includeQuarantined === true };
  const scenes = await index.query(plan).toArray();
  const rarity =
    scenes.length > 1
      ? await index.rarity("all", {
          k: Math.min(request.k ?? 10, scenes.length - 1),
          includeQuarantined: request.includeQuarantined === true,
          ...(request.embedder ? { embedder: request.embedder } : {}),
        })
      : [];
  return rankEdgeCases(scenes, rarity, { top: request.top ?? 20 });
}

export interface AttachVectorsRequest {
  /** JSON Lines: one `{"sceneId": "...", "vector": [numbers]}` per line. */
  file: string;
  /** The vector set's name (lowercase letters, digits, _). */
  embedder: string;
  actor?: string;
}

/** `strata scenes attach-vectors FILE.jsonl --embedder NAME`: bring your own model's vectors. */
export async function attachSceneVectors(
  strata: Strata,
  request: AttachVectorsRequest,
): Promise<{ embedder: string; attached: number }> {
  const index = await sceneIndexOf(strata);
  const file = path.resolve(request.file);
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let batch: Array<{ sceneId: string; vector: number[] }> = [];
  let attached = 0;
  let lineNumber = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await index.attachVectors(request.embedder, batch);
    attached += batch.length;
    batch = [];
  };
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === "") continue;
      let row: { sceneId?: unknown; vector?: unknown };
      try {
        row = JSON.parse(line) as typeof row;
      } catch {
        throw new StrataError("STRATA_E_USAGE", `${file}:${lineNumber}: not JSON`, { file });
      }
      if (
        typeof row.sceneId !== "string" ||
        !Array.isArray(row.vector) ||
        !row.vector.every((v) => typeof v === "number")
      ) {
        throw new StrataError(
          "STRATA_E_USAGE",
          `${file}:${lineNumber}: expected {"sceneId": string, "vector": [numbers]}`,
          { file },
        );
      }
      batch.push({ sceneId: row.sceneId, vector: row.vector as number[] });
      if (batch.length >= 1000) await flush();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new StrataError("STRATA_E_FILE_NOT_FOUND", `no file ${file}`, { file });
    }
    throw error;
  }
  await flush();
  await strata.catalog.appendAudit({
    actor: request.actor ?? defaultActor(),
    action: "scenes.attach-vectors",
    target: request.embedder,
    details: { file, attached },
  });
  return { embedder: request.embedder, attached };
}

/** Set `STRATA_SCENES_ON_INGEST=1` to build a capture's scenes right after `ingestWithScenes` ingests it. */
export const SCENES_ON_INGEST_ENV = "STRATA_SCENES_ON_INGEST";

export function scenesOnIngestEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[SCENES_ON_INGEST_ENV] === "1" || env[SCENES_ON_INGEST_ENV] === "true";
}

/** Ingests one capture and, when `buildScenes` (default: `$STRATA_SCENES_ON_INGEST`), builds its scenes. */
export async function ingestWithScenes(
  strata: Strata,
  file: string,
  request: IngestRequest & { buildScenes?: boolean; sceneOptions?: SceneOptions } = {},
) {
  const { buildScenes: build = scenesOnIngestEnabled(), sceneOptions, ...ingestRequest } = request;
  const result = await strata.ingest(file, ingestRequest);
  const scenes = build
    ? await buildScenes(strata, {
        capture: result.captureId,
        ...(sceneOptions ? { options: sceneOptions } : {}),
        ...(ingestRequest.actor ? { actor: ingestRequest.actor } : {}),
      })
    : [];
  return { ingest: result, scenes };
}

/** The query language and formatters of the search part, for the CLI and server (which may not import it). */
export {
  SEARCH_QUERY_HELP as SCENE_QUERY_HELP,
  formatExplain as formatSceneExplain,
  formatQuery as formatSceneQuery,
} from "../search/index.ts";
