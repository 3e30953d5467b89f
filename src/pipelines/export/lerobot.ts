/**
 * A dataset version as a LeRobot dataset (format v3.0): one episode per dataset item (a time window of a
 * capture), sampled at a fixed rate.
 *
 *   meta/info.json                         codebase_version "v3.0", fps, features, splits, path templates
 *   meta/stats.json                        min / max / mean / std / count per feature
 *   meta/tasks.parquet                     task_index, task
 *   meta/episodes/chunk-000/file-000.parquet   one row per episode: length, data/video file and offsets, stats
 *   meta/strata.json                       provenance: dataset, version, item → episode, state/action mapping
 *   data/chunk-CCC/file-FFF.parquet        one row per frame (episodes packed into files of ≤ 100 MB)
 *   videos/observation.images.<cam>/chunk-CCC/file-FFF.mp4   when ffmpeg is on PATH (H.264, episodes concatenated)
 *
 * Without ffmpeg, camera frames are `image` features stored in the data files as LeRobot itself stores
 * them (a struct of the encoded bytes and a path), JPEG as recorded.
 *
 * Mapping (docs/lakehouse.md): frame k of an episode is at t_k = startNs + k / fps (t_k < endNs).
 * - `observation.state` (float32[6]): x_m, y_m, z_m, yaw_rad of the ego base frame in the trajectory's
 *   fixed frame at t_k (interpolated), then speed_mps (forward velocity) and yaw_rate_radps by central
 *   differences over ±50 ms.
 * - `action` (float32[2]): linear_x_mps, angular_z_radps. From velocity commands (`geometry_msgs/Twist`,
 *   `TwistStamped` on a `cmd_vel` topic: the last command at or before t_k) when every item's capture has
 *   one; otherwise from the next state: the forward displacement and heading change from t_k to t_k + 1/fps,
 *   divided by 1/fps (the velocity that takes the robot to its next state).
 * - `observation.images.<camera>`: the last image at or before t_k (the first image after, at the start).
 *
 * Memory: frames stream from the log in time order into DuckDB staging (spilling to disk) or ffmpeg; only
 * the latest image per camera and frames waiting for a camera's first image are held.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { constants, existsSync } from "node:fs";
import { access, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import jpeg from "jpeg-js";
import type { Catalog } from "../../catalog/index.ts";
import { StrataError, type Vec3 } from "../../core/index.ts";
import { type LogReader, openLog } from "../../formats/index.ts";
// The datasets' modules directly: their front door imports this part's front door (materialisation).
import { isVersionId } from "../datasets/manifest.ts";
import { getVersion, listVersions } from "../datasets/store.ts";
import type { DatasetItem, DatasetVersion, Split } from "../datasets/types.ts";
import { type PoseTrajectory, TfBuffer } from "../registry/index.ts";
import { type Cell, ParquetStaging, type StagedColumn, type StagedTable } from "./parquet-duckdb.ts";

export const LEROBOT_CODEBASE_VERSION = "v3.0";
const CHUNKS_SIZE = 1000;
const DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet";
const VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4";
const SPLIT_ORDER: readonly Split[] = ["train", "val", "test"];
/** Images before an episode's start that may stand in for its first frames. */
const IMAGE_LOOKBACK_NS = 1_000_000_000n;
/** Half-width of the central difference for speed and yaw rate. */
const VELOCITY_HALF_WINDOW_NS = 50_000_000n;

export const STATE_NAMES = ["x_m", "y_m", "z_m", "yaw_rad", "speed_mps", "yaw_rate_radps"] as const;
export const ACTION_NAMES = ["linear_x_mps", "angular_z_radps"] as const;

// ---------------------------------------------------------------- resolving DATASET@VERSION

/**
 * `name@version` → the version: `version` is a full id (`dsv_…`), a unique prefix of one of the dataset's
 * version ids (with or without `dsv_`), or `latest`.
 */
export async function resolveDatasetVersion(
  ref: string,
  deps: { catalog: Catalog },
): Promise<DatasetVersion> {
  const at = ref.lastIndexOf("@");
  if (at <= 0 || at === ref.length - 1) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `expected DATASET@VERSION, got ${JSON.stringify(ref)}`,
      {},
      {
        hint: "e.g. `strata export lerobot pedestrians@latest` or `pedestrians@dsv_1a2b3c4d`.",
      },
    );
  }
  const name = ref.slice(0, at);
  const wanted = ref.slice(at + 1);
  if (isVersionId(wanted)) {
    const version = await getVersion(wanted, deps);
    if (!version || version.datasetName !== name) {
      throw new StrataError("STRATA_E_NOT_FOUND", `dataset ${name} has no version ${wanted}`, {
        versionId: wanted,
      });
    }
    return version;
  }
  const versions = await listVersions(name, deps);
  if (versions.length === 0) throw new StrataError("STRATA_E_NOT_FOUND", `dataset ${name} has no versions`);
  if (wanted === "latest") return versions[0] as DatasetVersion;
  const prefix = wanted.startsWith("dsv_") ? wanted : `dsv_${wanted}`;
  const matches = versions.filter((v) => v.versionId.startsWith(prefix));
  if (matches.length !== 1) {
    throw new StrataError(
      matches.length === 0 ? "STRATA_E_NOT_FOUND" : "STRATA_E_USAGE",
      matches.length === 0
        ? `dataset ${name} has no version starting ${prefix}`
        : `${prefix} matches ${matches.length} versions of ${name}; give more digits`,
    );
  }
  return matches[0] as DatasetVersion;
}

