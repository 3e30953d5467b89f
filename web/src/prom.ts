/** A reader for the Prometheus text format the server's /metrics writes. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match?.[1] || match[4] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      if (pair[1])
        labels[pair[1]] = (pair[2] ?? "").replace(/\\(.)/g, (_m, c: string) => (c === "n" ? "\n" : c));
    const raw = match[4];
    samples.push({
      name: match[1],
      labels,
      value: raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw),
    });
  }
  return samples;
}

export const valueOf = (
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

export interface RouteLatency {
  method: string;
  route: string;
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** Per (method, route): count, mean and quantiles (upper bucket bounds) summed over statuses. */
export function routeLatencies(samples: readonly Sample[], metric: string): RouteLatency[] {
  const groups = new Map<
    string,
    { method: string; route: string; buckets: Map<number, number>; sum: number; count: number }
  >();
  const group = (s: Sample) => {
    const key = `${s.labels.method} ${s.labels.route}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        method: s.labels.method ?? "",
        route: s.labels.route ?? "",
        buckets: new Map(),
        sum: 0,
        count: 0,
      };
      groups.set(key, g);
    }
    return g;
  };
  for (const s of samples) {
    if (s.name === `${metric}_bucket`) {
      const g = group(s);
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      g.buckets.set(le, (g.buckets.get(le) ?? 0) + s.value);
    } else if (s.name === `${metric}_sum`) group(s).sum += s.value;
    else if (s.name === `${metric}_count`) group(s).count += s.value;
  }
  const quantile = (buckets: Map<number, number>, count: number, q: number): number => {
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    const rank = q * count;
    for (const [le, cumulative] of sorted) if (cumulative >= rank) return le;
    return Infinity;
  };
  return [...groups.values()]
    .map((g) => ({
      method: g.method,
      route: g.route,
      count: g.count,
      meanMs: g.count ? (g.sum / g.count) * 1000 : 0,
      p50Ms: quantile(g.buckets, g.count, 0.5) * 1000,
      p99Ms: quantile(g.buckets, g.count, 0.99) * 1000,
    }))
    .sort((a, b) => b.count - a.count);
}
