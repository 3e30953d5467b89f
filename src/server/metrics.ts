/**
 * A small Prometheus metrics registry (counters, gauges, histograms with labels) and the text
 * exposition format 0.0.4. Why not prom-client: docs/decisions/0004-metrics.md.
 */

type Labels = Record<string, string>;

interface Metric {
  readonly name: string;
  render(): Promise<string[]>;
}

const escapeLabel = (value: string): string =>
  value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  return pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

const formatNumber = (value: number): string =>
  Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value);

/** Values keyed by their label set (in the metric's declared label order). */
class LabelledValues<T> {
  readonly #values = new Map<string, { labels: Labels; value: T }>();
  constructor(
    private readonly labelNames: readonly string[],
    private readonly create: () => T,
  ) {}
  get(labels: Labels): T {
    const key = this.labelNames.map((n) => labels[n] ?? "").join("\u0000");
    let entry = this.#values.get(key);
    if (!entry) {
      const ordered: Labels = {};
      for (const n of this.labelNames) ordered[n] = labels[n] ?? "";
      entry = { labels: ordered, value: this.create() };
      this.#values.set(key, entry);
    }
    return entry.value;
  }
  entries(): { labels: Labels; value: T }[] {
    return [...this.#values.values()];
  }
}

export class Counter implements Metric {
  readonly #values: LabelledValues<{ n: number }>;
  constructor(
    readonly name: string,
    private readonly help: string,
    labelNames: readonly string[] = [],
  ) {
    this.#values = new LabelledValues(labelNames, () => ({ n: 0 }));
    if (labelNames.length === 0) this.#values.get({});
  }
  inc(labels: Labels = {}, by = 1): void {
    this.#values.get(labels).n += by;
  }
  async render(): Promise<string[]> {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...this.#values.entries().map((e) => `${this.name}${labelText(e.labels)} ${formatNumber(e.value.n)}`),
    ];
  }
}

export class Gauge implements Metric {
  readonly #values: LabelledValues<{ n: number }>;
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly collect?: () => Promise<number> | number,
  ) {
    this.#values = new LabelledValues([], () => ({ n: 0 }));
  }
  set(value: number): void {
    this.#values.get({}).n = value;
  }
  inc(by = 1): void {
    this.#values.get({}).n += by;
  }
  dec(by = 1): void {
    this.#values.get({}).n -= by;
  }
  get value(): number {
    return this.#values.get({}).n;
  }
  async render(): Promise<string[]> {
    if (this.collect) this.set(await this.collect());
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${formatNumber(this.value)}`,
    ];
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram implements Metric {
  readonly #values: LabelledValues<HistogramState>;
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: readonly number[],
    labelNames: readonly string[] = [],
  ) {
    this.#values = new LabelledValues(labelNames, () => ({
      counts: new Array<number>(buckets.length).fill(0),
      sum: 0,
      count: 0,
    }));
  }
  observe(labels: Labels, value: number): void {
    const state = this.#values.get(labels);
    state.sum += value;
    state.count += 1;
    // Counts are stored per bucket and made cumulative when rendered.
    const index = this.buckets.findIndex((upper) => value <= upper);
    if (index >= 0) state.counts[index] = (state.counts[index] ?? 0) + 1;
  }
  async render(): Promise<string[]> {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, value } of this.#values.entries()) {
      let cumulative = 0;
      this.buckets.forEach((upper, i) => {
        cumulative += value.counts[i] ?? 0;
        lines.push(`${this.name}_bucket${labelText(labels, ["le", formatNumber(upper)])} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labelText(labels, ["le", "+Inf"])} ${value.count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${formatNumber(value.sum)}`);
      lines.push(`${this.name}_count${labelText(labels)} ${value.count}`);
    }
    return lines;
  }
}

export class MetricsRegistry {
  readonly #metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) throw new Error(`metric ${metric.name} twice`);
    this.#metrics.push(metric);
    return metric;
  }
  /** The text exposition format (`text/plain; version=0.0.4`). */
  async render(): Promise<string> {
    const blocks = await Promise.all(this.#metrics.map((m) => m.render()));
    return `${blocks.flat().join("\n")}\n`;
  }
}

/** Latency buckets in seconds: sub-millisecond API reads up to multi-second uploads. */
export const LATENCY_BUCKETS_SECS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;

/** The metrics the server records. */
export function serverMetrics(collectCaptureCount: () => Promise<number>) {
  const registry = new MetricsRegistry();
  const startedAtMs = Date.now();
  return {
    registry,
    requestDuration: registry.register(
      new Histogram(
        "strata_http_request_duration_seconds",
        "Time from request to response headers, per route template, method and status",
        LATENCY_BUCKETS_SECS,
        ["method", "route", "status"],
      ),
    ),
    uploadBytes: registry.register(
      new Counter("strata_upload_bytes_total", "Bytes received by POST /api/captures"),
    ),
    ingestBytes: registry.register(
      new Counter("strata_ingest_bytes_total", "Bytes stored and indexed by ingests this process ran"),
    ),
    ingestSeconds: registry.register(
      new Counter(
        "strata_ingest_duration_seconds_total",
        "Wall time spent in ingests (throughput = rate of bytes / rate of seconds)",
      ),
    ),
    ingests: registry.register(
      new Counter("strata_ingests_total", "Ingests by outcome (created, existing, failed)", ["outcome"]),
    ),
    lastThroughput: registry.register(
      new Gauge(
        "strata_ingest_last_throughput_bytes_per_second",
        "Throughput of the most recent completed ingest",
      ),
    ),
    queueDepth: registry.register(
      new Gauge("strata_ingest_queue_depth", "Uploaded captures waiting for an ingest slot"),
    ),
    ingestsRunning: registry.register(new Gauge("strata_ingests_running", "Ingests running now")),
    captures: registry.register(new Gauge("strata_captures", "Captures in the catalog", collectCaptureCount)),
    memory: registry.register(
      new Gauge("process_resident_memory_bytes", "Resident memory of the server process", () =>
        process.memoryUsage.rss(),
      ),
    ),
    uptime: registry.register(
      new Gauge("process_uptime_seconds", "Seconds since the server started", () =>
        Math.round((Date.now() - startedAtMs) / 1000),
      ),
    ),
  };
}

export type ServerMetrics = ReturnType<typeof serverMetrics>;

/** A counting semaphore whose waiters are the ingest queue (its depth is a gauge). */
export class IngestSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(
    concurrency: number,
    private readonly depth: Gauge,
  ) {
    this.#free = concurrency;
  }
  async acquire(): Promise<() => void> {
    if (this.#free > 0) {
      this.#free -= 1;
    } else {
      this.depth.inc();
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
      this.depth.dec();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free += 1;
    };
  }
}
