// Where the current CLI bundle (bin/build-cli.mjs) keeps a file, or undefined when there is no bundle, a
// source it was built from changed since, or STRATA_FROM_SOURCE=1. Callers then run the sources.
import { readFileSync, statSync } from "node:fs";

const bundleDir = new URL("../../dist/cli/", import.meta.url);
const rootDir = new URL("../../", import.meta.url);

/** @param {string} name a file of the build, e.g. `main.js` */
export function currentBundleFile(name) {
  if (process.env.STRATA_FROM_SOURCE === "1") return undefined;
  try {
    const { build, builtAtMs, inputs } = JSON.parse(readFileSync(new URL("current.json", bundleDir), "utf8"));
    const current = inputs.every((input) => statSync(new URL(input, rootDir)).mtimeMs <= builtAtMs);
    return current ? new URL(`${build}/${name}`, bundleDir).href : undefined;
  } catch {
    return undefined;
  }
}
