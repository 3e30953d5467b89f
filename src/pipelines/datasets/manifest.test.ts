import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../core/index.ts";
import {
  manifestJson,
  normalizeManifest,
  parseManifest,
  parseSampleId,
  sampleIdOf,
  versionIdOf,
} from "./manifest.ts";
import type { DatasetItem, DatasetManifest } from "./types.ts";

const T0 = 1_700_000_000_000_000_000n;
const S = 1_000_000_000n;

function item(
  capture: string,
  fromSecs: number,
  toSecs: number,
  extra: Partial<DatasetItem> = {},
): DatasetItem {
  return {
    captureSha256: sha256Hex(capture),
    captureId: `cap_${sha256Hex(capture).slice(0, 16)}`,
    startNs: T0 + BigInt(fromSecs) * S,
    endNs: T0 + BigInt(toSecs) * S,
    topics: ["/imu", "/camera/image"],
    split: "train",
    ...extra,
  };
}

function manifest(items: DatasetItem[], extra: Partial<DatasetManifest> = {}): DatasetManifest {
  return {
    datasetName: "pedestrians",
    items,
    ontologyVersion: "1.2.0",
    contractVersion: "3",
    query: "tag:pedestrian night",
    parentVersionId: null,
    splitPolicy: null,
    ...extra,
  };
}

const base = [item("a", 0, 10), item("a", 20, 30, { sceneId: "scn_2", split: "val" }), item("b", 5, 15)];

describe("dataset version ids", () => {
  it("are dsv_ + SHA-256 of the canonical manifest, the same for the same content", () => {
    const id = versionIdOf(manifest(base));
    expect(id).toMatch(/^dsv_[0-9a-f]{64}$/);
    expect(id).toBe(`dsv_${sha256Hex(manifestJson(manifest(base)))}`);
    expect(versionIdOf(manifest(structuredClone(base)))).toBe(id);
  });

  it("do not depend on item order, topic order or repeated items", () => {
    const id = versionIdOf(manifest(base));
    const shuffled = [base[2], base[0], base[1]].map((i) => ({
      ...(i as DatasetItem),
      topics: [...(i as DatasetItem).topics].reverse(),
    }));
    expect(versionIdOf(manifest(shuffled))).toBe(id);
    expect(versionIdOf(manifest([...base, item("a", 0, 10)]))).toBe(id);
  });

  it("change when any one item changes", () => {
    const id = versionIdOf(manifest(base));
    const variants: DatasetItem[][] = [
      [{ ...(base[0] as DatasetItem), endNs: (base[0] as DatasetItem).endNs + 1n }, ...base.slice(1)],
      [{ ...(base[0] as DatasetItem), topics: ["/imu"] }, ...base.slice(1)],
      [{ ...(base[0] as DatasetItem), split: "test" }, ...base.slice(1)],
      [{ ...(base[0] as DatasetItem), sceneId: "scn_1" }, ...base.slice(1)],
      base.slice(1),
      [...base, item("c", 0, 1)],
    ];
    const ids = new Set(variants.map((v) => versionIdOf(manifest(v))));
    expect(ids.size).toBe(variants.length);
    expect(ids.has(id)).toBe(false);
  });

  it("change with the manifest's other fields", () => {
    const id = versionIdOf(manifest(base));
    expect(versionIdOf(manifest(base, { ontologyVersion: "1.3.0" }))).not.toBe(id);
    expect(versionIdOf(manifest(base, { query: null }))).not.toBe(id);
    expect(versionIdOf(manifest(base, { datasetName: "other" }))).not.toBe(id);
    expect(
      versionIdOf(
        manifest(base, {
          splitPolicy: { ratios: { train: 8, val: 1, test: 1 }, groupBy: "capture", seed: "s" },
        }),
      ),
    ).not.toBe(id);
  });

  it("round-trip through the stored JSON with ns beyond 2^53 intact", () => {
    const big = item("z", 0, 1, { startNs: 2n ** 62n + 1n, endNs: 2n ** 62n + 3n });
    const m = manifest([...base, big]);
    const back = parseManifest(manifestJson(m));
    expect(back).toEqual(normalizeManifest(m));
    expect(back.items.some((i) => i.startNs === 2n ** 62n + 1n)).toBe(true);
    expect(versionIdOf(back)).toBe(versionIdOf(m));
  });

  it("rejects empty windows, bad hashes and unknown splits", () => {
    expect(() => versionIdOf(manifest([item("a", 5, 5)]))).toThrow(/window/);
    expect(() => versionIdOf(manifest([{ ...item("a", 0, 1), captureSha256: "nope" }]))).toThrow(/SHA-256/);
    expect(() => versionIdOf(manifest([{ ...item("a", 0, 1), split: "holdout" as never }]))).toThrow(/split/);
    expect(() => versionIdOf(manifest([{ ...item("a", 0, 1), topics: [] }]))).toThrow(/topic/);
  });
});

describe("sample ids", () => {
  it("are <versionId>/<itemIndex>", () => {
    const versionId = versionIdOf(manifest(base));
    expect(parseSampleId(sampleIdOf(versionId, 2))).toEqual({ versionId, itemIndex: 2 });
    expect(parseSampleId(`${versionId}/02`)).toBeUndefined();
    expect(parseSampleId(`${versionId}/-1`)).toBeUndefined();
    expect(parseSampleId("dsv_abc/1")).toBeUndefined();
    expect(parseSampleId(versionId)).toBeUndefined();
  });
});