// ---------------------------------------------------------------- plan

export type VideoMode = "auto" | "always" | "never";

export interface LerobotExportOptions {
  /** A new or empty directory. */
  outDir: string;
  /** Frames per second of every episode (default 10). */
  fps?: number;
  /** Camera frames as MP4 (`always`), as images (`never`), or MP4 when ffmpeg is on PATH (`auto`, default). */
  video?: VideoMode;
  /** The ffmpeg executable (default: `ffmpeg` found on PATH). */
  ffmpegPath?: string;
  /** The task text of every episode (default: the version's query, else "drive"). */
  task?: string;
  /** `robot_type` in info.json (default: the rig of the first item's capture, else null). */
  robotType?: string | null;
  /** Data files are closed after the episode that makes them exceed this size (default 100 MB). */
  dataFileSizeMb?: number;
}

export interface LerobotCamera {
  /** `observation.images.<name>`. */
  key: string;
  topic: string;
}

export type ActionSource = { kind: "command"; topics: Record<string, string> } | { kind: "next-state" };

export interface LerobotPlannedEpisode {
  item: DatasetItem;
  /** Frames at most (frames without an ego pose or an image are dropped). */
  maxFrames: number;
}

export interface LerobotPlan {
  outDir: string;
  datasetName: string;
  versionId: string;
  fps: number;
  periodNs: bigint;
  video: boolean;
  ffmpegPath: string | null;
  task: string;
  robotType: string | null;
  dataFileBytes: number;
  cameras: LerobotCamera[];
  action: ActionSource;
  /** In output order: train, then val, then test (manifest order within each). */
  episodes: LerobotPlannedEpisode[];
}

const isImageType = (schemaName: string): boolean =>
  /(^|\/)(msg\/)?(CompressedImage|Image)$/.test(schemaName) && !schemaName.includes("Marker");
const isTwistType = (schemaName: string): boolean => /(^|\/)(msg\/)?Twist(Stamped)?$/.test(schemaName);

/** `/camera_front/image/compressed` → `camera_front`. */
export function cameraNameOf(topic: string): string {
  const parts = topic.split("/").filter((p) => p !== "");
  const generic = new Set([
    "compressed",
    "image",
    "image_raw",
    "image_color",
    "image_rect",
    "image_rect_color",
    "raw",
  ]);
  while (parts.length > 1 && generic.has(parts[parts.length - 1] as string)) parts.pop();
  return parts.join("_").replace(/[^A-Za-z0-9_]/g, "_") || "camera";
}

/** Looks for ffmpeg on PATH (or checks the given path). */
export async function findFfmpeg(explicit?: string): Promise<string | null> {
  const candidates = explicit
    ? [explicit]
    : (process.env.PATH ?? "")
        .split(path.delimiter)
        .filter((d) => d !== "")
        .map((d) => path.join(d, "ffmpeg"));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return null;
}

export async function planLerobotExport(
  version: DatasetVersion,
  topicsByCapture: ReadonlyMap<string, ReadonlyArray<{ topic: string; schemaName: string }>>,
  options: LerobotExportOptions & { rigOfFirstCapture?: string | null },
): Promise<LerobotPlan> {
  const fps = options.fps ?? 10;
  if (!Number.isInteger(fps) || fps < 1 || fps > 1000) {
    throw new StrataError("STRATA_E_USAGE", `fps must be an integer in 1…1000, got ${fps}`);
  }
  const items = version.manifest.items;
  if (items.length === 0)
    throw new StrataError("STRATA_E_USAGE", `version ${version.versionId} has no items`);
  const outDir = path.resolve(options.outDir);
  if (existsSync(outDir) && (await readdir(outDir)).length > 0) {
    throw new StrataError(
      "STRATA_E_CONFLICT",
      `${outDir} is not empty`,
      { file: outDir },
      {
        hint: "LeRobot datasets are written into a new or empty directory.",
      },
    );
  }
  const topicsOf = (item: DatasetItem) => {
    const all = topicsByCapture.get(item.captureId) ?? [];
    const kept = new Set(item.topics);
    return all.filter((t) => kept.has(t.topic));
  };
  // Cameras every item has.
  let cameraTopics: string[] | undefined;
  for (const item of items) {
    const here = topicsOf(item)
      .filter((t) => isImageType(t.schemaName))
      .map((t) => t.topic);
    cameraTopics = cameraTopics === undefined ? here : cameraTopics.filter((t) => here.includes(t));
  }
  const usedKeys = new Set<string>();
  const cameras: LerobotCamera[] = [];
  for (const topic of [...(cameraTopics ?? [])].sort()) {
    let name = cameraNameOf(topic);
    for (let i = 2; usedKeys.has(name); i++) name = `${cameraNameOf(topic)}_${i}`;
    usedKeys.add(name);
    cameras.push({ key: `observation.images.${name}`, topic });
  }
  // Velocity commands, when every capture has them.
  const commandTopics: Record<string, string> = {};
  let everyHasCommands = true;
  for (const item of items) {
    const twists = topicsOf(item).filter((t) => isTwistType(t.schemaName));
    const chosen = twists.find((t) => /cmd_vel/.test(t.topic)) ?? twists[0];
    if (!chosen) {
      everyHasCommands = false;
      break;
    }
    commandTopics[item.captureId] = chosen.topic;
  }
  const videoMode = options.video ?? "auto";
  const ffmpegPath =
    videoMode === "never" || cameras.length === 0 ? null : await findFfmpeg(options.ffmpegPath);
  if (videoMode === "always" && cameras.length > 0 && ffmpegPath === null) {
    throw new StrataError(
      "STRATA_E_UNSUPPORTED",
      "video export needs ffmpeg, and none was found on PATH",
      {},
      {
        hint: "Install ffmpeg, pass its path, or export images (--video never).",
      },
    );
  }
  const periodNs = 1_000_000_000n / BigInt(fps);
  const ordered = SPLIT_ORDER.flatMap((split) => items.filter((i) => i.split === split));
  return {
    outDir,
    datasetName: version.datasetName,
    versionId: version.versionId,
    fps,
    periodNs,
    video: ffmpegPath !== null,
    ffmpegPath,
    task: options.task ?? version.manifest.query ?? "drive",
    robotType: options.robotType !== undefined ? options.robotType : (options.rigOfFirstCapture ?? null),
    dataFileBytes: Math.round((options.dataFileSizeMb ?? 100) * 1024 * 1024),
    cameras,
    action: everyHasCommands ? { kind: "command", topics: commandTopics } : { kind: "next-state" },
    episodes: ordered.map((item) => ({
      item,
      maxFrames: Number((item.endNs - item.startNs + periodNs - 1n) / periodNs),
    })),
  };
}

