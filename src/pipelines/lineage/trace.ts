/**
 * Lineage walks. `traceLineage` starts at a materialised sample (`<versionId>/<itemIndex>`), a dataset
 * version, a capture (id or SHA-256), a run or a blob, and follows resolvers towards the sources: versions
 * to their parents, captures and build runs; captures to their files (raw blobs), ingest runs, calibration
 * and QA verdict; runs to their inputs. `lineageGraph` walks the whole catalog, linking runs to outputs too.
 */
import type { CaptureRecord, JsonValue } from "../../catalog/index.ts";
import { StrataError, isSha256Hex } from "../../core/index.ts";
import { isVersionId, parseSampleId } from "../datasets/manifest.ts";
import { getVersion } from "../datasets/store.ts";
import type { DatasetVersion } from "../datasets/types.ts";
import { verifyBlob } from "./blob.ts";
import { type CaptureFactSource, captureFacts } from "./facts.ts";
import { allRuns, entriesOf, runsReferencing } from "./runs.ts";
import type {
  LineageDeps,
  LineageEdge,
  LineageGraph,
  LineageLink,
  LineageNode,
  LineageResolver,
  ResolveContext,
} from "./types.ts";

export interface TraceOptions {
  /** Default: DEFAULT_RESOLVERS. Pass `[...DEFAULT_RESOLVERS, mine]` to extend. */
  resolvers?: readonly LineageResolver[];
  /** Where calibration and QA facts come from (default: runs, then capture provenance). */
  factSources?: readonly CaptureFactSource[];
  /** Stop adding nodes past this many (default 100 000); the graph is then marked truncated. */
  maxNodes?: number;
}

type NodeInit = Omit<LineageNode, "id">;

export function nodeId(kind: string, key: string): string {
  return `${kind}:${key}`;
}

/** Walks from `target` towards its sources. STRATA_E_NOT_FOUND when the target does not exist. */
export async function traceLineage(
  target: string,
  deps: LineageDeps,
  options: TraceOptions = {},
): Promise<LineageGraph> {
  const ctx = context(deps, "trace", options);
  const root = await resolveTarget(target.trim(), ctx);
  return walk([root], ctx, options, nodeId(root.kind, root.key));
}

export type GraphFormat = "json" | "dot";

/** The lineage of the whole catalog: every capture, dataset version and run, with their links. */
export async function lineageGraph(
  deps: LineageDeps,
  options: TraceOptions & { format: "dot" },
): Promise<string>;
export async function lineageGraph(
  deps: LineageDeps,
  options?: TraceOptions & { format?: "json" },
): Promise<LineageGraph>;
export async function lineageGraph(
  deps: LineageDeps,
  options: TraceOptions & { format?: GraphFormat } = {},
): Promise<LineageGraph | string> {
  const ctx = context(deps, "graph", options);
  const roots: NodeInit[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await deps.catalog.listCaptures({ limit: 1000, offset });
    for (const c of page) roots.push(blank("capture", c.captureId));
    if (page.length < 1000) break;
  }
  const versions = await deps.catalog.db
    .selectFrom("dataset_versions")
    .select("version_id")
    .orderBy("created_at_ns")
    .orderBy("version_id")
    .execute();
  for (const v of versions) roots.push(blank("dataset_version", v.version_id));
  for await (const run of allRuns(deps.catalog)) roots.push(blank("run", run.runId));
  const graph = await walk(roots, ctx, options, null);
  return options.format === "dot" ? toDot(graph) : graph;
}

