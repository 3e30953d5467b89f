import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogContract } from "./contract.ts";
import { type Catalog, openCatalog } from "./index.ts";

const url = process.env.STRATA_TEST_PG_URL;
if (!url) {
  console.warn(
    "Skipping the PostgreSQL catalog suite: STRATA_TEST_PG_URL is not set " +
      "(e.g. STRATA_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test).",
  );
}

/** Every catalog of this run lives in its own schema, dropped afterwards. */
function freshSchema(): string {
  return `strata_test_${process.pid}_${randomBytes(4).toString("hex")}`;
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

describe.skipIf(!url)("PostgreSQL catalog", () => {
  catalogContract("PostgreSQL", async () => {
    const schema = freshSchema();
    const open = () => openCatalog({ kind: "postgres", url: url ?? "", schema });
    const catalog = await open();
    return {
      catalog,
      reopen: open,
      dispose: async () => {
        await catalog.close();
        await dropSchema(schema);
      },
    };
  });

  describe("PostgreSQL specifics", () => {
    const schema = freshSchema();
    let catalog: Catalog;
    beforeAll(async () => {
      catalog = await openCatalog({ kind: "postgres", url: url ?? "", schema, poolSize: 8 });
    });
    afterAll(async () => {
      await catalog?.close();
      await dropSchema(schema);
    });

    it("keeps its tables in the configured schema, with BIGINT ns columns", async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const tables = await client.query(
          "select table_name from information_schema.tables where table_schema = $1 order by table_name",
          [schema],
        );
        // The foundation's tables (later migrations add more) and Kysely's bookkeeping, all in this schema.
        expect(tables.rows.map((r) => r.table_name)).toEqual(
          expect.arrayContaining([
            "api_tokens",
            "audit_events",
            "capture_files",
            "captures",
            "kysely_migration",
            "kysely_migration_lock",
            "runs",
            "schemas",
            "topic_histogram",
            "topics",
          ]),
        );
        const columns = await client.query(
          "select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = 'captures' and column_name in ('start_ns', 'mean_rate_hz')",
          [schema],
        );
        expect(columns.rows).toEqual([{ column_name: "start_ns", data_type: "bigint" }]);
        const rate = await client.query(
          "select data_type from information_schema.columns where table_schema = $1 and table_name = 'topics' and column_name = 'mean_rate_hz'",
          [schema],
        );
        expect(rate.rows).toEqual([{ data_type: "double precision" }]);
        // The int8-as-bigint parser is the catalog pool's own, not pg's global one.
        const plain = await client.query("select 9007199254740993::int8 as n");
        expect(plain.rows[0].n).toBe("9007199254740993");
      } finally {
        await client.end();
      }
    });

    it("serialises audit appends from separate pools hammering at once", async () => {
      const others = await Promise.all(
        [1, 2, 3].map(() => openCatalog({ kind: "postgres", url: url ?? "", schema })),
      );
      try {
        const writers = [catalog, ...others];
        const appends = [];
        for (let i = 0; i < 80; i += 1) {
          const writer = writers[i % writers.length] as Catalog;
          appends.push(
            writer.appendAudit({ actor: `w${i % 4}`, action: "hammer", target: "t", details: { i } }),
          );
        }
        await Promise.all(appends);
        expect(await catalog.verifyAuditChain()).toMatchObject({ ok: true, eventCount: 80 });
      } finally {
        for (const other of others) await other.close();
      }
    });

    it("migrates concurrently from several processes' worth of pools without error", async () => {
      const parallelSchema = freshSchema();
      try {
        const opened = await Promise.all(
          [1, 2, 3].map(() => openCatalog({ kind: "postgres", url: url ?? "", schema: parallelSchema })),
        );
        for (const c of opened) expect(await c.migrate()).toEqual([]);
        for (const c of opened) await c.close();
      } finally {
        await dropSchema(parallelSchema);
      }
    });

    it("rejects schema names it would have to quote", async () => {
      await expect(
        openCatalog({ kind: "postgres", url: url ?? "", schema: 'x"; drop' }),
      ).rejects.toMatchObject({
        code: "STRATA_E_USAGE",
      });
    });

    it("reports an unreachable server as STRATA_E_CATALOG", async () => {
      await expect(
        openCatalog({ kind: "postgres", url: "postgres://postgres@127.0.0.1:1/none", schema: "x" }),
      ).rejects.toMatchObject({ code: "STRATA_E_CATALOG" });
    });
  });
});
