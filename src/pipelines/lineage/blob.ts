import { createHash } from "node:crypto";
import { type Sha256Hex, isStrataError } from "../../core/index.ts";
import type { BlobStore } from "../../storage/index.ts";

export interface BlobVerification {
  sha256: Sha256Hex;
  /** true when the stored bytes hash to `sha256`. */
  ok: boolean;
  /** The SHA-256 of the bytes read (null when the blob could not be read). */
  actualSha256: Sha256Hex | null;
  sizeBytes: number;
  /** Why the bytes could not be read (missing blob, I/O error). */
  error?: string;
}

/**
 * Re-hashes the stored bytes of a blob here, independent of the store's own check, and compares them with
 * the name the lineage recorded. Streams: memory stays bounded whatever the blob size.
 */
export async function verifyBlob(sha256: Sha256Hex, blobs: BlobStore): Promise<BlobVerification> {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  try {
    const stream = await blobs.get(sha256, { verify: false });
    for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      hash.update(bytes);
      sizeBytes += bytes.length;
    }
  } catch (error) {
    const reason = isStrataError(error) ? `${error.code}: ${error.message}` : String(error);
    return { sha256, ok: false, actualSha256: null, sizeBytes, error: reason };
  }
  const actualSha256 = hash.digest("hex");
  return { sha256, ok: actualSha256 === sha256, actualSha256, sizeBytes };
}
