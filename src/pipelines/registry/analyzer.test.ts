import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Catalog, openCatalog } from "../../catalog/index.ts";
import {
  enuFrameAt,
  geodeticFromEnu,
  quatFromAxisAngle,
  quatFromRpy,
  quatMultiply,
  quatRotate,
  radFromDeg,
  vec3,
} from "../../core/index.ts";
import {
  commonSchemaText,
  createMcapFileWriter,
  createRos1BagWriter,
  encoderFor,
  ros1Md5,
} from "../../formats/index.ts";
import { LocalBlobStore } from "../../storage/index.ts";
import type { AnalyzerResult, CaptureAnalyzer } from "../ingest/ingest.ts";
import { ingestPath } from "../ingest/index.ts";
import { type RegistryAnalysis, registryAnalyzer, type RegistryAnalyzerOptions } from "./analyzer.ts";
import {
  acceptCalibration,
  captureCalibrationId,
  getCalibration,
  listDriftEvents,
  listRigCalibrations,
} from "./calibration-store.ts";
import { listTrajectories, readTrajectory } from "./store.ts";

const S = 1_000_000_000n;
const T0 = 1_760_000_000n * S;
const ORIGIN = { latitudeDeg: 52.52, longitudeDeg: 13.405, altitudeM: 40 };
const BASE_FROM_GPS = vec3(-0.5, 0.2, 1.8);
const BASE_FROM_CAMERA = {
  translation: vec3(1.5, 0, 1.2),
  rotation: quatFromRpy(-Math.PI / 2, 0, -Math.PI / 2),
};
const K = [500, 0, 320, 0, 502, 240, 0, 0, 1];
const D = [0.1, -0.25, 0.001, 0.0005, 0.02];

interface Stamped {
  topic: string;
  logTimeNs: bigint;
  message: object;
}

interface LogSpec {
  /** Rotation of the camera extrinsic (degrees about base z) from the start. */
  cameraYawDeg?: number;
  /** A second /tf_static at this time moving the camera by `stepM` along x. */
  stepAtNs?: bigint;
  stepM?: number;
  /** ROS 1 bag (uppercase K/D) instead of ROS 2 MCAP. */
  ros1?: boolean;
  seconds?: number;
  /** Write garbage instead of the k-th /odom message. */
  corruptOdomAt?: number;
}

const TYPES: Record<string, string> = {
  "/tf_static": "tf2_msgs/TFMessage",
  "/tf": "tf2_msgs/TFMessage",
  "/odom": "nav_msgs/Odometry",
  "/gps/fix": "sensor_msgs/NavSatFix",
  "/camera_front/camera_info": "sensor_msgs/CameraInfo",
};

function header(ns: bigint, frame: string, ros1: boolean): object {
  const stamp = ros1
    ? { sec: Number(ns / S), nsec: Number(ns % S) }
    : { sec: Number(ns / S), nanosec: Number(ns % S) };
  return ros1 ? { seq: 0, stamp, frame_id: frame } : { stamp, frame_id: frame };
}

