/**
 * datasets: immutable, content-addressed dataset versions (manifest → `dsv_<sha256>`), deterministic
 * leakage-free splits, leakage checks, diffs, and failure blame against a version's base rates.
 * Materialisation (trimmed MCAP per item + Parquet sample index) arrives with the export module.
 */
export {
  blame,
  type BlameCause,
  type BlameDeps,
  type BlameDimension,
  type BlameOptions,
  type BlameReport,
  type SceneFeatureSource,
} from "./blame.ts";
export {
  diffVersions,
  type CaptureDiff,
  type CoverageDelta,
  type IndexedItem,
  type ItemChange,
  type ItemField,
  type ManifestFieldChange,
  type TopicDiff,
  type VersionDiff,
} from "./diff.ts";
export { checkLeakage, type LeakageFinding, type LeakageOptions, type LeakageReport } from "./leakage.ts";
export {
  compareItems,
  isVersionId,
  manifestJson,
  normalizeManifest,
  parseManifest,
  parseSampleId,
  sampleIdOf,
  sortItems,
  versionIdOf,
} from "./manifest.ts";
export { assignSplits, splitGroupOf, type SplitCandidate } from "./splits.ts";
export {
  checkVersionLeakage,
  createDatasetVersion,
  getVersion,
  listDatasets,
  listVersions,
  requireVersion,
  type CreateDatasetVersionInput,
  type CreateDatasetVersionResult,
  type DatasetDeps,
  type ItemInput,
  type SceneRef,
} from "./store.ts";
export {
  SPLITS,
  type CaptureRange,
  type DatasetItem,
  type DatasetManifest,
  type DatasetSummary,
  type DatasetVersion,
  type Split,
  type SplitGroupBy,
  type SplitPolicy,
} from "./types.ts";
export {
  MATERIALIZE_FORMAT,
  MATERIALIZE_FORMAT_VERSION,
  MATERIALIZED_INDEX_FILE,
  MATERIALIZED_MANIFEST_FILE,
  materializeVersion,
  type MaterializeDeps,
  type MaterializedSample,
  type MaterializeOptions,
  type MaterializeResult,
} from "./materialize.ts";
