/**
 * Scene search: the query language of `strata search`, a map of the captures' trajectories with the
 * results' scene windows (click it to search near a point), results with camera thumbnails, and explain.
 */
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, api, collect, type ResponseOf, type TrajectoryMap as TrajectoryMapData } from "../api.ts";
import { nsToDate } from "../format.ts";
import { href } from "../router.ts";
import { imageUrl, pickTopics } from "../scene/ros.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";
import { type PickedPoint, TrajectoryMap } from "./TrajectoryMap.tsx";

type Result = ResponseOf<"searchScenes">;
type Hit = Result["hits"][number];
type Trajectory = TrajectoryMapData["trajectories"][number];

const WITHIN = /within:\([^)]*\)/;

const EXAMPLES = [
  "tag:night limit:20",
  "speedMaxMps > 8 include:quarantined",
  'graph:"pedestrian crossing_path ego within 10m"',
];

export function SearchPage() {
  const [query, setQuery] = useState("include:quarantined limit:20");
  const [explain, setExplain] = useState(false);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const [picked, setPicked] = useState<PickedPoint | undefined>();
  const trajectories = useTrajectories(result?.hits ?? []);

  const pick = (point: PickedPoint) => {
    setPicked(point);
    const within = `within:(${point.xM}, ${point.yM}, ${point.radiusM}m)`;
    setQuery((q) => (WITHIN.test(q) ? q.replace(WITHIN, within) : `${q.trim()} ${within}`.trim()));
  };

  const run = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.search({ q: query, explain: explain ? "true" : undefined }));
    } catch (e) {
      setResult(null);
      setError(e instanceof ApiError ? e : new Error(String(e)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Search</h1>
      <form className="card upload" onSubmit={run} data-testid="search-form">
        <input
          name="q"
          className="grow"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          placeholder="tag:night speedMaxMps > 10 within:(12.5, -3, 50m)"
        />
        <label>
          <input type="checkbox" checked={explain} onChange={(e) => setExplain(e.target.checked)} /> explain
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "Searching…" : "Search"}
        </button>
        <span className="muted small">
          Examples:{" "}
          {EXAMPLES.map((x) => (
            <code key={x}>{x} </code>
          ))}
        </span>
      </form>
      <ErrorNote error={error} />
      <ErrorNote error={trajectories.error} />
      {trajectories.data && (
        <TrajectoryMap
          trajectories={trajectories.data}
          hits={result?.hits ?? []}
          picked={picked}
          onPick={pick}
        />
      )}
      {result && (
        <>
          <p className="muted" data-testid="search-summary">
            {result.hits.length} scene{result.hits.length === 1 ? "" : "s"} in {result.latencyMs} ms
          </p>
          {result.hits.length > 0 && (
            <table data-testid="search-results">
              <thead>
                <tr>
                  <th>camera</th>
                  <th>scene</th>
                  <th>capture</th>
                  <th>window</th>
                  <th>site / rig</th>
                  <th>tags</th>
                  <th className="num">max speed</th>
                  <th className="num">distance</th>
                </tr>
              </thead>
              <tbody>
                {result.hits.map((hit, i) => (
                  <tr key={hit.sceneId}>
                    <td>{i < 12 ? <Thumbnail hit={hit} /> : null}</td>
                    <td className="mono small">{hit.sceneId}</td>
                    <td>
                      <a href={href.view(hit.captureId)}>{hit.captureId}</a>
                      {hit.quarantined && <span className="status status-quarantined">quarantined</span>}
                    </td>
                    <td className="small">
                      {nsToDate(hit.startNs)} +
                      {(Number(BigInt(hit.endNs) - BigInt(hit.startNs)) / 1e9).toFixed(1)} s
                    </td>
                    <td>
                      {hit.site || "—"} / {hit.rig || "—"}
                    </td>
                    <td className="small">{hit.tags.join(", ") || "—"}</td>
                    <td className="num">{feature(hit, "speedMaxMps", " m/s")}</td>
                    <td className="num">{hit.distance === undefined ? "—" : hit.distance.toFixed(3)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {result.explain !== undefined && (
            <details open>
              <summary>Explain</summary>
              <pre data-testid="explain">{JSON.stringify(result.explain, null, 2)}</pre>
            </details>
          )}
          <details>
            <summary>Query plan</summary>
            <pre>{JSON.stringify(result.plan, null, 2)}</pre>
          </details>
        </>
      )}
    </section>
  );
}

function feature(hit: Hit, name: string, unit: string): string {
  const value = hit.features[name];
  return typeof value === "number" ? `${value.toFixed(1)}${unit}` : "—";
}

/** The capture's camera image at the scene's start (a compressed image topic, front camera preferred). */
function Thumbnail({ hit }: { hit: Hit }) {
  const image = useAsync(async () => {
    const detail = await api.getCapture(hit.captureId);
    const topic = pickTopics(detail.topics).image;
    if (!topic) return undefined;
    const [line] = await collect(
      api.messages(hit.captureId, {
        topics: [topic],
        startNs: BigInt(hit.startNs),
        endNs: BigInt(hit.endNs),
        limit: 1,
      }),
    );
    return line ? imageUrl(line.message) : undefined;
  }, [hit.captureId, hit.startNs]);
  if (!image.data) return <span className="muted small">{image.loading ? "…" : "no image"}</span>;
  return <img className="thumb" src={image.data} alt={`camera at ${hit.sceneId}`} data-testid="thumbnail" />;
}

/** The newest captures' trajectories, plus those of result captures not among them. */
function useTrajectories(hits: readonly Hit[]) {
  const base = useAsync(async () => (await api.trajectories({ maxPoints: 400 })).trajectories, []);
  const [extra, setExtra] = useState<Trajectory[]>([]);
  const missing = [...new Set(hits.map((h) => h.captureId))]
    .filter((id) => !base.data?.some((t) => t.captureId === id) && !extra.some((t) => t.captureId === id))
    .slice(0, 50);
  const missingKey = missing.join(",");
  // biome-ignore lint/correctness/useExhaustiveDependencies: missingKey stands for missing.
  useEffect(() => {
    if (!base.data || missing.length === 0) return;
    let current = true;
    api.trajectories({ captureIds: missing, maxPoints: 400 }).then(
      (more) => current && setExtra((known) => [...known, ...more.trajectories]),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [base.data, missingKey]);
  return { ...base, data: base.data ? [...base.data, ...extra] : undefined };
}
