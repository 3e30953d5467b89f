/**
 * Export, replay and portability at the app level: resolves captures, wires the blob store and catalog
 * into the export pipelines, and records lineage (a run per export, with inputs, outputs, params and
 * code version) and an audit event for every export, replay and import.
 */
import path from "node:path";
import type { JsonObject, JsonValue } from "../catalog/index.ts";
import { StrataError, toStrataError } from "../core/index.ts";
import { readLogLayout } from "../formats/index.ts";
import {
  type BundleExportResult,
  type BundleImportResult,
  type BundleScope,
  describeWindowPlan,
  executeWindowExport,
  exportBundle,
  importBundle,
  type LegacyIngestOutcome,
  type LegacyPlan,
  parseWindowBound,
  planLegacyImport,
  planWindowExport,
  type ReplayServer,
  runLegacyImport,
  startReplay,
  storedCapturePath,
  type WindowExportFormat,
  type WindowExportPlan,
  type WindowExportResult,
} from "../pipelines/index.ts";
import { requireCapture } from "./present.ts";
import type { Strata } from "./strata.ts";

export interface CaptureWindowRequest {
  /** Capture id (`cap_…`) or full SHA-256. */
  capture: string;
  /** Inclusive bounds: ns since the epoch, or `+DURATION` from the capture's start (`+10s`). Default: whole capture. */
  start?: string;
  end?: string;
  topics?: readonly string[];
}

export interface WindowExportAppRequest extends CaptureWindowRequest {
  format: WindowExportFormat;
  out: string;
  compression?: "zstd" | "lz4" | "none";
  /** Also write the last message before the window of each latched topic (see WindowExportRequest). */
  includeLatched?: boolean;
  /** Who asked (audit); default `cli:$USER`. */
  actor?: string;
}

export interface WindowExportOutcome {
  plan: WindowExportPlan;
  result: WindowExportResult;
  runId: string;
}

function defaultActor(): string {
  return `cli:${process.env.USER ?? "local"}`;
}

/** Plans a window export without reading any message (`--explain`). */
export async function planCaptureExport(
  strata: Strata,
  request: WindowExportAppRequest,
): Promise<WindowExportPlan> {
  const capture = await requireCapture(strata, request.capture);
  const source = await storedCapturePath(sourceDeps(strata), capture);
  try {
    const layout = await readLogLayout(source.path);
    return planWindowExport(capture, layout, {
      format: request.format,
      startNs: request.start === undefined ? undefined : parseWindowBound(request.start, capture.startNs),
      endNs: request.end === undefined ? undefined : parseWindowBound(request.end, capture.startNs),
      topics: request.topics,
      outPath: path.resolve(request.out),
      compression: request.compression,
      includeLatched: request.includeLatched,
    });
  } finally {
    await source.release();
  }
}

/** Writes a trimmed MCAP file or ROS 1 bag of a capture's window and records the run. */
export async function exportCaptureWindow(
  strata: Strata,
  request: WindowExportAppRequest,
): Promise<WindowExportOutcome> {
  const capture = await requireCapture(strata, request.capture);
  const source = await storedCapturePath(sourceDeps(strata), capture);
  try {
    const layout = await readLogLayout(source.path);
    const plan = planWindowExport(capture, layout, {
      format: request.format,
      startNs: request.start === undefined ? undefined : parseWindowBound(request.start, capture.startNs),
      endNs: request.end === undefined ? undefined : parseWindowBound(request.end, capture.startNs),
      topics: request.topics,
      outPath: path.resolve(request.out),
      compression: request.compression,
      includeLatched: request.includeLatched,
    });
    const run = await strata.catalog.startRun({
      kind: `export.${plan.format}`,
      inputs: [
        {
          captureId: capture.captureId,
          sha256: capture.sha256,
          startNs: plan.window.startNs.toString(),
          endNs: plan.window.endNs.toString(),
          topics: plan.topics,
        },
      ],
      params: {
        format: plan.format,
        profile: plan.output.profile,
        compression: plan.output.compression,
        allTopics: plan.allTopics,
        latchedTopics: plan.latchedTopics,
      },
      codeVersion: strata.codeVersion,
    });
    let result: WindowExportResult;
    try {
      result = await executeWindowExport(plan, { logPath: source.path, layout });
    } catch (error) {
      const e = toStrataError(error);
      await strata.catalog.finishRun(run.runId, {
        status: "failed",
        error: e.toJSON() as unknown as JsonValue,
      });
      throw e;
    }
    await strata.catalog.finishRun(run.runId, {
      status: "completed",
      outputs: [
        {
          path: result.path,
          sha256: result.sha256,
          sizeBytes: result.sizeBytes,
          format: plan.format,
          messageCount: result.messageCount,
          firstLogTimeNs: result.firstLogTimeNs?.toString() ?? null,
          lastLogTimeNs: result.lastLogTimeNs?.toString() ?? null,
        },
      ],
    });
    await strata.catalog.appendAudit({
      actor: request.actor ?? defaultActor(),
      action: `capture.export.${plan.format}`,
      target: capture.captureId,
      details: {
        runId: run.runId,
        path: result.path,
        sha256: result.sha256,
        startNs: plan.window.startNs.toString(),
        endNs: plan.window.endNs.toString(),
        topics: plan.topics,
        messageCount: result.messageCount,
      },
    });
    return { plan, result, runId: run.runId };
  } finally {
    await source.release();
  }
}

