// Worker-thread entry for synthetic camera frames: registers the TypeScript loader, then runs the
// worker body (the main thread's loader does not reach worker threads).
import { register } from "tsx/esm/api";

register();
await import("./camera-worker.ts");
