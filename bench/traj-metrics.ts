/**
 * Trajectory metrics benchmark: APE (SE(3) Umeyama-aligned, translation) + RPE (translation, δ = 1 frame)
 * on 100k-pose trajectories, Strata (TypeScript, in-process) against numpy implementations of the same math
 * (bench/traj_metrics_numpy.py), measured in the same run: the headline peer is vectorized numpy
 * (whole-array operations, the strongest straightforward version); a second line compares with numpy
 * written in evo's own per-pose structure (lists of 4×4 matrices), which is how evo computes.
 *
 * Both read the same two TUM files from a temp dir. "compute" = association + alignment + APE + RPE +
 * statistics on freshly parsed trajectories (nothing cached from an earlier round); "parse" = reading both
 * TUM files. The headline ratio is compute; parse and parse+compute are printed too. The estimate has one
 * pose per reference pose (±2 ms stamp jitter at 100 Hz), so every pose pairs with the pose of the same
 * index: both Strata and the numpy peer then use the inputs as the associated trajectories without copying
 * them (an ordinary selection otherwise).
 *
 * Methodology (the machine is shared, so load changes from second to second):
 * - Rounds are interleaved: the numpy peer runs as one long-lived process (`--serve`) that does one round
 *   per request, and the driver alternates a Strata round and a numpy round (swapping who goes first each
 *   round), so both sides are measured under the same load. Times are measured inside each process.
 * - Each side's first round is a warm-up and is not counted, for both sides alike: for Strata it includes
 *   the JIT compiling the code, for numpy first-call costs (lazy imports such as `numpy.linalg`, first
 *   allocations). Neither side counts process start-up or module import (Node + tsx, Python + numpy).
 * - The headline is best-of-N per side (the least disturbed round); the median of the N rounds is printed too.
 * - Between Strata's parse and compute the parser's garbage is collected (untimed), so a major GC of parse
 *   leftovers is not billed to compute; numpy frees its temporaries by reference counting as it goes.
 *   Garbage that compute itself makes is collected on compute's clock.
 *
 * usage: node --import tsx bench/traj-metrics.ts [--poses 100000] [--repeat 10]
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
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
const repeat = argValue("--repeat", 10);

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

// See the header: parse leftovers are collected between parse and compute, untimed.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

interface PeerResult {
  parseSecs: number;
  computeSecs: number;
  numpy: string;
  ape: Record<string, number>;
  rpe: Record<string, number>;
}

interface Round {
  parseSecs: number;
  computeSecs: number;
}

const best = (rounds: Round[], key: keyof Round): number => Math.min(...rounds.map((r) => r[key]));
const median = (rounds: Round[], key: keyof Round): number => {
  const v = rounds.map((r) => r[key]).sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};

const dir = mkdtempSync(path.join(tmpdir(), "strata-bench-traj-"));
try {
  const { ref, est } = generate(poses);
  const refPath = path.join(dir, "ref.tum");
  const estPath = path.join(dir, "est.tum");
  writeFileSync(refPath, writeTum(ref));
  writeFileSync(estPath, writeTum(est));

  const python = ["/usr/bin/python3", "python3"].find(
    (p) => spawnSync(p, ["-c", "import numpy"], { stdio: "ignore" }).status === 0,
  );
  if (!python) throw new Error("numpy not found: apt-get install -y python3-numpy");
  const peerScript = new URL("./traj_metrics_numpy.py", import.meta.url).pathname;

  // the vectorized peer, one round per request line
  const peer = spawn(python, [peerScript, refPath, estPath, "--style", "vectorized", "--serve"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const peerLines = createInterface({ input: peer.stdout })[Symbol.asyncIterator]();
  const peerRound = async (): Promise<PeerResult> => {
    peer.stdin.write("round\n");
    const line = await peerLines.next();
    if (line.done) throw new Error("numpy peer (vectorized) exited early");
    return JSON.parse(line.value) as PeerResult;
  };
  let ours: ReturnType<typeof computeStrata> | undefined;
  const strataRound = (): Round => {
    const a = performance.now();
    const r = parseTum(readFileSync(refPath, "utf8"));
    const e = parseTum(readFileSync(estPath, "utf8"));
    const b = performance.now();
    collectGarbage();
    const c = performance.now();
    ours = computeStrata(r, e);
    const d = performance.now();
    return { parseSecs: (b - a) / 1000, computeSecs: (d - c) / 1000 };
  };

  const strataRounds: Round[] = [];
  const peerRounds: PeerResult[] = [];
  for (let k = 0; k < repeat + 1; k++) {
    // round 0 warms both sides up and is not counted; the order alternates so neither side always goes first
    const strataFirst = k % 2 === 0;
    const s1 = strataFirst ? strataRound() : undefined;
    const p = await peerRound();
    const s2 = strataFirst ? (s1 as Round) : strataRound();
    if (k > 0) {
      strataRounds.push(s2);
      peerRounds.push(p);
    }
  }
  peer.stdin.end();

  // evo's own per-pose structure is slow (seconds at 100k poses): one round is enough to compare
  const loopsRun = spawnSync(python, [peerScript, refPath, estPath, "--repeat", "1", "--style", "loops"], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (loopsRun.status !== 0) throw new Error(`numpy peer (loops) failed: ${loopsRun.stderr}`);
  const loops = JSON.parse(loopsRun.stdout) as PeerResult;

  const result = ours as ReturnType<typeof computeStrata>;
  const peerLast = peerRounds[peerRounds.length - 1] as PeerResult;
  const keys = ["pairs", "rmse", "mean", "median", "std", "min", "max"] as const;
  let maxDiff = 0;
  for (const peerResult of [peerLast, loops]) {
    for (const metric of ["ape", "rpe"] as const) {
      for (const key of keys)
        maxDiff = Math.max(maxDiff, Math.abs(result[metric][key] - (peerResult[metric][key] as number)));
    }
  }
  const equal = maxDiff <= 1e-6;
  const f = (s: number): string => `${(s * 1000).toFixed(1)} ms`;
  const ratio = (peerSecs: number, ourSecs: number): string => `${(peerSecs / ourSecs).toFixed(1)}×`;
  const computeStrataSecs = best(strataRounds, "computeSecs");
  const computePeerSecs = best(peerRounds, "computeSecs");
  const parseStrataSecs = best(strataRounds, "parseSecs");
  const parsePeerSecs = best(peerRounds, "parseSecs");
  const target = 5;
  const met = computePeerSecs / computeStrataSecs >= target;
  process.stdout.write(
    [
      `trajectory metrics, ${poses} poses each (${result.ape.pairs} associated pairs), best of ${repeat} interleaved rounds; numpy ${peerLast.numpy}`,
      `  APE trans (SE(3) aligned) RMSE ${result.ape.rmse.toFixed(6)} m   RPE trans (δ=1 frame) RMSE ${result.rpe.rmse.toFixed(6)} m`,
      `  compute (associate + align + APE + RPE):  strata ${f(computeStrataSecs)}   numpy ${f(computePeerSecs)}   ratio ${ratio(computePeerSecs, computeStrataSecs)}   target ≥ ${target}×: ${met ? "MET" : "MISSED"}`,
      `  compute, median of the rounds:            strata ${f(median(strataRounds, "computeSecs"))}   numpy ${f(median(peerRounds, "computeSecs"))}   ratio ${ratio(median(peerRounds, "computeSecs"), median(strataRounds, "computeSecs"))}`,
      `  parse both TUM files:                     strata ${f(parseStrataSecs)}   numpy ${f(parsePeerSecs)}   ratio ${ratio(parsePeerSecs, parseStrataSecs)}`,
      `  parse + compute:                          strata ${f(parseStrataSecs + computeStrataSecs)}   numpy ${f(parsePeerSecs + computePeerSecs)}   ratio ${ratio(parsePeerSecs + computePeerSecs, parseStrataSecs + computeStrataSecs)}`,
      `  compute, numpy with evo's per-pose loops: strata ${f(computeStrataSecs)}   numpy ${f(loops.computeSecs)}   ratio ${(loops.computeSecs / computeStrataSecs).toFixed(0)}× (one round)`,
      `  values equal to 1e-6 (pairs, rmse, mean, median, std, min, max of APE and RPE, both peers): ${equal ? "yes" : "NO"} (max |Δ| = ${maxDiff.toExponential(2)})`,
      "",
    ].join("\n"),
  );
  if (!equal) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
