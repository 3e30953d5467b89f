/**
 * The features of one window (the columns the search index declares, `SCENE_FEATURES`) and its tags.
 *
 * Ego features come from the ego series samples inside the window; agent features from the perception frames
 * inside it (agents within `agentRangeM`); lighting and weather from the sampled images and scans inside it;
 * sensor health from the dropouts overlapping it; ATE/RPE are the capture's stored metrics.
 *
 * Tags: every detected event whose midpoint lies in the window (`hard_brake`, `stop`, `near_miss`, `cut_in`,
 * `crossing` and `crossing:<class>`, `overtake`, `u_turn`, `turn`), `night` / `rain` from the lighting and
 * clutter thresholds, `sensor_dropout` and `dropout:<topic>`, `diag_error`, `qa:<verdict>` and
 * `qa:<check>` for QA findings overlapping the window, `stationary`, and `window:fixed` / `window:event`.
 */
import type { SceneFeatures } from "../../search/index.ts";
import { footprintGapM, timeToCollisionS, closingSpeedMps } from "./agents.ts";
import { type EgoSeries, sampleRange } from "./ego.ts";
import { stopRuns, type SceneEvent } from "./events.ts";
import type { CaptureObservations } from "./observe.ts";
import type { ResolvedSceneOptions } from "./options.ts";
import type { SceneWindow } from "./segment.ts";
import type { PlacedFrame } from "./tracks.ts";

/** QA findings of the capture (from the QA pipeline's stored result), for tags. */
export interface SceneQaInput {
  verdict: string;
  reasons: ReadonlyArray<{ check: string; severity: string; startNs: bigint; endNs: bigint }>;
}

export interface FeatureContext {
  ego: EgoSeries | undefined;
  frames: readonly PlacedFrame[];
  observations: Pick<CaptureObservations, "brightness" | "lidarClutter" | "dropouts" | "diagnosticFaults">;
  events: readonly SceneEvent[];
  metrics?: { ateRmseM: number; rpeRmseM: number };
  qa?: SceneQaInput;
  options: ResolvedSceneOptions;
}

const round = (value: number, digits = 4): number => Number(value.toFixed(digits));

function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

