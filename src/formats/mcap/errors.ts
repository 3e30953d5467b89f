import { StrataError } from "../../core/index.ts";

/**
 * Wraps anything @mcap/core (or a decompressor) throws in a StrataError with file + offset, so no
 * raw library error type leaves this module. CRC failures get their own code.
 */
export function mcapError(error: unknown, file: string, offset: bigint, detailPrefix = ""): StrataError {
  if (error instanceof StrataError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const detail = detailPrefix ? `${detailPrefix}: ${message}` : message;
  const code = /\bcrc\b/i.test(message) ? "STRATA_E_CRC_MISMATCH" : "STRATA_E_CORRUPT_LOG";
  return new StrataError(code, detail, { file, offset }, { cause: error });
}
