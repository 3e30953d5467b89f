/**
 * Calibration drift: compare two sets of extrinsics (a capture's against the rig's last accepted one), and
 * detect changes of supposedly fixed transforms (`/tf_static`, or sensor extrinsics republished on `/tf`)
 * within one capture.
 *
 * The size of a change between `parentFromChild` transforms A and B: rotation = angle of `A.R⁻¹·B.R`
 * (degrees), translation = ‖B.t − A.t‖ (metres, the move of the child's origin in the parent frame).
 * A delta is flagged when it is strictly above its threshold.
 */
import type { Quat, Vec3 } from "../../core/index.ts";
import { degFromRad, quatAngleBetween, vec3Distance } from "../../core/index.ts";
import { normalizeFrameId } from "./tf-buffer.ts";

/** A fixed transform `parentFromChild` (the pose of `childFrame` in `parentFrame`). */
export interface Extrinsic {
  parentFrame: string;
  childFrame: string;
  translation: Vec3;
  rotation: Quat;
}

export interface DriftThresholds {
  /** Flag rotation changes above this, degrees. Default 0.5. */
  maxRotationDeg?: number;
  /** Flag translation changes above this, metres. Default 0.02. */
  maxTranslationM?: number;
}

export interface ExtrinsicDelta {
  parentFrame: string;
  childFrame: string;
  rotationDeg: number;
  translationM: number;
  rotationExceeded: boolean;
  translationExceeded: boolean;
  /** Either threshold exceeded. */
  drifted: boolean;
}

export interface ExtrinsicComparison {
  /** One entry per (parent, child) edge present in both sets, sorted by child then parent frame. */
  deltas: ExtrinsicDelta[];
  /** Edges only in the first / second set. */
  onlyInA: Array<{ parentFrame: string; childFrame: string }>;
  onlyInB: Array<{ parentFrame: string; childFrame: string }>;
  /** Any delta flagged. */
  drifted: boolean;
}

const DEFAULT_ROTATION_DEG = 0.5;
const DEFAULT_TRANSLATION_M = 0.02;

function thresholds(opts: DriftThresholds): { rotationDeg: number; translationM: number } {
  const rotationDeg = opts.maxRotationDeg ?? DEFAULT_ROTATION_DEG;
  const translationM = opts.maxTranslationM ?? DEFAULT_TRANSLATION_M;
  if (!(rotationDeg >= 0) || !(translationM >= 0)) throw new RangeError("drift thresholds must be ≥ 0");
  return { rotationDeg, translationM };
}

/** Rotation (degrees) and translation (metres) between two transforms of the same edge. */
export function extrinsicDelta(a: Extrinsic, b: Extrinsic): { rotationDeg: number; translationM: number } {
  return {
    rotationDeg: degFromRad(quatAngleBetween(normalized(a.rotation), normalized(b.rotation))),
    translationM: vec3Distance(a.translation, b.translation),
  };
}

function normalized(q: Quat): Quat {
  const n = Math.hypot(q.x, q.y, q.z, q.w);
  return n > 0 ? { x: q.x / n, y: q.y / n, z: q.z / n, w: q.w / n } : { x: 0, y: 0, z: 0, w: 1 };
}

const edgeKey = (e: { parentFrame: string; childFrame: string }): string =>
  `${normalizeFrameId(e.childFrame)}\u0000${normalizeFrameId(e.parentFrame)}`;

