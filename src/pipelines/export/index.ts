/**
 * Export, replay and portability: trimmed MCAP / ROS 1 bag windows of a capture (plan → execute), live
 * replay over the Foxglove WebSocket protocol, the portability bundle (export / import) and legacy import.
 */
export {
  describeWindowPlan,
  isLatched,
  parseWindowBound,
  type PlannedChannel,
  planWindowExport,
  type WindowExportFormat,
  type WindowExportPlan,
  type WindowExportRequest,
} from "./plan.ts";
export {
  EXPORT_METADATA_NAME,
  executeWindowExport,
  hashFile,
  type WindowExportResult,
  type WindowExportSource,
} from "./window.ts";
export { type StoredCaptureDeps, type StoredCapturePath, storedCapturePath } from "./stored.ts";
export {
  REPLAY_PARAMETERS,
  REPLAY_SUBPROTOCOL,
  type ReplayOptions,
  type ReplayServer,
  type ReplayState,
  type ReplayStatus,
  startReplay,
} from "./replay.ts";
export {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  type BundleBlobEntry,
  type BundleDeps,
  type BundleExportResult,
  type BundleImportResult,
  type BundleManifest,
  type BundleScope,
  type BundleTableEntry,
  exportBundle,
  importBundle,
  MANIFEST_FILE,
  manifestJson,
  readBundleManifest,
  verifyBundle,
} from "./bundle.ts";
export {
  type LegacyIngestOutcome,
  type LegacyItem,
  type LegacyPlan,
  type LegacyProvenance,
  legacyProvenance,
  planLegacyImport,
  runLegacyImport,
} from "./legacy.ts";
