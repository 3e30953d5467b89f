import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../core/index.ts";
import { diffVersions } from "./diff.ts";
import type { DatasetItem, DatasetManifest } from "./types.ts";

const T0 = 1_700_000_000_000_000_000n;
const S = 1_000_000_000n;
const t = (secs: number) => T0 + BigInt(secs) * S;

function item(
  capture: string,
  fromSecs: number,
  toSecs: number,
  extra: Partial<DatasetItem> = {},
): DatasetItem {
  return {
    captureSha256: sha256Hex(capture),
    captureId: `cap_${capture}`,
    startNs: t(fromSecs),
    endNs: t(toSecs),
    topics: ["/camera", "/lidar"],
    split: "train",
    ...extra,
  };
}

function manifest(items: DatasetItem[], extra: Partial<DatasetManifest> = {}): DatasetManifest {
  return {
    datasetName: "d",
    items,
    ontologyVersion: "1",
    contractVersion: null,
    query: null,
    parentVersionId: null,
    splitPolicy: null,
    ...extra,
  };
}

describe("diffVersions", () => {
  it("finds nothing between a version and itself", () => {
    const m = manifest([item("a", 0, 10), item("b", 0, 10)]);
    const diff = diffVersions(m, m);
    expect(diff).toMatchObject({
      added: [],
      removed: [],
      changed: [],
      unchangedCount: 2,
      manifest: [],
      byTopic: [],
      byCapture: [],
    });
    expect(diff.fromVersionId).toBe(diff.toVersionId);
  });

  it("separates added, removed and changed items, with the changed fields", () => {
    const before = manifest([
      item("a", 0, 10, { sceneId: "s1" }), // window moves → changed (same scene)
      item("a", 20, 30), // topics shrink → changed (overlapping window)
      item("b", 0, 10), // unchanged
      item("c", 0, 10), // removed
      item("d", 0, 10, { split: "train" }), // split changes
    ]);
    const after = manifest(
      [
        item("a", 2, 12, { sceneId: "s1" }),
        item("a", 20, 30, { topics: ["/camera"] }),
        item("b", 0, 10),
        item("d", 0, 10, { split: "test" }),
        item("e", 0, 5), // added
        item("a", 40, 50), // added: same capture, no overlap, no scene
      ],
      { ontologyVersion: "2" },
    );
    const diff = diffVersions(before, after);
    expect(diff.unchangedCount).toBe(1);
    expect(diff.removed.map((e) => e.item.captureId)).toEqual(["cap_c"]);
    expect(diff.added.map((e) => [e.item.captureId, e.item.startNs])).toEqual(
      expect.arrayContaining([
        ["cap_e", t(0)],
        ["cap_a", t(40)],
      ]),
    );
    expect(diff.added).toHaveLength(2);
    const changes = diff.changed.map((c) => [c.before.item.captureId, c.before.item.startNs, c.fields]);
    expect(changes).toEqual(
      expect.arrayContaining([
        ["cap_a", t(0), ["window"]],
        ["cap_a", t(20), ["topics"]],
        ["cap_d", t(0), ["split"]],
      ]),
    );
    expect(diff.changed).toHaveLength(3);
    expect(diff.manifest).toEqual([{ field: "ontologyVersion", before: "1", after: "2" }]);
  });

  it("reports the time coverage gained and lost per topic and per capture", () => {
    const before = manifest([item("a", 0, 10), item("a", 20, 30)]);
    const after = manifest([
      item("a", 5, 25, { topics: ["/camera"] }),
      item("a", 20, 30, { topics: ["/lidar"] }),
    ]);
    const diff = diffVersions(before, after);
    const camera = diff.byTopic.find((d) => d.topic === "/camera");
    const lidar = diff.byTopic.find((d) => d.topic === "/lidar");
    // /camera: before [0,10)+[20,30), after [5,25) → added [10,20), removed [0,5) and [25,30).
    expect(camera).toMatchObject({
      added: [{ captureId: "cap_a", startNs: t(10), endNs: t(20) }],
      removed: [
        { captureId: "cap_a", startNs: t(0), endNs: t(5) },
        { captureId: "cap_a", startNs: t(25), endNs: t(30) },
      ],
      addedNs: 10n * S,
      removedNs: 10n * S,
    });
    // /lidar: before [0,10)+[20,30), after [20,30) → removed [0,10).
    expect(lidar).toMatchObject({
      added: [],
      removed: [{ startNs: t(0), endNs: t(10) }],
      removedNs: 10n * S,
    });
    // Any topic: before [0,10)+[20,30), after [5,30) → added [10,20), removed [0,5).
    expect(diff.byCapture).toEqual([
      {
        captureId: "cap_a",
        added: [{ captureId: "cap_a", startNs: t(10), endNs: t(20) }],
        removed: [{ captureId: "cap_a", startNs: t(0), endNs: t(5) }],
        addedNs: 10n * S,
        removedNs: 5n * S,
      },
    ]);
  });
});
