/**
 * The text form of a scene query, for the CLI (`strata search '…'`) and the API. It parses into the same
 * QueryPlan as the builder.
 *
 *   query      = clause { [ "and" | "," ] clause }
 *   clause     = FIELD OP value                       speedMaxMps > 10, site = depot_a, ateRmseM != null
 *              | "tag:" TAG                           the scene carries the tag (repeatable: all required)
 *              | "near:" ( SCENE_ID | "[" NUMBER { "," NUMBER } "]" )
 *              | "k:" INT                             how many nearest (default: limit, else 10)
 *              | "using:" EMBEDDER                    near in a bring-your-own-model vector set
 *              | "within:(" X "," Y "," R [ "m" ] ")" trajectory passes within R metres of (X, Y)
 *              | "within:polygon(" X Y { "," X Y } ")" trajectory passes through the polygon
 *              | "heading:" DEG ( "±" | "+-" ) DEG     ENU yaw while inside the region (0 east, 90 north)
 *              | "graph:" QUOTED                      scene-graph pattern (see graph.ts)
 *              | "limit:" INT
 *              | "include:quarantined"                also scenes of quarantined captures
 *   OP         = "=" | "!=" | "<" | "<=" | ">" | ">="
 *   value      = NUMBER | QUOTED | WORD | true | false | null
 *
 * Ns fields (startNs, endNs) take integer nanoseconds or a quoted ISO-8601 time.
 */
import { StrataError } from "../core/index.ts";
import { parseGraphPattern } from "./graph.ts";
import {
  COMPARISON_OPS,
  type ComparisonOp,
  DEFAULT_K,
  type NearTarget,
  type PointM,
  type PredicateValue,
  type QueryPlan,
  emptyPlan,
  validatePlan,
} from "./plan.ts";
import { FEATURE_NAMES, SCENE_FEATURES, fieldKind, isFilterField } from "./schema.ts";

/** The `--help` section of `strata search`. */
export const SEARCH_QUERY_HELP = `Scene query language

  A query is clauses joined by "and" (or spaces). All clauses must hold.

  FIELD OP VALUE          compare a column: OP is = != < <= > >=
                          speedMaxMps > 10   site = depot_a   ateRmseM != null
                          startNs >= "2024-05-01T00:00:00Z"   (or integer ns)
  tag:NAME                the scene has this tag (repeat for several)
  near:SCENE_ID           the k scenes most similar to a scene (itself excluded)
  near:[0.1, 0.2, ...]    ... or to a vector
  k:N                     how many nearest scenes (default: limit, else 10)
  using:EMBEDDER          search a bring-your-own-model vector set instead of the built-in one
  within:(X, Y, Rm)       the ego trajectory passes within R metres of (X, Y), local ENU metres
  within:polygon(X Y, X Y, X Y, ...)   the trajectory passes through the polygon
  heading:DEG±TOL         while there, the ego yaw is DEG ± TOL degrees (ENU: 0 east, 90 north)
  graph:"PATTERN"         scene-graph pattern: SUBJECT RELATION OBJECT [within Nm] [for Ns]
                          relations: ahead_of behind left_of right_of crossing_path approaching
                          following within_<N>m;  e.g. graph:"pedestrian crossing_path ego within 10m"
  limit:N                 at most N scenes
  include:quarantined     also return scenes of quarantined captures

  Fields: sceneId captureId site rig startNs endNs xM yM headingRad
          ${FEATURE_NAMES.join(" ")}

  Example:
    speedMaxMps > 10 and tag:night near:scene_123 within:(12.5, -3, 50m) heading:90±20
      graph:"pedestrian crossing_path ego within 10m" limit:20
`;

