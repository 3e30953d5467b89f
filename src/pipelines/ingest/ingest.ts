/**
 * Ingest: one pass over the input's bytes stores them content-addressed (hashing on the way, on a worker
 * thread for large files) while the input is indexed through the format's own indexes (per-topic stats
 * without decoding payloads where the format allows) and analysed; if the input changed meanwhile, the
 * stored copy is analysed instead. All catalog rows of a capture, its lineage run and its audit event commit in
 * one transaction at the end, so a crash leaves either nothing or one complete capture.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { Catalog, CaptureRecord, JsonObject } from "../../catalog/index.ts";
import {
  StrataError,
  canonicalJson,
  captureIdFromSha256,
  nowNs,
  sha256Hex,
  type Sha256Hex,
} from "../../core/index.ts";
import { type LogReader, type LogSummary, openLog } from "../../formats/index.ts";
import type { BlobStore, StagedBlob } from "../../storage/index.ts";
import { StatsAccumulator, type CaptureStats } from "./stats.ts";

export interface IngestOptions {
  rig?: string;
  site?: string;
  region?: string;
  /** Who asked (recorded in the audit log), e.g. `cli:alice` or `token:ci`. */
  actor: string;
  /** Free-form provenance kept with the capture (legacy import: source system, operator, …). */
  provenance?: JsonObject;
  /** Called as bytes are stored: (bytes done, bytes total). */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface IngestDeps {
  catalog: Catalog;
  blobs: BlobStore;
  codeVersion: string;
  /** Run in order on every new capture before its rows commit (registry, QA, …). */
  analyzers?: readonly CaptureAnalyzer[];
}

/**
 * What an analyzer sees of the capture being ingested. Analyzers run while the bytes are still being stored
 * (so the capture's id is not known yet; `commit` receives it).
 */
export interface AnalyzerContext {
  /** The open reader of the capture: analyzers read (and decode) the topics they need. */
  reader: LogReader;
  summary: LogSummary;
  stats: CaptureStats;
  options: IngestOptions;
  catalog: Catalog;
  /** Results of the analyzers that ran before this one, by name. */
  earlier: ReadonlyMap<string, AnalyzerResult>;
}

export interface AnalyzerResult {
  /** Writes the analyzer's rows inside the capture's transaction (all or nothing with the capture). */
  commit?(tx: Catalog, captureId: string): Promise<void>;
  /** `quarantined` holds the capture back from search and datasets until a steward overrides. */
  status?: "ready" | "quarantined";
  warnings?: string[];
  /** Summarised in the ingest run's outputs (lineage). */
  outputs?: JsonObject;
  /** Anything later analyzers may use (e.g. calibration drift for QA). */
  data?: unknown;
}

/**
 * A step of ingest that derives more from a capture (calibration, ego-motion, QA verdicts, …).
 * It reads before the commit and writes inside the commit's transaction.
 */
export interface CaptureAnalyzer {
  readonly name: string;
  analyze(context: AnalyzerContext): Promise<AnalyzerResult>;
}

export interface IngestedTopic {
  topic: string;
  schemaName: string;
  messageEncoding: string;
  messageCount: number;
  firstTimeNs: bigint | null;
  lastTimeNs: bigint | null;
}

export interface IngestResult {
  captureId: string;
  sha256: Sha256Hex;
  /** false when these bytes were already a capture (nothing new was written). */
  created: boolean;
  format: string;
  messageCount: number;
  topics: IngestedTopic[];
  warnings: string[];
}

interface StoredFile {
  pathInCapture: string;
  sha256: Sha256Hex;
  sizeBytes: number;
}