export { describeWindowPlan };

export interface ReplayAppRequest extends CaptureWindowRequest {
  rate?: number;
  host?: string;
  port?: number;
  loop?: boolean;
  autoplay?: boolean;
  actor?: string;
}

/** Serves a capture's window over the Foxglove WebSocket protocol until `close()`. */
export async function replayCapture(strata: Strata, request: ReplayAppRequest): Promise<ReplayServer> {
  const capture = await requireCapture(strata, request.capture);
  if (capture.startNs === null || capture.endNs === null) {
    throw new StrataError("STRATA_E_USAGE", `capture ${capture.captureId} has no messages to replay`);
  }
  const source = await storedCapturePath(sourceDeps(strata), capture);
  let server: ReplayServer;
  try {
    const layout = await readLogLayout(source.path);
    const startNs =
      request.start === undefined ? capture.startNs : parseWindowBound(request.start, capture.startNs);
    const endNs = request.end === undefined ? capture.endNs : parseWindowBound(request.end, capture.startNs);
    if (request.topics && request.topics.length > 0) {
      const known = new Set(layout.channels.map((c) => c.topic));
      const unknown = request.topics.filter((t) => !known.has(t));
      if (unknown.length > 0) {
        throw new StrataError(
          "STRATA_E_USAGE",
          `capture ${capture.captureId} has no topic ${unknown.join(", ")}`,
        );
      }
    }
    server = await startReplay({
      logPath: source.path,
      layout,
      startNs,
      endNs,
      topics: request.topics,
      rate: request.rate,
      host: request.host,
      port: request.port,
      loop: request.loop,
      autoplay: request.autoplay,
      name: `strata replay ${capture.captureId}`,
      metadata: { captureId: capture.captureId, sha256: capture.sha256 },
    });
    await strata.catalog.appendAudit({
      actor: request.actor ?? defaultActor(),
      action: "capture.replay",
      target: capture.captureId,
      details: {
        url: server.url,
        startNs: startNs.toString(),
        endNs: endNs.toString(),
        rate: request.rate ?? 1,
        topics: [...(request.topics ?? [])],
      },
    });
  } catch (error) {
    await source.release();
    throw error;
  }
  const replay = server;
  return {
    url: replay.url,
    port: replay.port,
    finished: replay.finished,
    state: () => replay.state(),
    play: () => replay.play(),
    pause: () => replay.pause(),
    seek: (positionNs) => replay.seek(positionNs),
    setRate: (rate) => replay.setRate(rate),
    close: async () => {
      await replay.close();
      await source.release();
    },
  };
}

export interface BundleExportAppRequest {
  out: string;
  /** Dataset names; omitted or empty = everything (`--all`). */
  datasets?: readonly string[];
  actor?: string;
}

export interface BundleExportOutcome extends BundleExportResult {
  runId: string;
}

