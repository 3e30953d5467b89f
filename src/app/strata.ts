/**
 * createStrata: the one place that picks concrete adapters (SQLite or PostgreSQL catalog, local blobs)
 * and the programmatic API that the CLI and the server share.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { type Catalog, type JsonObject, openCatalog } from "../catalog/index.ts";
import { toStrataError } from "../core/index.ts";
import {
  type IngestOptions,
  type IngestResult,
  ingestPath,
  qaAnalyzer,
  recordFailedIngest,
} from "../pipelines/index.ts";
import { LocalBlobStore } from "../storage/index.ts";
import type { StrataConfig } from "./config.ts";
import { lineageSinksOf, withRunEvents } from "./lineage-emit.ts";
import { registryAnalyzerFor } from "./registry.ts";

export type Role = "viewer" | "engineer" | "steward" | "admin";

export interface TokenPrincipal {
  tokenId: string;
  name: string;
  role: Role;
}

export interface IngestRequest extends Omit<IngestOptions, "actor"> {
  actor?: string;
}

export interface Strata {
  readonly config: StrataConfig;
  readonly catalog: Catalog;
  readonly blobs: LocalBlobStore;
  readonly codeVersion: string;
  /** Ingests one capture (a file, or a ROS 2 bag directory). Failures are recorded as failed runs. */
  ingest(path: string, request?: IngestRequest): Promise<IngestResult>;
  tokens: {
    /** Returns the secret once; only its hash is stored. */
    create(name: string, role: Role): Promise<{ tokenId: string; token: string; role: Role }>;
    authenticate(token: string): Promise<TokenPrincipal | undefined>;
  };
  audit: {
    append(event: { actor: string; action: string; target: string; details?: JsonObject }): Promise<void>;
  };
  close(): Promise<void>;
}

export async function createStrata(config: StrataConfig): Promise<Strata> {
  await mkdir(config.home, { recursive: true });
  // Every finished run also goes out as OpenLineage events (lineage-emit.ts).
  const catalog = withRunEvents(await openCatalog(config.catalog), lineageSinksOf(config));
  const blobs = new LocalBlobStore(config.blobs.root);
  const codeVersion = await readCodeVersion();
  const defaultActor = `cli:${process.env.USER ?? "local"}`;
  // Run on every new capture before its rows commit, in order (calibration/ego-motion, then QA).
  const analyzers = [registryAnalyzerFor(config), qaAnalyzer({ codeVersion })];

  return {
    config,
    catalog,
    blobs,
    codeVersion,
    async ingest(path, request = {}) {
      const options: IngestOptions = { ...request, actor: request.actor ?? defaultActor };
      // Leftovers of an ingest that was killed mid-write go first (live writers are left alone).
      await blobs.sweepTemp({ deadWriters: true });
      try {
        return await ingestPath(path, options, { catalog, blobs, codeVersion, analyzers });
      } catch (error) {
        const strataError = toStrataError(error, { file: path });
        await recordFailedIngest(path, strataError, options, { catalog, blobs, codeVersion }).catch(
          () => undefined,
        );
        throw strataError;
      }
    },
    tokens: {
      async create(name, role) {
        const token = `strata_${randomBytes(24).toString("base64url")}`;
        const record = await catalog.insertToken({ name, role, tokenHash: hashToken(token) });
        return { tokenId: record.tokenId, token, role };
      },
      async authenticate(token) {
        const record = await catalog.findTokenByHash(hashToken(token));
        if (!record || record.revokedAtNs !== null) return undefined;
        return { tokenId: record.tokenId, name: record.name, role: record.role as Role };
      },
    },
    audit: {
      async append(event) {
        await catalog.appendAudit(event);
      },
    },
    async close() {
      await catalog.close();
    },
  };
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

async function readCodeVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  const sha = await gitSha();
  return sha ? `strata@${pkg.version}+${sha}` : `strata@${pkg.version}`;
}

async function gitSha(): Promise<string | undefined> {
  try {
    const head = (await readFile(new URL("../../.git/HEAD", import.meta.url), "utf8")).trim();
    if (!head.startsWith("ref: ")) return head.slice(0, 12);
    const ref = await readFile(new URL(`../../.git/${head.slice(5)}`, import.meta.url), "utf8");
    return ref.trim().slice(0, 12);
  } catch {
    return undefined;
  }
}
