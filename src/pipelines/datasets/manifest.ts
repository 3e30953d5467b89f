/**
 * Dataset manifests as values: normalisation to the canonical form, the content-addressed version id, and
 * the JSON text stored in the catalog (bigint ns as decimal strings, as `canonicalJson` writes them).
 */
import { StrataError, canonicalJson, isSha256Hex, sha256Hex } from "../../core/index.ts";
import { type DatasetItem, type DatasetManifest, SPLITS, type Split, type SplitPolicy } from "./types.ts";

const VERSION_ID = /^dsv_[0-9a-f]{64}$/;

export function isVersionId(value: string): boolean {
  return VERSION_ID.test(value);
}

/** `<versionId>/<itemIndex>`: one item of a version, as materialised (index into the canonical item order). */
export function sampleIdOf(versionId: string, itemIndex: number): string {
  return `${versionId}/${itemIndex}`;
}

export function parseSampleId(sampleId: string): { versionId: string; itemIndex: number } | undefined {
  const slash = sampleId.indexOf("/");
  if (slash < 0) return undefined;
  const versionId = sampleId.slice(0, slash);
  const indexText = sampleId.slice(slash + 1);
  if (!isVersionId(versionId) || !/^(0|[1-9]\d*)$/.test(indexText)) return undefined;
  return { versionId, itemIndex: Number(indexText) };
}

/** Orders items by capture, window, scene, topics and split: the canonical order of a manifest. */
export function compareItems(a: DatasetItem, b: DatasetItem): number {
  return (
    compareText(a.captureSha256, b.captureSha256) ||
    compareBig(a.startNs, b.startNs) ||
    compareBig(a.endNs, b.endNs) ||
    compareText(a.sceneId ?? "", b.sceneId ?? "") ||
    compareText(a.topics.join("\u0000"), b.topics.join("\u0000")) ||
    compareText(a.split, b.split) ||
    compareText(a.captureId, b.captureId)
  );
}

/** Validates one item and returns it with sorted, de-duplicated topics (and no `sceneId` key when absent). */
export function normalizeItem(item: DatasetItem): DatasetItem {
  const where = { captureId: item.captureId };
  if (!isSha256Hex(item.captureSha256)) {
    throw new StrataError("STRATA_E_USAGE", `captureSha256 is not a SHA-256: ${item.captureSha256}`, where);
  }
  if (typeof item.startNs !== "bigint" || typeof item.endNs !== "bigint" || item.endNs <= item.startNs) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `an item's window must be bigint ns with endNs > startNs (got ${item.startNs}..${item.endNs})`,
      where,
    );
  }
  if (!SPLITS.includes(item.split)) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `split must be one of ${SPLITS.join(", ")}: ${item.split}`,
      where,
    );
  }
  const topics = [...new Set(item.topics)].sort(compareText);
  if (topics.length === 0) throw new StrataError("STRATA_E_USAGE", "an item needs at least one topic", where);
  const out: DatasetItem = {
    captureSha256: item.captureSha256,
    captureId: item.captureId,
    startNs: item.startNs,
    endNs: item.endNs,
    topics,
    split: item.split,
  };
  if (item.sceneId !== undefined) out.sceneId = item.sceneId;
  return out;
}

/** Normalised items in canonical order, exact duplicates dropped. */
export function sortItems(items: readonly DatasetItem[]): DatasetItem[] {
  const sorted = items.map(normalizeItem).sort(compareItems);
  return sorted.filter((item, i) => i === 0 || compareItems(sorted[i - 1] as DatasetItem, item) !== 0);
}

/** The manifest in canonical form (what is hashed and stored). */
export function normalizeManifest(manifest: DatasetManifest): DatasetManifest {
  if (manifest.datasetName.trim() === "") throw new StrataError("STRATA_E_USAGE", "a dataset needs a name");
  if (manifest.parentVersionId !== null && !isVersionId(manifest.parentVersionId)) {
    throw new StrataError("STRATA_E_USAGE", `not a dataset version id: ${manifest.parentVersionId}`);
  }
  return {
    datasetName: manifest.datasetName,
    items: sortItems(manifest.items),
    ontologyVersion: manifest.ontologyVersion,
    contractVersion: manifest.contractVersion,
    query: manifest.query,
    parentVersionId: manifest.parentVersionId,
    splitPolicy: manifest.splitPolicy === null ? null : normalizeSplitPolicy(manifest.splitPolicy),
  };
}

export function normalizeSplitPolicy(policy: SplitPolicy): SplitPolicy {
  const { train, val, test } = policy.ratios;
  for (const [name, ratio] of Object.entries({ train, val, test })) {
    if (!Number.isFinite(ratio) || ratio < 0) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `split ratio ${name} must be a finite number ≥ 0, got ${ratio}`,
      );
    }
  }
  if (train + val + test <= 0) throw new StrataError("STRATA_E_USAGE", "split ratios must not all be 0");
  if (!["capture", "site", "rig"].includes(policy.groupBy)) {
    throw new StrataError("STRATA_E_USAGE", `groupBy must be capture, site or rig: ${policy.groupBy}`);
  }
  return { ratios: { train, val, test }, groupBy: policy.groupBy, seed: String(policy.seed) };
}

/** The canonical JSON text of a manifest: the bytes hashed into the version id and stored in the catalog. */
export function manifestJson(manifest: DatasetManifest): string {
  return canonicalJson(normalizeManifest(manifest));
}

/** `dsv_` + SHA-256 of the canonical manifest. Item order, topic order and duplicates do not matter. */
export function versionIdOf(manifest: DatasetManifest): string {
  return `dsv_${sha256Hex(manifestJson(manifest))}`;
}

/** Reads a stored manifest back (bigint ns from their decimal strings); STRATA_E_CATALOG when malformed. */
export function parseManifest(text: string): DatasetManifest {
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    const items = (raw.items as Record<string, unknown>[]).map((r): DatasetItem => {
      const item: DatasetItem = {
        captureSha256: String(r.captureSha256),
        captureId: String(r.captureId),
        startNs: BigInt(r.startNs as string),
        endNs: BigInt(r.endNs as string),
        topics: (r.topics as unknown[]).map(String),
        split: r.split as Split,
      };
      if (typeof r.sceneId === "string") item.sceneId = r.sceneId;
      return item;
    });
    const policy = raw.splitPolicy as SplitPolicy | null;
    return normalizeManifest({
      datasetName: String(raw.datasetName),
      items,
      ontologyVersion: (raw.ontologyVersion as string | null) ?? null,
      contractVersion: (raw.contractVersion as string | null) ?? null,
      query: (raw.query as string | null) ?? null,
      parentVersionId: (raw.parentVersionId as string | null) ?? null,
      splitPolicy: policy ?? null,
    });
  } catch (error) {
    throw new StrataError("STRATA_E_CATALOG", "a stored dataset manifest is malformed", {}, { cause: error });
  }
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
