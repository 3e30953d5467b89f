/**
 * Schema evolution: how a new definition of a known message type differs from an earlier one, field by
 * field, and whether readers of the old one keep working. Per message type (the main one and every
 * nested one present in both): fields only appended after the existing ones, and constants added,
 * removed or changed, are compatible; a field removed, retyped (type, array-ness or length), moved, or
 * inserted before existing fields is breaking. Types that appear or disappear are listed; a field whose
 * nested type changed shows as a change inside that type.
 */
import {
  type DefinitionField,
  type DefinitionType,
  type ParsedDefinition,
  parseMessageDefinition,
} from "../../formats/index.ts";

export type Compatibility = "identical" | "compatible" | "breaking" | "unknown";

export type FieldChangeKind =
  | "field-added"
  | "field-inserted"
  | "field-removed"
  | "field-retyped"
  | "field-moved"
  | "constant-added"
  | "constant-removed"
  | "constant-changed"
  | "type-added"
  | "type-removed";

export interface FieldChange {
  kind: FieldChangeKind;
  /** The message type the change is in (`pkg/Type`). */
  type: string;
  field?: string;
  /** Type signature (or constant value) before / after. */
  from?: string;
  to?: string;
  /** Position among the type's fields (after the change, or before for removals). */
  position?: number;
  breaking: boolean;
}

export interface SchemaDiff {
  compatibility: Compatibility;
  changes: FieldChange[];
  /** One line, e.g. "breaking: retyped sensor_msgs/Imu.x float64 → float32". */
  summary: string;
  /** Why the classification is `unknown` (e.g. protobuf, unparsable text). */
  note?: string;
}

export function fieldSignature(f: DefinitionField): string {
  if (!f.isArray) return f.type;
  if (f.arrayLength !== undefined) return `${f.type}[${f.arrayLength}]`;
  if (f.arrayUpperBound !== undefined) return `${f.type}[<=${f.arrayUpperBound}]`;
  return `${f.type}[]`;
}

/** Field-level diff of two parsed definitions (before → after). */
export function diffDefinitions(before: ParsedDefinition, after: ParsedDefinition): SchemaDiff {
  const changes: FieldChange[] = [];
  const oldTypes = new Map(before.types.map((t) => [t.name, t]));
  const newTypes = new Map(after.types.map((t) => [t.name, t]));
  // The main types are compared even if their names differ (a schema is registered per name anyway).
  const pairs: Array<[DefinitionType, DefinitionType]> = [];
  const oldMain = before.types[0];
  const newMain = after.types[0];
  if (oldMain && newMain) pairs.push([oldMain, { ...newMain, name: oldMain.name }]);
  for (const [name, t] of oldTypes) {
    if (t === oldMain) continue;
    const other = newTypes.get(name);
    if (other && other !== newMain) pairs.push([t, other]);
    else if (!other) changes.push({ kind: "type-removed", type: name, breaking: false });
  }
  for (const [name, t] of newTypes)
    if (t !== newMain && !oldTypes.has(name))
      changes.push({ kind: "type-added", type: name, breaking: false });
  for (const [a, b] of pairs) changes.push(...diffType(a, b));
  changes.sort((x, y) => Number(y.breaking) - Number(x.breaking));
  const compatibility: Compatibility =
    changes.length === 0 ? "identical" : changes.some((c) => c.breaking) ? "breaking" : "compatible";
  return { compatibility, changes, summary: summarize(compatibility, changes) };
}

