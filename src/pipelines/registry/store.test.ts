import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogBackends, insertTestCapture, type TestCatalog } from "../datasets/test-catalogs.ts";
import type { EgoTrajectory } from "./ego-motion.ts";
import {
  decodePoses,
  encodePoses,
  insertTrajectories,
  listCaptureMetrics,
  listTrajectories,
  putCaptureMetrics,
  readTrajectory,
} from "./store.ts";
import type { PoseTrajectory } from "./trajectory.ts";
import { evoSecsFromNs } from "./trajectory.ts";

function circle(n: number, frameId?: string): PoseTrajectory {
  const timestampsNs = BigInt64Array.from(
    { length: n },
    (_, i) => 1_700_000_000_000_000_000n + BigInt(i) * 33_333_333n,
  );
  const positions = new Float64Array(3 * n);
  const orientations = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const a = (2 * Math.PI * i) / n;
    positions.set([10 * Math.cos(a), 10 * Math.sin(a), 0.1 * i], 3 * i);
    orientations.set([0, 0, Math.sin((a + Math.PI / 2) / 2), Math.cos((a + Math.PI / 2) / 2)], 4 * i);
  }
  return {
    timestampsSecs: Float64Array.from(timestampsNs, evoSecsFromNs),
    timestampsNs,
    timeBase: "seconds",
    positions,
    orientations,
    ...(frameId ? { frameId } : {}),
  };
}

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("packed poses", () => {
  it("round-trip bit-exactly, also from an unaligned view into a larger buffer", () => {
    const t = circle(1001);
    const packed = encodePoses(t);
    expect(packed.byteLength).toBe(16 + 64 * 1001);
    const pool = new Uint8Array(packed.byteLength + 7);
    pool.set(packed, 3);
    const back = decodePoses(Buffer.from(pool.buffer, 3, packed.byteLength), "odom");
    expect(back.timestampsNs).toEqual(t.timestampsNs);
    expect(back.timestampsSecs).toEqual(t.timestampsSecs);
    expect(back.positions).toEqual(t.positions);
    expect(back.orientations).toEqual(t.orientations);
    expect(back.frameId).toBe("odom");
  });

  it("refuse corrupt bytes with a coded error", () => {
    const packed = encodePoses(circle(3));
    expect(() => decodePoses(packed.subarray(0, 40))).toThrow(/corrupt/);
    const wrongMagic = packed.slice();
    wrongMagic[0] = 0;
    expect(() => decodePoses(wrongMagic)).toThrowError(expect.objectContaining({ code: "STRATA_E_CATALOG" }));
  });
});

