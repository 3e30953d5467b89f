/**
 * The HTTP API: mounts the route table from `src/api`, authenticates every non-public route with an
 * API token, checks the route's role, audits reads and changes, and maps coded errors to statuses.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { Hono, type Context } from "hono";
import {
  type RouteId,
  type RouteSpec,
  openApiDocument,
  roleAllows,
  routes,
  type Role,
} from "../api/index.ts";
import { type AuditBatcher, createAuditBatcher, type Strata, type TokenPrincipal } from "../app/index.ts";
import { StrataError, toStrataError } from "../core/index.ts";
import { docsPage } from "./docs-page.ts";
import { type HandlerInput, ListCache, type ServerServices, handlers } from "./handlers.ts";
import { IngestSlots, serverMetrics } from "./metrics.ts";

export interface HttpAppOptions {
  /** Built web UI to serve at `/` (web/dist); omitted → no UI. */
  webRoot?: string;
  version: string;
  /** Largest accepted upload in bytes (default: no limit beyond the disk). */
  maxUploadBytes?: number;
  /** Ingests that may run at once; further uploads wait in the ingest queue (default 1). */
  ingestConcurrency?: number;
  /** How long identical capture listings are served from memory (default 500 ms; 0 = off). */
  listCacheMs?: number;
}

type Env = { Variables: { principal: TokenPrincipal | undefined } };

/** Token lookups are cached briefly so each request costs no catalog round trip; revocation wins within 2 s. */
const TOKEN_CACHE_MS = 2000;

export function createHttpApp(strata: Strata, options: HttpAppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const tokenCache = new Map<string, { principal: TokenPrincipal | undefined; atMs: number }>();
  const metrics = serverMetrics(() => strata.catalog.countCaptures());
  const auditLog = createAuditBatcher(strata);
  const services: ServerServices = {
    metrics,
    ingestSlots: new IngestSlots(options.ingestConcurrency ?? 1, metrics.queueDepth),
    forgetTokens: () => tokenCache.clear(),
    maxUploadBytes: options.maxUploadBytes,
    listCache: new ListCache(options.listCacheMs ?? 500),
  };

  const authenticate = async (c: Context<Env>): Promise<TokenPrincipal | undefined> => {
    const header = c.req.header("authorization");
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) return undefined;
    const tokenHash = createHash("sha256").update(match[1]).digest("hex");
    const cached = tokenCache.get(tokenHash);
    if (cached && Date.now() - cached.atMs < TOKEN_CACHE_MS) return cached.principal;
    const principal = await strata.tokens.authenticate(match[1]);
    if (tokenCache.size > 10_000) tokenCache.clear();
    tokenCache.set(tokenHash, { principal, atMs: Date.now() });
    return principal;
  };

  app.onError((error, c) => {
    const strataError = toStrataError(error);
    const { code, message, hint } = strataError.toJSON();
    return c.json({ error: { code, message, hint } }, strataError.httpStatus as 400);
  });

  /** Records the latency of `respond` (to response headers) under the route's template. */
  const timed =
    (method: string, routePath: string, respond: (c: Context<Env>) => Promise<Response> | Response) =>
    async (c: Context<Env>): Promise<Response> => {
      const startedAt = performance.now();
      let status = 500;
      try {
        const response = await respond(c);
        status = response.status;
        return response;
      } catch (error) {
        status = toStrataError(error).httpStatus;
        throw error;
      } finally {
        metrics.requestDuration.observe(
          { method, route: routePath, status: String(status) },
          (performance.now() - startedAt) / 1000,
        );
      }
    };

  app.get(
    "/openapi.json",
    timed("GET", "/openapi.json", (c) => c.json(openApiDocument(options.version))),
  );
  app.get(
    "/docs",
    timed("GET", "/docs", (c) => c.html(docsPage())),
  );

  for (const [routeId, route] of Object.entries(routes) as [RouteId, RouteSpec][]) {
    const honoPath = route.path.replace(/\{(\w+)\}/g, ":$1");
    const handler = handlers[routeId] as (
      strata: Strata,
      input: HandlerInput,
      principal: TokenPrincipal | undefined,
      services: ServerServices,
    ) => Promise<unknown>;
    const method = route.method.toUpperCase();
    app.on(
      method,
      honoPath,
      timed(method, route.path, async (c) => {
        const principal = route.role === "public" ? undefined : await authenticate(c);
        if (route.role !== "public") {
          if (!principal) throw new StrataError("STRATA_E_UNAUTHENTICATED");
          if (!roleAllows(principal.role as Role, route.role)) {
            await audit(auditLog, principal, route, c, "denied");
            throw new StrataError("STRATA_E_FORBIDDEN", `${method} ${route.path} needs role ${route.role}`);
          }
        }
        const isRaw = route.requestKind === "octet-stream";
        const input = {
          params: route.params ? parse(route.params, c.req.param(), "path parameters") : {},
          query: route.query ? parse(route.query, c.req.query(), "query") : {},
          body:
            route.body && !isRaw
              ? parse(route.body, await c.req.json().catch(() => undefined), "body")
              : undefined,
          rawBody: isRaw && c.req.raw.body ? chunksOf(c.req.raw.body) : null,
        } as HandlerInput;
        let result: unknown;
        try {
          result = await handler(strata, input, principal, services);
        } catch (error) {
          if (principal) await audit(auditLog, principal, route, c, toStrataError(error).code);
          throw error;
        }
        if (principal) await audit(auditLog, principal, route, c, "ok");
        if (route.responseKind === "ndjson") {
          return new Response(ndjsonStream(result as AsyncIterable<unknown>), {
            headers: { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-store" },
          });
        }
        if (route.responseKind === "text") {
          return c.body(result as string, 200, {
            "content-type": "text/plain; version=0.0.4; charset=utf-8",
          });
        }
        return c.json(result as object);
      }),
    );
  }

  app.all("/api/*", () => {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      "no such API route",
      {},
      { hint: "See /docs for the routes." },
    );
  });

  if (options.webRoot && existsSync(options.webRoot)) mountWeb(app, options.webRoot);
  return app;
}

