/**
 * Log → USD end to end: a synthetic capture is ingested; `strata export usd` (the real CLI) writes a window
 * as `.usda`; the file parses with the strict usda reader; the stage metadata is as documented (Z up,
 * metres, time codes per second); the ego sits at the ground-truth pose of the generator's sidecar at the
 * sampled times (within 3 cm, 0.01 rad); agents carry class and track id and sit at their true positions;
 * cameras have the calibrated field of view and look where the extrinsics point; lidar keyframes are
 * Points prims; lineage and audit are recorded.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStrata, resolveConfig, type Strata } from "../src/app/index.ts";
import {
  type CaptureTruth,
  findPrim,
  generateCapture,
  parseUsda,
  sampleAt,
  type UsdAttribute,
  type UsdPrim,
  type UsdStage,
} from "../src/pipelines/index.ts";
import { json, strata as strataCli, tempDir } from "./helpers.ts";

const SEC = 1_000_000_000n;
const TCPS = 30;

let work: ReturnType<typeof tempDir>;
let home: string;
let strata: Strata;
let truth: CaptureTruth;
let captureId: string;
let windowStartNs: bigint;
let windowEndNs: bigint;
let stage: UsdStage;
let result: { egoSamples: number; agents: number; lidarKeyframes: number; cameras: number; runId: string };

const attr = (prim: UsdPrim | undefined, name: string): UsdAttribute => {
  const a = prim?.attributes.get(name);
  if (!a) throw new Error(`${prim?.path ?? "?"} has no ${name}`);
  return a;
};
const yawOfUsdQuat = ([w, x, y, z]: number[]) =>
  Math.atan2(
    2 * ((w as number) * (z as number) + (x as number) * (y as number)),
    1 - 2 * ((y as number) ** 2 + (z as number) ** 2),
  );
const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));
/** Rotates v by a USD-ordered quaternion (w, x, y, z). */
function rotate([w, x, y, z]: number[], v: [number, number, number]): [number, number, number] {
  const [qw, qx, qy, qz] = [w as number, x as number, y as number, z as number];
  const [vx, vy, vz] = v;
  const tx = 2 * (qy * vz - qz * vy);
  const ty = 2 * (qz * vx - qx * vz);
  const tz = 2 * (qx * vy - qy * vx);
  return [
    vx + qw * tx + (qy * tz - qz * ty),
    vy + qw * ty + (qz * tx - qx * tz),
    vz + qw * tz + (qx * ty - qy * tx),
  ];
}
const timeCodeOf = (tNs: bigint) => (Number(tNs - windowStartNs) * TCPS) / 1e9;

beforeAll(async () => {
  work = tempDir("strata-usd-");
  home = path.join(work.dir, "home");
  strata = await createStrata(resolveConfig({ home }));
  const generated = await generateCapture({
    outPath: path.join(work.dir, "drive.mcap"),
    seconds: 4,
    seed: 7,
  });
  truth = JSON.parse(readFileSync(generated.truthPath, "utf8")) as CaptureTruth;
  const ingested = await strata.ingest(generated.path, { rig: "rig-a", site: "sf" });
  captureId = ingested.captureId;
  const startNs = BigInt(truth.startTimeNs);
  windowStartNs = startNs + SEC / 2n;
  windowEndNs = startNs + 3n * SEC + SEC / 2n;
  const out = path.join(work.dir, "window.usda");
  result = json(
    strataCli(
      [
        "export",
        "usd",
        captureId,
        "--start",
        "+0.5s",
        "--end",
        "+3.5s",
        "--out",
        out,
        "--fps",
        String(TCPS),
        "--json",
      ],
      home,
    ),
  );
  stage = parseUsda(readFileSync(out, "utf8"));
}, 240_000);

afterAll(async () => {
  await strata?.close();
  work?.cleanup();
});

