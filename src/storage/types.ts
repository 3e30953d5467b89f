import type { Readable } from "node:stream";
import type { Sha256Hex } from "../core/index.ts";

/**
 * Bytes to store: any async iterable of chunks (a Node Readable is one; strings are taken as UTF-8), or a
 * local file named by `filePath`, which a store may copy faster than a stream (no per-chunk allocation).
 */
export type BlobSource = AsyncIterable<Uint8Array | string> | Readable | { filePath: string };

export interface PutOptions {
  /**
   * When given, the put fails with STRATA_E_CRC_MISMATCH (and stores nothing) unless the bytes hash to
   * this value. Use it when the sender already knows the hash (re-import, transfer between stores).
   */
  expectedSha256?: Sha256Hex;
  /** Called as bytes are taken in, with the running byte count. */
  onProgress?: (doneBytes: number) => void;
  /** Stops taking in bytes: the call rejects with the signal's reason and nothing is stored. */
  signal?: AbortSignal;
}

/**
 * Bytes taken in and hashed but not yet part of the store: `commit()` makes them durable and gives them
 * their name (the same result as `put`); `discard()` drops them. Between the two, the bytes are readable
 * at `localPath` when the store keeps them on a local disk. A store may make the bytes durable in the
 * background meanwhile, so work that reads them (indexing) overlaps with the disk flush.
 */
export interface StagedBlob {
  readonly sha256: Sha256Hex;
  readonly sizeBytes: number;
  readonly localPath?: string;
  commit(): Promise<PutResult>;
  discard(): Promise<void>;
}

export interface PutResult {
  sha256: Sha256Hex;
  sizeBytes: number;
  /** false when a blob with these bytes was already stored (nothing was written). */
  created: boolean;
}

export interface GetOptions {
  /**
   * Re-hash the bytes while they stream and fail the stream with STRATA_E_BLOB_CORRUPT at the end if
   * they do not match the name. Default: true for whole-blob reads; not allowed with a range.
   */
  verify?: boolean;
  /** First byte to read (default 0). */
  offset?: number;
  /** Number of bytes to read from `offset` (default: to the end). */
  length?: number;
}

export interface BlobInfo {
  sha256: Sha256Hex;
  sizeBytes: number;
}

/**
 * A content-addressed store of immutable blobs named by the SHA-256 of their bytes.
 * Implementations: the local filesystem (default) and, later, S3-compatible object stores.
 * All of them pass `blobStoreContract` in `contract.ts`.
 */
export interface BlobStore {
  /** Streams `source` into the store, hashing as bytes pass; memory stays bounded whatever the size. */
  put(source: BlobSource, options?: PutOptions): Promise<PutResult>;
  /** Like `put`, in two steps (see `StagedBlob`); an `expectedSha256` mismatch fails here, storing nothing. */
  stage(source: BlobSource, options?: PutOptions): Promise<StagedBlob>;
  has(sha256: Sha256Hex): Promise<boolean>;
  /** A stream of the blob's bytes; STRATA_E_NOT_FOUND when absent. */
  get(sha256: Sha256Hex, options?: GetOptions): Promise<Readable>;
  /** true when a blob was removed, false when there was none. */
  delete(sha256: Sha256Hex): Promise<boolean>;
  /** Every stored blob, in no particular order. */
  list(): AsyncIterable<BlobInfo>;
  /** A local filesystem path to the blob, for stores that have one (random-access readers use it). */
  path?(sha256: Sha256Hex): string;
}
