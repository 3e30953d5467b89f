/**
 * A 2D map of captures' ego trajectories (GET /api/trajectories) with the current search results' scene
 * windows drawn over them. Clicking the map picks a point for the query's `within:` predicate.
 */
import { type MouseEvent, useMemo, useRef } from "react";
import type { ResponseOf, TrajectoryMap as TrajectoryMapData } from "../api.ts";

type Trajectory = TrajectoryMapData["trajectories"][number];
type Hit = ResponseOf<"searchScenes">["hits"][number];

const WIDTH = 900;
const HEIGHT = 460;
const PAD = 36;
const PALETTE = ["#1c7ed6", "#5f3dc4", "#0ca678", "#ae3ec9", "#1098ad", "#74b816", "#f76707", "#868e96"];

export interface PickedPoint {
  xM: number;
  yM: number;
  radiusM: number;
}

/** Round tick spacing (1, 2 or 5 × 10^k) giving about `count` ticks over `span`. */
function tickStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const scaled = raw / power;
  return (scaled < 1.5 ? 1 : scaled < 3.5 ? 2 : scaled < 7.5 ? 5 : 10) * power;
}

/** The thinned poses of a trajectory that fall in a scene's window (with the window's bounds). */
function windowPoints(t: Trajectory, hit: Hit): Array<[number, number]> {
  if (t.startNs === null) return [];
  const startSecs = Number(BigInt(hit.startNs) - BigInt(t.startNs)) / 1e9;
  const endSecs = Number(BigInt(hit.endNs) - BigInt(t.startNs)) / 1e9;
  const out: Array<[number, number]> = [];
  t.tOffsetSecs.forEach((secs, i) => {
    if (secs >= startSecs && secs <= endSecs) out.push([t.xM[i] ?? 0, t.yM[i] ?? 0]);
  });
  return out;
}

