/** The metrics cockpit, read from the server's own /metrics (refreshed every 5 s). */
import { useEffect } from "react";
import { api, type Cockpit } from "../api.ts";
import { formatBytes, formatDuration, nsToDate } from "../format.ts";
import { parsePrometheus, routeLatencies, type Sample, valueOf } from "../prom.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";

const ms = (value: number): string =>
  value === Infinity ? "> 30 s" : value < 1 ? `≤ ${value} ms` : `≤ ${value} ms`;

export function MetricsPage() {
  const metrics = useAsync(async () => parsePrometheus(await api.metricsText()), []);
  const cockpit = useAsync(() => api.cockpit(), []);
  const { reload } = metrics;
  const reloadCockpit = cockpit.reload;
  useEffect(() => {
    const timer = setInterval(reload, 5000);
    // The cockpit reads the catalog (and each read is audited): once a minute is plenty.
    const slow = setInterval(reloadCockpit, 60_000);
    return () => {
      clearInterval(timer);
      clearInterval(slow);
    };
  }, [reload, reloadCockpit]);
  const samples = metrics.data;
  return (
    <section>
      <h1>Metrics</h1>
      <p className="muted">
        From this server process's <a href="/metrics">/metrics</a> (Prometheus format; scrape it with a viewer
        token).
      </p>
      <ErrorNote error={metrics.error} />
      {samples && (
        <>
          <div className="cards" data-testid="metrics">
            <Stat
              label="captures in the catalog"
              value={valueOf(samples, "strata_captures").toLocaleString()}
            />
            <Stat
              label="ingests (created / existing / failed)"
              value={["created", "existing", "failed"]
                .map((outcome) => valueOf(samples, "strata_ingests_total", { outcome }))
                .join(" / ")}
            />
            <Stat
              label="ingest throughput (average)"
              value={throughput(
                valueOf(samples, "strata_ingest_bytes_total"),
                valueOf(samples, "strata_ingest_duration_seconds_total"),
              )}
            />
            <Stat
              label="last ingest throughput"
              value={`${formatBytes(valueOf(samples, "strata_ingest_last_throughput_bytes_per_second"))}/s`}
            />
            <Stat label="uploaded" value={formatBytes(valueOf(samples, "strata_upload_bytes_total"))} />
            <Stat
              label="ingest queue depth / running"
              value={`${valueOf(samples, "strata_ingest_queue_depth")} / ${valueOf(samples, "strata_ingests_running")}`}
            />
            <Stat
              label="server memory"
              value={formatBytes(valueOf(samples, "process_resident_memory_bytes"))}
            />
          </div>
          <ErrorNote error={cockpit.error} />
          <div className="cards" data-testid="cockpit">
            <RetrievalLatency samples={samples} />
            {cockpit.data && (
              <>
                <Figure
                  testId="time-to-scenario"
                  title="time-to-scenario"
                  figure={cockpit.data.timeToScenario}
                  captureCount={cockpit.data.captureCount}
                />
                <Figure
                  testId="time-to-first-dataset"
                  title="time-to-first-dataset"
                  figure={cockpit.data.timeToFirstDataset}
                  captureCount={cockpit.data.captureCount}
                />
              </>
            )}
          </div>
          <h2>Request latency by route</h2>
          <table data-testid="latency">
            <thead>
              <tr>
                <th>route</th>
                <th className="num">requests</th>
                <th className="num">mean</th>
                <th className="num">p50</th>
                <th className="num">p99</th>
              </tr>
            </thead>
            <tbody>
              {routeLatencies(samples, "strata_http_request_duration_seconds").map((r) => (
                <tr key={`${r.method} ${r.route}`}>
                  <td className="mono">
                    {r.method} {r.route}
                  </td>
                  <td className="num">{r.count}</td>
                  <td className="num">{r.meanMs.toFixed(2)} ms</td>
                  <td className="num">{ms(r.p50Ms)}</td>
                  <td className="num">{ms(r.p99Ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/** Retrieval latency: the server's own latency histogram of scene searches. */
function RetrievalLatency({ samples }: { samples: Sample[] }) {
  const search = routeLatencies(samples, "strata_http_request_duration_seconds").find(
    (r) => r.route === "/api/search",
  );
  return (
    <div className="card" data-testid="retrieval-latency">
      <h3>retrieval latency (scene search)</h3>
      {search && search.count > 0 ? (
        <p>
          p50 {ms(search.p50Ms)}, p99 {ms(search.p99Ms)} over {search.count} searches (mean{" "}
          {search.meanMs.toFixed(1)} ms)
        </p>
      ) : (
        <p className="muted">No searches served yet.</p>
      )}
    </div>
  );
}

type CockpitFigure = Cockpit["timeToScenario"];
const secs = (value: number | null): string => (value === null ? "—" : formatDuration(value));

/** One cockpit figure from the catalog's recorded times (GET /api/metrics/cockpit). */
function Figure({
  testId,
  title,
  figure,
  captureCount,
}: {
  testId: string;
  title: string;
  figure: CockpitFigure;
  captureCount: number;
}) {
  return (
    <div className="card" data-testid={testId}>
      <h3>{title}</h3>
      <p className="muted small">{figure.definition}</p>
      {figure.count === 0 ? (
        <p className="muted">
          No data yet: none of the {captureCount} captures has reached it
          {captureCount === 0 ? " (nothing is ingested)" : ""}.
        </p>
      ) : (
        <>
          <div className="stat">
            <span className="value">{secs(figure.medianSecs)}</span> <span className="muted">median</span>
          </div>
          <p className="small">
            p90 {secs(figure.p90Secs)} · fastest {secs(figure.minSecs)} · slowest {secs(figure.maxSecs)} ·
            over {figure.count} capture{figure.count === 1 ? "" : "s"}, {figure.pending} not there yet
          </p>
          <table className="small">
            <thead>
              <tr>
                <th>capture</th>
                <th>ingested</th>
                <th className="num">took</th>
              </tr>
            </thead>
            <tbody>
              {figure.recent.map((r) => (
                <tr key={r.captureId}>
                  <td className="mono">{r.captureId}</td>
                  <td>{nsToDate(r.ingestedAtNs)}</td>
                  <td className="num">{formatDuration(r.secs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}

function throughput(bytes: number, secs: number): string {
  return secs > 0 ? `${formatBytes(bytes / secs)}/s` : "no ingest yet";
}

function Stat({ label, value }: { label: string; value: string }) {
  return (
    <div className="card stat">
      <div className="value">{value}</div>
      <div className="muted">{label}</div>
    </div>
  );
}
