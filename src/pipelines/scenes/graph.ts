/**
 * The scene graph of a window: the ego and every agent seen within `agentRangeM` as nodes, and relations
 * evaluated per perception frame in the ego's base frame, joined into time spans (frames less than 350 ms
 * apart continue a span). With C = `corridorHalfWidthM` and the footprints of agents.ts:
 *
 *   A ahead_of ego      A's footprint is in front of the ego's front bumper and overlaps the corridor |y| ≤ C
 *   A behind ego        behind the rear bumper, overlapping the corridor
 *   A left_of ego       entirely left of the corridor (y > C);  A right_of ego: entirely right (y < −C)
 *   (and the converse: ego behind / ahead_of / right_of / left_of A)
 *   A crossing_path ego A is ahead, moving mostly sideways (lane frame, ≥ 0.5 m/s), and is in the corridor
 *                       or reaches it within 3 s
 *   A approaching ego   the centre distance shrinks at ≥ 0.5 m/s, within 30 m
 *   ego following A     A is ahead_of the ego within 40 m, both moving the same way (> 1 m/s);
 *                       A following ego: A is behind, same way
 *   A within ego        footprint gap ≤ each of `withinThresholdsM` (one span per threshold)
 *
 * Every relation carries the smallest footprint gap during its span.
 */
import {
  EGO_CLASS,
  type RelationKind,
  type SceneGraph,
  type SceneGraphNode,
  type SceneGraphRelation,
} from "../../search/index.ts";
import { agentHalfExtents, closingSpeedMps, footprintGapM } from "./agents.ts";
import type { ResolvedSceneOptions } from "./options.ts";
import type { PlacedFrame, PlacedObservation } from "./tracks.ts";

const JOIN_NS = 350_000_000n;
const EGO_NODE = "ego";

interface OpenSpan {
  subject: string;
  relation: RelationKind;
  object: string;
  startNs: bigint;
  endNs: bigint;
  minDistanceM: number;
}

/** Relations (subject, relation, object) that hold for one observation at one instant. */
export function relationsAt(
  obs: PlacedObservation,
  nodeId: string,
  o: Pick<ResolvedSceneOptions, "footprint" | "corridorHalfWidthM" | "withinThresholdsM">,
): Array<[string, RelationKind, string, number?]> {
  const out: Array<[string, RelationKind, string, number?]> = [];
  const { halfXM, halfYM } = agentHalfExtents(obs);
  const fp = o.footprint;
  const corridor = o.corridorHalfWidthM;
  const overlapsCorridor = Math.abs(obs.yM) - halfYM <= corridor;
  const ahead = overlapsCorridor && obs.xM - halfXM > fp.frontM;
  const behind = overlapsCorridor && obs.xM + halfXM < fp.rearM;
  if (ahead) out.push([nodeId, "ahead_of", EGO_NODE], [EGO_NODE, "behind", nodeId]);
  if (behind) out.push([nodeId, "behind", EGO_NODE], [EGO_NODE, "ahead_of", nodeId]);
  if (obs.yM - halfYM > corridor) out.push([nodeId, "left_of", EGO_NODE], [EGO_NODE, "right_of", nodeId]);
  if (obs.yM + halfYM < -corridor) out.push([nodeId, "right_of", EGO_NODE], [EGO_NODE, "left_of", nodeId]);

  if (
    Number.isFinite(obs.vLatMps) &&
    Number.isFinite(obs.vLongMps) &&
    obs.xM >= fp.rearM &&
    obs.xM <= fp.frontM + 30 &&
    Math.abs(obs.vLatMps) >= 0.5 &&
    Math.abs(obs.vLatMps) >= Math.abs(obs.vLongMps)
  ) {
    const outsideM = Math.abs(obs.laneLatM) - halfYM - corridor;
    if (outsideM <= 0 || (obs.laneLatM * obs.vLatMps < 0 && outsideM / Math.abs(obs.vLatMps) <= 3)) {
      out.push([nodeId, "crossing_path", EGO_NODE]);
    }
  }
  if (Math.hypot(obs.xM, obs.yM) <= 30 && closingSpeedMps(obs, obs.egoSpeedMps) >= 0.5) {
    out.push([nodeId, "approaching", EGO_NODE]);
  }
  const sameWay = Number.isFinite(obs.vLongMps) && obs.vLongMps > 1 && obs.egoSpeedMps > 1;
  if (sameWay && ahead && obs.xM - halfXM - fp.frontM <= 40) out.push([EGO_NODE, "following", nodeId]);
  if (sameWay && behind && fp.rearM - (obs.xM + halfXM) <= 40) out.push([nodeId, "following", EGO_NODE]);
  const gapM = footprintGapM(obs, fp);
  for (const threshold of o.withinThresholdsM)
    if (gapM <= threshold) out.push([nodeId, "within", EGO_NODE, threshold]);
  return out;
}

/** Builds the graph of one window from the perception frames inside it. */
export function buildSceneGraph(
  scene: { sceneId: string; captureId: string; startNs: bigint; endNs: bigint },
  frames: readonly PlacedFrame[],
  o: Pick<ResolvedSceneOptions, "footprint" | "corridorHalfWidthM" | "withinThresholdsM" | "agentRangeM">,
): SceneGraph {
  const nodes = new Map<string, SceneGraphNode>();
  nodes.set(EGO_NODE, { nodeId: EGO_NODE, kind: "ego", agentClass: EGO_CLASS, trackId: null });
  const open = new Map<string, OpenSpan>();
  const relations: SceneGraphRelation[] = [];
  const close = (span: OpenSpan) =>
    relations.push({
      subjectNodeId: span.subject,
      relation: span.relation,
      objectNodeId: span.object,
      startNs: span.startNs,
      endNs: span.endNs,
      minDistanceM: Number(span.minDistanceM.toFixed(3)),
    });
  for (const frame of frames) {
    if (frame.stampNs < scene.startNs || frame.stampNs > scene.endNs) continue;
    for (const obs of frame.objects) {
      if (Math.hypot(obs.xM, obs.yM) > o.agentRangeM) continue;
      const nodeId = `${obs.agentClass}/${obs.trackId}`;
      if (!nodes.has(nodeId))
        nodes.set(nodeId, { nodeId, kind: "agent", agentClass: obs.agentClass, trackId: obs.trackId });
      const gapM = footprintGapM(obs, o.footprint);
      for (const [subject, relation, object, threshold] of relationsAt(obs, nodeId, o)) {
        const key = `${subject}\u0000${relation}\u0000${object}\u0000${threshold ?? ""}`;
        const span = open.get(key);
        if (span && frame.stampNs - span.endNs <= JOIN_NS) {
          span.endNs = frame.stampNs;
          span.minDistanceM = Math.min(span.minDistanceM, gapM);
          continue;
        }
        if (span) close(span);
        open.set(key, {
          subject,
          relation,
          object,
          startNs: frame.stampNs,
          endNs: frame.stampNs,
          minDistanceM: gapM,
        });
      }
    }
  }
  for (const span of open.values()) close(span);
  relations.sort(
    (a, b) =>
      (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0) ||
      a.subjectNodeId.localeCompare(b.subjectNodeId) ||
      a.relation.localeCompare(b.relation) ||
      a.objectNodeId.localeCompare(b.objectNodeId) ||
      a.minDistanceM - b.minDistanceM,
  );
  return { sceneId: scene.sceneId, captureId: scene.captureId, nodes: [...nodes.values()], relations };
}
