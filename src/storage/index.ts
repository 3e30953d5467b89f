/**
 * storage: content-addressed blobs. `BlobStore` is the interface; `LocalBlobStore` the default
 * implementation. The shared contract suite lives in `./contract.ts` (test-only, imports vitest).
 */
export { LocalBlobStore, type LocalBlobStoreOptions, type SweepOptions } from "./local.ts";
export { putFile } from "./put-file.ts";
export type {
  BlobInfo,
  BlobSource,
  BlobStore,
  GetOptions,
  PutOptions,
  PutResult,
  StagedBlob,
} from "./types.ts";
