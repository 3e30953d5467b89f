/** The capture portal: every capture with its status and QA verdict, and upload for engineers. */
import { type FormEvent, useRef, useState } from "react";
import { ApiError, api, atLeast, type Principal } from "../api.ts";
import { durationSecs, formatBytes, formatDuration, nsToDate } from "../format.ts";
import { href } from "../router.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";

export function CapturesPage({ principal }: { principal: Principal }) {
  const captures = useAsync(() => api.listCaptures({ limit: 200 }), []);
  return (
    <section>
      <h1>Captures</h1>
      {atLeast(principal.role, "engineer") && <UploadForm onUploaded={captures.reload} />}
      <ErrorNote error={captures.error} />
      {captures.data && (
        <>
          <p className="muted">
            {captures.data.total} capture{captures.data.total === 1 ? "" : "s"}
          </p>
          <table data-testid="captures">
            <thead>
              <tr>
                <th>capture</th>
                <th>file</th>
                <th>format</th>
                <th>recorded</th>
                <th>duration</th>
                <th className="num">messages</th>
                <th className="num">size</th>
                <th>rig</th>
                <th>site</th>
                <th>status</th>
                <th>QA verdict</th>
              </tr>
            </thead>
            <tbody>
              {captures.data.captures.map((c) => (
                <tr key={c.captureId}>
                  <td>
                    <a href={href.capture(c.captureId)}>{c.captureId}</a>
                  </td>
                  <td className="muted">{c.sourcePath?.split("/").pop() ?? "—"}</td>
                  <td>{c.format}</td>
                  <td>{nsToDate(c.startTimeNs)}</td>
                  <td>{formatDuration(durationSecs(c.startTimeNs, c.endTimeNs))}</td>
                  <td className="num">{c.messageCount.toLocaleString()}</td>
                  <td className="num">{formatBytes(c.sizeBytes)}</td>
                  <td>{c.rig ?? "—"}</td>
                  <td>{c.site ?? "—"}</td>
                  <td>
                    <span className={`status status-${c.status}`}>{c.status}</span>
                  </td>
                  <td>
                    <QaVerdictCell captureId={c.captureId} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function UploadForm({ onUploaded }: { onUploaded: () => void }) {
  const fileInput = useRef<HTMLInputElement>(null);
  const [rig, setRig] = useState("");
  const [site, setSite] = useState("");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const file = fileInput.current?.files?.[0];
    if (!file) return;
    setBusy(true);
    setMessage(null);
    try {
      const result = await api.upload(file, {
        filename: file.name,
        rig: rig.trim() || undefined,
        site: site.trim() || undefined,
      });
      setMessage({
        ok: true,
        text: `${result.created ? "Ingested" : "Already ingested"} ${file.name} → ${result.captureId} (${result.format}, ${result.messageCount.toLocaleString()} messages)`,
      });
      onUploaded();
    } catch (e) {
      setMessage({ ok: false, text: e instanceof ApiError ? `${e.message} ${e.hint}` : String(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="upload card" onSubmit={submit} data-testid="upload">
      <strong>Upload a log</strong>
      <input ref={fileInput} type="file" name="file" accept=".mcap,.bag,.db3" required />
      <input name="rig" placeholder="rig (optional)" value={rig} onChange={(e) => setRig(e.target.value)} />
      <input
        name="site"
        placeholder="site (optional)"
        value={site}
        onChange={(e) => setSite(e.target.value)}
      />
      <button type="submit" disabled={busy}>
        {busy ? "Uploading…" : "Upload and ingest"}
      </button>
      {message && (
        <span className={message.ok ? "ok" : "error"} role="status" data-testid="upload-result">
          {message.text}
        </span>
      )}
    </form>
  );
}

/** The latest QA verdict of one capture (fetched per row). */
function QaVerdictCell({ captureId }: { captureId: string }) {
  const qa = useAsync(() => api.getQa(captureId), [captureId]);
  if (qa.error) return <span className="muted">—</span>;
  if (!qa.data) return <span className="muted">…</span>;
  if (!qa.data.verdict) return <span className="muted">no QA run</span>;
  const fails = qa.data.reasons.filter((r) => r.severity === "fail").length;
  const warns = qa.data.reasons.length - fails;
  return (
    <span className={`verdict verdict-${qa.data.verdict}`} data-testid="qa-verdict">
      {qa.data.verdict}
      {qa.data.reasons.length > 0 && (
        <span className="muted">
          {" "}
          ({fails} fail, {warns} warn)
        </span>
      )}
    </span>
  );
}
