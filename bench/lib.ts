/** Shared helpers for benchmarks: run a command under /usr/bin/time, report MB/s and peak RSS. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface Measured {
  label: string;
  seconds: number;
  peakRssMb: number;
  stdout: string;
}

/** Runs `argv` once under GNU time; throws with its stderr if it fails. */
export function measure(
  label: string,
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; shell?: boolean } = {},
): Measured {
  const dir = mkdtempSync(path.join(tmpdir(), "strata-bench-time-"));
  const timeFile = path.join(dir, "time.txt");
  const command = options.shell ? ["/bin/sh", "-c", argv.join(" ")] : argv;
  const result = spawnSync("/usr/bin/time", ["-f", "%e %M", "-o", timeFile, ...command], {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    encoding: "utf8",
    maxBuffer: 256 << 20,
  });
  if (result.status !== 0) throw new Error(`${label} failed (${result.status}): ${result.stderr}`);
  const [seconds, maxRssKb] =
    readFileSync(timeFile, "utf8").trim().split("\n").pop()?.split(" ").map(Number) ?? [];
  rmSync(dir, { recursive: true, force: true });
  return { label, seconds: seconds ?? Number.NaN, peakRssMb: (maxRssKb ?? 0) / 1024, stdout: result.stdout };
}

/** Best of n runs (least disturbed by the other core's load). */
export function best(n: number, run: () => Measured): Measured {
  let bestRun = run();
  for (let i = 1; i < n; i++) {
    const next = run();
    if (next.seconds < bestRun.seconds) bestRun = next;
  }
  return bestRun;
}

export function mbPerSec(bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds;
}

export function printTable(
  rows: { label: string; seconds: number; mbps: number; peakRssMb: number }[],
): void {
  const widths = [Math.max(...rows.map((r) => r.label.length), 10), 9, 9, 12];
  process.stdout.write(
    `${"what".padEnd(widths[0] ?? 10)}  ${"seconds".padStart(9)}  ${"MB/s".padStart(9)}  ${"peak RSS MB".padStart(12)}\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `${r.label.padEnd(widths[0] ?? 10)}  ${r.seconds.toFixed(2).padStart(9)}  ${r.mbps.toFixed(0).padStart(9)}  ${r.peakRssMb.toFixed(0).padStart(12)}\n`,
    );
  }
}

export const repoRoot = path.resolve(new URL("..", import.meta.url).pathname);
export const strataBin = path.join(repoRoot, "bin", "strata.js");

/** Builds the CLI bundle if a source changed since the last build, so `strata` runs as installed. */
export function ensureCliBundle(): void {
  const built = spawnSync(process.execPath, [path.join(repoRoot, "bin", "build-cli.mjs")], {
    encoding: "utf8",
  });
  if (built.status !== 0) throw new Error(`building the CLI bundle failed: ${built.stderr}`);
}
