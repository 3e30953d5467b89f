/**
 * The row model of the scene index: one row per scene (a time window of one capture), with typed feature
 * columns declared in one list, an embedding, a representative pose and a 2-D trajectory.
 *
 * Positions are in the index's one local metric frame (ENU metres: x east, y north, REP 103); the caller
 * projects GNSS/map poses into it. Headings are ENU yaw in radians (0 = +x, π/2 = +y, counter-clockwise).
 */

/** How a feature is stored: `float64` for measurements, `int32` for counts. */
export type FeatureKind = "float64" | "int32";

export interface FeatureSpec {
  readonly name: string;
  readonly kind: FeatureKind;
  /** Nullable features are `null` when the scene has nothing to measure (no agents, no reference, no camera). */
  readonly nullable: boolean;
  readonly description: string;
}

/** The declared feature columns. Adding one here adds a typed column, a filter field and an index. */
export const SCENE_FEATURES = [
  { name: "speedMinMps", kind: "float64", nullable: false, description: "ego speed, minimum (m/s)" },
  { name: "speedMeanMps", kind: "float64", nullable: false, description: "ego speed, mean (m/s)" },
  { name: "speedMaxMps", kind: "float64", nullable: false, description: "ego speed, maximum (m/s)" },
  {
    name: "accelMinMps2",
    kind: "float64",
    nullable: false,
    description: "longitudinal acceleration, minimum (m/s²)",
  },
  {
    name: "accelMaxMps2",
    kind: "float64",
    nullable: false,
    description: "longitudinal acceleration, maximum (m/s²)",
  },
  {
    name: "jerkMaxMps3",
    kind: "float64",
    nullable: false,
    description: "longitudinal jerk, maximum absolute (m/s³)",
  },
  {
    name: "yawRateMaxRadps",
    kind: "float64",
    nullable: false,
    description: "yaw rate, maximum absolute (rad/s)",
  },
  { name: "distanceM", kind: "float64", nullable: false, description: "distance travelled (m)" },
  {
    name: "stops",
    kind: "int32",
    nullable: false,
    description: "number of stops (speed below 0.2 m/s for 1 s)",
  },
  {
    name: "nearestAgentM",
    kind: "float64",
    nullable: true,
    description: "closest distance to any agent (m)",
  },
  { name: "minTtcS", kind: "float64", nullable: true, description: "minimum time-to-collision (s)" },
  { name: "pedestrians", kind: "int32", nullable: false, description: "distinct pedestrian tracks" },
  { name: "cars", kind: "int32", nullable: false, description: "distinct car tracks" },
  { name: "cyclists", kind: "int32", nullable: false, description: "distinct cyclist tracks" },
  { name: "brightness", kind: "float64", nullable: true, description: "mean image brightness, 0..1" },
  {
    name: "lidarClutter",
    kind: "float64",
    nullable: true,
    description: "lidar near-field clutter ratio (weather proxy), 0..1",
  },
  {
    name: "sensorDropouts",
    kind: "int32",
    nullable: false,
    description: "sensor dropouts (gaps over 3× the period)",
  },
  {
    name: "ateRmseM",
    kind: "float64",
    nullable: true,
    description: "absolute trajectory error RMSE vs reference (m)",
  },
  {
    name: "rpeRmseM",
    kind: "float64",
    nullable: true,
    description: "relative pose error RMSE vs reference (m)",
  },
] as const satisfies readonly FeatureSpec[];

type FeatureEntry = (typeof SCENE_FEATURES)[number];
export type FeatureName = FeatureEntry["name"];
export type NullableFeatureName = Extract<FeatureEntry, { nullable: true }>["name"];

/** All features of a scene; nullable ones may be `null`. */
export type SceneFeatures = {
  [K in FeatureName]: K extends NullableFeatureName ? number | null : number;
};

export const FEATURE_NAMES: readonly FeatureName[] = SCENE_FEATURES.map((f) => f.name);

const featureByName = new Map<string, FeatureSpec>(SCENE_FEATURES.map((f) => [f.name, f]));

export function featureSpec(name: string): FeatureSpec | undefined {
  return featureByName.get(name);
}

/** A scene's 2-D trajectory, columnar: sample i is (xM[i], yM[i]) with ENU yaw headingRad[i]. */
export interface SceneTrajectory {
  readonly xM: ArrayLike<number>;
  readonly yM: ArrayLike<number>;
  readonly headingRad: ArrayLike<number>;
}

/** What `SceneIndex.upsert` takes. */
export interface SceneRow {
  sceneId: string;
  captureId: string;
  startNs: bigint;
  endNs: bigint;
  site: string;
  rig: string;
  /** Scenes of quarantined captures are left out of queries unless a plan asks for them. */
  quarantined: boolean;
  tags: readonly string[];
  features: SceneFeatures;
  /** The built-in embedding; its length is the index's `vectorDim`. */
  vector: ArrayLike<number>;
  /** Representative position (e.g. the window's middle pose), local ENU metres. */
  xM: number;
  yM: number;
  headingRad: number;
  /** Samples of the ego path during the window; absent or empty means the single representative pose. */
  trajectory?: SceneTrajectory;
}

/** A scene as queries return it (no trajectory; the vector only when asked for). */
export interface SceneRecord {
  sceneId: string;
  captureId: string;
  startNs: bigint;
  endNs: bigint;
  site: string;
  rig: string;
  quarantined: boolean;
  tags: string[];
  features: SceneFeatures;
  xM: number;
  yM: number;
  headingRad: number;
  vector?: Float32Array;
}

export interface SceneHit extends SceneRecord {
  /** Distance to the `near` target in embedding space (Euclidean for l2, 1 − cos for cosine); absent without `near`. */
  distance?: number;
}

/** Base (non-feature) columns a plan may filter on, with their value types. */
export const BASE_FILTER_FIELDS = {
  sceneId: "string",
  captureId: "string",
  site: "string",
  rig: "string",
  startNs: "ns",
  endNs: "ns",
  xM: "number",
  yM: "number",
  headingRad: "number",
} as const;

export type BaseFilterField = keyof typeof BASE_FILTER_FIELDS;
export type FilterField = BaseFilterField | FeatureName;
export type FieldKind = "string" | "ns" | "number";

export function fieldKind(field: string): FieldKind | undefined {
  if (Object.hasOwn(BASE_FILTER_FIELDS, field)) return BASE_FILTER_FIELDS[field as BaseFilterField];
  return featureByName.has(field) ? "number" : undefined;
}

export function isFilterField(field: string): field is FilterField {
  return fieldKind(field) !== undefined;
}
