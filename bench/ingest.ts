/**
 * Ingest throughput and memory (issue 2). From one run:
 *   MCAP (~1 GB, zstd chunks, 8 topics of ~1 KB and ~200 KB messages): `cat FILE > /dev/null`, a bare
 *   @mcap/core indexed read of every message, and `strata ingest`; ratios; peak RSS of each.
 *   ROS 1 (~300 MB bag): `strata ingest` vs Debian python3-rosbag reading every message.
 *   Memory: peak RSS of `strata ingest` on a ~2 GB MCAP must stay ≤ 300 MB (asserted).
 * Usage: npm run bench -- ingest [--mcap-mb 1000] [--bag-mb 300] [--big-mb 2000] [--runs 1]
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { writeLargeBag, writeLargeMcap } from "../testdata/generators/large-log.ts";
import { best, type Measured, mbPerSec, measure, printTable, repoRoot, strataBin } from "./lib.ts";

const { values } = parseArgs({
  options: {
    "mcap-mb": { type: "string", default: "1000" },
    "bag-mb": { type: "string", default: "300" },
    "big-mb": { type: "string", default: "2000" },
    runs: { type: "string", default: "1" },
  },
});
const runs = Number(values.runs);
const dir = mkdtempSync(path.join(process.env.STRATA_BENCH_TMP ?? tmpdir(), "strata-bench-ingest-"));
const tsx = ["node", "--import", "tsx"];

/** Half of each generated payload is structured and compresses away, so ask for twice the file size. */
async function mcapOfSize(file: string, mb: number): Promise<number> {
  await writeLargeMcap(file, { targetBytes: mb * 2e6 });
  return statSync(file).size;
}

function strataIngest(file: string, label: string): Measured {
  const home = path.join(dir, `home-${Math.random().toString(36).slice(2)}`);
  try {
    return measure(label, ["node", strataBin, "ingest", file, "--json"], {
      env: { STRATA_HOME: home, STRATA_CATALOG_URL: "" },
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

try {
  // ---- MCAP ----
  const mcap = path.join(dir, "bench.mcap");
  process.stderr.write(`generating ~${values["mcap-mb"]} MB MCAP…\n`);
  const mcapBytes = await mcapOfSize(mcap, Number(values["mcap-mb"]));
  const cat = best(runs, () =>
    measure("cat FILE > /dev/null", ["cat", mcap, ">", "/dev/null"], { shell: true }),
  );
  const bare = best(runs, () =>
    measure("@mcap/core indexed read", [...tsx, path.join(repoRoot, "bench/peers/mcap-core-read.ts"), mcap], {
      cwd: repoRoot,
    }),
  );
  const ingest = best(runs, () => strataIngest(mcap, "strata ingest"));
  process.stdout.write(`\nMCAP ${(mcapBytes / 1e6).toFixed(0)} MB (zstd chunks, 8 topics)\n`);
  printTable([cat, bare, ingest].map((m) => ({ ...m, mbps: mbPerSec(mcapBytes, m.seconds) })));
  const ratio = bare.seconds / ingest.seconds;
  process.stdout.write(
    `ingest / bare @mcap/core throughput: ${ratio.toFixed(2)}× (target ≥ 0.7×) ${ratio >= 0.7 ? "MET" : "MISSED"}\n`,
  );
  process.stdout.write(`ingest / cat throughput: ${(cat.seconds / ingest.seconds).toFixed(3)}×\n`);
  rmSync(mcap, { force: true });

  // ---- ROS 1 ----
  const bag = path.join(dir, "bench.bag");
  process.stderr.write(`generating ~${values["bag-mb"]} MB ROS 1 bag…\n`);
  await writeLargeBag(bag, { targetBytes: Number(values["bag-mb"]) * 1e6 });
  const bagBytes = statSync(bag).size;
  const rosbagPython = "/usr/bin/python3";
  const rows = [strataIngestRow()];
  function strataIngestRow() {
    const m = best(runs, () => strataIngest(bag, "strata ingest"));
    return { ...m, mbps: mbPerSec(bagBytes, m.seconds) };
  }
  let rosbag: Measured | undefined;
  if (existsSync(rosbagPython) && measureOk(() => measure("probe", [rosbagPython, "-c", "import rosbag"]))) {
    rosbag = best(runs, () =>
      measure("python3-rosbag read_messages", [
        rosbagPython,
        path.join(repoRoot, "bench/peers/rosbag-read.py"),
        bag,
      ]),
    );
    rows.push({ ...rosbag, mbps: mbPerSec(bagBytes, rosbag.seconds) });
  }
  process.stdout.write(`\nROS 1 bag ${(bagBytes / 1e6).toFixed(0)} MB (uncompressed chunks, 8 topics)\n`);
  printTable(rows);
  if (rosbag && rows[0]) {
    const speedup = rosbag.seconds / rows[0].seconds;
    process.stdout.write(
      `strata ingest vs python3-rosbag: ${speedup.toFixed(1)}× faster (target ≥ 3×) ${speedup >= 3 ? "MET" : "MISSED"}\n`,
    );
  } else {
    process.stdout.write(
      "python3-rosbag is not installed (apt-get install -y python3-rosbag): ROS 1 peer not measured\n",
    );
  }
  rmSync(bag, { force: true });

  // ---- Memory on a ~2 GB file ----
  const big = path.join(dir, "big.mcap");
  process.stderr.write(`generating ~${values["big-mb"]} MB MCAP for the memory check…\n`);
  const bigBytes = await mcapOfSize(big, Number(values["big-mb"]));
  const bigIngest = strataIngest(big, "strata ingest (memory)");
  process.stdout.write(
    `\nMemory: ingest of ${(bigBytes / 1e6).toFixed(0)} MB: peak RSS ${bigIngest.peakRssMb.toFixed(0)} MB (limit 300 MB), ${mbPerSec(bigBytes, bigIngest.seconds).toFixed(0)} MB/s\n`,
  );
  if (bigIngest.peakRssMb > 300) {
    process.stdout.write("FAILED: peak RSS above 300 MB\n");
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function measureOk(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch {
    return false;
  }
}
