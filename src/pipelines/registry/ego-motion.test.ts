import { describe, expect, it } from "vitest";
import { enuFrameAt, geodeticFromEnu, quatFromRpy, quatRotate } from "../../core/index.ts";
import {
  baseTrackFromAntenna,
  EgoMotionCollector,
  headerStampNs,
  PoseColumns,
  parseTfSpec,
  registryMessageKind,
} from "./ego-motion.ts";

const S = 1_000_000_000n;
const ros2Header = (ns: bigint, frame: string) => ({
  stamp: { sec: Number(ns / S), nanosec: Number(ns % S) },
  frame_id: frame,
});
const tfMessage = (ns: bigint, parent: string, child: string, x: number, y: number, yawRad: number) => ({
  transforms: [
    {
      header: ros2Header(ns, parent),
      child_frame_id: child,
      transform: { translation: { x, y, z: 0 }, rotation: quatFromRpy(0, 0, yawRad) },
    },
  ],
});

describe("registryMessageKind", () => {
  it("knows ROS 1 and ROS 2 spellings and tells /tf_static by name", () => {
    expect(registryMessageKind("/tf", "tf2_msgs/msg/TFMessage")).toBe("tf");
    expect(registryMessageKind("/tf", "tf/tfMessage")).toBe("tf");
    expect(registryMessageKind("/tf_static", "tf2_msgs/TFMessage")).toBe("tf-static");
    expect(registryMessageKind("/cam/camera_info", "sensor_msgs/msg/CameraInfo")).toBe("camera-info");
    expect(registryMessageKind("/odom", "nav_msgs/Odometry")).toBe("odometry");
    expect(registryMessageKind("/p", "geometry_msgs/msg/PoseWithCovarianceStamped")).toBe(
      "pose-with-covariance",
    );
    expect(registryMessageKind("/fix", "sensor_msgs/msg/NavSatFix")).toBe("navsatfix");
    expect(registryMessageKind("/imu", "sensor_msgs/msg/Imu")).toBeUndefined();
  });
});

describe("headerStampNs", () => {
  it("reads ROS 1 nsec and ROS 2 nanosec, and falls back to the log time for a zero stamp", () => {
    expect(headerStampNs({ stamp: { sec: 12, nsec: 5 } }, 1n)).toBe(12_000_000_005n);
    expect(headerStampNs({ stamp: { sec: 12, nanosec: 7 } }, 1n)).toBe(12_000_000_007n);
    expect(headerStampNs({ stamp: { sec: 0, nanosec: 0 } }, 99n)).toBe(99n);
    expect(headerStampNs(undefined, 42n)).toBe(42n);
  });
});

describe("parseTfSpec", () => {
  it("accepts evo's /tf:parent.child and tf:parent->child", () => {
    expect(parseTfSpec("/tf:map.base_link")).toEqual({ parentFrame: "map", childFrame: "base_link" });
    expect(parseTfSpec("tf:odom->base_footprint")).toEqual({
      parentFrame: "odom",
      childFrame: "base_footprint",
    });
    expect(parseTfSpec("/odom")).toBeUndefined();
  });
});

describe("PoseColumns", () => {
  it("orders by stamp (stable) and drops duplicated stamps on request", () => {
    const c = new PoseColumns();
    for (let i = 0; i < 600; i++) c.push(BigInt(1000 - i), i, 0, 0, 0, 0, 0, 1);
    c.push(500n, -1, 0, 0, 0, 0, 0, 1); // same stamp as an earlier pose
    const sorted = c.toTrajectory();
    expect(sorted.timestampsSecs.length).toBe(601);
    expect(Array.from(sorted.timestampsNs ?? [], Number)).toEqual(
      [...Array.from({ length: 600 }, (_, i) => 401 + i), 500].sort((a, b) => a - b),
    );
    const deduped = c.toTrajectory({ dropDuplicateStamps: true });
    expect(deduped.timestampsSecs.length).toBe(600);
    // stamp 500 came first from i = 500 (x = 500), then the duplicate (x = −1): the first stays
    const at = Array.from(deduped.timestampsNs ?? []).indexOf(500n);
    expect(deduped.positions[3 * at]).toBe(500);
  });
});