const KEYWORDS = ["tag", "near", "k", "using", "within", "heading", "graph", "limit", "include"] as const;
const WORD_RE = /[A-Za-z0-9_][A-Za-z0-9_.:/-]*/y;
const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER_RE = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/y;
const INT_RE = /[-+]?\d+/y;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(detail: string, at = this.pos): never {
    const pointer = `${this.text}\n${" ".repeat(Math.min(at, this.text.length))}^`;
    throw new StrataError(
      "STRATA_E_USAGE",
      `scene query at column ${at + 1}: ${detail}\n${pointer}`,
      {},
      {
        hint: "Run `strata search --help` for the query language.",
      },
    );
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] ?? "")) this.pos++;
  }

  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }

  peekChar(): string {
    this.skipSpace();
    return this.text[this.pos] ?? "";
  }

  tryLiteral(literal: string): boolean {
    this.skipSpace();
    if (this.text.startsWith(literal, this.pos)) {
      this.pos += literal.length;
      return true;
    }
    return false;
  }

  expect(literal: string, what = `"${literal}"`): void {
    if (!this.tryLiteral(literal)) this.fail(`expected ${what}`);
  }

  tryRegex(re: RegExp): string | undefined {
    this.skipSpace();
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  number(what = "a number"): number {
    const start = this.pos;
    const token = this.tryRegex(NUMBER_RE);
    if (token === undefined) this.fail(`expected ${what}`);
    const value = Number(token);
    if (!Number.isFinite(value)) this.fail(`${token} is not a finite number`, start);
    return value;
  }

  integer(what: string): number {
    const start = this.pos;
    const token = this.tryRegex(INT_RE);
    if (token === undefined) this.fail(`expected ${what}`);
    this.skipSpace();
    if (/[.eE]/.test(this.text[this.pos] ?? "")) this.fail(`${what} must be an integer`, start);
    return Number(token);
  }

  quoted(): string | undefined {
    this.skipSpace();
    const quote = this.text[this.pos];
    if (quote !== '"' && quote !== "'") return undefined;
    const start = this.pos;
    let i = this.pos + 1;
    let out = "";
    while (i < this.text.length && this.text[i] !== quote) {
      if (this.text[i] === "\\" && i + 1 < this.text.length) i++;
      out += this.text[i];
      i++;
    }
    if (i >= this.text.length) this.fail("unterminated string", start);
    this.pos = i + 1;
    return out;
  }

  wordOrQuoted(what: string): string {
    const q = this.quoted();
    if (q !== undefined) return q;
    const w = this.tryRegex(WORD_RE);
    if (w === undefined) this.fail(`expected ${what}`);
    return w;
  }
}

function parseValue(s: Scanner, field: string): PredicateValue {
  const kind = fieldKind(field);
  const start = s.pos;
  const quoted = s.quoted();
  if (quoted !== undefined) {
    if (kind === "ns") {
      const ms = Date.parse(quoted);
      if (Number.isNaN(ms)) s.fail(`"${quoted}" is not an ISO-8601 time`, start);
      return BigInt(ms) * 1_000_000n;
    }
    if (kind === "number") s.fail(`${field} takes a number`, start);
    return quoted;
  }
  for (const literal of ["null", "true", "false"] as const) {
    s.skipSpace();
    if (s.text.startsWith(literal, s.pos) && !/[A-Za-z0-9_]/.test(s.text[s.pos + literal.length] ?? "")) {
      s.pos += literal.length;
      if (literal === "null") return null;
      s.fail(`${field} does not take a boolean`, start);
    }
  }
  if (kind === "ns") {
    const token = s.tryRegex(INT_RE);
    if (token === undefined) s.fail(`${field} takes integer nanoseconds or a quoted ISO-8601 time`);
    return BigInt(token);
  }
  if (kind === "number") return s.number(`a number for ${field}`);
  const word = s.tryRegex(WORD_RE);
  if (word === undefined) s.fail(`expected a value for ${field}`);
  return word;
}

function parsePolygon(s: Scanner): PointM[] {
  s.expect("(");
  const vertices: PointM[] = [];
  do {
    const xM = s.number("an x coordinate (m)");
    const yM = s.number("a y coordinate (m)");
    vertices.push({ xM, yM });
  } while (s.tryLiteral(","));
  s.expect(")");
  return vertices;
}

