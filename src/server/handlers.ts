/** One handler per route of the route table; each takes validated input and returns the response shape. */
import type { ParsedInputOf, ResponseKindOf, ResponseOf, RouteId } from "../api/index.ts";
import {
  captureDetail,
  captureDrift,
  cockpitFigures,
  datasetSplits,
  diffDatasetVersions,
  lineageView,
  trajectoryMap,
  listDatasetVersions,
  searchScenes,
  showCaptureQa,
  ingestUpload,
  jsonify,
  presentCapture,
  readCaptureMessages,
  requireCapture,
  type Role,
  type Strata,
  type TokenPrincipal,
} from "../app/index.ts";
import { StrataError } from "../core/index.ts";
import type { IngestSlots, ServerMetrics } from "./metrics.ts";

export interface HandlerInput<R extends RouteId = RouteId> extends ParsedInputOf<R> {
  /** The request body as bytes, for `octet-stream` routes (null otherwise). */
  rawBody: AsyncIterable<Uint8Array> | null;
}

/** What the HTTP layer lends handlers beyond the Strata instance. */
export interface ServerServices {
  metrics: ServerMetrics;
  ingestSlots: IngestSlots;
  /** Drops cached token lookups (after a revocation, so it takes effect at once). */
  forgetTokens(): void;
  /** Largest accepted upload in bytes (undefined: no limit beyond the disk). */
  maxUploadBytes?: number;
  /** Short-lived cache of capture listings (see ListCache). */
  listCache: ListCache;
}

/**
 * Identical capture listings within `ttlMs` share one catalog query (and concurrent ones one in-flight
 * promise). Ingests through this server clear it at once; ingests by other processes show within ttlMs.
 * ttlMs = 0 turns it off.
 */