/** Writes a portability bundle and records the run (after the snapshot, so the bundle is reproducible). */
export async function exportHomeBundle(
  strata: Strata,
  request: BundleExportAppRequest,
): Promise<BundleExportOutcome> {
  const scope: BundleScope =
    request.datasets && request.datasets.length > 0
      ? { kind: "datasets", datasets: [...request.datasets] }
      : { kind: "all" };
  const startedAtNs = BigInt(Date.now()) * 1_000_000n;
  const result = await exportBundle(
    { catalog: strata.catalog, blobs: strata.blobs },
    { outDir: request.out, scope },
  );
  const run = await strata.catalog.startRun({
    kind: "export.bundle",
    inputs:
      scope.kind === "all" ? [{ home: strata.config.home }] : scope.datasets.map((dataset) => ({ dataset })),
    params: { scope: scope as unknown as JsonObject },
    codeVersion: strata.codeVersion,
    startedAtNs,
  });
  await strata.catalog.finishRun(run.runId, {
    status: "completed",
    outputs: [
      {
        path: result.dir,
        manifestSha256: result.manifestSha256,
        blobs: result.manifest.blobs.length,
        totalBytes: result.totalBytes,
        tables: Object.fromEntries(result.manifest.tables.map((t) => [t.name, t.rows])),
      },
    ],
  });
  await strata.catalog.appendAudit({
    actor: request.actor ?? defaultActor(),
    action: "bundle.export",
    target: result.dir,
    details: {
      runId: run.runId,
      manifestSha256: result.manifestSha256,
      scope: scope as unknown as JsonObject,
    },
  });
  return { ...result, runId: run.runId };
}

/** Restores a bundle into this (empty) home. */
export async function importHomeBundle(
  strata: Strata,
  request: { dir: string },
): Promise<BundleImportResult> {
  return importBundle({ catalog: strata.catalog, blobs: strata.blobs }, { dir: request.dir });
}

export interface LegacyImportAppRequest {
  dir: string;
  /** Used when the sidecar names none. */
  rig?: string;
  site?: string;
  region?: string;
  actor?: string;
}

export interface LegacyImportOutcome {
  plan: LegacyPlan;
  outcomes: LegacyIngestOutcome[];
  runId: string;
}

/** Ingests a directory of legacy logs with their provenance sidecar. */
export async function importLegacyDirectory(
  strata: Strata,
  request: LegacyImportAppRequest,
): Promise<LegacyImportOutcome> {
  const plan = await planLegacyImport(request.dir);
  const actor = request.actor ?? defaultActor();
  const run = await strata.catalog.startRun({
    kind: "import.legacy",
    inputs: plan.items.map((item) => ({
      path: item.path,
      originalPath: item.provenance.originalPath,
      sourceSystem: item.provenance.sourceSystem,
      sidecars: item.provenance.sidecars,
    })),
    params: { rig: request.rig ?? null, site: request.site ?? null, region: request.region ?? null },
    codeVersion: strata.codeVersion,
  });
  const outcomes = await runLegacyImport(plan, (item, provenance) =>
    strata.ingest(item.path, {
      rig: item.rig ?? request.rig,
      site: item.site ?? request.site,
      region: request.region,
      provenance,
      actor,
    }),
  );
  const failed = outcomes.filter((o) => o.status === "failed");
  await strata.catalog.finishRun(run.runId, {
    status: failed.length === 0 ? "completed" : "failed",
    outputs: outcomes.map((o) => ({
      name: o.name,
      status: o.status,
      captureId: o.captureId ?? null,
      sha256: o.sha256 ?? null,
    })),
    ...(failed.length === 0 ? {} : { error: { failed: failed.map((o) => ({ name: o.name, ...o.error })) } }),
  });
  await strata.catalog.appendAudit({
    actor,
    action: "import.legacy",
    target: plan.dir,
    details: {
      runId: run.runId,
      ingested: outcomes.filter((o) => o.status === "ingested").length,
      alreadyIngested: outcomes.filter((o) => o.status === "already-ingested").length,
      failed: failed.length,
    },
  });
  return { plan, outcomes, runId: run.runId };
}

function sourceDeps(strata: Strata) {
  return { catalog: strata.catalog, blobs: strata.blobs, tempDir: path.join(strata.config.home, "tmp") };
}
