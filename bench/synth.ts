/**
 * Synthetic capture generation throughput: a 60 s capture (MCAP, zstd), printed as MB/s of output.
 * Usage: node --import tsx bench/synth.ts [seconds] [mcap|bag]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { generateCapture } from "../src/pipelines/synth/index.ts";

const seconds = Number(process.argv[2] ?? 60);
const format = (process.argv[3] ?? "mcap") as "mcap" | "bag";
const dir = await mkdtemp(join(tmpdir(), "strata-bench-synth-"));
try {
  const cpuBefore = process.cpuUsage();
  const result = await generateCapture({ outPath: join(dir, `bench.${format}`), seconds, seed: 1, format });
  const mb = result.bytes / 1e6;
  const secs = result.durationMs / 1000;
  console.log(
    `synth: ${seconds} s ${format} capture, ${mb.toFixed(1)} MB, ${result.messageCount} messages in ${secs.toFixed(2)} s → ${(mb / secs).toFixed(1)} MB/s` +
      ` (${cpus().length} cores, load average ${loadavg()[0]?.toFixed(2)})`,
  );
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  console.log(
    `  CPU time (all threads) ${cpuSecs.toFixed(2)} s = ${(mb / cpuSecs).toFixed(1)} MB per CPU-second; ` +
      `on ${cpus().length} otherwise idle cores that bounds throughput at ~${((mb / cpuSecs) * cpus().length).toFixed(0)} MB/s`,
  );
  console.log(
    `  main-thread time by stage (ms): ${Object.entries(result.stagesMs)
      .map(([stage, ms]) => `${stage} ${ms.toFixed(0)}`)
      .join(", ")}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
