/**
 * QueryPlan: the plain, printable object every scene search becomes before anything runs. The builder
 * (`scenes()…`) and the text parser (`parseQuery`) both produce it; `SceneIndex.query` executes it and
 * `SceneIndex.explain` describes how.
 */
import { StrataError } from "../core/index.ts";
import { type GraphPattern, formatGraphPattern } from "./graph.ts";
import { type FilterField, fieldKind } from "./schema.ts";

export type ComparisonOp = "=" | "!=" | "<" | "<=" | ">" | ">=";
export const COMPARISON_OPS: readonly ComparisonOp[] = ["<=", ">=", "!=", "=", "<", ">"];

export type PredicateValue = number | bigint | string | boolean | null;

export interface FieldPredicate {
  field: FilterField;
  op: ComparisonOp;
  /** `null` only with `=` / `!=` (is null / is not null). Ns fields take bigint. */
  value: PredicateValue;
}

export type NearTarget = { kind: "vector"; vector: number[] } | { kind: "scene"; sceneId: string };

export interface NearClause {
  target: NearTarget;
  /** How many nearest scenes (after all other predicates); defaults to the plan's limit, else 10. */
  k: number;
  /** A bring-your-own-model vector set (see `attachVectors`); absent = the built-in embedding. */
  embedder?: string;
}

export interface PointM {
  xM: number;
  yM: number;
}

export type SpatialRegion =
  | { kind: "circle"; xM: number; yM: number; radiusM: number }
  | { kind: "polygon"; verticesM: PointM[] };

/** ENU yaw range: 0° = +x (east), 90° = +y (north), counter-clockwise. */
export interface HeadingRange {
  centerDeg: number;
  toleranceDeg: number;
}

export interface QueryPlan {
  predicates: FieldPredicate[];
  /** Every tag listed must be on the scene. */
  tags: string[];
  near?: NearClause;
  /** The scene's trajectory passes through the region. */
  within?: SpatialRegion;
  /** While inside `within` (or anywhere, without it), the ego's yaw lies in the range. */
  heading?: HeadingRange;
  graph: GraphPattern[];
  limit?: number;
  includeQuarantined: boolean;
}

export const DEFAULT_K = 10;

export function emptyPlan(): QueryPlan {
  return { predicates: [], tags: [], graph: [], includeQuarantined: false };
}

function usage(detail: string): StrataError {
  return new StrataError("STRATA_E_USAGE", `scene query: ${detail}`);
}

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/;
const EMBEDDER_RE = /^[a-z][a-z0-9_]{0,62}$/;

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function isValidEmbedderName(name: string): boolean {
  return EMBEDDER_RE.test(name);
}

/** Throws STRATA_E_USAGE naming the first thing wrong with a plan; returns the plan otherwise. */
export function validatePlan(plan: QueryPlan): QueryPlan {
  for (const p of plan.predicates) {
    const kind = fieldKind(p.field);
    if (kind === undefined) throw usage(`unknown field "${p.field}"`);
    if (!COMPARISON_OPS.includes(p.op)) throw usage(`unknown operator "${p.op}"`);
    if (p.value === null) {
      if (p.op !== "=" && p.op !== "!=")
        throw usage(`${p.field} ${p.op} null: only = and != compare with null`);
      continue;
    }
    if (kind === "string" && typeof p.value !== "string") throw usage(`${p.field} takes a string`);
    if (kind === "ns" && typeof p.value !== "bigint") throw usage(`${p.field} takes integer nanoseconds`);
    if (kind === "number" && (typeof p.value !== "number" || !Number.isFinite(p.value))) {
      throw usage(`${p.field} takes a finite number`);
    }
  }
  for (const tag of plan.tags) if (!isValidTag(tag)) throw usage(`"${tag}" is not a valid tag`);
  if (plan.near) {
    const { target, k, embedder } = plan.near;
    if (!Number.isInteger(k) || k < 1) throw usage(`k must be a positive integer, got ${k}`);
    if (embedder !== undefined && !isValidEmbedderName(embedder)) {
      throw usage(`"${embedder}" is not an embedder name (lowercase letters, digits, _)`);
    }
    if (target.kind === "vector") {
      if (target.vector.length === 0 || !target.vector.every(Number.isFinite)) {
        throw usage("near: the vector must be non-empty and finite");
      }
    } else if (target.sceneId.length === 0) throw usage("near: empty scene id");
  }
  if (plan.within) {
    const w = plan.within;
    if (w.kind === "circle") {
      if (![w.xM, w.yM, w.radiusM].every(Number.isFinite) || w.radiusM < 0) {
        throw usage("within: the centre must be finite and the radius a non-negative number of metres");
      }
    } else if (
      w.verticesM.length < 3 ||
      !w.verticesM.every((v) => Number.isFinite(v.xM) && Number.isFinite(v.yM))
    ) {
      throw usage("within: a polygon needs at least 3 finite vertices");
    }
  }
  if (plan.heading) {
    const { centerDeg, toleranceDeg } = plan.heading;
    if (
      !Number.isFinite(centerDeg) ||
      !Number.isFinite(toleranceDeg) ||
      toleranceDeg < 0 ||
      toleranceDeg > 180
    ) {
      throw usage("heading: the tolerance must lie in [0, 180] degrees");
    }
  }
  if (plan.limit !== undefined && (!Number.isInteger(plan.limit) || plan.limit < 1)) {
    throw usage(`limit must be a positive integer, got ${plan.limit}`);
  }
  return plan;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(value);
}

function formatValue(value: PredicateValue): string {
  if (value === null) return "null";
  if (typeof value === "string")
    return /^[A-Za-z_][A-Za-z0-9_.:/-]*$/.test(value) && !isKeyword(value) ? value : JSON.stringify(value);
  return String(value);
}

function isKeyword(word: string): boolean {
  return word === "and" || word === "true" || word === "false" || word === "null";
}

/** The canonical text form of a plan; `parseQuery(formatQuery(plan))` equals `plan`. */
export function formatQuery(plan: QueryPlan): string {
  const parts: string[] = [];
  for (const p of plan.predicates) parts.push(`${p.field} ${p.op} ${formatValue(p.value)}`);
  for (const tag of plan.tags) parts.push(`tag:${tag}`);
  if (plan.near) {
    const { target } = plan.near;
    parts.push(
      target.kind === "scene"
        ? `near:${formatValue(target.sceneId)}`
        : `near:[${target.vector.map(formatNumber).join(", ")}]`,
    );
    parts.push(`k:${plan.near.k}`);
    if (plan.near.embedder !== undefined) parts.push(`using:${plan.near.embedder}`);
  }
  if (plan.within) {
    const w = plan.within;
    parts.push(
      w.kind === "circle"
        ? `within:(${w.xM}, ${w.yM}, ${w.radiusM}m)`
        : `within:polygon(${w.verticesM.map((v) => `${v.xM} ${v.yM}`).join(", ")})`,
    );
  }
  if (plan.heading) parts.push(`heading:${plan.heading.centerDeg}±${plan.heading.toleranceDeg}`);
  for (const g of plan.graph) parts.push(`graph:${JSON.stringify(formatGraphPattern(g))}`);
  if (plan.limit !== undefined) parts.push(`limit:${plan.limit}`);
  if (plan.includeQuarantined) parts.push("include:quarantined");
  return parts.join(" and ");
}

/** The plan as JSON-safe data (bigint as decimal strings), for logs, `--json` and the API. */
export function planToJson(plan: QueryPlan): unknown {
  return JSON.parse(
    JSON.stringify(plan, (_key, value) => (typeof value === "bigint" ? value.toString() : value)),
  );
}
