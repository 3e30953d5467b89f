/**
 * The sidecar's events and faults against the data itself: every check decodes the capture and
 * looks for what the sidecar says is there (never the generator's variables).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enuFrameAt, enuFromGeodetic } from "../../core/index.ts";
import { openLog } from "../../formats/index.ts";
import { FAULT_KINDS, generateCapture, SCRIPTED_EVENTS } from "./index.ts";
import { type Msg, readTruth, stampNs, yawOf } from "./test-helpers.ts";
import type { CaptureTruth, TruthEvent, TruthFault } from "./truth.ts";

const dir = mkdtempSync(join(tmpdir(), "strata-synth-truth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Stamped {
  logTimeNs: bigint;
  stampNs: bigint;
  msg: Msg;
  bytes: Uint8Array;
}

let truth: CaptureTruth;
const byTopic = new Map<string, Stamped[]>();
let lidarTimes: bigint[] = [];

const topic = (name: string): Stamped[] => byTopic.get(name) ?? [];
const secs = (ns: bigint): number => Number(ns - BigInt(truth.startTimeNs)) / 1e9;
const fault = (kind: string): TruthFault => {
  const f = truth.faults.find((x) => x.kind === kind);
  if (!f) throw new Error(`no ${kind} fault in the sidecar`);
  return f;
};
const events = (kind: string): TruthEvent[] => truth.events.filter((e) => e.kind === kind);
const within = (t: bigint, startNs: string, endNs: string): boolean =>
  t >= BigInt(startNs) && t <= BigInt(endNs);

/** Odometry speed, its central-difference derivative and yaw, one row per /odom message (duplicates dropped). */
function odomSeries(): Array<{
  t: bigint;
  v: number;
  a: number;
  yaw: number;
  yawRate: number;
  x: number;
  y: number;
}> {
  const seen = new Set<bigint>();
  const rows = topic("/odom").filter((m) => !seen.has(m.logTimeNs) && seen.add(m.logTimeNs));
  return rows.map((m, i) => {
    const prev = rows[Math.max(0, i - 1)] as Stamped;
    const next = rows[Math.min(rows.length - 1, i + 1)] as Stamped;
    const dt = Number(next.logTimeNs - prev.logTimeNs) / 1e9;
    const a = dt > 0 ? (next.msg.twist.twist.linear.x - prev.msg.twist.twist.linear.x) / dt : 0;
    return {
      t: m.logTimeNs,
      v: m.msg.twist.twist.linear.x,
      a,
      yaw: yawOf(m.msg.pose.pose.orientation),
      yawRate: m.msg.twist.twist.angular.z,
      x: m.msg.pose.pose.position.x,
      y: m.msg.pose.pose.position.y,
    };
  });
}

/** A perceived track's positions (base_link) inside a window. */
function track(
  trackId: number,
  startNs: bigint,
  endNs: bigint,
): Array<{ t: bigint; x: number; y: number; cls: string }> {
  const out: Array<{ t: bigint; x: number; y: number; cls: string }> = [];
  for (const m of topic("/perception/objects")) {
    if (m.stampNs < startNs || m.stampNs > endNs) continue;
    for (const o of m.msg.objects) {
      if (o.track_id === trackId)
        out.push({ t: m.stampNs, x: o.pose.position.x, y: o.pose.position.y, cls: o.class_name });
    }
  }
  return out;
}