/** Parses the text form into a validated QueryPlan; errors are STRATA_E_USAGE naming the column. */
export function parseQuery(text: string): QueryPlan {
  const s: Scanner = new Scanner(text);
  const plan = emptyPlan();
  let nearTarget: NearTarget | undefined;
  let k: number | undefined;
  let embedder: string | undefined;
  let first = true;
  while (!s.atEnd()) {
    if (!first) {
      if (!s.tryLiteral(",")) {
        s.skipSpace();
        if (/^and\b/i.test(s.text.slice(s.pos))) s.pos += 3;
      }
    }
    first = false;
    if (s.atEnd()) s.fail("expected a clause after the separator");
    const clauseStart = s.pos;
    const ident = s.tryRegex(IDENT_RE);
    if (ident === undefined) s.fail("expected a field name or a keyword such as tag:, near:, within:");
    if (s.text[s.pos] === ":" && (KEYWORDS as readonly string[]).includes(ident)) {
      s.pos++;
      switch (ident as (typeof KEYWORDS)[number]) {
        case "tag":
          plan.tags.push(s.wordOrQuoted("a tag"));
          break;
        case "near": {
          if (nearTarget) s.fail("near: given twice", clauseStart);
          if (s.tryLiteral("[")) {
            const vector: number[] = [];
            if (!s.tryLiteral("]")) {
              do vector.push(s.number("a vector component"));
              while (s.tryLiteral(","));
              s.expect("]");
            }
            nearTarget = { kind: "vector", vector };
          } else {
            nearTarget = { kind: "scene", sceneId: s.wordOrQuoted("a scene id or [vector]") };
          }
          break;
        }
        case "k":
          k = s.integer("k");
          break;
        case "using":
          embedder = s.wordOrQuoted("an embedder name");
          break;
        case "within": {
          if (plan.within) s.fail("within: given twice", clauseStart);
          if (s.tryLiteral("polygon")) {
            plan.within = { kind: "polygon", verticesM: parsePolygon(s) };
          } else {
            s.expect("(", '"(" or "polygon("');
            const xM = s.number("x (m)");
            s.expect(",");
            const yM = s.number("y (m)");
            s.expect(",");
            const radiusM = s.number("a radius (m)");
            s.tryLiteral("m");
            s.expect(")");
            plan.within = { kind: "circle", xM, yM, radiusM };
          }
          break;
        }
        case "heading": {
          const centerDeg = s.number("a heading in degrees");
          if (!s.tryLiteral("±") && !s.tryLiteral("+-") && !s.tryLiteral("+/-"))
            s.fail('expected "±" or "+-"');
          const toleranceDeg = s.number("a tolerance in degrees");
          plan.heading = { centerDeg, toleranceDeg };
          break;
        }
        case "graph": {
          const patternStart = s.pos;
          const pattern = s.quoted();
          if (pattern === undefined) s.fail('graph: takes a quoted pattern, e.g. graph:"car ahead_of ego"');
          try {
            plan.graph.push(parseGraphPattern(pattern));
          } catch (error) {
            s.fail(error instanceof Error ? error.message : String(error), patternStart);
          }
          break;
        }
        case "limit":
          plan.limit = s.integer("limit");
          break;
        case "include": {
          const what = s.wordOrQuoted('"quarantined"');
          if (what !== "quarantined") s.fail(`include:${what}: only include:quarantined exists`, clauseStart);
          plan.includeQuarantined = true;
          break;
        }
      }
      continue;
    }
    if (!isFilterField(ident)) {
      const known = [...Object.keys({ sceneId: 1, captureId: 1, site: 1, rig: 1, startNs: 1, endNs: 1 })];
      const suggestion = [...known, ...SCENE_FEATURES.map((f) => f.name)].find(
        (f) => f.toLowerCase() === ident.toLowerCase(),
      );
      s.fail(`unknown field "${ident}"${suggestion ? ` (did you mean ${suggestion}?)` : ""}`, clauseStart);
    }
    let op: ComparisonOp | undefined;
    for (const candidate of COMPARISON_OPS) {
      if (s.tryLiteral(candidate)) {
        op = candidate;
        break;
      }
    }
    if (op === undefined && s.tryLiteral("==")) op = "=";
    if (op === undefined) s.fail("expected an operator (= != < <= > >=)");
    if (op === "=" && s.text[s.pos] === "=") s.pos++;
    const valueStart = s.pos;
    const value = parseValue(s, ident);
    if (value === null && op !== "=" && op !== "!=") s.fail("only = and != compare with null", valueStart);
    plan.predicates.push({ field: ident, op, value });
  }
  if (nearTarget) {
    plan.near = { target: nearTarget, k: k ?? plan.limit ?? DEFAULT_K };
    if (embedder !== undefined) plan.near.embedder = embedder;
  } else if (k !== undefined || embedder !== undefined) {
    s.fail(`${k !== undefined ? "k:" : "using:"} needs a near: clause`, 0);
  }
  return validatePlan(plan);
}
