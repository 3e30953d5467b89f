/**
 * The transform tree seen in the capture (edges of `tf2_msgs/TFMessage` topics, static or not) and
 * calibration drift: changes of fixed transforms on `/tf_static` within the capture, through the
 * registry's StaticTfChangeDetector.
 */
import { normalizeFrameId, type StaticTfChange, StaticTfChangeDetector } from "../registry/index.ts";
import { obj, quat, str, vec3 } from "./decoded.ts";
import type { ScanMessage } from "./scan-types.ts";
import type { QaThresholds } from "./types.ts";

export interface TfEdge {
  parentFrame: string;
  childFrame: string;
  isStatic: boolean;
  /** Latest transform seen (static edges). */
  rotation?: { x: number; y: number; z: number; w: number };
}

export function isStaticTfTopic(topic: string): boolean {
  return topic === "/tf_static" || topic === "tf_static" || topic.endsWith("/tf_static");
}

export class TfProbe {
  readonly #edges = new Map<string, TfEdge>();
  readonly #detector: StaticTfChangeDetector;
  #staticTopic: string | undefined;
  #staticMessages = 0;

  constructor(thresholds: QaThresholds) {
    this.#detector = new StaticTfChangeDetector({
      maxRotationDeg: thresholds.driftRotationDeg,
      maxTranslationM: thresholds.driftTranslationM,
    });
  }

  onMessage(m: ScanMessage): void {
    if (m.type !== "tf2_msgs/TFMessage") return;
    const transforms = obj(m.decoded)?.transforms;
    if (!Array.isArray(transforms)) return;
    const isStatic = isStaticTfTopic(m.topic);
    if (isStatic) {
      this.#staticTopic ??= m.topic;
      this.#staticMessages++;
    }
    for (const t of transforms) {
      const o = obj(t);
      const header = obj(o?.header);
      const parentFrame = normalizeFrameId(str(header?.frame_id) ?? "");
      const childFrame = normalizeFrameId(str(o?.child_frame_id) ?? "");
      if (parentFrame === "" || childFrame === "") continue;
      const transform = obj(o?.transform);
      const translation = vec3(transform?.translation);
      const rotation = quat(transform?.rotation);
      const edge: TfEdge = { parentFrame, childFrame, isStatic };
      if (rotation) edge.rotation = rotation;
      const existing = this.#edges.get(childFrame);
      // A static edge is never replaced by a dynamic one of the same child.
      if (!existing || isStatic || !existing.isStatic) this.#edges.set(childFrame, edge);
      if (isStatic && translation && rotation) {
        this.#detector.push(m.logTimeNs, { parentFrame, childFrame, translation, rotation });
      }
    }
  }

  edges(): TfEdge[] {
    return [...this.#edges.values()];
  }

  staticChanges(): StaticTfChange[] {
    return this.#detector.events;
  }

  get staticTopic(): string | undefined {
    return this.#staticTopic;
  }

  get staticMessages(): number {
    return this.#staticMessages;
  }
}

/** Frames connected to each other through the edges (union-find); returns a root per frame. */
export function tfComponents(edges: readonly TfEdge[]): (frame: string) => string {
  const parent = new Map<string, string>();
  const find = (f: string): string => {
    let root = f;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root) as string;
    let cur = f;
    while (parent.has(cur) && parent.get(cur) !== root) {
      const next = parent.get(cur) as string;
      parent.set(cur, root);
      cur = next;
    }
    return root;
  };
  for (const e of edges) {
    if (!parent.has(e.parentFrame)) parent.set(e.parentFrame, e.parentFrame);
    if (!parent.has(e.childFrame)) parent.set(e.childFrame, e.childFrame);
    const a = find(e.parentFrame);
    const b = find(e.childFrame);
    if (a !== b) parent.set(b, a);
  }
  return (frame: string) => find(normalizeFrameId(frame));
}