/** Compares two sets of extrinsics edge by edge. The later of two entries for one edge wins. */
export function compareExtrinsics(
  a: Iterable<Extrinsic>,
  b: Iterable<Extrinsic>,
  opts: DriftThresholds = {},
): ExtrinsicComparison {
  const limit = thresholds(opts);
  const mapA = new Map<string, Extrinsic>();
  const mapB = new Map<string, Extrinsic>();
  for (const e of a) mapA.set(edgeKey(e), e);
  for (const e of b) mapB.set(edgeKey(e), e);
  const frames = (e: Extrinsic) => ({
    parentFrame: normalizeFrameId(e.parentFrame),
    childFrame: normalizeFrameId(e.childFrame),
  });
  const deltas: ExtrinsicDelta[] = [];
  const onlyInA: ExtrinsicComparison["onlyInA"] = [];
  const onlyInB: ExtrinsicComparison["onlyInB"] = [];
  for (const key of [...mapA.keys()].sort()) {
    const ea = mapA.get(key) as Extrinsic;
    const eb = mapB.get(key);
    if (!eb) {
      onlyInA.push(frames(ea));
      continue;
    }
    const d = extrinsicDelta(ea, eb);
    const rotationExceeded = d.rotationDeg > limit.rotationDeg;
    const translationExceeded = d.translationM > limit.translationM;
    deltas.push({
      ...frames(ea),
      ...d,
      rotationExceeded,
      translationExceeded,
      drifted: rotationExceeded || translationExceeded,
    });
  }
  for (const key of [...mapB.keys()].sort())
    if (!mapA.has(key)) onlyInB.push(frames(mapB.get(key) as Extrinsic));
  return { deltas, onlyInA, onlyInB, drifted: deltas.some((d) => d.drifted) };
}

/** A flagged change of a fixed transform within a capture. */
export interface StaticTfChange {
  /** The child frame whose extrinsic changed. */
  frame: string;
  parentFrame: string;
  /** When the change was first seen (the message's time). */
  atNs: bigint;
  /** Size of the change relative to the last accepted value of the edge. */
  rotationDeg: number;
  translationM: number;
  previous: Extrinsic;
  current: Extrinsic;
}

/**
 * Streams transforms of edges that should stay fixed and reports each change beyond the thresholds.
 * Each edge keeps a reference value (its first transform); a transform farther than a threshold from the
 * reference raises an event and becomes the new reference, so a step change is reported once, at the first
 * message that shows it, and slow drift is reported when its accumulated size crosses a threshold.
 * A child that gets a new parent starts a new reference without an event. Memory: one transform per edge.
 */
export class StaticTfChangeDetector {
  private readonly limit: { rotationDeg: number; translationM: number };
  private readonly reference = new Map<string, Extrinsic>();
  readonly events: StaticTfChange[] = [];

  constructor(opts: DriftThresholds = {}) {
    this.limit = thresholds(opts);
  }

  /** Feeds one transform seen at `atNs`; returns the event it raised, if any. */
  push(atNs: bigint, transform: Extrinsic): StaticTfChange | undefined {
    const current: Extrinsic = {
      parentFrame: normalizeFrameId(transform.parentFrame),
      childFrame: normalizeFrameId(transform.childFrame),
      translation: { ...transform.translation },
      rotation: { ...transform.rotation },
    };
    const key = edgeKey(current);
    const previous = this.reference.get(key);
    if (!previous) {
      this.reference.set(key, current);
      return undefined;
    }
    const d = extrinsicDelta(previous, current);
    if (d.rotationDeg <= this.limit.rotationDeg && d.translationM <= this.limit.translationM)
      return undefined;
    const event: StaticTfChange = {
      frame: current.childFrame,
      parentFrame: current.parentFrame,
      atNs,
      rotationDeg: d.rotationDeg,
      translationM: d.translationM,
      previous,
      current,
    };
    this.reference.set(key, current);
    this.events.push(event);
    return event;
  }
}

/** One `tf2_msgs/TFMessage` worth of transforms, with the time it was seen. */
export interface TfMessageAt {
  atNs: bigint;
  transforms: Iterable<Extrinsic>;
}

/** Runs a `StaticTfChangeDetector` over messages (sync or async iterable) and returns its events. */
export async function detectStaticTfChanges(
  messages: Iterable<TfMessageAt> | AsyncIterable<TfMessageAt>,
  opts: DriftThresholds = {},
): Promise<StaticTfChange[]> {
  const detector = new StaticTfChangeDetector(opts);
  for await (const message of messages) {
    for (const t of message.transforms) detector.push(message.atNs, t);
  }
  return detector.events;
}