/** A JSON view of a plan (for `--explain` and lineage params). */
export function describeLerobotPlan(plan: LerobotPlan): Record<string, unknown> {
  return {
    outDir: plan.outDir,
    dataset: plan.datasetName,
    versionId: plan.versionId,
    fps: plan.fps,
    video: plan.video,
    task: plan.task,
    cameras: plan.cameras,
    action: plan.action,
    episodes: plan.episodes.map((e) => ({
      captureId: e.item.captureId,
      startNs: e.item.startNs.toString(),
      endNs: e.item.endNs.toString(),
      split: e.item.split,
      maxFrames: e.maxFrames,
    })),
  };
}

// ---------------------------------------------------------------- statistics

/** Running min / max / mean / std per dimension (Welford-free: sums in float64 are fine at these counts). */
class RunningStats {
  readonly min: number[];
  readonly max: number[];
  readonly sum: number[];
  readonly sumSq: number[];
  count = 0;

  constructor(readonly dims: number) {
    this.min = new Array<number>(dims).fill(Number.POSITIVE_INFINITY);
    this.max = new Array<number>(dims).fill(Number.NEGATIVE_INFINITY);
    this.sum = new Array<number>(dims).fill(0);
    this.sumSq = new Array<number>(dims).fill(0);
  }

  add(values: ArrayLike<number>, weight = 1): void {
    for (let d = 0; d < this.dims; d++) {
      const v = values[d] as number;
      if (v < (this.min[d] as number)) this.min[d] = v;
      if (v > (this.max[d] as number)) this.max[d] = v;
      this.sum[d] = (this.sum[d] as number) + v * weight;
      this.sumSq[d] = (this.sumSq[d] as number) + v * v * weight;
    }
    this.count += weight;
  }

  merge(other: RunningStats): void {
    for (let d = 0; d < this.dims; d++) {
      this.min[d] = Math.min(this.min[d] as number, other.min[d] as number);
      this.max[d] = Math.max(this.max[d] as number, other.max[d] as number);
      this.sum[d] = (this.sum[d] as number) + (other.sum[d] as number);
      this.sumSq[d] = (this.sumSq[d] as number) + (other.sumSq[d] as number);
    }
    this.count += other.count;
  }

  summary(): { min: number[]; max: number[]; mean: number[]; std: number[]; count: number } {
    const n = Math.max(this.count, 1);
    const mean = this.sum.map((s) => s / n);
    const std = this.sumSq.map((s, d) => Math.sqrt(Math.max(0, s / n - (mean[d] as number) ** 2)));
    const finite = (v: number[]) => v.map((x) => (Number.isFinite(x) ? x : 0));
    return { min: finite(this.min), max: finite(this.max), mean, std, count: this.count };
  }
}

/** Per-channel RGB statistics in [0, 1] of a JPEG, on a pixel grid (every `stride`-th pixel). */
function imageChannelStats(bytes: Uint8Array, stats: RunningStats, stride = 4): void {
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 256 });
  } catch {
    return;
  }
  const channels = image.data.length / (image.width * image.height);
  if (channels < 3) return;
  const px = [0, 0, 0];
  for (let y = 0; y < image.height; y += stride) {
    for (let x = 0; x < image.width; x += stride) {
      const o = (y * image.width + x) * channels;
      px[0] = (image.data[o] as number) / 255;
      px[1] = (image.data[o + 1] as number) / 255;
      px[2] = (image.data[o + 2] as number) / 255;
      stats.add(px);
    }
  }
}

// ---------------------------------------------------------------- images

interface CameraFrame {
  /** JPEG bytes. */
  jpeg: Uint8Array;
  width: number;
  height: number;
}