beforeAll(async () => {
  const result = await generateCapture({
    outPath: join(dir, "faulty.mcap"),
    seconds: 61,
    seed: 5,
    faults: [...FAULT_KINDS],
  });
  truth = await readTruth(result.truthPath);
  const reader = await openLog(result.path);
  try {
    const wanted = [
      "/odom",
      "/imu",
      "/gps/fix",
      "/tf_static",
      "/perception/objects",
      "/camera_front/image/compressed",
      "/camera_front/camera_info",
    ];
    for await (const m of reader.messages({ topics: wanted, decode: true })) {
      const msg = m.decoded as Msg;
      const header = msg.header ?? msg.transforms?.[0]?.header;
      const list = byTopic.get(m.topic) ?? [];
      list.push({
        logTimeNs: m.logTimeNs,
        stampNs: stampNs(header.stamp),
        msg: m.topic.endsWith("compressed") ? { header } : msg,
        bytes: m.topic === "/imu" || m.topic === "/odom" ? m.data : new Uint8Array(),
      });
      byTopic.set(m.topic, list);
    }
    const summary = await reader.summary();
    const lidarChannel = summary.channels.find((c) => c.topic === "/lidar/points")?.id;
    for await (const batch of reader.timestamps()) {
      for (const stamp of batch) if (stamp.channelId === lidarChannel) lidarTimes.push(stamp.logTimeNs);
    }
  } finally {
    await reader.close();
  }
  lidarTimes = lidarTimes.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}, 600_000);

describe("sidecar events match the decoded data", () => {
  it("lists every scripted event kind with windows inside the capture", () => {
    expect(new Set(truth.events.map((e) => e.kind))).toEqual(
      new Set([...SCRIPTED_EVENTS, ...truth.events.filter((e) => e.kind === "turn").map(() => "turn")]),
    );
    for (const e of truth.events) {
      expect(BigInt(e.startNs)).toBeLessThan(BigInt(e.endNs));
      expect(BigInt(e.startNs)).toBeGreaterThanOrEqual(BigInt(truth.startTimeNs));
      expect(BigInt(e.endNs)).toBeLessThanOrEqual(BigInt(truth.endTimeNs));
    }
  });

  it("hard braking: /odom decelerates harder than −4 m/s² inside the window, not before it", () => {
    const odom = odomSeries();
    for (const e of events("hard-braking")) {
      const inside = odom.filter((r) => within(r.t, e.startNs, e.endNs));
      expect(Math.min(...inside.map((r) => r.a))).toBeLessThan(-4);
      const before = odom.filter(
        (r) => r.t < BigInt(e.startNs) - 200_000_000n && r.t > BigInt(e.startNs) - 2_000_000_000n,
      );
      expect(Math.min(...before.map((r) => r.a))).toBeGreaterThan(-4);
    }
  });

  it("intersection stop: the robot is at rest for over a second inside the window", () => {
    const odom = odomSeries();
    for (const e of events("intersection-stop")) {
      const still = odom.filter((r) => within(r.t, e.startNs, e.endNs) && Math.abs(r.v) < 0.01);
      expect(still.length * 0.02).toBeGreaterThan(1);
      expect(odom.find((r) => r.t >= BigInt(e.startNs))?.v).toBeGreaterThan(3);
    }
  });

  it("U-turn: the heading turns by 180° across the window", () => {
    const odom = odomSeries();
    for (const e of events("u-turn")) {
      const inside = odom.filter((r) => within(r.t, e.startNs, e.endNs));
      let turned = 0;
      for (let i = 1; i < inside.length; i++) {
        let d = (inside[i]?.yaw ?? 0) - (inside[i - 1]?.yaw ?? 0);
        if (d > Math.PI) d -= 2 * Math.PI;
        if (d < -Math.PI) d += 2 * Math.PI;
        turned += d;
      }
      expect(Math.abs(Math.abs(turned) - Math.PI)).toBeLessThan(0.15);
    }
  });

  it("pedestrian crossing: the perceived pedestrian is on the road right ahead while the robot stops", () => {
    const odom = odomSeries();
    for (const e of events("pedestrian-crossing")) {
      expect(e.trackId).toBeDefined();
      const seen = track(e.trackId as number, BigInt(e.startNs), BigInt(e.endNs));
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((p) => p.cls === "pedestrian")).toBe(true);
      expect(seen.some((p) => p.x > 3 && p.x < 20 && Math.abs(p.y) < 2)).toBe(true);
      const stopped = odom.filter((r) => within(r.t, e.startNs, e.endNs) && r.v < 0.01);
      expect(stopped.length).toBeGreaterThan(0);
    }
  });

  it("cut-in: the perceived car moves from the next lane into the robot's lane ahead of it", () => {
    for (const e of events("cut-in")) {
      const seen = track(
        e.trackId as number,
        BigInt(e.startNs) - 100_000_000n,
        BigInt(e.endNs) + 100_000_000n,
      );
      const first = seen[0];
      const last = seen[seen.length - 1];
      if (!first || !last) throw new Error("cut-in car not perceived");
      expect(first.cls).toBe("car");
      expect(first.y).toBeGreaterThan(2.8);
      expect(Math.abs(last.y)).toBeLessThan(0.6);
      expect(last.x).toBeGreaterThan(4);
    }
  });

  it("cyclist overtaking: the perceived cyclist goes from ahead to behind the robot", () => {
    for (const e of events("cyclist-overtaking")) {
      const seen = track(e.trackId as number, BigInt(e.startNs), BigInt(e.endNs));
      expect(seen[0]?.cls).toBe("cyclist");
      expect(seen[0]?.x).toBeGreaterThan(5);
      expect(seen[seen.length - 1]?.x).toBeLessThan(-3);
      // Passed on the left: the cyclist is to the robot's right while alongside.
      const alongside = seen.filter((p) => Math.abs(p.x) < 2);
      expect(alongside.length).toBeGreaterThan(0);
      expect(alongside.every((p) => p.y < -2)).toBe(true);
    }
  });
});

