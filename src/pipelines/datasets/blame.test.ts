import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Catalog } from "../../catalog/index.ts";
import { blame } from "./blame.ts";
import { sampleIdOf } from "./manifest.ts";
import { createDatasetVersion } from "./store.ts";
import { catalogBackends, insertTestCapture, type TestCatalog } from "./test-catalogs.ts";
import type { DatasetVersion } from "./types.ts";

const T0 = 1_700_000_000_000_000_000n;
const S = 1_000_000_000n;

for (const backend of catalogBackends()) {
  describe(`blame (${backend.name})`, () => {
    let test: TestCatalog;
    let catalog: Catalog;
    let version: DatasetVersion;
    const captureIds: string[] = [];

    beforeEach(async () => {
      test = await backend.open();
      catalog = test.catalog;
      captureIds.length = 0;
      // Five captures × 20 one-second windows; capture 2 ("faulty") shares rig r2 with capture 3.
      const rigs = ["r1", "r1", "r2", "r2", "r3"];
      for (let c = 0; c < 5; c++) {
        const { captureId } = await insertTestCapture(catalog, {
          name: `cap-${c}`,
          rig: rigs[c],
          site: c < 3 ? "munich" : "austin",
        });
        captureIds.push(captureId);
      }
      // QA marked the faulty capture "fail" (gap on the lidar); calibrations per rig.
      for (const [c, captureId] of captureIds.entries()) {
        const run = await catalog.startRun({ kind: "qa", inputs: [{ captureId }], codeVersion: "t" });
        await catalog.finishRun(run.runId, {
          status: "completed",
          outputs: [
            c === 2
              ? { captureId, verdict: "fail", reasons: [{ check: "gap", topic: "/lidar" }] }
              : { captureId, verdict: "pass", reasons: [] },
          ],
        });
        const calib = await catalog.startRun({
          kind: "calibration",
          inputs: [{ captureId }],
          codeVersion: "t",
        });
        await catalog.finishRun(calib.runId, {
          status: "completed",
          outputs: [{ captureId, calibrationVersion: `calib-${rigs[c]}` }],
        });
      }
      const result = await createDatasetVersion(
        {
          name: "eval",
          fromScenes: captureIds.flatMap((captureId, c) =>
            Array.from({ length: 20 }, (_, k) => ({
              sceneId: `scn_${c}_${k}`,
              captureId,
              startNs: T0 + BigInt(k) * S,
              endNs: T0 + BigInt(k + 1) * S,
            })),
          ),
          splitPolicy: { ratios: { train: 0, val: 0, test: 1 }, groupBy: "capture", seed: "" },
          actor: "t",
        },
        { catalog },
      );
      version = result.version;
    });
    afterEach(async () => {
      await test.dispose();
    });

    function samplesOf(captureIndex: number, count: number): string[] {
      const out: string[] = [];
      version.manifest.items.forEach((item, index) => {
        if (item.captureId === captureIds[captureIndex] && out.length < count)
          out.push(sampleIdOf(version.versionId, index));
      });
      return out;
    }

    it("ranks the over-represented faulty capture first, its QA flag and rig after", async () => {
      // 15 failures from the faulty capture, 1–2 from each other capture.
      const failing = [
        ...samplesOf(2, 15),
        ...samplesOf(0, 2),
        ...samplesOf(1, 1),
        ...samplesOf(3, 1),
        ...samplesOf(4, 1),
      ];
      const speeds = new Map(
        version.manifest.items.map((item) => [
          item.sceneId ?? "",
          { speedMps: item.captureId === captureIds[2] ? 12 : 3, night: false },
        ]),
      );
      const report = await blame([...failing, "dsv_x/1", `${version.versionId}/999`], version.versionId, {
        catalog,
        sceneFeatures: async () => speeds,
      });
      expect(report.sampleCount).toBe(100);
      expect(report.failingCount).toBe(20);
      expect(report.ignoredSampleIds).toEqual(["dsv_x/1", `${version.versionId}/999`]);
      const top = report.causes[0];
      expect(top).toMatchObject({ dimension: "capture", value: captureIds[2], failCount: 15, baseCount: 20 });
      expect(top?.lift).toBeCloseTo(3.75, 10);
      // Same evidence as the capture itself (only it has them), ranked right behind it by specificity;
      // then what it shares with capture 3 (rig r2 and its calibration), then its site.
      expect(report.causes.slice(1, 7).map((c) => `${c.dimension}=${c.value}`)).toEqual([
        "qa_flag=gap",
        "qa_verdict=fail",
        "feature:speedMps=12",
        "calibration=calib-r2",
        "rig=r2",
        "site=munich",
      ]);
      const rig = report.causes.find((c) => c.dimension === "rig");
      expect(rig).toMatchObject({ value: "r2", failCount: 16, baseCount: 40 });
      expect(rig?.zScore).toBeLessThan(top?.zScore ?? 0);
      expect(report.causes.find((c) => c.dimension === "calibration")?.value).toBe("calib-r2");
      // Values not over-represented are not causes.
      expect(report.causes.some((c) => c.value === captureIds[0])).toBe(false);
      expect(report.causes.some((c) => c.value === "pass")).toBe(false);
    });

    it("ranks by evidence: a weakly over-represented capture stays below a strong one", async () => {
      const failing = [...samplesOf(4, 12), ...samplesOf(1, 6)];
      const report = await blame(failing, version, { catalog });
      const captures = report.causes.filter((c) => c.dimension === "capture").map((c) => c.value);
      expect(captures).toEqual([captureIds[4], captureIds[1]]);
    });

    it("buckets continuous scene features at quantiles", async () => {
      // speed = the window's position in its capture (0..19 m/s); the model fails at 15 m/s and above.
      const speedOf = (sceneId: string) => Number(sceneId.split("_")[2]);
      const failing = version.manifest.items.flatMap((item, index) =>
        speedOf(item.sceneId ?? "") >= 15 ? [sampleIdOf(version.versionId, index)] : [],
      );
      const features = new Map(
        version.manifest.items.map((i) => [i.sceneId ?? "", { speedMps: speedOf(i.sceneId ?? "") }]),
      );
      const report = await blame(failing, version, { catalog, sceneFeatures: async () => features });
      expect(report.failingCount).toBe(25);
      expect(report.causes[0]).toMatchObject({
        dimension: "feature:speedMps",
        value: "[14, 19]",
        failCount: 25,
        baseCount: 30,
      });
      expect(report.causes.some((c) => c.dimension === "capture")).toBe(false);
    });

    it("refuses sample ids of another version only", async () => {
      await expect(blame(["dsv_x/1"], version, { catalog })).rejects.toMatchObject({
        code: "STRATA_E_USAGE",
      });
    });
  });
}
