/** Datasets and their immutable versions. Diffs and split details arrive when their routes do. */
import { api } from "../api.ts";
import { nsToDate } from "../format.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";

export function DatasetsPage() {
  const datasets = useAsync(() => api.listDatasets(), []);
  return (
    <section>
      <h1>Datasets</h1>
      <p className="muted">
        Versions are immutable and content-addressed. Build one with{" "}
        <code>strata dataset create NAME --captures ID,…</code> or <code>--from-query 'QUERY'</code>. Diffs
        and split views are not available in the UI yet.
      </p>
      <ErrorNote error={datasets.error} />
      {datasets.data && datasets.data.datasets.length === 0 && <p className="muted">No datasets yet.</p>}
      {datasets.data && datasets.data.datasets.length > 0 && (
        <table data-testid="datasets">
          <thead>
            <tr>
              <th>dataset</th>
              <th>version</th>
              <th>parent</th>
              <th className="num">items</th>
              <th>created</th>
              <th>by</th>
            </tr>
          </thead>
          <tbody>
            {datasets.data.datasets.flatMap((d) =>
              d.versions.map((v) => (
                <tr key={v.versionId}>
                  <td>
                    {d.name}
                    {v.versionId === d.latestVersionId && <span className="muted"> (latest)</span>}
                  </td>
                  <td className="mono small">{v.versionId}</td>
                  <td className="mono small">{v.parentVersionId ?? "—"}</td>
                  <td className="num">{v.itemCount}</td>
                  <td>{nsToDate(v.createdAtNs)}</td>
                  <td>{v.createdBy}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
