/**
 * The web UI's HTTP client. Only types come from src/api (the route table's shapes); everything else
 * travels over HTTP with the token kept in sessionStorage.
 */
import type { InputOf, MessageLine, ResponseOf, Role } from "../../src/api/index.ts";

export type { MessageLine, ResponseOf, Role };
export type Capture = ResponseOf<"listCaptures">["captures"][number];
export type CaptureDetail = ResponseOf<"getCapture">;
export type Histogram = ResponseOf<"getCaptureHistogram">;
export type Principal = ResponseOf<"whoAmI">;
export type CaptureQa = ResponseOf<"getCaptureQa">;
export type QaReason = CaptureQa["reasons"][number];
export type LineageGraph = ResponseOf<"getLineageGraph">;
export type DatasetDiff = ResponseOf<"diffDatasetVersions">;
export type DatasetSplits = ResponseOf<"getDatasetSplits">;
export type TrajectoryMap = ResponseOf<"listTrajectories">;
export type Cockpit = ResponseOf<"getCockpit">;

const TOKEN_KEY = "strata.token";

export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const ROLE_RANK: Record<Role, number> = { viewer: 0, engineer: 1, steward: 2, admin: 3 };
export const atLeast = (role: Role, needed: Role): boolean => ROLE_RANK[role] >= ROLE_RANK[needed];

type Query = Record<string, string | number | readonly string[] | undefined>;

function url(path: string, query: Query = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    search.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path: string, init: RequestInit = {}, token = tokenStore.get()): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  const res = await fetch(path, { ...init, headers });
  if (!res.ok) {
    const text = await res.text();
    try {
      const { error } = JSON.parse(text) as { error: { code: string; message: string; hint: string } };
      throw new ApiError(res.status, error.code, error.message, error.hint);
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new ApiError(res.status, "STRATA_E_HTTP", `HTTP ${res.status}`, "");
    }
  }
  return res;
}

const getJson = async <T>(path: string, query?: Query): Promise<T> =>
  (await (await send(url(path, query))).json()) as T;

const enc = encodeURIComponent;

export const api = {
  /** Checks a token before it is stored. */
  signIn: async (token: string): Promise<Principal> =>
    (await (await send("/api/me", {}, token)).json()) as Principal,
  me: () => getJson<Principal>("/api/me"),
  listCaptures: (query: InputOf<"listCaptures"> = {}) =>
    getJson<ResponseOf<"listCaptures">>("/api/captures", query as Query),
  getCapture: (captureId: string) => getJson<CaptureDetail>(`/api/captures/${enc(captureId)}`),
  getQa: (captureId: string) => getJson<CaptureQa>(`/api/captures/${enc(captureId)}/qa`),
  getDrift: (captureId: string) =>
    getJson<ResponseOf<"getCaptureDrift">>(`/api/captures/${enc(captureId)}/drift`),
  getHistogram: (captureId: string) => getJson<Histogram>(`/api/captures/${enc(captureId)}/histogram`),
  listRuns: (query: InputOf<"listRuns"> = {}) => getJson<ResponseOf<"listRuns">>("/api/runs", query as Query),
  listAudit: (query: InputOf<"listAudit"> = {}) =>
    getJson<ResponseOf<"listAudit">>("/api/audit", query as Query),
  search: (query: InputOf<"searchScenes">) =>
    getJson<ResponseOf<"searchScenes">>("/api/search", query as Query),
  listDatasets: () => getJson<ResponseOf<"listDatasets">>("/api/datasets"),
  diffDatasets: (from: string, to: string) => getJson<DatasetDiff>("/api/datasets/diff", { from, to }),
  datasetSplits: (versionId: string) =>
    getJson<DatasetSplits>(`/api/datasets/versions/${enc(versionId)}/splits`),
  lineageGraph: (query: { of?: string; maxNodes?: number } = {}) =>
    getJson<LineageGraph>("/api/lineage/graph", query),
  trajectories: (query: { captureIds?: readonly string[]; limit?: number; maxPoints?: number } = {}) =>
    getJson<TrajectoryMap>("/api/trajectories", query),
  cockpit: () => getJson<Cockpit>("/api/metrics/cockpit"),
  listTokens: () => getJson<ResponseOf<"listTokens">>("/api/tokens"),
  createToken: async (input: InputOf<"createToken">): Promise<ResponseOf<"createToken">> =>
    (await (
      await send("/api/tokens", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(input),
      })
    ).json()) as ResponseOf<"createToken">,
  revokeToken: async (tokenId: string): Promise<ResponseOf<"revokeToken">> =>
    (await (
      await send(`/api/tokens/${enc(tokenId)}`, { method: "DELETE" })
    ).json()) as ResponseOf<"revokeToken">,
  metricsText: async (): Promise<string> => await (await send("/metrics")).text(),
  upload: async (
    file: Blob,
    query: Omit<InputOf<"uploadCapture">, never>,
  ): Promise<ResponseOf<"uploadCapture">> =>
    (await (
      await send(url("/api/captures", query as Query), {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: file,
      })
    ).json()) as ResponseOf<"uploadCapture">,
  /** Decoded messages in a window, parsed as they stream in. */
  async *messages(
    captureId: string,
    query: { topics?: readonly string[]; startNs?: bigint; endNs?: bigint; limit?: number; everyNs?: bigint },
    signal?: AbortSignal,
  ): AsyncGenerator<MessageLine> {
    const res = await send(
      url(`/api/captures/${enc(captureId)}/messages`, {
        topics: query.topics,
        startNs: query.startNs?.toString(),
        endNs: query.endNs?.toString(),
        limit: query.limit,
        everyNs: query.everyNs?.toString(),
      }),
      { signal },
    );
    if (!res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (value) buffered += value;
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (line.trim()) yield parseLine(line);
          newline = buffered.indexOf("\n");
        }
        if (done) break;
      }
      if (buffered.trim()) yield parseLine(buffered);
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  },
};

function parseLine(line: string): MessageLine {
  const value = JSON.parse(line) as MessageLine & { error?: { code: string; message: string; hint: string } };
  if (value.error && value.topic === undefined)
    throw new ApiError(200, value.error.code, value.error.message, value.error.hint);
  return value;
}

export async function collect<T>(lines: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const line of lines) out.push(line);
  return out;
}
