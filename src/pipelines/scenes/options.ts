/** Every knob of scene building, with its default. All fields optional in `SceneOptions`. */
import { StrataError } from "../../core/index.ts";
import { DEFAULT_EGO_FOOTPRINT, type EgoFootprint } from "./agents.ts";

export interface ResolvedSceneOptions {
  /** Fixed windows: length and hop (s). Defaults 10 s and 5 s (50 % overlap). */
  windowSecs: number;
  hopSecs: number;
  /** Event windows: the event padded by this on both sides (s), at least `minEventWindowSecs` long. Defaults 2 s, 4 s. */
  eventPadSecs: number;
  minEventWindowSecs: number;
  /** Ego grid period and derivative half window (s). Defaults 0.1 s, 0.2 s. */
  egoPeriodSecs: number;
  derivativeHalfWindowSecs: number;
  /** Hard braking: longitudinal acceleration below this (m/s²) for at least 0.2 s. Default −4. */
  hardBrakeMps2: number;
  /** A stop: speed below `stopSpeedMps` for at least `stopMinSecs`. Defaults 0.2 m/s, 1 s. */
  stopSpeedMps: number;
  stopMinSecs: number;
  /** Near miss: footprint gap below this (m) to an agent in the ego's corridor, or TTC below `nearMissTtcSecs`. */
  nearMissGapM: number;
  nearMissTtcSecs: number;
  /** TTC looks this far ahead (s). Default 10. */
  ttcHorizonSecs: number;
  /** Half width of the ego's lane corridor (m), for ahead_of/behind/left_of/right_of and near misses. Default 2. */
  corridorHalfWidthM: number;
  /** Relations and agent counts consider agents within this range of the ego (m). Default 50. */
  agentRangeM: number;
  /** Yaw change (deg) of one continuous turn that makes it a U-turn; turns of at least `turnMinDeg` are turns. */
  uTurnMinDeg: number;
  turnMinDeg: number;
  /** Lighting: a scene is `night` below this mean image brightness (0..1). Default 0.2. */
  nightBrightness: number;
  /** Weather: a scene is `rain` (precipitation / clutter) above this lidar clutter. Default 0.003 (dry synthetic scans stay under 0.0005, rain gives about 0.008). */
  clutterRain: number;
  /** Sampling of the image and lidar proxies (s). Defaults 2 s and 1 s. */
  imageSamplePeriodSecs: number;
  lidarSamplePeriodSecs: number;
  /** A gap over this × a topic's nominal period is a dropout. Default 3. */
  dropoutGapFactor: number;
  footprint: EgoFootprint;
  /** Distances (m) at which `within` relations are recorded. Default [2, 5, 10, 20]. */
  withinThresholdsM: readonly number[];
}

export type SceneOptions = Partial<ResolvedSceneOptions>;

export const DEFAULT_SCENE_OPTIONS: ResolvedSceneOptions = {
  windowSecs: 10,
  hopSecs: 5,
  eventPadSecs: 2,
  minEventWindowSecs: 4,
  egoPeriodSecs: 0.1,
  derivativeHalfWindowSecs: 0.2,
  hardBrakeMps2: -4,
  stopSpeedMps: 0.2,
  stopMinSecs: 1,
  nearMissGapM: 2,
  nearMissTtcSecs: 1.5,
  ttcHorizonSecs: 10,
  corridorHalfWidthM: 2,
  agentRangeM: 50,
  uTurnMinDeg: 150,
  turnMinDeg: 45,
  nightBrightness: 0.2,
  clutterRain: 0.003,
  imageSamplePeriodSecs: 2,
  lidarSamplePeriodSecs: 1,
  dropoutGapFactor: 3,
  footprint: DEFAULT_EGO_FOOTPRINT,
  withinThresholdsM: [2, 5, 10, 20],
};

export function resolveSceneOptions(options: SceneOptions = {}): ResolvedSceneOptions {
  const resolved: ResolvedSceneOptions = { ...DEFAULT_SCENE_OPTIONS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  const positive: Array<keyof ResolvedSceneOptions> = [
    "windowSecs",
    "hopSecs",
    "minEventWindowSecs",
    "egoPeriodSecs",
    "derivativeHalfWindowSecs",
    "stopMinSecs",
    "ttcHorizonSecs",
    "corridorHalfWidthM",
    "agentRangeM",
    "imageSamplePeriodSecs",
    "lidarSamplePeriodSecs",
  ];
  for (const key of positive) {
    const v = resolved[key];
    if (typeof v !== "number" || !(v > 0) || !Number.isFinite(v)) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `scene option ${key} must be a positive number, got ${String(v)}`,
      );
    }
  }
  if (resolved.hopSecs > resolved.windowSecs) {
    throw new StrataError(
      "STRATA_E_USAGE",
      "scene option hopSecs must not exceed windowSecs (windows would leave gaps)",
    );
  }
  if (!(resolved.eventPadSecs >= 0))
    throw new StrataError("STRATA_E_USAGE", "scene option eventPadSecs must be ≥ 0");
  if (!(resolved.dropoutGapFactor > 1))
    throw new StrataError("STRATA_E_USAGE", "scene option dropoutGapFactor must be > 1");
  return resolved;
}
