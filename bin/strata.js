#!/usr/bin/env node
// Entry point of the `strata` command. Runs the bundle that `npm install` builds (bin/build-cli.mjs) while it
// is current, else the TypeScript sources through the tsx loader, so an edited source is always what runs.
// STRATA_FROM_SOURCE=1 forces the sources.
import { currentBundleFile } from "../src/core/current-bundle.mjs";

let main;
const bundle = currentBundleFile("main.js");
if (bundle !== undefined) {
  ({ main } = await import(bundle));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv.slice(2));
