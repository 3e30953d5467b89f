/**
 * Scene graphs: the ego and the agents of a scene as nodes, spatial/behavioural relations between them
 * with time spans, and the patterns a query matches against them.
 *
 * Pattern text (one pattern; a query may carry several, all of which must match in the same scene):
 *
 *   pattern   = node relation node [ "within" NUMBER "m" ] [ "for" NUMBER "s" ]
 *   node      = CLASS | "*"                       e.g. ego, pedestrian, car, cyclist; "*" is any class
 *   relation  = ahead_of | behind | left_of | right_of | crossing_path | approaching | following
 *             | within_<N>m                       e.g. within_5m: the two came within N metres
 *
 *   pedestrian crossing_path ego within 10m       a pedestrian crossed the ego's path, closest approach ≤ 10 m
 *   car within_5m ego for 2s                      a car was within 5 m of the ego for at least 2 s
 *
 * The subject is the node doing the relation ("the pedestrian is crossing the ego's path"); each pattern is
 * matched on its own (two patterns need not bind the same agent).
 */
import { StrataError } from "../core/index.ts";

export const RELATION_KINDS = [
  "ahead_of",
  "behind",
  "left_of",
  "right_of",
  "crossing_path",
  "approaching",
  "following",
  "within",
] as const;
export type RelationKind = (typeof RELATION_KINDS)[number];

export const EGO_CLASS = "ego";

export interface SceneGraphNode {
  /** Unique within the scene: "ego", or e.g. "pedestrian/17". */
  nodeId: string;
  kind: "ego" | "agent";
  /** Ontology class of the node ("ego" for the ego). */
  agentClass: string;
  /** The tracker's id of the agent; null for the ego. */
  trackId: string | null;
}

export interface SceneGraphRelation {
  subjectNodeId: string;
  relation: RelationKind;
  objectNodeId: string;
  startNs: bigint;
  endNs: bigint;
  /** Closest distance between subject and object during [startNs, endNs] (m). */
  minDistanceM: number;
}

export interface SceneGraph {
  sceneId: string;
  captureId: string;
  nodes: SceneGraphNode[];
  relations: SceneGraphRelation[];
}

/** One parsed pattern; plain data so it can sit in a QueryPlan. */
export interface GraphPattern {
  /** Subject class or "*". */
  subjectClass: string;
  relation: RelationKind;
  /** Object class or "*". */
  objectClass: string;
  /** Closest approach at most this far (m); `within_Nm` and the trailing `within Nm` both set it. */
  maxDistanceM?: number;
  /** The relation lasted at least this long (s). */
  minDurationSecs?: number;
}

const CLASS_RE = /^(\*|[a-z][a-z0-9_]*)$/;
const NUMBER_RE = /^\d+(?:\.\d+)?$/;

function usage(detail: string, text: string): StrataError {
  return new StrataError(
    "STRATA_E_USAGE",
    `graph pattern "${text}": ${detail}`,
    {},
    {
      hint: "Patterns read `SUBJECT RELATION OBJECT [within Nm] [for Ns]`, e.g. `pedestrian crossing_path ego within 10m`; relations: ahead_of, behind, left_of, right_of, crossing_path, approaching, following, within_<N>m.",
    },
  );
}

function parseQuantity(token: string | undefined, unit: "m" | "s", text: string): number {
  // Accepts "10m" and "10 m" (the caller joins the unit token when separate).
  if (token === undefined) throw usage(`expected a number of ${unit === "m" ? "metres" : "seconds"}`, text);
  const body = token.endsWith(unit) ? token.slice(0, -1) : token;
  if (!NUMBER_RE.test(body))
    throw usage(`"${token}" is not a number of ${unit === "m" ? "metres (10m)" : "seconds (2s)"}`, text);
  return Number(body);
}

