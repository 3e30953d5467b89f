/** Lineage runs: every job Strata ran, with inputs, outputs, parameters and code version. */
import { api } from "../api.ts";
import { nsToDate } from "../format.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";

const short = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? "—" : text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

export function LineagePage() {
  const runs = useAsync(() => api.listRuns({ limit: 200 }), []);
  return (
    <section>
      <h1>Lineage</h1>
      <p className="muted">Runs, newest first. The lineage graph view arrives with dataset versions.</p>
      <ErrorNote error={runs.error} />
      {runs.data && (
        <table data-testid="runs">
          <thead>
            <tr>
              <th>run</th>
              <th>kind</th>
              <th>status</th>
              <th>started</th>
              <th>duration</th>
              <th>inputs</th>
              <th>outputs</th>
              <th>code</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.runs.map((r) => (
              <tr key={r.runId}>
                <td className="mono">{r.runId}</td>
                <td>{r.kind}</td>
                <td>
                  <span className={`status status-${r.status}`}>{r.status}</span>
                </td>
                <td>{nsToDate(r.startedAtNs)}</td>
                <td>
                  {r.endedAtNs
                    ? `${(Number(BigInt(r.endedAtNs) - BigInt(r.startedAtNs)) / 1e9).toFixed(2)} s`
                    : "—"}
                </td>
                <td className="mono small">{short(r.inputs)}</td>
                <td className="mono small">{short(r.outputs)}</td>
                <td className="mono small">{r.codeVersion}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
