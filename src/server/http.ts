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
import type { Strata, TokenPrincipal } from "../app/index.ts";
import { StrataError, toStrataError } from "../core/index.ts";
import { docsPage } from "./docs-page.ts";
import { handlers } from "./handlers.ts";

export interface HttpAppOptions {
  /** Built web UI to serve at `/` (web/dist); omitted → no UI. */
  webRoot?: string;
  version: string;
}

type Env = { Variables: { principal: TokenPrincipal | undefined } };

/** Token lookups are cached briefly so each request costs no catalog round trip; revocation wins within 2 s. */
const TOKEN_CACHE_MS = 2000;

export function createHttpApp(strata: Strata, options: HttpAppOptions): Hono<Env> {
  const app = new Hono<Env>();
  const tokenCache = new Map<string, { principal: TokenPrincipal | undefined; atMs: number }>();

  const authenticate = async (c: Context<Env>): Promise<TokenPrincipal | undefined> => {
    const header = c.req.header("authorization");
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match?.[1]) return undefined;
    const tokenHash = createHash("sha256").update(match[1]).digest("hex");
    const cached = tokenCache.get(tokenHash);
    if (cached && Date.now() - cached.atMs < TOKEN_CACHE_MS) return cached.principal;
    const principal = await strata.tokens.authenticate(match[1]);
    tokenCache.set(tokenHash, { principal, atMs: Date.now() });
    return principal;
  };

  app.onError((error, c) => {
    const strataError = toStrataError(error);
    const { code, message, hint } = strataError.toJSON();
    return c.json({ error: { code, message, hint } }, strataError.httpStatus as 400);
  });

  app.get("/openapi.json", (c) => c.json(openApiDocument(options.version)));
  app.get("/docs", (c) => c.html(docsPage()));

  for (const [routeId, route] of Object.entries(routes) as [RouteId, RouteSpec][]) {
    const honoPath = route.path.replace(/\{(\w+)\}/g, ":$1");
    const handler = handlers[routeId];
    app.on(route.method.toUpperCase(), honoPath, async (c) => {
      const principal = route.role === "public" ? undefined : await authenticate(c);
      if (route.role !== "public") {
        if (!principal) throw new StrataError("STRATA_E_UNAUTHENTICATED");
        if (!roleAllows(principal.role as Role, route.role)) {
          await audit(strata, principal, route, c, "denied");
          throw new StrataError(
            "STRATA_E_FORBIDDEN",
            `${route.method.toUpperCase()} ${route.path} needs role ${route.role}`,
          );
        }
      }
      const input = {
        params: route.params ? parse(route.params, c.req.param(), "path parameters") : {},
        query: route.query ? parse(route.query, c.req.query(), "query") : {},
        body: route.body ? parse(route.body, await c.req.json().catch(() => undefined), "body") : undefined,
      };
      try {
        const result = await handler(strata, input as never, principal);
        if (principal) await audit(strata, principal, route, c, "ok");
        return c.json(result as object);
      } catch (error) {
        if (principal) await audit(strata, principal, route, c, toStrataError(error).code);
        throw error;
      }
    });
  }

  if (options.webRoot && existsSync(options.webRoot)) mountWeb(app, options.webRoot);
  return app;
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
  strata: Strata,
  principal: TokenPrincipal,
  route: RouteSpec,
  c: Context<Env>,
  outcome: string,
): Promise<void> {
  if (!route.audit) return;
  await strata.audit.append({
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
