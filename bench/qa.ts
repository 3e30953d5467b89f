/**
 * What QA adds to ingest (issue 5): ingest of a ~1 GB synthetic capture (camera JPEGs, lidar clouds, IMU,
 * GPS, odometry, TF; zstd chunks) without analyzers, and with the QA analyzer at its default policy
 * (sampled: 2% of the duration in 4 windows, small topics whole). Each ingest runs in its own process
 * into a fresh home; the time of the `ingestPath` call is reported (process start-up excluded), best of
 * N alternating runs. Target: QA adds ≤ 15%.
 * Usage: npm run bench -- qa [--seconds 100] [--runs 3] [--file existing.mcap] [--full]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { openCatalog } from "../src/catalog/index.ts";
import type { CaptureAnalyzer } from "../src/pipelines/ingest/ingest.ts";
import { ingestPath } from "../src/pipelines/ingest/index.ts";
import { qaAnalyzer } from "../src/pipelines/qa/index.ts";
import { LocalBlobStore } from "../src/storage/index.ts";
import { repoRoot } from "./lib.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "100" },
    runs: { type: "string", default: "3" },
    file: { type: "string" },
    full: { type: "boolean", default: false },
    // Internal: one measured ingest in this process.
    child: { type: "string" },
    home: { type: "string" },
  },
});

interface ChildResult {
  ingestSecs: number;
  /** The QA analyzer's pass alone (0 without it). */
  analyzeSecs: number;
  /** user + system CPU of the ingest call (less sensitive to other load on the machine than wall time). */
  cpuSecs: number;
  peakRssMb: number;
  verdict: string | null;
  mode: string | null;
  decoded: number | null;
  indexed: number | null;
}

