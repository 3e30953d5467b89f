#!/usr/bin/env node
// Bundles the `strata` command's own TypeScript (src/**) into dist/cli/ so the command starts without
// compiling ~300 modules through the TypeScript loader on every run. Dependencies stay external (Node
// loads them from node_modules as usual). Dynamic imports stay lazy: they become separate chunks.
//
// Each source file's `import.meta.url` is replaced by that file's own URL, so paths resolved relative to a
// module (JSON schemas beside their code, the web build, the synth worker entry) mean the same in the
// bundle as in the sources. dist/cli/current.json names the newest build and lists every bundled source
// file; bin/strata.js uses the bundle only while none of them is newer than it, else runs the sources.
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = path.join(root, "dist", "cli");
const DAY_MS = 86_400_000;

/** esbuild plugin: per-file `import.meta.url` (see the header). */
const ownModuleUrl = {
  name: "own-module-url",
  setup(builder) {
    builder.onLoad({ filter: /\/src\/.*\.ts$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const contents = source.includes("import.meta.url")
        ? source.replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
        : source;
      return { contents, loader: "ts" };
    });
  },
};

/** The current build, when neither a source it holds nor this script changed since it was made. */
function upToDate() {
  try {
    const { build, builtAtMs, inputs } = JSON.parse(readFileSync(path.join(outDir, "current.json"), "utf8"));
    return (
      statSync(path.join(outDir, build, "main.js")).isFile() &&
      [...inputs, "bin/build-cli.mjs"].every((input) => statSync(path.join(root, input)).mtimeMs <= builtAtMs)
    );
  } catch {
    return false;
  }
}
if (!process.argv.includes("--force") && upToDate()) process.exit(0);

const startedMs = Date.now();
const buildId = `${startedMs}-${process.pid}`;
const buildDir = path.join(outDir, buildId);
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: "src/cli/main.ts" },
  outdir: buildDir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
  plugins: [ownModuleUrl],
});
const inputs = Object.keys(result.metafile.inputs)
  .filter((input) => !input.startsWith("node_modules/"))
  .sort();
// `builtAtMs` is when the build started: a source saved while it ran counts as newer than the bundle.
const current = { build: buildId, builtAtMs: startedMs, inputs };
const currentTemp = path.join(outDir, `current.json.${process.pid}`);
writeFileSync(currentTemp, `${JSON.stringify(current, null, 1)}\n`);
renameSync(currentTemp, path.join(outDir, "current.json"));
// Each build has its own folder, so a running `strata` that lazily loads a chunk of the build it started
// with still finds it. Builds older than a day (other than the current one) are removed.
for (const name of readdirSync(outDir)) {
  if (name === buildId || name === "current.json") continue;
  const entry = path.join(outDir, name);
  if (Date.now() - statSync(entry).mtimeMs > DAY_MS) rmSync(entry, { recursive: true, force: true });
}
if (process.argv.includes("--verbose")) {
  process.stdout.write(`bundled ${inputs.length} source files into ${path.relative(root, buildDir)}/\n`);
}