describe("EgoMotionCollector", () => {
  it("builds the base trajectory in map from map → odom → base_link, sampled at odom → base_link stamps", () => {
    const ego = new EgoMotionCollector();
    ego.push("tf-static", "/tf_static", tfMessage(0n, "base_link", "lidar", 0.5, 0, 0), 0n);
    // map → odom: a constant 90° yaw and (10, 0) offset, published at 2 Hz from t = 1 s to 9 s
    for (let t = 1; t <= 9; t += 0.5) {
      const ns = BigInt(Math.round(t * 1e9));
      ego.push("tf", "/tf", tfMessage(ns, "map", "odom", 10, 0, Math.PI / 2), ns);
    }
    // odom → base_link: x = t, 10 Hz from 0 to 10 s
    for (let k = 0; k <= 100; k++) {
      const ns = BigInt(k) * 100_000_000n;
      ego.push("tf", "/tf", tfMessage(ns, "odom", "base_link", k / 10, 0, 0), ns);
    }
    const [primary] = ego.finish();
    expect(primary?.source).toBe("tf:map->base_link");
    expect(primary?.frame).toBe("map");
    // only stamps inside the map → odom range resolve (no extrapolation): 1.0 s … 9.0 s
    const stamps = Array.from(primary?.trajectory.timestampsNs ?? []);
    expect(stamps[0]).toBe(1_000_000_000n);
    expect(stamps.at(-1)).toBe(9_000_000_000n);
    expect(primary?.meta.unresolvedSamples).toBe(20);
    // at t = 5 s the base is at odom (5, 0) → map (10, 5)
    const i = stamps.indexOf(5_000_000_000n);
    expect(primary?.trajectory.positions[3 * i]).toBeCloseTo(10, 12);
    expect(primary?.trajectory.positions[3 * i + 1]).toBeCloseTo(5, 12);
  });

  it("falls back to odom when map covers less than half of the samples, and honours fixedFrame", () => {
    const feed = (ego: EgoMotionCollector) => {
      for (let k = 0; k <= 100; k++) {
        const ns = BigInt(k) * 100_000_000n;
        ego.push("tf", "/tf", tfMessage(ns, "odom", "base_footprint", k / 10, 0, 0), ns);
      }
      for (const t of [8, 9]) {
        const ns = BigInt(t) * S;
        ego.push("tf", "/tf", tfMessage(ns, "map", "odom", 0, 0, 0), ns);
      }
    };
    const auto = new EgoMotionCollector();
    feed(auto);
    expect(auto.finish()[0]?.source).toBe("tf:odom->base_footprint");
    const forced = new EgoMotionCollector({ fixedFrame: "map" });
    feed(forced);
    expect(forced.finish()[0]?.trajectory.timestampsSecs.length).toBe(11);
  });

  it("orders odometry before poses before GNSS, and turns fixes into ENU about the first fix", () => {
    const ego = new EgoMotionCollector();
    const origin = { latitudeDeg: 48.1, longitudeDeg: 11.5, altitudeM: 500 };
    const enu = enuFrameAt(origin);
    for (let k = 0; k < 50; k++) {
      const ns = BigInt(k) * 100_000_000n;
      const fix = geodeticFromEnu(enu, { x: k, y: 0, z: 0 });
      ego.push(
        "navsatfix",
        "/gps/fix",
        {
          header: ros2Header(ns, "gps"),
          status: { status: 0 },
          latitude: fix.latitudeDeg,
          longitude: fix.longitudeDeg,
          altitude: fix.altitudeM,
        },
        ns,
      );
      ego.push(
        "pose",
        "/slam/pose",
        {
          header: ros2Header(ns, "map"),
          pose: { position: { x: k, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
        },
        ns,
      );
      ego.push(
        "odometry",
        "/odom",
        {
          header: ros2Header(ns, "odom"),
          child_frame_id: "base_link",
          pose: { pose: { position: { x: k, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } } },
        },
        ns,
      );
    }
    // a fix without a fix is skipped
    ego.push(
      "navsatfix",
      "/gps/fix",
      { header: ros2Header(99n * S, "gps"), status: { status: -1 }, latitude: 0, longitude: 0 },
      99n * S,
    );
    const out = ego.finish();
    expect(out.map((t) => t.source)).toEqual(["odom:/odom", "pose:/slam/pose", "gps:/gps/fix"]);
    const gps = out[2];
    expect(gps?.frame).toBe("enu");
    const gpsOrigin = gps?.meta.origin as typeof origin;
    expect(gpsOrigin.latitudeDeg).toBeCloseTo(origin.latitudeDeg, 12);
    expect(gpsOrigin.longitudeDeg).toBeCloseTo(origin.longitudeDeg, 12);
    expect(gpsOrigin.altitudeM).toBeCloseTo(origin.altitudeM, 6);
    expect(gps?.meta.skippedMessages).toBe(1);
    expect(gps?.trajectory.positions[3 * 49]).toBeCloseTo(49, 6);
    expect(gps?.trajectory.positions[3 * 49 + 1]).toBeCloseTo(0, 6);
  });
});

describe("baseTrackFromAntenna", () => {
  it("removes the lever arm with the heading of the track", () => {
    // driving north-east (yaw 45°) at 10 m/s; antenna 1 m behind and 0.5 m left of the base, 2 m up
    const yaw = Math.PI / 4;
    const lever = { x: -1, y: 0.5, z: 2 };
    const n = 40;
    const stamps = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 100_000_000n);
    const positions = new Float64Array(3 * n);
    const q = quatFromRpy(0, 0, yaw);
    const arm = quatRotate(q, lever);
    for (let i = 0; i < n; i++) {
      const s = i * 1.0; // metres along the track
      positions[3 * i] = s * Math.cos(yaw) + arm.x;
      positions[3 * i + 1] = s * Math.sin(yaw) + arm.y;
      positions[3 * i + 2] = arm.z;
    }
    const antenna = {
      timestampsSecs: Float64Array.from(stamps, (t) => Number(t) / 1e9),
      timestampsNs: stamps,
      timeBase: "seconds" as const,
      positions,
      orientations: new Float64Array(4 * n),
    };
    const { trajectory, headingKnown } = baseTrackFromAntenna(antenna, lever, {
      windowNs: 1_000_000_000n,
      minDistanceM: 2,
    });
    expect(headingKnown).toBe(true);
    for (let i = 0; i < n; i++) {
      expect(trajectory.positions[3 * i]).toBeCloseTo(i * Math.cos(yaw), 9);
      expect(trajectory.positions[3 * i + 1]).toBeCloseTo(i * Math.sin(yaw), 9);
      expect(trajectory.positions[3 * i + 2]).toBeCloseTo(0, 9);
    }
    expect(trajectory.orientations[2]).toBeCloseTo(q.z, 12);
    expect(trajectory.orientations[3]).toBeCloseTo(q.w, 12);
  });

  it("leaves a standing antenna uncorrected (no heading)", () => {
    const stamps = BigInt64Array.of(0n, 100_000_000n);
    const antenna = {
      timestampsSecs: Float64Array.of(0, 0.1),
      timestampsNs: stamps,
      timeBase: "seconds" as const,
      positions: Float64Array.of(1, 2, 3, 1, 2, 3),
      orientations: new Float64Array(8),
    };
    const { trajectory, headingKnown } = baseTrackFromAntenna(
      antenna,
      { x: 1, y: 0, z: 1 },
      { windowNs: 1_000_000_000n, minDistanceM: 2 },
    );
    expect(headingKnown).toBe(false);
    expect(Array.from(trajectory.positions)).toEqual([1, 2, 3, 1, 2, 3]);
  });
});
