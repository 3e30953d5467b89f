/**
 * Camera frames: render + JPEG-encode, either on this thread or on a worker thread so that the
 * cameras (the most expensive sensor) run beside the lidar and the writer. A frame is a pure
 * function of its request, so where it is made never changes the bytes.
 */
import { Worker } from "node:worker_threads";
import { JpegEncoder } from "./jpeg.ts";
import {
  type CameraFromOdom,
  CameraRenderer,
  type Lighting,
  type PinholeModel,
  type RenderBox,
} from "./render.ts";
import type { Town } from "./town.ts";

export interface CameraSetup {
  town: Town;
  cameras: Array<{ name: string; model: PinholeModel }>;
  light: Lighting;
  /** Static boxes (buildings, parked cars, kiosks). */
  staticBoxes: RenderBox[];
  jpegQuality: number;
}

export interface FrameRequest {
  cameraName: string;
  pose: CameraFromOdom;
  /** Moving agents at the frame's time. */
  agentBoxes: RenderBox[];
}

/** Makes frames on the calling thread. */
export class FrameMaker {
  private readonly renderers = new Map<string, CameraRenderer>();
  private readonly encoders = new Map<string, JpegEncoder>();

  constructor(private readonly setup: CameraSetup) {
    for (const camera of setup.cameras) {
      this.renderers.set(camera.name, new CameraRenderer(camera.model));
      this.encoders.set(
        camera.name,
        new JpegEncoder(camera.model.width, camera.model.height, setup.jpegQuality),
      );
    }
  }

  make(request: FrameRequest): Uint8Array {
    const renderer = this.renderers.get(request.cameraName);
    const encoder = this.encoders.get(request.cameraName);
    if (!renderer || !encoder) throw new Error(`unknown camera ${request.cameraName}`);
    const boxes = this.setup.staticBoxes.concat(request.agentBoxes);
    return encoder.encode(renderer.render(this.setup.town, boxes, request.pose, this.setup.light));
  }
}

/** Frames in request order; at most `ahead` outstanding on the worker. */
export interface FrameSource {
  /** Queues a frame; `take` returns frames in the order they were requested. */
  request(request: FrameRequest): void;
  take(): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function inlineFrameSource(setup: CameraSetup): FrameSource {
  const maker = new FrameMaker(setup);
  const queue: FrameRequest[] = [];
  return {
    request: (request) => {
      queue.push(request);
    },
    take: async () => {
      const next = queue.shift();
      if (!next) throw new Error("no frame requested");
      return maker.make(next);
    },
    close: async () => undefined,
  };
}

/** A frame source backed by one worker thread; falls back to inline frames if it cannot start. */
export async function workerFrameSource(setup: CameraSetup): Promise<FrameSource> {
  let worker: Worker;
  try {
    worker = new Worker(new URL("./camera-worker.mjs", import.meta.url), { workerData: setup });
    await new Promise<void>((resolve, reject) => {
      worker.once("message", (message: unknown) =>
        message === "ready" ? resolve() : reject(new Error(String(message))),
      );
      worker.once("error", reject);
    });
  } catch {
    return inlineFrameSource(setup);
  }
  const pending: Array<{ resolve: (bytes: Uint8Array) => void; reject: (error: unknown) => void }> = [];
  const results: Array<Promise<Uint8Array>> = [];
  let failure: unknown;
  worker.on("message", (message: { bytes?: Uint8Array; error?: string }) => {
    const waiter = pending.shift();
    if (!waiter) return;
    if (message.bytes) waiter.resolve(message.bytes);
    else waiter.reject(new Error(message.error ?? "camera worker failed"));
  });
  worker.on("error", (error) => {
    failure = error;
    for (const waiter of pending.splice(0)) waiter.reject(error);
  });
  return {
    request: (request) => {
      results.push(
        new Promise<Uint8Array>((resolve, reject) => {
          if (failure !== undefined) {
            reject(failure);
            return;
          }
          pending.push({ resolve, reject });
          worker.postMessage(request);
        }),
      );
    },
    take: async () => {
      const next = results.shift();
      if (!next) throw new Error("no frame requested");
      return next;
    },
    close: async () => {
      await worker.terminate();
    },
  };
}
