/**
 * search: the scene index (metadata + vector + spatial + scene graph) over embedded LanceDB, its query
 * builder and text form, explain plans and rarity. Imports only `core`; LanceDB stays inside this folder.
 */
export { SceneQuery, scenes } from "./builder.ts";
export type { FieldValue, NearOptions, SceneQueryExecutor, WithinRegion } from "./builder.ts";
export { formatExplain } from "./explain.ts";
export type { ExplainResult, ExplainStage, ExplainStep } from "./explain.ts";
export {
  EGO_CLASS,
  RELATION_KINDS,
  formatGraphPattern,
  parseGraphPattern,
  relationMatches,
} from "./graph.ts";
export type {
  GraphPattern,
  RelationKind,
  SceneGraph,
  SceneGraphNode,
  SceneGraphRelation,
  SceneGraphStore,
} from "./graph.ts";
export { openSceneIndex, searchDir } from "./open.ts";
export type {
  LanceSceneIndex,
  AttachedVector,
  CreateIndexesOptions,
  DistanceType,
  IndexReport,
  RarityOptions,
  RarityScore,
  SceneIndex,
  SceneIndexOptions,
  SceneResults,
  SpatialStats,
  VectorIndexKind,
  VectorSearchTuning,
} from "./lance-scene-index.ts";
export { DEFAULT_K, emptyPlan, formatQuery, planToJson, validatePlan } from "./plan.ts";
export type {
  ComparisonOp,
  FieldPredicate,
  HeadingRange,
  NearClause,
  NearTarget,
  PointM,
  PredicateValue,
  QueryPlan,
  SpatialRegion,
} from "./plan.ts";
export { FEATURE_NAMES, SCENE_FEATURES, featureSpec } from "./schema.ts";
export type {
  FeatureName,
  FeatureSpec,
  FilterField,
  SceneFeatures,
  SceneHit,
  SceneRecord,
  SceneRow,
  SceneTrajectory,
} from "./schema.ts";
export { TrajectoryGrid } from "./spatial.ts";
export type { GridStats } from "./spatial.ts";
export { SEARCH_QUERY_HELP, parseQuery } from "./text.ts";
export { syntheticSceneRows, syntheticScenes, seededRandom } from "./synthetic.ts";
export type { SyntheticScenesOptions } from "./synthetic.ts";
