/** One handler per route of the route table; each takes validated input and returns the response shape. */
import type { ResponseOf, RouteId } from "../api/index.ts";
import {
  captureDetail,
  jsonify,
  presentCapture,
  requireCapture,
  type Strata,
  type TokenPrincipal,
} from "../app/index.ts";

export interface HandlerInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

type Handler<R extends RouteId> = (
  strata: Strata,
  input: HandlerInput,
  principal: TokenPrincipal | undefined,
) => Promise<ResponseOf<R>>;

export const handlers: { [R in RouteId]: Handler<R> } = {
  async health(strata) {
    return { status: "ok", version: strata.codeVersion };
  },
  async listCaptures(strata, { query }) {
    const filter = {
      site: query.site as string | undefined,
      rig: query.rig as string | undefined,
      status: query.status as never,
    };
    const [records, total] = await Promise.all([
      strata.catalog.listCaptures({
        ...filter,
        limit: query.limit as number,
        offset: query.offset as number,
      }),
      strata.catalog.countCaptures(filter),
    ]);
    return { captures: records.map(presentCapture), total };
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
};
