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
  /** How the request body travels: JSON validated by `body` (default), or raw bytes (uploads). */
  requestKind?: "json" | "octet-stream";
  /** `json` (default): one value; `ndjson`: a stream of lines each matching `response`; `text`: plain text. */
  responseKind?: "json" | "ndjson" | "text";
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
  uploadCapture: {
    method: "post",
    path: "/api/captures",
    summary:
      "Upload one log file (raw bytes, application/octet-stream) and ingest it; the same bytes twice are one capture",
    role: "engineer",
    audit: "capture.upload",
    query: s.UploadQuery,
    requestKind: "octet-stream",
    response: s.IngestResult,
    tag: "captures",
  },
  getCaptureMessages: {
    method: "get",
    path: "/api/captures/{captureId}/messages",
    summary: "Decoded messages of a capture in a time window, streamed as NDJSON in log-time order",
    role: "viewer",
    audit: "capture.messages",
    params: s.CaptureIdParams,
    query: s.MessagesQuery,
    responseKind: "ndjson",
    response: s.MessageLine,
    tag: "captures",
  },
  getCaptureQa: {
    method: "get",
    path: "/api/captures/{captureId}/qa",
    summary:
      "The capture's latest QA verdict with its reasons (topic, check, time window), history and overrides",
    role: "viewer",
    audit: "capture.qa.read",
    params: s.CaptureIdParams,
    response: s.CaptureQa,
    tag: "captures",
  },
  getCaptureDrift: {
    method: "get",
    path: "/api/captures/{captureId}/drift",
    summary: "The calibration the capture was recorded with and the extrinsic drift found in it",
    role: "viewer",
    audit: "capture.drift.read",
    params: s.CaptureIdParams,
    response: s.CaptureDrift,
    tag: "captures",
  },
  searchScenes: {
    method: "get",
    path: "/api/search",
    summary:
      "Scene search: metadata filters, tags, vector similarity, spatial and scene-graph patterns in one query",
    role: "viewer",
    audit: "scene.search",
    query: s.SearchQuery,
    response: s.SearchResult,
    tag: "search",
  },
  listDatasets: {
    method: "get",
    path: "/api/datasets",
    summary: "Datasets with their immutable, content-addressed versions",
    role: "viewer",
    audit: "dataset.list",
    response: s.DatasetList,
    tag: "datasets",
  },
  diffDatasetVersions: {
    method: "get",
    path: "/api/datasets/diff",
    summary: "Diff of two dataset versions: items added, removed and changed, and coverage gained or lost",
    role: "viewer",
    audit: "dataset.diff",
    query: s.DatasetDiffQuery,
    response: s.DatasetDiff,
    tag: "datasets",
  },
  getDatasetSplits: {
    method: "get",
    path: "/api/datasets/versions/{versionId}/splits",
    summary: "A dataset version's splits (items, captures, duration per split) and its leakage check",
    role: "viewer",
    audit: "dataset.splits.read",
    params: s.VersionIdParams,
    response: s.DatasetSplits,
    tag: "datasets",
  },
  getLineageGraph: {
    method: "get",
    path: "/api/lineage/graph",
    summary:
      "The lineage graph of a dataset version, sample, capture or run (raw blobs → captures → runs → scenes → versions), or of the whole catalog",
    role: "viewer",
    audit: "lineage.graph",
    query: s.LineageGraphQuery,
    response: s.LineageGraph,
    tag: "lineage",
  },
  listTrajectories: {
    method: "get",
    path: "/api/trajectories",
    summary:
      "Captures' primary ego-motion trajectories, thinned to a few hundred points each (the search map)",
    role: "viewer",
    audit: "trajectory.list",
    query: s.TrajectoryMapQuery,
    response: s.TrajectoryMap,
    tag: "search",
  },
  getCockpit: {
    method: "get",
    path: "/api/metrics/cockpit",
    summary:
      "Time-to-scenario and time-to-first-dataset per capture, from the catalog's recorded ingest, scene and dataset runs",
    role: "viewer",
    audit: "metrics.cockpit.read",
    response: s.Cockpit,
    tag: "system",
  },
  whoAmI: {
    method: "get",
    path: "/api/me",
    summary: "The token's identity and role (the web UI's sign-in check)",
    role: "viewer",
    response: s.Principal,
    tag: "system",
  },
  listTokens: {
    method: "get",
    path: "/api/tokens",
    summary: "API tokens (never their secrets)",
    role: "admin",
    audit: "token.list",
    response: s.ApiTokenList,
    tag: "governance",
  },
  createToken: {
    method: "post",
    path: "/api/tokens",
    summary: "Create an API token; the secret is returned once",
    role: "admin",
    audit: "token.create",
    body: s.TokenCreate,
    response: s.TokenCreated,
    tag: "governance",
  },
  revokeToken: {
    method: "delete",
    path: "/api/tokens/{tokenId}",
    summary: "Revoke an API token (idempotent)",
    role: "admin",
    audit: "token.revoke",
    params: s.TokenIdParams,
    response: s.ApiToken,
    tag: "governance",
  },
  metrics: {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics: request latency per route, ingest throughput, ingest queue depth",
    role: "viewer",
    responseKind: "text",
    response: s.MetricsText,
    tag: "system",
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteId = keyof typeof routes;
export type RouteOf<R extends RouteId> = (typeof routes)[R];
/** The response (for `ndjson` routes: one line of the stream). */
export type ResponseOf<R extends RouteId> = z.infer<(typeof routes)[R]["response"]>;

type InputPart<Route, Key extends string> = Route extends { [K in Key]: infer S extends z.ZodType }
  ? z.input<S>
  : unknown;
/**
 * What a caller passes for route R: path parameters, query and JSON body merged into one object
 * (the route table keeps their names distinct). Raw-body routes take their bytes separately.
 */
export type InputOf<R extends RouteId> = InputPart<RouteOf<R>, "params"> &
  InputPart<RouteOf<R>, "query"> &
  InputPart<RouteOf<R>, "body">;
type OutputPart<Route, Key extends string> = Route extends { [K in Key]: infer S extends z.ZodType }
  ? z.output<S>
  : Record<string, never>;
/** Route R's input after validation (what the server's handler receives). */
export interface ParsedInputOf<R extends RouteId> {
  params: OutputPart<RouteOf<R>, "params">;
  query: OutputPart<RouteOf<R>, "query">;
  body: OutputPart<RouteOf<R>, "body">;
}
export type ResponseKindOf<R extends RouteId> = RouteOf<R> extends { responseKind: infer K } ? K : "json";
export type RequestKindOf<R extends RouteId> = RouteOf<R> extends { requestKind: infer K } ? K : "json";

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
    const responseSchema = z.toJSONSchema(route.response, { io: "output" });
    const responseContent =
      route.responseKind === "ndjson"
        ? { "application/x-ndjson": { schema: responseSchema, "x-strata-stream": "one JSON value per line" } }
        : route.responseKind === "text"
          ? { "text/plain": { schema: responseSchema } }
          : { "application/json": { schema: responseSchema } };
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
          content: responseContent,
        },
        default: {
          description: "A coded error",
          content: { "application/json": { schema: z.toJSONSchema(s.ErrorBody) } },
        },
      },
    };
    if (route.requestKind === "octet-stream") {
      operation.requestBody = {
        required: true,
        content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
      };
    } else if (route.body) {
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
