/** The hash-chained audit log and whether the chain verifies (stewards and admins). */
import { api } from "../api.ts";
import { nsToDate } from "../format.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";

export function AuditPage() {
  const audit = useAsync(() => api.listAudit({ limit: 500 }), []);
  return (
    <section>
      <h1>Audit log</h1>
      <ErrorNote error={audit.error} />
      {audit.data && (
        <>
          <p data-testid="chain" className={audit.data.chainValid ? "ok" : "error"}>
            {audit.data.chainValid
              ? "Hash chain verified: no event was changed or removed."
              : "Hash chain BROKEN: an event was changed or removed."}
          </p>
          <table data-testid="audit">
            <thead>
              <tr>
                <th className="num">seq</th>
                <th>time</th>
                <th>actor</th>
                <th>action</th>
                <th>target</th>
                <th>outcome</th>
                <th>hash</th>
              </tr>
            </thead>
            <tbody>
              {audit.data.events.map((e) => {
                const details = (e.details ?? {}) as { outcome?: string; method?: string };
                return (
                  <tr key={e.seq}>
                    <td className="num">{e.seq}</td>
                    <td>{nsToDate(e.atNs)}</td>
                    <td>{e.actor}</td>
                    <td>{e.action}</td>
                    <td className="mono small">
                      {details.method ? `${details.method} ` : ""}
                      {e.target}
                    </td>
                    <td className={details.outcome && details.outcome !== "ok" ? "bad" : ""}>
                      {details.outcome ?? "—"}
                    </td>
                    <td className="mono small">{e.hash.slice(0, 12)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
