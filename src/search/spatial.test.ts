import { describe, expect, it } from "vitest";
import type { HeadingRange, SpatialRegion } from "./plan.ts";
import type { SceneTrajectory } from "./schema.ts";
import { SegmentPredicate, TrajectoryGrid, arcMeetsRange, pointInPolygon, wrapPi } from "./spatial.ts";

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TestScene {
  sceneId: string;
  captureId: string;
  trajectory: SceneTrajectory;
}

function generateScenes(count: number, seed: number, areaM = 2000): TestScene[] {
  const rand = rng(seed);
  const scenes: TestScene[] = [];
  for (let s = 0; s < count; s++) {
    const n = s % 50 === 0 ? 1 : 2 + Math.floor(rand() * 25);
    const xM: number[] = [];
    const yM: number[] = [];
    const headingRad: number[] = [];
    let x = (rand() - 0.5) * areaM;
    let y = (rand() - 0.5) * areaM;
    let yaw = (rand() - 0.5) * 2 * Math.PI;
    for (let i = 0; i < n; i++) {
      xM.push(x);
      yM.push(y);
      headingRad.push(yaw);
      // Mostly driving forward; sometimes turning on the spot, sometimes a GNSS jump.
      const mode = rand();
      if (mode < 0.05) {
        yaw += (rand() - 0.5) * 4;
      } else if (mode < 0.06) {
        x += (rand() - 0.5) * 1500;
        y += (rand() - 0.5) * 1500;
      } else {
        const step = rand() * 15;
        x += step * Math.cos(yaw);
        y += step * Math.sin(yaw);
        yaw += (rand() - 0.5) * 0.4;
      }
    }
    scenes.push({ sceneId: `scene_${s}`, captureId: `cap_${s % 40}`, trajectory: { xM, yM, headingRad } });
  }
  return scenes;
}

function randomRegion(rand: () => number, areaM: number): SpatialRegion {
  const cx = (rand() - 0.5) * areaM;
  const cy = (rand() - 0.5) * areaM;
  if (rand() < 0.6) return { kind: "circle", xM: cx, yM: cy, radiusM: rand() < 0.1 ? 0 : rand() * 250 };
  // A random star-shaped (often concave) polygon.
  const n = 3 + Math.floor(rand() * 6);
  const verticesM = Array.from({ length: n }, (_, i) => {
    const angle = (i / n) * 2 * Math.PI;
    const r = 20 + rand() * 250;
    return { xM: cx + r * Math.cos(angle), yM: cy + r * Math.sin(angle) };
  });
  return { kind: "polygon", verticesM };
}

function bruteForce(
  scenes: TestScene[],
  region: SpatialRegion | undefined,
  heading?: HeadingRange,
): string[] {
  const predicate = new SegmentPredicate(region, heading);
  const out: string[] = [];
  for (const { sceneId, trajectory: t } of scenes) {
    const n = t.xM.length;
    for (let i = 0; i < Math.max(1, n - 1); i++) {
      const j = n === 1 ? i : i + 1;
      const hit = predicate.test(
        t.xM[i] as number,
        t.yM[i] as number,
        t.headingRad[i] as number,
        t.xM[j] as number,
        t.yM[j] as number,
        t.headingRad[j] as number,
      );
      if (hit) {
        out.push(sceneId);
        break;
      }
    }
  }
  return out.sort();
}

/** Minimum distance from a point to the polyline, computed independently of spatial.ts. */
function polylineDistance(t: SceneTrajectory, px: number, py: number): number {
  let best = Number.POSITIVE_INFINITY;
  const n = t.xM.length;
  for (let i = 0; i < n; i++) {
    const ax = t.xM[i] as number;
    const ay = t.yM[i] as number;
    best = Math.min(best, Math.hypot(ax - px, ay - py));
    if (i + 1 < n) {
      const bx = t.xM[i + 1] as number;
      const by = t.yM[i + 1] as number;
      const l2 = (bx - ax) ** 2 + (by - ay) ** 2;
      if (l2 > 0) {
        const u = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / l2;
        if (u > 0 && u < 1)
          best = Math.min(best, Math.hypot(ax + u * (bx - ax) - px, ay + u * (by - ay) - py));
      }
    }
  }
  return best;
}

