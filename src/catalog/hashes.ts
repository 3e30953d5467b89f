import { canonicalJson, type Sha256Hex, sha256Hex } from "../core/index.ts";
import type { JsonObject } from "./types.ts";

/** A schema's identity: SHA-256 over its encoding, name and definition text (NUL-separated). */
export function computeSchemaHash(encoding: string, name: string, definition: string): Sha256Hex {
  return sha256Hex(`${encoding}\u0000${name}\u0000${definition}`);
}

/** prev_hash of the first audit event. */
export const AUDIT_GENESIS_HASH: Sha256Hex = "0".repeat(64);

export interface AuditHashInput {
  eventId: string;
  actor: string;
  action: string;
  target: string;
  atNs: bigint;
  details: JsonObject;
}

/** hash = sha256(prevHash + canonical JSON of the event); the sequence number is not part of it. */
export function computeAuditHash(prevHash: Sha256Hex, event: AuditHashInput): Sha256Hex {
  const { eventId, actor, action, target, atNs, details } = event;
  return sha256Hex(prevHash + canonicalJson({ eventId, actor, action, target, atNs, details }));
}
