// Worker-thread entry for the synthetic sensors: registers the TypeScript loader (the main
// thread's loader does not reach worker threads), then runs the worker body.
import { register } from "tsx/esm/api";

register();
await import("./sensor-worker.ts");
