/**
 * `generateCapture`: writes a deterministic synthetic multi-sensor capture (MCAP, ROS 2 profile,
 * CDR; or a ROS 1 bag) of a car-like robot driving a small town, plus a ground-truth sidecar.
 *
 * Everything is a function of the options: the start time is fixed by default, every random draw
 * comes from a seeded stream, and messages are written in a fixed order, so the same options give
 * byte-identical files. Messages stream to disk as they are made; memory stays at a few buffers.
 */
import { stat, writeFile } from "node:fs/promises";
import { type Geodetic, enuFrameAt, geodeticFromEnu, StrataError } from "../../core/index.ts";
import { createMcapFileWriter, createRos1BagWriter } from "../../formats/index.ts";
import {
  FAULT_KINDS,
  type FaultKind,
  type FaultPlan,
  FRAME_TICKS,
  isFaultKind,
  planFaults,
  TICKS_PER_SEC,
} from "./faults.ts";
import { quatFromAxisAngle, quatFromYaw, quatMultiply, type Transform } from "./geometry.ts";
import { type CastBox, POINT_FIELDS, POINT_STEP } from "./lidar.ts";
import {
  type CameraSetup,
  inlineSource,
  type LidarSetup,
  lidarSlotBytes,
  type OrderedSource,
  type SensorSetup,
  workerSource,
} from "./sensor-work.ts";
import {
  encodeWithBytes,
  encoderForType,
  headerOf,
  type MessageType,
  md5For,
  type Profile,
  qosProfileYaml,
  typeNameFor,
  definitionFor,
} from "./messages.ts";
import type { Lighting, RenderBox } from "./render.ts";
import { buildRig, type CameraRig, cameraFromOdom, type Rig } from "./rig.ts";
import { forkRng } from "./rng.ts";
import { ROAD } from "./town.ts";
import type { CaptureTruth, TruthCamera, TruthFault, TruthTransform } from "./truth.ts";
import {
  agentPoseAt,
  buildScenario,
  type EgoState,
  egoStateAt,
  KEYFRAME_SECS,
  type Scenario,
} from "./world.ts";

export interface GenerateCaptureOptions {
  /** Where to write the capture; the sidecar goes to `<outPath>.truth.json`. */
  outPath: string;
  /** Capture length in seconds (default 60). */
  seconds?: number;
  /** Seed of every random choice (default 1): town, drive, agents, noise, fault timing. */
  seed?: number;
  /** `mcap` (ROS 2 profile, CDR, zstd chunks; default) or `bag` (ROS 1 bag v2.0). */
  format?: "mcap" | "bag";
  /** Faults to inject; see FAULT_KINDS. Default none. */
  faults?: readonly string[];
  /** Lower exposure and a dark sky. */
  night?: boolean;
  /** Haze in the images and clutter in the point clouds. */
  rain?: boolean;
  /** Capture start (default 2026-01-01T00:00:00Z), never the wall clock. */
  startTimeNs?: bigint;
  /**
   * Render cameras, cast lidar rays and compress MCAP chunks on worker threads (default true), or
   * all on the calling thread (false). The bytes are the same either way.
   */
  workerThreads?: boolean;
}

export interface GenerateCaptureResult {
  path: string;
  truthPath: string;
  /** Size of the capture file in bytes. */
  bytes: number;
  messageCount: number;
  /** Wall-clock time the generation took. */
  durationMs: number;
  /** Where that time went (render, jpeg, lidar, write, …), for the bench. */
  stagesMs: Record<string, number>;
}

export const DEFAULT_START_TIME_NS = 1_767_225_600_000_000_000n; // 2026-01-01T00:00:00Z

const GRAVITY = 9.80665;
const TICK_NS = 5_000_000n;
const IMU_NOISE = { accel: 0.03, gyro: 0.002, yaw: 0.002 };
const GPS_NOISE = { horizontal: 0.25, vertical: 0.5 };
const PERCEPTION_RANGE_M = 60;
/** Camera frames are taken 8 ticks (40 ms) after each lidar scan. */
const CAMERA_PHASE = 8;
/** Camera frames and lidar scans requested ahead of the writer, so the worker threads never wait. */
const FRAMES_AHEAD = 6;
const SCANS_AHEAD = 4;

const ORIGINS: Geodetic[] = [
  { latitudeDeg: 37.7793, longitudeDeg: -122.4193, altitudeM: -15.2 },
  { latitudeDeg: 48.1374, longitudeDeg: 11.5755, altitudeM: 566.1 },
  { latitudeDeg: 35.6812, longitudeDeg: 139.7671, altitudeM: 41.5 },
  { latitudeDeg: 52.5163, longitudeDeg: 13.3777, altitudeM: 74.0 },
  { latitudeDeg: 1.2834, longitudeDeg: 103.8607, altitudeM: 12.3 },
  { latitudeDeg: -33.8688, longitudeDeg: 151.2093, altitudeM: 24.8 },
  { latitudeDeg: 42.3601, longitudeDeg: -71.0589, altitudeM: -12.6 },
];

interface Topic {
  topic: string;
  type: MessageType;
  frameId: string;
  rateHz: number;
  latched: boolean;
  encode: (message: object) => Uint8Array;
  id: number;
  seq: number;
  count: number;
}