export function TrajectoryMap({
  trajectories,
  hits,
  picked,
  onPick,
}: {
  trajectories: readonly Trajectory[];
  hits: readonly Hit[];
  picked: PickedPoint | undefined;
  onPick: (point: PickedPoint) => void;
}) {
  const svgRef = useRef<SVGSVGElement>(null);
  const view = useMemo(() => {
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    const extend = (x: number, y: number) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) return;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    };
    for (const t of trajectories) t.xM.forEach((x, i) => extend(x, t.yM[i] ?? 0));
    for (const h of hits) if (trajectories.some((t) => t.captureId === h.captureId)) extend(h.xM, h.yM);
    if (!Number.isFinite(minX)) return undefined;
    // Square metres: one scale on both axes, with a little room around.
    const spanX = Math.max(maxX - minX, 1);
    const spanY = Math.max(maxY - minY, 1);
    const scale = Math.min((WIDTH - 2 * PAD) / spanX, (HEIGHT - 2 * PAD) / spanY);
    const cx = (minX + maxX) / 2;
    const cy = (minY + maxY) / 2;
    const toScreen = (x: number, y: number): [number, number] => [
      WIDTH / 2 + (x - cx) * scale,
      HEIGHT / 2 - (y - cy) * scale,
    ];
    const toWorld = (sx: number, sy: number): [number, number] => [
      cx + (sx - WIDTH / 2) / scale,
      cy - (sy - HEIGHT / 2) / scale,
    ];
    const step = tickStep(Math.max((WIDTH - 2 * PAD) / scale, (HEIGHT - 2 * PAD) / scale), 8);
    return { toScreen, toWorld, scale, step };
  }, [trajectories, hits]);

  if (!view) return <p className="muted">No capture has a stored trajectory yet.</p>;
  const { toScreen, toWorld, scale, step } = view;
  const [worldLeft, worldTop] = toWorld(0, 0);
  const [worldRight, worldBottom] = toWorld(WIDTH, HEIGHT);
  const gridX: number[] = [];
  for (let x = Math.ceil(worldLeft / step) * step; x <= worldRight; x += step) gridX.push(x);
  const gridY: number[] = [];
  for (let y = Math.ceil(worldBottom / step) * step; y <= worldTop; y += step) gridY.push(y);
  const hitCaptures = new Set(hits.map((h) => h.captureId));
  const colour = new Map(trajectories.map((t, i) => [t.captureId, PALETTE[i % PALETTE.length] ?? "#495057"]));
  const windows = hits.flatMap((hit) => {
    const t = trajectories.find((x) => x.captureId === hit.captureId);
    const points = t ? windowPoints(t, hit) : [];
    return points.length > 0 ? [{ hit, points }] : [];
  });
  const polyline = (points: Array<[number, number]>) =>
    points
      .map(([x, y]) =>
        toScreen(x, y)
          .map((v) => v.toFixed(1))
          .join(","),
      )
      .join(" ");
  const frames = [...new Set(trajectories.map((t) => t.frame))];

  const click = (event: MouseEvent<SVGSVGElement>) => {
    const box = svgRef.current?.getBoundingClientRect();
    if (!box) return;
    const sx = ((event.clientX - box.left) / box.width) * WIDTH;
    const sy = ((event.clientY - box.top) / box.height) * HEIGHT;
    const [xM, yM] = toWorld(sx, sy);
    // A radius of about 12 screen pixels, at least 1 m.
    const radiusM = Math.max(1, Number((12 / scale).toPrecision(2)));
    onPick({ xM: Number(xM.toFixed(2)), yM: Number(yM.toFixed(2)), radiusM });
  };

  return (
    <div className="graph-wrap">
      <div className="legend small">
        {trajectories.map((t) => (
          <span
            key={t.captureId}
            className={hitCaptures.size && !hitCaptures.has(t.captureId) ? "muted" : ""}
          >
            <span className="swatch" style={{ background: colour.get(t.captureId) }} />
            {t.captureId}
            {t.rig ? ` · ${t.rig}` : ""} ({t.lengthM.toFixed(0)} m)
          </span>
        ))}
        <span>
          <span className="swatch" style={{ background: "#e8590c" }} />
          scene windows of the results ({windows.length})
        </span>
      </div>
      {/* biome-ignore lint/a11y/useKeyWithClickEvents: the query box is the keyboard way to set within:. */}
      <svg
        ref={svgRef}
        className="map"
        data-testid="trajectory-map"
        data-trajectories={trajectories.length}
        data-windows={windows.length}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        onClick={click}
        role="img"
        aria-label={`map of ${trajectories.length} trajectories`}
      >
        <rect width={WIDTH} height={HEIGHT} fill="#fbfcfd" />
        {gridX.map((x) => {
          const [sx] = toScreen(x, 0);
          return (
            <g key={`x${x}`}>
              <line x1={sx} x2={sx} y1={0} y2={HEIGHT} stroke="#e9ecef" />
              <text x={sx + 2} y={HEIGHT - 4} fontSize={10} fill="#868e96">
                {Number(x.toPrecision(6))} m
              </text>
            </g>
          );
        })}
        {gridY.map((y) => {
          const [, sy] = toScreen(0, y);
          return (
            <g key={`y${y}`}>
              <line x1={0} x2={WIDTH} y1={sy} y2={sy} stroke="#e9ecef" />
              <text x={2} y={sy - 2} fontSize={10} fill="#868e96">
                {Number(y.toPrecision(6))} m
              </text>
            </g>
          );
        })}
        {trajectories.map((t) => {
          const dim = hitCaptures.size > 0 && !hitCaptures.has(t.captureId);
          const first = toScreen(t.xM[0] ?? 0, t.yM[0] ?? 0);
          return (
            <g key={t.captureId} data-capture={t.captureId} opacity={dim ? 0.35 : 1}>
              <polyline
                points={polyline(t.xM.map((x, i) => [x, t.yM[i] ?? 0]))}
                fill="none"
                stroke={colour.get(t.captureId)}
                strokeWidth={1.8}
                strokeLinejoin="round"
              >
                <title>{`${t.captureId}: ${t.poseCount} poses from ${t.source} in ${t.frame}`}</title>
              </polyline>
              <circle cx={first[0]} cy={first[1]} r={3.5} fill={colour.get(t.captureId)} />
            </g>
          );
        })}
        {windows.map(({ hit, points }) => {
          const [sx, sy] = toScreen(hit.xM, hit.yM);
          return (
            <g key={hit.sceneId} data-scene={hit.sceneId}>
              <polyline
                points={polyline(points)}
                fill="none"
                stroke="#e8590c"
                strokeWidth={5}
                strokeOpacity={0.75}
                strokeLinecap="round"
              />
              <circle cx={sx} cy={sy} r={4} fill="#fff" stroke="#e8590c" strokeWidth={2}>
                <title>{`${hit.sceneId} (${hit.tags.join(", ") || "no tags"})`}</title>
              </circle>
            </g>
          );
        })}
        {picked && (
          <g data-testid="picked-point">
            <circle
              cx={toScreen(picked.xM, picked.yM)[0]}
              cy={toScreen(picked.xM, picked.yM)[1]}
              r={picked.radiusM * scale}
              fill="#d0ebff"
              fillOpacity={0.4}
              stroke="#1c6ed4"
              strokeDasharray="4 3"
            />
            <circle
              cx={toScreen(picked.xM, picked.yM)[0]}
              cy={toScreen(picked.xM, picked.yM)[1]}
              r={3}
              fill="#1c6ed4"
            />
          </g>
        )}
      </svg>
      <p className="small muted">
        Positions in metres in each capture's trajectory frame ({frames.join(", ")}); dots mark the start of
        each trajectory and the centre of each scene. Click the map to search within {""}
        {Math.max(1, Number((12 / scale).toPrecision(2)))} m of a point.
      </p>
    </div>
  );
}
