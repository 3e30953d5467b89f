/**
 * The spatial registry end to end, through the real CLI: trajectory metrics straight from a bag and from an
 * ingested capture, calibration import/versions/accept, and drift + ego-motion on synthetic captures whose
 * ground truth is known.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enuFrameAt, enuFromGeodetic, geodeticFromEnu } from "../src/core/index.ts";
import { openLog, parseCalibrationYaml } from "../src/formats/index.ts";
import {
  type CaptureTruth,
  evaluateApe,
  evaluateRpe,
  generateCapture,
  type PoseTrajectory,
  parseTum,
  type StampedPose,
  trajectoryFromStampedPoses,
} from "../src/pipelines/index.ts";
import { type CliResult, fixtures, json, strataAsync, tempDir } from "./helpers.ts";

/** Each test spawns the real CLI several times (seconds each on a loaded machine). */
const CLI_TEST_TIMEOUT_MS = 300_000;
const ROS_EXAMPLE = path.join(fixtures, "ros1/ROS_example.bag");
const CALIBRATION = path.join(fixtures, "calibration");

interface MetricJson {
  pairs: number;
  rmse: number;
  mean: number;
  median: number;
  std: number;
  min: number;
  max: number;
  sse: number;
  scale?: number;
}

/** The poses of PoseStamped topics, decoded here independently of the registry's readers. */
async function posesOfBag(file: string, topics: string[]): Promise<Map<string, PoseTrajectory>> {
  const reader = await openLog(file);
  const poses = new Map<string, StampedPose[]>(topics.map((t) => [t, []]));
  try {
    for await (const m of reader.messages({ topics, decode: true })) {
      const msg = m.decoded as {
        header: { stamp: { sec: number; nsec: number } };
        pose: {
          position: { x: number; y: number; z: number };
          orientation: { x: number; y: number; z: number; w: number };
        };
      };
      poses.get(m.topic)?.push({
        stampNs: BigInt(msg.header.stamp.sec) * 1_000_000_000n + BigInt(msg.header.stamp.nsec),
        translation: msg.pose.position,
        rotation: msg.pose.orientation,
      });
    }
  } finally {
    await reader.close();
  }
  return new Map([...poses].map(([topic, list]) => [topic, trajectoryFromStampedPoses(list)]));
}

function expectMetric(actual: MetricJson, expected: MetricJson): void {
  expect(actual.pairs).toBe(expected.pairs);
  for (const key of ["rmse", "mean", "median", "std", "min", "max", "sse"] as const) {
    expect(actual[key]).toBeCloseTo(expected[key], 12);
  }
  if (expected.scale === undefined) expect(actual.scale).toBeUndefined();
  else expect(actual.scale).toBeCloseTo(expected.scale, 12);
}

const ok = (result: CliResult): CliResult => {
  if (result.status !== 0) throw new Error(`strata exited ${result.status}: ${result.stderr}`);
  return result;
};

