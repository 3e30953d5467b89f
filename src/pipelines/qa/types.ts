/**
 * QA vocabulary: the checks, their thresholds and severities, the sampling policy, and what a QA run
 * produces (reasons and a verdict). Times are bigint ns since the Unix epoch (log time unless a name
 * says `stamp`); JSON carries them as decimal strings.
 */

/** Every check QA runs. Index-level checks see every message; the others see the decoded sample. */
export const QA_CHECKS = [
  "topic.gap",
  "topic.rate",
  "stamp.epoch0",
  "stamp.nonMonotonic",
  "stamp.skew",
  "message.duplicate",
  "data.nonFinite",
  "image.size",
  "pointcloud.layout",
  "imu.saturation",
  "imu.biasJump",
  "gps.jump",
  "calibration.drift",
] as const;

export type QaCheck = (typeof QA_CHECKS)[number];

export type Severity = "fail" | "warn" | "off";
export type Verdict = "pass" | "warn" | "fail";

/** One finding: which check, on which topic, over which log-time window, measured against what. */
export interface QaReason {
  check: QaCheck;
  severity: "fail" | "warn";
  topic: string;
  /** First and last log time of the affected messages (inclusive). */
  startNs: bigint;
  endNs: bigint;
  /** The measured value that broke the threshold (the worst one in the window), in `unit`. */
  measured: number | string;
  threshold: number | string;
  unit: string;
  /** Messages (or events) in the window. */
  count: number;
  message: string;
}

/** Thresholds of the checks (all optional in a contract; defaults in DEFAULT_THRESHOLDS). */
export interface QaThresholds {
  /** A gap is an interval longer than gapFactor × the topic's nominal period. */
  gapFactor: number;
  /** Windows whose message rate differs from nominal by more than this fraction are flagged. */
  rateTolerance: number;
  /** Width of the rate windows (at least 10 nominal periods are used). */
  rateWindowSecs: number;
  /** A topic is periodic (gap/rate checks apply) when its intervals' median absolute deviation is below this fraction of the median. */
  periodicMaxJitter: number;
  /** Flag a message whose (header stamp − log time) differs from the topic's median by more than this. */
  maxSkewJitterMs: number;
  /** Calibration drift: rotation (degrees) and translation (metres) of a fixed transform. */
  driftRotationDeg: number;
  driftTranslationM: number;
  /** IMU measurement ranges: readings at or beyond them are saturated. */
  imuAccelRangeMps2: number;
  imuGyroRangeRadps: number;
  /** IMU bias jumps (against odometry): step of the mean residual between adjacent windows. */
  imuAccelBiasJumpMps2: number;
  imuGyroBiasJumpRadps: number;
  imuBiasWindowSecs: number;
  /** A GPS fix is a jump when it moves more than gpsMinJumpM + gpsMaxSpeedMps × Δt from the previous fix. */
  gpsMinJumpM: number;
  gpsMaxSpeedMps: number;
}

export const DEFAULT_THRESHOLDS: QaThresholds = {
  gapFactor: 3,
  rateTolerance: 0.25,
  rateWindowSecs: 2,
  periodicMaxJitter: 0.2,
  maxSkewJitterMs: 50,
  driftRotationDeg: 0.5,
  driftTranslationM: 0.02,
  imuAccelRangeMps2: 156.9,
  imuGyroRangeRadps: 34.9,
  imuAccelBiasJumpMps2: 0.15,
  imuGyroBiasJumpRadps: 0.005,
  imuBiasWindowSecs: 1,
  gpsMinJumpM: 5,
  gpsMaxSpeedMps: 40,
};

/** Checks that quarantine a capture by default; the others warn. */
export const DEFAULT_SEVERITY: Record<QaCheck, Severity> = {
  "topic.gap": "fail",
  "topic.rate": "warn",
  "stamp.epoch0": "warn",
  "stamp.nonMonotonic": "warn",
  "stamp.skew": "warn",
  "message.duplicate": "warn",
  "data.nonFinite": "fail",
  "image.size": "fail",
  "pointcloud.layout": "fail",
  "imu.saturation": "fail",
  "imu.biasJump": "warn",
  "gps.jump": "warn",
  "calibration.drift": "fail",
};

/**
 * Which messages QA decodes. Index-level checks (gaps, rates) always see every message; decoding is
 * what costs (chunks must be decompressed), so big captures are sampled in evenly spread windows.
 */
export interface SamplingPolicy {
  /** `auto` (default): `full` for captures up to fullReadMaxBytes, else `sampled`. */
  mode: "auto" | "full" | "sampled";
  /** Default 128 MiB. */
  fullReadMaxBytes: number;
  /** Share of the capture's duration decoded when sampling (default 0.02). */
  sampleFraction: number;
  /** Number of evenly spread windows the sampled share is split into (default 4). */
  windows: number;
  /** Topics with at most this many messages are always decoded completely (default 10: /tf_static and the like). */
  smallTopicMaxMessages: number;
  /** Points of each point cloud checked for NaN/Inf (evenly strided; default 4096). */
  pointsPerCloud: number;
}

export const DEFAULT_SAMPLING: SamplingPolicy = {
  mode: "auto",
  fullReadMaxBytes: 128 * 1024 * 1024,
  sampleFraction: 0.02,
  windows: 4,
  smallTopicMaxMessages: 10,
  pointsPerCloud: 4096,
};

/** A full QA policy: sampling, thresholds and severities (from a contract, or the defaults). */
export interface QaPolicy {
  sampling: SamplingPolicy;
  thresholds: QaThresholds;
  severity: Record<QaCheck, Severity>;
}

export interface QaPolicyInput {
  sampling?: Partial<SamplingPolicy>;
  thresholds?: Partial<QaThresholds>;
  severity?: Partial<Record<QaCheck, Severity>>;
}

export function resolvePolicy(input: QaPolicyInput = {}): QaPolicy {
  return {
    sampling: { ...DEFAULT_SAMPLING, ...definedOnly(input.sampling ?? {}) },
    thresholds: { ...DEFAULT_THRESHOLDS, ...definedOnly(input.thresholds ?? {}) },
    severity: { ...DEFAULT_SEVERITY, ...definedOnly(input.severity ?? {}) },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A decided sampling plan: plain data, recorded with the result. */
export interface SamplingPlan {
  mode: "full" | "sampled";
  /** Why this mode (e.g. "capture is 96 MB ≤ 128 MB"). */
  why: string;
  /** Log-time windows decoded for the sampled topics (inclusive); the whole capture in full mode. */
  windows: Array<{ startNs: bigint; endNs: bigint }>;
  /** Topics decoded completely (small topics; every topic in full mode). */
  fullTopics: string[];
  /** Topics decoded only inside the windows. */
  sampledTopics: string[];
}

/** Per-check counts of what a run looked at. */
export interface QaCoverage {
  messagesIndexed: number;
  messagesDecoded: number;
  /** Decoded messages per topic. */
  decodedByTopic: Record<string, number>;
  /** Checks that had nothing to look at (e.g. no IMU, no odometry for bias jumps). */
  notApplicable: QaCheck[];
  /** Reading stopped early in a pass (e.g. an undecodable message); what was read is checked. */
  errors: string[];
}

export interface QaResult {
  verdict: Verdict;
  reasons: QaReason[];
  plan: SamplingPlan;
  coverage: QaCoverage;
  policy: QaPolicy;
  /** Where calibration drift came from: the registry analyzer, or /tf_static changes in the capture. */
  driftSource: "registry" | "tf_static" | "none";
}
