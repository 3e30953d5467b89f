/**
 * A readable path for a stored capture: the blob itself for one-file captures, or (for multi-file
 * captures such as ROS 2 bag directories) a temporary directory of symlinks to the blobs, laid out
 * under their original names. Nothing is copied.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, symlink } from "node:fs/promises";
import path from "node:path";
import type { CaptureRecord, Catalog } from "../../catalog/index.ts";
import { StrataError } from "../../core/index.ts";
import type { BlobStore } from "../../storage/index.ts";

export interface StoredCaptureDeps {
  catalog: Catalog;
  blobs: BlobStore;
  /** Where link directories for multi-file captures are made (removed again by `release`). */
  tempDir: string;
}

export interface StoredCapturePath {
  path: string;
  release(): Promise<void>;
}

export async function storedCapturePath(
  deps: StoredCaptureDeps,
  capture: CaptureRecord,
): Promise<StoredCapturePath> {
  const blobPath = deps.blobs.path?.bind(deps.blobs);
  if (!blobPath) {
    throw new StrataError(
      "STRATA_E_UNSUPPORTED",
      "reading a window needs a blob store with local paths (the local filesystem store)",
    );
  }
  const files = await deps.catalog.listCaptureFiles(capture.captureId);
  const only = files.length === 1 ? files[0] : undefined;
  if (only && only.sha256 === capture.sha256) return { path: blobPath(only.sha256), release: async () => {} };
  if (files.length === 0) {
    throw new StrataError("STRATA_E_NOT_FOUND", `capture ${capture.captureId} has no stored files`);
  }
  const dir = path.join(deps.tempDir, `capture-${capture.captureId}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    for (const file of files) {
      await symlink(blobPath(file.sha256), path.join(dir, path.basename(file.pathInCapture)));
    }
  } catch (error) {
    await release();
    throw error;
  }
  return { path: dir, release };
}