describe("trajectory metrics from ROS_example.bag (groundtruth vs ORB-SLAM)", {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let home: string;
  let cleanup: () => void;
  let ref: PoseTrajectory;
  let est: PoseTrajectory;
  let captureId: string;
  beforeAll(async () => {
    ({ dir: home, cleanup } = tempDir());
    const poses = await posesOfBag(ROS_EXAMPLE, ["groundtruth", "ORB-SLAM"]);
    ref = poses.get("groundtruth") as PoseTrajectory;
    est = poses.get("ORB-SLAM") as PoseTrajectory;
    expect(ref.timestampsSecs.length).toBe(12765);
    expect(est.timestampsSecs.length).toBe(8362);
  });
  afterAll(() => cleanup());

  const bagArgs = [
    "--ref",
    ROS_EXAMPLE,
    "--ref-topic",
    "groundtruth",
    "--est",
    ROS_EXAMPLE,
    "--est-topic",
    "ORB-SLAM",
  ];

  it("APE straight from the bag equals evo's conventions on the same poses (none, se3, sim3)", async () => {
    const runs = await Promise.all(
      (["none", "se3", "sim3"] as const).map(async (align) => ({
        align,
        result: await strataAsync(["traj", "ape", ...bagArgs, "--align", align, "--json"], home),
      })),
    );
    for (const { align, result } of runs) {
      const expected = evaluateApe(ref, est, { align, maxDiffSecs: 0.01 });
      expectMetric(json<MetricJson>(ok(result)), {
        ...expected,
        ...(expected.scale !== undefined ? { scale: expected.scale } : {}),
      });
    }
    const sim3 = json<MetricJson>(runs[2]?.result as CliResult);
    expect(sim3.scale).toBeGreaterThan(0.5);
    expect(sim3.rmse).toBeLessThan(json<MetricJson>(runs[0]?.result as CliResult).rmse);
    // evo's association starts from the shorter trajectory: at most one pair per ORB-SLAM pose
    expect(sim3.pairs).toBeLessThanOrEqual(8362);
  });

  it("RPE straight from the bag: consecutive frames (trans) and 10 m segments (angle_deg)", async () => {
    const frames = await strataAsync(
      ["traj", "rpe", ...bagArgs, "--align", "se3", "--delta", "1", "--json"],
      home,
    );
    expectMetric(
      json<MetricJson>(ok(frames)),
      evaluateRpe(ref, est, { align: "se3", delta: 1, deltaUnit: "frames" }),
    );
    const meters = await strataAsync(
      [
        "traj",
        "rpe",
        ...bagArgs,
        "--relation",
        "angle_deg",
        "--delta",
        "10",
        "--delta-unit",
        "meters",
        "--t-max-diff",
        "0.02",
        "--json",
      ],
      home,
    );
    expectMetric(
      json<MetricJson>(ok(meters)),
      evaluateRpe(ref, est, { relation: "angle_deg", delta: 10, deltaUnit: "meters", maxDiffSecs: 0.02 }),
    );
  });

  it("the ingested capture gives the same numbers, stores ATE/RPE as a filterable property, and exports TUM", async () => {
    const [ingested] = json<Array<{ captureId: string }>>(
      await strataAsync(["ingest", ROS_EXAMPLE, "--json"], home),
    );
    captureId = ingested?.captureId as string;
    const fromCapture = json<MetricJson>(
      await strataAsync(
        [
          "traj",
          "ape",
          "--ref",
          captureId,
          "--ref-topic",
          "groundtruth",
          "--est",
          captureId,
          "--est-topic",
          "ORB-SLAM",
          "--align",
          "sim3",
          "--json",
        ],
        home,
      ),
    );
    expectMetric(fromCapture, evaluateApe(ref, est, { align: "sim3" }) as MetricJson);

    const stored = json<{
      captureId: string;
      estimateSource: string;
      align: string;
      ape: MetricJson;
      rpe: MetricJson;
    }>(
      await strataAsync(
        [
          "traj",
          "metrics",
          captureId,
          "--est-source",
          "ORB-SLAM",
          "--ref",
          ROS_EXAMPLE,
          "--ref-topic",
          "groundtruth",
          "--json",
        ],
        home,
      ),
    );
    const ate = evaluateApe(ref, est, { align: "se3" });
    const rpe = evaluateRpe(ref, est, { align: "se3", delta: 1 });
    expect(stored).toMatchObject({ captureId, estimateSource: "pose:ORB-SLAM", align: "se3" });
    expect(stored.ape.rmse).toBeCloseTo(ate.rmse, 12);
    expect(stored.ape.pairs).toBe(ate.pairs);
    expect(stored.rpe.rmse).toBeCloseTo(rpe.rmse, 12);

    const below = json<Array<{ captureId: string }>>(
      await strataAsync(["traj", "query", "--max-ape", String(ate.rmse + 1e-9), "--json"], home),
    );
    expect(below.map((r) => r.captureId)).toEqual([captureId]);
    const above = json<unknown[]>(
      await strataAsync(["traj", "query", "--max-ape", String(ate.rmse / 2), "--json"], home),
    );
    expect(above).toEqual([]);
    const audit = json<{ events: Array<{ action: string; target: string }> }>(
      await strataAsync(["audit", "list", "--json"], home),
    );
    expect(audit.events).toContainEqual(
      expect.objectContaining({ action: "capture.metrics", target: captureId }),
    );

    const out = path.join(home, "gt.tum");
    ok(
      await strataAsync(
        ["traj", "export", captureId, "--source", "groundtruth", "--format", "tum", "--out", out],
        home,
      ),
    );
    const exported = parseTum(readFileSync(out));
    expect(exported.timestampsSecs).toEqual(ref.timestampsSecs);
    expect(exported.positions).toEqual(ref.positions);
    expect(exported.orientations).toEqual(ref.orientations);
  }, 300_000);

  it("reports unusable sources as coded errors", async () => {
    const noTopic = await strataAsync(
      ["traj", "ape", "--ref", ROS_EXAMPLE, "--est", ROS_EXAMPLE, "--est-topic", "ORB-SLAM", "--json"],
      home,
    );
    expect(noTopic.status).toBe(2);
    expect(JSON.parse(noTopic.stderr).error.code).toBe("STRATA_E_USAGE");
    const missing = await strataAsync(
      [
        "traj",
        "ape",
        "--ref",
        ROS_EXAMPLE,
        "--ref-topic",
        "nope",
        "--est",
        ROS_EXAMPLE,
        "--est-topic",
        "ORB-SLAM",
        "--json",
      ],
      home,
    );
    expect(JSON.parse(missing.stderr).error.code).toBe("STRATA_E_NOT_FOUND");
    const unknownCapture = await strataAsync(
      ["traj", "export", "cap_0000000000000000", "--format", "tum", "--json"],
      home,
    );
    expect(JSON.parse(unknownCapture.stderr).error.code).toBe("STRATA_E_NOT_FOUND");
  });
});

