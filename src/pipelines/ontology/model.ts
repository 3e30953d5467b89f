/**
 * The ontology model: classes with parents and typed attributes, validated against
 * `ontology.schema.json` and for what a schema cannot say (unique names, existing parents, no cycles);
 * change proposals applied to a version give the next version and the migration map for labels.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { parse as parseYaml } from "yaml";
import { StrataError } from "../../core/index.ts";
import { type Bump, bumpSemver } from "./semver.ts";

export interface OntologyAttribute {
  name: string;
  type: "boolean" | "integer" | "number" | "string" | "enum";
  values?: string[];
  required?: boolean;
  description?: string;
}

export interface OntologyClass {
  name: string;
  parent?: string;
  description?: string;
  attributes?: OntologyAttribute[];
  deprecated?: boolean;
  replacedBy?: string;
}

export interface Ontology {
  apiVersion: "strata/v1";
  kind: "Ontology";
  name: string;
  version: string;
  description?: string;
  classes: OntologyClass[];
}

export type OntologyChange =
  | { op: "add"; class: OntologyClass }
  | { op: "rename"; from: string; to: string }
  | { op: "merge"; from: string[]; into: string }
  | {
      op: "split";
      from: string;
      into: Array<{ name: string; when?: { attribute: string; equals: string | number | boolean } }>;
      default?: string;
    }
  | { op: "deprecate"; class: string; replacedBy?: string };

/** One step of a migration map: labels of class `from` (whose attribute matches `when`, if given) become `to`. */
export interface MigrationRule {
  from: string;
  to: string;
  when?: { attribute: string; equals: string | number | boolean };
  /** The change that produced the rule. */
  op: OntologyChange["op"];
}

let validators: { ontology: ValidateFunction; changes: ValidateFunction } | undefined;

function schemaValidators(): { ontology: ValidateFunction; changes: ValidateFunction } {
  if (!validators) {
    const schema = ontologyJsonSchema();
    // ajv loads on first validation, not with every command that imports this module.
    const { Ajv2020 } = createRequire(import.meta.url)(
      "ajv/dist/2020.js",
    ) as typeof import("ajv/dist/2020.js");
    // strictRequired off: the enum-attribute rule names `values` in an if/then.
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    ajv.addSchema(schema);
    const id = schema.$id as string;
    validators = {
      ontology: ajv.getSchema(id) as ValidateFunction,
      changes: ajv.getSchema(`${id}#/$defs/changes`) as ValidateFunction,
    };
  }
  return validators;
}

let schemaCache: Record<string, unknown> | undefined;

/** The published JSON Schema of ontology documents and change lists (draft 2020-12). */
export function ontologyJsonSchema(): Record<string, unknown> {
  schemaCache ??= JSON.parse(
    readFileSync(new URL("./ontology.schema.json", import.meta.url), "utf8"),
  ) as Record<string, unknown>;
  return structuredClone(schemaCache);
}

function ajvProblems(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? [])
    .filter((e) => e.keyword !== "if")
    .map((e) => {
      const path = e.instancePath === "" ? "/" : e.instancePath;
      if (e.keyword === "additionalProperties")
        return `${path}: unknown property ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`;
      return `${path}: ${e.message ?? e.keyword}`;
    });
}

function parseText(text: string, origin: string): unknown {
  try {
    return parseYaml(text);
  } catch (cause) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `${origin} is not valid YAML: ${(cause as Error).message}`,
      { file: origin },
      { cause },
    );
  }
}

/** Parses and validates an ontology document (YAML or JSON). */
export function parseOntology(text: string, origin = "ontology"): Ontology {
  return validateOntology(parseText(text, origin), origin);
}

export function validateOntology(document: unknown, origin = "ontology"): Ontology {
  const { ontology: check } = schemaValidators();
  if (!check(document))
    throw new StrataError(
      "STRATA_E_USAGE",
      `${origin} does not match the ontology schema: ${ajvProblems(check.errors).join("; ")}`,
      {
        file: origin,
      },
    );
  const ontology = document as Ontology;
  const problems = structuralProblems(ontology);
  if (problems.length > 0)
    throw new StrataError("STRATA_E_USAGE", `${origin} is not a valid ontology: ${problems.join("; ")}`, {
      file: origin,
      problems,
    });
  return ontology;
}

