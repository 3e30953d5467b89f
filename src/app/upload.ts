/**
 * Ingest of bytes that arrive over the network: streamed to a temp file under `$STRATA_HOME/uploads/`
 * (memory stays bounded by the stream's chunk size), ingested like a local file, then removed.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StrataError } from "../core/index.ts";
import type { IngestResult } from "../pipelines/index.ts";
import type { IngestRequest, Strata } from "./strata.ts";

export interface UploadRequest extends IngestRequest {
  /** The client's file name; only its base name is used (path parts are dropped). */
  filename: string;
  /** Refuse bodies larger than this (default: no limit beyond the disk). */
  maxBytes?: number;
  /** Called once the bytes are on disk, before ingest starts (e.g. to wait for an ingest slot). */
  beforeIngest?: (sizeBytes: number) => Promise<void> | void;
  /** Bytes received so far (for throughput metrics). */
  onReceived?: (chunkBytes: number) => void;
}

export interface UploadResult {
  result: IngestResult;
  sizeBytes: number;
}

export async function ingestUpload(
  strata: Strata,
  body: AsyncIterable<Uint8Array>,
  request: UploadRequest,
): Promise<UploadResult> {
  const name = safeFileName(request.filename);
  const dir = path.join(strata.config.home, "uploads", randomBytes(8).toString("hex"));
  const file = path.join(dir, name);
  await mkdir(dir, { recursive: true });
  try {
    let sizeBytes = 0;
    const counted = async function* () {
      for await (const chunk of body) {
        sizeBytes += chunk.byteLength;
        if (request.maxBytes !== undefined && sizeBytes > request.maxBytes)
          throw new StrataError(
            "STRATA_E_USAGE",
            `upload of ${name} exceeds the limit of ${request.maxBytes} bytes`,
            { file: name },
            { hint: "Ingest large logs with `strata ingest` on the server instead." },
          );
        request.onReceived?.(chunk.byteLength);
        yield chunk;
      }
    };
    await pipeline(Readable.from(counted()), createWriteStream(file, { highWaterMark: 1 << 20 }));
    await request.beforeIngest?.(sizeBytes);
    const { filename: _f, maxBytes: _m, beforeIngest: _b, onReceived: _r, ...ingestRequest } = request;
    const result = await strata
      .ingest(file, {
        ...ingestRequest,
        provenance: { ...(request.provenance ?? {}), uploadedAs: name },
      })
      .catch((error: unknown) => {
        throw error instanceof StrataError && error.context.file === file
          ? error.withContext({ file: name })
          : error;
      });
    return { result, sizeBytes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function safeFileName(filename: string): string {
  const base = path.basename(filename.replaceAll("\\", "/")).replace(/[^\w.+-]/g, "_");
  return base === "" || base === "." || base === ".." ? "upload.bin" : base;
}
