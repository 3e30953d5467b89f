/**
 * `npm run bench -- export`: the cost of a window export follows the window, not the file.
 *
 * Generates a ~100 MB and a ~1 GB MCAP capture (testdata/generators/large-log.ts: 8 topics, IMU-rate
 * small messages and two 200 KB camera streams, zstd chunks), ingests both into a temporary home, then
 * exports the same 30 s window (all topics) from each — in the middle of the large one — and prints the
 * times and their ratio (target ≤ 1.2). For scale it also times reading the whole 1 GB capture.
 *
 * Timings: in-process (`exportCaptureWindow`, best of 3) and through the CLI under GNU time (best of 2,
 * with peak RSS). Set STRATA_BENCH_DIR to keep the generated files between runs.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createStrata, exportCaptureWindow, resolveConfig } from "../src/app/index.ts";
import { openLog } from "../src/formats/index.ts";
import { writeLargeMcap } from "../testdata/generators/large-log.ts";
import { best, measure, strataBin } from "./lib.ts";

const SEC = 1_000_000_000n;
const WINDOW_SECS = 30n;
/** zstd halves the generator's payload (half noise, half gradient): payload bytes for a file of `fileBytes`. */
const PAYLOAD_PER_FILE_BYTE = 1.9;

const keep = process.env.STRATA_BENCH_DIR;
const dir = keep ?? mkdtempSync(path.join(tmpdir(), "strata-bench-export-"));
mkdirSync(dir, { recursive: true });
const home = path.join(dir, "home");