describe("calibration import (the three fixtures)", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ dir: home, cleanup } = tempDir());
  });
  afterAll(() => cleanup());

  const files = [
    "ros_camera_info_test_calibration.yaml",
    "uzhfpv_indoor_kalibr_imucam_chain.yaml",
    "euroc_mav_kalibr_imucam_chain.yaml",
  ];

  interface Detail {
    calibrationId: string;
    source: string;
    sourceRef: string;
    body: { cameras: Array<Record<string, unknown>>; extrinsics: Array<Record<string, unknown>> };
    versions: Array<{ rig: string; version: number; accepted: boolean; acceptedBy: string | null }>;
  }

  const details = new Map<string, Detail>();

  it("imports each as a version of the rig and reads the values back exactly", async () => {
    for (const [index, name] of files.entries()) {
      const file = path.join(CALIBRATION, name);
      const imported = json<{ calibrationId: string; version: number; created: boolean }>(
        await strataAsync(["calib", "import", file, "--rig", "fpv", "--json"], home),
      );
      expect(imported).toMatchObject({ version: index + 1, created: true });
      const detail = json<Detail>(
        await strataAsync(["calib", "show", imported.calibrationId, "--json"], home),
      );
      const parsed = parseCalibrationYaml(readFileSync(file), { source: file }).sort((a, b) =>
        a.cameraName < b.cameraName ? -1 : 1,
      );
      expect(detail.body.cameras).toEqual(JSON.parse(JSON.stringify(parsed)));
      expect(detail.source).toBe("import");
      expect(detail.sourceRef).toBe(file);
      expect(detail.versions).toEqual([
        expect.objectContaining({ rig: "fpv", version: index + 1, accepted: false }),
      ]);
      details.set(name, detail);
    }
  });

  it("keeps the documented values (camera_info K/D/P, Kalibr intrinsics, OpenVINS T_imu_cam)", () => {
    const body = (name: string) => (details.get(name) as Detail).body;
    const ros = body("ros_camera_info_test_calibration.yaml").cameras[0];
    expect(ros).toMatchObject({
      cameraName: "08144361026320a0",
      model: "plumb_bob",
      width: 640,
      height: 480,
      K: [1168.68, 0, 295.015, 0, 1169.01, 252.247, 0, 0, 1],
      D: [-1.04482, 1.59252, -0.0196308, 0.0287906, 0],
      P: [1168.68, 0, 295.015, 0, 0, 1169.01, 252.247, 0, 0, 0, 1, 0],
    });
    const uzh = body("uzhfpv_indoor_kalibr_imucam_chain.yaml");
    expect(uzh.cameras[0]).toMatchObject({
      cameraName: "cam0",
      model: "pinhole-equidistant",
      K: [278.66723066149086, 0, 319.75221200593535, 0, 278.48991409740296, 241.96858910358173, 0, 0, 1],
      timeshiftCamImuSecs: -0.016684572091862235,
    });
    expect(uzh.extrinsics.map((e) => [e.parentFrame, e.childFrame])).toEqual([
      ["imu0", "cam0"],
      ["imu0", "cam1"],
    ]);
    const euroc = body("euroc_mav_kalibr_imucam_chain.yaml");
    expect(euroc.cameras[1]).toMatchObject({
      cameraName: "cam1",
      model: "pinhole-radtan",
      width: 752,
      height: 480,
    });
    expect(euroc.extrinsics[0]).toMatchObject({
      parentFrame: "imu0",
      childFrame: "cam0",
      translation: { x: -0.0216401454975, y: -0.064676986768, z: 0.00981073058949 },
    });
  });

  it("re-importing is a no-op; list, diff and accept work and changes are audited", async () => {
    const again = json<{ created: boolean; versionCreated: boolean; version: number }>(
      await strataAsync(
        ["calib", "import", path.join(CALIBRATION, files[0] as string), "--rig", "fpv", "--json"],
        home,
      ),
    );
    expect(again).toMatchObject({ created: false, versionCreated: false, version: 1 });
    const list = json<Array<{ version: number; calibrationId: string }>>(
      await strataAsync(["calib", "list", "--rig", "fpv", "--json"], home),
    );
    expect(list.map((r) => r.version)).toEqual([1, 2, 3]);
    const diff = json<{ differs: boolean; cameras: Array<{ cameraName: string; status: string }> }>(
      await strataAsync(
        ["calib", "diff", list[1]?.calibrationId as string, list[2]?.calibrationId as string, "--json"],
        home,
      ),
    );
    expect(diff.differs).toBe(true);
    expect(diff.cameras.map((c) => c.status)).toEqual(["changed", "changed"]);
    const accepted = json<{ accepted: boolean; version: number; acceptedBy: string }>(
      await strataAsync(["calib", "accept", list[2]?.calibrationId as string, "--json"], home),
    );
    expect(accepted).toMatchObject({ accepted: true, version: 3 });
    const audit = json<{ events: Array<{ action: string }>; chain: { ok: boolean } }>(
      await strataAsync(["audit", "list", "--json"], home),
    );
    expect(audit.events.filter((e) => e.action === "calibration.import")).toHaveLength(3);
    expect(audit.events.filter((e) => e.action === "calibration.accept")).toHaveLength(1);
    expect(audit.chain.ok).toBe(true);
    const bad = await strataAsync(
      [
        "calib",
        "import",
        path.join(fixtures, "trajectories/KITTI_00_gt_times.txt"),
        "--rig",
        "fpv",
        "--json",
      ],
      home,
    );
    expect(JSON.parse(bad.stderr).error.code).toBe("STRATA_E_CALIBRATION_FORMAT");
  });
});