/** Width and height from a JPEG's SOF marker. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1] as number;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const length = ((bytes[i + 2] as number) << 8) | (bytes[i + 3] as number);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      const height = ((bytes[i + 5] as number) << 8) | (bytes[i + 6] as number);
      const width = ((bytes[i + 7] as number) << 8) | (bytes[i + 8] as number);
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    i += 2 + length;
  }
  return undefined;
}

/** A camera frame from a decoded `CompressedImage` (JPEG) or raw `Image` (rgb8/bgr8/mono8/rgba8/bgra8 → JPEG). */
function cameraFrameOf(decoded: unknown): CameraFrame | undefined {
  if (typeof decoded !== "object" || decoded === null) return undefined;
  const m = decoded as Record<string, unknown>;
  const data = m.data instanceof Uint8Array ? m.data : undefined;
  if (!data) return undefined;
  if (typeof m.format === "string") {
    const size = jpegSize(data);
    return size ? { jpeg: data, ...size } : undefined;
  }
  const width = typeof m.width === "number" ? m.width : 0;
  const height = typeof m.height === "number" ? m.height : 0;
  const step = typeof m.step === "number" ? m.step : 0;
  const encoding = typeof m.encoding === "string" ? m.encoding : "";
  const layout: Record<string, { channels: number; order: number[] }> = {
    rgb8: { channels: 3, order: [0, 1, 2] },
    bgr8: { channels: 3, order: [2, 1, 0] },
    rgba8: { channels: 4, order: [0, 1, 2] },
    bgra8: { channels: 4, order: [2, 1, 0] },
    mono8: { channels: 1, order: [0, 0, 0] },
  };
  const l = layout[encoding];
  if (!l || width <= 0 || height <= 0 || step < width * l.channels || data.length < step * height)
    return undefined;
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = y * step + x * l.channels;
      const o = 4 * (y * width + x);
      rgba[o] = data[s + (l.order[0] as number)] as number;
      rgba[o + 1] = data[s + (l.order[1] as number)] as number;
      rgba[o + 2] = data[s + (l.order[2] as number)] as number;
      rgba[o + 3] = 255;
    }
  }
  const encoded = jpeg.encode({ data: rgba, width, height }, 90);
  return { jpeg: new Uint8Array(encoded.data), width, height };
}

/** One ffmpeg process per camera: JPEG frames in, H.264 MP4 out. */
class VideoEncoder {
  private child: ChildProcess;
  private stderr = "";
  private readonly exited: Promise<number | null>;
  frames = 0;

  constructor(
    ffmpegPath: string,
    readonly file: string,
    fps: number,
  ) {
    this.child = spawn(
      ffmpegPath,
      [
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "image2pipe",
        "-c:v",
        "mjpeg",
        "-framerate",
        String(fps),
        "-i",
        "pipe:0",
        "-vf",
        "scale=trunc(iw/2)*2:trunc(ih/2)*2",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-g",
        String(2 * fps),
        "-preset",
        "veryfast",
        "-movflags",
        "+faststart",
        "-y",
        file,
      ],
      { stdio: ["pipe", "ignore", "pipe"] },
    );
    this.child.stderr?.on("data", (d: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += d.toString();
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.child.once("close", (code) => resolve(code));
    });
    this.child.stdin?.on("error", () => undefined); // reported through the exit code
  }

  async write(frame: Uint8Array): Promise<void> {
    const stdin = this.child.stdin;
    if (!stdin) throw new StrataError("STRATA_E_INTERNAL", "ffmpeg has no stdin");
    this.frames++;
    if (!stdin.write(frame)) await Promise.race([once(stdin, "drain"), this.exited]);
  }

  async finish(): Promise<void> {
    this.child.stdin?.end();
    const code = await this.exited;
    if (code !== 0) {
      throw new StrataError(
        "STRATA_E_INTERNAL",
        `ffmpeg failed writing ${this.file} (exit ${code}): ${this.stderr.trim()}`,
      );
    }
  }

  kill(): void {
    this.child.kill("SIGKILL");
  }
}

// ---------------------------------------------------------------- execute

/** What the executor needs per episode (opened lazily, one at a time). */
export interface LerobotEpisodeSource {
  /** A readable path of the capture. */
  logPath: string;
  /** The ego trajectory of the capture (`childFrame` in `frame`, ns stamps). */
  ego: { trajectory: PoseTrajectory; frame: string; childFrame: string; source: string } | undefined;
  release(): Promise<void>;
}

export interface LerobotExportResult {
  outDir: string;
  episodes: number;
  frames: number;
  video: boolean;
  cameras: string[];
  dataFiles: string[];
  videoFiles: string[];
  action: ActionSource["kind"];
  /** Items left out or trimmed, with the reason. */
  warnings: string[];
}

interface EpisodeRecord {
  episodeIndex: number;
  item: DatasetItem;
  length: number;
  fromIndex: number;
  dataChunk: number;
  dataFile: number;
  videos: Record<string, { chunk: number; file: number; fromSecs: number; toSecs: number }>;
  stats: Record<string, RunningStats>;
}

const wrapAngle = (a: number): number => Math.atan2(Math.sin(a), Math.cos(a));

/** Ego pose lookups over a trajectory (via the TF buffer's interpolation: linear + SLERP). */
class EgoSampler {
  private readonly tf = new TfBuffer({ extrapolationToleranceNs: 100_000_000n });