export function windowFeatures(window: SceneWindow, ctx: FeatureContext): SceneFeatures {
  const { ego, options } = ctx;
  const f: SceneFeatures = {
    speedMinMps: 0,
    speedMeanMps: 0,
    speedMaxMps: 0,
    accelMinMps2: 0,
    accelMaxMps2: 0,
    jerkMaxMps3: 0,
    yawRateMaxRadps: 0,
    distanceM: 0,
    stops: 0,
    nearestAgentM: null,
    minTtcS: null,
    pedestrians: 0,
    cars: 0,
    cyclists: 0,
    brightness: null,
    lidarClutter: null,
    sensorDropouts: 0,
    ateRmseM: ctx.metrics?.ateRmseM ?? null,
    rpeRmseM: ctx.metrics?.rpeRmseM ?? null,
  };
  const range = ego ? sampleRange(ego, window.startNs, window.endNs) : undefined;
  if (ego && range) {
    const [a, b] = range;
    let speedMin = Number.POSITIVE_INFINITY;
    let speedMax = Number.NEGATIVE_INFINITY;
    let speedSum = 0;
    let accelMin = Number.POSITIVE_INFINITY;
    let accelMax = Number.NEGATIVE_INFINITY;
    let jerkMax = 0;
    let yawRateMax = 0;
    let distanceM = 0;
    for (let i = a; i <= b; i++) {
      const v = ego.speedMps[i] as number;
      speedMin = Math.min(speedMin, v);
      speedMax = Math.max(speedMax, v);
      speedSum += v;
      accelMin = Math.min(accelMin, ego.accelMps2[i] as number);
      accelMax = Math.max(accelMax, ego.accelMps2[i] as number);
      jerkMax = Math.max(jerkMax, Math.abs(ego.jerkMps3[i] as number));
      yawRateMax = Math.max(yawRateMax, Math.abs(ego.yawRateRadps[i] as number));
      if (i > a) {
        distanceM += Math.hypot(
          (ego.xM[i] as number) - (ego.xM[i - 1] as number),
          (ego.yM[i] as number) - (ego.yM[i - 1] as number),
        );
      }
    }
    f.speedMinMps = round(speedMin);
    f.speedMeanMps = round(speedSum / (b - a + 1));
    f.speedMaxMps = round(speedMax);
    f.accelMinMps2 = round(accelMin);
    f.accelMaxMps2 = round(accelMax);
    f.jerkMaxMps3 = round(jerkMax);
    f.yawRateMaxRadps = round(yawRateMax);
    f.distanceM = round(distanceM, 3);
    const periodSecs = Number(ego.periodNs) / 1e9;
    f.stops = stopRuns(ego, options).filter(
      ([s, e]) => (Math.min(e, b) - Math.max(s, a)) * periodSecs >= options.stopMinSecs - 1e-9,
    ).length;
  }

  const tracks = new Map<string, string>();
  let nearest = Number.POSITIVE_INFINITY;
  let minTtc = Number.POSITIVE_INFINITY;
  for (const frame of ctx.frames) {
    if (frame.stampNs < window.startNs || frame.stampNs > window.endNs) continue;
    for (const obs of frame.objects) {
      if (Math.hypot(obs.xM, obs.yM) > options.agentRangeM) continue;
      tracks.set(`${obs.agentClass}/${obs.trackId}`, obs.agentClass);
      nearest = Math.min(nearest, footprintGapM(obs, options.footprint));
      if (closingSpeedMps(obs, obs.egoSpeedMps) > 0) {
        const ttc = timeToCollisionS(obs, obs.egoSpeedMps, options.footprint, options.ttcHorizonSecs);
        if (ttc !== undefined) minTtc = Math.min(minTtc, ttc);
      }
    }
  }
  for (const agentClass of tracks.values()) {
    if (agentClass === "pedestrian") f.pedestrians++;
    else if (agentClass === "car") f.cars++;
    else if (agentClass === "cyclist") f.cyclists++;
  }
  if (Number.isFinite(nearest)) f.nearestAgentM = round(nearest, 3);
  if (Number.isFinite(minTtc)) f.minTtcS = round(minTtc, 3);

  const inside = (s: { stampNs: bigint }) => s.stampNs >= window.startNs && s.stampNs <= window.endNs;
  const brightness = mean(ctx.observations.brightness.filter(inside).map((s) => s.value));
  if (brightness !== null) f.brightness = round(brightness);
  const clutter = mean(ctx.observations.lidarClutter.filter(inside).map((s) => s.value));
  if (clutter !== null) f.lidarClutter = round(clutter, 5);
  f.sensorDropouts = ctx.observations.dropouts.filter(
    (d) => d.startNs <= window.endNs && d.endNs >= window.startNs,
  ).length;
  return f;
}

export function windowTags(window: SceneWindow, features: SceneFeatures, ctx: FeatureContext): string[] {
  const tags = new Set<string>([`window:${window.kind}`]);
  for (const event of ctx.events) {
    const midNs = (event.startNs + event.endNs) / 2n;
    if (midNs < window.startNs || midNs > window.endNs) continue;
    tags.add(event.kind);
    if (event.kind === "crossing" && event.agentClass) tags.add(`crossing:${event.agentClass}`);
  }
  if (features.brightness !== null && features.brightness < ctx.options.nightBrightness) tags.add("night");
  if (features.lidarClutter !== null && features.lidarClutter > ctx.options.clutterRain) tags.add("rain");
  if (features.speedMaxMps < ctx.options.stopSpeedMps) tags.add("stationary");
  for (const d of ctx.observations.dropouts) {
    if (d.startNs <= window.endNs && d.endNs >= window.startNs) {
      tags.add("sensor_dropout");
      tags.add(`dropout:${d.topic.replace(/^\/+/, "").replace(/[^A-Za-z0-9_.:/-]/g, "_")}`);
    }
  }
  if (
    ctx.observations.diagnosticFaults.some((d) => d.stampNs >= window.startNs && d.stampNs <= window.endNs)
  ) {
    tags.add("diag_error");
  }
  if (ctx.qa) {
    tags.add(`qa:${ctx.qa.verdict}`);
    for (const reason of ctx.qa.reasons) {
      if (reason.startNs <= window.endNs && reason.endNs >= window.startNs) tags.add(`qa:${reason.check}`);
    }
  }
  return [...tags].filter((t) => /^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/.test(t)).sort();
}