/** The two container writers behind one small interface. */
interface CaptureSink {
  addTopic(topic: Topic): Promise<number>;
  /** Writes a message; the MCAP writer copies `data` before this resolves, the bag writer keeps it. */
  write(topic: Topic, logTimeNs: bigint, data: Uint8Array): Promise<void>;
  /** True when `data` may be reused once `write` resolved. */
  readonly copiesData: boolean;
  close(): Promise<void>;
  abort(): Promise<void>;
}

async function openSink(
  path: string,
  format: "mcap" | "bag",
  profile: Profile,
  metadata: Record<string, string>,
  workerThreads: boolean,
): Promise<CaptureSink> {
  if (format === "mcap") {
    const writer = await createMcapFileWriter(path, {
      profile: "ros2",
      library: "strata-synth",
      compression: "zstd",
      zstdLevel: 1,
      chunkSize: 4 * 1024 * 1024,
      // Chunk CRCs and zstd run beside the sensor workers, off the thread that builds messages.
      chunkThreads: workerThreads ? 1 : 0,
    });
    const schemaIds = new Map<MessageType, number>();
    const encoder = new TextEncoder();
    await writer.addMetadata({ name: "strata.synth", metadata });
    return {
      addTopic: async (topic) => {
        let schemaId = schemaIds.get(topic.type);
        if (schemaId === undefined) {
          schemaId = await writer.addSchema({
            name: typeNameFor(topic.type, profile),
            encoding: "ros2msg",
            data: encoder.encode(definitionFor(topic.type, profile)),
          });
          schemaIds.set(topic.type, schemaId);
        }
        return writer.addChannel({
          topic: topic.topic,
          schemaId,
          messageEncoding: "cdr",
          metadata: { offered_qos_profiles: qosProfileYaml(topic.latched) },
        });
      },
      write: (topic, logTimeNs, data) =>
        writer.addMessage({
          channelId: topic.id,
          logTimeNs,
          publishTimeNs: logTimeNs,
          sequence: topic.count,
          data,
        }),
      copiesData: true,
      close: () => writer.end(),
      abort: () => writer.abort(),
    };
  }
  const writer = await createRos1BagWriter(path, { compression: "none", chunkSizeBytes: 1024 * 1024 });
  return {
    addTopic: async (topic) =>
      writer.addConnection({
        topic: topic.topic,
        type: typeNameFor(topic.type, profile),
        md5sum: md5For(topic.type),
        messageDefinition: definitionFor(topic.type, profile),
        callerid: "/strata_synth",
        latching: topic.latched,
      }),
    write: (topic, logTimeNs, data) => writer.addMessage({ connectionId: topic.id, timeNs: logTimeNs, data }),
    copiesData: false,
    close: async () => {
      await writer.close();
    },
    abort: () => writer.abort(),
  };
}