describe("synthetic captures: drift and GNSS ego-motion against ground truth", {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let home: string;
  let cleanup: () => void;
  let clean: { path: string; truthPath: string };
  let faulty: { path: string; truthPath: string };
  let cleanId: string;
  let faultyId: string;
  beforeAll(async () => {
    ({ dir: home, cleanup } = tempDir());
    [clean, faulty] = await Promise.all([
      generateCapture({ outPath: path.join(home, "clean.mcap"), seconds: 8, seed: 11 }),
      generateCapture({
        outPath: path.join(home, "drift.mcap"),
        seconds: 8,
        seed: 11,
        faults: ["calib-drift"],
      }),
    ]);
  }, 180_000);
  afterAll(() => cleanup());

  it("the generator wrote both captures and their ground truth", async () => {
    for (const file of [clean.path, clean.truthPath, faulty.path, faulty.truthPath])
      expect(existsSync(file)).toBe(true);
  });

  it("the clean capture raises nothing; its calibration becomes the rig's accepted one", async () => {
    const [ingested] = json<Array<{ captureId: string; warnings: string[] }>>(
      await strataAsync(["ingest", clean.path, "--rig", "synth", "--json"], home),
    );
    cleanId = ingested?.captureId as string;
    expect(ingested?.warnings.filter((w) => w.startsWith("registry"))).toEqual([]);
    const drift = json<{ calibrationId: string; drift: unknown[] }>(
      await strataAsync(["calib", "drift", cleanId, "--json"], home),
    );
    expect(drift.drift).toEqual([]);
    ok(await strataAsync(["calib", "accept", cleanId, "--json"], home));
    const truth = JSON.parse(readFileSync(clean.truthPath, "utf8")) as CaptureTruth;
    const detail = json<{
      body: {
        cameras: Array<{ cameraName: string; K: number[]; D: number[]; width: number }>;
        extrinsics: Array<{ childFrame: string; translation: unknown }>;
      };
    }>(await strataAsync(["calib", "show", cleanId, "--json"], home));
    for (const camera of truth.calibration.cameras) {
      const stored = detail.body.cameras.find((c) => c.cameraName === camera.frameId);
      expect(stored).toMatchObject({ K: camera.k, D: camera.d, width: camera.width });
      const extrinsic = detail.body.extrinsics.find((e) => e.childFrame === camera.frameId);
      expect(extrinsic?.translation).toEqual(camera.baseFromCamera.translation);
    }
  });

  it("flags the injected extrinsic drift at the right time with the right magnitude, and nothing else", async () => {
    const [ingested] = json<Array<{ captureId: string }>>(
      await strataAsync(["ingest", faulty.path, "--rig", "synth", "--json"], home),
    );
    faultyId = ingested?.captureId as string;
    const truth = JSON.parse(readFileSync(faulty.truthPath, "utf8")) as CaptureTruth;
    const fault = truth.faults.find((f) => f.kind === "calib-drift");
    expect(fault).toBeDefined();
    const drift = json<{
      drift: Array<{ kind: string; frame: string; atNs: string; rotationDeg: number; translationM: number }>;
    }>(await strataAsync(["calib", "drift", faultyId, "--json"], home)).drift;
    // starts like the clean capture (the accepted calibration), so only the change within it is flagged
    expect(drift).toHaveLength(1);
    const [event] = drift;
    expect(event?.kind).toBe("within-capture");
    expect(event?.frame).toBe(fault?.magnitude.frame);
    const offsetSecs =
      Math.abs(Number(BigInt(event?.atNs as string) - BigInt(fault?.startNs as string))) / 1e9;
    expect(offsetSecs).toBeLessThanOrEqual(0.2);
    const angleDeg = Number(fault?.magnitude.angleDeg);
    expect(Math.abs((event?.rotationDeg as number) - angleDeg)).toBeLessThanOrEqual(0.1 * angleDeg);
  });

  it("the GNSS-derived ENU trajectory follows ground truth within 0.5 m; TF/odometry matches it (to the sidecar's 0.1 mm)", async () => {
    const truth = JSON.parse(readFileSync(faulty.truthPath, "utf8")) as CaptureTruth;
    const list = json<
      Array<{
        source: string;
        frame: string;
        primary: boolean;
        meta: {
          origin?: { latitudeDeg: number; longitudeDeg: number; altitudeM: number };
          leverArmApplied?: boolean;
        };
      }>
    >(await strataAsync(["traj", "list", faultyId, "--json"], home));
    expect(list.map((t) => [t.source, t.frame, t.primary])).toEqual([
      ["tf:odom->base_link", "odom", true],
      ["gps:/gps/fix", "enu", false],
      ["odom:/odom", "odom", false],
    ]);
    const gpsInfo = list[1];
    expect(gpsInfo?.meta.leverArmApplied).toBe(true);
    const origin = gpsInfo?.meta.origin as NonNullable<NonNullable<typeof gpsInfo>["meta"]["origin"]>;

    const startNs = BigInt(truth.startTimeNs);
    const periodNs = BigInt(truth.trajectory.periodNs);
    const samples = truth.trajectory.samples;
    /** Ground-truth base position (odom = ENU at truth.origin) at a time, linear between samples. */
    const truthAt = (stampNs: bigint): { x: number; y: number } | undefined => {
      const f = Number(stampNs - startNs) / Number(periodNs);
      const i = Math.floor(f);
      const a = samples[i];
      const b = samples[i + 1] ?? (f === i ? a : undefined);
      if (!a || !b) return undefined;
      const w = f - i;
      return { x: a[0] + (b[0] - a[0]) * w, y: a[1] + (b[1] - a[1]) * w };
    };
    const read = async (source: string): Promise<PoseTrajectory & { stampsNs: bigint[] }> => {
      const text = ok(
        await strataAsync(["traj", "export", faultyId, "--source", source, "--format", "tum"], home),
      ).stdout;
      const t = parseTum(text);
      const stampsNs = text
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => BigInt(Math.round(Number(l.split(" ")[0]) * 1e6)) * 1000n);
      return { ...t, stampsNs };
    };

    // GNSS: ENU about the first fix → WGS84 → ENU about the truth origin (the odom frame)
    const gps = await read("gps:/gps/fix");
    const gpsFrame = enuFrameAt(origin);
    const odomFrame = enuFrameAt(truth.origin);
    let sumSq = 0;
    let count = 0;
    for (let i = 0; i < gps.timestampsSecs.length; i++) {
      const expected = truthAt(gps.stampsNs[i] as bigint);
      if (!expected) continue;
      const inOdom = enuFromGeodetic(
        odomFrame,
        geodeticFromEnu(gpsFrame, {
          x: gps.positions[3 * i] as number,
          y: gps.positions[3 * i + 1] as number,
          z: gps.positions[3 * i + 2] as number,
        }),
      );
      sumSq += (inOdom.x - expected.x) ** 2 + (inOdom.y - expected.y) ** 2;
      count++;
    }
    expect(count).toBeGreaterThan(60);
    const horizontalRmseM = Math.sqrt(sumSq / count);
    expect(horizontalRmseM).toBeLessThan(0.5);

    // TF: base_link in odom, exactly the generator's path at the truth sample times
    const tf = await read("tf:odom->base_link");
    let maxErrorM = 0;
    for (let i = 0; i < tf.timestampsSecs.length; i++) {
      const stamp = tf.stampsNs[i] as bigint;
      if ((stamp - startNs) % periodNs !== 0n) continue;
      const expected = truthAt(stamp);
      if (!expected) continue;
      maxErrorM = Math.max(
        maxErrorM,
        Math.hypot(
          (tf.positions[3 * i] as number) - expected.x,
          (tf.positions[3 * i + 1] as number) - expected.y,
        ),
      );
    }
    // the sidecar writes positions to 0.1 mm
    expect(maxErrorM).toBeLessThan(1e-4);
  });
});
