/**
 * Test support (imported only by `*.test.ts`): the catalogs a pipeline test runs against: SQLite in a temp
 * dir always, and PostgreSQL (a fresh schema, dropped afterwards) when STRATA_TEST_PG_URL is set.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Catalog, type NewTopic, openCatalog } from "../../catalog/index.ts";
import { type Sha256Hex, sha256Hex } from "../../core/index.ts";

export interface TestCatalog {
  catalog: Catalog;
  dispose(): Promise<void>;
}

export interface CatalogBackend {
  name: string;
  open(): Promise<TestCatalog>;
}

export function catalogBackends(): CatalogBackend[] {
  const backends: CatalogBackend[] = [
    {
      name: "sqlite",
      async open() {
        const dir = await mkdtemp(path.join(tmpdir(), "strata-pipelines-"));
        const catalog = await openCatalog({ kind: "sqlite", path: path.join(dir, "catalog.db") });
        return {
          catalog,
          dispose: async () => {
            await catalog.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
  const url = process.env.STRATA_TEST_PG_URL;
  if (url) {
    backends.push({
      name: "postgres",
      async open() {
        const schema = `strata_test_${process.pid}_${randomBytes(4).toString("hex")}`;
        const catalog = await openCatalog({ kind: "postgres", url, schema, poolSize: 4 });
        return {
          catalog,
          dispose: async () => {
            await catalog.db.schema.dropSchema(schema).ifExists().cascade().execute();
            await catalog.close();
          },
        };
      },
    });
  }
  return backends;
}

export interface TestCapture {
  name: string;
  rig?: string;
  site?: string;
  startNs?: bigint;
  endNs?: bigint;
  topics?: string[];
  status?: "ready" | "quarantined";
}

/** Inserts a capture (named by the SHA-256 of `name`) with its topics; returns its id and SHA-256. */
export async function insertTestCapture(
  catalog: Catalog,
  spec: TestCapture,
): Promise<{ captureId: string; sha256: Sha256Hex }> {
  const sha256 = sha256Hex(spec.name);
  const startNs = spec.startNs ?? 1_700_000_000_000_000_000n;
  const endNs = spec.endNs ?? startNs + 60_000_000_000n;
  const capture = await catalog.insertCapture({
    sha256,
    format: "mcap",
    sizeBytes: 1000,
    startNs,
    endNs,
    messageCount: 100,
    rig: spec.rig ?? null,
    site: spec.site ?? null,
    status: spec.status ?? "ready",
  });
  const topics: NewTopic[] = (spec.topics ?? ["/camera/image", "/imu"]).map((topic) => ({
    captureId: capture.captureId,
    topic,
    schemaName: "x/Y",
    messageEncoding: "ros1",
    messageCount: 50,
    firstNs: startNs,
    lastNs: endNs,
  }));
  await catalog.insertTopics(topics);
  return { captureId: capture.captureId, sha256 };
}