export async function ingestPath(
  inputPath: string,
  options: IngestOptions,
  deps: IngestDeps,
): Promise<IngestResult> {
  const absolutePath = path.resolve(inputPath);
  const startedAtNs = nowNs();
  const { files, isDirectory } = await listCaptureFiles(absolutePath);
  const totalBytes = files.reduce((sum, f) => sum + f.sizeBytes, 0);
  if (totalBytes === 0 && !isDirectory) {
    throw new StrataError("STRATA_E_EMPTY_FILE", undefined, { file: absolutePath });
  }

  // 1. Take in every byte once, hashing on the way (large files on a worker thread), and meanwhile read the
  //    source through its own indexes and run the analyzers. The staged bytes become durable in the
  //    background and get their blob names just before the catalog commit.
  const identitiesBefore = await fileIdentities(files);
  const stopStaging = new AbortController();
  const staging = stageFiles(files, totalBytes, options, deps.blobs, stopStaging.signal);
  let analysis: Analysis;
  try {
    analysis = await analyse(absolutePath, absolutePath, options, deps);
  } catch (error) {
    stopStaging.abort(error);
    await staging.then(discardAll, noop);
    throw error;
  }
  const { staged, stored } = await staging;
  const sha256 = captureSha256(stored, isDirectory);
  try {
    const existing = await deps.catalog.findCaptureBySha256(sha256);
    if (existing) {
      await discardAll({ staged });
      return await existingResult(existing, deps.catalog);
    }
    // What was analysed must be what was stored. A source that changed meanwhile (still being written?)
    // is analysed again from the stored copy; a directory, whose copies are separate blobs, is refused.
    if (!sameIdentities(identitiesBefore, await fileIdentities(files))) {
      const copy = staged[0]?.localPath;
      if (isDirectory || copy === undefined) {
        throw new StrataError(
          "STRATA_E_CONFLICT",
          "the input changed while it was being ingested; ingest it again once it is complete",
          { file: absolutePath },
        );
      }
      analysis = await analyse(copy, absolutePath, options, deps);
    }
  } catch (error) {
    await discardAll({ staged });
    throw error;
  }
  const { summary, stats, analyses } = analysis;
  const captureId = captureIdFromSha256(sha256);
  // The blobs are durable and named before any catalog row refers to them.
  await Promise.all(staged.map((s) => s.commit()));

  // 2. Commit everything in one transaction.
  const quarantined = [...analyses.values()].some((a) => a.status === "quarantined");
  const warnings = [...summary.warnings, ...[...analyses.values()].flatMap((a) => a.warnings ?? [])];
  const record = await deps.catalog
    .transaction(async (tx) => {
      const capture = await tx.insertCapture({
        captureId,
        sha256,
        format: summary.format,
        sizeBytes: totalBytes,
        startNs: stats.startNs ?? null,
        endNs: stats.endNs ?? null,
        messageCount: stats.messageCount,
        rig: options.rig ?? null,
        site: options.site ?? null,
        region: options.region ?? null,
        status: quarantined ? "quarantined" : "ready",
        sourcePath: absolutePath,
        provenance: {
          ...(options.provenance ?? {}),
          profile: summary.profile,
          library: summary.library,
          warnings,
        },
      });
      await tx.insertCaptureFiles(stored.map((f, ordinal) => ({ captureId, ordinal, ...f })));
      const schemas = await tx.upsertSchemas(
        captureId,
        summary.schemas
          .filter((s) => s.encoding !== "")
          .map((s) => ({ name: s.name, encoding: s.encoding, definition: schemaText(s) })),
      );
      const hashByKey = new Map(
        schemas.map((s) => [`${s.encoding}\u0000${s.name}\u0000${s.definition}`, s.schemaHash]),
      );
      const schemaHashOfTopic = new Map<string, Sha256Hex>();
      for (const channel of summary.channels) {
        const schema = summary.schemas.find((s) => s.id === channel.schemaId);
        const hash = schema
          ? hashByKey.get(`${schema.encoding}\u0000${schema.name}\u0000${schemaText(schema)}`)
          : undefined;
        if (hash && !schemaHashOfTopic.has(channel.topic)) schemaHashOfTopic.set(channel.topic, hash);
      }
      const described = new Map(summary.topics.map((t) => [t.topic, t]));
      await tx.insertTopics(
        stats.topics.map((t) => ({
          captureId,
          topic: t.topic,
          schemaName: described.get(t.topic)?.schemaName ?? "",
          messageEncoding: described.get(t.topic)?.messageEncoding ?? "",
          schemaHash: schemaHashOfTopic.get(t.topic) ?? null,
          messageCount: t.messageCount,
          firstNs: t.firstNs ?? null,
          lastNs: t.lastNs ?? null,
          meanRateHz: t.meanRateHz,
          maxGapNs: t.maxGapNs,
        })),
      );
      await tx.insertHistogram(
        stats.topics.flatMap((t) =>
          t.histogram.flatMap((messageCount, i) =>
            messageCount === 0
              ? []
              : [
                  {
                    captureId,
                    topic: t.topic,
                    bucketStartNs: stats.bucketOriginNs + BigInt(i) * stats.bucketNs,
                    bucketNs: stats.bucketNs,
                    messageCount,
                  },
                ],
          ),
        ),
      );
      const run = await tx.startRun({
        kind: "ingest",
        inputs: [
          {
            path: absolutePath,
            sha256,
            files: stored.map((f) => ({ path: f.pathInCapture, sha256: f.sha256 })),
          },
        ],
        params: { rig: options.rig ?? null, site: options.site ?? null, region: options.region ?? null },
        codeVersion: deps.codeVersion,
        startedAtNs,
      });
      for (const analysis of analyses.values()) await analysis.commit?.(tx, captureId);
      const analyzerOutputs: JsonObject = {};
      for (const [name, analysis] of analyses) if (analysis.outputs) analyzerOutputs[name] = analysis.outputs;
      await tx.finishRun(run.runId, { status: "completed", outputs: [{ captureId, ...analyzerOutputs }] });
      await tx.appendAudit({
        actor: options.actor,
        action: "capture.ingest",
        target: captureId,
        details: { sha256, path: absolutePath, runId: run.runId, messageCount: stats.messageCount },
      });
      return capture;
    })
    .catch(async (error: unknown) => {
      // Another process committed the same bytes between our check and our commit: that capture wins.
      if (error instanceof StrataError && error.code === "STRATA_E_CONFLICT") {
        const winner = await deps.catalog.findCaptureBySha256(sha256);
        if (winner) return winner;
      }
      throw error;
    });

  if (record.captureId !== captureId || record.ingestedAtNs < startedAtNs)
    return await existingResult(record, deps.catalog);
  return {
    captureId,
    sha256,
    created: true,
    format: summary.format,
    messageCount: stats.messageCount,
    topics: stats.topics.map((t) => ({
      topic: t.topic,
      schemaName: summary.topics.find((d) => d.topic === t.topic)?.schemaName ?? "",
      messageEncoding: summary.topics.find((d) => d.topic === t.topic)?.messageEncoding ?? "",
      messageCount: t.messageCount,
      firstTimeNs: t.firstNs ?? null,
      lastTimeNs: t.lastNs ?? null,
    })),
    warnings,
  };
}

