/**
 * Scenes: segmentation of captures into windows (fixed, and aligned to detected events), per-scene features,
 * tags, scene graphs and embeddings, written to the search index and the catalog; edge-case mining.
 */
export {
  type AgentFrame,
  type AgentObservation,
  DEFAULT_EGO_FOOTPRINT,
  type EgoFootprint,
  footprintGapM,
  normalizeAgentClass,
  timeToCollisionS,
} from "./agents.ts";
export {
  type BuildCaptureScenesInput,
  type BuiltScene,
  buildCaptureScenes,
  type CaptureScenes,
  type CaptureSceneSource,
  sceneIdOf,
  type StoredEgoTrajectory,
  trajectoryWindow,
  type WriteScenesDeps,
  writeCaptureScenes,
} from "./build.ts";
export { type EgoSeries, egoSeriesFromTrajectory } from "./ego.ts";
export {
  BUILTIN_EMBEDDER_NAME,
  BUILTIN_EMBEDDING_DIM,
  builtinEmbedder,
  builtinEmbedding,
  type Embedder,
  type SceneForEmbedding,
} from "./embed.ts";
export { detectEvents, SCENE_EVENT_KINDS, type SceneEvent, type SceneEventKind } from "./events.ts";
export type { SceneQaInput } from "./features.ts";
export { buildSceneGraph } from "./graph.ts";
export { type MinedScene, type MineOptions, type MiningRule, miningRules, rankEdgeCases } from "./mine.ts";
export { jpegBrightness, lidarClutterOf, observeCapture, type CaptureObservations } from "./observe.ts";
export {
  DEFAULT_SCENE_OPTIONS,
  resolveSceneOptions,
  type ResolvedSceneOptions,
  type SceneOptions,
} from "./options.ts";
export {
  ALIGNED_EVENT_KINDS,
  eventWindows,
  fixedWindows,
  type SceneWindow,
  segmentCapture,
  type WindowKind,
  windowIou,
} from "./segment.ts";
export {
  capturesWithScenes,
  getScenes,
  listCaptureScenes,
  replaceCaptureScenes,
  type StoredScene,
} from "./store.ts";
