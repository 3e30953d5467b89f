import type { FileHandle } from "node:fs/promises";

export declare const COPY_CHUNK_BYTES: number;

/** An I/O failure of the copy: Node's error with where it happened (`file` unset: the target). */
export interface CopyFailure {
  message: string;
  code?: string;
  syscall?: string;
  file?: string;
  offset?: number;
}

export interface CopyResult {
  /** Lowercase hex; empty when stopped. */
  sha256: string;
  sizeBytes: number;
  stopped: boolean;
}

export declare function copyHashed(
  sourcePath: string,
  target: FileHandle,
  hooks?: {
    onProgress?: (doneBytes: number) => void;
    shouldStop?: () => boolean;
    flushEveryBytes?: number;
  },
): Promise<CopyResult>;

/** What the copy worker posts. */
export type CopyWorkerMessage =
  | { type: "progress"; doneBytes: number }
  | { type: "hashed"; sha256: string; sizeBytes: number }
  | { type: "stopped" }
  | { type: "done" }
  | { type: "error"; error: CopyFailure };

/** The worker's `workerData`. */
export interface CopyWorkerData {
  copyHashedWorker: true;
  sourcePath: string;
  targetPath: string;
  fsync: boolean;
  /** Non-zero at index 0 asks the copy to stop. */
  stop: Int32Array;
}
