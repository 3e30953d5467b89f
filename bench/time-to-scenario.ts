/**
 * Time-to-scenario: a new synthetic capture file → ingest (hash, index, registry and QA analyzers) →
 * scenes built and indexed → a scenario query returns one of its scenes. Generating the file is not timed.
 *
 *   npm run bench -- time-to-scenario [--seconds 60] [--seed 3] [--keep]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildScenes, closeSceneIndex, createStrata, resolveConfig, searchScenes } from "../src/app/index.ts";
import { generateCapture } from "../src/pipelines/index.ts";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(value)) throw new Error(`--${name} takes a number`);
  return value;
}

const seconds = flag("seconds", 60);
const seed = flag("seed", 3);
const keep = process.argv.includes("--keep");
const dir = mkdtempSync(path.join(tmpdir(), "strata-bench-tts-"));
const file = path.join(dir, `synth-${seed}.mcap`);

try {
  process.stderr.write(`generating a ${seconds} s synthetic capture (seed ${seed}; not timed)…\n`);
  const generated = await generateCapture({ outPath: file, seconds, seed });
  const strata = await createStrata(resolveConfig({ home: path.join(dir, "home"), env: {} }));
  try {
    const t0 = performance.now();
    const ingested = await strata.ingest(file, { rig: "synth_rig", site: "synth_town" });
    const t1 = performance.now();
    const [built] = await buildScenes(strata, { capture: ingested.captureId });
    const t2 = performance.now();
    const query = `captureId = ${ingested.captureId} and tag:window:fixed`;
    const { hits, latencyMs } = await searchScenes(strata, { query, limit: 5, includeQuarantined: true });
    const t3 = performance.now();
    if (hits.length === 0) throw new Error("the new capture's scenes are not searchable");
    const mb = generated.bytes / 1e6;
    const lines = [
      `time-to-scenario, ${seconds} s synthetic capture (${mb.toFixed(0)} MB, ${generated.messageCount} messages, seed ${seed})`,
      `  ingest (hash, store, index, registry + QA)   ${((t1 - t0) / 1000).toFixed(2)} s   (${(mb / ((t1 - t0) / 1000)).toFixed(0)} MB/s)`,
      `  scenes build (${built?.sceneCount ?? 0} scenes, ${Object.values(built?.events ?? {}).reduce((a, b) => a + b, 0)} events, index write)   ${((t2 - t1) / 1000).toFixed(2)} s`,
      `  first query returns a scene               ${((t3 - t2) / 1000).toFixed(3)} s   (query ${latencyMs.toFixed(1)} ms)`,
      `  time-to-scenario                          ${((t3 - t0) / 1000).toFixed(2)} s   (${((t3 - t0) / 1000 / seconds).toFixed(2)} s per second of log)`,
      `  ego source: ${built?.egoSource ?? "none"}; status: ${built?.quarantined ? "quarantined" : "ready"}`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await closeSceneIndex(strata);
    await strata.close();
  }
} finally {
  if (keep) process.stderr.write(`kept ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
}
