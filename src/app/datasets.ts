/**
 * Datasets and lineage at the app level: build a version from a scene search query, an items file or a
 * list of captures; list, show, diff, check leakage, materialise; trace lineage, draw the graph, and blame
 * failing samples. Runs and audit events are recorded by the pipelines; OpenLineage emission happens for
 * every finished run in one place (lineage-emit.ts).
 */
import path from "node:path";
import { StrataError } from "../core/index.ts";
import {
  type BlameReport,
  blame,
  checkVersionLeakage,
  createDatasetVersion,
  type CreateDatasetVersionResult,
  type DatasetSummary,
  type DatasetVersion,
  diffVersions,
  type GraphFormat,
  type ItemInput,
  type LeakageReport,
  type LineageGraph,
  lineageGraph,
  listDatasets,
  listVersions,
  type MaterializeResult,
  materializeVersion,
  requireVersion,
  type SceneRef,
  SPLITS,
  type Split,
  type SplitGroupBy,
  type SplitPolicy,
  traceLineage,
  type VersionDiff,
} from "../pipelines/index.ts";
import { requireCapture } from "./present.ts";
import { searchScenes } from "./scenes.ts";
import type { Strata } from "./strata.ts";

export const DEFAULT_SPLIT_RATIOS: SplitPolicy["ratios"] = { train: 0.8, val: 0.1, test: 0.1 };

export interface DatasetCreateRequest {
  name: string;
  /** A scene search (text form, as `strata search`); its hits become the items. */
  fromQuery?: string;
  /** Items as JSON gives them: ns as decimal strings or numbers, optional per-item split. */
  items?: readonly unknown[];
  /** Whole captures (id or SHA-256). */
  captures?: readonly string[];
  /** Split ratios; default 0.8/0.1/0.1 unless every item carries its own split. */
  ratios?: SplitPolicy["ratios"];
  groupBy?: SplitGroupBy;
  seed?: string;
  parentVersionId?: string;
  /** Most hits taken from the query (default 1000). */
  queryLimit?: number;
  allowQuarantined?: boolean;
  actor?: string;
}

function defaultActor(): string {
  return `cli:${process.env.USER ?? "local"}`;
}

/** Builds (or finds, when the content exists) a dataset version. */
export async function createDataset(
  strata: Strata,
  request: DatasetCreateRequest,
): Promise<CreateDatasetVersionResult> {
  const sources = [request.fromQuery, request.items, request.captures].filter((s) => s !== undefined);
  if (sources.length === 0) {
    throw new StrataError(
      "STRATA_E_USAGE",
      "a dataset needs items: a query, an items file or captures",
      {},
      {
        hint: "Pass --from-query 'QUERY', --items FILE.json or --captures ID,….",
      },
    );
  }
  const items: ItemInput[] = [];
  for (const id of request.captures ?? []) {
    const capture = await requireCapture(strata, id);
    items.push({ captureId: capture.captureId });
  }
  (request.items ?? []).forEach((raw, position) => {
    items.push(parseItem(raw, position));
  });
  let fromScenes: SceneRef[] = [];
  if (request.fromQuery !== undefined) {
    const found = await searchScenes(strata, {
      query: request.fromQuery,
      limit: request.queryLimit ?? 1000,
      ...(request.allowQuarantined === true ? { includeQuarantined: true } : {}),
    });
    fromScenes = found.hits.map((h) => ({
      sceneId: h.sceneId,
      captureId: h.captureId,
      startNs: h.startNs,
      endNs: h.endNs,
    }));
    if (fromScenes.length === 0) {
      throw new StrataError("STRATA_E_NOT_FOUND", `the query matched no scene: ${request.fromQuery}`, {
        query: request.fromQuery,
      });
    }
  }
  const everyItemSplit =
    fromScenes.length === 0 && items.length > 0 && items.every((i) => i.split !== undefined);
  const usePolicy = request.ratios !== undefined || request.groupBy !== undefined || !everyItemSplit;
  if (usePolicy) for (const item of items) delete item.split;
  return createDatasetVersion(
    {
      name: request.name,
      items,
      fromScenes,
      ...(usePolicy
        ? {
            splitPolicy: {
              ratios: request.ratios ?? DEFAULT_SPLIT_RATIOS,
              groupBy: request.groupBy ?? "capture",
              seed: request.seed ?? "0",
            },
          }
        : {}),
      parentVersionId: request.parentVersionId ?? null,
      query: request.fromQuery ?? null,
      actor: request.actor ?? defaultActor(),
      ...(request.allowQuarantined === true ? { allowQuarantined: true } : {}),
    },
    { catalog: strata.catalog, codeVersion: strata.codeVersion },
  );
}

/** Parses `train=0.8,val=0.1,test=0.1` (missing splits get 0). */
export function parseSplitRatios(text: string): SplitPolicy["ratios"] {
  const ratios = { train: 0, val: 0, test: 0 };
  for (const part of text.split(",")) {
    const [name, value] = part.split("=").map((s) => s.trim());
    const ratio = Number(value);
    if (
      !SPLITS.includes(name as Split) ||
      value === undefined ||
      value === "" ||
      !Number.isFinite(ratio) ||
      ratio < 0
    ) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `not a split ratio: ${JSON.stringify(part)}`,
        {},
        {
          hint: "Write --split train=0.8,val=0.1,test=0.1",
        },
      );
    }
    ratios[name as Split] = ratio;
  }
  return ratios;
}

