/** Synthetic capture generator: a seeded town drive with every sensor, faults and a ground-truth sidecar. */
export { FAULT_KINDS, type FaultKind } from "./faults.ts";
export {
  DEFAULT_START_TIME_NS,
  type GenerateCaptureOptions,
  type GenerateCaptureResult,
  generateCapture,
} from "./generate.ts";
export type {
  CaptureTruth,
  NsString,
  TruthAgent,
  TruthCalibration,
  TruthCamera,
  TruthEvent,
  TruthFault,
  TruthStaticBox,
  TruthTransform,
} from "./truth.ts";
export { type EventKind, SCRIPTED_EVENTS } from "./world.ts";
