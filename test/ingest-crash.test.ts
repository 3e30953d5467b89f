/**
 * Crash safety of ingest: `kill -9` at several points of ingesting a large file, then ingest again →
 * exactly one complete capture, no orphan rows, blobs or temp files, and a valid audit chain.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLargeMcap } from "../testdata/generators/large-log.ts";
import { json, strata, strataBin, tempDir } from "./helpers.ts";

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

/** Starts an ingest and kills it with SIGKILL once `ready()` holds (or after `maxMs`). */
async function ingestAndKill(file: string, home: string, ready: () => boolean, maxMs: number): Promise<void> {
  const child = spawn(process.execPath, [strataBin, "ingest", file, "--json"], {
    env: { ...process.env, STRATA_HOME: home, STRATA_CATALOG_URL: "" },
    stdio: "ignore",
  });
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (ready() || Date.now() - started > maxMs || child.exitCode !== null) {
        clearInterval(poll);
        child.kill("SIGKILL");
        resolve();
      }
    }, 5);
  });
  await new Promise((resolve) => child.once("close", resolve));
}

describe("ingest survives kill -9", () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  let expectedMessages: number;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir());
    file = path.join(dir, "large.mcap");
    expectedMessages = (await writeLargeMcap(file, { targetBytes: 500e6, compression: "none" })).messageCount;
    expect(statSync(file).size).toBeGreaterThan(400e6);
  }, 120_000);
  afterAll(() => cleanup());

  const killPoints: [string, (home: string) => () => boolean][] = [
    [
      "while the blob is being written",
      (home) => () => listFiles(path.join(home, "blobs", "tmp")).some((f) => statSync(f).size > 50e6),
    ],
    ["after the blob got its name", (home) => () => listFiles(path.join(home, "blobs", "sha256")).length > 0],
  ];

  it.each(killPoints)(
    "killed %s, then ingested again → one complete capture",
    async (_label, readyFor) => {
      const home = path.join(dir, `home-${Math.random().toString(36).slice(2)}`);
      await ingestAndKill(file, home, readyFor(home), 60_000);

      const [result] = json<{ captureId: string; sha256: string; created: boolean; messageCount: number }[]>(
        strata(["ingest", file, "--json"], home),
      );
      expect(result?.messageCount).toBe(expectedMessages);

      const captures = json<{ captureId: string; messageCount: number }[]>(
        strata(["captures", "list", "--json"], home),
      );
      expect(captures).toHaveLength(1);
      expect(captures[0]?.messageCount).toBe(expectedMessages);
      const detail = json<{ files: { sha256: string }[]; topics: { messageCount: number }[] }>(
        strata(["captures", "show", result?.captureId ?? "", "--json"], home),
      );
      expect(detail.topics.reduce((n, t) => n + t.messageCount, 0)).toBe(expectedMessages);

      // No orphan blobs: every stored blob belongs to the capture; no temp files remain.
      const blobs = listFiles(path.join(home, "blobs", "sha256")).map((f) => path.basename(f));
      expect(blobs.sort()).toEqual(detail.files.map((f) => f.sha256).sort());
      expect(listFiles(path.join(home, "blobs", "tmp"))).toEqual([]);

      // No half-finished runs; the audit chain verifies.
      const runs = json<{ status: string; kind: string }[]>(strata(["runs", "list", "--json"], home));
      expect(runs.filter((r) => r.status === "running")).toEqual([]);
      expect(runs.filter((r) => r.kind === "ingest" && r.status === "completed")).toHaveLength(1);
      const audit = json<{ chain: { ok: boolean } }>(strata(["audit", "list", "--json"], home));
      expect(audit.chain.ok).toBe(true);
    },
    300_000,
  );
});
