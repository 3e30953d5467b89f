/**
 * Contract text (YAML or JSON) to a validated Contract: the YAML is parsed, checked against the
 * published JSON Schema (`contract.schema.json`, served by the API), then against what a schema
 * cannot say (rate bounds in order, version ranges that parse). Errors name the path and the rule.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { parse as parseYaml } from "yaml";
import { StrataError } from "../../core/index.ts";
import { isSemverRange } from "../ontology/semver.ts";
import type { Contract } from "./types.ts";

let schemaCache: Record<string, unknown> | undefined;
let validator: ValidateFunction | undefined;

/** The published JSON Schema of contracts (draft 2020-12). */
export function contractJsonSchema(): Record<string, unknown> {
  schemaCache ??= JSON.parse(
    readFileSync(new URL("./contract.schema.json", import.meta.url), "utf8"),
  ) as Record<string, unknown>;
  return structuredClone(schemaCache);
}

function validate(): ValidateFunction {
  if (!validator) {
    // ajv loads on first validation, not with every command that imports this module.
    const require = createRequire(import.meta.url);
    const { Ajv2020 } = require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
    const addFormats = require("ajv-formats") as typeof import("ajv-formats");
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    // Standard formats (date-time, uri, email, …) for contract fields that declare one.
    addFormats.default(ajv);
    validator = ajv.compile(contractJsonSchema());
  }
  return validator;
}

/** Parses and validates a contract; STRATA_E_USAGE lists every problem with its path. */
export function parseContract(text: string, origin = "contract"): Contract {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (cause) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `${origin} is not valid YAML: ${(cause as Error).message}`,
      { file: origin },
      { cause },
    );
  }
  return validateContract(document, origin);
}

export function validateContract(document: unknown, origin = "contract"): Contract {
  const check = validate();
  if (!check(document)) {
    const problems = (check.errors ?? []).map(describeAjvError);
    throw new StrataError(
      "STRATA_E_USAGE",
      `${origin} does not match the contract schema: ${problems.join("; ")}`,
      { file: origin, problems },
      { hint: "See docs/contracts.md, or fetch the JSON Schema (`strata contract schema`)." },
    );
  }
  const contract = document as Contract;
  const problems: string[] = [];
  for (const [i, topic] of (contract.topics ?? []).entries()) {
    if (topic.minRateHz !== undefined && topic.maxRateHz !== undefined && topic.minRateHz > topic.maxRateHz)
      problems.push(`/topics/${i}: minRateHz ${topic.minRateHz} > maxRateHz ${topic.maxRateHz}`);
  }
  const seen = new Set<string>();
  for (const [i, topic] of (contract.topics ?? []).entries()) {
    if (seen.has(topic.topic)) problems.push(`/topics/${i}: topic ${topic.topic} is listed twice`);
    seen.add(topic.topic);
  }
  if (contract.ontology && !isSemverRange(contract.ontology.version))
    problems.push(`/ontology/version: ${JSON.stringify(contract.ontology.version)} is not a version range`);
  if (problems.length > 0)
    throw new StrataError("STRATA_E_USAGE", `${origin} is not a valid contract: ${problems.join("; ")}`, {
      file: origin,
      problems,
    });
  return contract;
}

function describeAjvError(e: ErrorObject): string {
  const path = e.instancePath === "" ? "/" : e.instancePath;
  if (e.keyword === "additionalProperties")
    return `${path}: unknown property ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`;
  if (e.keyword === "enum")
    return `${path}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  if (e.keyword === "const")
    return `${path}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
  return `${path}: ${e.message ?? e.keyword}`;
}
