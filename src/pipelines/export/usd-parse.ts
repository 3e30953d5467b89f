/**
 * A strict reader for the subset of USD's text format (`.usda`) that Strata writes: the `#usda 1.0` header
 * with layer metadata, `def` / `over` / `class` prims with type names and names, typed attributes (scalars,
 * tuples, arrays, `uniform`, namespaced names such as `xformOp:translate`), `.timeSamples` dictionaries with
 * increasing time codes, metadata blocks (`customData`, `interpolation`, …) with typed dictionaries, nested
 * prims, balanced brackets, valid identifiers and numbers, and `#` comments.
 *
 * Strict means: an unknown attribute type, a value of the wrong shape for its type (a `double3` with two
 * numbers, a non-unit quaternion, a `token` that is not a string), a duplicate prim or property, a prim name
 * that is not an identifier, or time codes out of order is an error naming the line and column. It is
 * recursive descent over tokens; the whole text is held (the files it checks are Strata's own exports).
 */
import { StrataError } from "../../core/index.ts";

export type UsdScalar = number | string | boolean;
/** A tuple (`(1, 2, 3)`) is a number array; an array (`[…]`) a list of values; a dictionary an object. */
export type UsdValue = UsdScalar | number[] | UsdValue[] | UsdDictionary | null;
export interface UsdDictionary {
  [key: string]: UsdValue;
}

export interface UsdAttribute {
  name: string;
  /** Declared type, without `[]` (e.g. `double3`, `quatf`, `token`). */
  typeName: string;
  isArray: boolean;
  uniform: boolean;
  custom: boolean;
  /** The default (non time-sampled) value, when given. */
  value?: UsdValue;
  /** Time samples in increasing time code order. */
  timeSamples?: Array<[number, UsdValue]>;
  metadata: UsdDictionary;
}

export interface UsdPrim {
  specifier: "def" | "over" | "class";
  /** Empty for typeless prims. */
  typeName: string;
  name: string;
  /** `/World/Ego`. */
  path: string;
  metadata: UsdDictionary;
  attributes: Map<string, UsdAttribute>;
  children: UsdPrim[];
}

export interface UsdStage {
  metadata: UsdDictionary;
  /** The `doc` string of the layer, when given. */
  prims: UsdPrim[];
}

/** Value shapes by attribute type (the subset Strata writes, plus their close relatives). */
const TYPE_SHAPES: Record<
  string,
  "bool" | "int" | "float" | "string" | "token" | "asset" | "dictionary" | number
> = {
  bool: "bool",
  int: "int",
  int64: "int",
  uint: "int",
  uint64: "int",
  uchar: "int",
  half: "float",
  float: "float",
  double: "float",
  timecode: "float",
  string: "string",
  token: "token",
  asset: "asset",
  dictionary: "dictionary",
  float2: 2,
  double2: 2,
  half2: 2,
  int2: 2,
  texCoord2f: 2,
  texCoord2d: 2,
  float3: 3,
  double3: 3,
  half3: 3,
  int3: 3,
  point3f: 3,
  point3d: 3,
  vector3f: 3,
  vector3d: 3,
  normal3f: 3,
  normal3d: 3,
  color3f: 3,
  color3d: 3,
  float4: 4,
  double4: 4,
  color4f: 4,
  quatf: 4,
  quatd: 4,
  quath: 4,
};
const QUATERNION_TYPES = new Set(["quatf", "quatd", "quath"]);
const INT_TUPLES = new Set(["int2", "int3"]);

