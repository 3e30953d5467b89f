/**
 * Datasets and their immutable versions; pick two versions to see their diff (items added, removed and
 * changed, coverage gained and lost per capture) and each one's splits with its leakage check.
 */
import { useEffect, useState } from "react";
import { api, type DatasetDiff, type DatasetSplits, type ResponseOf } from "../api.ts";
import { formatDuration, nsToDate } from "../format.ts";
import { href } from "../router.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";

type Dataset = ResponseOf<"listDatasets">["datasets"][number];
interface VersionChoice {
  versionId: string;
  dataset: string;
  itemCount: number;
  parentVersionId: string | null;
}

/** Rows shown per kind of change (added, removed, changed). */
const ROWS = 200;
const SPLIT_COLOURS: Record<string, string> = { train: "#1c7ed6", val: "#f59f00", test: "#0ca678" };
const nsSecs = (ns: string): number => Number(BigInt(ns)) / 1e9;
/** Durations of coverage, down to milliseconds (window ends often differ by a few). */
const span = (secs: number): string =>
  secs < 1 ? `${Number((secs * 1000).toPrecision(3))} ms` : formatDuration(secs);
const shortId = (versionId: string): string => `${versionId.slice(0, 14)}…`;

/** A diff worth showing first: the newest version of a dataset with history against its parent. */
function defaultPair(datasets: readonly Dataset[]): [string, string] | undefined {
  for (const d of datasets) {
    const latest = d.versions.find((v) => v.versionId === d.latestVersionId) ?? d.versions[0];
    const older = d.versions.find((v) => v.versionId === latest?.parentVersionId) ?? d.versions[1];
    if (latest && older) return [older.versionId, latest.versionId];
  }
  const all = datasets.flatMap((d) => d.versions);
  const [a, b] = all;
  return a && b ? [b.versionId, a.versionId] : undefined;
}

export function DatasetsPage() {
  const datasets = useAsync(() => api.listDatasets(), []);
  const [pair, setPair] = useState<[string, string] | undefined>();
  useEffect(() => {
    if (datasets.data && pair === undefined) setPair(defaultPair(datasets.data.datasets));
  }, [datasets.data, pair]);
  const choices: VersionChoice[] =
    datasets.data?.datasets.flatMap((d) =>
      d.versions.map((v) => ({
        versionId: v.versionId,
        dataset: d.name,
        itemCount: v.itemCount,
        parentVersionId: v.parentVersionId,
      })),
    ) ?? [];

  return (
    <section>
      <h1>Datasets</h1>
      <p className="muted">
        Versions are immutable and content-addressed. Build one with{" "}
        <code>strata dataset create NAME --captures ID,…</code> or <code>--from-query 'QUERY'</code>.
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
              <th>lineage</th>
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
                  <td>
                    <a href={href.lineage(v.versionId)}>graph</a>
                  </td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      )}
      {choices.length > 0 && pair && (
        <>
          <h2>Compare versions</h2>
          <form className="card upload" data-testid="diff-form" onSubmit={(e) => e.preventDefault()}>
            {(["from", "to"] as const).map((side, i) => (
              <label key={side}>
                {side}{" "}
                <select
                  name={side}
                  value={pair[i]}
                  onChange={(e) => setPair(i === 0 ? [e.target.value, pair[1]] : [pair[0], e.target.value])}
                >
                  {choices.map((c) => (
                    <option key={c.versionId} value={c.versionId}>
                      {c.dataset} · {c.itemCount} items · {shortId(c.versionId)}
                    </option>
                  ))}
                </select>
              </label>
            ))}
            <button type="button" onClick={() => setPair([pair[1], pair[0]])}>
              Swap
            </button>
          </form>
          <Diff from={pair[0]} to={pair[1]} />
          <h2>Splits</h2>
          <div className="cards">
            <Splits versionId={pair[0]} title="from" />
            {pair[1] !== pair[0] && <Splits versionId={pair[1]} title="to" />}
          </div>
        </>
      )}
    </section>
  );
}

function Diff({ from, to }: { from: string; to: string }) {
  const diff = useAsync(() => api.diffDatasets(from, to), [from, to]);
  if (diff.error) return <ErrorNote error={diff.error} />;
  if (!diff.data) return <p className="muted">Comparing…</p>;
  const d = diff.data;
  return (
    <div data-testid="dataset-diff">
      <div className="cards" data-testid="diff-summary">
        <Count label="added" value={d.added.length} tone="ok" />
        <Count label="removed" value={d.removed.length} tone="bad" />
        <Count label="changed" value={d.changed.length} tone="warn" />
        <Count label="unchanged" value={d.unchangedCount} tone="muted" />
      </div>
      {d.manifest.length > 0 && (
        <p className="small" data-testid="diff-manifest">
          Manifest changes:{" "}
          {d.manifest.map((m) => (
            <span key={m.field}>
              <b>{m.field}</b> {JSON.stringify(m.before)} → {JSON.stringify(m.after)};{" "}
            </span>
          ))}
        </p>
      )}
      {d.added.length + d.removed.length + d.changed.length === 0 ? (
        <p className="muted">The two versions hold the same items.</p>
      ) : (
        <table data-testid="diff-items">
          <thead>
            <tr>
              <th>change</th>
              <th>capture</th>
              <th>window</th>
              <th>split</th>
              <th>scene</th>
              <th>topics</th>
            </tr>
          </thead>
          <tbody>
            {d.added.slice(0, ROWS).map((item) => (
              <ItemRow key={`a${item.index}`} change="added" item={item} />
            ))}
            {d.removed.slice(0, ROWS).map((item) => (
              <ItemRow key={`r${item.index}`} change="removed" item={item} />
            ))}
            {d.changed.slice(0, ROWS).map((c) => (
              <ItemRow
                key={`c${c.before.index}`}
                change={`changed: ${c.fields.join(", ")}`}
                item={c.after}
                before={c.before}
              />
            ))}
          </tbody>
        </table>
      )}
      {Math.max(d.added.length, d.removed.length, d.changed.length) > ROWS && (
        <p className="muted small">
          Showing the first {ROWS} items of each kind of change; the API returns all of them.
        </p>
      )}
      {d.byCapture.length > 0 && <Coverage diff={d} />}
    </div>
  );
}