interface Analysis {
  summary: LogSummary;
  stats: CaptureStats;
  analyses: Map<string, AnalyzerResult>;
}

/** Reads the capture at `readPath` (the user's `userPath` or a stored copy of it): summary, stats, analyzers. */
async function analyse(
  readPath: string,
  userPath: string,
  options: IngestOptions,
  deps: IngestDeps,
): Promise<Analysis> {
  const reader = await openLog(readPath).catch((error: unknown) => {
    throw relabel(error, readPath, userPath);
  });
  try {
    const summary = await reader.summary();
    const stats = await collectStats(reader, summary);
    const analyses = new Map<string, AnalyzerResult>();
    for (const analyzer of deps.analyzers ?? []) {
      const context = { reader, summary, stats, options, catalog: deps.catalog, earlier: analyses };
      analyses.set(analyzer.name, await analyzer.analyze(context));
    }
    return { summary, stats, analyses };
  } catch (error) {
    throw relabel(error, readPath, userPath);
  } finally {
    await reader.close();
  }
}

interface StagedFiles {
  staged: StagedBlob[];
  stored: StoredFile[];
}

/** Stages the files one after another; on failure (or `signal`) the ones staged so far are discarded. */
async function stageFiles(
  files: InputFile[],
  totalBytes: number,
  options: IngestOptions,
  blobs: BlobStore,
  signal: AbortSignal,
): Promise<StagedFiles> {
  const result: StagedFiles = { staged: [], stored: [] };
  try {
    let doneBytesBefore = 0;
    for (const file of files) {
      const stage = await blobs.stage(
        { filePath: file.absolutePath },
        { signal, onProgress: (done) => options.onProgress?.(doneBytesBefore + done, totalBytes) },
      );
      result.staged.push(stage);
      result.stored.push({
        pathInCapture: file.pathInCapture,
        sha256: stage.sha256,
        sizeBytes: stage.sizeBytes,
      });
      doneBytesBefore += stage.sizeBytes;
    }
    return result;
  } catch (error) {
    await discardAll(result);
    throw error;
  }
}

async function discardAll({ staged }: Pick<StagedFiles, "staged">): Promise<void> {
  await Promise.all(staged.splice(0).map((s) => s.discard()));
}

function noop(): void {}

