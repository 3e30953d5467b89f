/**
 * LeRobot v3 export end to end: a synthetic capture is ingested and a dataset version of three windows
 * (two train, one val) is created; `strata export lerobot` (the real CLI) writes it; the layout files exist;
 * info.json, episodes, tasks and data agree on episodes and frames; frame k of an episode is at
 * start + k / fps with the ego state of the ground truth and the camera image recorded last before it; the
 * action is the velocity to the next state; stats are over every frame. With ffmpeg on PATH, the video
 * variant is checked too.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import jpeg from "jpeg-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStrata, exportLerobotDataset, resolveConfig, type Strata } from "../src/app/index.ts";
import { openLog } from "../src/formats/index.ts";
import { createDatasetVersion } from "../src/pipelines/datasets/index.ts";
import { type CaptureTruth, findFfmpeg, generateCapture } from "../src/pipelines/index.ts";
import { json, strata as strataCli, tempDir } from "./helpers.ts";

const SEC = 1_000_000_000n;
const FPS = 10;

let work: ReturnType<typeof tempDir>;
let home: string;
let strata: Strata;
let truth: CaptureTruth;
let captureId: string;
let captureStartNs: bigint;
let out: string;
let versionId: string;
let exported: { episodes: number; frames: number; video: boolean; runId: string; action: string };

/** The windows of the version, in output order (train first), as offsets from the capture start. */
const WINDOWS = [
  { from: 0.5, to: 1.5, split: "train" as const },
  { from: 1.5, to: 2.7, split: "train" as const },
  { from: 2.8, to: 3.8, split: "val" as const },
];

async function query(sql: string, raw = false): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create();
  const connection = await db.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return (raw ? reader.getRowObjects() : reader.getRowObjectsJson()) as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    db.closeSync();
  }
}

const nsAt = (secs: number) => captureStartNs + BigInt(Math.round(secs * 1e9));
const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));

/** The truth pose at t (linear between the sidecar's samples). */
function truthAt(tNs: bigint): { x: number; y: number; yaw: number; speed: number } {
  const periodNs = BigInt(truth.trajectory.periodNs);
  const offset = tNs - BigInt(truth.startTimeNs);
  const i = Number(offset / periodNs);
  const f = Number(offset % periodNs) / Number(periodNs);
  const a = truth.trajectory.samples[i] as number[];
  const b = (truth.trajectory.samples[i + 1] ?? a) as number[];
  const lerp = (k: number) => (a[k] as number) + f * ((b[k] as number) - (a[k] as number));
  return {
    x: lerp(0),
    y: lerp(1),
    yaw: (a[2] as number) + f * wrap((b[2] as number) - (a[2] as number)),
    speed: lerp(3),
  };
}

beforeAll(async () => {
  work = tempDir("strata-lerobot-");
  home = path.join(work.dir, "home");
  out = path.join(work.dir, "lerobot");
  strata = await createStrata(resolveConfig({ home }));
  const generated = await generateCapture({
    outPath: path.join(work.dir, "drive.mcap"),
    seconds: 4,
    seed: 5,
  });
  truth = JSON.parse(readFileSync(generated.truthPath, "utf8")) as CaptureTruth;
  const ingested = await strata.ingest(generated.path, { rig: "rig-a", site: "sf" });
  captureId = ingested.captureId;
  captureStartNs = BigInt(truth.startTimeNs);
  const version = await createDatasetVersion(
    {
      name: "drives",
      actor: "test",
      allowLeakage: true, // train and val share the one capture on purpose
      items: WINDOWS.map((w) => ({ captureId, startNs: nsAt(w.from), endNs: nsAt(w.to), split: w.split })),
    },
    { catalog: strata.catalog },
  );
  versionId = version.version.versionId;
  exported = json(
    strataCli(
      ["export", "lerobot", `drives@${versionId.slice(0, 12)}`, "--out", out, "--video", "never", "--json"],
      home,
    ),
  );
}, 240_000);

afterAll(async () => {
  await strata?.close();
  work?.cleanup();
});

