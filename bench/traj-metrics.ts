/**
 * Trajectory metrics benchmark: APE (SE(3) Umeyama-aligned, translation) + RPE (translation, δ = 1 frame)
 * on 100k-pose trajectories, Strata (TypeScript, in-process) against numpy implementations of the same math
 * (bench/traj_metrics_numpy.py), measured in the same run: the headline peer is vectorized numpy
 * (whole-array operations, the strongest straightforward version); a second line compares with numpy
 * written in evo's own per-pose structure (lists of 4×4 matrices), which is how evo computes.
 *
 * Both read the same two TUM files from a temp dir. Times are best of N, measured inside each process:
 * "compute" = association + alignment + APE + RPE + statistics on freshly parsed trajectories (nothing
 * cached from an earlier round); "parse" = reading both TUM files. The headline ratio is compute;
 * parse and parse+compute are printed too.
 *
 * usage: node --import tsx bench/traj-metrics.ts [--poses 100000] [--repeat 5]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { quatFromRpy, quatMultiply, quatRotate } from "../src/core/index.ts";
import { ape, associate, type MetricResult, rpe } from "../src/pipelines/registry/metrics.ts";
import { type PoseTrajectory, parseTum, writeTum } from "../src/pipelines/registry/trajectory.ts";

const argValue = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const poses = argValue("--poses", 100_000);
const repeat = argValue("--repeat", 5);

/** Deterministic normal-ish noise (sum of uniforms from mulberry32). */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => uniform() + uniform() + uniform() + uniform() - 2;
}

function generate(n: number): { ref: PoseTrajectory; est: PoseTrajectory } {
  const rnd = noise(42);
  const t0 = 1_700_000_000;
  const ref: PoseTrajectory = {
    timestampsSecs: new Float64Array(n),
    timeBase: "seconds",
    positions: new Float64Array(3 * n),
    orientations: new Float64Array(4 * n),
  };
  const est: PoseTrajectory = {
    timestampsSecs: new Float64Array(n),
    timeBase: "seconds",
    positions: new Float64Array(3 * n),
    orientations: new Float64Array(4 * n),
  };
  // the estimate lives in another frame: estFromRef = (yaw 30°, roll 5°, translation (3, −2, 1))
  const frameRotation = quatFromRpy(0.087, 0, 0.52);
  for (let i = 0; i < n; i++) {
    const t = i * 0.01; // 100 Hz
    const p = { x: 20 * Math.cos(t / 30) + t * 0.1, y: 15 * Math.sin(t / 20), z: 2 + Math.sin(t / 7) };
    const q = quatFromRpy(0.05 * Math.sin(t), 0.03 * Math.cos(t / 2), t / 30);
    ref.timestampsSecs[i] = t0 + t;
    ref.positions.set([p.x, p.y, p.z], 3 * i);
    ref.orientations.set([q.x, q.y, q.z, q.w], 4 * i);
    // estimate: same pose in the other frame, 1 cm position noise, 0.2° rotation noise, ±2 ms stamp jitter
    const pe = quatRotate(frameRotation, p);
    const qe = quatMultiply(
      frameRotation,
      quatMultiply(q, quatFromRpy(0.0035 * rnd(), 0.0035 * rnd(), 0.0035 * rnd())),
    );
    est.timestampsSecs[i] = t0 + t + 0.002 * (rnd() / 2);
    est.positions.set([pe.x + 3 + 0.01 * rnd(), pe.y - 2 + 0.01 * rnd(), pe.z + 1 + 0.01 * rnd()], 3 * i);
    est.orientations.set([qe.x, qe.y, qe.z, qe.w], 4 * i);
  }
  return { ref, est };
}

function computeStrata(ref: PoseTrajectory, est: PoseTrajectory): { ape: MetricResult; rpe: MetricResult } {
  const pair = associate(ref, est, { maxDiffSecs: 0.01 });
  return {
    ape: ape(pair.ref, pair.est, { relation: "trans", align: "se3" }),
    rpe: rpe(pair.ref, pair.est, { relation: "trans", delta: 1, deltaUnit: "frames", align: "se3" }),
  };
}

