import type { BlobStore, PutOptions, PutResult } from "./types.ts";

/**
 * Copies a local file into any BlobStore. A missing file fails with STRATA_E_FILE_NOT_FOUND naming it,
 * anything but a regular file with STRATA_E_USAGE.
 */
export async function putFile(store: BlobStore, filePath: string, options?: PutOptions): Promise<PutResult> {
  return store.put({ filePath }, options);
}
