import type { Sha256Hex } from "../../core/index.ts";

export type Split = "train" | "val" | "test";
export const SPLITS: readonly Split[] = ["train", "val", "test"];

/** What keeps a group of items in one split: the capture itself, or every capture of a site / rig. */
export type SplitGroupBy = "capture" | "site" | "rig";

export interface SplitPolicy {
  /** Relative weights (normalised; need not sum to 1). A split with ratio 0 receives nothing. */
  ratios: { train: number; val: number; test: number };
  groupBy: SplitGroupBy;
  /** Any string; a different seed gives a different (equally valid) assignment. */
  seed: string;
}

/** One entry of a version: a time window of one capture, with the topics it keeps. */
export interface DatasetItem {
  captureSha256: Sha256Hex;
  captureId: string;
  /** Inclusive start of the window (ns since the epoch). */
  startNs: bigint;
  /** Exclusive end of the window; > startNs. */
  endNs: bigint;
  /** Sorted, without duplicates. */
  topics: string[];
  sceneId?: string;
  split: Split;
}

/**
 * The immutable content of a dataset version. Its id is `dsv_` + SHA-256 of `canonicalJson(manifest)`, with
 * `items` in canonical order (see `sortItems`), so the same content always has the same id.
 */
export interface DatasetManifest {
  datasetName: string;
  items: DatasetItem[];
  ontologyVersion: string | null;
  contractVersion: string | null;
  /** The search query text that produced the items, when one did. */
  query: string | null;
  parentVersionId: string | null;
  /** null when every item's split was given by the caller. */
  splitPolicy: SplitPolicy | null;
}

export interface DatasetVersion {
  /** `dsv_` + 64 hex digits. */
  versionId: string;
  datasetName: string;
  parentVersionId: string | null;
  manifest: DatasetManifest;
  createdAtNs: bigint;
  createdBy: string;
}

export interface DatasetSummary {
  name: string;
  createdAtNs: bigint;
  createdBy: string;
  versionCount: number;
  /** The newest version (by creation time), null for a dataset without versions. */
  latestVersionId: string | null;
}

/** A time range of one capture. */
export interface CaptureRange {
  captureId: string;
  startNs: bigint;
  endNs: bigint;
}