function validate(options: GenerateCaptureOptions): {
  seconds: number;
  seed: number;
  format: "mcap" | "bag";
  faults: FaultKind[];
} {
  const seconds = options.seconds ?? 60;
  const seed = options.seed ?? 1;
  const format = options.format ?? "mcap";
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600) {
    throw new StrataError("STRATA_E_USAGE", `seconds must be between 1 and 3600, not ${seconds}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new StrataError("STRATA_E_USAGE", `seed must be a non-negative integer, not ${seed}`);
  if (format !== "mcap" && format !== "bag")
    throw new StrataError("STRATA_E_USAGE", `format must be mcap or bag, not ${String(format)}`);
  const faults: FaultKind[] = [];
  for (const fault of options.faults ?? []) {
    if (!isFaultKind(fault)) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `unknown fault ${fault}`,
        {},
        { hint: `Faults: ${FAULT_KINDS.join(", ")}.` },
      );
    }
    if (!faults.includes(fault)) faults.push(fault);
  }
  faults.sort((a, b) => FAULT_KINDS.indexOf(a) - FAULT_KINDS.indexOf(b));
  return { seconds, seed, format, faults };
}

export async function generateCapture(options: GenerateCaptureOptions): Promise<GenerateCaptureResult> {
  const wallStart = performance.now();
  const { seconds, seed, format, faults } = validate(options);
  const night = options.night ?? false;
  const rain = options.rain ?? false;
  const startNs = options.startTimeNs ?? DEFAULT_START_TIME_NS;
  const profile: Profile = format === "mcap" ? "ros2" : "ros1";
  const totalTicks = Math.round(seconds * TICKS_PER_SEC);
  const endNs = startNs + BigInt(totalTicks) * TICK_NS;
  const stagesMs: Record<string, number> = { scenario: 0, cameras: 0, lidar: 0, encode: 0, write: 0 };
  let mark = performance.now();
  const lap = (stage: string): void => {
    const now = performance.now();
    stagesMs[stage] = (stagesMs[stage] ?? 0) + (now - mark);
    mark = now;
  };

  const scenario = buildScenario({ seed, durationSecs: seconds });
  const rig = buildRig(seed);
  const plan = planFaults(seed, seconds, faults);
  const originRng = forkRng(seed, "origin");
  const baseOrigin = originRng.pick(ORIGINS);
  const origin: Geodetic = {
    latitudeDeg: round(baseOrigin.latitudeDeg + originRng.range(-0.01, 0.01), 7),
    longitudeDeg: round(baseOrigin.longitudeDeg + originRng.range(-0.01, 0.01), 7),
    altitudeM: round(baseOrigin.altitudeM + originRng.range(-2, 2), 2),
  };
  const enuFrame = enuFrameAt(origin);
  const sunRng = forkRng(seed, "sun");
  const sunAzimuth = sunRng.range(0, 2 * Math.PI);
  const sunElevation = sunRng.range(0.6, 1.0);
  const light: Lighting = {
    sunX: Math.cos(sunElevation) * Math.cos(sunAzimuth),
    sunY: Math.cos(sunElevation) * Math.sin(sunAzimuth),
    sunZ: Math.sin(sunElevation),
    exposure: night ? 0.3 : rain ? 0.85 : 1,
    hazeHalfDistanceM: rain ? 90 : 350,
    night,
    overcast: rain,
  };
  const imuRng = forkRng(seed, "imu");
  const imuBias = {
    ax: round(imuRng.range(-0.05, 0.05), 4),
    ay: round(imuRng.range(-0.05, 0.05), 4),
    az: round(imuRng.range(-0.05, 0.05), 4),
    gx: round(imuRng.range(-0.002, 0.002), 5),
    gy: round(imuRng.range(-0.002, 0.002), 5),
    gz: round(imuRng.range(-0.002, 0.002), 5),
  };
  const gpsRng = forkRng(seed, "gps");
  lap("scenario");

  const topicList: Array<Omit<Topic, "encode" | "id" | "seq" | "count">> = [
    { topic: "/tf_static", type: "tf2_msgs/TFMessage", frameId: "base_link", rateHz: 0, latched: true },
    { topic: "/tf", type: "tf2_msgs/TFMessage", frameId: "odom", rateHz: 50, latched: false },
    { topic: "/odom", type: "nav_msgs/Odometry", frameId: "odom", rateHz: 50, latched: false },
    { topic: "/imu", type: "sensor_msgs/Imu", frameId: "imu", rateHz: 200, latched: false },
    { topic: "/gps/fix", type: "sensor_msgs/NavSatFix", frameId: "gps", rateHz: 10, latched: false },
    ...rig.cameras.flatMap((camera) => [
      {
        topic: `/${camera.name}/camera_info`,
        type: "sensor_msgs/CameraInfo" as const,
        frameId: camera.frameId,
        rateHz: 10,
        latched: false,
      },
      {
        topic: `/${camera.name}/image/compressed`,
        type: "sensor_msgs/CompressedImage" as const,
        frameId: camera.frameId,
        rateHz: 10,
        latched: false,
      },
    ]),
    { topic: "/lidar/points", type: "sensor_msgs/PointCloud2", frameId: "lidar", rateHz: 10, latched: false },
    {
      topic: "/perception/objects",
      type: "strata_msgs/ObjectArray",
      frameId: "base_link",
      rateHz: 10,
      latched: false,
    },
    {
      topic: "/diagnostics",
      type: "diagnostic_msgs/DiagnosticArray",
      frameId: "",
      rateHz: 1,
      latched: false,
    },
  ];
  const metadata: Record<string, string> = {
    generator: "strata-synth",
    seed: String(seed),
    seconds: String(seconds),
    faults: faults.join(","),
    night: String(night),
    rain: String(rain),
    start_time_ns: startNs.toString(),
  };
  const sink = await openSink(options.outPath, format, profile, metadata, options.workerThreads !== false);
  const closers: Array<() => Promise<void>> = [];
  const topics = new Map<string, Topic>();
  let messageCount = 0;
  try {
    for (const t of topicList) {
      const topic: Topic = { ...t, encode: encoderForType(t.type, profile), id: 0, seq: 0, count: 0 };
      topic.id = await sink.addTopic(topic);
      topics.set(t.topic, topic);
    }
    const get = (name: string): Topic => {
      const topic = topics.get(name);
      if (!topic) throw new Error(`no topic ${name}`);
      return topic;
    };
    const emit = async (
      topic: Topic,
      logTimeNs: bigint,
      build: (seq: number) => object,
      copies = 1,
    ): Promise<void> => {
      const data = topic.encode(build(topic.seq));
      topic.seq++;
      lap("encode");
      for (let i = 0; i < copies; i++) {
        await sink.write(topic, logTimeNs, data);
        topic.count++;
        messageCount++;
      }
      lap("write");
    };
    /** A message with a large uint8[] (point cloud, image): see encodeWithBytes. */
    let scratch = new Uint8Array(0);
    const reuseScratch = (byteLength: number): Uint8Array => {
      if (scratch.byteLength < byteLength) scratch = new Uint8Array(Math.ceil(byteLength * 1.25));
      return scratch.subarray(0, byteLength);
    };
    const emitWithBytes = async (
      topic: Topic,
      logTimeNs: bigint,
      build: (seq: number, emptyBytes: Uint8Array) => object,
      bytes: Uint8Array,
      suffixBytes: number,
    ): Promise<void> => {
      const seq = topic.seq;
      const data = encodeWithBytes(
        topic.encode,
        (empty) => build(seq, empty),
        bytes,
        suffixBytes,
        sink.copiesData ? reuseScratch : undefined,
      );
      topic.seq++;
      lap("encode");
      await sink.write(topic, logTimeNs, data);
      topic.count++;
      messageCount++;
      lap("write");
    };
    const header = (ns: bigint, frameId: string, seq: number): object => headerOf(ns, frameId, profile, seq);
    const transformMsg = (t: Transform): object => ({
      translation: { ...t.translation },
      rotation: { ...t.rotation },
    });

    // camera_front's extrinsic after calibration drift (the mount rotates about a base_link axis).
    const driftTick = plan.calibDrift?.tick;
    const driftedRig: CameraRig[] = rig.cameras.map((camera) => {
      if (camera.name !== "camera_front" || !plan.calibDrift) return camera;
      const q = quatFromAxisAngle(plan.calibDrift.axisInBase, plan.calibDrift.angleRad);
      return {
        ...camera,
        baseFromCamera: {
          translation: camera.baseFromCamera.translation,
          rotation: quatMultiply(q, camera.baseFromCamera.rotation),
        },
      };
    });
    const camerasAt = (tick: number): CameraRig[] =>
      driftTick !== undefined && tick >= driftTick ? driftedRig : rig.cameras;
    const staticTransforms = (tick: number): Array<[string, Transform]> => [
      ["imu", rig.baseFromImu],
      ["gps", rig.baseFromGps],
      ["lidar", rig.lidar.baseFromLidar],
      ...camerasAt(tick).map((c) => [c.frameId, c.baseFromCamera] as [string, Transform]),
    ];
    const calibrationAfterDrift: CaptureTruth["calibrationAfterDrift"] =
      driftTick !== undefined
        ? { atNs: (startNs + BigInt(driftTick) * TICK_NS).toString(), cameras: driftedRig.map(truthCamera) }
        : undefined;

    // Cameras and the lidar run on worker threads (one each), beside the writer on this thread.
    const openSource = async <S extends SensorSetup>(setup: S): Promise<OrderedSource<S>> => {
      const source = options.workerThreads === false ? inlineSource(setup) : await workerSource(setup);
      closers.push(() => source.close());
      return source;
    };
    const staticBoxes = scenario.town.boxes.map((b) => ({ ...b, emissive: b.kind === "kiosk" }));
    // The workers start side by side (each loads its modules on its own thread).
    const [scans, ...cameraSources] = await Promise.all([
      openSource<LidarSetup>({
        kind: "lidar",
        town: scenario.town,
        rig: rig.lidar,
        staticBoxes: scenario.town.boxes,
        seed,
        rain,
        ring: new SharedArrayBuffer(lidarSlotBytes(rig.lidar) * (SCANS_AHEAD + 4)),
        slots: SCANS_AHEAD + 4,
      }),
      ...rig.cameras.map((camera) =>
        openSource<CameraSetup>({
          kind: "camera",
          town: scenario.town,
          model: camera.model,
          light,
          staticBoxes,
          jpegQuality: 85,
        }),
      ),
    ]);
    const frameSources = new Map<string, OrderedSource<CameraSetup>>(
      rig.cameras.map((camera, i) => [camera.name, cameraSources[i] as OrderedSource<CameraSetup>]),
    );
    const framesOf = (name: string): OrderedSource<CameraSetup> => {
      const source = frameSources.get(name);
      if (!source) throw new Error(`no frame source for ${name}`);
      return source;
    };
    const agentsAt = (tSecs: number) =>
      scenario.agents.flatMap((agent) => {
        const p = agentPoseAt(agent, tSecs);
        return p ? [{ agent, p }] : [];
      });
    const frameCount = Math.ceil((totalTicks - CAMERA_PHASE) / FRAME_TICKS);
    let framesRequested = 0;
    /** Requests every camera frame up to `frameIndex`, ahead of need, so the workers keep busy. */
    const requestFrames = (frameIndex: number): void => {
      for (; framesRequested <= Math.min(frameIndex, frameCount - 1); framesRequested++) {
        const tick = CAMERA_PHASE + framesRequested * FRAME_TICKS;
        const tSecs = tick / TICKS_PER_SEC;
        const ego = egoStateAt(scenario, tSecs);
        const agentBoxes: RenderBox[] = agentsAt(tSecs).map(({ agent, p }) => ({
          centerX: p.x,
          centerY: p.y,
          yawRad: p.yaw,
          length: agent.length,
          width: agent.width,
          height: agent.height,
          colorRgb: agent.colorRgb,
          emissive: false,
        }));
        for (const camera of camerasAt(tick)) {
          framesOf(camera.name).request({
            pose: cameraFromOdom(ego.x, ego.y, ego.yaw, camera.baseFromCamera),
            agentBoxes,
          });
        }
      }
    };
    const scanCount = Math.ceil(totalTicks / FRAME_TICKS);
    const scanDropped = (tick: number): boolean =>
      plan.lidarDropout !== undefined &&
      tick >= plan.lidarDropout.startTick &&
      tick < plan.lidarDropout.endTick;
    let scansRequested = 0;
    const requestScans = (scanIndex: number): void => {
      for (; scansRequested <= Math.min(scanIndex, scanCount - 1); scansRequested++) {
        const tick = scansRequested * FRAME_TICKS;
        if (scanDropped(tick)) continue;
        const tSecs = tick / TICKS_PER_SEC;
        const pose = lidarPoseOf(egoStateAt(scenario, tSecs), rig);
        const agentBoxes: CastBox[] = agentsAt(tSecs).map(({ agent, p }) => ({
          centerX: p.x,
          centerY: p.y,
          yawRad: p.yaw,
          length: agent.length,
          width: agent.width,
          height: agent.height,
          reflectivity: agent.reflectivity,
        }));
        scans.request({ pose, agentBoxes });
      }
    };
    const tfStatic = get("/tf_static");
    const gpsTicksEpoch0 = new Set(plan.epoch0?.gpsTicks ?? []);
    const imuTicksEpoch0 = new Set(plan.epoch0?.imuTicks ?? []);

    for (let tick = 0; tick < totalTicks; tick++) {
      const tSecs = tick / TICKS_PER_SEC;
      const logNs = startNs + BigInt(tick) * TICK_NS;
      const ego = egoStateAt(scenario, tSecs);
      const phase = tick % FRAME_TICKS;

      if (tick === 0 || tick === driftTick) {
        await emit(tfStatic, logNs, () => ({
          transforms: staticTransforms(tick).map(([child, t]) => ({
            header: header(logNs, "base_link", 0),
            child_frame_id: child,
            transform: transformMsg(t),
          })),
        }));
      }

      // IMU, every tick.
      {
        const c = Math.cos(ego.yaw);
        const s = Math.sin(ego.yaw);
        const jumped = plan.imuBias && tick >= plan.imuBias.tick ? plan.imuBias : undefined;
        const ax =
          c * ego.ax +
          s * ego.ay +
          imuBias.ax +
          (jumped?.accelXMps2 ?? 0) +
          IMU_NOISE.accel * imuRng.normal();
        const ay = -s * ego.ax + c * ego.ay + imuBias.ay + IMU_NOISE.accel * imuRng.normal();
        const az = GRAVITY + imuBias.az + IMU_NOISE.accel * imuRng.normal();
        const gx = imuBias.gx + IMU_NOISE.gyro * imuRng.normal();
        const gy = imuBias.gy + IMU_NOISE.gyro * imuRng.normal();
        const gz = ego.yawRate + imuBias.gz + (jumped?.gyroZRadps ?? 0) + IMU_NOISE.gyro * imuRng.normal();
        const q = quatFromYaw(ego.yaw + IMU_NOISE.yaw * imuRng.normal());
        const stampNs = imuTicksEpoch0.has(tick) ? 0n : logNs;
        const inDup = plan.duplicates && tick >= plan.duplicates.startTick && tick < plan.duplicates.endTick;
        await emit(
          get("/imu"),
          logNs,
          (seq) => ({
            header: header(stampNs, "imu", seq),
            orientation: q,
            orientation_covariance: diag3(IMU_NOISE.yaw ** 2),
            angular_velocity: { x: gx, y: gy, z: gz },
            angular_velocity_covariance: diag3(IMU_NOISE.gyro ** 2),
            linear_acceleration: { x: ax, y: ay, z: az },
            linear_acceleration_covariance: diag3(IMU_NOISE.accel ** 2),
          }),
          inDup ? 2 : 1,
        );
      }

      // Odometry and TF, 50 Hz.
      if (tick % 4 === 0) {
        const q = quatFromYaw(ego.yaw);
        const inDup = plan.duplicates && tick >= plan.duplicates.startTick && tick < plan.duplicates.endTick;
        await emit(
          get("/odom"),
          logNs,
          (seq) => ({
            header: header(logNs, "odom", seq),
            child_frame_id: "base_link",
            pose: {
              pose: { position: { x: ego.x, y: ego.y, z: 0 }, orientation: q },
              covariance: diag6(1e-4, 1e-5),
            },
            twist: {
              twist: { linear: { x: ego.speed, y: 0, z: 0 }, angular: { x: 0, y: 0, z: ego.yawRate } },
              covariance: diag6(1e-4, 1e-5),
            },
          }),
          inDup ? 2 : 1,
        );
        await emit(get("/tf"), logNs, () => ({
          transforms: [
            {
              header: header(logNs, "odom", 0),
              child_frame_id: "base_link",
              transform: { translation: { x: ego.x, y: ego.y, z: 0 }, rotation: q },
            },
          ],
        }));
      }

      // Lidar, 10 Hz at phase 0.
      if (phase === 0) {
        requestScans(tick / FRAME_TICKS + SCANS_AHEAD);
        if (!scanDropped(tick)) {
          lap("scenario");
          const { data, count } = await scans.take();
          lap("lidar");
          await emitWithBytes(
            get("/lidar/points"),
            logNs,
            (seq, empty) => ({
              header: header(logNs, "lidar", seq),
              height: 1,
              width: count,
              fields: POINT_FIELDS.map((f) => ({ ...f })),
              is_bigendian: false,
              point_step: POINT_STEP,
              row_step: count * POINT_STEP,
              data: empty,
              is_dense: true,
            }),
            data,
            1,
          );
        }
      }

      // Cameras, 10 Hz, 40 ms after the scan.
      if (phase === CAMERA_PHASE) {
        const frameIndex = (tick - CAMERA_PHASE) / FRAME_TICKS;
        requestFrames(frameIndex + FRAMES_AHEAD);
        for (const camera of camerasAt(tick)) {
          const skewed =
            camera.name === "camera_front" &&
            plan.cameraSkew &&
            tick >= plan.cameraSkew.startTick &&
            tick < plan.cameraSkew.endTick;
          const stampNs = skewed && plan.cameraSkew ? logNs + plan.cameraSkew.offsetNs : logNs;
          lap("scenario");
          await emit(get(`/${camera.name}/camera_info`), logNs, (seq) =>
            cameraInfo(header(stampNs, camera.frameId, seq), camera, profile),
          );
          const bytes = await framesOf(camera.name).take();
          lap("cameras");
          await emitWithBytes(
            get(`/${camera.name}/image/compressed`),
            logNs,
            (seq, empty) => ({ header: header(stampNs, camera.frameId, seq), format: "jpeg", data: empty }),
            bytes,
            0,
          );
        }
      }

      // Perception, 10 Hz: objects of the scan 50 ms earlier.
      if (phase === 10) {
        const scanTick = tick - 10;
        const scanNs = startNs + BigInt(scanTick) * TICK_NS;
        const scanSecs = scanTick / TICKS_PER_SEC;
        const egoAtScan = egoStateAt(scenario, scanSecs);
        const c = Math.cos(egoAtScan.yaw);
        const s = Math.sin(egoAtScan.yaw);
        const objects: object[] = [];
        for (const agent of scenario.agents) {
          const p = agentPoseAt(agent, scanSecs);
          if (!p) continue;
          const dx = p.x - egoAtScan.x;
          const dy = p.y - egoAtScan.y;
          if (dx * dx + dy * dy > PERCEPTION_RANGE_M * PERCEPTION_RANGE_M) continue;
          objects.push({
            track_id: agent.trackId,
            class_name: agent.agentClass,
            score: 1,
            pose: {
              position: { x: c * dx + s * dy, y: -s * dx + c * dy, z: agent.height / 2 },
              orientation: quatFromYaw(p.yaw - egoAtScan.yaw),
            },
            size: { x: agent.length, y: agent.width, z: agent.height },
            velocity: { x: c * p.vx + s * p.vy, y: -s * p.vx + c * p.vy, z: 0 },
          });
        }
        await emit(get("/perception/objects"), logNs, (seq) => ({
          header: header(scanNs, "base_link", seq),
          objects,
        }));
      }

      // GPS, 10 Hz at phase 12.
      if (phase === 12) {
        const c = Math.cos(ego.yaw);
        const s = Math.sin(ego.yaw);
        const g = rig.baseFromGps.translation;
        const jump =
          plan.gpsJump && tick >= plan.gpsJump.startTick && tick < plan.gpsJump.endTick
            ? plan.gpsJump
            : undefined;
        const east = ego.x + c * g.x - s * g.y + GPS_NOISE.horizontal * gpsRng.normal() + (jump?.eastM ?? 0);
        const north =
          ego.y + s * g.x + c * g.y + GPS_NOISE.horizontal * gpsRng.normal() + (jump?.northM ?? 0);
        const up = g.z + GPS_NOISE.vertical * gpsRng.normal();
        const fix = geodeticFromEnu(enuFrame, { x: east, y: north, z: up });
        const stampNs = gpsTicksEpoch0.has(tick) ? 0n : logNs;
        await emit(get("/gps/fix"), logNs, (seq) => ({
          header: header(stampNs, "gps", seq),
          status: { status: 0, service: 1 },
          latitude: fix.latitudeDeg,
          longitude: fix.longitudeDeg,
          altitude: fix.altitudeM,
          position_covariance: [
            GPS_NOISE.horizontal ** 2,
            0,
            0,
            0,
            GPS_NOISE.horizontal ** 2,
            0,
            0,
            0,
            GPS_NOISE.vertical ** 2,
          ],
          position_covariance_type: 2,
        }));
      }

      // Diagnostics, 1 Hz.
      if (tick % TICKS_PER_SEC === TICKS_PER_SEC / 2) {
        const lidarDown =
          plan.lidarDropout && tick >= plan.lidarDropout.startTick && tick < plan.lidarDropout.endTick;
        const status = (
          name: string,
          hardwareId: string,
          level: number,
          message: string,
          values: Record<string, string>,
        ): object => ({
          level,
          name,
          message,
          hardware_id: hardwareId,
          values: Object.entries(values).map(([key, value]) => ({ key, value })),
        });
        await emit(get("/diagnostics"), logNs, (seq) => ({
          header: header(logNs, "", seq),
          status: [
            status("strata_synth: lidar", "lidar", lidarDown ? 2 : 0, lidarDown ? "no data" : "ok", {
              rate_hz: lidarDown ? "0" : "10",
            }),
            status("strata_synth: camera_front", "camera_front", 0, "ok", { rate_hz: "10" }),
            status("strata_synth: camera_left", "camera_left", 0, "ok", { rate_hz: "10" }),
            status("strata_synth: imu", "imu", 0, "ok", { rate_hz: "200" }),
            status("strata_synth: gps", "gps", 0, "ok", {
              rate_hz: "10",
              satellites: String(9 + (tick % 5)),
            }),
          ],
        }));
      }
    }
    lap("scenario");
    await sink.close();
    lap("write");
    for (const close of closers.splice(0)) await close();

    const truth = buildTruth({
      scenario,
      rig,
      plan,
      seconds,
      seed,
      format,
      faults,
      night,
      rain,
      startNs,
      endNs,
      origin,
      imuBias,
      topics: [...topics.values()],
      calibrationAfterDrift,
    });
    const truthPath = `${options.outPath}.truth.json`;
    await writeFile(truthPath, JSON.stringify(truth));
    const bytes = (await stat(options.outPath)).size;
    lap("scenario");
    return {
      path: options.outPath,
      truthPath,
      bytes,
      messageCount,
      durationMs: performance.now() - wallStart,
      stagesMs,
    };
  } catch (error) {
    for (const close of closers.splice(0)) await close().catch(() => undefined);
    await sink.abort().catch(() => undefined);
    throw error;
  }
}

function lidarPoseOf(ego: EgoState, rig: Rig): { x: number; y: number; z: number; yaw: number } {
  const t = rig.lidar.baseFromLidar.translation;
  const c = Math.cos(ego.yaw);
  const s = Math.sin(ego.yaw);
  return {
    x: ego.x + c * t.x - s * t.y,
    y: ego.y + s * t.x + c * t.y,
    z: t.z,
    yaw: ego.yaw + rig.lidar.mountYawRad,
  };
}

function cameraInfo(header: object, camera: CameraRig, profile: Profile): object {
  const m = camera.model;
  const k = [m.fx, 0, m.cx, 0, m.fy, m.cy, 0, 0, 1];
  const r = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const p = [m.fx, 0, m.cx, 0, 0, m.fy, m.cy, 0, 0, 0, 1, 0];
  const d = [0, 0, 0, 0, 0];
  const common = {
    header,
    height: m.height,
    width: m.width,
    distortion_model: "plumb_bob",
    binning_x: 0,
    binning_y: 0,
    roi: { x_offset: 0, y_offset: 0, height: 0, width: 0, do_rectify: false },
  };
  return profile === "ros2" ? { ...common, d, k, r, p } : { ...common, D: d, K: k, R: r, P: p };
}

const diag3 = (v: number): number[] => [v, 0, 0, 0, v, 0, 0, 0, v];
function diag6(position: number, rotation: number): number[] {
  const out = new Array<number>(36).fill(0);
  for (let i = 0; i < 6; i++) out[i * 7] = i < 3 ? position : rotation;
  return out;
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

function truthTransform(t: Transform): TruthTransform {
  return { translation: { ...t.translation }, rotation: { ...t.rotation } };
}

function truthCamera(camera: CameraRig): TruthCamera {
  const m = camera.model;
  return {
    name: camera.name,
    frameId: camera.frameId,
    infoTopic: `/${camera.name}/camera_info`,
    imageTopic: `/${camera.name}/image/compressed`,
    width: m.width,
    height: m.height,
    k: [m.fx, 0, m.cx, 0, m.fy, m.cy, 0, 0, 1],
    distortionModel: "plumb_bob",
    d: [0, 0, 0, 0, 0],
    baseFromCamera: truthTransform(camera.baseFromCamera),
  };
}

interface TruthInput {
  scenario: Scenario;
  rig: Rig;
  plan: FaultPlan;
  seconds: number;
  seed: number;
  format: "mcap" | "bag";
  faults: FaultKind[];
  night: boolean;
  rain: boolean;
  startNs: bigint;
  endNs: bigint;
  origin: Geodetic;
  imuBias: { ax: number; ay: number; az: number; gx: number; gy: number; gz: number };
  topics: Topic[];
  calibrationAfterDrift: CaptureTruth["calibrationAfterDrift"];
}

function buildTruth(input: TruthInput): CaptureTruth {
  const { scenario, rig, plan, startNs, endNs, seconds } = input;
  const tickNs = (tick: number): string => (startNs + BigInt(tick) * TICK_NS).toString();
  const secsNs = (secs: number): string => (startNs + BigInt(Math.round(secs * 1e9))).toString();
  const samples: CaptureTruth["trajectory"]["samples"] = [];
  for (let k = 0; k * KEYFRAME_SECS < seconds - 1e-9; k++) {
    const t = k * KEYFRAME_SECS;
    const ego = egoStateAt(scenario, t);
    const along = ego.ax * Math.cos(ego.yaw) + ego.ay * Math.sin(ego.yaw);
    samples.push([round(ego.x, 4), round(ego.y, 4), round(ego.yaw, 6), round(ego.speed, 4), round(along, 4)]);
  }
  const faults: TruthFault[] = [];
  const endTick = Math.round(seconds * TICKS_PER_SEC);
  if (plan.calibDrift) {
    const d = plan.calibDrift;
    faults.push({
      kind: "calib-drift",
      topics: ["/tf_static", "/camera_front/image/compressed"],
      startNs: tickNs(d.tick),
      endNs: tickNs(endTick),
      magnitude: {
        angleDeg: round((d.angleRad * 180) / Math.PI, 6),
        axisX: d.axisInBase.x,
        axisY: d.axisInBase.y,
        axisZ: d.axisInBase.z,
        frame: "camera_front_optical",
      },
      description:
        "camera_front's mount rotates about the given base_link axis; a new /tf_static is published at startNs",
    });
  }
  if (plan.lidarDropout) {
    const d = plan.lidarDropout;
    faults.push({
      kind: "lidar-dropout",
      topics: ["/lidar/points"],
      startNs: tickNs(d.startTick),
      endNs: tickNs(d.endTick),
      magnitude: {
        missingScans: (d.endTick - d.startTick) / FRAME_TICKS,
        gapSecs: (d.endTick - d.startTick + FRAME_TICKS) / TICKS_PER_SEC,
      },
      description: "no /lidar/points message has a log time in [startNs, endNs)",
    });
  }
  if (plan.cameraSkew) {
    const d = plan.cameraSkew;
    faults.push({
      kind: "camera-skew",
      topics: ["/camera_front/image/compressed", "/camera_front/camera_info"],
      startNs: tickNs(d.startTick),
      endNs: tickNs(d.endTick),
      magnitude: { offsetMs: Number(d.offsetNs / 1_000_000n) },
      description: "header.stamp − log time = offsetMs for camera_front messages logged in [startNs, endNs)",
    });
  }
  if (plan.epoch0) {
    const d = plan.epoch0;
    const imuTimes = d.imuTicks.map(tickNs);
    const gpsTimes = d.gpsTicks.map(tickNs);
    faults.push({
      kind: "epoch0",
      topics: ["/imu", "/gps/fix"],
      startNs: [...imuTimes, ...gpsTimes].reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b)),
      endNs: [...imuTimes, ...gpsTimes].reduce((a, b) => (BigInt(a) > BigInt(b) ? a : b)),
      magnitude: { messages: imuTimes.length + gpsTimes.length },
      description: "single messages whose header.stamp is 0 (1970-01-01)",
      logTimesNs: { "/imu": imuTimes, "/gps/fix": gpsTimes },
    });
  }
  if (plan.duplicates) {
    const d = plan.duplicates;
    faults.push({
      kind: "duplicates",
      topics: ["/imu", "/odom"],
      startNs: tickNs(d.startTick),
      endNs: tickNs(d.endTick),
      magnitude: { copies: 2 },
      description:
        "every /imu and /odom message logged in [startNs, endNs) is written twice (same bytes, same log time)",
    });
  }
  if (plan.imuBias) {
    const d = plan.imuBias;
    faults.push({
      kind: "imu-bias",
      topics: ["/imu"],
      startNs: tickNs(d.tick),
      endNs: tickNs(endTick),
      magnitude: { accelXMps2: d.accelXMps2, gyroZRadps: d.gyroZRadps },
      description: "from startNs the IMU's x-accelerometer and z-gyro biases jump by the given amounts",
    });
  }
  if (plan.gpsJump) {
    const d = plan.gpsJump;
    faults.push({
      kind: "gps-jump",
      topics: ["/gps/fix"],
      startNs: tickNs(d.startTick),
      endNs: tickNs(d.endTick),
      magnitude: { eastM: d.eastM, northM: d.northM, metres: round(Math.hypot(d.eastM, d.northM), 3) },
      description: "fixes logged in [startNs, endNs) are offset by (eastM, northM)",
    });
  }
  return {
    schema: "strata.synth.truth/1",
    args: {
      seconds,
      seed: input.seed,
      format: input.format,
      faults: input.faults,
      night: input.night,
      rain: input.rain,
      startTimeNs: startNs.toString(),
    },
    startTimeNs: startNs.toString(),
    endTimeNs: endNs.toString(),
    origin: { ...input.origin },
    frames: { odom: "odom", base: "base_link" },
    calibration: {
      cameras: rig.cameras.map(truthCamera),
      lidar: {
        frameId: rig.lidar.frameId,
        topic: "/lidar/points",
        baseFromLidar: truthTransform(rig.lidar.baseFromLidar),
        beamElevationsDeg: Array.from(rig.lidar.elevationsRad, (e) => round((e * 180) / Math.PI, 6)),
        columns: rig.lidar.columns,
        maxRangeM: rig.lidar.maxRangeM,
        rangeNoiseSigmaM: rig.lidar.rangeNoiseSigmaM,
        pointStep: POINT_STEP,
      },
      imu: {
        frameId: "imu",
        baseFromImu: truthTransform(rig.baseFromImu),
        accelNoiseSigmaMps2: IMU_NOISE.accel,
        gyroNoiseSigmaRadps: IMU_NOISE.gyro,
        accelBiasMps2: { x: input.imuBias.ax, y: input.imuBias.ay, z: input.imuBias.az },
        gyroBiasRadps: { x: input.imuBias.gx, y: input.imuBias.gy, z: input.imuBias.gz },
      },
      gps: {
        frameId: "gps",
        baseFromGps: truthTransform(rig.baseFromGps),
        horizontalSigmaM: GPS_NOISE.horizontal,
        verticalSigmaM: GPS_NOISE.vertical,
      },
    },
    ...(input.calibrationAfterDrift ? { calibrationAfterDrift: input.calibrationAfterDrift } : {}),
    town: {
      roadsX: scenario.town.roadsX,
      roadsY: scenario.town.roadsY,
      roadHalfWidthM: ROAD.halfWidth,
      boxes: scenario.town.boxes.map((b) => ({
        boxId: b.boxId,
        kind: b.kind,
        center: { x: b.centerX, y: b.centerY, z: b.height / 2 },
        size: { length: b.length, width: b.width, height: b.height },
        yawRad: b.yawRad,
        colorRgb: [...b.colorRgb],
      })),
      crosswalks: scenario.town.crosswalks.map((c) => ({ ...c })),
    },
    trajectory: { periodNs: String(Math.round(KEYFRAME_SECS * 1e9)), samples },
    agents: scenario.agents.map((a) => ({
      trackId: a.trackId,
      agentClass: a.agentClass,
      role: a.role,
      size: { length: a.length, width: a.width, height: a.height },
      colorRgb: [...a.colorRgb],
      firstTimeNs: secsNs(a.firstKey * KEYFRAME_SECS),
      periodNs: String(Math.round(KEYFRAME_SECS * 1e9)),
      poses: a.xs.map((x, i) => [x, a.ys[i] as number, a.yaws[i] as number] as [number, number, number]),
    })),
    events: scenario.events
      .filter((e) => e.startSecs >= 0 && e.endSecs <= seconds)
      .map((e) => ({
        kind: e.kind,
        startNs: secsNs(e.startSecs),
        endNs: secsNs(e.endSecs),
        ...(e.trackId !== undefined ? { trackId: e.trackId } : {}),
        detail: e.detail,
      })),
    faults,
    topics: input.topics.map((t) => ({
      topic: t.topic,
      type: typeNameFor(t.type, input.format === "mcap" ? "ros2" : "ros1"),
      frameId: t.frameId,
      rateHz: t.rateHz,
      messageCount: t.count,
    })),
  };
}