// Collect the parser's garbage between parse and compute (untimed), so a major GC of parse leftovers is not
// billed to compute; numpy frees its temporaries by reference counting as it goes.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const dir = mkdtempSync(path.join(tmpdir(), "strata-bench-traj-"));
try {
  const { ref, est } = generate(poses);
  const refPath = path.join(dir, "ref.tum");
  const estPath = path.join(dir, "est.tum");
  writeFileSync(refPath, writeTum(ref));
  writeFileSync(estPath, writeTum(est));

  let parseBest = Number.POSITIVE_INFINITY;
  let computeBest = Number.POSITIVE_INFINITY;
  let ours: ReturnType<typeof computeStrata> | undefined;
  for (let k = 0; k < repeat + 1; k++) {
    // the first round warms up the JIT and is not counted
    const a = performance.now();
    const r = parseTum(readFileSync(refPath, "utf8"));
    const e = parseTum(readFileSync(estPath, "utf8"));
    const b = performance.now();
    collectGarbage();
    const c = performance.now();
    ours = computeStrata(r, e);
    const d = performance.now();
    if (k > 0) {
      parseBest = Math.min(parseBest, (b - a) / 1000);
      computeBest = Math.min(computeBest, (d - c) / 1000);
    }
  }
  const python = ["/usr/bin/python3", "python3"].find(
    (p) => spawnSync(p, ["-c", "import numpy"], { stdio: "ignore" }).status === 0,
  );
  if (!python) throw new Error("numpy not found: apt-get install -y python3-numpy");
  interface PeerResult {
    parseSecs: number;
    computeSecs: number;
    numpy: string;
    ape: Record<string, number>;
    rpe: Record<string, number>;
  }
  const runPeer = (style: "vectorized" | "loops", rounds: number): PeerResult => {
    const run = spawnSync(
      python,
      [
        new URL("./traj_metrics_numpy.py", import.meta.url).pathname,
        refPath,
        estPath,
        "--repeat",
        String(rounds),
        "--style",
        style,
      ],
      { encoding: "utf8", maxBuffer: 64 << 20 },
    );
    if (run.status !== 0) throw new Error(`numpy peer (${style}) failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as PeerResult;
  };
  const peer = runPeer("vectorized", repeat);
  // evo's own per-pose structure is slow (seconds at 100k poses): one round is enough to compare
  const loops = runPeer("loops", 1);

  const result = ours as ReturnType<typeof computeStrata>;
  const keys = ["pairs", "rmse", "mean", "median", "std", "min", "max"] as const;
  let maxDiff = 0;
  for (const metric of ["ape", "rpe"] as const) {
    for (const key of keys)
      maxDiff = Math.max(maxDiff, Math.abs(result[metric][key] - (peer[metric][key] as number)));
  }
  const equal = maxDiff <= 1e-6;
  const f = (s: number): string => `${(s * 1000).toFixed(1)} ms`;
  process.stdout.write(
    [
      `trajectory metrics, ${poses} poses each (${result.ape.pairs} associated pairs), best of ${repeat}; numpy ${peer.numpy}`,
      `  APE trans (SE(3) aligned) RMSE ${result.ape.rmse.toFixed(6)} m   RPE trans (δ=1 frame) RMSE ${result.rpe.rmse.toFixed(6)} m`,
      `  compute (associate + align + APE + RPE):  strata ${f(computeBest)}   numpy ${f(peer.computeSecs)}   ratio ${(peer.computeSecs / computeBest).toFixed(1)}×`,
      `  parse both TUM files:                     strata ${f(parseBest)}   numpy ${f(peer.parseSecs)}   ratio ${(peer.parseSecs / parseBest).toFixed(1)}×`,
      `  parse + compute:                          strata ${f(parseBest + computeBest)}   numpy ${f(peer.parseSecs + peer.computeSecs)}   ratio ${((peer.parseSecs + peer.computeSecs) / (parseBest + computeBest)).toFixed(1)}×`,
      `  compute, numpy with evo's per-pose loops: strata ${f(computeBest)}   numpy ${f(loops.computeSecs)}   ratio ${(loops.computeSecs / computeBest).toFixed(0)}×`,
      `  values equal to 1e-6 (pairs, rmse, mean, median, std, min, max of APE and RPE, both peers): ${equal ? "yes" : "NO"} (max |Δ| = ${maxDiff.toExponential(2)})`,
      "",
    ].join("\n"),
  );
  if (!equal) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
