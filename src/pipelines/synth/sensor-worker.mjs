// Worker-thread entry for the synthetic sensors. Runs the worker body from the CLI bundle while it is
// current (bin/build-cli.mjs builds it as its own entry), else from the sources through the TypeScript
// loader (the main thread's loader does not reach worker threads).
import { currentBundleFile } from "../../core/current-bundle.mjs";

const bundled = currentBundleFile("sensor-worker.js");
if (bundled !== undefined) {
  await import(bundled);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./sensor-worker.ts");
}
