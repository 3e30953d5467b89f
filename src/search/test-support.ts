/** Reference answers for the search tests: a row-by-row filter and a brute-force nearest search. */
import type { QueryPlan } from "./plan.ts";
import type { SceneRow } from "./schema.ts";
import { SegmentPredicate } from "./spatial.ts";

/** Squared L2 distance in float32 inputs (as stored), summed in float64. */
export function l2Squared(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.fround(a[i] as number) - Math.fround(b[i] as number);
    sum += d * d;
  }
  return sum;
}

function fieldValue(row: SceneRow, field: string): unknown {
  return field in row.features
    ? (row.features as Record<string, unknown>)[field]
    : (row as unknown as Record<string, unknown>)[field];
}

const utf8 = new TextEncoder();

/** The reference filter (LanceDB semantics: null never compares, strings in UTF-8 byte order). */
export function passesPlan(row: SceneRow, plan: QueryPlan): boolean {
  if (row.quarantined && !plan.includeQuarantined) return false;
  for (const tag of plan.tags) if (!row.tags.includes(tag)) return false;
  for (const p of plan.predicates) {
    const v = fieldValue(row, p.field) as number | bigint | string | null;
    if (p.value === null) {
      if ((v === null) !== (p.op === "=")) return false;
      continue;
    }
    if (v === null) return false;
    const order =
      typeof v === "string"
        ? Buffer.compare(utf8.encode(v), utf8.encode(p.value as string))
        : v < (p.value as number | bigint)
          ? -1
          : v > (p.value as number | bigint)
            ? 1
            : 0;
    const ok =
      p.op === "="
        ? order === 0
        : p.op === "!="
          ? order !== 0
          : p.op === "<"
            ? order < 0
            : p.op === "<="
              ? order <= 0
              : p.op === ">"
                ? order > 0
                : order >= 0;
    if (!ok) return false;
  }
  if (plan.within || plan.heading) {
    const predicate = new SegmentPredicate(plan.within, plan.heading);
    const t = row.trajectory as { xM: Float64Array; yM: Float64Array; headingRad: Float64Array };
    let hit = false;
    for (let i = 0; i < t.xM.length - 1 && !hit; i++) {
      hit = predicate.test(
        t.xM[i] as number,
        t.yM[i] as number,
        t.headingRad[i] as number,
        t.xM[i + 1] as number,
        t.yM[i + 1] as number,
        t.headingRad[i + 1] as number,
      );
    }
    if (!hit) return false;
  }
  return true;
}

/** The k rows passing `plan` nearest to `vector`, nearest first (a `near` scene itself excluded). */
export function bruteNearest(
  rows: Iterable<SceneRow>,
  plan: QueryPlan,
  vector: ArrayLike<number>,
  k: number,
  exclude = plan.near?.target.kind === "scene" ? plan.near.target.sceneId : undefined,
): { sceneId: string; distance: number }[] {
  return [...rows]
    .filter((r) => r.sceneId !== exclude && passesPlan(r, plan))
    .map((r) => ({ sceneId: r.sceneId, distance: Math.sqrt(l2Squared(r.vector, vector)) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, k);
}

/**
 * Makers of random predicates over every kind of scene column (numbers, nullable numbers, times, strings), the
 * values drawn from stored rows (`sample`) where "=" should be able to match.
 */
export function predicateMakers(
  rand: () => number,
  sample: () => SceneRow,
): (() => QueryPlan["predicates"][number])[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const ops = ["=", "!=", "<", "<=", ">", ">="] as const;
  return [
    () => ({ field: "pedestrians", op: pick(ops), value: Math.floor(rand() * 5) }),
    () =>
      rand() < 0.4
        ? { field: "minTtcS", op: pick(["=", "!="] as const), value: null }
        : { field: "minTtcS", op: pick(ops), value: 1 + rand() * 6 },
    () => ({ field: "brightness", op: pick(ops), value: rand() }),
    () => ({ field: "startNs", op: pick(ops), value: sample().startNs }),
    () => ({ field: "site", op: pick(ops), value: sample().site }),
    () => ({ field: "rig", op: pick(["=", "!="] as const), value: sample().rig }),
    () => ({ field: "captureId", op: pick(ops), value: sample().captureId }),
  ];
}
