export * from "./drift.ts";
export * from "./metrics.ts";
export * from "./tf-buffer.ts";
export * from "./trajectory.ts";