async function generate(name: string, fileBytes: number): Promise<string> {
  const file = path.join(dir, name);
  if (existsSync(file)) return file;
  const started = performance.now();
  const result = await writeLargeMcap(file, { targetBytes: fileBytes * PAYLOAD_PER_FILE_BYTE, seed: 7 });
  process.stdout.write(
    `generated ${name}: ${(statSync(file).size / 1e6).toFixed(0)} MB, ${result.durationSecs.toFixed(0)} s of log, ${result.messageCount} messages (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  return file;
}

try {
  const small = await generate("small-100MB.mcap", 100e6);
  const large = await generate("large-1GB.mcap", 1e9);
  const strata = await createStrata(resolveConfig({ home, env: {} }));
  const captures: { label: string; captureId: string; startNs: bigint; endNs: bigint; sizeBytes: number }[] =
    [];
  try {
    for (const [label, file] of [
      ["100 MB", small],
      ["1 GB", large],
    ] as const) {
      const started = performance.now();
      const ingested = await strata.ingest(file);
      const record = await strata.catalog.getCapture(ingested.captureId);
      if (!record?.startNs || !record.endNs) throw new Error(`${file} has no messages`);
      process.stdout.write(
        `ingested ${label}: ${ingested.captureId}, ${((record.endNs - record.startNs) / SEC).toString()} s of log (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
      );
      captures.push({
        label,
        captureId: ingested.captureId,
        startNs: record.startNs,
        endNs: record.endNs,
        sizeBytes: statSync(file).size,
      });
    }

    // The same 30 s window: 10 s in for the small capture, the middle of the large one.
    const windows = captures.map((c, i) => {
      const startNs = i === 0 ? c.startNs + 10n * SEC : c.startNs + (c.endNs - c.startNs) / 2n;
      return { ...c, startNs, endNs: startNs + WINDOW_SECS * SEC };
    });
    const exportOnce = async (w: (typeof windows)[number], out: string) => {
      rmSync(out, { force: true });
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const { result } = await exportCaptureWindow(strata, {
        capture: w.captureId,
        format: "mcap",
        start: w.startNs.toString(),
        end: w.endNs.toString(),
        out,
      });
      const cpu = process.cpuUsage(cpuBefore);
      return {
        seconds: (performance.now() - started) / 1000,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        result,
      };
    };
    const outOf = (w: (typeof windows)[number]) => path.join(dir, `window-${w.captureId}.mcap`);
    // Warm-up (JIT, zstd's WebAssembly, page cache of both files), then alternate the two, best of 3.
    for (const w of windows) await exportOnce(w, outOf(w));
    const bestOf = windows.map(() => ({
      seconds: Number.POSITIVE_INFINITY,
      cpuSeconds: Number.POSITIVE_INFINITY,
      messages: 0,
      outBytes: 0,
    }));
    for (let run = 0; run < 3; run++) {
      for (const [i, w] of windows.entries()) {
        const { seconds, cpuSeconds, result } = await exportOnce(w, outOf(w));
        const slot = bestOf[i];
        if (!slot) continue;
        slot.seconds = Math.min(slot.seconds, seconds);
        slot.cpuSeconds = Math.min(slot.cpuSeconds, cpuSeconds);
        slot.messages = result.messageCount;
        slot.outBytes = result.sizeBytes;
      }
    }
    const rows: {
      label: string;
      seconds: number;
      cpuSeconds: number;
      messages: number;
      outMb: number;
      cliSeconds: number;
      peakRssMb: number;
    }[] = [];
    for (const [i, w] of windows.entries()) {
      const out = outOf(w);
      const cli = best(2, () => {
        rmSync(out, { force: true });
        return measure(`cli ${w.label}`, [
          process.execPath,
          strataBin,
          "export",
          "mcap",
          w.captureId,
          "--start",
          w.startNs.toString(),
          "--end",
          w.endNs.toString(),
          "--out",
          out,
          "--home",
          home,
        ]);
      });
      const slot = bestOf[i] ?? { seconds: Number.NaN, cpuSeconds: Number.NaN, messages: 0, outBytes: 0 };
      rows.push({
        label: `30 s window of the ${w.label} capture`,
        seconds: slot.seconds,
        cpuSeconds: slot.cpuSeconds,
        messages: slot.messages,
        outMb: slot.outBytes / 1e6,
        cliSeconds: cli.seconds,
        peakRssMb: cli.peakRssMb,
      });
    }

    // For scale: every message of the 1 GB capture, read through the same reader.
    const largeCapture = captures[1];
    let wholeSeconds = Number.NaN;
    let wholeMessages = 0;
    if (largeCapture) {
      const reader = await openLog(strata.blobs.path(await sha256Of(strata, largeCapture.captureId)));
      const started = performance.now();
      for await (const _ of reader.messages()) wholeMessages++;
      wholeSeconds = (performance.now() - started) / 1000;
      await reader.close();
    }

    process.stdout.write(
      `\n${"what".padEnd(40)}  ${"in-process s".padStart(12)}  ${"CPU s".padStart(6)}  ${"messages".padStart(9)}  ${"out MB".padStart(7)}  ${"CLI s".padStart(6)}  ${"CLI peak RSS MB".padStart(15)}\n`,
    );
    for (const r of rows) {
      process.stdout.write(
        `${r.label.padEnd(40)}  ${r.seconds.toFixed(3).padStart(12)}  ${r.cpuSeconds.toFixed(2).padStart(6)}  ${String(r.messages).padStart(9)}  ${r.outMb.toFixed(1).padStart(7)}  ${r.cliSeconds.toFixed(2).padStart(6)}  ${r.peakRssMb.toFixed(0).padStart(15)}\n`,
      );
    }
    process.stdout.write(
      `${"read all of the 1 GB capture (scale)".padEnd(40)}  ${wholeSeconds.toFixed(3).padStart(12)}  ${"".padStart(6)}  ${String(wholeMessages).padStart(9)}\n`,
    );
    const [smallRow, largeRow] = rows;
    if (smallRow && largeRow) {
      const ratio = largeRow.seconds / smallRow.seconds;
      const cpuRatio = largeRow.cpuSeconds / smallRow.cpuSeconds;
      const cliRatio = largeRow.cliSeconds / smallRow.cliSeconds;
      process.stdout.write(
        `\nwindow export time ratio, 1 GB / 100 MB capture: ${ratio.toFixed(2)} wall in-process (target ≤ 1.2) → ${ratio <= 1.2 ? "PASS" : "FAIL"}; ${cpuRatio.toFixed(2)} CPU time; ${cliRatio.toFixed(2)} wall through the CLI (process start included; noisy on a loaded machine)\n`,
      );
      if (ratio > 1.2) process.exitCode = 1;
    }
  } finally {
    await strata.close();
  }
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

async function sha256Of(
  strata: Awaited<ReturnType<typeof createStrata>>,
  captureId: string,
): Promise<string> {
  const record = await strata.catalog.getCapture(captureId);
  if (!record) throw new Error(`no capture ${captureId}`);
  return record.sha256;
}
