import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../core/index.ts";
import { checkLeakage } from "./leakage.ts";
import type { DatasetItem, DatasetManifest, Split } from "./types.ts";

const T0 = 1_700_000_000_000_000_000n;
const S = 1_000_000_000n;

function item(capture: string, fromSecs: number, toSecs: number, split: Split): DatasetItem {
  return {
    captureSha256: sha256Hex(capture),
    captureId: `cap_${capture}`,
    startNs: T0 + BigInt(fromSecs) * S,
    endNs: T0 + BigInt(toSecs) * S,
    topics: ["/lidar"],
    split,
  };
}

function manifest(items: DatasetItem[], groupBy: "capture" | "site" | "rig" = "capture"): DatasetManifest {
  return {
    datasetName: "d",
    items,
    ontologyVersion: null,
    contractVersion: null,
    query: null,
    parentVersionId: null,
    splitPolicy: { ratios: { train: 1, val: 1, test: 1 }, groupBy, seed: "" },
  };
}

describe("checkLeakage", () => {
  it("passes a version whose captures each stay in one split", () => {
    const report = checkLeakage(
      manifest([item("a", 0, 10, "train"), item("a", 5, 15, "train"), item("b", 0, 10, "test")]),
    );
    expect(report).toEqual({ ok: true, findings: [] });
  });

  it("catches overlapping windows of one capture in different splits, with the overlap", () => {
    const report = checkLeakage(
      manifest([
        item("a", 0, 10, "train"),
        item("b", 0, 10, "train"),
        item("a", 7, 20, "test"),
        item("a", 30, 40, "train"),
      ]),
    );
    expect(report.ok).toBe(false);
    const overlaps = report.findings.filter((f) => f.kind === "overlapping_windows");
    expect(overlaps).toHaveLength(1);
    expect(overlaps[0]).toMatchObject({
      captureId: "cap_a",
      splits: ["train", "test"],
      overlapStartNs: T0 + 7n * S,
      overlapEndNs: T0 + 10n * S,
    });
    // Canonical order: cap_a's items come sorted by start, so [0,10) is index 0 or 1 depending on the hash of "a" vs "b".
    const shared = report.findings.find((f) => f.kind === "shared_capture");
    expect(shared).toMatchObject({ captureId: "cap_a", splits: ["train", "test"] });
    expect(shared?.kind === "shared_capture" && shared.itemIndexes.length).toBe(3);
  });

  it("reports a capture on both sides even when its windows only touch", () => {
    const report = checkLeakage(manifest([item("a", 0, 10, "train"), item("a", 10, 20, "val")]));
    expect(report.ok).toBe(false);
    expect(report.findings.map((f) => f.kind)).toEqual(["shared_capture"]);
  });

  it("catches a site shared across splits and warns about captures without a site", () => {
    const captures = new Map([
      ["cap_a", { site: "munich", rig: "r1" }],
      ["cap_b", { site: "munich", rig: "r2" }],
      ["cap_c", { site: "austin", rig: "r1" }],
      ["cap_d", { site: null, rig: "r1" }],
    ]);
    const items = [
      item("a", 0, 10, "train"),
      item("b", 0, 10, "test"),
      item("c", 0, 10, "train"),
      item("d", 0, 10, "val"),
    ];
    const bySite = checkLeakage(manifest(items, "site"), { captures });
    expect(bySite.ok).toBe(false);
    expect(bySite.findings).toEqual([
      expect.objectContaining({
        kind: "shared_group",
        groupBy: "site",
        group: "munich",
        captureIds: ["cap_a", "cap_b"],
      }),
      expect.objectContaining({ kind: "unknown_group", severity: "warning", captureIds: ["cap_d"] }),
    ]);
    const byRig = checkLeakage(manifest(items, "rig"), { captures });
    expect(byRig.findings.map((f) => (f.kind === "shared_group" ? f.group : f.kind))).toEqual(["r1"]);
    expect(checkLeakage(manifest(items, "capture"), { captures }).ok).toBe(true);
  });
});
