/**
 * lineage: walk from a sample, dataset version, capture or run back to raw blob bytes, calibration and QA
 * verdicts (pluggable resolvers); the whole-catalog graph as JSON or DOT; OpenLineage RunEvents with
 * robotics facets, delivered to a JSONL file and/or an HTTP (Marquez-compatible) endpoint.
 */
export { verifyBlob, type BlobVerification } from "./blob.ts";
export {
  captureFacts,
  DEFAULT_FACT_SOURCES,
  provenanceFactSource,
  runFactSource,
  type CaptureFactSource,
  type CaptureFacts,
} from "./facts.ts";
export {
  JOB_NAMESPACE,
  loadCaptureDatasetInfo,
  OPENLINEAGE_SCHEMA_URL,
  openLineageEvents,
  runUuid,
  STRATA_FACETS_BASE_URL,
  STRATA_PRODUCER,
  strataFacetsSchema,
  type CaptureDatasetInfo,
  type OpenLineageDataset,
  type OpenLineageFacet,
  type OpenLineageOptions,
  type RunEvent,
  type RunEventType,
} from "./openlineage.ts";
export { allRuns, runsReferencing, type RunReferenceKey } from "./runs.ts";
export {
  emitRunEvents,
  HttpLineageSink,
  JsonlFileSink,
  type EmitReport,
  type HttpSinkOptions,
  type LineageLog,
  type LineageSink,
} from "./sinks.ts";
export {
  DEFAULT_RESOLVERS,
  lineageGraph,
  nodeId,
  toDot,
  traceLineage,
  type GraphFormat,
  type TraceOptions,
} from "./trace.ts";
export type {
  LineageDeps,
  LineageEdge,
  LineageGraph,
  LineageLink,
  LineageNode,
  LineageNodeKind,
  LineageResolver,
  ResolveContext,
} from "./types.ts";
export {
  CATALOG_FACT_SOURCES,
  captureCalibrationFactSource,
  qaTableFactSource,
} from "./catalog-facts.ts";
