/** SceneGraphStore over two LanceDB tables: nodes, and relations denormalised with their nodes' classes. */
import { type Connection, Index, type Table } from "@lancedb/lancedb";
import type * as arrow from "apache-arrow";
import { StrataError } from "../core/index.ts";
import {
  float64Data,
  graphNodesSchema,
  graphRelationsSchema,
  int64Data,
  tableFromColumns,
  utf8Data,
} from "./arrow-rows.ts";
import {
  type GraphPattern,
  RELATION_KINDS,
  type RelationKind,
  type SceneGraph,
  type SceneGraphNode,
  type SceneGraphRelation,
  type SceneGraphStore,
} from "./graph.ts";
import { sqlInList, sqlString } from "./sql.ts";

export const GRAPH_NODES_TABLE = "scene_graph_nodes";
export const GRAPH_RELATIONS_TABLE = "scene_graph_relations";

export async function openOrCreateTable(db: Connection, name: string, schema: arrow.Schema): Promise<Table> {
  const names = await db.tableNames();
  if (names.includes(name)) return db.openTable(name);
  return db.createEmptyTable(name, schema, { existOk: true });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class LanceSceneGraphStore implements SceneGraphStore {
  readonly #nodes: Table;
  readonly #relations: Table;
  readonly #maxInListIds: number;

  private constructor(nodes: Table, relations: Table, maxInListIds: number) {
    this.#nodes = nodes;
    this.#relations = relations;
    this.#maxInListIds = maxInListIds;
  }

  static async open(db: Connection, options: { maxInListIds: number }): Promise<LanceSceneGraphStore> {
    const nodes = await openOrCreateTable(db, GRAPH_NODES_TABLE, graphNodesSchema());
    const relations = await openOrCreateTable(db, GRAPH_RELATIONS_TABLE, graphRelationsSchema());
    return new LanceSceneGraphStore(nodes, relations, options.maxInListIds);
  }

  async put(graphs: readonly SceneGraph[]): Promise<void> {
    if (graphs.length === 0) return;
    const nodeRows: { graph: SceneGraph; node: SceneGraphNode }[] = [];
    const relationRows: {
      graph: SceneGraph;
      relation: SceneGraphRelation;
      subject: SceneGraphNode;
      object: SceneGraphNode;
    }[] = [];
    for (const graph of graphs) {
      const byId = new Map<string, SceneGraphNode>();
      for (const node of graph.nodes) {
        if (byId.has(node.nodeId)) throw usage(graph, `node ${node.nodeId} appears twice`);
        byId.set(node.nodeId, node);
        nodeRows.push({ graph, node });
      }
      for (const relation of graph.relations) {
        const subject = byId.get(relation.subjectNodeId);
        const object = byId.get(relation.objectNodeId);
        if (!subject || !object) {
          throw usage(
            graph,
            `relation ${relation.subjectNodeId} ${relation.relation} ${relation.objectNodeId} names a missing node`,
          );
        }
        if (!(RELATION_KINDS as readonly string[]).includes(relation.relation)) {
          throw usage(graph, `unknown relation ${relation.relation}`);
        }
        if (relation.endNs < relation.startNs) throw usage(graph, "a relation ends before it starts");
        if (!(relation.minDistanceM >= 0)) throw usage(graph, "minDistanceM must be a non-negative number");
        relationRows.push({ graph, relation, subject, object });
      }
    }
    const sceneIds = [...new Set(graphs.map((g) => g.sceneId))];
    for (const part of chunks(sceneIds, 1000)) {
      const where = sqlInList("sceneId", part);
      await this.#nodes.delete(where);
      await this.#relations.delete(where);
    }
    if (nodeRows.length > 0) {
      await this.#nodes.add(
        tableFromColumns(graphNodesSchema(), nodeRows.length, {
          sceneId: utf8Data(nodeRows.map((r) => r.graph.sceneId)),
          captureId: utf8Data(nodeRows.map((r) => r.graph.captureId)),
          nodeId: utf8Data(nodeRows.map((r) => r.node.nodeId)),
          kind: utf8Data(nodeRows.map((r) => r.node.kind)),
          agentClass: utf8Data(nodeRows.map((r) => r.node.agentClass)),
          trackId: utf8Data(nodeRows.map((r) => r.node.trackId)),
        }),
      );
    }
    if (relationRows.length > 0) {
      await this.#relations.add(
        tableFromColumns(graphRelationsSchema(), relationRows.length, {
          sceneId: utf8Data(relationRows.map((r) => r.graph.sceneId)),
          captureId: utf8Data(relationRows.map((r) => r.graph.captureId)),
          subjectNodeId: utf8Data(relationRows.map((r) => r.subject.nodeId)),
          subjectClass: utf8Data(relationRows.map((r) => r.subject.agentClass)),
          relation: utf8Data(relationRows.map((r) => r.relation.relation)),
          objectNodeId: utf8Data(relationRows.map((r) => r.object.nodeId)),
          objectClass: utf8Data(relationRows.map((r) => r.object.agentClass)),
          startNs: int64Data(relationRows.map((r) => r.relation.startNs)),
          endNs: int64Data(relationRows.map((r) => r.relation.endNs)),
          minDistanceM: float64Data(Float64Array.from(relationRows, (r) => r.relation.minDistanceM)),
        }),
      );
    }
  }

  async get(sceneId: string): Promise<SceneGraph | undefined> {
    const where = `sceneId = ${sqlString(sceneId)}`;
    const nodes = await this.#nodes.query().where(where).toArray();
    if (nodes.length === 0) return undefined;
    const relations = await this.#relations.query().where(where).toArray();
    return {
      sceneId,
      captureId: String(nodes[0]?.captureId),
      nodes: nodes.map((n) => ({
        nodeId: String(n.nodeId),
        kind: n.kind === "ego" ? "ego" : "agent",
        agentClass: String(n.agentClass),
        trackId: n.trackId === null || n.trackId === undefined ? null : String(n.trackId),
      })),
      relations: relations.map((r) => ({
        subjectNodeId: String(r.subjectNodeId),
        relation: r.relation as RelationKind,
        objectNodeId: String(r.objectNodeId),
        startNs: BigInt(r.startNs),
        endNs: BigInt(r.endNs),
        minDistanceM: Number(r.minDistanceM),
      })),
    };
  }

  /** The SQL filter of one pattern over the relations table. */
  static patternFilter(pattern: GraphPattern): string {
    const parts = [`relation = ${sqlString(pattern.relation)}`];
    if (pattern.subjectClass !== "*") parts.push(`subjectClass = ${sqlString(pattern.subjectClass)}`);
    if (pattern.objectClass !== "*") parts.push(`objectClass = ${sqlString(pattern.objectClass)}`);
    if (pattern.maxDistanceM !== undefined) parts.push(`minDistanceM <= ${pattern.maxDistanceM}`);
    if (pattern.minDurationSecs !== undefined) {
      parts.push(`(endNs - startNs) >= ${BigInt(Math.round(pattern.minDurationSecs * 1e9))}`);
    }
    return parts.join(" AND ");
  }

  async match(
    patterns: readonly GraphPattern[],
    options: { sceneIds?: ReadonlySet<string> } = {},
  ): Promise<Set<string>> {
    let current: ReadonlySet<string> | undefined = options.sceneIds;
    for (const pattern of patterns) {
      if (current && current.size === 0) break;
      let where = LanceSceneGraphStore.patternFilter(pattern);
      if (current && current.size <= this.#maxInListIds)
        where = `(${where}) AND ${sqlInList("sceneId", current)}`;
      const found = new Set<string>();
      for await (const batch of this.#relations.query().where(where).select(["sceneId"])) {
        const column = batch.getChild("sceneId");
        if (!column) continue;
        for (let i = 0; i < batch.numRows; i++) {
          const id = column.get(i) as string;
          if (!current || current.has(id)) found.add(id);
        }
      }
      current = found;
    }
    return new Set(current ?? []);
  }

  async deleteByCapture(captureId: string): Promise<void> {
    const where = `captureId = ${sqlString(captureId)}`;
    await this.#nodes.delete(where);
    await this.#relations.delete(where);
  }

  async createIndexes(): Promise<void> {
    for (const column of ["sceneId", "captureId"]) {
      await this.#relations.createIndex(column, { config: Index.btree(), replace: true });
      await this.#nodes.createIndex(column, { config: Index.btree(), replace: true });
    }
    for (const column of ["relation", "subjectClass", "objectClass"]) {
      await this.#relations.createIndex(column, { config: Index.bitmap(), replace: true });
    }
  }

  close(): void {
    this.#nodes.close();
    this.#relations.close();
  }
}

function usage(graph: SceneGraph, detail: string): StrataError {
  return new StrataError("STRATA_E_USAGE", `scene graph of ${graph.sceneId}: ${detail}`);
}