for (const backend of catalogBackends()) {
  describe(`trajectory store on ${backend.name}`, () => {
    let db: TestCatalog;
    let captureId: string;
    beforeAll(async () => {
      db = await backend.open();
      ({ captureId } = await insertTestCapture(db.catalog, { name: "traj-store" }));
      const trajectories: EgoTrajectory[] = [
        {
          source: "tf:odom->base_link",
          frame: "odom",
          childFrame: "base_link",
          trajectory: circle(100_000, "odom"),
          meta: {},
        },
        {
          source: "gps:/gps/fix",
          frame: "enu",
          childFrame: "base_link",
          trajectory: circle(50, "enu"),
          meta: { origin: { latitudeDeg: 48, longitudeDeg: 11, altitudeM: 500 } },
        },
      ];
      await db.catalog.transaction((tx) => insertTrajectories(tx, captureId, trajectories));
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("lists summaries (primary first) and reads 100k poses back exactly", async () => {
      const list = await listTrajectories(db.catalog, captureId);
      expect(list.map((t) => [t.source, t.primary, t.poseCount])).toEqual([
        ["tf:odom->base_link", true, 100_000],
        ["gps:/gps/fix", false, 50],
      ]);
      const primary = list[0];
      expect(primary?.bounds?.maxX).toBeCloseTo(10, 9);
      expect(primary?.bounds?.minY).toBeCloseTo(-10, 6);
      expect(primary?.lengthM).toBeGreaterThan(2 * Math.PI * 10);
      expect(primary?.startNs).toBe(1_700_000_000_000_000_000n);
      const started = performance.now();
      const stored = await readTrajectory(db.catalog, captureId);
      const elapsedMs = performance.now() - started;
      const expected = circle(100_000, "odom");
      expect(sameBytes(stored.trajectory.positions, expected.positions)).toBe(true);
      expect(sameBytes(stored.trajectory.orientations, expected.orientations)).toBe(true);
      expect(
        sameBytes(stored.trajectory.timestampsNs as BigInt64Array, expected.timestampsNs as BigInt64Array),
      ).toBe(true);
      expect(stored.trajectory.frameId).toBe("odom");
      console.log(`read 100k poses in ${elapsedMs.toFixed(1)} ms`);
      expect(elapsedMs).toBeLessThan(1000);
    });

    it("selects by source, topic or frame, and names what is stored when nothing matches", async () => {
      expect((await readTrajectory(db.catalog, captureId, { source: "/gps/fix" })).source).toBe(
        "gps:/gps/fix",
      );
      expect((await readTrajectory(db.catalog, captureId, { frame: "enu" })).meta).toEqual({
        origin: { latitudeDeg: 48, longitudeDeg: 11, altitudeM: 500 },
      });
      await expect(readTrajectory(db.catalog, captureId, { frame: "map" })).rejects.toMatchObject({
        code: "STRATA_E_NOT_FOUND",
        message: expect.stringContaining("tf:odom->base_link in odom"),
      });
    });

    it("stores metrics per (capture, reference, estimate), replaces them, and filters by value", async () => {
      const { captureId: other } = await insertTestCapture(db.catalog, { name: "traj-store-2" });
      const base = {
        estimateSource: "tf:odom->base_link",
        align: "se3",
        rpe: { pairs: 9, rmse: 0.01, mean: 0.01, max: 0.02 },
        scale: null,
        params: { delta: 1 },
      };
      await putCaptureMetrics(db.catalog, {
        ...base,
        captureId,
        reference: "gt.txt",
        ape: { pairs: 10, rmse: 0.5, mean: 0.4, median: 0.4, std: 0.1, max: 0.9 },
      });
      await putCaptureMetrics(db.catalog, {
        ...base,
        captureId,
        reference: "gt.txt",
        ape: { pairs: 10, rmse: 0.3, mean: 0.2, median: 0.2, std: 0.1, max: 0.6 },
      });
      await putCaptureMetrics(db.catalog, {
        ...base,
        captureId: other,
        reference: "gt.txt",
        ape: { pairs: 10, rmse: 2.5, mean: 2, median: 2, std: 1, max: 4 },
      });
      const all = await listCaptureMetrics(db.catalog);
      expect(all.map((m) => [m.captureId, m.ape.rmse])).toEqual([
        [captureId, 0.3],
        [other, 2.5],
      ]);
      expect((await listCaptureMetrics(db.catalog, { maxApeRmse: 1 })).map((m) => m.captureId)).toEqual([
        captureId,
      ]);
      expect((await listCaptureMetrics(db.catalog, { minApeRmse: 1 })).map((m) => m.captureId)).toEqual([
        other,
      ]);
      expect((await listCaptureMetrics(db.catalog, { maxRpeRmse: 0.001 })).length).toBe(0);
    });

    it("goes with its capture when the capture is deleted", async () => {
      const { captureId: doomed } = await insertTestCapture(db.catalog, { name: "traj-store-doomed" });
      await insertTrajectories(db.catalog, doomed, [
        { source: "odom:/odom", frame: "odom", childFrame: null, trajectory: circle(5), meta: {} },
      ]);
      expect(await db.catalog.deleteCapture(doomed)).toBe(true);
      expect(await listTrajectories(db.catalog, doomed)).toEqual([]);
    });
  });
}