/** Parses and validates a change list (YAML or JSON: an array, or an object with `changes`). */
export function parseChanges(
  text: string,
  origin = "proposal",
): { changes: OntologyChange[]; note?: string; bump?: Bump } {
  const document = parseText(text, origin);
  const body = Array.isArray(document) ? { changes: document } : (document as Record<string, unknown> | null);
  const { changes: check } = schemaValidators();
  if (!body || !check(body.changes))
    throw new StrataError(
      "STRATA_E_USAGE",
      `${origin} is not a list of ontology changes: ${ajvProblems(check.errors).join("; ") || "expected `changes: [...]`"}`,
      { file: origin },
    );
  const out: { changes: OntologyChange[]; note?: string; bump?: Bump } = {
    changes: body.changes as OntologyChange[],
  };
  if (typeof body.note === "string") out.note = body.note;
  if (body.bump === "major" || body.bump === "minor" || body.bump === "patch") out.bump = body.bump;
  return out;
}

function structuralProblems(ontology: Ontology): string[] {
  const problems: string[] = [];
  const byName = new Map<string, OntologyClass>();
  for (const c of ontology.classes) {
    if (byName.has(c.name)) problems.push(`class ${c.name} is defined twice`);
    byName.set(c.name, c);
    const attributes = new Set<string>();
    for (const a of c.attributes ?? []) {
      if (attributes.has(a.name)) problems.push(`class ${c.name}: attribute ${a.name} is defined twice`);
      attributes.add(a.name);
    }
  }
  for (const c of ontology.classes) {
    if (c.parent !== undefined && !byName.has(c.parent))
      problems.push(`class ${c.name}: parent ${c.parent} is not a class`);
    if (c.replacedBy !== undefined && !byName.has(c.replacedBy))
      problems.push(`class ${c.name}: replacedBy ${c.replacedBy} is not a class`);
    const seen = new Set<string>([c.name]);
    let p = c.parent;
    while (p !== undefined) {
      if (seen.has(p)) {
        problems.push(`class ${c.name}: parent chain loops through ${p}`);
        break;
      }
      seen.add(p);
      p = byName.get(p)?.parent;
    }
  }
  return problems;
}

/** The smallest version bump a change list needs: renames, merges and splits break label consumers. */
export function requiredBump(changes: readonly OntologyChange[]): Bump {
  return changes.some((c) => c.op === "rename" || c.op === "merge" || c.op === "split") ? "major" : "minor";
}

const bumpRank: Record<Bump, number> = { patch: 0, minor: 1, major: 2 };

/**
 * Applies a change list to an ontology: the next version (bumped at least as much as the changes need)
 * and the migration map for labels. STRATA_E_USAGE (naming the change) when a change does not fit.
 */
