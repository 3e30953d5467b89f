/**
 * The expensive sensors (camera frames: render + JPEG; lidar scans: ray casting) as pure jobs that
 * run on the calling thread or on worker threads. Each source answers its requests strictly in
 * order, and a job's result depends only on its request and setup, so where it runs never changes
 * the bytes of a capture.
 */
import { Worker } from "node:worker_threads";
import { JpegEncoder } from "./jpeg.ts";
import { type CastBox, type LidarPose, LidarScanner, POINT_STEP } from "./lidar.ts";
import {
  type CameraFromOdom,
  CameraRenderer,
  type Lighting,
  type PinholeModel,
  type RenderBox,
} from "./render.ts";
import type { LidarRig } from "./rig.ts";
import { forkRng } from "./rng.ts";
import type { Town } from "./town.ts";

export interface CameraSetup {
  kind: "camera";
  town: Town;
  model: PinholeModel;
  light: Lighting;
  /** Static boxes (buildings, parked cars, kiosks). */
  staticBoxes: RenderBox[];
  jpegQuality: number;
}

export interface CameraRequest {
  pose: CameraFromOdom;
  /** Moving agents at the frame's time. */
  agentBoxes: RenderBox[];
}

export interface LidarSetup {
  kind: "lidar";
  town: Town;
  rig: LidarRig;
  /** Buildings, parked cars and kiosks. */
  staticBoxes: CastBox[];
  seed: number;
  rain: boolean;
  /**
   * Scan results go into this ring of slots (shared with a worker), so no scan allocates: the
   * caller must be done with a scan's bytes before `slots` more scans are taken.
   */
  ring: SharedArrayBuffer;
  slots: number;
}

/** Bytes one lidar ring slot needs. */
export const lidarSlotBytes = (rig: LidarRig): number => rig.columns * rig.elevationsRad.length * POINT_STEP;

export interface LidarRequest {
  pose: LidarPose;
  /** Moving agents at the scan's time. */
  agentBoxes: CastBox[];
}

export interface LidarResult {
  /** Point bytes (point_step 20): a view into the ring, valid until `slots` more scans are taken. */
  data: Uint8Array;
  count: number;
}

export type SensorSetup = CameraSetup | LidarSetup;
type RequestOf<S extends SensorSetup> = S extends CameraSetup ? CameraRequest : LidarRequest;
type ResultOf<S extends SensorSetup> = S extends CameraSetup ? Uint8Array : LidarResult;

/** A job function plus the buffers to transfer with each result. */
export function jobFor(
  setup: SensorSetup,
): (request: unknown) => { result: unknown; transfer: ArrayBuffer[] } {
  if (setup.kind === "camera") {
    const renderer = new CameraRenderer(setup.model);
    const encoder = new JpegEncoder(setup.model.width, setup.model.height, setup.jpegQuality);
    return (request) => {
      const r = request as CameraRequest;
      const bytes = encoder.encode(
        renderer.render(setup.town, setup.staticBoxes, r.agentBoxes, r.pose, setup.light),
      );
      return { result: bytes, transfer: [bytes.buffer as ArrayBuffer] };
    };
  }
  const scanner = new LidarScanner(setup.rig, forkRng(setup.seed, "lidar-noise-table"));
  const rng = forkRng(setup.seed, "lidar");
  const reach = setup.rig.maxRangeM + 60;
  const slotBytes = lidarSlotBytes(setup.rig);
  let scanIndex = 0;
  return (request) => {
    const r = request as LidarRequest;
    const boxes = setup.staticBoxes.filter(
      (b) => Math.abs(b.centerX - r.pose.x) < reach && Math.abs(b.centerY - r.pose.y) < reach,
    );
    for (const agent of r.agentBoxes) boxes.push(agent);
    const { data, count } = scanner.scan(setup.town, boxes, r.pose, rng, { rain: setup.rain });
    const slot = scanIndex++ % setup.slots;
    new Uint8Array(setup.ring, slot * slotBytes, data.byteLength).set(data);
    return { result: { slot, count }, transfer: [] };
  };
}

/** Turns what a job posted into the caller's result (lidar: a view into the shared ring). */
function finish(setup: SensorSetup, posted: unknown): unknown {
  if (setup.kind === "camera") return posted;
  const { slot, count } = posted as { slot: number; count: number };
  return {
    data: new Uint8Array(setup.ring, slot * lidarSlotBytes(setup.rig), count * POINT_STEP),
    count,
  } satisfies LidarResult;
}

/** Results in request order. */
export interface OrderedSource<S extends SensorSetup> {
  request(request: RequestOf<S>): void;
  take(): Promise<ResultOf<S>>;
  close(): Promise<void>;
}

export function inlineSource<S extends SensorSetup>(setup: S): OrderedSource<S> {
  const job = jobFor(setup);
  const queue: Array<RequestOf<S>> = [];
  return {
    request: (request) => {
      queue.push(request);
    },
    take: async () => {
      if (queue.length === 0) throw new Error("nothing requested");
      return finish(setup, job(queue.shift()).result) as ResultOf<S>;
    },
    close: async () => undefined,
  };
}

/** A source on its own worker thread; falls back to the calling thread if a worker cannot start. */
export async function workerSource<S extends SensorSetup>(setup: S): Promise<OrderedSource<S>> {
  let worker: Worker;
  try {
    worker = new Worker(new URL("./sensor-worker.mjs", import.meta.url), {
      workerData: setup,
      // A larger young generation: the jobs make many short-lived objects per frame.
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    });
    await new Promise<void>((resolve, reject) => {
      worker.once("message", (message: unknown) =>
        message === "ready" ? resolve() : reject(new Error(String(message))),
      );
      worker.once("error", reject);
    });
  } catch {
    return inlineSource(setup);
  }
  const waiting: Array<{ resolve: (result: ResultOf<S>) => void; reject: (error: unknown) => void }> = [];
  const results: Array<Promise<ResultOf<S>>> = [];
  let failure: unknown;
  worker.on("message", (message: { result?: ResultOf<S>; error?: string }) => {
    const waiter = waiting.shift();
    if (!waiter) return;
    if (message.error === undefined) waiter.resolve(finish(setup, message.result) as ResultOf<S>);
    else waiter.reject(new Error(`sensor worker failed: ${message.error}`));
  });
  worker.on("error", (error) => {
    failure = error;
    for (const waiter of waiting.splice(0)) waiter.reject(error);
  });
  return {
    request: (request) => {
      const result = new Promise<ResultOf<S>>((resolve, reject) => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        waiting.push({ resolve, reject });
        worker.postMessage(request);
      });
      // Failures surface from take(); keep unobserved rejections quiet until then.
      result.catch(() => undefined);
      results.push(result);
    },
    take: async () => {
      const next = results.shift();
      if (!next) throw new Error("nothing requested");
      return next;
    },
    close: async () => {
      await worker.terminate();
    },
  };
}
