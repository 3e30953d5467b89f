export {
  CONTRACT_RULES,
  type EvaluateContext,
  evaluateContract,
  type SchemaComparison,
  syncTopicsOf,
} from "./evaluate.ts";
export { contractJsonSchema, parseContract, validateContract } from "./parse.ts";
export * from "./store.ts";
export type * from "./types.ts";
