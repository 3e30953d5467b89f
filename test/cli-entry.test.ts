/**
 * The `strata` entry point runs a bundle of the sources (bin/build-cli.mjs) while it is current. The
 * bundle must behave like the sources: module-relative files (JSON schemas, the web build) resolve to
 * the same places, and a command prints the same as when run from the sources.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { repoRoot, strataBin } from "./helpers.ts";

const bundleRoot = path.join(repoRoot, "dist", "cli");

function currentBuild(): { build: string; builtAtMs: number; inputs: string[] } {
  // `npm test` builds it first; when this file runs alone, build it here (a no-op when current).
  const built = spawnSync(process.execPath, [path.join(repoRoot, "bin", "build-cli.mjs")], {
    encoding: "utf8",
  });
  expect(built.status, built.stderr).toBe(0);
  return JSON.parse(readFileSync(path.join(bundleRoot, "current.json"), "utf8"));
}

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [strataBin, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
}

describe("CLI bundle", () => {
  it("lists the CLI's sources and leaves no bundle-relative import.meta.url in them", () => {
    const { build, inputs } = currentBuild();
    expect(inputs).toContain("src/cli/main.ts");
    expect(inputs).toContain("src/pipelines/synth/sensor-worker.ts");
    expect(existsSync(path.join(bundleRoot, build, "sensor-worker.js"))).toBe(true);
    expect(inputs).toContain("src/pipelines/contracts/parse.ts");
    // The lock file stands for the bundled dependencies; everything else is a source file.
    expect(inputs.filter((input) => !input.startsWith("src/"))).toEqual(["package-lock.json"]);
    const buildDir = path.join(bundleRoot, build);
    const code = readdirSync(buildDir)
      .filter((name) => name.endsWith(".js"))
      // The first line of each file is the banner that gives bundled CommonJS packages a `require`.
      .map((name) => readFileSync(path.join(buildDir, name), "utf8").split("\n").slice(1).join("\n"))
      .join("\n");
    expect(code).not.toContain("import.meta.url");
    // Every module-relative URL in the bundle points into the sources, at a file that exists.
    const sourceUrls = [...code.matchAll(/"(file:\/\/[^"]+\/src\/[^"]+\.ts)"/g)].map((m) => m[1] ?? "");
    expect(sourceUrls.length).toBeGreaterThan(0);
    for (const url of sourceUrls) expect(existsSync(fileURLToPath(url)), url).toBe(true);
  });

  it("a command prints the same from the bundle as from the sources (a schema read beside its module)", () => {
    currentBuild();
    const fromBundle = run(["contract", "schema", "--json"]);
    const fromSources = run(["contract", "schema", "--json"], { STRATA_FROM_SOURCE: "1" });
    expect(fromBundle.status, fromBundle.stderr).toBe(0);
    expect(fromSources.status, fromSources.stderr).toBe(0);
    const schema = JSON.parse(fromBundle.stdout) as { $schema?: string; properties?: object };
    expect(schema.$schema).toContain("2020-12");
    expect(Object.keys(schema.properties ?? {})).toContain("topics");
    expect(fromBundle.stdout).toBe(fromSources.stdout);
  });

  it("synth worker threads start from the bundle too, and write the same bytes as from the sources", () => {
    currentBuild();
    const dir = mkdtempSync(path.join(tmpdir(), "strata-cli-entry-"));
    try {
      const sha256Of = (env: NodeJS.ProcessEnv): string => {
        const out = path.join(dir, `${env.STRATA_FROM_SOURCE === "1" ? "sources" : "bundle"}.mcap`);
        const generated = run(
          ["demo", "generate", "--out", out, "--seconds", "2", "--seed", "5", "--json"],
          env,
        );
        expect(generated.status, generated.stderr).toBe(0);
        return createHash("sha256").update(readFileSync(out)).digest("hex");
      };
      expect(sha256Of({})).toBe(sha256Of({ STRATA_FROM_SOURCE: "1" }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a coded error from the bundle names its code and exits non-zero, like the sources", () => {
    currentBuild();
    const missing = path.join(repoRoot, "no-such-file.mcap");
    const fromBundle = run(["info", missing, "--json"]);
    const fromSources = run(["info", missing, "--json"], { STRATA_FROM_SOURCE: "1" });
    expect(fromBundle.status).not.toBe(0);
    expect(fromBundle.status).toBe(fromSources.status);
    expect(fromBundle.stderr + fromBundle.stdout).toContain("STRATA_E_FILE_NOT_FOUND");
    expect(fromBundle.stderr).not.toMatch(/\n\s+at /);
  });
});
