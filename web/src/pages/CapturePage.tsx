/** One capture: summary, sensor-health timeline per topic, per-topic statistics. */
import { api } from "../api.ts";
import { durationSecs, formatBytes, formatDuration, formatRate, nsToDate } from "../format.ts";
import { href } from "../router.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";
import { Timeline, topicHealth } from "./Timeline.tsx";

export function CapturePage({ captureId }: { captureId: string }) {
  const state = useAsync(async () => {
    const [detail, histogram, qa, drift] = await Promise.all([
      api.getCapture(captureId),
      api.getHistogram(captureId),
      api.getQa(captureId),
      api.getDrift(captureId),
    ]);
    return { detail, histogram, qa, drift };
  }, [captureId]);
  if (state.error) return <ErrorNote error={state.error} />;
  if (!state.data) return <p className="muted">Loading…</p>;
  const { detail, histogram, qa, drift } = state.data;
  const relSecs = (ns: string) =>
    detail.startTimeNs ? (Number(BigInt(ns) - BigInt(detail.startTimeNs)) / 1e9).toFixed(2) : "?";
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
        <div className="card" data-testid="qa-card">
          <h3>QA verdict</h3>
          {qa.verdict ? (
            <p>
              <span className={`verdict verdict-${qa.verdict}`}>{qa.verdict}</span>{" "}
              <span className="muted">
                {qa.reasons.length} finding{qa.reasons.length === 1 ? "" : "s"} · run {qa.runId}
                {qa.overrides.length > 0 &&
                  ` · overridden by ${qa.overrides[0]?.actor}: ${qa.overrides[0]?.reason}`}
              </span>
            </p>
          ) : (
            <p className="muted">QA has not run on this capture.</p>
          )}
          <h3>Calibration</h3>
          <div data-testid="calibration-card">
            {drift.calibrationId ? (
              <p>
                Recorded with <span className="mono">{drift.calibrationId}</span>
              </p>
            ) : (
              <p className="muted">No calibration was extracted from this capture.</p>
            )}
            {drift.drift.length === 0 ? (
              <p className="muted">No extrinsic drift found.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>frame</th>
                    <th>at</th>
                    <th className="num">rotation</th>
                    <th className="num">translation</th>
                    <th>kind</th>
                  </tr>
                </thead>
                <tbody>
                  {drift.drift.map((d) => (
                    <tr key={`${d.frame}-${d.atNs}-${d.kind}`}>
                      <td>
                        {d.parentFrame} → {d.frame}
                      </td>
                      <td>{relSecs(d.atNs)} s</td>
                      <td className="num bad">{d.rotationDeg.toFixed(3)}°</td>
                      <td className="num">{(d.translationM * 100).toFixed(1)} cm</td>
                      <td className="muted">{d.kind}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </div>
      </div>

      <h2>Sensor health</h2>
      {durationNs > 0n && histogram.topics.length > 0 ? (
        <Timeline histogram={histogram} durationNs={durationNs} reasons={qa.reasons} />
      ) : (
        <p className="muted">No messages: nothing to draw.</p>
      )}

      {qa.reasons.length > 0 && (
        <>
          <h2>QA findings</h2>
          <table data-testid="qa-reasons">
            <thead>
              <tr>
                <th>severity</th>
                <th>check</th>
                <th>topic</th>
                <th>window</th>
                <th className="num">measured</th>
                <th className="num">threshold</th>
                <th className="num">messages</th>
                <th>what</th>
              </tr>
            </thead>
            <tbody>
              {qa.reasons.map((r, i) => (
                <tr key={`${r.check}-${r.topic}-${r.startNs}-${i}`}>
                  <td className={r.severity === "fail" ? "bad" : "warn"}>{r.severity}</td>
                  <td className="mono">{r.check}</td>
                  <td>{r.topic}</td>
                  <td>
                    {relSecs(r.startNs)}–{relSecs(r.endNs)} s
                  </td>
                  <td className="num">
                    {typeof r.measured === "number" ? +r.measured.toPrecision(4) : r.measured} {r.unit}
                  </td>
                  <td className="num">
                    {typeof r.threshold === "number" ? +r.threshold.toPrecision(4) : r.threshold} {r.unit}
                  </td>
                  <td className="num">{r.count}</td>
                  <td className="small">{r.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
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
