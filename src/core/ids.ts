import { createHash, randomBytes } from "node:crypto";

/** Ids in Strata: content ids are SHA-256 hex; other ids are prefixed random ids (`run_…`). */

export type Sha256Hex = string;

export function sha256Hex(data: Uint8Array | string): Sha256Hex {
  return createHash("sha256").update(data).digest("hex");
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(10).toString("hex")}`;
}

/** A capture is identified by the SHA-256 of its bytes; its short id is the first 16 hex digits. */
export function captureIdFromSha256(sha256: Sha256Hex): string {
  return `cap_${sha256.slice(0, 16)}`;
}

export function isSha256Hex(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

/** Canonical JSON: keys sorted, bigint as decimal strings; the input of every content hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value instanceof Uint8Array) return Array.from(value);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