type TokenKind = "punct" | "string" | "number" | "ident" | "eof";
interface Token {
  kind: TokenKind;
  text: string;
  line: number;
  column: number;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;
const PUNCT = new Set(["(", ")", "[", "]", "{", "}", "=", ",", ":", ".", ";", "@"]);

function fail(token: { line: number; column: number }, detail: string): StrataError {
  return new StrataError("STRATA_E_DECODE", `usda ${token.line}:${token.column}: ${detail}`, {
    line: token.line,
    column: token.column,
  });
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const here = () => ({ line, column: i - lineStart + 1 });
  while (i < text.length) {
    const c = text[i] as string;
    if (c === "\n") {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    const start = here();
    if (c === '"') {
      if (text.startsWith('"""', i)) throw fail(start, "triple-quoted strings are not in the checked subset");
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === "\n") throw fail(start, "unterminated string");
        j += text[j] === "\\" ? 2 : 1;
      }
      if (j >= text.length) throw fail(start, "unterminated string");
      const raw = text.slice(i, j + 1);
      let value: string;
      try {
        value = JSON.parse(raw) as string;
      } catch {
        throw fail(start, `bad string escape in ${raw}`);
      }
      tokens.push({ kind: "string", text: value, ...start });
      i = j + 1;
      continue;
    }
    if (c === "-" || c === "." || (c >= "0" && c <= "9")) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m && !(c === "." && m[0] === ".")) {
        const after = text[i + m[0].length];
        if (after !== undefined && /[A-Za-z_]/.test(after)) throw fail(start, `bad number ${m[0]}${after}`);
        tokens.push({ kind: "number", text: m[0], ...start });
        i += m[0].length;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(c)) {
      IDENT.lastIndex = i;
      const m = IDENT.exec(text) as RegExpExecArray;
      tokens.push({ kind: "ident", text: m[0], ...start });
      i += m[0].length;
      continue;
    }
    if (PUNCT.has(c)) {
      tokens.push({ kind: "punct", text: c, ...start });
      i++;
      continue;
    }
    throw fail(start, `unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: "eof", text: "", line, column: i - lineStart + 1 });
  return tokens;
}

class Parser {
  private at = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.at + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.at++;
    return t;
  }

  private isPunct(text: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === "punct" && t.text === text;
  }

  private expectPunct(text: string): Token {
    const t = this.next();
    if (t.kind !== "punct" || t.text !== text) throw fail(t, `expected "${text}", found ${describe(t)}`);
    return t;
  }

  private expectIdent(): Token {
    const t = this.next();
    if (t.kind !== "ident") throw fail(t, `expected an identifier, found ${describe(t)}`);
    return t;
  }

  stage(): UsdStage {
    const metadata = this.isPunct("(") ? this.metadataBlock(true) : {};
    const prims = this.primList("");
    const end = this.peek();
    if (end.kind !== "eof") throw fail(end, `expected a prim, found ${describe(end)}`);
    return { metadata, prims };
  }

  private primList(parentPath: string): UsdPrim[] {
    const prims: UsdPrim[] = [];
    const names = new Set<string>();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "ident" || !["def", "over", "class"].includes(t.text)) return prims;
      const prim = this.prim(parentPath);
      if (names.has(prim.name)) throw fail(t, `duplicate prim ${prim.path}`);
      names.add(prim.name);
      prims.push(prim);
    }
  }

  private prim(parentPath: string): UsdPrim {
    const specifier = this.next().text as UsdPrim["specifier"];
    let typeName = "";
    if (this.peek().kind === "ident") typeName = this.expectIdent().text;
    const nameToken = this.next();
    if (nameToken.kind !== "string")
      throw fail(nameToken, `expected the prim name as a string, found ${describe(nameToken)}`);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(nameToken.text)) {
      throw fail(nameToken, `prim name ${JSON.stringify(nameToken.text)} is not an identifier`);
    }
    const path = `${parentPath}/${nameToken.text}`;
    const metadata = this.isPunct("(") ? this.metadataBlock(false) : {};
    this.expectPunct("{");
    const attributes = new Map<string, UsdAttribute>();
    const children: UsdPrim[] = [];
    const childNames = new Set<string>();
    for (;;) {
      const t = this.peek();
      if (this.isPunct("}")) break;
      if (t.kind === "ident" && ["def", "over", "class"].includes(t.text)) {
        const child = this.prim(path);
        if (childNames.has(child.name)) throw fail(t, `duplicate prim ${child.path}`);
        childNames.add(child.name);
        children.push(child);
        continue;
      }
      if (t.kind !== "ident") throw fail(t, `expected a property or a prim in ${path}, found ${describe(t)}`);
      this.property(path, attributes);
    }
    this.expectPunct("}");
    return { specifier, typeName, name: nameToken.text, path, metadata, attributes, children };
  }

  private property(primPath: string, attributes: Map<string, UsdAttribute>): void {
    let uniform = false;
    let custom = false;
    while (
      this.peek().kind === "ident" &&
      (this.peek().text === "uniform" || this.peek().text === "custom")
    ) {
      if (this.next().text === "uniform") uniform = true;
      else custom = true;
    }
    const typeToken = this.expectIdent();
    const typeName = typeToken.text;
    if (!(typeName in TYPE_SHAPES) || typeName === "dictionary") {
      throw fail(typeToken, `unknown attribute type "${typeName}"`);
    }
    let isArray = false;
    if (this.isPunct("[")) {
      this.expectPunct("[");
      this.expectPunct("]");
      isArray = true;
    }
    const nameToken = this.peek();
    const name = this.namespacedName();
    let timeSampled = false;
    if (this.isPunct(".")) {
      this.expectPunct(".");
      const suffix = this.expectIdent();
      if (suffix.text !== "timeSamples") throw fail(suffix, `unknown attribute suffix ".${suffix.text}"`);
      timeSampled = true;
    }
    let attribute = attributes.get(name);
    if (!attribute) {
      attribute = { name, typeName, isArray, uniform, custom, metadata: {} };
      attributes.set(name, attribute);
    } else if (attribute.typeName !== typeName || attribute.isArray !== isArray) {
      throw fail(nameToken, `${primPath}.${name} is declared as two types`);
    }
    if (timeSampled) {
      if (attribute.timeSamples) throw fail(nameToken, `${primPath}.${name} has two timeSamples blocks`);
      if (uniform) throw fail(nameToken, `${primPath}.${name} is uniform and cannot be time-sampled`);
      this.expectPunct("=");
      attribute.timeSamples = this.timeSamples(typeName, isArray);
      return;
    }
    if (attribute.value !== undefined) throw fail(nameToken, `duplicate property ${primPath}.${name}`);
    if (this.isPunct("=")) {
      this.expectPunct("=");
      attribute.value = this.typedValue(typeName, isArray);
    }
    if (this.isPunct("(")) attribute.metadata = this.metadataBlock(false);
  }

  private namespacedName(): string {
    const parts = [this.expectIdent().text];
    while (this.isPunct(":")) {
      this.expectPunct(":");
      parts.push(this.expectIdent().text);
    }
    return parts.join(":");
  }

  private timeSamples(typeName: string, isArray: boolean): Array<[number, UsdValue]> {
    this.expectPunct("{");
    const samples: Array<[number, UsdValue]> = [];
    while (!this.isPunct("}")) {
      const key = this.next();
      if (key.kind !== "number") throw fail(key, `expected a time code, found ${describe(key)}`);
      const tc = Number(key.text);
      const previous = samples.at(-1);
      if (previous && !(tc > previous[0]))
        throw fail(key, `time code ${tc} does not increase (after ${previous[0]})`);
      this.expectPunct(":");
      samples.push([tc, this.typedValue(typeName, isArray)]);
      if (this.isPunct(",")) this.expectPunct(",");
      else if (!this.isPunct("}"))
        throw fail(this.peek(), `expected "," or "}", found ${describe(this.peek())}`);
    }
    this.expectPunct("}");
    return samples;
  }

  private typedValue(typeName: string, isArray: boolean): UsdValue {
    if (this.peek().kind === "ident" && this.peek().text === "None") {
      this.next();
      return null;
    }
    if (!isArray) return this.scalarOfType(typeName);
    this.expectPunct("[");
    const items: UsdValue[] = [];
    while (!this.isPunct("]")) {
      items.push(this.scalarOfType(typeName));
      if (this.isPunct(",")) {
        this.expectPunct(",");
        if (this.isPunct("]")) throw fail(this.peek(), "trailing comma in an array");
      } else if (!this.isPunct("]"))
        throw fail(this.peek(), `expected "," or "]", found ${describe(this.peek())}`);
    }
    this.expectPunct("]");
    return items;
  }

  private scalarOfType(typeName: string): UsdValue {
    const shape = TYPE_SHAPES[typeName];
    const t = this.peek();
    switch (shape) {
      case "bool": {
        this.next();
        if (t.kind === "ident" && (t.text === "true" || t.text === "false")) return t.text === "true";
        if (t.kind === "number" && (t.text === "0" || t.text === "1")) return t.text === "1";
        throw fail(t, `expected a bool, found ${describe(t)}`);
      }
      case "int": {
        this.next();
        if (t.kind !== "number" || !/^-?[0-9]+$/.test(t.text))
          throw fail(t, `expected an integer, found ${describe(t)}`);
        return Number(t.text);
      }
      case "float": {
        this.next();
        if (t.kind !== "number") throw fail(t, `expected a number, found ${describe(t)}`);
        return Number(t.text);
      }
      case "string":
      case "token": {
        this.next();
        if (t.kind !== "string") throw fail(t, `expected a quoted ${typeName}, found ${describe(t)}`);
        return t.text;
      }
      case "asset": {
        this.expectPunct("@");
        const path: string[] = [];
        while (!this.isPunct("@")) {
          const part = this.next();
          if (part.kind === "eof") throw fail(part, "unterminated asset path");
          path.push(part.text);
        }
        this.expectPunct("@");
        return path.join("");
      }
      case "dictionary":
        return this.dictionary();
      default: {
        if (typeof shape !== "number") throw fail(t, `unknown type "${typeName}"`);
        const open = this.expectPunct("(");
        const values: number[] = [];
        while (!this.isPunct(")")) {
          const v = this.next();
          if (v.kind !== "number") throw fail(v, `expected a number in a ${typeName}, found ${describe(v)}`);
          if (INT_TUPLES.has(typeName) && !/^-?[0-9]+$/.test(v.text))
            throw fail(v, `expected an integer in a ${typeName}`);
          values.push(Number(v.text));
          if (this.isPunct(",")) this.expectPunct(",");
          else if (!this.isPunct(")"))
            throw fail(this.peek(), `expected "," or ")", found ${describe(this.peek())}`);
        }
        this.expectPunct(")");
        if (values.length !== shape)
          throw fail(open, `a ${typeName} has ${shape} components, found ${values.length}`);
        if (QUATERNION_TYPES.has(typeName)) {
          const norm = Math.hypot(...values);
          if (Math.abs(norm - 1) > 1e-3)
            throw fail(open, `${typeName} ${JSON.stringify(values)} is not a unit quaternion (norm ${norm})`);
        }
        return values;
      }
    }
  }

  /** `{ type name = value … }` with typed entries (names may be identifiers or strings). */
  private dictionary(): UsdDictionary {
    this.expectPunct("{");
    const out: UsdDictionary = {};
    while (!this.isPunct("}")) {
      const typeToken = this.expectIdent();
      const typeName = typeToken.text;
      if (!(typeName in TYPE_SHAPES)) throw fail(typeToken, `unknown dictionary value type "${typeName}"`);
      let isArray = false;
      if (this.isPunct("[")) {
        this.expectPunct("[");
        this.expectPunct("]");
        isArray = true;
      }
      const key = this.next();
      if (key.kind !== "ident" && key.kind !== "string")
        throw fail(key, `expected a dictionary key, found ${describe(key)}`);
      if (key.text in out) throw fail(key, `duplicate dictionary key "${key.text}"`);
      this.expectPunct("=");
      out[key.text] = typeName === "dictionary" ? this.dictionary() : this.typedValue(typeName, isArray);
      if (this.isPunct(";")) this.expectPunct(";");
    }
    this.expectPunct("}");
    return out;
  }

  /** `( … )` after the header, a prim or an attribute: `name = value` entries and (layer only) a doc string. */
  private metadataBlock(layer: boolean): UsdDictionary {
    this.expectPunct("(");
    const out: UsdDictionary = {};
    while (!this.isPunct(")")) {
      const t = this.next();
      if (t.kind === "string" && layer) {
        if ("doc" in out) throw fail(t, "two doc strings");
        out.doc = t.text;
        continue;
      }
      if (t.kind !== "ident") throw fail(t, `expected a metadata name, found ${describe(t)}`);
      if (t.text in out) throw fail(t, `duplicate metadata "${t.text}"`);
      this.expectPunct("=");
      out[t.text] = this.untypedValue();
      if (this.isPunct(";")) this.expectPunct(";");
    }
    this.expectPunct(")");
    return out;
  }

  /** Metadata values: numbers, strings, identifiers (tokens), lists, tuples and typed dictionaries. */
  private untypedValue(): UsdValue {
    const t = this.peek();
    if (t.kind === "number") {
      this.next();
      return Number(t.text);
    }
    if (t.kind === "string") {
      this.next();
      return t.text;
    }
    if (t.kind === "ident") {
      this.next();
      if (t.text === "true" || t.text === "false") return t.text === "true";
      if (t.text === "None") return null;
      return t.text;
    }
    if (this.isPunct("{")) return this.dictionary();
    if (this.isPunct("[") || this.isPunct("(")) {
      const close = this.next().text === "[" ? "]" : ")";
      const items: UsdValue[] = [];
      while (!this.isPunct(close)) {
        items.push(this.untypedValue());
        if (this.isPunct(",")) this.expectPunct(",");
        else if (!this.isPunct(close))
          throw fail(this.peek(), `expected "," or "${close}", found ${describe(this.peek())}`);
      }
      this.expectPunct(close);
      return items;
    }
    throw fail(t, `expected a metadata value, found ${describe(t)}`);
  }
}

function describe(t: Token): string {
  return t.kind === "eof"
    ? "the end of the file"
    : t.kind === "string"
      ? JSON.stringify(t.text)
      : `"${t.text}"`;
}

/** Parses `.usda` text (strictly, see above); the first line must be `#usda 1.0`. */
export function parseUsda(text: string): UsdStage {
  const firstLine = text.slice(0, text.indexOf("\n") === -1 ? text.length : text.indexOf("\n")).trimEnd();
  if (firstLine !== "#usda 1.0")
    throw fail(
      { line: 1, column: 1 },
      `the first line must be "#usda 1.0", found ${JSON.stringify(firstLine)}`,
    );
  return new Parser(tokenize(text)).stage();
}

/** The prim at `path` (`/World/Ego`), if any. */
export function findPrim(stage: UsdStage, path: string): UsdPrim | undefined {
  const parts = path.split("/").filter((p) => p !== "");
  let level = stage.prims;
  let found: UsdPrim | undefined;
  for (const part of parts) {
    found = level.find((p) => p.name === part);
    if (!found) return undefined;
    level = found.children;
  }
  return found;
}

/** The value of a time-sampled attribute at a time code: held before/after, linear between samples. */
export function sampleAt(attribute: UsdAttribute, timeCode: number): number[] | undefined {
  const samples = attribute.timeSamples;
  if (!samples || samples.length === 0)
    return Array.isArray(attribute.value) ? (attribute.value as number[]) : undefined;
  const asNumbers = (v: UsdValue): number[] => (Array.isArray(v) ? (v as number[]) : [Number(v)]);
  const first = samples[0] as [number, UsdValue];
  if (timeCode <= first[0]) return asNumbers(first[1]);
  for (let i = 1; i < samples.length; i++) {
    const [t1, v1] = samples[i] as [number, UsdValue];
    if (timeCode <= t1) {
      const [t0, v0] = samples[i - 1] as [number, UsdValue];
      const a = asNumbers(v0);
      const b = asNumbers(v1);
      const f = (timeCode - t0) / (t1 - t0);
      return a.map((x, k) => x + f * ((b[k] as number) - x));
    }
  }
  return asNumbers((samples.at(-1) as [number, UsdValue])[1]);
}
