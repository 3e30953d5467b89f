export { planSampling } from "./plan.ts";
export type { CameraInfoSummary } from "./probe-sensors.ts";
export type { TopicStampSummary } from "./probe-stamps.ts";
export { isStaticTfTopic, type TfEdge, tfComponents } from "./probe-tf.ts";
export {
  type CalibrationChange,
  type CaptureMeasurements,
  type RunQaInput,
  runQa,
  type TopicMeasurement,
} from "./qa.ts";
export { buildTimeline, readTimelines, type TopicTimeline, timelineFindings } from "./timeline.ts";
export * from "./types.ts";
export * from "./store.ts";
export {
  analyzeGovernance,
  commitGovernance,
  type GovernanceAnalysis,
  type GovernanceInput,
  QA_ANALYZER_NAME,
  type QaAnalyzerOptions,
  qaAnalyzer,
} from "./governance.ts";