/** A small drive: 2 m/s along a 30° heading, TF + odometry at 10 Hz, GNSS at 5 Hz, camera_info at 2 Hz. */
function messagesOf(spec: LogSpec): Stamped[] {
  const ros1 = spec.ros1 === true;
  const seconds = spec.seconds ?? 6;
  const out: Stamped[] = [];
  const camera = (stepM: number) => ({
    translation: vec3(
      BASE_FROM_CAMERA.translation.x + stepM,
      BASE_FROM_CAMERA.translation.y,
      BASE_FROM_CAMERA.translation.z,
    ),
    rotation: quatMultiply(
      quatFromAxisAngle(vec3(0, 0, 1), radFromDeg(spec.cameraYawDeg ?? 0)),
      BASE_FROM_CAMERA.rotation,
    ),
  });
  const staticMessage = (ns: bigint, stepM: number) => ({
    transforms: [
      {
        header: header(ns, "base_link", ros1),
        child_frame_id: "camera_front_optical",
        transform: camera(stepM),
      },
      {
        header: header(ns, "base_link", ros1),
        child_frame_id: "gps",
        transform: { translation: BASE_FROM_GPS, rotation: { x: 0, y: 0, z: 0, w: 1 } },
      },
    ],
  });
  out.push({ topic: "/tf_static", logTimeNs: T0, message: staticMessage(T0, 0) });
  if (spec.stepAtNs !== undefined)
    out.push({
      topic: "/tf_static",
      logTimeNs: spec.stepAtNs,
      message: staticMessage(spec.stepAtNs, spec.stepM ?? 0),
    });
  const yaw = radFromDeg(30);
  const q = quatFromRpy(0, 0, yaw);
  const enu = enuFrameAt(ORIGIN);
  for (let k = 0; k <= seconds * 10; k++) {
    const ns = T0 + BigInt(k) * 100_000_000n;
    const s = 0.2 * k;
    const position = { x: s * Math.cos(yaw), y: s * Math.sin(yaw), z: 0 };
    out.push({
      topic: "/tf",
      logTimeNs: ns,
      message: {
        transforms: [
          {
            header: header(ns, "odom", ros1),
            child_frame_id: "base_link",
            transform: { translation: position, rotation: q },
          },
        ],
      },
    });
    out.push({
      topic: "/odom",
      logTimeNs: ns,
      message: {
        header: header(ns, "odom", ros1),
        child_frame_id: "base_link",
        pose: { pose: { position, orientation: q }, covariance: new Array(36).fill(0) },
        twist: {
          twist: { linear: { x: 2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } },
          covariance: new Array(36).fill(0),
        },
      },
    });
    if (k % 2 === 0) {
      const arm = quatRotate(q, BASE_FROM_GPS);
      const fix = geodeticFromEnu(enu, { x: position.x + arm.x, y: position.y + arm.y, z: arm.z });
      out.push({
        topic: "/gps/fix",
        logTimeNs: ns,
        message: {
          header: header(ns, "gps", ros1),
          status: { status: 0, service: 1 },
          latitude: fix.latitudeDeg,
          longitude: fix.longitudeDeg,
          altitude: fix.altitudeM,
          position_covariance: new Array(9).fill(0),
          position_covariance_type: 0,
        },
      });
    }
    if (k % 5 === 0) {
      const matrices = ros1
        ? { D, K, R: [1, 0, 0, 0, 1, 0, 0, 0, 1], P: [500, 0, 320, 0, 0, 502, 240, 0, 0, 0, 1, 0] }
        : { d: D, k: K, r: [1, 0, 0, 0, 1, 0, 0, 0, 1], p: [500, 0, 320, 0, 0, 502, 240, 0, 0, 0, 1, 0] };
      out.push({
        topic: "/camera_front/camera_info",
        logTimeNs: ns,
        message: {
          header: header(ns, "camera_front_optical", ros1),
          height: 480,
          width: 640,
          distortion_model: "plumb_bob",
          ...matrices,
          binning_x: 0,
          binning_y: 0,
          roi: { x_offset: 0, y_offset: 0, height: 0, width: 0, do_rectify: false },
        },
      });
    }
  }
  return out.sort((a, b) => (a.logTimeNs < b.logTimeNs ? -1 : a.logTimeNs > b.logTimeNs ? 1 : 0));
}

async function writeLog(file: string, spec: LogSpec): Promise<string> {
  const messages = messagesOf(spec);
  if (spec.ros1) {
    const writer = await createRos1BagWriter(file);
    const ids = new Map<string, number>();
    for (const [topic, type] of Object.entries(TYPES)) {
      ids.set(
        topic,
        writer.addConnection({
          topic,
          type,
          md5sum: ros1Md5(type),
          messageDefinition: commonSchemaText(type, "ros1"),
        }),
      );
    }
    for (const m of messages) {
      const type = TYPES[m.topic] as string;
      const encode = encoderFor("ros1", type, commonSchemaText(type, "ros1"));
      await writer.addMessage({
        connectionId: ids.get(m.topic) as number,
        timeNs: m.logTimeNs,
        data: encode(m.message),
      });
    }
    await writer.close();
    return file;
  }
  const writer = await createMcapFileWriter(file, { profile: "ros2", compression: "none" });
  const ids = new Map<string, number>();
  for (const [topic, type] of Object.entries(TYPES)) {
    const ros2Name = type.replace("/", "/msg/");
    const schemaId = await writer.addSchema({
      name: ros2Name,
      encoding: "ros2msg",
      data: new TextEncoder().encode(commonSchemaText(ros2Name, "ros2")),
    });
    ids.set(topic, await writer.addChannel({ topic, schemaId, messageEncoding: "cdr" }));
  }
  let odomCount = 0;
  for (const m of messages) {
    const ros2Name = (TYPES[m.topic] as string).replace("/", "/msg/");
    const encode = encoderFor("cdr", ros2Name, commonSchemaText(ros2Name, "ros2"));
    const corrupt = m.topic === "/odom" && odomCount++ === spec.corruptOdomAt;
    const data = corrupt ? Uint8Array.of(0, 1, 0, 0, 9) : encode(m.message);
    await writer.addMessage({ channelId: ids.get(m.topic) as number, logTimeNs: m.logTimeNs, data });
  }
  await writer.end();
  return file;
}

