export * from "./ingest/index.ts";
export * from "./registry/index.ts";
export * from "./export/index.ts";
export * from "./synth/index.ts";
export * from "./datasets/index.ts";
export * from "./lineage/index.ts";
// Both the bundle (export) and dataset versions have a `manifestJson`: the bundle's keeps the name.
export { manifestJson } from "./export/index.ts";
export { manifestJson as datasetManifestJson } from "./datasets/index.ts";
export * from "./qa/index.ts";
export * from "./contracts/index.ts";
export * from "./ontology/index.ts";
export * from "./schemas/index.ts";
export * from "./scenes/index.ts";