function diffType(before: DefinitionType, after: DefinitionType): FieldChange[] {
  const out: FieldChange[] = [];
  const type = before.name;
  const oldConstants = new Map(before.fields.filter((f) => f.isConstant).map((f) => [f.name, f]));
  const newConstants = new Map(after.fields.filter((f) => f.isConstant).map((f) => [f.name, f]));
  for (const [name, c] of oldConstants) {
    const d = newConstants.get(name);
    if (!d)
      out.push({
        kind: "constant-removed",
        type,
        field: name,
        from: `${c.type} = ${c.valueText}`,
        breaking: false,
      });
    else if (d.type !== c.type || d.valueText !== c.valueText)
      out.push({
        kind: "constant-changed",
        type,
        field: name,
        from: `${c.type} = ${c.valueText}`,
        to: `${d.type} = ${d.valueText}`,
        breaking: false,
      });
  }
  for (const [name, d] of newConstants)
    if (!oldConstants.has(name))
      out.push({
        kind: "constant-added",
        type,
        field: name,
        to: `${d.type} = ${d.valueText}`,
        breaking: false,
      });

  const oldFields = before.fields.filter((f) => !f.isConstant);
  const newFields = after.fields.filter((f) => !f.isConstant);
  const newIndex = new Map(newFields.map((f, i) => [f.name, i]));
  const oldNames = new Set(oldFields.map((f) => f.name));
  // Kept fields must keep their relative order and precede every added field.
  let lastKeptPosition = -1;
  let previousNewIndex = -1;
  oldFields.forEach((f, i) => {
    const j = newIndex.get(f.name);
    if (j === undefined) {
      out.push({
        kind: "field-removed",
        type,
        field: f.name,
        from: fieldSignature(f),
        position: i,
        breaking: true,
      });
      return;
    }
    const g = newFields[j] as DefinitionField;
    if (fieldSignature(f) !== fieldSignature(g))
      out.push({
        kind: "field-retyped",
        type,
        field: f.name,
        from: fieldSignature(f),
        to: fieldSignature(g),
        position: j,
        breaking: true,
      });
    if (j < previousNewIndex)
      out.push({
        kind: "field-moved",
        type,
        field: f.name,
        from: `#${i}`,
        to: `#${j}`,
        position: j,
        breaking: true,
      });
    previousNewIndex = Math.max(previousNewIndex, j);
    lastKeptPosition = Math.max(lastKeptPosition, j);
  });
  newFields.forEach((g, j) => {
    if (oldNames.has(g.name)) return;
    const inserted = j < lastKeptPosition;
    out.push({
      kind: inserted ? "field-inserted" : "field-added",
      type,
      field: g.name,
      to: fieldSignature(g),
      position: j,
      breaking: inserted,
    });
  });
  return out;
}

function describe(c: FieldChange): string {
  const where = c.field === undefined ? c.type : `${c.type}.${c.field}`;
  switch (c.kind) {
    case "field-added":
      return `added ${where} ${c.to} at the end`;
    case "field-inserted":
      return `inserted ${where} ${c.to} before existing fields`;
    case "field-removed":
      return `removed ${where} ${c.from}`;
    case "field-retyped":
      return `retyped ${where} ${c.from} → ${c.to}`;
    case "field-moved":
      return `moved ${where} ${c.from} → ${c.to}`;
    case "constant-added":
      return `added constant ${where} ${c.to}`;
    case "constant-removed":
      return `removed constant ${where}`;
    case "constant-changed":
      return `changed constant ${where} ${c.from} → ${c.to}`;
    case "type-added":
      return `new nested type ${c.type}`;
    case "type-removed":
      return `nested type ${c.type} no longer used`;
  }
}

function summarize(compatibility: Compatibility, changes: FieldChange[]): string {
  if (changes.length === 0) return "identical fields";
  const shown = changes.slice(0, 4).map(describe);
  const more = changes.length > 4 ? `, and ${changes.length - 4} more` : "";
  return `${compatibility}: ${shown.join(", ")}${more}`;
}

/** Diff of two definition texts of one type; `unknown` when either cannot be parsed into fields. */
export function classifySchemaChange(
  typeName: string,
  before: { encoding: string; text: string },
  after: { encoding: string; text: string },
): SchemaDiff {
  if (before.encoding !== after.encoding)
    return {
      compatibility: "unknown",
      changes: [],
      summary: `unknown: encodings differ (${before.encoding} → ${after.encoding})`,
      note: "different schema encodings are not compared",
    };
  try {
    return diffDefinitions(
      parseMessageDefinition(typeName, before.encoding, before.text),
      parseMessageDefinition(typeName, after.encoding, after.text),
    );
  } catch (error) {
    const message = (error as Error).message;
    return {
      compatibility: before.text === after.text ? "identical" : "unknown",
      changes: [],
      summary: before.text === after.text ? "identical text" : `unknown: ${message}`,
      note: message,
    };
  }
}
