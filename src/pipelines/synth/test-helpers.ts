/** Helpers shared by the synth tests: read a capture back through the formats layer. */
import { readFile } from "node:fs/promises";
import { openLog } from "../../formats/index.ts";
import type { CaptureTruth } from "./truth.ts";

export interface ReadMessage {
  topic: string;
  logTimeNs: bigint;
  data: Uint8Array;
  decoded: unknown;
}

export async function readMessages(path: string, topics?: string[]): Promise<ReadMessage[]> {
  const reader = await openLog(path);
  const out: ReadMessage[] = [];
  try {
    for await (const m of reader.messages({ ...(topics ? { topics } : {}), decode: true })) {
      out.push({ topic: m.topic, logTimeNs: m.logTimeNs, data: m.data, decoded: m.decoded });
    }
  } finally {
    await reader.close();
  }
  return out;
}

export async function readTruth(path: string): Promise<CaptureTruth> {
  return JSON.parse(await readFile(path, "utf8")) as CaptureTruth;
}

/** A ROS 1 (`nsec`) or ROS 2 (`nanosec`) stamp in ns. */
export function stampNs(stamp: { sec: number; nsec?: number; nanosec?: number }): bigint {
  return BigInt(stamp.sec) * 1_000_000_000n + BigInt(stamp.nsec ?? stamp.nanosec ?? 0);
}

// biome-ignore lint: decoded ROS messages are untyped trees.
export type Msg = any;

export interface Pose2 {
  x: number;
  y: number;
  yaw: number;
}

export const yawOf = (q: { x: number; y: number; z: number; w: number }): number =>
  Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));

/** Rotation matrix (row-major) of a quaternion. */
export function rotation(q: { x: number; y: number; z: number; w: number }): number[] {
  const { x, y, z, w } = q;
  return [
    1 - 2 * (y * y + z * z),
    2 * (x * y - z * w),
    2 * (x * z + y * w),
    2 * (x * y + z * w),
    1 - 2 * (x * x + z * z),
    2 * (y * z - x * w),
    2 * (x * z - y * w),
    2 * (y * z + x * w),
    1 - 2 * (x * x + y * y),
  ];
}

export interface Rigid {
  r: number[];
  t: [number, number, number];
}

export function rigidOf(transform: Msg): Rigid {
  const t = transform.translation;
  return { r: rotation(transform.rotation), t: [t.x, t.y, t.z] };
}

export function applyRigid(a: Rigid, p: [number, number, number]): [number, number, number] {
  const r = a.r as [number, number, number, number, number, number, number, number, number];
  return [
    r[0] * p[0] + r[1] * p[1] + r[2] * p[2] + a.t[0],
    r[3] * p[0] + r[4] * p[1] + r[5] * p[2] + a.t[1],
    r[6] * p[0] + r[7] * p[1] + r[8] * p[2] + a.t[2],
  ];
}

/** Inverse of a rigid transform. */
export function invertRigid(a: Rigid): Rigid {
  const r = a.r as [number, number, number, number, number, number, number, number, number];
  const rt = [r[0], r[3], r[6], r[1], r[4], r[7], r[2], r[5], r[8]];
  const inv: Rigid = { r: rt, t: [0, 0, 0] };
  const t = applyRigid({ r: rt, t: [0, 0, 0] }, a.t);
  inv.t = [-t[0], -t[1], -t[2]];
  return inv;
}

export function composeRigid(a: Rigid, b: Rigid): Rigid {
  const ra = a.r;
  const rb = b.r;
  const r: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let v = 0;
      for (let k = 0; k < 3; k++) v += (ra[i * 3 + k] as number) * (rb[k * 3 + j] as number);
      r.push(v);
    }
  }
  return { r, t: applyRigid(a, b.t) };
}

/** Box centre/size/yaw (upright, bottom at z = 0) → signed-free distance from p to its surface. */
export function distanceToBoxSurface(
  p: [number, number, number],
  box: { x: number; y: number; yaw: number; length: number; width: number; height: number },
): number {
  const c = Math.cos(box.yaw);
  const s = Math.sin(box.yaw);
  const dx = p[0] - box.x;
  const dy = p[1] - box.y;
  const lx = c * dx + s * dy;
  const ly = -s * dx + c * dy;
  const lz = p[2] - box.height / 2;
  const h = [box.length / 2, box.width / 2, box.height / 2];
  const q = [
    Math.abs(lx) - (h[0] as number),
    Math.abs(ly) - (h[1] as number),
    Math.abs(lz) - (h[2] as number),
  ];
  const outside = Math.hypot(
    Math.max(q[0] as number, 0),
    Math.max(q[1] as number, 0),
    Math.max(q[2] as number, 0),
  );
  const inside = Math.min(Math.max(q[0] as number, q[1] as number, q[2] as number), 0);
  return Math.abs(outside + inside);
}

/** An agent's truth pose at time t (linear between keyframes), or undefined outside its track. */
export function agentAt(
  agent: CaptureTruth["agents"][number],
  tNs: bigint,
): { x: number; y: number; yaw: number } | undefined {
  const period = BigInt(agent.periodNs);
  const rel = tNs - BigInt(agent.firstTimeNs);
  if (rel < 0n) return undefined;
  const i = Number(rel / period);
  const w = Number(rel % period) / Number(period);
  const a = agent.poses[i];
  if (!a) return undefined;
  if (w === 0) return { x: a[0], y: a[1], yaw: a[2] };
  const b = agent.poses[i + 1];
  if (!b) return undefined;
  let dyaw = b[2] - a[2];
  while (dyaw > Math.PI) dyaw -= 2 * Math.PI;
  while (dyaw < -Math.PI) dyaw += 2 * Math.PI;
  return { x: a[0] + (b[0] - a[0]) * w, y: a[1] + (b[1] - a[1]) * w, yaw: a[2] + dyaw * w };
}

/** The horizontal extent [left, right] at row v of the convex hull of points (u, v), or undefined. */
export function hullSpanAtRow(points: Array<[number, number]>, v: number): [number, number] | undefined {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: [number, number], a: [number, number], b: [number, number]): number =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Array<[number, number]> = [];
  for (const p of pts) {
    while (
      lower.length >= 2 &&
      cross(lower[lower.length - 2] as [number, number], lower[lower.length - 1] as [number, number], p) <= 0
    )
      lower.pop();
    lower.push(p);
  }
  const upper: Array<[number, number]> = [];
  for (const p of [...pts].reverse()) {
    while (
      upper.length >= 2 &&
      cross(upper[upper.length - 2] as [number, number], upper[upper.length - 1] as [number, number], p) <= 0
    )
      upper.pop();
    upper.push(p);
  }
  const hull = [...lower.slice(0, -1), ...upper.slice(0, -1)];
  let left = Number.POSITIVE_INFINITY;
  let right = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i] as [number, number];
    const b = hull[(i + 1) % hull.length] as [number, number];
    if ((a[1] <= v && v <= b[1]) || (b[1] <= v && v <= a[1])) {
      const x = a[1] === b[1] ? Math.min(a[0], b[0]) : a[0] + ((v - a[1]) / (b[1] - a[1])) * (b[0] - a[0]);
      const x2 = a[1] === b[1] ? Math.max(a[0], b[0]) : x;
      left = Math.min(left, x, x2);
      right = Math.max(right, x, x2);
    }
  }
  return left <= right ? [left, right] : undefined;
}