describe("sidecar faults match the decoded data", () => {
  it("lidar dropout: the only gap in /lidar/points log times is the window", () => {
    const f = fault("lidar-dropout");
    const gaps: Array<[bigint, bigint]> = [];
    for (let i = 1; i < lidarTimes.length; i++) {
      const a = lidarTimes[i - 1] as bigint;
      const b = lidarTimes[i] as bigint;
      if (b - a > 150_000_000n) gaps.push([a, b]);
    }
    expect(gaps).toEqual([[BigInt(f.startNs) - 100_000_000n, BigInt(f.endNs)]]);
    expect(lidarTimes.some((t) => t >= BigInt(f.startNs) && t < BigInt(f.endNs))).toBe(false);
  });

  it("camera skew: header stamp − log time equals the magnitude inside the window, 0 outside", () => {
    const f = fault("camera-skew");
    const offsetNs = BigInt(f.magnitude.offsetMs as number) * 1_000_000n;
    expect(offsetNs).not.toBe(0n);
    for (const name of ["/camera_front/image/compressed", "/camera_front/camera_info"]) {
      const list = topic(name);
      const inside = list.filter((m) => m.logTimeNs >= BigInt(f.startNs) && m.logTimeNs < BigInt(f.endNs));
      expect(inside.length).toBeGreaterThan(0);
      for (const m of inside) expect(m.stampNs - m.logTimeNs).toBe(offsetNs);
      for (const m of list) if (!inside.includes(m)) expect(m.stampNs).toBe(m.logTimeNs);
    }
  });

  it("epoch0: exactly the listed messages carry a zero header stamp", () => {
    const f = fault("epoch0");
    for (const name of ["/imu", "/gps/fix"]) {
      // Unique log times: an epoch-0 message may also fall in the duplicates window.
      const zero = [
        ...new Set(
          topic(name)
            .filter((m) => m.stampNs === 0n)
            .map((m) => m.logTimeNs.toString()),
        ),
      ];
      expect(zero.length).toBeGreaterThan(0);
      expect(zero).toEqual(f.logTimesNs?.[name]);
    }
  });

  it("duplicates: /imu and /odom messages in the window appear twice with the same bytes, nowhere else", () => {
    const f = fault("duplicates");
    for (const name of ["/imu", "/odom"]) {
      const byTime = new Map<bigint, Stamped[]>();
      for (const m of topic(name)) byTime.set(m.logTimeNs, [...(byTime.get(m.logTimeNs) ?? []), m]);
      const doubled = [...byTime.entries()].filter(([, list]) => list.length > 1);
      expect(doubled.length).toBeGreaterThan(0);
      for (const [t, list] of doubled) {
        expect(t >= BigInt(f.startNs) && t < BigInt(f.endNs)).toBe(true);
        expect(list.length).toBe(2);
        expect(Buffer.from(list[0]?.bytes ?? []).equals(Buffer.from(list[1]?.bytes ?? []))).toBe(true);
      }
      const periodNs = name === "/imu" ? 5_000_000n : 20_000_000n;
      expect(BigInt(doubled.length)).toBe((BigInt(f.endNs) - BigInt(f.startNs)) / periodNs);
    }
  });

  it("IMU bias jump: accelerometer and gyro residuals against /odom step by the magnitude", () => {
    const f = fault("imu-bias");
    const jumpNs = BigInt(f.startNs);
    const odom = new Map(odomSeries().map((r) => [r.t, r]));
    const residuals = (fromNs: bigint, toNs: bigint): { accel: number; gyro: number } => {
      let accel = 0;
      let gyro = 0;
      let n = 0;
      for (const m of topic("/imu")) {
        if (m.logTimeNs < fromNs || m.logTimeNs >= toNs) continue;
        const o = odom.get(m.logTimeNs);
        if (!o) continue;
        accel += m.msg.linear_acceleration.x - o.a;
        gyro += m.msg.angular_velocity.z - o.yawRate;
        n++;
      }
      return { accel: accel / n, gyro: gyro / n };
    };
    const before = residuals(jumpNs - 4_000_000_000n, jumpNs);
    const after = residuals(jumpNs, jumpNs + 4_000_000_000n);
    expect(after.accel - before.accel).toBeCloseTo(f.magnitude.accelXMps2 as number, 1);
    expect(Math.abs(after.gyro - before.gyro - (f.magnitude.gyroZRadps as number))).toBeLessThan(0.003);
  });

  it("GPS jump: fixes are off by the magnitude inside the window and within noise outside", () => {
    const f = fault("gps-jump");
    const frame = enuFrameAt(truth.origin);
    const odom = new Map(odomSeries().map((r) => [r.t, r]));
    const lever = truth.calibration.gps.baseFromGps.translation;
    let insideCount = 0;
    for (const m of topic("/gps/fix")) {
      const o = odom.get(m.logTimeNs);
      if (!o) throw new Error("no /odom beside a fix");
      const enu = enuFromGeodetic(frame, {
        latitudeDeg: m.msg.latitude,
        longitudeDeg: m.msg.longitude,
        altitudeM: m.msg.altitude,
      });
      const antennaX = o.x + Math.cos(o.yaw) * lever.x - Math.sin(o.yaw) * lever.y;
      const antennaY = o.y + Math.sin(o.yaw) * lever.x + Math.cos(o.yaw) * lever.y;
      const error = Math.hypot(enu.x - antennaX, enu.y - antennaY);
      if (m.logTimeNs >= BigInt(f.startNs) && m.logTimeNs < BigInt(f.endNs)) {
        insideCount++;
        expect(Math.abs(error - (f.magnitude.metres as number))).toBeLessThan(1.5);
      } else {
        expect(error).toBeLessThan(1.5);
        expect(Math.abs(enu.z - lever.z)).toBeLessThan(3);
      }
    }
    expect(insideCount).toBeGreaterThan(0);
  });

  it("calibration drift: a second /tf_static at the window start turns camera_front by the magnitude", () => {
    const f = fault("calib-drift");
    const statics = topic("/tf_static");
    expect(statics.map((m) => m.logTimeNs)).toEqual([BigInt(truth.startTimeNs), BigInt(f.startNs)]);
    const rotationOf = (m: Stamped | undefined, child: string): Msg =>
      m?.msg.transforms.find((t: Msg) => t.child_frame_id === child).transform.rotation;
    const a = rotationOf(statics[0], "camera_front_optical");
    const b = rotationOf(statics[1], "camera_front_optical");
    const dot = Math.abs(a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w);
    const angleDeg = (2 * Math.acos(Math.min(1, dot)) * 180) / Math.PI;
    expect(angleDeg).toBeCloseTo(f.magnitude.angleDeg as number, 4);
    expect(rotationOf(statics[1], "camera_left_optical")).toEqual(
      rotationOf(statics[0], "camera_left_optical"),
    );
    expect(secs(BigInt(f.startNs))).toBeGreaterThan(20);
  });
});