type Item = DatasetDiff["added"][number];

function ItemRow({ change, item, before }: { change: string; item: Item; before?: Item }) {
  const tone = change === "added" ? "ok" : change === "removed" ? "bad" : "warn";
  const window = (i: Item) =>
    `${nsToDate(i.startNs)} + ${formatDuration(Number(BigInt(i.endNs) - BigInt(i.startNs)) / 1e9)}`;
  return (
    <tr>
      <td className={tone}>{change}</td>
      <td>
        <a href={href.capture(item.captureId)}>{item.captureId}</a>
      </td>
      <td className="small">
        {before && (before.startNs !== item.startNs || before.endNs !== item.endNs) && (
          <div className="muted">was {window(before)}</div>
        )}
        {window(item)}
      </td>
      <td>
        {before && before.split !== item.split && <span className="muted">{before.split} → </span>}
        {item.split}
      </td>
      <td className="mono small">{item.sceneId ?? "—"}</td>
      <td className="small">{item.topics.length ? item.topics.join(", ") : "all"}</td>
    </tr>
  );
}

function Coverage({ diff }: { diff: DatasetDiff }) {
  return (
    <>
      <h3>Coverage gained and lost per capture</h3>
      <table data-testid="diff-coverage">
        <thead>
          <tr>
            <th>capture</th>
            <th className="num">gained</th>
            <th className="num">lost</th>
          </tr>
        </thead>
        <tbody>
          {diff.byCapture.map((c) => (
            <tr key={c.captureId}>
              <td className="mono">{c.captureId}</td>
              <td className="num ok">{nsSecs(c.addedNs) > 0 ? `+${span(nsSecs(c.addedNs))}` : "—"}</td>
              <td className="num bad">{nsSecs(c.removedNs) > 0 ? `−${span(nsSecs(c.removedNs))}` : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Count({ label, value, tone }: { label: string; value: number; tone: string }) {
  return (
    <div className="card stat">
      <div className={`value ${tone}`}>{value}</div>
      <div className="muted">{label}</div>
    </div>
  );
}

function Splits({ versionId, title }: { versionId: string; title: string }) {
  const splits = useAsync(() => api.datasetSplits(versionId), [versionId]);
  if (splits.error) return <ErrorNote error={splits.error} />;
  if (!splits.data) return <p className="muted">Loading splits…</p>;
  const s: DatasetSplits = splits.data;
  const policy = s.splitPolicy;
  return (
    <div className="card" data-testid="dataset-splits" data-version={s.versionId}>
      <h3>
        {title}: {s.datasetName} <span className="mono small">{shortId(s.versionId)}</span>
      </h3>
      <div className="splitbar" title="items per split">
        {s.splits
          .filter((x) => x.itemCount > 0)
          .map((x) => (
            <span
              key={x.split}
              style={{ flex: x.itemCount, background: SPLIT_COLOURS[x.split] ?? "#868e96" }}
              title={`${x.split}: ${x.itemCount}`}
            >
              {x.split} {x.itemCount}
            </span>
          ))}
      </div>
      <table>
        <thead>
          <tr>
            <th>split</th>
            <th className="num">items</th>
            <th className="num">captures</th>
            <th className="num">duration</th>
          </tr>
        </thead>
        <tbody>
          {s.splits.map((x) => (
            <tr key={x.split} data-split={x.split}>
              <td>
                <span className="swatch" style={{ background: SPLIT_COLOURS[x.split] ?? "#868e96" }} />
                {x.split}
              </td>
              <td className="num">{x.itemCount}</td>
              <td className="num">{x.captureCount}</td>
              <td className="num">{formatDuration(nsSecs(x.durationNs))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="small muted">
        {policy
          ? `Split policy: train ${policy.ratios.train} / val ${policy.ratios.val} / test ${policy.ratios.test}, grouped by ${policy.groupBy}, seed "${policy.seed}".`
          : "Every item's split was given by the caller."}
      </p>
      <div data-testid="leakage">
        {s.leakage.ok && s.leakage.findings.length === 0 && (
          <p className="ok">
            Leakage check: no leakage (no capture, group or overlapping window crosses splits).
          </p>
        )}
        {s.leakage.ok && s.leakage.findings.length > 0 && (
          <p className="warn">Leakage check: passed with warnings</p>
        )}
        {!s.leakage.ok && <p className="bad">Leakage check: the splits leak</p>}
        {s.leakage.findings.length > 0 && (
          <ul className="small">
            {s.leakage.findings.map((f, i) => (
              <li key={`${f.kind}${i}`} className={f.severity === "error" ? "bad" : "warn"}>
                {f.kind}: {f.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
