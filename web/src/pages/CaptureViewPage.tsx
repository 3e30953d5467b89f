/**
 * The capture view: a three.js scene (trajectory, lidar frame, agents' boxes) beside the camera image,
 * with a time slider. Everything shown is decoded from the capture's own messages over the messages route.
 */
import { useEffect, useMemo, useRef, useState } from "react";
import { api, type CaptureDetail, collect, type MessageLine } from "../api.ts";
import { formatDuration } from "../format.ts";
import { href } from "../router.ts";
import {
  type Box,
  boxesOf,
  compose,
  apply,
  decodePointCloud,
  frustumOf,
  IDENTITY,
  imageUrl,
  type Pose,
  pickTopics,
  poseAt,
  type SceneTopics,
  StaticTree,
  type Trajectory,
  trajectoryFrom,
  transformsOf,
} from "../scene/ros.ts";
import { Scene3D } from "../scene/Scene3D.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";

interface Loaded {
  detail: CaptureDetail;
  topics: SceneTopics;
  trajectory?: Trajectory;
  tree: StaticTree;
  startNs: bigint;
  endNs: bigint;
}

async function load(captureId: string): Promise<Loaded> {
  const detail = await api.getCapture(captureId);
  const topics = pickTopics(detail.topics);
  const startNs = BigInt(detail.startTimeNs ?? "0");
  const endNs = BigInt(detail.endTimeNs ?? "0");
  const durationNs = endNs - startNs;
  const tree = new StaticTree();
  let trajectory: Trajectory | undefined;
  const jobs: Promise<void>[] = [];
  if (topics.tfStatic) {
    const topic = topics.tfStatic;
    jobs.push(
      collect(api.messages(captureId, { topics: [topic], limit: 1000 })).then((lines) => {
        for (const line of lines) tree.add(transformsOf(line.message));
      }),
    );
  }
  if (topics.trajectory) {
    const { topic, kind } = topics.trajectory;
    const count = detail.topics.find((t) => t.topic === topic)?.messageCount ?? 0;
    // Odometry and poses: about 5000 samples at most. TF carries many frames per topic, so it is only
    // thinned when very large.
    const everyNs =
      kind === "tf"
        ? count > 20_000
          ? durationNs / 20_000n
          : undefined
        : count > 5000
          ? durationNs / 5000n
          : undefined;
    jobs.push(
      collect(api.messages(captureId, { topics: [topic], everyNs })).then((lines) => {
        trajectory = trajectoryFrom(kind, lines);
      }),
    );
  }
  await Promise.all(jobs);
  return { detail, topics, trajectory, tree, startNs, endNs };
}

/** The first message of a topic at or after timeNs (within windowNs). */
async function firstAt(
  captureId: string,
  topic: string | undefined,
  timeNs: bigint,
  signal: AbortSignal,
  windowNs = 2_000_000_000n,
): Promise<MessageLine | undefined> {
  if (!topic) return undefined;
  const lines = await collect(
    api.messages(captureId, { topics: [topic], startNs: timeNs, endNs: timeNs + windowNs, limit: 1 }, signal),
  );
  return lines[0];
}

export function CaptureViewPage({ captureId }: { captureId: string }) {
  const state = useAsync(() => load(captureId), [captureId]);
  if (state.error) return <ErrorNote error={state.error} />;
  if (!state.data) return <p className="muted">Loading the capture's trajectory…</p>;
  return <View loaded={state.data} />;
}

interface Frame {
  timeNs: bigint;
  cloud?: { topic: string; count: number; frameId: string; note?: string };
  boxes?: { topic: string; count: number };
  frusta?: { topics: string[]; missing: string[] };
  image?: { topic: string; url?: string; timeNs: string };
  error?: string;
}