  constructor(private readonly ego: NonNullable<LerobotEpisodeSource["ego"]>) {
    const t = ego.trajectory;
    const stamps = t.timestampsNs;
    if (!stamps) throw new StrataError("STRATA_E_NOT_FOUND", `trajectory ${ego.source} has no ns stamps`);
    for (let i = 0; i < stamps.length; i++) {
      this.tf.addTransform(
        {
          parentFrame: ego.frame,
          childFrame: ego.childFrame,
          stampNs: stamps[i] as bigint,
          translation: {
            x: t.positions[3 * i] as number,
            y: t.positions[3 * i + 1] as number,
            z: t.positions[3 * i + 2] as number,
          },
          rotation: {
            x: t.orientations[4 * i] as number,
            y: t.orientations[4 * i + 1] as number,
            z: t.orientations[4 * i + 2] as number,
            w: t.orientations[4 * i + 3] as number,
          },
        },
        false,
      );
    }
  }

  /** Position and yaw at `tNs`, or undefined outside the trajectory. */
  at(tNs: bigint): { p: Vec3; yaw: number } | undefined {
    try {
      const t = this.tf.transformAt(this.ego.frame, this.ego.childFrame, tNs);
      const r = t.rotation;
      return { p: t.translation, yaw: Math.atan2(r[3] as number, r[0] as number) };
    } catch (error) {
      if (error instanceof StrataError) return undefined;
      throw error;
    }
  }
}

/** Forward velocity (m/s) and yaw rate (rad/s) between two poses `dtSecs` apart. */
function velocityBetween(
  a: { p: Vec3; yaw: number },
  b: { p: Vec3; yaw: number },
  dtSecs: number,
): [number, number] {
  const dx = b.p.x - a.p.x;
  const dy = b.p.y - a.p.y;
  const heading = a.yaw + wrapAngle(b.yaw - a.yaw) / 2;
  return [(dx * Math.cos(heading) + dy * Math.sin(heading)) / dtSecs, wrapAngle(b.yaw - a.yaw) / dtSecs];
}

const DATA_COLUMNS = (plan: LerobotPlan): StagedColumn[] => [
  { name: "observation.state", type: "FLOAT[]" },
  { name: "action", type: "FLOAT[]" },
  ...(plan.video
    ? []
    : plan.cameras.map((c) => ({ name: c.key, type: "STRUCT(bytes BLOB, path VARCHAR)" as const }))),
  { name: "timestamp", type: "FLOAT" },
  { name: "frame_index", type: "BIGINT" },
  { name: "episode_index", type: "BIGINT" },
  { name: "index", type: "BIGINT" },
  { name: "task_index", type: "BIGINT" },
];

const chunkFile = (n: number): { chunk: number; file: number } => ({
  chunk: Math.floor(n / CHUNKS_SIZE),
  file: n % CHUNKS_SIZE,
});
const pad3 = (n: number): string => String(n).padStart(3, "0");