/** Graphviz DOT text of a graph (sources on the left). */
export function toDot(graph: LineageGraph): string {
  const shapes: Record<string, string> = {
    sample: "note",
    dataset_version: "folder",
    capture: "box3d",
    run: "ellipse",
    blob: "cylinder",
    file: "cylinder",
    calibration: "component",
    qa_verdict: "diamond",
  };
  const lines = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];'];
  for (const node of graph.nodes) {
    const style = node.id === graph.rootId ? ', style="bold"' : "";
    lines.push(
      `  ${quote(node.id)} [label=${quote(node.label)}, shape=${shapes[node.kind] ?? "box"}${style}];`,
    );
  }
  for (const edge of graph.edges) {
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [label=${quote(edge.relation)}];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

// ---- the walk ----

function context(deps: LineageDeps, mode: ResolveContext["mode"], options: TraceOptions): ResolveContext {
  const memo = new Map<string, unknown>();
  if (options.factSources !== undefined) memo.set("factSources", options.factSources);
  return { ...deps, mode, memo };
}

async function walk(
  roots: readonly NodeInit[],
  ctx: ResolveContext,
  options: TraceOptions,
  rootId: string | null,
): Promise<LineageGraph> {
  const resolvers = options.resolvers ?? DEFAULT_RESOLVERS;
  const maxNodes = options.maxNodes ?? 100_000;
  const nodes = new Map<string, LineageNode>();
  const edges = new Map<string, LineageEdge>();
  const queue: LineageNode[] = [];
  let truncated = false;

  const add = (init: NodeInit): LineageNode | undefined => {
    const id = nodeId(init.kind, init.key);
    const existing = nodes.get(id);
    if (existing !== undefined) {
      for (const [k, v] of Object.entries(init.attributes))
        if (!(k in existing.attributes)) existing.attributes[k] = v;
      return existing;
    }
    if (nodes.size >= maxNodes) {
      truncated = true;
      return undefined;
    }
    const node: LineageNode = { id, ...init, attributes: { ...init.attributes } };
    nodes.set(id, node);
    queue.push(node);
    return node;
  };

  for (const root of roots) add(root);
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i] as LineageNode;
    for (const resolver of resolvers) {
      if (resolver.kind !== node.kind) continue;
      for (const link of await resolver.resolve(node, ctx)) {
        const other = add(link.node);
        if (other === undefined) continue;
        const [from, to] = link.direction === "upstream" ? [other.id, node.id] : [node.id, other.id];
        const key = `${from}\u0000${to}\u0000${link.relation}`;
        if (!edges.has(key)) {
          edges.set(key, {
            from,
            to,
            relation: link.relation,
            ...(link.attributes === undefined ? {} : { attributes: link.attributes }),
          });
        }
      }
    }
  }
  return { rootId, nodes: [...nodes.values()], edges: [...edges.values()], truncated };
}

async function resolveTarget(target: string, ctx: ResolveContext): Promise<NodeInit> {
  const sample = parseSampleId(target);
  if (sample !== undefined) {
    const version = await loadVersion(sample.versionId, ctx);
    if (version === undefined || version.manifest.items[sample.itemIndex] === undefined) {
      throw new StrataError("STRATA_E_NOT_FOUND", `sample ${target}`, { sampleId: target });
    }
    return blank("sample", target);
  }
  if (isVersionId(target)) {
    if ((await loadVersion(target, ctx)) === undefined) {
      throw new StrataError("STRATA_E_NOT_FOUND", `dataset version ${target}`, { versionId: target });
    }
    return blank("dataset_version", target);
  }
  if (target.startsWith("run_")) {
    if ((await ctx.catalog.getRun(target)) === undefined) {
      throw new StrataError("STRATA_E_NOT_FOUND", `run ${target}`, { runId: target });
    }
    return blank("run", target);
  }
  if (isSha256Hex(target)) {
    const capture = await ctx.catalog.findCaptureBySha256(target);
    if (capture !== undefined) return blank("capture", capture.captureId);
    if (ctx.blobs !== undefined && !(await ctx.blobs.has(target))) {
      throw new StrataError("STRATA_E_NOT_FOUND", `no capture or blob with SHA-256 ${target}`);
    }
    return blank("blob", target);
  }
  if ((await loadCapture(target, ctx)) !== undefined) return blank("capture", target);
  throw new StrataError(
    "STRATA_E_NOT_FOUND",
    `${target} is no sample, dataset version, capture, run or SHA-256 in the catalog`,
    { target },
    { hint: "Targets look like dsv_…/N (sample), dsv_… (version), cap_… (capture), run_… or a SHA-256." },
  );
}

// ---- the default resolvers ----