describe("TrajectoryGrid", () => {
  const areaM = 2000;
  const scenes = generateScenes(3000, 7, areaM);
  const grid = new TrajectoryGrid(50);
  for (const s of scenes) grid.add(s.sceneId, s.captureId, s.trajectory);

  it("returns exactly the scenes whose trajectory passes within the radius (vs an independent brute force)", () => {
    const rand = rng(11);
    let nonEmpty = 0;
    for (let q = 0; q < 150; q++) {
      const xM = (rand() - 0.5) * areaM;
      const yM = (rand() - 0.5) * areaM;
      const radiusM = rand() * 200;
      const expected = scenes
        .filter((s) => polylineDistance(s.trajectory, xM, yM) <= radiusM)
        .map((s) => s.sceneId)
        .sort();
      const got = grid.query({ kind: "circle", xM, yM, radiusM }).sort();
      expect(got).toEqual(expected);
      if (expected.length > 0) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThan(100);
  });

  it("matches brute force for circles and polygons, with and without a heading range", () => {
    const rand = rng(12);
    let hits = 0;
    for (let q = 0; q < 200; q++) {
      const region = randomRegion(rand, areaM);
      const heading = rand() < 0.6 ? { centerDeg: rand() * 360 - 180, toleranceDeg: rand() * 60 } : undefined;
      const got = grid.query(region, heading).sort();
      const expected = bruteForce(scenes, region, heading);
      expect(got, JSON.stringify({ region, heading })).toEqual(expected);
      hits += expected.length;
    }
    expect(hits).toBeGreaterThan(500);
  });

  it("answers a heading range without a region by scanning every trajectory", () => {
    const heading = { centerDeg: 90, toleranceDeg: 10 };
    expect(grid.query(undefined, heading).sort()).toEqual(bruteForce(scenes, undefined, heading));
  });

  it("stays exact after removals, replacements and compaction", () => {
    const local = new TrajectoryGrid(37);
    const live = new Map(scenes.map((s) => [s.sceneId, s]));
    for (const s of scenes) local.add(s.sceneId, s.captureId, s.trajectory);
    local.removeCapture("cap_3");
    for (const s of scenes) if (s.captureId === "cap_3") live.delete(s.sceneId);
    const replacements = generateScenes(200, 99, areaM).map((s, i) => ({ ...s, sceneId: `scene_${i * 7}` }));
    for (const s of replacements) {
      local.add(s.sceneId, s.captureId, s.trajectory);
      live.set(s.sceneId, s);
    }
    local.compact();
    expect(local.size).toBe(live.size);
    const rand = rng(13);
    for (let q = 0; q < 60; q++) {
      const region = randomRegion(rand, areaM);
      expect(local.query(region).sort()).toEqual(bruteForce([...live.values()], region));
    }
  });
});

describe("segment geometry", () => {
  it("decides position and yaw along a segment as dense sampling does", () => {
    const rand = rng(21);
    const samples = 4000;
    let agreements = 0;
    for (let trial = 0; trial < 400; trial++) {
      const ax = rand() * 100;
      const ay = rand() * 100;
      const bx = ax + (rand() - 0.5) * 60;
      const by = ay + (rand() - 0.5) * 60;
      const h0 = (rand() - 0.5) * 2 * Math.PI;
      const h1 = h0 + (rand() - 0.5) * 4;
      const region: SpatialRegion = {
        kind: "circle",
        xM: rand() * 100,
        yM: rand() * 100,
        radiusM: rand() * 40,
      };
      const heading = { centerDeg: rand() * 360, toleranceDeg: rand() * 45 };
      const exact = new SegmentPredicate(region, heading).test(ax, ay, h0, bx, by, h1);
      const sweep = wrapPi(h1 - h0);
      const sampledWith = (slackM: number, slackDeg: number): boolean => {
        for (let i = 0; i <= samples; i++) {
          const t = i / samples;
          const x = ax + t * (bx - ax);
          const y = ay + t * (by - ay);
          const yawDeg = ((h0 + t * sweep) * 180) / Math.PI;
          const offDeg = Math.abs(((((yawDeg - heading.centerDeg) % 360) + 540) % 360) - 180);
          if (
            Math.hypot(x - region.xM, y - region.yM) <= region.radiusM + slackM &&
            offDeg <= heading.toleranceDeg + slackDeg
          ) {
            return true;
          }
        }
        return false;
      };
      // Sampling can only miss hits (never invent them): sampled ⊆ exact ⊆ sampled-with-slack.
      if (sampledWith(0, 0)) expect(exact).toBe(true);
      if (exact) expect(sampledWith(0.05, 0.2)).toBe(true);
      if (exact === sampledWith(0, 0)) agreements++;
    }
    expect(agreements).toBeGreaterThan(380);
  });

  it("handles the edge cases of arcs and polygons", () => {
    expect(arcMeetsRange(Math.PI - 0.1, 0.2, -Math.PI + 0.05, 0.01)).toBe(true);
    expect(arcMeetsRange(0, 0, Math.PI, Math.PI / 2 - 0.01)).toBe(false);
    expect(arcMeetsRange(0, -0.5, -0.6, 0.05)).toBe(false);
    expect(arcMeetsRange(0, -0.5, -0.52, 0.05)).toBe(true);
    const square = Float64Array.from([0, 0, 10, 0, 10, 10, 0, 10]);
    expect(pointInPolygon(10, 5, square)).toBe(true);
    expect(pointInPolygon(10.0001, 5, square)).toBe(false);
    // A segment passing through a concave notch: only the parts inside count.
    const notch = {
      kind: "polygon" as const,
      verticesM: [0, 0, 10, 0, 10, 10, 5, 2, 0, 10].reduce<{ xM: number; yM: number }[]>(
        (acc, v, i, all) => (i % 2 === 0 ? [...acc, { xM: v, yM: all[i + 1] as number }] : acc),
        [],
      ),
    };
    expect(new SegmentPredicate(notch, undefined).test(4, 5, 0, 6, 5, 0)).toBe(false);
    expect(new SegmentPredicate(notch, undefined).test(-5, 1, 0, 15, 1, 0)).toBe(true);
    // Zero radius: only a trajectory through the exact point.
    expect(
      new SegmentPredicate({ kind: "circle", xM: 1, yM: 1, radiusM: 0 }, undefined).test(0, 0, 0, 2, 2, 0),
    ).toBe(true);
  });
});