/** Writes the dataset; `openEpisode` gives each item's log and trajectory (released after the episode). */
export async function executeLerobotExport(
  plan: LerobotPlan,
  openEpisode: (item: DatasetItem) => Promise<LerobotEpisodeSource>,
): Promise<LerobotExportResult> {
  const warnings: string[] = [];
  const outDir = plan.outDir;
  await mkdir(outDir, { recursive: true });
  const staging = await ParquetStaging.open({ dir: path.join(outDir, ".strata-staging") });
  const encoders = new Map<string, VideoEncoder>();
  const dataFiles: string[] = [];
  const episodes: EpisodeRecord[] = [];
  const datasetStats: Record<string, RunningStats> = {};
  const imageSize = new Map<string, { width: number; height: number }>();
  let data: StagedTable | undefined;
  let dataBytes = 0;
  let dataFileCount = 0;
  let globalIndex = 0;

  const openDataTable = async (): Promise<StagedTable> => {
    data = await staging.table("data", DATA_COLUMNS(plan));
    dataBytes = 0;
    return data;
  };
  const closeDataFile = async (): Promise<void> => {
    if (!data) return;
    if (data.rowCount > 0) {
      const { chunk, file } = chunkFile(dataFileCount);
      const rel = `data/chunk-${pad3(chunk)}/file-${pad3(file)}.parquet`;
      await data.copyTo({ to: path.join(outDir, rel), orderBy: ["index"] });
      dataFiles.push(rel);
      dataFileCount++;
    }
    await data.drop();
    data = undefined;
  };

  try {
    if (plan.video && plan.ffmpegPath) {
      for (const camera of plan.cameras) {
        const rel = `videos/${camera.key}/chunk-000/file-000.mp4`;
        await mkdir(path.dirname(path.join(outDir, rel)), { recursive: true });
        encoders.set(camera.key, new VideoEncoder(plan.ffmpegPath, path.join(outDir, rel), plan.fps));
      }
    }
    for (const planned of plan.episodes) {
      const item = planned.item;
      const source = await openEpisode(item);
      let reader: LogReader | undefined;
      try {
        if (!source.ego) {
          warnings.push(`item ${item.captureId} ${item.startNs}..${item.endNs}: no ego trajectory; left out`);
          continue;
        }
        const ego = new EgoSampler(source.ego);
        reader = await openLog(source.logPath);
        const table = data ?? (await openDataTable());
        const episodeIndex = episodes.length;
        const fromIndex = globalIndex;
        const stats: Record<string, RunningStats> = {
          "observation.state": new RunningStats(STATE_NAMES.length),
          action: new RunningStats(ACTION_NAMES.length),
          timestamp: new RunningStats(1),
          frame_index: new RunningStats(1),
          episode_index: new RunningStats(1),
          index: new RunningStats(1),
          task_index: new RunningStats(1),
        };
        for (const c of plan.cameras) stats[c.key] = new RunningStats(3);
        const videoStart = new Map<string, number>();
        for (const [key, enc] of encoders) videoStart.set(key, enc.frames);
        // Images for stats: about 10 per camera per episode.
        const imageStatsEvery = Math.max(1, Math.floor(planned.maxFrames / 10));
        let frameIndex = 0;
        let droppedNoPose = 0;
        let droppedNoImage = 0;

        const commandTopic = plan.action.kind === "command" ? plan.action.topics[item.captureId] : undefined;
        const cameraIndex = new Map(plan.cameras.map((c, i) => [c.topic, i]));
        const latest: Array<CameraFrame | undefined> = plan.cameras.map(() => undefined);
        let command: [number, number] = [0, 0];
        const pending: Array<{
          k: number;
          tNs: bigint;
          images: Array<CameraFrame | undefined>;
          command: [number, number];
        }> = [];

        const emit = async (f: (typeof pending)[number]): Promise<void> => {
          const pose = ego.at(f.tNs);
          if (!pose) {
            droppedNoPose++;
            return;
          }
          const h = VELOCITY_HALF_WINDOW_NS;
          const before = ego.at(f.tNs - h);
          const after = ego.at(f.tNs + h);
          let velocity: [number, number] = [0, 0];
          if (before && after) velocity = velocityBetween(before, after, Number(2n * h) / 1e9);
          else if (after) velocity = velocityBetween(pose, after, Number(h) / 1e9);
          else if (before) velocity = velocityBetween(before, pose, Number(h) / 1e9);
          const state = [pose.p.x, pose.p.y, pose.p.z, pose.yaw, velocity[0], velocity[1]];
          let action: [number, number];
          if (plan.action.kind === "command") action = f.command;
          else {
            const next = ego.at(f.tNs + plan.periodNs);
            action = next ? velocityBetween(pose, next, Number(plan.periodNs) / 1e9) : velocity;
          }
          const timestamp = frameIndex / plan.fps;
          const cells: Cell[] = [state, action];
          for (const [i, camera] of plan.cameras.entries()) {
            const image = f.images[i] as CameraFrame;
            const known = imageSize.get(camera.key);
            if (!known) imageSize.set(camera.key, { width: image.width, height: image.height });
            else if (known.width !== image.width || known.height !== image.height) {
              warnings.push(
                `${camera.key}: frame ${globalIndex} is ${image.width}×${image.height}, not ${known.width}×${known.height}`,
              );
            }
            if (frameIndex % imageStatsEvery === 0)
              imageChannelStats(image.jpeg, stats[camera.key] as RunningStats);
            const encoder = encoders.get(camera.key);
            if (encoder) await encoder.write(image.jpeg);
            else {
              cells.push({
                bytes: image.jpeg,
                path: `frame-${String(episodeIndex).padStart(6, "0")}-${String(frameIndex).padStart(6, "0")}.jpg`,
              });
              dataBytes += image.jpeg.byteLength;
            }
          }
          cells.push(timestamp, BigInt(frameIndex), BigInt(episodeIndex), BigInt(globalIndex), 0n);
          table.append(cells);
          dataBytes += 64;
          (stats["observation.state"] as RunningStats).add(state);
          (stats.action as RunningStats).add(action);
          (stats.timestamp as RunningStats).add([timestamp]);
          (stats.frame_index as RunningStats).add([frameIndex]);
          (stats.episode_index as RunningStats).add([episodeIndex]);
          (stats.index as RunningStats).add([globalIndex]);
          (stats.task_index as RunningStats).add([0]);
          frameIndex++;
          globalIndex++;
        };
        const flush = async (): Promise<void> => {
          while (
            pending.length > 0 &&
            (pending[0] as (typeof pending)[number]).images.every((i) => i !== undefined)
          ) {
            await emit(pending.shift() as (typeof pending)[number]);
          }
          // A camera that stays silent: give up on frames waiting for it for longer than two seconds.
          while (pending.length > 2 * plan.fps) {
            pending.shift();
            droppedNoImage++;
          }
        };
        let k = 0;
        const frameTime = (i: number): bigint => item.startNs + BigInt(i) * plan.periodNs;
        const closeFramesBefore = async (tNs: bigint | undefined): Promise<void> => {
          while (
            k < planned.maxFrames &&
            frameTime(k) < item.endNs &&
            (tNs === undefined || frameTime(k) < tNs)
          ) {
            pending.push({ k, tNs: frameTime(k), images: [...latest], command });
            k++;
            await flush();
          }
        };
        const topics = [...plan.cameras.map((c) => c.topic), ...(commandTopic ? [commandTopic] : [])];
        if (topics.length > 0) {
          const lookback = item.startNs > IMAGE_LOOKBACK_NS ? item.startNs - IMAGE_LOOKBACK_NS : 0n;
          for await (const m of reader.messages({
            topics,
            startNs: lookback,
            endNs: item.endNs - 1n,
            decode: true,
          })) {
            await closeFramesBefore(m.logTimeNs);
            if (m.topic === commandTopic) {
              const d = m.decoded as
                | { twist?: unknown; linear?: { x?: unknown }; angular?: { z?: unknown } }
                | undefined;
              const twist = (d?.twist ?? d) as
                | { linear?: { x?: unknown }; angular?: { z?: unknown } }
                | undefined;
              const vx = Number(twist?.linear?.x);
              const wz = Number(twist?.angular?.z);
              if (Number.isFinite(vx) && Number.isFinite(wz)) command = [vx, wz];
              continue;
            }
            const i = cameraIndex.get(m.topic);
            if (i === undefined) continue;
            const frame = cameraFrameOf(m.decoded);
            if (!frame) continue;
            latest[i] = frame;
            for (const p of pending) if (p.images[i] === undefined) p.images[i] = frame;
            await flush();
          }
        }
        await closeFramesBefore(undefined);
        await flush();
        droppedNoImage += pending.length;
        pending.length = 0;
        if (droppedNoPose > 0)
          warnings.push(
            `episode of ${item.captureId}: ${droppedNoPose} frame(s) without an ego pose dropped`,
          );
        if (droppedNoImage > 0)
          warnings.push(
            `episode of ${item.captureId}: ${droppedNoImage} frame(s) without every camera dropped`,
          );
        if (frameIndex === 0) {
          warnings.push(`item ${item.captureId} ${item.startNs}..${item.endNs}: no frames; left out`);
          continue;
        }
        const { chunk, file } = chunkFile(dataFileCount);
        const videos: EpisodeRecord["videos"] = {};
        for (const [key, enc] of encoders) {
          videos[key] = {
            chunk: 0,
            file: 0,
            fromSecs: (videoStart.get(key) ?? 0) / plan.fps,
            toSecs: enc.frames / plan.fps,
          };
        }
        episodes.push({
          episodeIndex,
          item,
          length: frameIndex,
          fromIndex,
          dataChunk: chunk,
          dataFile: file,
          videos,
          stats,
        });
        for (const [key, s] of Object.entries(stats)) {
          const total = datasetStats[key] ?? new RunningStats(s.dims);
          total.merge(s);
          datasetStats[key] = total;
        }
        if (dataBytes >= plan.dataFileBytes) await closeDataFile();
      } finally {
        await reader?.close();
        await source.release();
      }
    }
    await closeDataFile();
    for (const enc of encoders.values()) await enc.finish();
    if (episodes.length === 0) {
      throw new StrataError(
        "STRATA_E_NOT_FOUND",
        `no item of ${plan.versionId} gave any frame`,
        {},
        {
          hint: warnings.slice(0, 5).join("; ") || undefined,
        },
      );
    }
    await writeMeta(plan, staging, episodes, datasetStats, imageSize, warnings);
  } catch (error) {
    for (const enc of encoders.values()) enc.kill();
    await staging.close().catch(() => undefined);
    throw error;
  }
  await staging.close();
  return {
    outDir,
    episodes: episodes.length,
    frames: globalIndex,
    video: plan.video,
    cameras: plan.cameras.map((c) => c.key),
    dataFiles,
    videoFiles: [...encoders.values()].map((e) => path.relative(outDir, e.file)),
    action: plan.action.kind,
    warnings,
  };
}

