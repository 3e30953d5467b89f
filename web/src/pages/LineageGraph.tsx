/**
 * A lineage graph as an SVG node-link diagram. Layers follow the data's flow (a node sits one column to
 * the right of its furthest source), so raw blobs come first and dataset versions last; within a column
 * nodes are grouped by kind and then pulled towards their sources to keep edges short.
 */
import { useMemo } from "react";
import type { LineageGraph } from "../api.ts";

type GraphNode = LineageGraph["nodes"][number];

const KIND_COLOURS: Record<string, string> = {
  blob: "#868e96",
  file: "#adb5bd",
  capture: "#1c7ed6",
  run: "#f59f00",
  calibration: "#ae3ec9",
  qa_verdict: "#e03131",
  scene: "#0ca678",
  dataset_version: "#5f3dc4",
  sample: "#d6336c",
};
const KIND_ORDER = Object.keys(KIND_COLOURS);
const colourOf = (kind: string): string => KIND_COLOURS[kind] ?? "#495057";

const NODE_W = 188;
const NODE_H = 36;
const COLUMN_GAP = 72;
const ROW_GAP = 10;
const MARGIN = 16;

interface PlacedNode {
  node: GraphNode;
  layer: number;
  x: number;
  y: number;
}

/** Longest-path layering from the sources; nodes on a cycle (none expected) keep the layer reached so far. */
function layout(graph: LineageGraph): {
  placed: Map<string, PlacedNode>;
  width: number;
  height: number;
} {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const edges = graph.edges.filter((e) => ids.has(e.from) && ids.has(e.to) && e.from !== e.to);
  const incoming = new Map<string, string[]>();
  const outgoing = new Map<string, string[]>();
  const indegree = new Map<string, number>();
  for (const id of ids) {
    incoming.set(id, []);
    outgoing.set(id, []);
    indegree.set(id, 0);
  }
  for (const e of edges) {
    incoming.get(e.to)?.push(e.from);
    outgoing.get(e.from)?.push(e.to);
    indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1);
  }
  const layer = new Map<string, number>();
  const queue = [...ids].filter((id) => indegree.get(id) === 0);
  for (const id of queue) layer.set(id, 0);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] as string;
    for (const next of outgoing.get(id) ?? []) {
      layer.set(next, Math.max(layer.get(next) ?? 0, (layer.get(id) ?? 0) + 1));
      const left = (indegree.get(next) ?? 0) - 1;
      indegree.set(next, left);
      if (left === 0) queue.push(next);
    }
  }
  const layers: GraphNode[][] = [];
  for (const node of graph.nodes) {
    const l = layer.get(node.id) ?? 0;
    while (layers.length <= l) layers.push([]);
    layers[l]?.push(node);
  }
  const kindRank = (kind: string) => {
    const rank = KIND_ORDER.indexOf(kind);
    return rank < 0 ? KIND_ORDER.length : rank;
  };
  const row = new Map<string, number>();
  layers.forEach((nodes, l) => {
    nodes.sort((a, b) => {
      if (l > 0) {
        const mean = (n: GraphNode) => {
          const sources = (incoming.get(n.id) ?? []).map((s) => row.get(s) ?? 0);
          return sources.length ? sources.reduce((x, y) => x + y, 0) / sources.length : 0;
        };
        const byKind = kindRank(a.kind) - kindRank(b.kind);
        return byKind || mean(a) - mean(b) || a.label.localeCompare(b.label);
      }
      return kindRank(a.kind) - kindRank(b.kind) || a.label.localeCompare(b.label);
    });
    nodes.forEach((n, i) => row.set(n.id, i));
  });
  const tallest = Math.max(1, ...layers.map((nodes) => nodes.length));
  const height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const placed = new Map<string, PlacedNode>();
  layers.forEach((nodes, l) => {
    const columnHeight = nodes.length * NODE_H + (nodes.length - 1) * ROW_GAP;
    const top = (height - columnHeight) / 2;
    nodes.forEach((node, i) => {
      placed.set(node.id, {
        node,
        layer: l,
        x: MARGIN + l * (NODE_W + COLUMN_GAP),
        y: top + i * (NODE_H + ROW_GAP),
      });
    });
  });
  const width = MARGIN * 2 + layers.length * NODE_W + Math.max(0, layers.length - 1) * COLUMN_GAP;
  return { placed, width, height };
}

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** The text of a node's box: its kind, and what names it. */
function caption(node: GraphNode): [string, string] {
  const a = node.attributes;
  switch (node.kind) {
    case "run":
      return [`run · ${String(a.kind ?? "")}`, node.key];
    case "dataset_version":
      return [`version · ${String(a.datasetName ?? "")} (${String(a.itemCount ?? "?")})`, node.key];
    case "blob":
      return ["raw blob", node.key];
    case "qa_verdict":
      return [`QA verdict · ${String(a.verdict ?? "")}`, node.key.split("@")[0] ?? node.key];
    case "scene":
      return [`scene${Array.isArray(a.tags) && a.tags.length ? ` · ${a.tags.join(", ")}` : ""}`, node.key];
    case "capture":
      return [`capture${a.rig ? ` · ${String(a.rig)}` : ""}`, node.key];
    default:
      return [node.kind.replace(/_/g, " "), node.key];
  }
}