if (values.child !== undefined) {
  const home = values.home as string;
  const catalog = await openCatalog({ kind: "sqlite", path: path.join(home, "catalog.sqlite") });
  const blobs = new LocalBlobStore(path.join(home, "blobs"));
  const analyzers: CaptureAnalyzer[] = [];
  let analyzeSecs = 0;
  if (values.child === "qa") {
    const qa = qaAnalyzer({
      codeVersion: "bench",
      ...(values.full ? { policy: { sampling: { mode: "full" as const } } } : {}),
    });
    // The analyzer's own pass, timed apart (its rows commit with the capture, inside ingestSecs).
    analyzers.push({
      name: qa.name,
      async analyze(context) {
        const t0 = performance.now();
        try {
          return await qa.analyze(context);
        } finally {
          analyzeSecs = (performance.now() - t0) / 1000;
        }
      },
    });
  }
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await ingestPath(
    values.file as string,
    { actor: "bench" },
    { catalog, blobs, codeVersion: "bench", analyzers },
  );
  const ingestSecs = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const qa = await catalog.db
    .selectFrom("qa_results")
    .select(["verdict", "plan", "coverage"])
    .where("capture_id", "=", result.captureId)
    .executeTakeFirst();
  await catalog.close();
  const coverage = qa
    ? (JSON.parse(qa.coverage) as { messagesDecoded: number; messagesIndexed: number })
    : undefined;
  const out: ChildResult = {
    ingestSecs,
    analyzeSecs,
    cpuSecs: (cpu.user + cpu.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    verdict: qa?.verdict ?? null,
    mode: qa ? (JSON.parse(qa.plan) as { mode: string }).mode : null,
    decoded: coverage?.messagesDecoded ?? null,
    indexed: coverage?.messagesIndexed ?? null,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

const dir = mkdtempSync(path.join(process.env.STRATA_BENCH_TMP ?? tmpdir(), "strata-bench-qa-"));
try {
  let file = values.file;
  if (file === undefined || !existsSync(file)) {
    file = path.join(dir, "capture.mcap");
    process.stderr.write(`generating a ${values.seconds} s synthetic capture (about 10 MB/s of log)…\n`);
    // Loaded only when needed: the generator is big and the measured children never use it.
    const { generateCapture } = await import("../src/pipelines/synth/index.ts");
    const generated = await generateCapture({ outPath: file, seconds: Number(values.seconds), seed: 5 });
    process.stderr.write(
      `generated ${(generated.bytes / 1e6).toFixed(0)} MB in ${(generated.durationMs / 1000).toFixed(0)} s\n`,
    );
  }
  const bytes = statSync(file).size;
  const run = (mode: "bare" | "qa"): ChildResult => {
    const home = path.join(dir, `home-${mode}-${Math.random().toString(36).slice(2)}`);
    try {
      const args = [
        "--import",
        "tsx",
        path.join(repoRoot, "bench/qa.ts"),
        "--child",
        mode,
        "--home",
        home,
        "--file",
        file as string,
        ...(values.full ? ["--full"] : []),
      ];
      const r = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`ingest (${mode}) failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split("\n").pop() as string) as ChildResult;
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  };
  const runs = Math.max(1, Number(values.runs));
  const bare: ChildResult[] = [];
  const qa: ChildResult[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(run("bare"));
    qa.push(run("qa"));
    process.stderr.write(
      `run ${i + 1}: ingest ${bare[i]?.ingestSecs.toFixed(2)} s (cpu ${bare[i]?.cpuSecs.toFixed(2)} s), ingest + QA ${qa[i]?.ingestSecs.toFixed(2)} s (cpu ${qa[i]?.cpuSecs.toFixed(2)} s, QA pass ${qa[i]?.analyzeSecs.toFixed(2)} s)\n`,
    );
  }
  const bestOf = (rs: ChildResult[]) => rs.reduce((a, b) => (b.ingestSecs < a.ingestSecs ? b : a));
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const b = bestOf(bare);
  const q = bestOf(qa);
  const pct = (x: number, y: number) => (x / y - 1) * 100;
  const minOf = (rs: ChildResult[], key: "cpuSecs" | "analyzeSecs") => Math.min(...rs.map((r) => r[key]));
  const medianOf = (rs: ChildResult[], key: "ingestSecs" | "cpuSecs") => median(rs.map((r) => r[key]));
  const added = pct(q.ingestSecs, b.ingestSecs);
  process.stdout.write(
    `\nsynthetic capture ${(bytes / 1e6).toFixed(0)} MB (MCAP, zstd chunks), ${runs} alternating runs\n`,
  );
  process.stdout.write(
    `${"what".padEnd(34)}  ${"best s".padStart(7)}  ${"median s".padStart(8)}  ${"min cpu s".padStart(9)}  ${"MB/s".padStart(5)}  ${"peak RSS MB".padStart(11)}\n`,
  );
  for (const [label, r, rs] of [
    ["ingest (no analyzers)", b, bare],
    [`ingest + QA (${values.full ? "full read" : "default policy"})`, q, qa],
  ] as const) {
    process.stdout.write(
      `${label.padEnd(34)}  ${r.ingestSecs.toFixed(2).padStart(7)}  ${medianOf(rs, "ingestSecs").toFixed(2).padStart(8)}  ${minOf(rs, "cpuSecs").toFixed(2).padStart(9)}  ${(bytes / 1e6 / r.ingestSecs).toFixed(0).padStart(5)}  ${r.peakRssMb.toFixed(0).padStart(11)}\n`,
    );
  }
  process.stdout.write(
    `QA: verdict ${q.verdict}, ${q.mode} mode, decoded ${q.decoded} of ${q.indexed} messages; the QA pass alone: ${minOf(qa, "analyzeSecs").toFixed(2)} s (best)\n` +
      `QA adds ${added.toFixed(1)}% to ingest time, best against best (target ≤ 15%: ${added <= 15 ? "OK" : "OVER"}); ` +
      `${pct(medianOf(qa, "ingestSecs"), medianOf(bare, "ingestSecs")).toFixed(1)}% median against median; ` +
      `${pct(minOf(qa, "cpuSecs"), minOf(bare, "cpuSecs")).toFixed(1)}% CPU time\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