function featureStats(s: RunningStats, image: boolean): Record<string, unknown> {
  const { min, max, mean, std, count } = s.summary();
  // Images: shape (3, 1, 1) per statistic, as LeRobot keeps them.
  const shape = (v: number[]) => (image ? v.map((x) => [[x]]) : v);
  return { min: shape(min), max: shape(max), mean: shape(mean), std: shape(std), count: [count] };
}

async function writeMeta(
  plan: LerobotPlan,
  staging: ParquetStaging,
  episodes: EpisodeRecord[],
  datasetStats: Record<string, RunningStats>,
  imageSize: Map<string, { width: number; height: number }>,
  warnings: string[],
): Promise<void> {
  const outDir = plan.outDir;
  const totalFrames = episodes.reduce((n, e) => n + e.length, 0);
  const scalar = (dtype: string) => ({ dtype, shape: [1], names: null });
  const features: Record<string, unknown> = {
    "observation.state": { dtype: "float32", shape: [STATE_NAMES.length], names: [...STATE_NAMES] },
    action: { dtype: "float32", shape: [ACTION_NAMES.length], names: [...ACTION_NAMES] },
  };
  for (const camera of plan.cameras) {
    const size = imageSize.get(camera.key) ?? { width: 0, height: 0 };
    // Video frames are scaled to even sizes for H.264.
    const height = plan.video ? size.height - (size.height % 2) : size.height;
    const width = plan.video ? size.width - (size.width % 2) : size.width;
    features[camera.key] = plan.video
      ? {
          dtype: "video",
          shape: [height, width, 3],
          names: ["height", "width", "channels"],
          info: {
            "video.height": height,
            "video.width": width,
            "video.codec": "h264",
            "video.pix_fmt": "yuv420p",
            "video.is_depth_map": false,
            "video.fps": plan.fps,
            "video.channels": 3,
            has_audio: false,
          },
        }
      : { dtype: "image", shape: [height, width, 3], names: ["height", "width", "channels"] };
  }
  Object.assign(features, {
    timestamp: scalar("float32"),
    frame_index: scalar("int64"),
    episode_index: scalar("int64"),
    index: scalar("int64"),
    task_index: scalar("int64"),
  });
  const splits: Record<string, string> = {};
  for (const split of SPLIT_ORDER) {
    const of = episodes.filter((e) => e.item.split === split);
    if (of.length > 0)
      splits[split] =
        `${(of[0] as EpisodeRecord).episodeIndex}:${(of.at(-1) as EpisodeRecord).episodeIndex + 1}`;
  }
  const info = {
    codebase_version: LEROBOT_CODEBASE_VERSION,
    robot_type: plan.robotType,
    total_episodes: episodes.length,
    total_frames: totalFrames,
    total_tasks: 1,
    chunks_size: CHUNKS_SIZE,
    data_files_size_in_mb: Math.round(plan.dataFileBytes / (1024 * 1024)),
    video_files_size_in_mb: 500,
    fps: plan.fps,
    splits,
    data_path: DATA_PATH,
    video_path: plan.video ? VIDEO_PATH : null,
    features,
  };
  await mkdir(path.join(outDir, "meta", "episodes", "chunk-000"), { recursive: true });
  await writeJson(path.join(outDir, "meta", "info.json"), info);

  const stats: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(datasetStats))
    stats[key] = featureStats(s, key.startsWith("observation.images."));
  await writeJson(path.join(outDir, "meta", "stats.json"), stats);

  const tasks = await staging.table("tasks", [
    { name: "task_index", type: "BIGINT" },
    { name: "task", type: "VARCHAR" },
  ]);
  tasks.append([0n, plan.task]);
  await tasks.copyTo({ to: path.join(outDir, "meta", "tasks.parquet") });
  await tasks.drop();

  const statKeys = Object.keys(datasetStats);
  const columns: StagedColumn[] = [
    { name: "episode_index", type: "BIGINT" },
    { name: "tasks", type: "VARCHAR[]" },
    { name: "length", type: "BIGINT" },
    { name: "data/chunk_index", type: "BIGINT" },
    { name: "data/file_index", type: "BIGINT" },
    { name: "dataset_from_index", type: "BIGINT" },
    { name: "dataset_to_index", type: "BIGINT" },
    ...plan.cameras.flatMap((c): StagedColumn[] =>
      plan.video
        ? [
            { name: `videos/${c.key}/chunk_index`, type: "BIGINT" },
            { name: `videos/${c.key}/file_index`, type: "BIGINT" },
            { name: `videos/${c.key}/from_timestamp`, type: "DOUBLE" },
            { name: `videos/${c.key}/to_timestamp`, type: "DOUBLE" },
          ]
        : [],
    ),
    { name: "meta/episodes/chunk_index", type: "BIGINT" },
    { name: "meta/episodes/file_index", type: "BIGINT" },
    ...statKeys.flatMap((key): StagedColumn[] =>
      ["min", "max", "mean", "std", "count"].map((s) => ({ name: `stats/${key}/${s}`, type: "DOUBLE[]" })),
    ),
    { name: "strata/capture_id", type: "VARCHAR" },
    { name: "strata/capture_sha256", type: "VARCHAR" },
    { name: "strata/start_ns", type: "BIGINT" },
    { name: "strata/end_ns", type: "BIGINT" },
    { name: "strata/split", type: "VARCHAR" },
    { name: "strata/scene_id", type: "VARCHAR" },
  ];
  const meta = await staging.table("episodes", columns);
  for (const e of episodes) {
    const cells: Cell[] = [
      BigInt(e.episodeIndex),
      [plan.task],
      BigInt(e.length),
      BigInt(e.dataChunk),
      BigInt(e.dataFile),
      BigInt(e.fromIndex),
      BigInt(e.fromIndex + e.length),
    ];
    for (const c of plan.cameras) {
      const v = e.videos[c.key];
      if (plan.video)
        cells.push(BigInt(v?.chunk ?? 0), BigInt(v?.file ?? 0), v?.fromSecs ?? 0, v?.toSecs ?? 0);
    }
    cells.push(0n, 0n);
    for (const key of statKeys) {
      const s = e.stats[key];
      const summary = s ? s.summary() : { min: [], max: [], mean: [], std: [], count: 0 };
      cells.push(summary.min, summary.max, summary.mean, summary.std, [summary.count]);
    }
    cells.push(
      e.item.captureId,
      e.item.captureSha256,
      e.item.startNs,
      e.item.endNs,
      e.item.split,
      e.item.sceneId ?? null,
    );
    meta.append(cells);
  }
  await meta.copyTo({
    to: path.join(outDir, "meta", "episodes", "chunk-000", "file-000.parquet"),
    orderBy: ["episode_index"],
  });
  await meta.drop();

  await writeJson(path.join(outDir, "meta", "strata.json"), {
    format: "strata.lerobot/1",
    dataset: plan.datasetName,
    versionId: plan.versionId,
    fps: plan.fps,
    state: { names: STATE_NAMES, frame: "the ego trajectory's fixed frame (e.g. odom); REP 103 axes" },
    action: {
      names: ACTION_NAMES,
      source: plan.action.kind,
      ...(plan.action.kind === "command" ? { topics: plan.action.topics } : {}),
    },
    cameras: plan.cameras,
    episodes: episodes.map((e) => ({
      episodeIndex: e.episodeIndex,
      captureId: e.item.captureId,
      captureSha256: e.item.captureSha256,
      startNs: e.item.startNs.toString(),
      endNs: e.item.endNs.toString(),
      split: e.item.split,
      sceneId: e.item.sceneId ?? null,
      frames: e.length,
    })),
    warnings,
  });
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(value, null, 4)}\n`);
  await rename(`${file}.tmp`, file);
}

/** Removes a partly written dataset directory (after a failure). */
export async function removeLerobotOutput(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
}
