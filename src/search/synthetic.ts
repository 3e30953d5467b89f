/**
 * Deterministic synthetic scene rows with realistic feature distributions, for tests, the bench and demos.
 * Captures are drives over a square area: each capture is a run of consecutive windows, each window
 * `samplesPerScene` trajectory samples along the drive. Embeddings mix scenario clusters with scaled
 * features and noise, so nearest neighbours mean something.
 */
import { FEATURE_NAMES, type SceneFeatures, type SceneRow } from "./schema.ts";

export interface SyntheticScenesOptions {
  count: number;
  seed?: number;
  vectorDim?: number;
  /** Side of the square area the drives cover (m), centred on the origin. Default 10,000. */
  areaM?: number;
  samplesPerScene?: number;
  scenesPerCapture?: number;
  /** Rows per yielded batch. Default 10,000. */
  batchSize?: number;
  /** Fraction of captures flagged quarantined. Default 0.02. */
  quarantinedFraction?: number;
  /** Time of the first scene. Default 2024-01-01T00:00:00Z. */
  startNs?: bigint;
}

/** mulberry32: small, fast, deterministic. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SITES = ["depot_north", "downtown", "harbour", "campus"];
const RIGS = ["rig_a1", "rig_a2", "rig_b1", "rig_b2", "rig_c1", "rig_c2"];
const CLUSTERS = 48;

export function* syntheticScenes(options: SyntheticScenesOptions): Generator<SceneRow[]> {
  const rand = seededRandom(options.seed ?? 1);
  const gauss = (): number => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
  const poisson = (lambda: number): number => {
    let k = 0;
    let p = Math.exp(-lambda);
    let s = p;
    const u = rand();
    while (u > s && k < 50) {
      k++;
      p *= lambda / k;
      s += p;
    }
    return k;
  };
  const dim = options.vectorDim ?? 32;
  const half = (options.areaM ?? 10_000) / 2;
  const samples = options.samplesPerScene ?? 20;
  const perCapture = options.scenesPerCapture ?? 30;
  const batchSize = options.batchSize ?? 10_000;
  const quarantinedFraction = options.quarantinedFraction ?? 0.02;
  const centers = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: dim }, () => gauss()));
  let timeNs = options.startNs ?? 1_704_067_200_000_000_000n;

  let batch: SceneRow[] = [];
  let captureIndex = -1;
  let captureId = "";
  let site = "";
  let rig = "";
  let quarantined = false;
  let night = false;
  let rain = false;
  let highway = false;
  let x = 0;
  let y = 0;
  let yaw = 0;
  for (let i = 0; i < options.count; i++) {
    if (i % perCapture === 0) {
      captureIndex++;
      captureId = `cap_${captureIndex.toString(16).padStart(16, "0")}`;
      site = SITES[Math.floor(rand() * SITES.length)] as string;
      rig = RIGS[Math.floor(rand() * RIGS.length)] as string;
      quarantined = rand() < quarantinedFraction;
      night = rand() < 0.25;
      rain = rand() < 0.12;
      highway = rand() < 0.3;
      x = (rand() * 2 - 1) * half;
      y = (rand() * 2 - 1) * half;
      yaw = (rand() * 2 - 1) * Math.PI;
      timeNs += BigInt(Math.floor(rand() * 3600)) * 1_000_000_000n;
    }
    const durationSecs = 10 + Math.floor(rand() * 11);
    const startNs = timeNs;
    const endNs = startNs + BigInt(durationSecs) * 1_000_000_000n;
    timeNs = endNs;

    const speedMeanMps = Math.max(0, highway ? 22 + gauss() * 5 : 7 + gauss() * 4);
    const hardBrake = rand() < 0.04;
    const speedMaxMps = speedMeanMps + Math.abs(gauss()) * 2;
    const speedMinMps = Math.max(0, speedMeanMps - Math.abs(gauss()) * (hardBrake ? 8 : 2));
    const accelMinMps2 = hardBrake ? -4 - Math.abs(gauss()) * 2 : -Math.abs(0.8 + gauss() * 0.6);
    const accelMaxMps2 = Math.abs(0.8 + gauss() * 0.5);
    const pedestrians = poisson(highway ? 0.1 : 3);
    const cars = poisson(highway ? 8 : 5);
    const cyclists = poisson(highway ? 0.05 : 0.6);
    const agents = pedestrians + cars + cyclists;
    const nearestAgentM = agents === 0 ? null : Math.max(0.3, Math.exp(2.5 + gauss() * 0.7));
    const features: SceneFeatures = {
      speedMinMps,
      speedMeanMps,
      speedMaxMps,
      accelMinMps2,
      accelMaxMps2,
      jerkMaxMps3: Math.abs(1.5 + gauss() * (hardBrake ? 3 : 1)),
      yawRateMaxRadps: Math.abs(gauss() * (highway ? 0.05 : 0.2)),
      distanceM: speedMeanMps * durationSecs,
      stops: speedMinMps < 0.2 ? 1 + poisson(0.3) : 0,
      nearestAgentM,
      minTtcS: nearestAgentM === null || rand() < 0.6 ? null : Math.max(0.2, Math.exp(1.5 + gauss() * 0.8)),
      pedestrians,
      cars,
      cyclists,
      brightness: Math.min(1, Math.max(0, night ? 0.12 + gauss() * 0.05 : 0.6 + gauss() * 0.12)),
      lidarClutter: Math.min(1, Math.max(0, rain ? 0.3 + gauss() * 0.1 : 0.03 + Math.abs(gauss()) * 0.02)),
      sensorDropouts: rand() < 0.02 ? 1 + poisson(1) : 0,
      ateRmseM: rand() < 0.2 ? Math.abs(0.15 + gauss() * 0.1) : null,
      rpeRmseM: rand() < 0.2 ? Math.abs(0.05 + gauss() * 0.03) : null,
    };
    const tags = [night ? "night" : "day", highway ? "highway" : "urban"];
    if (rain) tags.push("rain");
    if (hardBrake) tags.push("hard_brake");
    if (nearestAgentM !== null && nearestAgentM < 2) tags.push("near_miss");
    if (pedestrians > 0) tags.push("pedestrians");

    // Trajectory: drive on, turning gently, bouncing off the area's edge.
    const xM = new Float64Array(samples);
    const yM = new Float64Array(samples);
    const headingRad = new Float64Array(samples);
    const stepM = (speedMeanMps * durationSecs) / Math.max(1, samples - 1);
    for (let s = 0; s < samples; s++) {
      xM[s] = x;
      yM[s] = y;
      headingRad[s] = Math.atan2(Math.sin(yaw), Math.cos(yaw));
      yaw += gauss() * (highway ? 0.02 : 0.12);
      x += stepM * Math.cos(yaw);
      y += stepM * Math.sin(yaw);
      if (Math.abs(x) > half || Math.abs(y) > half) {
        yaw += Math.PI;
        x = Math.max(-half, Math.min(half, x));
        y = Math.max(-half, Math.min(half, y));
      }
    }
    const mid = Math.floor(samples / 2);

    // Embedding: scenario cluster + scaled features + noise.
    const cluster = centers[
      (night ? 1 : 0) + (highway ? 2 : 0) + (rain ? 4 : 0) + 8 * Math.floor(rand() * (CLUSTERS / 8))
    ] as Float32Array;
    const vector = new Float32Array(dim);
    for (let d = 0; d < dim; d++) {
      const feature =
        (features as Record<string, number | null>)[FEATURE_NAMES[d % FEATURE_NAMES.length] as string] ?? 0;
      vector[d] = (cluster[d] as number) + 0.15 * Math.tanh(feature / 10) + 0.35 * gauss();
    }

    batch.push({
      sceneId: `scene_${i.toString(16).padStart(8, "0")}`,
      captureId,
      startNs,
      endNs,
      site,
      rig,
      quarantined,
      tags,
      features,
      vector,
      xM: xM[mid] as number,
      yM: yM[mid] as number,
      headingRad: headingRad[mid] as number,
      trajectory: { xM, yM, headingRad },
    });
    if (batch.length === batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** All rows at once (small counts only). */
export function syntheticSceneRows(options: Omit<SyntheticScenesOptions, "batchSize">): SceneRow[] {
  return [...syntheticScenes({ ...options, batchSize: options.count })].flat();
}
