#!/usr/bin/env node
// Bundles the `strata` command's own TypeScript (src/**) into dist/cli/ so the command starts without
// compiling ~300 modules through the TypeScript loader on every run. Most dependencies stay external (Node
// loads them from node_modules as usual; see BUNDLED_PACKAGES). Dynamic imports stay lazy chunks.
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

/**
 * Pure-JavaScript dependencies that every command loads are bundled too: one parsed file instead of
 * hundreds of module resolutions (kysely alone is ~500 files). Native addons, packages that find files
 * beside themselves (the wasm decoders), and packages loaded lazily with `require` stay external.
 */
const BUNDLED_PACKAGES = new Set([
  "kysely",
  "zod",
  "yaml",
  "commander",
  "hono",
  "@hono/node-server",
  "@foxglove/rosmsg",
  "@foxglove/rosmsg-serialization",
  "@foxglove/rosmsg2-serialization",
  "@foxglove/ros2idl-parser",
  "@foxglove/rosbag",
  "@foxglove/cdr",
  "@foxglove/message-definition",
]);

/** esbuild plugin: bare imports stay external unless their package is in BUNDLED_PACKAGES. */
const externalPackages = {
  name: "external-packages",
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      const parts = args.path.split("/");
      const name = args.path.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "");
      return BUNDLED_PACKAGES.has(name) ? undefined : { path: args.path, external: true };
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
  // The synth's sensor worker is its own entry, so worker threads start from the bundle too.
  entryPoints: { main: "src/cli/main.ts", "sensor-worker": "src/pipelines/synth/sensor-worker.ts" },
  outdir: buildDir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "linked",
  metafile: true,
  logLevel: "warning",
  plugins: [externalPackages, ownModuleUrl],
  // Bundled CommonJS packages `require` Node's built-ins; ES module output has no `require` of its own.
  banner: {
    js: 'import { createRequire as __strataCreateRequire } from "node:module"; const require = __strataCreateRequire(import.meta.url);',
  },
});
// The lock file stands for the bundled dependencies: an install that changes them makes the bundle stale.
const inputs = [
  ...Object.keys(result.metafile.inputs).filter((input) => !input.includes("node_modules/")),
  "package-lock.json",
].sort();
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
