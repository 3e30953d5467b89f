export * from "./ingest/index.ts";
export * from "./registry/index.ts";
export * from "./export/index.ts";
export * from "./synth/index.ts";
