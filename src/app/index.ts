export { resolveConfig, type CatalogConfig, type ConfigOverrides, type StrataConfig } from "./config.ts";
export {
  captureDetail,
  jsonify,
  presentCapture,
  presentSummary,
  presentTopic,
  readLogInfo,
  requireCapture,
  type Jsonified,
  type LogInfo,
} from "./present.ts";
export { prepareServe, type Prepared, type PrepareOptions } from "./serve.ts";
export {
  createStrata,
  hashToken,
  type IngestRequest,
  type Role,
  type Strata,
  type TokenPrincipal,
} from "./strata.ts";
export { readCaptureMessages, toJsonSafe, type CaptureMessagesQuery } from "./messages.ts";
export { ingestUpload, type UploadRequest, type UploadResult } from "./upload.ts";
export * from "./export.ts";
export * from "./registry.ts";
export { type AuditBatcher, type AuditInput, createAuditBatcher } from "./audit-batch.ts";
export * from "./scenes.ts";
export * from "./export-lakehouse.ts";
export * from "./datasets.ts";
export {
  DEFAULT_OPENLINEAGE_JSONL,
  lineageSinksOf,
  type RunEventsOptions,
  withRunEvents,
} from "./lineage-emit.ts";
export type { OpenLineageConfig } from "./config.ts";
export * from "./governance.ts";
export { type DemoGenerateRequest, generateDemoCapture } from "./demo.ts";
export {
  type CockpitFigure,
  type CockpitSample,
  type CockpitView,
  cockpitFigures,
  type DatasetSplitsView,
  datasetSplits,
  type LineageViewRequest,
  lineageView,
  type SplitSummary,
  type TrajectoryMapEntry,
  type TrajectoryMapRequest,
  trajectoryMap,
} from "./views.ts";