export function applyChanges(
  base: Ontology,
  changes: readonly OntologyChange[],
  bump?: Bump,
): { ontology: Ontology; migration: MigrationRule[]; bump: Bump } {
  const needed = requiredBump(changes);
  const effective = bump !== undefined && bumpRank[bump] >= bumpRank[needed] ? bump : needed;
  const classes = new Map<string, OntologyClass>(base.classes.map((c) => [c.name, structuredClone(c)]));
  const migration: MigrationRule[] = [];
  const fail = (i: number, message: string): never => {
    throw new StrataError("STRATA_E_USAGE", `change ${i + 1} (${changes[i]?.op}): ${message}`);
  };
  const need = (i: number, name: string): OntologyClass =>
    classes.get(name) ?? fail(i, `class ${name} does not exist`);
  const reparent = (from: string, to: string) => {
    for (const c of classes.values()) {
      if (c.parent === from) c.parent = to;
      if (c.replacedBy === from) c.replacedBy = to;
    }
  };
  const mergeAttributes = (into: OntologyClass, from: OntologyClass) => {
    for (const a of from.attributes ?? []) {
      const existing = into.attributes?.find((b) => b.name === a.name);
      if (!existing) into.attributes = [...(into.attributes ?? []), structuredClone(a)];
      else if (existing.type === "enum" && a.type === "enum")
        existing.values = [...new Set([...(existing.values ?? []), ...(a.values ?? [])])];
    }
  };

  changes.forEach((change, i) => {
    switch (change.op) {
      case "add": {
        if (classes.has(change.class.name)) fail(i, `class ${change.class.name} already exists`);
        classes.set(change.class.name, structuredClone(change.class));
        break;
      }
      case "rename": {
        const c = need(i, change.from);
        if (classes.has(change.to)) fail(i, `class ${change.to} already exists`);
        classes.delete(change.from);
        classes.set(change.to, { ...c, name: change.to });
        reparent(change.from, change.to);
        migration.push({ from: change.from, to: change.to, op: "rename" });
        break;
      }
      case "merge": {
        const sources = change.from.map((name) => need(i, name));
        let into = classes.get(change.into);
        if (!into) {
          const first = sources[0] as OntologyClass;
          into = { name: change.into, ...(first.parent === undefined ? {} : { parent: first.parent }) };
          classes.set(change.into, into);
        }
        for (const source of sources) {
          if (source.name === change.into) continue;
          mergeAttributes(into, source);
          classes.delete(source.name);
          reparent(source.name, change.into);
          migration.push({ from: source.name, to: change.into, op: "merge" });
        }
        if (into.parent !== undefined && !classes.has(into.parent))
          fail(i, `merged class ${into.name} would lose its parent`);
        break;
      }
      case "split": {
        const source = need(i, change.from);
        const names = change.into.map((t) => t.name);
        if (change.default !== undefined && !names.includes(change.default))
          fail(i, `default ${change.default} is not one of ${names.join(", ")}`);
        if (change.default === undefined && change.into.every((t) => t.when !== undefined))
          fail(i, "labels matching no `when` need a `default` target");
        classes.delete(change.from);
        for (const target of change.into) {
          if (classes.has(target.name)) fail(i, `class ${target.name} already exists`);
          const attributes = (source.attributes ?? []).filter((a) => a.name !== target.when?.attribute);
          classes.set(target.name, {
            name: target.name,
            ...(source.parent === undefined ? {} : { parent: source.parent }),
            ...(attributes.length > 0 ? { attributes: structuredClone(attributes) } : {}),
          });
          if (target.when)
            migration.push({ from: change.from, to: target.name, when: target.when, op: "split" });
        }
        const fallback = change.default ?? change.into.find((t) => t.when === undefined)?.name;
        if (fallback !== undefined) migration.push({ from: change.from, to: fallback, op: "split" });
        reparent(change.from, fallback ?? (names[0] as string));
        break;
      }
      case "deprecate": {
        const c = need(i, change.class);
        if (change.replacedBy !== undefined) {
          need(i, change.replacedBy);
          c.replacedBy = change.replacedBy;
          migration.push({ from: change.class, to: change.replacedBy, op: "deprecate" });
        }
        c.deprecated = true;
        break;
      }
    }
  });
  const ontology: Ontology = {
    ...base,
    version: bumpSemver(base.version, effective),
    classes: [...classes.values()],
  };
  const problems = structuralProblems(ontology);
  if (problems.length > 0)
    throw new StrataError("STRATA_E_USAGE", `the changes leave an invalid ontology: ${problems.join("; ")}`);
  return { ontology, migration, bump: effective };
}

/** Where a label of `className` with `attributes` goes under a migration map (undefined: it stays). */
export function migrateLabel(
  migration: readonly MigrationRule[],
  className: string,
  attributes: Record<string, unknown>,
): string | undefined {
  let current = className;
  let moved = false;
  // Rules apply in order, so chained changes (rename then merge) compose.
  for (const rule of migration) {
    if (rule.from !== current) continue;
    if (rule.when && attributes[rule.when.attribute] !== rule.when.equals) continue;
    current = rule.to;
    moved = true;
  }
  return moved ? current : undefined;
}