export function LineageGraphView({
  graph,
  selectedId,
  onSelect,
}: {
  graph: LineageGraph;
  selectedId: string | null;
  onSelect: (node: GraphNode) => void;
}) {
  const { placed, width, height } = useMemo(() => layout(graph), [graph]);
  const kinds = [...new Set(graph.nodes.map((n) => n.kind))].sort(
    (a, b) => KIND_ORDER.indexOf(a) - KIND_ORDER.indexOf(b),
  );
  return (
    <div className="graph-wrap">
      <div className="legend small">
        {kinds.map((kind) => (
          <span key={kind}>
            <span className="swatch" style={{ background: colourOf(kind) }} />
            {kind.replace(/_/g, " ")} ({graph.nodes.filter((n) => n.kind === kind).length})
          </span>
        ))}
      </div>
      <div className="graph-scroll">
        <svg
          data-testid="lineage-graph"
          data-nodes={graph.nodes.length}
          data-edges={graph.edges.length}
          // Shrinks to the page's width (down to 60 %), then scrolls.
          style={{ width: "100%", maxWidth: width, minWidth: width * 0.6, height: "auto", display: "block" }}
          viewBox={`0 0 ${width} ${height}`}
          role="img"
          aria-label={`lineage graph with ${graph.nodes.length} nodes`}
        >
          <defs>
            <marker
              id="arrow"
              viewBox="0 0 10 10"
              refX="10"
              refY="5"
              markerWidth="7"
              markerHeight="7"
              orient="auto-start-reverse"
            >
              <path d="M 0 0 L 10 5 L 0 10 z" fill="#868e96" />
            </marker>
          </defs>
          {graph.edges.map((e) => {
            const a = placed.get(e.from);
            const b = placed.get(e.to);
            if (!a || !b) return null;
            const x1 = a.x + NODE_W;
            const y1 = a.y + NODE_H / 2;
            const x2 = b.x;
            const y2 = b.y + NODE_H / 2;
            const bend = Math.max(30, (x2 - x1) / 2);
            const path =
              x2 > x1
                ? `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`
                : `M ${a.x + NODE_W / 2} ${a.y + NODE_H} C ${a.x + NODE_W / 2} ${y1 + 60}, ${b.x + NODE_W / 2} ${y2 + 60}, ${b.x + NODE_W / 2} ${b.y + NODE_H}`;
            const related = selectedId !== null && (e.from === selectedId || e.to === selectedId);
            return (
              <path
                key={`${e.from}>${e.to}>${e.relation}`}
                d={path}
                fill="none"
                stroke={related ? "#1c6ed4" : "#ced4da"}
                strokeWidth={related ? 2 : 1.2}
                markerEnd="url(#arrow)"
              >
                <title>{`${e.from} → ${e.to} (${e.relation})`}</title>
              </path>
            );
          })}
          {[...placed.values()].map(({ node, x, y }) => {
            const [top, bottom] = caption(node);
            const isRoot = node.id === graph.rootId;
            const isSelected = node.id === selectedId;
            const missing = node.attributes.missing === true;
            return (
              // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>.
              <g
                key={node.id}
                data-kind={node.kind}
                data-id={node.id}
                transform={`translate(${x}, ${y})`}
                onClick={() => onSelect(node)}
                onKeyDown={(event) => event.key === "Enter" && onSelect(node)}
                role="button"
                tabIndex={0}
                style={{ cursor: "pointer" }}
              >
                <title>{node.id}</title>
                <rect
                  width={NODE_W}
                  height={NODE_H}
                  rx={6}
                  fill={isSelected ? "#e7f5ff" : "#fff"}
                  stroke={colourOf(node.kind)}
                  strokeWidth={isRoot || isSelected ? 3 : 1.5}
                  strokeDasharray={missing ? "4 3" : undefined}
                />
                <rect width={6} height={NODE_H} rx={2} fill={colourOf(node.kind)} />
                <text x={12} y={15} fontSize={11} fontWeight={600} fill="#1f2328">
                  {clip(top, 30)}
                </text>
                <text x={12} y={29} fontSize={10} fill="#6a737d" fontFamily="ui-monospace, monospace">
                  {clip(bottom, 28)}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}
