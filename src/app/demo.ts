/** The demo `npm start` serves: a clean and a faulty synthetic capture, generated and ingested once. */
import { mkdir, rm } from "node:fs/promises";
import { StrataError } from "../core/index.ts";
import path from "node:path";
import { FAULT_KINDS, type FaultKind, generateCapture } from "../pipelines/index.ts";
import { buildScenes } from "./scenes.ts";
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
    // The blob store now holds these bytes; keep only the ground-truth sidecar beside it.
    await rm(outPath, { force: true });
  }
  log("building scenes (features, scene graphs, embeddings) so search has something to find");
  const outcomes = await buildScenes(strata, { actor: "system:demo" });
  log(`built scenes for ${outcomes.length} captures`);
}

export interface DemoGenerateRequest {
  outPath: string;
  seconds: number;
  seed: number;
  format: "mcap" | "bag";
  faults: string[];
  night: boolean;
  rain: boolean;
}

/** `strata demo generate`: checks the fault names, then runs the generator. */
export async function generateDemoCapture(request: DemoGenerateRequest) {
  const known = new Set<string>(FAULT_KINDS);
  const unknown = request.faults.filter((f) => !known.has(f));
  if (unknown.length > 0) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `unknown fault ${unknown.join(", ")}`,
      {},
      { hint: `Faults: ${FAULT_KINDS.join(", ")}.` },
    );
  }
  const result = await generateCapture({ ...request, faults: request.faults as FaultKind[] });
  return {
    path: result.path,
    truthPath: result.truthPath,
    bytes: result.bytes,
    messageCount: result.messageCount,
    durationMs: result.durationMs,
  };
}