const sampleResolver: LineageResolver = {
  kind: "sample",
  async resolve(node, ctx) {
    const parsed = parseSampleId(node.key);
    const version = parsed === undefined ? undefined : await loadVersion(parsed.versionId, ctx);
    const item = parsed === undefined ? undefined : version?.manifest.items[parsed.itemIndex];
    if (parsed === undefined || version === undefined || item === undefined) {
      node.attributes.missing = true;
      return [];
    }
    Object.assign(node.attributes, {
      captureId: item.captureId,
      startNs: item.startNs.toString(),
      endNs: item.endNs.toString(),
      topics: item.topics,
      split: item.split,
      ...(item.sceneId === undefined ? {} : { sceneId: item.sceneId }),
    });
    return [
      { node: blank("dataset_version", version.versionId), relation: "member", direction: "upstream" },
      {
        node: blank("capture", item.captureId),
        relation: "window",
        direction: "upstream",
        attributes: { startNs: item.startNs.toString(), endNs: item.endNs.toString(), topics: item.topics },
      },
    ];
  },
};

const versionResolver: LineageResolver = {
  kind: "dataset_version",
  async resolve(node, ctx) {
    const version = await loadVersion(node.key, ctx);
    if (version === undefined) {
      node.attributes.missing = true;
      return [];
    }
    const m = version.manifest;
    node.label = `${version.datasetName} ${version.versionId.slice(0, 16)}`;
    Object.assign(node.attributes, {
      datasetName: version.datasetName,
      itemCount: m.items.length,
      createdAtNs: version.createdAtNs.toString(),
      createdBy: version.createdBy,
      ontologyVersion: m.ontologyVersion,
      contractVersion: m.contractVersion,
      query: m.query,
    });
    const links: LineageLink[] = [];
    if (version.parentVersionId !== null) {
      links.push({
        node: blank("dataset_version", version.parentVersionId),
        relation: "parent",
        direction: "upstream",
      });
    }
    for (const captureId of new Set(m.items.map((i) => i.captureId))) {
      links.push({ node: blank("capture", captureId), relation: "member", direction: "upstream" });
    }
    for (const run of await runsReferencing(ctx.catalog, "outputs", "datasetVersionId", version.versionId)) {
      links.push({ node: blank("run", run.runId), relation: "output", direction: "upstream" });
    }
    return links;
  },
};

const captureResolver: LineageResolver = {
  kind: "capture",
  async resolve(node, ctx) {
    const capture = await loadCapture(node.key, ctx);
    if (capture === undefined) {
      node.attributes.missing = true;
      return [];
    }
    Object.assign(node.attributes, {
      sha256: capture.sha256,
      format: capture.format,
      rig: capture.rig,
      site: capture.site,
      status: capture.status,
      startNs: capture.startNs?.toString() ?? null,
      endNs: capture.endNs?.toString() ?? null,
    });
    const links: LineageLink[] = [];
    for (const file of await ctx.catalog.listCaptureFiles(capture.captureId)) {
      links.push({
        node: blank("blob", file.sha256, { path: file.pathInCapture, sizeBytes: file.sizeBytes.toString() }),
        relation: "file",
        direction: "upstream",
        attributes: { ordinal: file.ordinal, path: file.pathInCapture },
      });
    }
    for (const run of await runsReferencing(ctx.catalog, "outputs", "captureId", capture.captureId)) {
      // Runs that only annotate the capture (QA, calibration) link through their fact nodes below.
      if (run.kind === "ingest" || run.kind === "import") {
        links.push({ node: blank("run", run.runId), relation: "output", direction: "upstream" });
      }
    }
    const factSources = ctx.memo.get("factSources") as readonly CaptureFactSource[] | undefined;
    const facts = await captureFacts(capture, {
      catalog: ctx.catalog,
      ...(factSources ? { factSources } : {}),
    });
    if (facts.calibrationVersion !== null) {
      links.push({
        node: blank("calibration", facts.calibrationVersion, { runId: facts.calibrationRunId }),
        relation: "calibration",
        direction: "upstream",
      });
    }
    if (facts.qaVerdict !== null) {
      links.push({
        node: blank("qa_verdict", `${capture.captureId}@${facts.qaRunId ?? "provenance"}`, {
          verdict: facts.qaVerdict,
          flags: facts.qaFlags,
          runId: facts.qaRunId,
        }),
        relation: "qa",
        direction: "downstream",
      });
    }
    return links;
  },
};