describe("strata export usd", () => {
  it("writes a stage with Z up, metres and stated time codes", () => {
    expect(stage.metadata).toMatchObject({
      upAxis: "Z",
      metersPerUnit: 1,
      timeCodesPerSecond: TCPS,
      startTimeCode: 0,
      endTimeCode: 3 * TCPS,
      defaultPrim: "World",
    });
    expect(stage.metadata.customLayerData).toMatchObject({
      captureId,
      windowStartNs: windowStartNs.toString(),
      windowEndNs: windowEndNs.toString(),
      fixedFrame: "odom",
    });
    expect(result.egoSamples).toBe(3 * TCPS + 1);
  });

  it("places the ego at the ground-truth pose at sampled times", () => {
    const ego = findPrim(stage, "/World/Ego");
    expect(ego?.typeName).toBe("Xform");
    expect(attr(ego, "xformOpOrder").value).toEqual(["xformOp:translate", "xformOp:orient"]);
    const translate = attr(ego, "xformOp:translate");
    const orient = attr(ego, "xformOp:orient");
    expect(orient.typeName).toBe("quatf");
    const periodNs = BigInt(truth.trajectory.periodNs);
    const startNs = BigInt(truth.startTimeNs);
    let checked = 0;
    for (const [i, sample] of truth.trajectory.samples.entries()) {
      const tNs = startNs + BigInt(i) * periodNs;
      if (tNs < windowStartNs || tNs > windowEndNs) continue;
      const [x, y, yaw] = sample;
      const tc = timeCodeOf(tNs);
      expect(Number.isInteger(tc)).toBe(true); // truth samples fall on time codes: compare stored samples
      const p = sampleAt(translate, tc) as number[];
      const q = sampleAt(orient, tc) as number[];
      expect(Math.hypot((p[0] as number) - x, (p[1] as number) - y), `t=${tNs}`).toBeLessThan(0.03);
      expect(Math.abs(p[2] as number)).toBeLessThan(0.03);
      expect(Math.abs(wrap(yawOfUsdQuat(q) - yaw)), `t=${tNs}`).toBeLessThan(0.01);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(30);
  });

  it("writes agents as time-sampled boxes with class and track id at their true positions", () => {
    const agents = findPrim(stage, "/World/Agents");
    expect(agents?.children.length).toBe(result.agents);
    expect(result.agents).toBeGreaterThan(0);
    let checked = 0;
    for (const cube of agents?.children ?? []) {
      expect(cube.typeName).toBe("Cube");
      const data = cube.metadata.customData as { agentClass: string; trackId: number };
      const agent = truth.agents.find((a) => a.trackId === data.trackId);
      expect(agent, `track ${data.trackId}`).toBeDefined();
      if (!agent) continue;
      expect(data.agentClass).toBe(agent.agentClass);
      const scale = sampleAt(attr(cube, "xformOp:scale"), 0) as number[];
      expect(scale[0]).toBeCloseTo(agent.size.length, 3);
      expect(scale[2]).toBeCloseTo(agent.size.height, 3);
      expect(attr(cube, "visibility").timeSamples?.length).toBeGreaterThan(0);
      // Compare every sample that falls on one of the agent's truth poses.
      const firstNs = BigInt(agent.firstTimeNs);
      const periodNs = BigInt(agent.periodNs);
      for (const [tc, value] of attr(cube, "xformOp:translate").timeSamples ?? []) {
        const tNs = windowStartNs + BigInt(Math.round((tc / TCPS) * 1e9));
        const offset = tNs - firstNs;
        if (offset < 0n || offset % periodNs !== 0n) continue;
        const pose = agent.poses[Number(offset / periodNs)];
        if (!pose) continue;
        const [x, y] = value as number[];
        expect(
          Math.hypot((x as number) - pose[0], (y as number) - pose[1]),
          `track ${agent.trackId} tc ${tc}`,
        ).toBeLessThan(0.05);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("places calibrated cameras with the field of view of K", () => {
    expect(result.cameras).toBe(truth.calibration.cameras.length);
    for (const camera of truth.calibration.cameras) {
      const prim = findPrim(stage, `/World/Ego/${camera.name}`);
      expect(prim?.typeName).toBe("Camera");
      const focal = attr(prim, "focalLength").value as number;
      const horizontal = attr(prim, "horizontalAperture").value as number;
      const vertical = attr(prim, "verticalAperture").value as number;
      // The stored K is what camera_info carried (the sidecar's, rounded).
      const fx = camera.k[0] as number;
      const fy = camera.k[4] as number;
      expect(horizontal / focal).toBeCloseTo(camera.width / fx, 3);
      expect(vertical / focal).toBeCloseTo(camera.height / fy, 3);
      // USD cameras look along −z: in the base frame that is the optical axis (+z) of the extrinsics.
      const q = attr(prim, "xformOp:orient").value as number[];
      const lookUsd = rotate(q, [0, 0, -1]);
      const r = camera.baseFromCamera.rotation;
      const lookTruth = rotate([r.w, r.x, r.y, r.z], [0, 0, 1]);
      for (let i = 0; i < 3; i++) expect(lookUsd[i]).toBeCloseTo(lookTruth[i] as number, 3);
      const t = attr(prim, "xformOp:translate").value as number[];
      expect(t[0]).toBeCloseTo(camera.baseFromCamera.translation.x, 3);
      expect(t[2]).toBeCloseTo(camera.baseFromCamera.translation.z, 3);
    }
  });

  it("writes lidar keyframes as Points prims, each visible until the next", () => {
    const lidar = findPrim(stage, "/World/Lidar");
    expect(lidar?.children.length).toBe(result.lidarKeyframes);
    expect(result.lidarKeyframes).toBe(4); // scans at +0.5 s, +1.5 s, +2.5 s and +3.5 s (the window is inclusive)
    for (const [i, points] of (lidar?.children ?? []).entries()) {
      expect(points.typeName).toBe("Points");
      const values = attr(points, "points").value as number[][];
      expect(values.length).toBeGreaterThan(100);
      expect(values.length).toBe((points.metadata.customData as { pointCount: number }).pointCount);
      const visibility = attr(points, "visibility").timeSamples ?? [];
      expect(visibility.filter(([, v]) => v === "inherited")).toHaveLength(1);
      if (i < result.lidarKeyframes - 1) expect(visibility.at(-1)?.[1]).toBe("invisible");
    }
  });

  it("records a lineage run and an audit event", async () => {
    const run = await strata.catalog.getRun(result.runId);
    expect(run).toMatchObject({ kind: "export.usd", status: "completed" });
    expect(run?.inputs).toEqual([expect.objectContaining({ captureId, startNs: windowStartNs.toString() })]);
    const audit = await strata.catalog.listAudit({ action: "capture.export.usd", target: captureId });
    expect(audit.map((a) => a.details.runId)).toEqual([result.runId]);
  });
});