function parseItem(raw: unknown, position: number): ItemInput {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new StrataError("STRATA_E_USAGE", `item ${position} is not an object`);
  }
  const r = raw as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const v = r[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string")
      throw new StrataError("STRATA_E_USAGE", `item ${position}: ${key} must be a string`);
    return v;
  };
  const ns = (key: string): bigint | undefined => {
    const v = r[key];
    if (v === undefined || v === null) return undefined;
    if ((typeof v === "string" && /^-?\d+$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v))) {
      return BigInt(v);
    }
    throw new StrataError("STRATA_E_USAGE", `item ${position}: ${key} must be integer ns (a decimal string)`);
  };
  const topics = r.topics;
  if (topics !== undefined && (!Array.isArray(topics) || !topics.every((t) => typeof t === "string"))) {
    throw new StrataError("STRATA_E_USAGE", `item ${position}: topics must be an array of strings`);
  }
  const split = text("split");
  if (split !== undefined && !SPLITS.includes(split as Split)) {
    throw new StrataError("STRATA_E_USAGE", `item ${position}: split must be one of ${SPLITS.join(", ")}`);
  }
  const item: ItemInput = {};
  const captureId = text("captureId");
  const captureSha256 = text("captureSha256");
  const sceneId = text("sceneId");
  const startNs = ns("startNs");
  const endNs = ns("endNs");
  if (captureId !== undefined) item.captureId = captureId;
  if (captureSha256 !== undefined) item.captureSha256 = captureSha256;
  if (startNs !== undefined) item.startNs = startNs;
  if (endNs !== undefined) item.endNs = endNs;
  if (topics !== undefined) item.topics = topics as string[];
  if (sceneId !== undefined) item.sceneId = sceneId;
  if (split !== undefined) item.split = split as Split;
  return item;
}

export interface DatasetListing extends DatasetSummary {
  versions: Array<
    Pick<DatasetVersion, "versionId" | "parentVersionId" | "createdAtNs" | "createdBy"> & {
      itemCount: number;
    }
  >;
}

export async function listDatasetVersions(strata: Strata): Promise<DatasetListing[]> {
  const deps = { catalog: strata.catalog };
  const out: DatasetListing[] = [];
  for (const summary of await listDatasets(deps)) {
    const versions = (await listVersions(summary.name, deps)).map((v) => ({
      versionId: v.versionId,
      parentVersionId: v.parentVersionId,
      createdAtNs: v.createdAtNs,
      createdBy: v.createdBy,
      itemCount: v.manifest.items.length,
    }));
    out.push({ ...summary, versions });
  }
  return out;
}

export function showDatasetVersion(strata: Strata, versionId: string): Promise<DatasetVersion> {
  return requireVersion(versionId, { catalog: strata.catalog });
}

export async function diffDatasetVersions(
  strata: Strata,
  fromVersionId: string,
  toVersionId: string,
): Promise<VersionDiff> {
  const deps = { catalog: strata.catalog };
  return diffVersions(await requireVersion(fromVersionId, deps), await requireVersion(toVersionId, deps));
}

export function checkDatasetLeakage(strata: Strata, versionId: string): Promise<LeakageReport> {
  return checkVersionLeakage(versionId, { catalog: strata.catalog });
}

export function materializeDataset(
  strata: Strata,
  request: { versionId: string; outDir: string; actor?: string },
): Promise<MaterializeResult> {
  return materializeVersion(
    request.versionId,
    { outDir: request.outDir, actor: request.actor ?? defaultActor() },
    {
      catalog: strata.catalog,
      blobs: strata.blobs,
      tempDir: path.join(strata.config.home, "tmp"),
      codeVersion: strata.codeVersion,
    },
  );
}

/** Walks from a sample (`dsv_…/N`), version, capture, run or SHA-256 back to raw bytes (re-hashed). */
export function traceTarget(strata: Strata, target: string): Promise<LineageGraph> {
  return traceLineage(target, { catalog: strata.catalog, blobs: strata.blobs });
}

export async function lineageGraphOf(strata: Strata, format: GraphFormat): Promise<LineageGraph | string> {
  const deps = { catalog: strata.catalog };
  return format === "dot" ? lineageGraph(deps, { format: "dot" }) : lineageGraph(deps);
}

/**
 * Blame failing samples: `samples` is what SAMPLES.json holds (ids `dsv_…/N` or `{sampleId}` objects);
 * the version defaults to the one the ids name (they must all name one).
 */
export async function blameSamples(
  strata: Strata,
  samples: unknown,
  options: { versionId?: string; minFailures?: number; limit?: number } = {},
): Promise<BlameReport> {
  if (!Array.isArray(samples)) {
    throw new StrataError(
      "STRATA_E_USAGE",
      "SAMPLES.json must hold an array of sample ids or {sampleId} objects",
    );
  }
  const ids = samples.map((s, position) => {
    const id = typeof s === "string" ? s : (s as { sampleId?: unknown } | null)?.sampleId;
    if (typeof id !== "string") {
      throw new StrataError("STRATA_E_USAGE", `sample ${position} is neither an id nor {sampleId}`);
    }
    return id;
  });
  let versionId = options.versionId;
  if (versionId === undefined) {
    const named = [...new Set(ids.map((id) => id.split("/")[0] ?? ""))];
    if (named.length !== 1 || named[0] === undefined) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `the samples name ${named.length} dataset versions`,
        {},
        {
          hint: "Pass --version to say which one was evaluated.",
        },
      );
    }
    versionId = named[0];
  }
  return blame(
    ids,
    versionId,
    { catalog: strata.catalog },
    {
      ...(options.minFailures === undefined ? {} : { minFailures: options.minFailures }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    },
  );
}