export class ListCache {
  readonly #entries = new Map<string, { atMs: number; value: Promise<unknown> }>();
  constructor(readonly ttlMs: number) {}
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const now = Date.now();
    const hit = this.#entries.get(key);
    if (hit && now - hit.atMs < this.ttlMs) return hit.value as Promise<T>;
    if (this.#entries.size > 1000) this.#entries.clear();
    const value = load();
    this.#entries.set(key, { atMs: now, value });
    value.catch(() => this.#entries.delete(key));
    return value;
  }
  clear(): void {
    this.#entries.clear();
  }
}

/** ndjson routes return the lines lazily; the others one value. */
export type HandlerOutput<R extends RouteId> =
  ResponseKindOf<R> extends "ndjson" ? AsyncIterable<ResponseOf<R>> : ResponseOf<R>;

type Handler<R extends RouteId> = (
  strata: Strata,
  input: HandlerInput<R>,
  principal: TokenPrincipal | undefined,
  services: ServerServices,
) => Promise<HandlerOutput<R>>;

const requirePrincipal = (principal: TokenPrincipal | undefined): TokenPrincipal => {
  if (!principal) throw new StrataError("STRATA_E_UNAUTHENTICATED");
  return principal;
};

const optionalNs = (value: string | undefined): bigint | undefined =>
  value === undefined ? undefined : BigInt(value);

export const handlers: { [R in RouteId]: Handler<R> } = {
  async health(strata) {
    return { status: "ok", version: strata.codeVersion };
  },
  async listCaptures(strata, { query }, _principal, { listCache }) {
    return await listCache.get(JSON.stringify(query), async () => {
      const filter = {
        site: query.site as string | undefined,
        rig: query.rig as string | undefined,
        status: query.status as never,
      };
      const limit = query.limit as number;
      const offset = query.offset as number;
      const records = await strata.catalog.listCaptures({ ...filter, limit, offset });
      // A short page that is not past the end already tells the total; only full pages need a count.
      const total =
        records.length < limit && (records.length > 0 || offset === 0)
          ? offset + records.length
          : await strata.catalog.countCaptures(filter);
      return { captures: records.map(presentCapture), total };
    });
  },
  async getCapture(strata, { params }) {
    return await captureDetail(strata, params.captureId ?? "");
  },
  async getCaptureHistogram(strata, { params }) {
    const capture = await requireCapture(strata, params.captureId ?? "");
    const buckets = await strata.catalog.getHistogram(capture.captureId);
    const bucketNs = buckets[0]?.bucketNs ?? 0n;
    const originNs = capture.startNs ?? 0n;
    const byTopic = new Map<string, number[]>();
    for (const b of buckets) {
      const counts = byTopic.get(b.topic) ?? [];
      counts[Number((b.bucketStartNs - originNs) / (bucketNs || 1n))] = Number(b.messageCount);
      byTopic.set(b.topic, counts);
    }
    const topics = (await strata.catalog.listTopics(capture.captureId)).map((t) => ({
      topic: t.topic,
      counts: Array.from(byTopic.get(t.topic) ?? [], (n) => n ?? 0),
    }));
    return {
      captureId: capture.captureId,
      bucketNs: bucketNs.toString(),
      originNs: originNs.toString(),
      topics,
    };
  },
  async listRuns(strata, { query }) {
    const runs = await strata.catalog.listRuns({
      limit: query.limit as number,
      offset: query.offset as number,
    });
    return { runs: jsonify(runs) };
  },
  async listAudit(strata, { query }) {
    const events = await strata.catalog.listAudit({ limit: query.limit as number, order: "desc" });
    const verification = await strata.catalog.verifyAuditChain();
    return {
      events: events.map((e) => ({ ...jsonify(e), seq: Number(e.seq) })),
      chainValid: verification.ok,
    };
  },
  async uploadCapture(strata, { query, rawBody }, principal, services) {
    const { metrics, ingestSlots, maxUploadBytes } = services;
    const actor = `token:${requirePrincipal(principal).name}`;
    if (!rawBody) throw new StrataError("STRATA_E_USAGE", "the request has no body (send the file's bytes)");
    let release: (() => void) | undefined;
    let startedAtMs = 0;
    let sizeBytes = 0;
    try {
      const upload = await ingestUpload(strata, rawBody, {
        filename: query.filename,
        rig: query.rig,
        site: query.site,
        region: query.region,
        actor,
        maxBytes: maxUploadBytes,
        onReceived: (bytes) => metrics.uploadBytes.inc({}, bytes),
        beforeIngest: async (bytes) => {
          sizeBytes = bytes;
          release = await ingestSlots.acquire();
          metrics.ingestsRunning.inc();
          startedAtMs = performance.now();
        },
      });
      services.listCache.clear();
      const secs = (performance.now() - startedAtMs) / 1000;
      metrics.ingests.inc({ outcome: upload.result.created ? "created" : "existing" });
      metrics.ingestBytes.inc({}, upload.sizeBytes);
      metrics.ingestSeconds.inc({}, secs);
      if (secs > 0) metrics.lastThroughput.set(upload.sizeBytes / secs);
      return jsonify(upload.result);
    } catch (error) {
      if (release) {
        metrics.ingests.inc({ outcome: "failed" });
        metrics.ingestSeconds.inc({}, (performance.now() - startedAtMs) / 1000);
        metrics.ingestBytes.inc({}, sizeBytes);
      }
      throw error;
    } finally {
      if (release) {
        metrics.ingestsRunning.dec();
        release();
      }
    }
  },
  async getCaptureMessages(strata, { params, query }) {
    return await readCaptureMessages(strata, params.captureId, {
      topics: query.topics,
      startNs: optionalNs(query.startNs),
      endNs: optionalNs(query.endNs),
      limit: query.limit,
      everyNs: optionalNs(query.everyNs),
    });
  },
  async getCaptureQa(strata, { params }) {
    const qa = await showCaptureQa(strata, params.captureId);
    const latest = qa.latest;
    return {
      captureId: qa.captureId,
      status: qa.status,
      verdict: latest?.verdict ?? null,
      runId: latest?.runId ?? null,
      createdAtNs: latest ? latest.createdAtNs.toString() : null,
      reasons: jsonify(latest?.reasons ?? []),
      history: jsonify(qa.history),
      contractChecks: jsonify(qa.contractChecks) as unknown[],
      overrides: qa.overrides.map((o) => ({
        runId: o.runId,
        actor: o.actor,
        reason: o.reason,
        atNs: o.atNs.toString(),
      })),
    };
  },
  async getCaptureDrift(strata, { params }) {
    return jsonify(await captureDrift(strata, params.captureId));
  },
  async searchScenes(strata, { query }) {
    const result = await searchScenes(strata, {
      query: query.q,
      limit: query.limit,
      explain: query.explain === "true",
      includeQuarantined: query.includeQuarantined === "true",
    });
    return {
      plan: jsonify(result.plan),
      explain: result.explain === undefined ? undefined : jsonify(result.explain),
      latencyMs: result.latencyMs,
      hits: result.hits.map(({ vector: _vector, ...hit }) => ({
        ...jsonify(hit),
        features: jsonify(hit.features) as Record<string, unknown>,
      })),
    };
  },
  async listDatasets(strata) {
    return { datasets: jsonify(await listDatasetVersions(strata)) };
  },
  async diffDatasetVersions(strata, { query }) {
    const diff = await diffDatasetVersions(strata, query.from, query.to);
    const item = ({ index, item }: (typeof diff.added)[number]) => ({
      index,
      captureId: item.captureId,
      startNs: item.startNs.toString(),
      endNs: item.endNs.toString(),
      topics: item.topics,
      sceneId: item.sceneId ?? null,
      split: item.split,
    });
    return {
      fromVersionId: diff.fromVersionId,
      toVersionId: diff.toVersionId,
      added: diff.added.map(item),
      removed: diff.removed.map(item),
      changed: diff.changed.map((c) => ({ before: item(c.before), after: item(c.after), fields: c.fields })),
      unchangedCount: diff.unchangedCount,
      manifest: jsonify(diff.manifest),
      byCapture: diff.byCapture.map((c) => ({
        captureId: c.captureId,
        addedNs: c.addedNs.toString(),
        removedNs: c.removedNs.toString(),
      })),
      byTopic: diff.byTopic.map((t) => ({
        topic: t.topic,
        addedNs: t.addedNs.toString(),
        removedNs: t.removedNs.toString(),
      })),
    };
  },
  async getDatasetSplits(strata, { params }) {
    const view = await datasetSplits(strata, params.versionId);
    return {
      ...view,
      splitPolicy: view.splitPolicy === null ? null : { ...view.splitPolicy },
      splits: view.splits.map((s) => ({ ...s, durationNs: s.durationNs.toString() })),
      leakage: jsonify(view.leakage),
    };
  },
  async getLineageGraph(strata, { query }) {
    const graph = await lineageView(strata, {
      ...(query.of === undefined ? {} : { of: query.of }),
      maxNodes: query.maxNodes,
      verify: query.verify === "true",
    });
    return {
      rootId: graph.rootId,
      nodes: graph.nodes.map((n) => ({
        id: n.id,
        kind: String(n.kind),
        key: n.key,
        label: n.label,
        attributes: jsonify(n.attributes) as Record<string, unknown>,
      })),
      edges: graph.edges.map(({ from, to, relation }) => ({ from, to, relation })),
      truncated: graph.truncated,
    };
  },
  async listTrajectories(strata, { query }) {
    const trajectories = await trajectoryMap(strata, {
      ...(query.captureIds === undefined ? {} : { captureIds: query.captureIds }),
      limit: query.limit,
      maxPoints: query.maxPoints,
    });
    return {
      trajectories: trajectories.map((t) => ({ ...t, startNs: t.startNs?.toString() ?? null })),
    };
  },
  async getCockpit(strata) {
    return jsonify(await cockpitFigures(strata));
  },
  async whoAmI(_strata, _input, principal) {
    const { tokenId, name, role } = requirePrincipal(principal);
    return { tokenId, name, role };
  },
  async listTokens(strata) {
    const tokens = await strata.catalog.listTokens();
    return {
      tokens: tokens.map((t) => ({
        tokenId: t.tokenId,
        name: t.name,
        role: t.role as Role,
        createdAtNs: t.createdAtNs.toString(),
        revokedAtNs: t.revokedAtNs?.toString() ?? null,
      })),
    };
  },
  async createToken(strata, { body }) {
    const created = await strata.tokens.create(body.name, body.role);
    return { tokenId: created.tokenId, name: body.name, role: created.role, token: created.token };
  },
  async revokeToken(strata, { params }, _principal, { forgetTokens }) {
    const revoked = await strata.catalog.revokeToken(params.tokenId);
    forgetTokens();
    return {
      tokenId: revoked.tokenId,
      name: revoked.name,
      role: revoked.role as Role,
      createdAtNs: revoked.createdAtNs.toString(),
      revokedAtNs: revoked.revokedAtNs?.toString() ?? null,
    };
  },
  async metrics(_strata, _input, _principal, { metrics }) {
    return await metrics.registry.render();
  },
};
