/**
 * Semantic versions (MAJOR.MINOR.PATCH, no pre-release tags) and the ranges contracts use to name the
 * ontology they need: `1.2.3`, `^1.2.0`, `~1.2.0`, `1.x`, `1.2.x`, `*`, and space-separated comparators
 * (`>=1.2.0 <2.0.0`).
 */
import { StrataError } from "../../core/index.ts";

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
}

const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export function parseSemver(text: string): SemVer {
  const m = VERSION.exec(text.trim());
  if (!m)
    throw new StrataError(
      "STRATA_E_USAGE",
      `not a version: ${JSON.stringify(text)} (expected MAJOR.MINOR.PATCH)`,
    );
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export function isSemver(text: string): boolean {
  return VERSION.test(text.trim());
}

export function formatSemver(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function compareSemver(a: string | SemVer, b: string | SemVer): number {
  const x = typeof a === "string" ? parseSemver(a) : a;
  const y = typeof b === "string" ? parseSemver(b) : b;
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

export type Bump = "major" | "minor" | "patch";

export function bumpSemver(version: string, bump: Bump): string {
  const v = parseSemver(version);
  if (bump === "major") return formatSemver({ major: v.major + 1, minor: 0, patch: 0 });
  if (bump === "minor") return formatSemver({ major: v.major, minor: v.minor + 1, patch: 0 });
  return formatSemver({ major: v.major, minor: v.minor, patch: v.patch + 1 });
}

type Comparator = { op: ">=" | ">" | "<=" | "<" | "="; version: SemVer };

const RANGE_TERM =
  /^(>=|<=|>|<|=|\^|~)?\s*(\*|x|(0|[1-9]\d*)(?:\.(x|\*|0|[1-9]\d*))?(?:\.(x|\*|0|[1-9]\d*))?)$/;

/** True when `range` is a range this module understands. */
export function isSemverRange(range: string): boolean {
  try {
    rangeComparators(range);
    return true;
  } catch {
    return false;
  }
}

export function satisfies(version: string, range: string): boolean {
  const v = parseSemver(version);
  return rangeComparators(range).every((c) => {
    const d = compareSemver(v, c.version);
    if (c.op === ">=") return d >= 0;
    if (c.op === ">") return d > 0;
    if (c.op === "<=") return d <= 0;
    if (c.op === "<") return d < 0;
    return d === 0;
  });
}

function rangeComparators(range: string): Comparator[] {
  const terms = range.trim().split(/\s+/).filter(Boolean);
  if (terms.length === 0) throw new StrataError("STRATA_E_USAGE", "empty version range");
  const out: Comparator[] = [];
  for (const term of terms) {
    const m = RANGE_TERM.exec(term);
    if (!m) throw new StrataError("STRATA_E_USAGE", `not a version range: ${JSON.stringify(range)}`);
    const op = m[1] ?? "";
    const whole = m[2] as string;
    if (whole === "*" || whole === "x") {
      if (op !== "" && op !== ">=")
        throw new StrataError("STRATA_E_USAGE", `not a version range: ${JSON.stringify(range)}`);
      continue;
    }
    const major = Number(m[3]);
    const minorText = m[4];
    const patchText = m[5];
    const wild = (t: string | undefined) => t === undefined || t === "x" || t === "*";
    const minor = wild(minorText) ? undefined : Number(minorText);
    const patch = wild(patchText) ? undefined : Number(patchText);
    const low: SemVer = { major, minor: minor ?? 0, patch: patch ?? 0 };
    if (op === "^") {
      out.push({ op: ">=", version: low });
      const upper =
        major > 0 || minor === undefined
          ? { major: major + 1, minor: 0, patch: 0 }
          : minor > 0 || patch === undefined
            ? { major: 0, minor: minor + 1, patch: 0 }
            : { major: 0, minor: 0, patch: (patch ?? 0) + 1 };
      out.push({ op: "<", version: upper });
    } else if (op === "~") {
      out.push({ op: ">=", version: low });
      out.push({
        op: "<",
        version:
          minor === undefined
            ? { major: major + 1, minor: 0, patch: 0 }
            : { major, minor: minor + 1, patch: 0 },
      });
    } else if (op === "" || op === "=") {
      if (minor === undefined) {
        out.push({ op: ">=", version: low }, { op: "<", version: { major: major + 1, minor: 0, patch: 0 } });
      } else if (patch === undefined) {
        out.push({ op: ">=", version: low }, { op: "<", version: { major, minor: minor + 1, patch: 0 } });
      } else out.push({ op: "=", version: low });
    } else out.push({ op: op as Comparator["op"], version: low });
  }
  return out;
}