describe("strata export lerobot", () => {
  it("writes the v3 layout", () => {
    for (const file of [
      "meta/info.json",
      "meta/stats.json",
      "meta/tasks.parquet",
      "meta/episodes/chunk-000/file-000.parquet",
      "meta/strata.json",
      "data/chunk-000/file-000.parquet",
    ]) {
      expect(existsSync(path.join(out, file)), file).toBe(true);
    }
    expect(existsSync(path.join(out, "videos"))).toBe(false);
  });

  it("states episodes, frames, fps, splits and features in info.json, consistent with the files", async () => {
    const info = JSON.parse(readFileSync(path.join(out, "meta/info.json"), "utf8"));
    const lengths = WINDOWS.map((w) => Math.round((w.to - w.from) * FPS));
    expect(info).toMatchObject({
      codebase_version: "v3.0",
      robot_type: "rig-a",
      total_episodes: 3,
      total_frames: lengths.reduce((a, b) => a + b, 0),
      total_tasks: 1,
      fps: FPS,
      splits: { train: "0:2", val: "2:3" },
      data_path: "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
      video_path: null,
    });
    expect(exported).toMatchObject({
      episodes: 3,
      frames: info.total_frames,
      video: false,
      action: "next-state",
    });
    expect(info.features["observation.state"]).toEqual({
      dtype: "float32",
      shape: [6],
      names: ["x_m", "y_m", "z_m", "yaw_rad", "speed_mps", "yaw_rate_radps"],
    });
    expect(info.features.action.shape).toEqual([2]);
    for (const camera of truth.calibration.cameras) {
      expect(info.features[`observation.images.${camera.name}`]).toEqual({
        dtype: "image",
        shape: [camera.height, camera.width, 3],
        names: ["height", "width", "channels"],
      });
    }
    for (const key of ["timestamp", "frame_index", "episode_index", "index", "task_index"])
      expect(info.features[key]).toBeDefined();

    const episodes = await query(
      `select episode_index, length, dataset_from_index, dataset_to_index, "data/chunk_index" as chunk, "data/file_index" as file, "strata/split" as split, "strata/capture_id" as capture, tasks from '${out}/meta/episodes/*/*.parquet' order by 1`,
    );
    expect(episodes.map((e) => Number(e.length))).toEqual(lengths);
    let from = 0;
    for (const [i, e] of episodes.entries()) {
      expect(e).toMatchObject({
        episode_index: String(i),
        dataset_from_index: String(from),
        dataset_to_index: String(from + lengths[i]!),
        chunk: "0",
        file: "0",
        split: WINDOWS[i]?.split,
        capture: captureId,
        tasks: ["drive"],
      });
      from += lengths[i]!;
    }
    const data = await query(
      `select episode_index, count(*) as n, min(frame_index) as f0, max(frame_index) as f1, min("index") as i0, max("index") as i1, max(abs(timestamp - frame_index / ${FPS})) as dt from '${out}/data/*/*.parquet' group by 1 order by 1`,
    );
    expect(data.map((d) => Number(d.n))).toEqual(lengths);
    for (const [i, d] of data.entries()) {
      expect(Number(d.f0)).toBe(0);
      expect(Number(d.f1)).toBe(lengths[i]! - 1);
      expect(Number(d.i0)).toBe(Number(episodes[i]?.dataset_from_index));
      expect(Number(d.i1)).toBe(Number(episodes[i]?.dataset_to_index) - 1);
      expect(Number(d.dt)).toBeLessThan(1e-6);
    }
    expect(await query(`select task_index, task from '${out}/meta/tasks.parquet'`)).toEqual([
      { task_index: "0", task: "drive" },
    ]);
  });

  it("fills observation.state from the ego pose and action from the next state", async () => {
    const rows = await query(
      `select episode_index, frame_index, "observation.state" as state, action from '${out}/data/*/*.parquet' order by "index"`,
    );
    for (const r of rows) {
      const w = WINDOWS[Number(r.episode_index)]!;
      const tNs = nsAt(w.from) + (BigInt(r.frame_index as string) * SEC) / BigInt(FPS);
      const [x, y, z, yaw, speed] = r.state as number[];
      const t = truthAt(tNs);
      expect(Math.hypot(x! - t.x, y! - t.y), `frame ${r.frame_index} of ${r.episode_index}`).toBeLessThan(
        0.03,
      );
      expect(Math.abs(z!)).toBeLessThan(0.01);
      expect(Math.abs(wrap(yaw! - t.yaw))).toBeLessThan(0.01);
      expect(Math.abs(speed! - t.speed)).toBeLessThan(0.3);
    }
    // action = velocity from state k to state k + 1 (within an episode the next state is the next row).
    for (let i = 0; i + 1 < rows.length; i++) {
      const a = rows[i]!;
      const b = rows[i + 1]!;
      if (a.episode_index !== b.episode_index) continue;
      const [x0, y0, , yaw0] = a.state as number[];
      const [x1, y1, , yaw1] = b.state as number[];
      const [v, w] = a.action as number[];
      const dt = 1 / FPS;
      const heading = yaw0! + wrap(yaw1! - yaw0!) / 2;
      expect(v!).toBeCloseTo(((x1! - x0!) * Math.cos(heading) + (y1! - y0!) * Math.sin(heading)) / dt, 2);
      expect(w!).toBeCloseTo(wrap(yaw1! - yaw0!) / dt, 2);
    }
  });

  it("stores each frame's image as the camera's last image at or before the frame time", async () => {
    const camera = truth.calibration.cameras[0]!;
    const key = `observation.images.${camera.name}`;
    const rows = await query(
      `select frame_index, "${key}".bytes as bytes from '${out}/data/*/*.parquet' where episode_index = 1 order by frame_index`,
      true,
    );
    const images: Array<{ logTimeNs: bigint; data: Uint8Array }> = [];
    const reader = await openLog(path.join(work.dir, "drive.mcap"));
    try {
      for await (const m of reader.messages({ topics: [camera.imageTopic], decode: true })) {
        images.push({ logTimeNs: m.logTimeNs, data: (m.decoded as { data: Uint8Array }).data });
      }
    } finally {
      await reader.close();
    }
    const w = WINDOWS[1]!;
    for (const r of rows) {
      const tNs = nsAt(w.from) + (BigInt(r.frame_index as bigint) * SEC) / BigInt(FPS);
      const expected =
        images.filter((i) => i.logTimeNs <= tNs).at(-1) ?? images.find((i) => i.logTimeNs > tNs);
      const bytes = (r.bytes as { bytes: Uint8Array }).bytes;
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(expected!.data)), `frame ${r.frame_index}`).toBe(
        0,
      );
    }
    expect(rows).toHaveLength(12);
    const decoded = jpeg.decode((rows[0]!.bytes as { bytes: Uint8Array }).bytes, { useTArray: true });
    expect([decoded.width, decoded.height]).toEqual([camera.width, camera.height]);
  });

  it("writes stats over every frame and records lineage", async () => {
    const stats = JSON.parse(readFileSync(path.join(out, "meta/stats.json"), "utf8"));
    const info = JSON.parse(readFileSync(path.join(out, "meta/info.json"), "utf8"));
    for (const key of ["observation.state", "action", "timestamp", "frame_index", "index"]) {
      expect(stats[key].count).toEqual([info.total_frames]);
      expect(stats[key].min.length).toBe(info.features[key].shape[0]);
    }
    expect(stats.index.max).toEqual([info.total_frames - 1]);
    const image = stats[`observation.images.${truth.calibration.cameras[0]!.name}`];
    expect(image.mean).toHaveLength(3);
    expect(image.mean[0][0][0]).toBeGreaterThan(0);
    expect(image.mean[0][0][0]).toBeLessThan(1);

    const run = await strata.catalog.getRun(exported.runId);
    expect(run).toMatchObject({ kind: "export.lerobot", status: "completed" });
    expect(run?.inputs).toEqual(
      expect.arrayContaining([expect.objectContaining({ datasetVersionId: versionId })]),
    );
    const audit = await strata.catalog.listAudit({ action: "dataset.export.lerobot", target: versionId });
    expect(audit).toHaveLength(1);
  });

  it("refuses a directory that is not empty", async () => {
    await expect(exportLerobotDataset(strata, { dataset: "drives@latest", out })).rejects.toMatchObject({
      code: "STRATA_E_CONFLICT",
    });
  });

  it("writes camera frames as MP4 when ffmpeg is on PATH (and refuses --video always without it)", async () => {
    const ffmpeg = await findFfmpeg();
    if (!ffmpeg) {
      await expect(
        exportLerobotDataset(strata, {
          dataset: "drives@latest",
          out: path.join(work.dir, "video"),
          video: "always",
        }),
      ).rejects.toMatchObject({ code: "STRATA_E_UNSUPPORTED" });
      return;
    }
    const result = await exportLerobotDataset(strata, {
      dataset: "drives@latest",
      out: path.join(work.dir, "video"),
      video: "always",
    });
    expect(result.video).toBe(true);
    const info = JSON.parse(readFileSync(path.join(work.dir, "video", "meta/info.json"), "utf8"));
    for (const camera of truth.calibration.cameras) {
      const key = `observation.images.${camera.name}`;
      expect(info.features[key].dtype).toBe("video");
      expect(existsSync(path.join(work.dir, "video", "videos", key, "chunk-000", "file-000.mp4"))).toBe(true);
    }
    const episodes = await query(
      `select "videos/observation.images.${truth.calibration.cameras[0]!.name}/to_timestamp" as t from '${path.join(work.dir, "video")}/meta/episodes/*/*.parquet' order by episode_index`,
    );
    expect(Number(episodes.at(-1)?.t)).toBeCloseTo(info.total_frames / FPS, 6);
  });
});
