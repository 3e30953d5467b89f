/**
 * A typed client for every route of the route table, driven by its types: `client.<routeId>(input)`.
 * Uses only `fetch`, so it runs in Node 20+, browsers, Deno and Bun alike.
 */
import {
  type InputOf,
  type RequestKindOf,
  type ResponseKindOf,
  type ResponseOf,
  type RouteId,
  type RouteSpec,
  routes,
} from "../api/index.ts";

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:8080` (no trailing `/api`). */
  baseUrl: string;
  /** An API token from `strata token create` (omit for public routes only). */
  token?: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

/** Bytes for upload routes: a Blob/File (e.g. Node's `fs.openAsBlob(path)`), bytes, or a byte stream. */
export type UploadData = Blob | ArrayBuffer | Uint8Array | ReadableStream<Uint8Array>;

export interface CallOptions {
  signal?: AbortSignal;
}

/** A coded error returned by the server (`code` is a `STRATA_E_*` code, `status` the HTTP status). */
export class StrataApiError extends Error {
  override readonly name = "StrataApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

type CallInput<R extends RouteId> =
  RequestKindOf<R> extends "octet-stream" ? InputOf<R> & { data: UploadData } : InputOf<R>;

type CallResult<R extends RouteId> =
  ResponseKindOf<R> extends "ndjson" ? AsyncIterable<ResponseOf<R>> : Promise<ResponseOf<R>>;

/** Input is optional when every field of it is. */
type Method<R extends RouteId> =
  Record<string, never> extends CallInput<R>
    ? (input?: CallInput<R>, options?: CallOptions) => CallResult<R>
    : (input: CallInput<R>, options?: CallOptions) => CallResult<R>;

export type StrataClient = { [R in RouteId]: Method<R> };

export function createClient(options: ClientOptions): StrataClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const client: Record<string, unknown> = {};
  for (const [routeId, route] of Object.entries(routes) as [RouteId, RouteSpec][]) {
    const send = (input: Record<string, unknown> = {}, call: CallOptions = {}): Promise<Response> => {
      const request = buildRequest(route, input, options);
      return doFetch(`${baseUrl}${request.path}`, { ...request.init, signal: call.signal }).then(
        async (res) => {
          if (!res.ok) throw await toApiError(res);
          return res;
        },
      );
    };
    client[routeId] =
      route.responseKind === "ndjson"
        ? (input?: Record<string, unknown>, call?: CallOptions) => ndjsonLines(() => send(input, call))
        : async (input?: Record<string, unknown>, call?: CallOptions) => {
            const res = await send(input, call);
            return route.responseKind === "text" ? await res.text() : await res.json();
          };
  }
  return client as StrataClient;
}

function shapeKeys(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

function buildRequest(
  route: RouteSpec,
  input: Record<string, unknown>,
  options: ClientOptions,
): { path: string; init: RequestInit & { duplex?: "half" } } {
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const path = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const value = input[name];
    if (value === undefined || value === "") throw new TypeError(`missing path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
  const search = new URLSearchParams();
  for (const key of shapeKeys(route.query)) {
    const value = input[key];
    if (value === undefined || value === null) continue;
    search.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  const query = search.toString();
  const init: RequestInit & { duplex?: "half" } = { method: route.method.toUpperCase(), headers };
  if (route.requestKind === "octet-stream") {
    const data = input.data as UploadData | undefined;
    if (data === undefined) throw new TypeError("missing data (the bytes to upload)");
    headers["content-type"] = "application/octet-stream";
    init.body = data as NonNullable<RequestInit["body"]>;
    // Streams need half-duplex in Node's fetch; Blobs and bytes do not.
    if (typeof ReadableStream !== "undefined" && data instanceof ReadableStream) init.duplex = "half";
  } else if (route.body) {
    const body: Record<string, unknown> = {};
    for (const key of shapeKeys(route.body)) if (input[key] !== undefined) body[key] = input[key];
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return { path: query ? `${path}?${query}` : path, init };
}

async function toApiError(res: Response): Promise<StrataApiError> {
  const text = await res.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; hint: string } };
    return new StrataApiError(res.status, error.code, error.message, error.hint);
  } catch {
    return new StrataApiError(res.status, "STRATA_E_HTTP", `HTTP ${res.status}: ${text.slice(0, 200)}`, "");
  }
}

/** Parses an NDJSON response lazily; breaking out of `for await` cancels the request. */
function ndjsonLines<T>(open: () => Promise<Response>): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      const res = await open();
      if (!res.body) return;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffered = "";
      let finished = false;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
          let newline = buffered.indexOf("\n");
          while (newline >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            if (line.trim() !== "") yield parseLine<T>(line, res.status);
            newline = buffered.indexOf("\n");
          }
          if (done) break;
        }
        if (buffered.trim() !== "") yield parseLine<T>(buffered, res.status);
        finished = true;
      } finally {
        if (!finished) await reader.cancel().catch(() => undefined);
        else reader.releaseLock();
      }
    },
  };
}

function parseLine<T>(line: string, status: number): T {
  const value = JSON.parse(line) as T & { error?: { code: string; message: string; hint: string } };
  // A failure after the stream started arrives as a last line `{"error": {...}}`.
  if (value && typeof value === "object" && value.error && Object.keys(value).length === 1) {
    throw new StrataApiError(status, value.error.code, value.error.message, value.error.hint);
  }
  return value;
}
