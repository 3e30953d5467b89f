import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLog } from "../../formats/index.ts";
import { type GenerateCaptureResult, generateCapture } from "./index.ts";
import {
  agentAt,
  applyRigid,
  composeRigid,
  distanceToBoxSurface,
  hullSpanAtRow,
  invertRigid,
  type Msg,
  type ReadMessage,
  type Rigid,
  readMessages,
  readTruth,
  rigidOf,
  stampNs,
} from "./test-helpers.ts";
import type { CaptureTruth } from "./truth.ts";

const dir = mkdtempSync(join(tmpdir(), "strata-synth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha256 = (path: string): string => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("MCAP capture (ROS 2, CDR)", () => {
  let result: GenerateCaptureResult;
  let truth: CaptureTruth;
  let messages: ReadMessage[];

  beforeAll(async () => {
    result = await generateCapture({ outPath: join(dir, "clean.mcap"), seconds: 8, seed: 1 });
    truth = await readTruth(result.truthPath);
    messages = await readMessages(result.path);
  }, 180_000);

  it("reads back with the formats reader: ROS 2 profile, ros2msg schemas, zstd chunks", async () => {
    const reader = await openLog(result.path);
    const summary = await reader.summary();
    await reader.close();
    expect(summary.format).toBe("mcap");
    expect(summary.profile).toBe("ros2");
    expect(summary.schemas.map((s) => s.encoding)).toEqual(summary.schemas.map(() => "ros2msg"));
    expect(summary.schemas.map((s) => s.name)).toContain("sensor_msgs/msg/PointCloud2");
    expect(summary.schemas.map((s) => s.name)).toContain("strata_msgs/msg/ObjectArray");
    expect(new Set(summary.channels.map((c) => c.messageEncoding))).toEqual(new Set(["cdr"]));
    expect(summary.messageCount).toBe(BigInt(result.messageCount));
    // The custom type carries its full definition, dependencies included.
    const objects = summary.schemas.find((s) => s.name === "strata_msgs/msg/ObjectArray");
    const text = new TextDecoder().decode(objects?.data);
    expect(text).toContain("MSG: strata_msgs/Object");
    expect(text).toContain("MSG: geometry_msgs/Quaternion");
    const bytes = readFileSync(result.path);
    expect(bytes.includes(Buffer.from("zstd"))).toBe(true);
  });

  it("decodes every message, with the per-topic counts the sidecar states", () => {
    expect(messages.length).toBe(result.messageCount);
    for (const m of messages) expect(m.decoded, m.topic).toBeDefined();
    const counts = new Map<string, number>();
    for (const m of messages) counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
    for (const t of truth.topics) expect(counts.get(t.topic) ?? 0, t.topic).toBe(t.messageCount);
    expect(counts.get("/imu")).toBe(8 * 200);
    expect(counts.get("/odom")).toBe(8 * 50);
    expect(counts.get("/lidar/points")).toBe(80);
    expect(counts.get("/camera_front/image/compressed")).toBe(80);
    expect(counts.get("/gps/fix")).toBe(80);
  });

  it("JPEG images decode to 640×400 and match camera_info", () => {
    const infos = messages.filter((m) => m.topic.endsWith("/camera_info"));
    for (const info of infos) {
      const d = info.decoded as Msg;
      expect([d.width, d.height]).toEqual([640, 400]);
      expect(d.distortion_model).toBe("plumb_bob");
    }
    const images = messages.filter((m) => m.topic.endsWith("/image/compressed"));
    expect(images.length).toBe(160);
    for (const image of images) {
      const d = image.decoded as Msg;
      expect(d.format).toBe("jpeg");
      const decoded = jpeg.decode(d.data as Uint8Array, { useTArray: true });
      expect([decoded.width, decoded.height]).toEqual([640, 400]);
    }
  });

  it("a ground-truth kiosk corner projects, through camera_info and TF, within 2 px of where it was drawn", () => {
    const tfStatic = messages.find((m) => m.topic === "/tf_static")?.decoded as Msg;
    const baseFrom = new Map<string, Rigid>(
      tfStatic.transforms.map((t: Msg) => [t.child_frame_id, rigidOf(t.transform)]),
    );
    const odomFromBaseAt = new Map<bigint, Rigid>();
    for (const m of messages) {
      if (m.topic !== "/tf") continue;
      const t = (m.decoded as Msg).transforms[0];
      odomFromBaseAt.set(stampNs(t.header.stamp), rigidOf(t.transform));
    }
    const kiosks = truth.town.boxes.filter((b) => b.kind === "kiosk");
    expect(kiosks.length).toBeGreaterThan(0);
    let checked = 0;
    for (const cameraName of ["camera_front", "camera_left"]) {
      const infos = messages.filter((m) => m.topic === `/${cameraName}/camera_info`);
      const images = messages.filter((m) => m.topic === `/${cameraName}/image/compressed`);
      for (let i = 0; i < images.length; i++) {
        const info = infos[i]?.decoded as Msg;
        const image = images[i]?.decoded as Msg;
        const [fx, , cx, , fy, cy] = Array.from(info.k as ArrayLike<number>) as [
          number,
          number,
          number,
          number,
          number,
          number,
        ];
        const stamp = stampNs(image.header.stamp);
        const odomFromBase = odomFromBaseAt.get(stamp);
        const baseFromCamera = baseFrom.get(image.header.frame_id);
        if (!odomFromBase || !baseFromCamera)
          throw new Error(`no TF for ${image.header.frame_id} at ${stamp}`);
        const cameraFromOdom = invertRigid(composeRigid(odomFromBase, baseFromCamera));
        let decoded: { width: number; height: number; data: Uint8Array } | undefined;
        for (const kiosk of kiosks) {
          const us: number[] = [];
          const vs: number[] = [];
          let usable = true;
          for (const sx of [-1, 1]) {
            for (const sy of [-1, 1]) {
              for (const z of [0, kiosk.size.height]) {
                const p = applyRigid(cameraFromOdom, [
                  kiosk.center.x + (sx * kiosk.size.length) / 2,
                  kiosk.center.y + (sy * kiosk.size.width) / 2,
                  z,
                ]);
                if (p[2] < 2) usable = false;
                us.push((fx * p[0]) / p[2] + cx);
                vs.push((fy * p[1]) / p[2] + cy);
              }
            }
          }
          if (!usable) continue;
          const [u0, u1, v0, v1] = [Math.min(...us), Math.max(...us), Math.min(...vs), Math.max(...vs)];
          if (u0 < 4 || v0 < 4 || u1 > 635 || v1 > 395 || u1 - u0 < 6 || v1 - v0 < 12) continue;
          decoded ??= jpeg.decode(image.data as Uint8Array, { useTArray: true });
          // Magenta pixels in a window around the projected box.
          const magenta = (x: number, y: number): boolean => {
            const o = (y * decoded!.width + x) * 4;
            return (
              (decoded!.data[o] as number) > 160 &&
              (decoded!.data[o + 2] as number) > 160 &&
              (decoded!.data[o + 1] as number) < 110
            );
          };
          let top = Number.POSITIVE_INFINITY;
          let count = 0;
          for (let y = Math.floor(v0) - 4; y <= Math.ceil(v1) + 4; y++) {
            for (let x = Math.floor(u0) - 4; x <= Math.ceil(u1) + 4; x++) {
              if (!magenta(x, y)) continue;
              count++;
              top = Math.min(top, y);
            }
          }
          if (count < 30) continue; // hidden behind a building
          // A row a quarter down from the top (~2.4 m above ground): the kiosk is taller than any car
          // or person that could stand in front of it, so that row is seen whole unless a building
          // cuts it; its side edges there are steep, so 4:2:0 chroma blurs them by ≤ 1 px.
          const row = Math.round(v0 + 0.25 * (v1 - v0));
          let left = Number.POSITIVE_INFINITY;
          let right = Number.NEGATIVE_INFINITY;
          for (let x = Math.floor(u0) - 4; x <= Math.ceil(u1) + 4; x++) {
            if (!magenta(x, row)) continue;
            left = Math.min(left, x);
            right = Math.max(right, x);
          }
          // Where the projected box (convex hull of its 8 corners) crosses that row.
          const span = hullSpanAtRow(
            us.map((u, k) => [u, vs[k] as number]),
            row,
          );
          if (!span || right + 1 - left < 0.8 * (span[1] - span[0])) continue; // partly behind a building edge
          if (process.env.SYNTH_DEBUG) {
            console.log(
              cameraName,
              i,
              kiosk.boxId,
              "top",
              top,
              v0.toFixed(2),
              "row",
              row,
              "left/right",
              left,
              right + 1,
              "span",
              span.map((v) => v.toFixed(2)).join(" "),
            );
            for (let y = top - 2; y <= top + 6; y++) {
              let line = "";
              for (let x = Math.floor(u0) - 4; x <= Math.ceil(u1) + 4; x++) line += magenta(x, y) ? "#" : ".";
              console.log(String(y).padStart(4), line);
            }
          }
          // The rasteriser covers pixel centres i with u0 ≤ i < u1 (and rows likewise).
          expect(Math.abs(top - v0), `${cameraName} top edge`).toBeLessThanOrEqual(2);
          expect(Math.abs(left - span[0]), `${cameraName} left edge`).toBeLessThanOrEqual(2);
          expect(Math.abs(right + 1 - span[1]), `${cameraName} right edge`).toBeLessThanOrEqual(2);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it("point clouds carry the declared fields and their points lie on the surfaces they hit", () => {
    const tfStatic = messages.find((m) => m.topic === "/tf_static")?.decoded as Msg;
    const baseFromLidar = rigidOf(
      tfStatic.transforms.find((t: Msg) => t.child_frame_id === "lidar").transform,
    );
    const odomFromBaseAt = new Map<bigint, Rigid>();
    for (const m of messages) {
      if (m.topic !== "/tf") continue;
      const t = (m.decoded as Msg).transforms[0];
      odomFromBaseAt.set(stampNs(t.header.stamp), rigidOf(t.transform));
    }
    const scans = messages.filter((m) => m.topic === "/lidar/points");
    let sampled = 0;
    let worst = 0;
    let onBoxes = 0;
    for (const [index, scan] of scans.entries()) {
      const cloud = scan.decoded as Msg;
      expect(cloud.fields.map((f: Msg) => [f.name, f.offset, f.datatype, f.count])).toEqual([
        ["x", 0, 7, 1],
        ["y", 4, 7, 1],
        ["z", 8, 7, 1],
        ["intensity", 12, 7, 1],
        ["ring", 16, 4, 1],
      ]);
      expect(cloud.height).toBe(1);
      expect(cloud.is_bigendian).toBe(false);
      expect(cloud.row_step).toBe(cloud.width * cloud.point_step);
      expect((cloud.data as Uint8Array).byteLength).toBe(cloud.width * cloud.point_step);
      expect(cloud.width).toBeGreaterThan(30_000);
      if (index % 20 !== 5) continue;
      const stamp = stampNs(cloud.header.stamp);
      const odomFromBase = odomFromBaseAt.get(stamp);
      if (!odomFromBase) throw new Error(`no /tf at ${stamp}`);
      const odomFromLidar = composeRigid(odomFromBase, baseFromLidar);
      const boxes = [
        ...truth.town.boxes.map((b) => ({ x: b.center.x, y: b.center.y, yaw: b.yawRad, ...b.size })),
        ...truth.agents.flatMap((a) => {
          const p = agentAt(a, stamp);
          return p ? [{ ...p, ...a.size }] : [];
        }),
      ];
      const data = cloud.data as Uint8Array;
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let i = 0; i < cloud.width; i += 23) {
        const o = i * cloud.point_step;
        const local: [number, number, number] = [
          view.getFloat32(o, true),
          view.getFloat32(o + 4, true),
          view.getFloat32(o + 8, true),
        ];
        const intensity = view.getFloat32(o + 12, true);
        const ring = view.getUint16(o + 16, true);
        expect(intensity).toBeGreaterThanOrEqual(0);
        expect(intensity).toBeLessThanOrEqual(255);
        expect(ring).toBeLessThan(32);
        const p = applyRigid(odomFromLidar, local);
        let best = Math.abs(p[2]);
        let onBox = false;
        for (const box of boxes) {
          if (Math.abs(box.x - p[0]) > 60 || Math.abs(box.y - p[1]) > 60) continue;
          const d = distanceToBoxSurface(p, box);
          if (d < best) {
            best = d;
            onBox = true;
          }
        }
        worst = Math.max(worst, best);
        if (onBox) onBoxes++;
        sampled++;
      }
    }
    expect(sampled).toBeGreaterThan(5000);
    expect(onBoxes).toBeGreaterThan(500);
    expect(worst).toBeLessThan(0.06);
  });
});

describe("ROS 1 bag capture", () => {
  let result: GenerateCaptureResult;
  let truth: CaptureTruth;

  beforeAll(async () => {
    result = await generateCapture({ outPath: join(dir, "clean.bag"), seconds: 4, seed: 2, format: "bag" });
    truth = await readTruth(result.truthPath);
  }, 120_000);

  it("reads back and decodes with the formats reader, ROS 1 types with md5 and definitions", async () => {
    const reader = await openLog(result.path);
    const summary = await reader.summary();
    await reader.close();
    expect(summary.format).toBe("ros1");
    expect(summary.schemas.map((s) => s.name)).toContain("sensor_msgs/Imu");
    expect(summary.schemas.map((s) => s.name)).toContain("strata_msgs/ObjectArray");
    const messages = await readMessages(result.path);
    expect(messages.length).toBe(result.messageCount);
    for (const m of messages) expect(m.decoded, m.topic).toBeDefined();
    const info = messages.find((m) => m.topic === "/camera_left/camera_info")?.decoded as Msg;
    expect(Array.from(info.K as ArrayLike<number>)).toEqual(truth.calibration.cameras[1]?.k);
    expect(typeof (messages.find((m) => m.topic === "/imu")?.decoded as Msg).header.seq).toBe("number");
  });

  it("has the same per-topic counts when read by Debian's python3-rosbag", () => {
    const python = ["/usr/bin/python3", "python3"].find(
      (exe) => spawnSync(exe, ["-c", "import rosbag"], { stdio: "ignore" }).status === 0,
    );
    if (!python) {
      console.log(
        "python3-rosbag is not installed (apt-get install -y python3-rosbag): per-topic counts not cross-checked",
      );
      return;
    }
    const script = [
      "import json, sys, rosbag",
      "bag = rosbag.Bag(sys.argv[1])",
      "info = bag.get_type_and_topic_info()",
      "counts = {t: v.message_count for t, v in info.topics.items()}",
      "decoded = sum(1 for _ in bag.read_messages())",
      "print(json.dumps({'counts': counts, 'decoded': decoded, 'types': {t: v.msg_type for t, v in info.topics.items()}}))",
    ].join("\n");
    const out = JSON.parse(
      execFileSync(python, ["-c", script, result.path], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }),
    ) as {
      counts: Record<string, number>;
      decoded: number;
      types: Record<string, string>;
    };
    expect(out.counts).toEqual(Object.fromEntries(truth.topics.map((t) => [t.topic, t.messageCount])));
    expect(out.decoded).toBe(result.messageCount);
    expect(out.types["/perception/objects"]).toBe("strata_msgs/ObjectArray");
  });
});

describe("determinism", () => {
  it("the same arguments give the same bytes; another seed gives another town and other events", async () => {
    const a = await generateCapture({
      outPath: join(dir, "a.mcap"),
      seconds: 8,
      seed: 3,
      faults: ["epoch0", "gps-jump"],
    });
    const b = await generateCapture({
      outPath: join(dir, "b.mcap"),
      seconds: 8,
      seed: 3,
      faults: ["gps-jump", "epoch0"],
      workerThreads: false,
    });
    const c = await generateCapture({
      outPath: join(dir, "c.mcap"),
      seconds: 8,
      seed: 8,
      faults: ["epoch0", "gps-jump"],
    });
    expect(sha256(a.path)).toBe(sha256(b.path));
    expect(sha256(a.truthPath)).toBe(sha256(b.truthPath));
    expect(sha256(c.path)).not.toBe(sha256(a.path));
    const [ta, tc] = [await readTruth(a.truthPath), await readTruth(c.truthPath)];
    expect(tc.town.roadsX).not.toEqual(ta.town.roadsX);
    expect(ta.events.length).toBeGreaterThan(0);
    expect(tc.events.length).toBeGreaterThan(0);
    expect(tc.events.map((e) => [e.kind, e.startNs])).not.toEqual(ta.events.map((e) => [e.kind, e.startNs]));
  }, 180_000);
});