/** A web byte stream as an async iterable (read chunk by chunk: memory stays at one chunk). */
async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Lines pulled one at a time as the client reads (backpressure); a client that disconnects
 * cancels the stream, which returns the iterator so the log reader closes.
 */
function ndjsonStream(lines: AsyncIterable<unknown>): ReadableStream<Uint8Array> {
  const iterator = lines[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
      } catch (error) {
        // Headers are gone: the error becomes the stream's last line, and the stream ends.
        const { code, message, hint } = toStrataError(error).toJSON();
        controller.enqueue(encoder.encode(`${JSON.stringify({ error: { code, message, hint } })}\n`));
        controller.close();
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

function parse(
  schema: {
    safeParse(v: unknown): {
      success: boolean;
      data?: unknown;
      error?: { issues: { path: PropertyKey[]; message: string }[] };
    };
  },
  value: unknown,
  what: string,
): unknown {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = (result.error?.issues ?? [])
      .map((i) => `${i.path.join(".") || what}: ${i.message}`)
      .join("; ");
    throw new StrataError(
      "STRATA_E_USAGE",
      `invalid ${what}: ${issues}`,
      {},
      { hint: "See /openapi.json for the expected shape." },
    );
  }
  return result.data;
}

async function audit(
  auditLog: AuditBatcher,
  principal: TokenPrincipal,
  route: RouteSpec,
  c: Context<Env>,
  outcome: string,
): Promise<void> {
  if (!route.audit) return;
  await auditLog.append({
    actor: `token:${principal.name}`,
    action: route.audit,
    target: c.req.path,
    details: { method: route.method.toUpperCase(), route: route.path, outcome },
  });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

function mountWeb(app: Hono<Env>, webRoot: string): void {
  const root = path.resolve(webRoot);
  app.get("*", async (c) => {
    const requested = path.resolve(root, `.${decodeURIComponent(new URL(c.req.url).pathname)}`);
    const file =
      requested.startsWith(root) &&
      existsSync(requested) &&
      !requested.endsWith(path.sep) &&
      path.extname(requested)
        ? requested
        : path.join(root, "index.html");
    if (!existsSync(file)) return c.notFound();
    const body = await readFile(file);
    return c.body(body, 200, {
      "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
    });
  });
}
