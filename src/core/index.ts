export * from "./errors.ts";
export * from "./ids.ts";
export * from "./time.ts";
export * from "./geometry.ts";
