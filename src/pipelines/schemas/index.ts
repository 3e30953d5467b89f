export * from "./evolution.ts";
export * from "./registry.ts";