export function parseGraphPattern(text: string): GraphPattern {
  const tokens = text
    .trim()
    .toLowerCase()
    .split(/\s+/)
    .filter((t) => t.length > 0);
  // Join a separate unit token ("10 m") to its number.
  for (let i = tokens.length - 1; i > 0; i--) {
    if ((tokens[i] === "m" || tokens[i] === "s") && NUMBER_RE.test(tokens[i - 1] ?? "")) {
      tokens.splice(i - 1, 2, `${tokens[i - 1]}${tokens[i]}`);
    }
  }
  const [subject, relationToken, object, ...rest] = tokens;
  if (subject === undefined || relationToken === undefined || object === undefined) {
    throw usage("expected SUBJECT RELATION OBJECT", text);
  }
  for (const node of [subject, object]) {
    if (!CLASS_RE.test(node))
      throw usage(`"${node}" is not a class name (lowercase letters, digits, _) or *`, text);
  }
  const pattern: GraphPattern = { subjectClass: subject, relation: "within", objectClass: object };
  const withinMatch = /^within_(\d+(?:\.\d+)?)m$/.exec(relationToken);
  if (withinMatch) {
    pattern.relation = "within";
    pattern.maxDistanceM = Number(withinMatch[1]);
  } else if ((RELATION_KINDS as readonly string[]).includes(relationToken) && relationToken !== "within") {
    pattern.relation = relationToken as RelationKind;
  } else {
    throw usage(`unknown relation "${relationToken}"`, text);
  }
  for (let i = 0; i < rest.length; i += 2) {
    const word = rest[i];
    if (word === "within") {
      const distanceM = parseQuantity(rest[i + 1], "m", text);
      pattern.maxDistanceM =
        pattern.maxDistanceM === undefined ? distanceM : Math.min(pattern.maxDistanceM, distanceM);
    } else if (word === "for") {
      pattern.minDurationSecs = parseQuantity(rest[i + 1], "s", text);
    } else {
      throw usage(`unexpected "${word}" (expected "within Nm" or "for Ns")`, text);
    }
  }
  return pattern;
}

/** The canonical text of a pattern; `parseGraphPattern(formatGraphPattern(p))` equals `p`. */
export function formatGraphPattern(pattern: GraphPattern): string {
  const parts: string[] = [pattern.subjectClass];
  if (pattern.relation === "within" && pattern.maxDistanceM !== undefined) {
    parts.push(`within_${pattern.maxDistanceM}m`, pattern.objectClass);
  } else {
    parts.push(pattern.relation, pattern.objectClass);
    if (pattern.maxDistanceM !== undefined) parts.push("within", `${pattern.maxDistanceM}m`);
  }
  if (pattern.minDurationSecs !== undefined) parts.push("for", `${pattern.minDurationSecs}s`);
  return parts.join(" ");
}

/** Does one relation (with its nodes' classes) satisfy a pattern? The reference semantics of `match`. */
export function relationMatches(
  pattern: GraphPattern,
  subjectClass: string,
  relation: SceneGraphRelation,
  objectClass: string,
): boolean {
  if (pattern.subjectClass !== "*" && pattern.subjectClass !== subjectClass) return false;
  if (pattern.objectClass !== "*" && pattern.objectClass !== objectClass) return false;
  if (pattern.relation !== relation.relation) return false;
  if (pattern.maxDistanceM !== undefined && !(relation.minDistanceM <= pattern.maxDistanceM)) return false;
  if (pattern.minDurationSecs !== undefined) {
    const minDurationNs = BigInt(Math.round(pattern.minDurationSecs * 1e9));
    if (relation.endNs - relation.startNs < minDurationNs) return false;
  }
  return true;
}

/** Stores scene graphs and answers pattern queries with the set of matching scene ids. */
export interface SceneGraphStore {
  /** Replaces the graph of each given scene. */
  put(graphs: readonly SceneGraph[]): Promise<void>;
  get(sceneId: string): Promise<SceneGraph | undefined>;
  /** Scenes in which every pattern matches at least one relation; `sceneIds` restricts the search. */
  match(
    patterns: readonly GraphPattern[],
    options?: { sceneIds?: ReadonlySet<string> },
  ): Promise<Set<string>>;
  deleteByCapture(captureId: string): Promise<void>;
}
