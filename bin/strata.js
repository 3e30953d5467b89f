#!/usr/bin/env node
// Entry point of the `strata` command. Runs the bundle that `npm install` builds (bin/build-cli.mjs) while it
// is current, else the TypeScript sources through the tsx loader, so an edited source is always what runs.
// STRATA_FROM_SOURCE=1 forces the sources.
import { readFileSync, statSync } from "node:fs";

const bundleDir = new URL("../dist/cli/", import.meta.url);
const rootDir = new URL("../", import.meta.url);

/** The bundle's entry when it exists and none of its source files changed since it was built. */
function currentBundle() {
  if (process.env.STRATA_FROM_SOURCE === "1") return undefined;
  try {
    const { build, builtAtMs, inputs } = JSON.parse(readFileSync(new URL("current.json", bundleDir), "utf8"));
    const current = inputs.every((input) => statSync(new URL(input, rootDir)).mtimeMs <= builtAtMs);
    return current ? new URL(`${build}/main.js`, bundleDir).href : undefined;
  } catch {
    return undefined;
  }
}

let main;
const bundle = currentBundle();
if (bundle !== undefined) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
