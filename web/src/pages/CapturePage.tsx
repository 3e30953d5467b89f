/** One capture: summary, sensor-health timeline per topic, per-topic statistics. */
import { api } from "../api.ts";
import { durationSecs, formatBytes, formatDuration, formatRate, nsToDate } from "../format.ts";
import { href } from "../router.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";
import { NotYet } from "./NotYetPage.tsx";
import { Timeline, topicHealth } from "./Timeline.tsx";

export function CapturePage({ captureId }: { captureId: string }) {
  const state = useAsync(async () => {
    const [detail, histogram] = await Promise.all([api.getCapture(captureId), api.getHistogram(captureId)]);
    return { detail, histogram };
  }, [captureId]);
  if (state.error) return <ErrorNote error={state.error} />;
  if (!state.data) return <p className="muted">Loading…</p>;
  const { detail, histogram } = state.data;
  const durationNs =
    detail.startTimeNs && detail.endTimeNs ? BigInt(detail.endTimeNs) - BigInt(detail.startTimeNs) : 0n;
  const bucketNs = BigInt(histogram.bucketNs) || 1n;
  const health = new Map(
    topicHealth(histogram, Number(durationNs / bucketNs) + 1).map((h) => [h.topic, h] as const),
  );

  return (
    <section>
      <p>
        <a href={href.captures}>← Captures</a>
      </p>
      <h1>
        {detail.captureId} <span className={`status status-${detail.status}`}>{detail.status}</span>
      </h1>
      <div className="cards">
        <div className="card">
          <dl>
            <dt>format</dt>
            <dd>{detail.format}</dd>
            <dt>recorded</dt>
            <dd>
              {nsToDate(detail.startTimeNs)} ·{" "}
              {formatDuration(durationSecs(detail.startTimeNs, detail.endTimeNs))}
            </dd>
            <dt>messages</dt>
            <dd>{detail.messageCount.toLocaleString()}</dd>
            <dt>size</dt>
            <dd>{formatBytes(detail.sizeBytes)}</dd>
            <dt>rig / site</dt>
            <dd>
              {detail.rig ?? "—"} / {detail.site ?? "—"}
            </dd>
            <dt>sha256</dt>
            <dd className="mono">{detail.sha256}</dd>
            <dt>files</dt>
            <dd>{detail.files.map((f) => f.pathInCapture).join(", ")}</dd>
          </dl>
          <a className="button" href={href.view(detail.captureId)}>
            Open 3D view
          </a>
        </div>
        <div className="card">
          <h3>QA verdict</h3>
          <NotYet>not available yet</NotYet>
          <h3>Calibration</h3>
          <NotYet>not available yet (the calibration registry has not landed)</NotYet>
        </div>
      </div>

      <h2>Sensor health</h2>
      {durationNs > 0n && histogram.topics.length > 0 ? (
        <Timeline histogram={histogram} durationNs={durationNs} />
      ) : (
        <p className="muted">No messages: nothing to draw.</p>
      )}

      <h2>Topics</h2>
      <table data-testid="topics">
        <thead>
          <tr>
            <th>topic</th>
            <th>type</th>
            <th>encoding</th>
            <th className="num">messages</th>
            <th className="num">mean Hz</th>
            <th className="num">median Hz</th>
            <th className="num">max gap</th>
            <th className="num">gap buckets</th>
            <th className="num">low-rate buckets</th>
            <th>first</th>
            <th>last</th>
          </tr>
        </thead>
        <tbody>
          {detail.topics.map((t) => {
            const h = health.get(t.topic);
            return (
              <tr key={t.topic}>
                <td>{t.topic}</td>
                <td className="muted">{t.schemaName}</td>
                <td className="muted">{t.messageEncoding}</td>
                <td className="num">{t.messageCount.toLocaleString()}</td>
                <td className="num">{formatRate(t.meanRateHz)}</td>
                <td className="num">{h ? formatRate(h.medianRateHz) : "—"}</td>
                <td className="num">{(Number(BigInt(t.maxGapNs)) / 1e9).toFixed(3)} s</td>
                <td className={`num ${h?.gapBuckets ? "bad" : ""}`}>{h?.gapBuckets ?? "—"}</td>
                <td className={`num ${h?.lowBuckets ? "warn" : ""}`}>{h?.lowBuckets ?? "—"}</td>
                <td>{nsToDate(t.firstTimeNs)}</td>
                <td>{nsToDate(t.lastTimeNs)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
