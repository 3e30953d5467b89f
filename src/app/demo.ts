/** The demo `npm start` serves: a clean and a faulty synthetic capture, generated and ingested once. */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { FAULT_KINDS, type FaultKind, generateCapture } from "../pipelines/index.ts";
import type { Strata } from "./strata.ts";

export const DEMO_CAPTURES = [
  { name: "demo-clean.mcap", seed: 7, faults: [] as FaultKind[], night: false },
  {
    name: "demo-faulty.mcap",
    seed: 8,
    faults: [...FAULT_KINDS],
    night: true,
  },
];

export async function ingestDemo(strata: Strata, log: (line: string) => void, seconds = 60): Promise<void> {
  const dir = path.join(strata.config.home, "demo");
  await mkdir(dir, { recursive: true });
  for (const demo of DEMO_CAPTURES) {
    const outPath = path.join(dir, demo.name);
    log(
      `generating ${outPath} (${seconds} s synthetic drive${demo.faults.length ? `, faults: ${demo.faults.join(", ")}` : ""})`,
    );
    await generateCapture({
      outPath,
      seconds,
      seed: demo.seed,
      format: "mcap",
      faults: demo.faults,
      night: demo.night,
    });
    const result = await strata.ingest(outPath, {
      rig: "demo-car",
      site: "synthtown",
      region: "local",
      actor: "system:demo",
    });
    log(`ingested ${demo.name} → ${result.captureId} (${result.messageCount} messages)`);
  }
}
