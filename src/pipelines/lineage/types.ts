import type { Catalog, JsonValue } from "../../catalog/index.ts";
import type { BlobStore } from "../../storage/index.ts";

/** The node kinds Strata's own resolvers know; other modules may add more. */
export type LineageNodeKind =
  | "sample"
  | "dataset_version"
  | "capture"
  | "run"
  | "blob"
  | "file"
  | "calibration"
  | "qa_verdict"
  | (string & {});

export interface LineageNode {
  /** `<kind>:<key>`, unique in a graph. */
  id: string;
  kind: LineageNodeKind;
  /** The id within its kind: sample id, version id, capture id, run id, SHA-256, path, calibration version. */
  key: string;
  label: string;
  /** JSON-safe (ns as decimal strings). */
  attributes: { [name: string]: JsonValue };
}

/** Data flows `from` → `to`: the source (input, raw bytes, calibration) to what was derived from it. */
export interface LineageEdge {
  from: string;
  to: string;
  /** `input`, `output`, `file`, `member`, `window`, `parent`, `calibration`, `qa`, … */
  relation: string;
  attributes?: { [name: string]: JsonValue };
}

export interface LineageGraph {
  /** The traced target's node id (null for the whole-catalog graph). */
  rootId: string | null;
  nodes: LineageNode[];
  edges: LineageEdge[];
  /** true when `maxNodes` stopped the walk early. */
  truncated: boolean;
}

/** A node a resolver links to, and how. */
export interface LineageLink {
  node: Omit<LineageNode, "id">;
  relation: string;
  /** `upstream`: the linked node is a source of this one; `downstream`: it was derived from this one. */
  direction: "upstream" | "downstream";
  attributes?: { [name: string]: JsonValue };
}

export interface LineageDeps {
  catalog: Catalog;
  /** When given, every blob reached is re-hashed and its node gets `verified: true|false`. */
  blobs?: BlobStore;
}

export interface ResolveContext extends LineageDeps {
  /** `trace`: walk towards sources; `graph`: also link every run to its outputs (whole-catalog graph). */
  mode: "trace" | "graph";
  /** Memo shared by the resolvers of one walk (e.g. loaded versions). */
  memo: Map<string, unknown>;
}

/**
 * Expands one kind of node into its links. The walk applies every resolver registered for a node's kind
 * and visits each linked node once; add resolvers (e.g. for scenes or exports) without touching the walk.
 */
export interface LineageResolver {
  kind: LineageNodeKind;
  /** Fills the node's attributes (mutate `node.attributes`) and returns its links. */
  resolve(node: LineageNode, ctx: ResolveContext): Promise<LineageLink[]>;
}
