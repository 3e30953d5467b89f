/**
 * Lineage: the graph of a dataset version, capture or run (raw blobs → captures → runs → scenes → dataset
 * versions) from GET /api/lineage/graph, and every run Strata recorded, with inputs, outputs and code version.
 */
import { type FormEvent, useEffect, useState } from "react";
import { api } from "../api.ts";
import { nsToDate } from "../format.ts";
import { href } from "../router.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";
import { LineageGraphView } from "./LineageGraph.tsx";

const short = (value: unknown): string => {
  const text = JSON.stringify(value);
  return text === undefined ? "—" : text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

const WHOLE = "*";
/** Targets a node can be traced from. */
const TRACEABLE = new Set(["dataset_version", "capture", "run", "sample", "blob"]);

export function LineagePage({ of }: { of?: string | undefined }) {
  const targets = useAsync(async () => {
    const [datasets, captures] = await Promise.all([api.listDatasets(), api.listCaptures({ limit: 100 })]);
    return {
      versions: datasets.datasets.flatMap((d) =>
        d.versions.map((v) => ({
          id: v.versionId,
          label: `${d.name} · ${v.itemCount} items · ${v.versionId.slice(0, 14)}…`,
        })),
      ),
      captures: captures.captures.map((c) => ({
        id: c.captureId,
        label: `${c.captureId}${c.rig ? ` · ${c.rig}` : ""}${c.site ? ` @ ${c.site}` : ""}`,
      })),
    };
  }, []);
  // Default target: the one in the address, else the newest dataset version, else the newest capture.
  const fallback = targets.data?.versions[0]?.id ?? targets.data?.captures[0]?.id ?? WHOLE;
  const target = of ?? (targets.data ? fallback : undefined);
  const [typed, setTyped] = useState("");
  useEffect(() => setTyped(of ?? ""), [of]);

  const graph = useAsync(
    async () =>
      target === undefined
        ? undefined
        : api.lineageGraph(target === WHOLE ? {} : { of: target, maxNodes: 400 }),
    [target],
  );
  const [selectedId, setSelectedId] = useState<string | null>(null);
  useEffect(() => setSelectedId(null), [target]);
  const selected = graph.data?.nodes.find((n) => n.id === selectedId);

  const runs = useAsync(() => api.listRuns({ limit: 200 }), []);
  const go = (next: string) => {
    window.location.hash = href.lineage(next === WHOLE ? WHOLE : next);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (typed.trim()) go(typed.trim());
  };

  return (
    <section>
      <h1>Lineage</h1>
      <form className="card upload" onSubmit={submit} data-testid="lineage-form">
        <label>
          Trace{" "}
          <select
            name="target"
            value={target ?? ""}
            onChange={(e) => go(e.target.value)}
            data-testid="lineage-target"
          >
            {target !== undefined &&
              target !== WHOLE &&
              !targets.data?.versions.some((v) => v.id === target) &&
              !targets.data?.captures.some((c) => c.id === target) && (
                <option value={target}>{target}</option>
              )}
            <optgroup label="dataset versions">
              {targets.data?.versions.map((v) => (
                <option key={v.id} value={v.id}>
                  {v.label}
                </option>
              ))}
            </optgroup>
            <optgroup label="captures">
              {targets.data?.captures.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </optgroup>
            <option value={WHOLE}>the whole catalog</option>
          </select>
        </label>
        <input
          className="grow"
          name="of"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          placeholder="or an id: dsv_…, dsv_…/N (sample), cap_…, run_…, a SHA-256"
        />
        <button type="submit" disabled={!typed.trim()}>
          Trace
        </button>
      </form>
      <ErrorNote error={targets.error ?? graph.error} />
      {graph.loading && <p className="muted">Walking the lineage…</p>}
      {graph.data && (
        <>
          <p className="muted" data-testid="lineage-summary">
            {graph.data.nodes.length} nodes, {graph.data.edges.length} edges
            {graph.data.rootId ? ` from ${graph.data.rootId}` : " (whole catalog)"}
            {graph.data.truncated ? " — truncated at 400 nodes" : ""}. Data flows left to right; click a node
            for its details.
          </p>
          <LineageGraphView
            graph={graph.data}
            selectedId={selectedId}
            onSelect={(node) => setSelectedId(node.id)}
          />
          {selected && (
            <div className="card" data-testid="lineage-node">
              <h3>
                {selected.kind.replace(/_/g, " ")} <span className="mono">{selected.key}</span>
              </h3>
              {TRACEABLE.has(selected.kind) && selected.id !== graph.data.rootId && (
                <p>
                  <a href={href.lineage(selected.key)}>Trace from here</a>
                  {selected.kind === "capture" && (
                    <>
                      {" · "}
                      <a href={href.capture(selected.key)}>Open capture</a>
                    </>
                  )}
                </p>
              )}
              <pre>{JSON.stringify(selected.attributes, null, 2)}</pre>
            </div>
          )}
        </>
      )}

      <h2>Runs</h2>
      <p className="muted">Every job Strata ran, newest first.</p>
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
                <td className="mono">
                  <a href={href.lineage(r.runId)}>{r.runId}</a>
                </td>
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