const runResolver: LineageResolver = {
  kind: "run",
  async resolve(node, ctx) {
    const run = await ctx.catalog.getRun(node.key);
    if (run === undefined) {
      node.attributes.missing = true;
      return [];
    }
    node.label = `${run.kind} ${run.runId}`;
    Object.assign(node.attributes, {
      kind: run.kind,
      status: run.status,
      codeVersion: run.codeVersion,
      params: run.params,
      startedAtNs: run.startedAtNs.toString(),
      endedAtNs: run.endedAtNs?.toString() ?? null,
      error: run.error,
    });
    const links: LineageLink[] = entriesOf(run.inputs).flatMap((entry) =>
      referencedNodes(entry).map((n): LineageLink => ({ node: n, relation: "input", direction: "upstream" })),
    );
    if (ctx.mode === "graph") {
      for (const entry of entriesOf(run.outputs)) {
        for (const n of referencedNodes(entry))
          links.push({ node: n, relation: "output", direction: "downstream" });
      }
    }
    return links;
  },
};

const blobResolver: LineageResolver = {
  kind: "blob",
  async resolve(node, ctx) {
    node.attributes.sha256 = node.key;
    if (ctx.blobs !== undefined) {
      const check = await verifyBlob(node.key, ctx.blobs);
      node.attributes.verified = check.ok;
      node.attributes.actualSha256 = check.actualSha256;
      if (check.error !== undefined) node.attributes.verifyError = check.error;
    }
    return [];
  },
};

/** Facts link back to the run that established them, when one did. */
const factRunResolver = (kind: "calibration" | "qa_verdict"): LineageResolver => ({
  kind,
  async resolve(node) {
    const runId = node.attributes.runId;
    return typeof runId === "string"
      ? [{ node: blank("run", runId), relation: "output", direction: "upstream" }]
      : [];
  },
});

export const DEFAULT_RESOLVERS: readonly LineageResolver[] = [
  sampleResolver,
  versionResolver,
  captureResolver,
  runResolver,
  blobResolver,
  factRunResolver("calibration"),
  factRunResolver("qa_verdict"),
];

/** The nodes one run input/output entry names: a version, a capture, raw files, or a bare path. */
function referencedNodes(entry: { [key: string]: JsonValue }): NodeInit[] {
  const out: NodeInit[] = [];
  if (typeof entry.datasetVersionId === "string") out.push(blank("dataset_version", entry.datasetVersionId));
  if (typeof entry.captureId === "string") {
    out.push(blank("capture", entry.captureId));
    return out;
  }
  const files = entriesOf(entry.files ?? null).filter((f) => typeof f.sha256 === "string");
  if (files.length > 0) {
    for (const f of files) {
      out.push(blank("blob", f.sha256 as string, typeof f.path === "string" ? { path: f.path } : {}));
    }
  } else if (typeof entry.sha256 === "string" && isSha256Hex(entry.sha256)) {
    out.push(blank("blob", entry.sha256, typeof entry.path === "string" ? { path: entry.path } : {}));
  } else if (typeof entry.path === "string" && out.length === 0) {
    out.push(blank("file", entry.path));
  }
  return out;
}

function blank(kind: string, key: string, attributes: { [name: string]: JsonValue } = {}): NodeInit {
  const label =
    kind === "blob"
      ? `blob ${key.slice(0, 12)}…`
      : kind === "qa_verdict"
        ? `QA ${attributes.verdict ?? ""}`
        : key;
  return { kind, key, label, attributes };
}

async function loadVersion(versionId: string, ctx: ResolveContext): Promise<DatasetVersion | undefined> {
  const memoKey = `version:${versionId}`;
  if (ctx.memo.has(memoKey)) return ctx.memo.get(memoKey) as DatasetVersion | undefined;
  const version = await getVersion(versionId, ctx);
  ctx.memo.set(memoKey, version);
  return version;
}

async function loadCapture(captureId: string, ctx: ResolveContext): Promise<CaptureRecord | undefined> {
  const memoKey = `capture:${captureId}`;
  if (ctx.memo.has(memoKey)) return ctx.memo.get(memoKey) as CaptureRecord | undefined;
  const capture = await ctx.catalog.getCapture(captureId);
  ctx.memo.set(memoKey, capture);
  return capture;
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
