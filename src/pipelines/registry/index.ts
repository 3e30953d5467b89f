export * from "./drift.ts";
export * from "./metrics.ts";
export * from "./tf-buffer.ts";
export * from "./trajectory.ts";
export * from "./analyzer.ts";
export * from "./calibration-store.ts";
export * from "./ego-motion.ts";
export * from "./store.ts";
