import { open } from "node:fs/promises";
import { StrataError, toStrataError } from "../core/index.ts";
import type { BlobStore, PutOptions, PutResult } from "./types.ts";

/** Streams a file into any BlobStore. A missing file fails with STRATA_E_FILE_NOT_FOUND naming it. */
export async function putFile(store: BlobStore, filePath: string, options?: PutOptions): Promise<PutResult> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(filePath, "r");
  } catch (error) {
    throw toStrataError(error, { file: filePath });
  }
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new StrataError("STRATA_E_USAGE", "not a regular file", { file: filePath });
  }
  // The stream closes the handle when it ends or fails.
  return store.put(handle.createReadStream({ highWaterMark: 1 << 20 }), options);
}
