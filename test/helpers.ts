/** Shared by end-to-end tests: run the real CLI, locate the shared fixtures, make temp homes. */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export const repoRoot = path.resolve(new URL("..", import.meta.url).pathname);
export const fixtures = path.resolve(repoRoot, "../shared/fixtures");
export const strataBin = path.join(repoRoot, "bin", "strata.js");

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function tempDir(prefix = "strata-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `strata ARGS` as a user would, with STRATA_HOME set. */
export function strata(args: string[], home: string, env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [strataBin, ...args], {
    env: { ...process.env, STRATA_HOME: home, STRATA_CATALOG_URL: "", ...env },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export async function strataAsync(args: string[], home: string): Promise<CliResult> {
  const child = spawn(process.execPath, [strataBin, ...args], {
    env: { ...process.env, STRATA_HOME: home, STRATA_CATALOG_URL: "" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  return { status, stdout, stderr };
}

export function json<T = unknown>(result: CliResult): T {
  if (result.status !== 0) throw new Error(`strata exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
