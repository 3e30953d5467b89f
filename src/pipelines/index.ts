export * from "./ingest/index.ts";
export * from "./registry/index.ts";
