/**
 * The ground-truth sidecar (`<capture>.truth.json`): everything the generator put into a capture,
 * so tests and demos can check that Strata finds it. Times are decimal strings of ns since the
 * Unix epoch; positions are metres in `odom` (East-North-Up, origin = `origin`).
 */

export type NsString = string;

export interface TruthTransform {
  translation: { x: number; y: number; z: number };
  rotation: { x: number; y: number; z: number; w: number };
}

export interface TruthCamera {
  name: string;
  frameId: string;
  infoTopic: string;
  imageTopic: string;
  width: number;
  height: number;
  /** Row-major 3×3 intrinsics, as in camera_info. */
  k: number[];
  distortionModel: "plumb_bob";
  d: number[];
  /** base_link ← camera optical frame, as published on /tf_static from the capture start. */
  baseFromCamera: TruthTransform;
}

export interface TruthCalibration {
  cameras: TruthCamera[];
  lidar: {
    frameId: string;
    topic: string;
    baseFromLidar: TruthTransform;
    beamElevationsDeg: number[];
    columns: number;
    maxRangeM: number;
    rangeNoiseSigmaM: number;
    pointStep: number;
  };
  imu: {
    frameId: string;
    baseFromImu: TruthTransform;
    accelNoiseSigmaMps2: number;
    gyroNoiseSigmaRadps: number;
    accelBiasMps2: { x: number; y: number; z: number };
    gyroBiasRadps: { x: number; y: number; z: number };
  };
  gps: { frameId: string; baseFromGps: TruthTransform; horizontalSigmaM: number; verticalSigmaM: number };
}

export interface TruthEvent {
  kind: string;
  startNs: NsString;
  endNs: NsString;
  trackId?: number;
  detail: Record<string, number | string>;
}

export interface TruthFault {
  kind: string;
  topics: string[];
  startNs: NsString;
  endNs: NsString;
  magnitude: Record<string, number | string>;
  description: string;
  /** For faults on single messages (epoch0): the log times of the affected messages per topic. */
  logTimesNs?: Record<string, NsString[]>;
}

export interface TruthAgent {
  trackId: number;
  agentClass: "car" | "pedestrian" | "cyclist";
  role: string;
  size: { length: number; width: number; height: number };
  colorRgb: number[];
  firstTimeNs: NsString;
  periodNs: NsString;
  /** Box centre x, y (bottom at z = 0) and yaw in odom, one per period; linear in between. */
  poses: Array<[number, number, number]>;
}

export interface TruthStaticBox {
  boxId: number;
  kind: string;
  /** Box centre (bottom at z = 0). */
  center: { x: number; y: number; z: number };
  size: { length: number; width: number; height: number };
  yawRad: number;
  colorRgb: number[];
}

export interface CaptureTruth {
  schema: "strata.synth.truth/1";
  args: {
    seconds: number;
    seed: number;
    format: "mcap" | "bag";
    faults: string[];
    night: boolean;
    rain: boolean;
    startTimeNs: NsString;
  };
  startTimeNs: NsString;
  endTimeNs: NsString;
  /** The WGS84 point at the odom origin (ellipsoidal height). */
  origin: { latitudeDeg: number; longitudeDeg: number; altitudeM: number };
  frames: { odom: "odom"; base: "base_link" };
  calibration: TruthCalibration;
  /** Camera extrinsics after calibration drift, when that fault is on. */
  calibrationAfterDrift?: { atNs: NsString; cameras: TruthCamera[] };
  town: {
    roadsX: number[];
    roadsY: number[];
    roadHalfWidthM: number;
    boxes: TruthStaticBox[];
    crosswalks: Array<{ axis: "x" | "y"; roadIndex: number; along: number }>;
  };
  /** base_link in odom, every `periodNs` from the start. */
  trajectory: {
    periodNs: NsString;
    /** [x, y, yaw, speed m/s, longitudinal acceleration m/s²] */
    samples: Array<[number, number, number, number, number]>;
  };
  agents: TruthAgent[];
  events: TruthEvent[];
  faults: TruthFault[];
  topics: Array<{ topic: string; type: string; frameId: string; rateHz: number; messageCount: number }>;
}