/** What identifies a file's bytes without reading them: any write changes `ctimeNs`. */
async function fileIdentities(files: InputFile[]): Promise<string[]> {
  return Promise.all(
    files.map(async (f) => {
      const s = await stat(f.absolutePath, { bigint: true }).catch(() => undefined);
      return s ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : "missing";
    }),
  );
}

function sameIdentities(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Records a failed ingest as a lineage run and an audit event (nothing else is written). */
export async function recordFailedIngest(
  inputPath: string,
  error: StrataError,
  options: IngestOptions,
  deps: IngestDeps,
): Promise<void> {
  const run = await deps.catalog.startRun({
    kind: "ingest",
    inputs: [{ path: path.resolve(inputPath) }],
    params: {},
    codeVersion: deps.codeVersion,
  });
  await deps.catalog.finishRun(run.runId, {
    status: "failed",
    error: error.toJSON() as unknown as JsonObject,
  });
  await deps.catalog.appendAudit({
    actor: options.actor,
    action: "capture.ingest.failed",
    target: path.resolve(inputPath),
    details: { code: error.code, runId: run.runId },
  });
}

async function collectStats(reader: LogReader, summary: LogSummary): Promise<CaptureStats> {
  const stats = new StatsAccumulator();
  for (const channel of summary.channels) stats.addChannel(channel.id, channel.topic);
  for await (const batch of reader.timestamps())
    for (const stamp of batch) stats.add(stamp.channelId, stamp.logTimeNs);
  return stats.finish();
}

async function existingResult(capture: CaptureRecord, catalog: Catalog): Promise<IngestResult> {
  const topics = await catalog.listTopics(capture.captureId);
  const provenance = capture.provenance as { warnings?: string[] };
  return {
    captureId: capture.captureId,
    sha256: capture.sha256,
    created: false,
    format: capture.format,
    messageCount: Number(capture.messageCount),
    topics: topics.map((t) => ({
      topic: t.topic,
      schemaName: t.schemaName,
      messageEncoding: t.messageEncoding,
      messageCount: Number(t.messageCount),
      firstTimeNs: t.firstNs,
      lastTimeNs: t.lastNs,
    })),
    warnings: provenance.warnings ?? [],
  };
}

interface InputFile {
  absolutePath: string;
  pathInCapture: string;
  sizeBytes: number;
}

/** A file is a one-file capture; a directory (ROS 2 bag) is every regular file in it, sorted by name. */
async function listCaptureFiles(absolutePath: string): Promise<{ files: InputFile[]; isDirectory: boolean }> {
  const info = await stat(absolutePath).catch((cause: unknown) => {
    throw new StrataError("STRATA_E_FILE_NOT_FOUND", undefined, { file: absolutePath }, { cause });
  });
  if (!info.isDirectory()) {
    return {
      files: [{ absolutePath, pathInCapture: path.basename(absolutePath), sizeBytes: info.size }],
      isDirectory: false,
    };
  }
  const entries = (await readdir(absolutePath, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
  const files: InputFile[] = [];
  for (const name of entries) {
    const filePath = path.join(absolutePath, name);
    const sizeBytes = (await stat(filePath)).size;
    // SQLite's side files, which reading a `.db3` creates: the shared-memory index is a cache, and an
    // empty write-ahead log holds nothing. (A non-empty log holds messages and is part of the bag.)
    if (name.endsWith("-shm") || (name.endsWith("-wal") && sizeBytes === 0)) continue;
    files.push({ absolutePath: filePath, pathInCapture: name, sizeBytes });
  }
  if (files.length === 0)
    throw new StrataError("STRATA_E_UNKNOWN_FORMAT", "the directory is empty", { file: absolutePath });
  return { files, isDirectory: true };
}

/** One file: its own SHA-256. A directory: SHA-256 of the canonical list of (name, SHA-256). */
function captureSha256(stored: StoredFile[], isDirectory: boolean): Sha256Hex {
  if (!isDirectory && stored[0]) return stored[0].sha256;
  return sha256Hex(canonicalJson(stored.map((f) => ({ path: f.pathInCapture, sha256: f.sha256 }))));
}

function schemaText(schema: { encoding: string; data: Uint8Array }): string {
  return schema.encoding === "protobuf"
    ? Buffer.from(schema.data).toString("base64")
    : Buffer.from(schema.data).toString("utf8");
}

/** Errors found while reading the stored blob name the user's file, not the blob path. */
function relabel(error: unknown, readPath: string, userPath: string): unknown {
  if (!(error instanceof StrataError) || error.context.file !== readPath) return error;
  return error.withContext({ file: userPath });
}
