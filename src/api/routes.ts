/**
 * The route table: the single description of the HTTP API. The server mounts it, the OpenAPI
 * document is generated from it, and the SDK's typed client is driven by it.
 */
import { z } from "zod";
import * as s from "./schemas.ts";

export interface RouteSpec {
  method: "get" | "post" | "delete";
  /** OpenAPI-style path with `{param}` placeholders. */
  path: string;
  summary: string;
  /** Least role allowed; `public` routes need no token. */
  role: s.Role | "public";
  /** What the audit log records for this route (reads and changes of data are audited). */
  audit?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  response: z.ZodType;
  /** Free-form tag used to group routes in the docs. */
  tag: string;
}

export const routes = {
  health: {
    method: "get",
    path: "/health",
    summary: "Liveness check",
    role: "public",
    response: s.Health,
    tag: "system",
  },
  listCaptures: {
    method: "get",
    path: "/api/captures",
    summary: "List captures (newest first)",
    role: "viewer",
    audit: "capture.list",
    query: s.CaptureListQuery,
    response: s.CaptureList,
    tag: "captures",
  },
  getCapture: {
    method: "get",
    path: "/api/captures/{captureId}",
    summary: "One capture with its files and per-topic statistics",
    role: "viewer",
    audit: "capture.read",
    params: s.CaptureIdParams,
    response: s.CaptureDetail,
    tag: "captures",
  },
  getCaptureHistogram: {
    method: "get",
    path: "/api/captures/{captureId}/histogram",
    summary: "Per-topic message counts over time (sensor-health timeline)",
    role: "viewer",
    audit: "capture.read",
    params: s.CaptureIdParams,
    response: s.Histogram,
    tag: "captures",
  },
  listRuns: {
    method: "get",
    path: "/api/runs",
    summary: "Lineage runs (newest first)",
    role: "viewer",
    audit: "run.list",
    query: s.ListQuery,
    response: s.RunList,
    tag: "lineage",
  },
  listAudit: {
    method: "get",
    path: "/api/audit",
    summary: "The hash-chained audit log (newest first) and whether the chain verifies",
    role: "steward",
    audit: "audit.list",
    query: s.ListQuery,
    response: s.AuditList,
    tag: "governance",
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof routes;
export type ResponseOf<R extends RouteId> = z.infer<(typeof routes)[R]["response"]>;

const ROLE_RANK: Record<s.Role, number> = { viewer: 0, engineer: 1, steward: 2, admin: 3 };

export function roleAllows(actual: s.Role, required: s.Role | "public"): boolean {
  return required === "public" || ROLE_RANK[actual] >= ROLE_RANK[required];
}

/** The OpenAPI 3.1 document for the route table. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [operationId, route] of Object.entries(routes) as [string, RouteSpec][]) {
    const parameters: unknown[] = [];
    for (const [where, shape] of [
      ["path", route.params],
      ["query", route.query],
    ] as const) {
      if (!shape) continue;
      const schema = z.toJSONSchema(shape, { io: "input" }) as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, propertySchema] of Object.entries(schema.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === "path" || (schema.required ?? []).includes(name),
          schema: propertySchema,
        });
      }
    }
    const operation: Record<string, unknown> = {
      operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters,
      security: route.role === "public" ? [] : [{ bearer: [] }],
      "x-strata-role": route.role,
      responses: {
        "200": {
          description: "OK",
          content: { "application/json": { schema: z.toJSONSchema(route.response, { io: "output" }) } },
        },
        default: {
          description: "A coded error",
          content: { "application/json": { schema: z.toJSONSchema(s.ErrorBody) } },
        },
      },
    };
    if (route.body) {
      operation.requestBody = {
        required: true,
        content: { "application/json": { schema: z.toJSONSchema(route.body, { io: "input" }) } },
      };
    }
    const openApiPath = route.path;
    paths[openApiPath] = { ...(paths[openApiPath] ?? {}), [route.method]: operation };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Strata API", version, description: "Ingest, search, version and govern robot logs." },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API token from `strata token create`" },
      },
    },
    paths,
  };
}