function View({ loaded }: { loaded: Loaded }) {
  const { detail, topics, trajectory, tree, startNs, endNs } = loaded;
  const canvas = useRef<HTMLCanvasElement>(null);
  const scene = useRef<Scene3D | null>(null);
  const [sceneError, setSceneError] = useState<string | null>(null);
  const durationMs = Number((endNs - startNs) / 1_000_000n);
  const [offsetMs, setOffsetMs] = useState(() => Math.round(durationMs / 2));
  const [frame, setFrame] = useState<Frame | null>(null);
  const timeNs = startNs + BigInt(offsetMs) * 1_000_000n;

  const worldFrom = useMemo(
    () =>
      (frameId: string, atNs: bigint): { pose: Pose; note?: string } => {
        if (!trajectory || trajectory.poses.length === 0) return { pose: IDENTITY };
        if (frameId === trajectory.fixedFrame) return { pose: IDENTITY };
        const ego = poseAt(trajectory.poses, atNs)?.pose ?? IDENTITY;
        if (!frameId || frameId === trajectory.bodyFrame) return { pose: ego };
        const bodyFromSensor = tree.lookup(trajectory.bodyFrame, frameId);
        if (bodyFromSensor) return { pose: compose(ego, bodyFromSensor) };
        return {
          pose: ego,
          note: `frame ${frameId} is not linked to ${trajectory.bodyFrame}: drawn at the base`,
        };
      },
    [trajectory, tree],
  );

  useEffect(() => {
    if (!canvas.current) return;
    try {
      const created = new Scene3D(canvas.current);
      scene.current = created;
      created.setTrajectory(trajectory?.poses.map((p) => p.t) ?? []);
      return () => {
        created.dispose();
        scene.current = null;
      };
    } catch (e) {
      setSceneError(`3D view unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, [trajectory]);

  // Ego pose follows the slider at once; sensor data loads after the slider rests.
  useEffect(() => {
    if (!trajectory) return;
    const at = poseAt(trajectory.poses, timeNs);
    scene.current?.setEgo(at?.pose, at?.index ?? -1);
    if (at) scene.current?.follow(at.pose.t);
  }, [trajectory, timeNs]);

  useEffect(() => {
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const [cloudLine, objectsLine, imageLine, ...infoLines] = await Promise.all([
          firstAt(detail.captureId, topics.pointCloud, timeNs, controller.signal),
          firstAt(detail.captureId, topics.objects, timeNs, controller.signal),
          firstAt(detail.captureId, topics.image, timeNs, controller.signal),
          ...topics.cameraInfos.map((topic) => firstAt(detail.captureId, topic, timeNs, controller.signal)),
        ]);
        if (controller.signal.aborted) return;
        const next: Frame = { timeNs };
        const cloud = cloudLine ? decodePointCloud(cloudLine.message) : undefined;
        if (cloud && cloudLine) {
          const { pose, note } = worldFrom(cloud.frameId, BigInt(cloudLine.logTimeNs));
          const world = new Float32Array(cloud.positions.length);
          for (let i = 0; i < cloud.count; i++) {
            const p = apply(pose, {
              x: cloud.positions[i * 3] ?? 0,
              y: cloud.positions[i * 3 + 1] ?? 0,
              z: cloud.positions[i * 3 + 2] ?? 0,
            });
            world[i * 3] = p.x;
            world[i * 3 + 1] = p.y;
            world[i * 3 + 2] = p.z;
          }
          scene.current?.setCloud(world, cloud.values);
          next.cloud = { topic: cloudLine.topic, count: cloud.count, frameId: cloud.frameId, note };
        } else scene.current?.setCloud(undefined);
        const boxes: Box[] = objectsLine ? boxesOf(objectsLine.message) : [];
        scene.current?.setBoxes(
          boxes.map((b) => {
            const { pose } = worldFrom(b.frameId, BigInt(objectsLine?.logTimeNs ?? timeNs));
            const placed = compose(pose, { t: b.center, q: b.q });
            return { ...b, center: placed.t, q: placed.q };
          }),
        );
        if (objectsLine) next.boxes = { topic: objectsLine.topic, count: boxes.length };
        // Camera frusta from the capture's own calibration: CameraInfo intrinsics, /tf_static extrinsics.
        const placedFrusta: { x: number; y: number; z: number }[][] = [];
        const frusta = { topics: [] as string[], missing: [] as string[] };
        for (const line of infoLines) {
          const frustum = line ? frustumOf(line.message) : undefined;
          if (!line || !frustum) continue;
          const { pose, note } = worldFrom(frustum.frameId, BigInt(line.logTimeNs));
          if (note) frusta.missing.push(line.topic);
          else {
            placedFrusta.push(frustum.points.map((p) => apply(pose, p)));
            frusta.topics.push(line.topic);
          }
        }
        scene.current?.setFrusta(placedFrusta);
        if (infoLines.length > 0) next.frusta = frusta;
        if (imageLine)
          next.image = {
            topic: imageLine.topic,
            url: imageUrl(imageLine.message),
            timeNs: imageLine.logTimeNs,
          };
        setFrame(next);
      } catch (e) {
        if (!controller.signal.aborted)
          setFrame({ timeNs, error: e instanceof Error ? e.message : String(e) });
      }
    }, 200);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [detail.captureId, topics, timeNs, worldFrom]);

  const secs = (ns: bigint | string) => (Number(BigInt(ns) - startNs) / 1e9).toFixed(2);

  return (
    <section className="capture-view">
      <p>
        <a href={href.capture(detail.captureId)}>← {detail.captureId}</a>
      </p>
      <h1>3D view</h1>
      <div className="slider">
        <input
          type="range"
          data-testid="time-slider"
          min={0}
          max={Math.max(durationMs, 1)}
          step={Math.max(1, Math.round(durationMs / 2000))}
          value={offsetMs}
          onChange={(e) => setOffsetMs(Number(e.target.value))}
        />
        <span className="mono">
          t = {(offsetMs / 1000).toFixed(2)} s / {formatDuration(durationMs / 1000)}
        </span>
      </div>
      <div className="view-grid">
        <div className="scene-box">
          <canvas ref={canvas} data-testid="scene" className="scene" />
          {sceneError && <p className="error">{sceneError}</p>}
        </div>
        <aside className="camera">
          <h3>Camera</h3>
          {!topics.image ? (
            <p className="muted">This capture has no compressed camera images.</p>
          ) : frame?.image?.url ? (
            <figure>
              <img
                data-testid="camera-image"
                src={frame.image.url}
                alt={`${frame.image.topic} at ${secs(frame.image.timeNs)} s`}
              />
              <figcaption className="muted">
                {frame.image.topic} at {secs(frame.image.timeNs)} s
              </figcaption>
            </figure>
          ) : (
            <p className="muted">{frame ? "No image within 2 s of this time." : "Loading…"}</p>
          )}
          <h3>Camera frusta</h3>
          <p className="muted" data-testid="frusta">
            {topics.cameraInfos.length === 0
              ? "No CameraInfo topic in this capture."
              : frame?.frusta
                ? `${frame.frusta.topics.length ? `Drawn from ${frame.frusta.topics.join(", ")} (intrinsics) and the static transforms (extrinsics).` : ""}${frame.frusta.missing.length ? ` Not linked to the base frame: ${frame.frusta.missing.join(", ")}.` : ""}`
                : "No CameraInfo within 2 s of this time."}
          </p>
        </aside>
      </div>
      <ul className="scene-status" data-testid="scene-status">
        <li>
          Trajectory:{" "}
          {trajectory && trajectory.poses.length > 0
            ? `${topics.trajectory?.topic} → ${trajectory.bodyFrame} in ${trajectory.fixedFrame || "its frame"}, ${trajectory.poses.length} poses`
            : "no odometry, pose or TF topic with a body frame in this capture"}
        </li>
        <li>
          Lidar:{" "}
          {!topics.pointCloud
            ? "no PointCloud2 topic"
            : frame?.cloud
              ? `${frame.cloud.topic}: ${frame.cloud.count.toLocaleString()} points in ${frame.cloud.frameId || "?"}${frame.cloud.note ? ` (${frame.cloud.note})` : ""}`
              : "no frame within 2 s of this time"}
        </li>
        <li>
          Agents:{" "}
          {!topics.objects
            ? "no object topic"
            : frame?.boxes
              ? `${frame.boxes.topic}: ${frame.boxes.count} boxes`
              : "no message within 2 s of this time"}
        </li>
        {frame?.error && <li className="error">{frame.error}</li>}
      </ul>
    </section>
  );
}