/** Keeps what the registry handed to later analyzers. */
function spyAnalyzer(seen: RegistryAnalysis[]): CaptureAnalyzer {
  return {
    name: "spy",
    async analyze(context): Promise<AnalyzerResult> {
      seen.push(context.earlier.get("registry")?.data as RegistryAnalysis);
      return {};
    },
  };
}

describe("registry analyzer (ingest)", () => {
  let dir: string;
  let catalog: Catalog;
  let blobs: LocalBlobStore;
  const seen: RegistryAnalysis[] = [];
  const ingest = (file: string, rig: string, options: RegistryAnalyzerOptions = {}) =>
    ingestPath(
      file,
      { rig, actor: "test" },
      { catalog, blobs, codeVersion: "test", analyzers: [registryAnalyzer(options), spyAnalyzer(seen)] },
    );

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "strata-registry-"));
    catalog = await openCatalog({ kind: "sqlite", path: path.join(dir, "catalog.db") });
    blobs = new LocalBlobStore(path.join(dir, "blobs"));
  });
  afterAll(async () => {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("extracts intrinsics (ROS 2 k/d), /tf_static extrinsics and trajectories; versions the calibration for the rig", async () => {
    const file = await writeLog(path.join(dir, "a.mcap"), {});
    const result = await ingest(file, "car-1");
    expect(result.warnings).toEqual([]);
    const calibrationId = await captureCalibrationId(catalog, result.captureId);
    const calibration = await getCalibration(catalog, calibrationId as string);
    expect(calibration?.source).toBe("capture");
    expect(calibration?.recordedAtNs).toBe(T0);
    expect(calibration?.body.cameras).toEqual([
      expect.objectContaining({
        cameraName: "camera_front_optical",
        model: "plumb_bob",
        width: 640,
        height: 480,
        K,
        D,
        topic: "/camera_front/camera_info",
      }),
    ]);
    expect(calibration?.body.extrinsics.map((e) => e.childFrame)).toEqual(["camera_front_optical", "gps"]);
    expect(calibration?.body.extrinsics[0]?.translation).toEqual(BASE_FROM_CAMERA.translation);
    expect(await listRigCalibrations(catalog, { rig: "car-1" })).toEqual([
      expect.objectContaining({ version: 1, calibrationId, accepted: false }),
    ]);
    expect(await listDriftEvents(catalog, result.captureId)).toEqual([]);

    const trajectories = await listTrajectories(catalog, result.captureId);
    expect(trajectories.map((t) => [t.source, t.frame, t.poseCount, t.primary])).toEqual([
      ["tf:odom->base_link", "odom", 61, true],
      ["gps:/gps/fix", "enu", 31, false],
      ["odom:/odom", "odom", 61, false],
    ]);
    // the GNSS track minus the lever arm is the base's path (ENU origin = first fix = base start + lever arm)
    const gps = await readTrajectory(catalog, result.captureId, { source: "/gps/fix" });
    expect(gps.meta.leverArmApplied).toBe(true);
    const odom = await readTrajectory(catalog, result.captureId);
    const arm = quatRotate(quatFromRpy(0, 0, radFromDeg(30)), BASE_FROM_GPS);
    for (let i = 0; i < 31; i++) {
      const j = 2 * i;
      expect(gps.trajectory.positions[3 * i]).toBeCloseTo(
        (odom.trajectory.positions[3 * j] as number) - arm.x,
        5,
      );
      expect(gps.trajectory.positions[3 * i + 1]).toBeCloseTo(
        (odom.trajectory.positions[3 * j + 1] as number) - arm.y,
        5,
      );
      expect(gps.trajectory.positions[3 * i + 2]).toBeCloseTo(-arm.z, 5);
    }
    expect(seen.at(-1)).toMatchObject({ calibrationId, drift: [], acceptedCalibrationId: null });
  });

  it("flags a /tf_static change within the capture at its time, with its size", async () => {
    const stepAtNs = T0 + 2_500_000_000n;
    const file = await writeLog(path.join(dir, "b.mcap"), { stepAtNs, stepM: 0.05 });
    const result = await ingest(file, "car-1");
    const drift = await listDriftEvents(catalog, result.captureId);
    expect(drift).toEqual([
      {
        kind: "within-capture",
        frame: "camera_front_optical",
        parentFrame: "base_link",
        atNs: stepAtNs,
        rotationDeg: 0,
        translationM: expect.closeTo(0.05, 12),
        referenceCalibrationId: null,
      },
    ]);
    expect(result.warnings).toEqual([
      expect.stringContaining("calibration drift (within-capture) of base_link → camera_front_optical"),
    ]);
    expect(seen.at(-1)?.drift).toEqual(drift);
    // the capture's calibration is the one it started with: the same as a.mcap's
    expect(await listRigCalibrations(catalog, { rig: "car-1" })).toHaveLength(1);
  });

  it("compares with the rig's last accepted calibration: 1° flagged by default, not with a 2° threshold", async () => {
    const [v1] = await listRigCalibrations(catalog, { rig: "car-1" });
    await acceptCalibration(catalog, "car-1", v1?.calibrationId as string, "test");
    const file = await writeLog(path.join(dir, "c.mcap"), { cameraYawDeg: 1 });
    const result = await ingest(file, "car-1");
    const drift = await listDriftEvents(catalog, result.captureId);
    expect(drift).toEqual([
      {
        kind: "vs-accepted",
        frame: "camera_front_optical",
        parentFrame: "base_link",
        atNs: T0,
        rotationDeg: expect.closeTo(1, 9),
        translationM: 0,
        referenceCalibrationId: v1?.calibrationId,
      },
    ]);
    expect((await listRigCalibrations(catalog, { rig: "car-1" })).map((v) => v.version)).toEqual([1, 2]);

    const lenient = await writeLog(path.join(dir, "d.mcap"), { cameraYawDeg: 1, seconds: 5 });
    const relaxed = await ingest(lenient, "car-1", { drift: { maxRotationDeg: 2 } });
    expect(await listDriftEvents(catalog, relaxed.captureId)).toEqual([]);
    expect(seen.at(-1)?.thresholds).toEqual({ maxRotationDeg: 2, maxTranslationM: 0.02 });
  });

  it("an undecodable message is a warning, not a failed ingest", async () => {
    const file = await writeLog(path.join(dir, "corrupt.mcap"), { corruptOdomAt: 10, seconds: 4 });
    const result = await ingest(file, "car-3");
    expect(result.warnings).toEqual(["registry: 1 messages on /odom could not be decoded"]);
    const odom = (await listTrajectories(catalog, result.captureId)).find((t) => t.source === "odom:/odom");
    expect(odom?.poseCount).toBe(40);
  });

  it("reads ROS 1 CameraInfo (K/D) and leaves captures without a rig unversioned", async () => {
    const file = await writeLog(path.join(dir, "e.bag"), { ros1: true });
    const versionsBefore = await listRigCalibrations(catalog);
    const result = await ingestPath(
      file,
      { actor: "test" },
      { catalog, blobs, codeVersion: "test", analyzers: [registryAnalyzer()] },
    );
    const calibration = await getCalibration(
      catalog,
      (await captureCalibrationId(catalog, result.captureId)) as string,
    );
    expect(calibration?.body.cameras[0]).toMatchObject({ K, D, model: "plumb_bob" });
    expect(await listRigCalibrations(catalog)).toEqual(versionsBefore);
    // ROS 1 and ROS 2 messages with the same values give the same calibration
    const [v1] = await listRigCalibrations(catalog, { rig: "car-1" });
    expect(calibration?.calibrationId).toBe(v1?.calibrationId);
    expect((await listTrajectories(catalog, result.captureId))[0]?.source).toBe("tf:odom->base_link");
  });
});
