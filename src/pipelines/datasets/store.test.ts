import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Catalog } from "../../catalog/index.ts";
import { sampleIdOf, versionIdOf } from "./manifest.ts";
import {
  checkVersionLeakage,
  createDatasetVersion,
  getVersion,
  listDatasets,
  listVersions,
  requireVersion,
} from "./store.ts";
import { catalogBackends, insertTestCapture, type TestCatalog } from "./test-catalogs.ts";

const T0 = 1_700_000_000_000_000_000n;
const S = 1_000_000_000n;
const policy = { ratios: { train: 0.5, val: 0.25, test: 0.25 }, groupBy: "capture" as const, seed: "s" };

for (const backend of catalogBackends()) {
  describe(`dataset versions (${backend.name})`, () => {
    let test: TestCatalog;
    let catalog: Catalog;
    let caps: Array<{ captureId: string; sha256: string }>;
    beforeEach(async () => {
      test = await backend.open();
      catalog = test.catalog;
      caps = [];
      for (let i = 0; i < 8; i++) {
        caps.push(
          await insertTestCapture(catalog, {
            name: `capture-${i}`,
            site: `site-${i % 2}`,
            rig: `rig-${i % 3}`,
          }),
        );
      }
    });
    afterEach(async () => {
      await test.dispose();
    });

    const windowsOf = (captureId: string) => [
      { captureId, startNs: T0, endNs: T0 + 10n * S },
      { captureId, startNs: T0 + 5n * S, endNs: T0 + 20n * S, topics: ["/imu"] },
    ];

    it("creates a version with a run and an audit event, and reads it back", async () => {
      const result = await createDatasetVersion(
        {
          name: "urban",
          items: caps.flatMap((c) => windowsOf(c.captureId)),
          splitPolicy: policy,
          query: "site:munich",
          ontologyVersion: "1.0.0",
          actor: "test:alice",
        },
        { catalog, codeVersion: "0.1.0+abc" },
      );
      expect(result.created).toBe(true);
      expect(result.leakage.ok).toBe(true);
      const { version } = result;
      expect(version.versionId).toBe(versionIdOf(version.manifest));
      expect(version.manifest.items).toHaveLength(16);
      expect(version.manifest.items[0]?.topics).toEqual(["/camera/image", "/imu"]);
      expect(version.manifest.items.every((i) => i.captureSha256.length === 64)).toBe(true);
      expect(await getVersion(version.versionId, { catalog })).toEqual(version);

      const run = await catalog.getRun(result.runId ?? "");
      expect(run).toMatchObject({ kind: "dataset", status: "completed", codeVersion: "0.1.0+abc" });
      expect(run?.outputs).toEqual([
        { datasetVersionId: version.versionId, datasetName: "urban", itemCount: 16 },
      ]);
      expect(run?.inputs).toHaveLength(8);
      const audit = await catalog.listAudit({ action: "dataset.version.create" });
      expect(audit.map((a) => a.target)).toEqual([version.versionId]);

      // The same content again is the same version, written once.
      const again = await createDatasetVersion(
        {
          name: "urban",
          items: [...caps.flatMap((c) => windowsOf(c.captureId))].reverse(),
          splitPolicy: policy,
          query: "site:munich",
          ontologyVersion: "1.0.0",
          actor: "test:bob",
        },
        { catalog },
      );
      expect(again).toMatchObject({ created: false, runId: null });
      expect(again.version).toEqual(version);
      expect(await catalog.listRuns({ kind: "dataset" })).toHaveLength(1);
    });

    it("lists datasets and versions, with parents, and rejects an unknown parent", async () => {
      const v1 = await createDatasetVersion(
        { name: "d", items: windowsOf(caps[0]?.captureId ?? ""), splitPolicy: policy, actor: "t" },
        { catalog },
      );
      const v2 = await createDatasetVersion(
        {
          name: "d",
          items: [...windowsOf(caps[0]?.captureId ?? ""), ...windowsOf(caps[1]?.captureId ?? "")],
          splitPolicy: policy,
          parentVersionId: v1.version.versionId,
          actor: "t",
        },
        { catalog },
      );
      expect(v2.version.parentVersionId).toBe(v1.version.versionId);
      expect(v2.version.manifest.parentVersionId).toBe(v1.version.versionId);
      const datasets = await listDatasets({ catalog });
      expect(datasets).toHaveLength(1);
      expect(datasets[0]).toMatchObject({ name: "d", versionCount: 2, createdBy: "t" });
      expect([v1.version.versionId, v2.version.versionId]).toContain(datasets[0]?.latestVersionId);
      expect((await listVersions("d", { catalog })).map((v) => v.versionId).sort()).toEqual(
        [v1.version.versionId, v2.version.versionId].sort(),
      );
      await expect(
        createDatasetVersion(
          {
            name: "d",
            items: windowsOf(caps[0]?.captureId ?? ""),
            splitPolicy: policy,
            parentVersionId: `dsv_${"0".repeat(64)}`,
            actor: "t",
          },
          { catalog },
        ),
      ).rejects.toMatchObject({ code: "STRATA_E_NOT_FOUND" });
      await expect(requireVersion(`dsv_${"1".repeat(64)}`, { catalog })).rejects.toMatchObject({
        code: "STRATA_E_NOT_FOUND",
      });
    });

    it("builds items from scenes, defaulting topics, and from captures by SHA-256 with the whole window", async () => {
      const c0 = caps[0] as { captureId: string; sha256: string };
      const result = await createDatasetVersion(
        {
          name: "scenes",
          fromScenes: [{ sceneId: "scn_1", captureId: c0.captureId, startNs: T0 + S, endNs: T0 + 3n * S }],
          items: [{ captureSha256: caps[1]?.sha256 ?? "", split: "test" }],
          actor: "t",
          allowLeakage: false,
        },
        { catalog },
      ).catch((e: unknown) => e);
      // Without a split policy the scene item has no split: refused.
      expect(result).toMatchObject({ code: "STRATA_E_USAGE" });

      const ok = await createDatasetVersion(
        {
          name: "scenes",
          fromScenes: [{ sceneId: "scn_1", captureId: c0.captureId, startNs: T0 + S, endNs: T0 + 3n * S }],
          items: [{ captureSha256: caps[1]?.sha256 ?? "" }],
          splitPolicy: policy,
          actor: "t",
        },
        { catalog },
      );
      const items = ok.version.manifest.items;
      const scene = items.find((i) => i.sceneId === "scn_1");
      expect(scene).toMatchObject({
        captureId: c0.captureId,
        topics: ["/camera/image", "/imu"],
        startNs: T0 + S,
      });
      const whole = items.find((i) => i.captureId === caps[1]?.captureId);
      expect(whole).toMatchObject({ startNs: T0, endNs: T0 + 60n * S + 1n });
    });

    it("refuses quarantined captures, unknown topics, windows outside the capture and leaky explicit splits", async () => {
      const q = await insertTestCapture(catalog, { name: "bad", status: "quarantined" });
      const c0 = caps[0]?.captureId ?? "";
      const create = (items: Parameters<typeof createDatasetVersion>[0]["items"], extra = {}) =>
        createDatasetVersion({ name: "x", items, actor: "t", ...extra }, { catalog });
      await expect(create([{ captureId: q.captureId, split: "train" }])).rejects.toMatchObject({
        code: "STRATA_E_CONFLICT",
      });
      expect(
        (await create([{ captureId: q.captureId, split: "train" }], { allowQuarantined: true })).created,
      ).toBe(true);
      await expect(create([{ captureId: c0, topics: ["/nope"], split: "train" }])).rejects.toThrow(
        /no topic \/nope/,
      );
      await expect(create([{ captureId: c0, startNs: T0 - 1n, split: "train" }])).rejects.toThrow(
        /outside the capture/,
      );
      await expect(create([{ captureId: "cap_missing", split: "train" }])).rejects.toMatchObject({
        code: "STRATA_E_NOT_FOUND",
      });
      const leaky = [
        { captureId: c0, startNs: T0, endNs: T0 + 10n * S, split: "train" as const },
        { captureId: c0, startNs: T0 + 5n * S, endNs: T0 + 15n * S, split: "test" as const },
      ];
      await expect(create(leaky)).rejects.toThrow(/overlap/);
      const kept = await create(leaky, { allowLeakage: true });
      expect(kept.leakage.ok).toBe(false);
      const report = await checkVersionLeakage(kept.version.versionId, { catalog });
      expect(report.findings.map((f) => f.kind)).toEqual(["overlapping_windows", "shared_capture"]);
    });

    it("splits by site without leakage, checked against the catalog", async () => {
      const result = await createDatasetVersion(
        {
          name: "by-site",
          items: caps.flatMap((c) => windowsOf(c.captureId)),
          splitPolicy: { ratios: { train: 1, val: 0, test: 1 }, groupBy: "site", seed: "x" },
          actor: "t",
        },
        { catalog },
      );
      const report = await checkVersionLeakage(result.version.versionId, { catalog });
      expect(report).toEqual({ ok: true, findings: [] });
      const splits = new Set(result.version.manifest.items.map((i) => i.split));
      expect([...splits].sort()).toEqual(["test", "train"]);
      expect(sampleIdOf(result.version.versionId, 0)).toMatch(/^dsv_[0-9a-f]{64}\/0$/);
    });
  });
}
