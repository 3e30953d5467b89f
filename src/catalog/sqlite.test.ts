import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { catalogContract } from "./contract.ts";
import { MIGRATIONS, openCatalog } from "./index.ts";

catalogContract("SQLite", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "strata-catalog-"));
  const file = path.join(dir, "nested", "catalog.db");
  const catalog = await openCatalog({ kind: "sqlite", path: file });
  return {
    catalog,
    reopen: () => openCatalog({ kind: "sqlite", path: file }),
    dispose: async () => {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe("SQLite catalog specifics", () => {
  it("uses WAL, foreign keys and a busy timeout; ns are stored as INTEGER", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "strata-catalog-"));
    const file = path.join(dir, "catalog.db");
    const catalog = await openCatalog({ kind: "sqlite", path: file, busyTimeoutMs: 1234 });
    try {
      await catalog.insertCapture({
        sha256: "a".repeat(64),
        format: "mcap",
        sizeBytes: 1,
        startNs: 2n ** 60n,
      });
      const raw = new Database(file, { readonly: true });
      try {
        expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
        const typeOf = raw
          .prepare("select typeof(start_ns) as t, typeof(provenance) as p from captures")
          .get();
        expect(typeOf).toEqual({ t: "integer", p: "text" });
        const columns = raw.prepare("select name, type from pragma_table_info('captures')").all() as {
          name: string;
          type: string;
        }[];
        expect(columns.find((c) => c.name === "start_ns")?.type.toLowerCase()).toBe("integer");
      } finally {
        raw.close();
      }
      expect((await sql`pragma foreign_keys`.execute(catalog.db)).rows).toEqual([{ foreign_keys: 1n }]);
      expect((await sql`pragma busy_timeout`.execute(catalog.db)).rows).toEqual([{ timeout: 1234n }]);
    } finally {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("does not migrate when asked not to, and reports what it applies", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "strata-catalog-"));
    const catalog = await openCatalog({ kind: "sqlite", path: path.join(dir, "c.db"), migrate: false });
    try {
      await expect(catalog.counts()).rejects.toMatchObject({ code: "STRATA_E_CATALOG" });
      expect(await catalog.migrate()).toEqual(MIGRATIONS.map(([name]) => name));
      expect(await catalog.migrate()).toEqual([]);
      expect((await catalog.counts()).captures).toBe(0);
    } finally {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("works in memory", async () => {
    const catalog = await openCatalog({ kind: "sqlite", path: ":memory:" });
    await catalog.appendAudit({ actor: "a", action: "b", target: "c" });
    expect(await catalog.verifyAuditChain()).toMatchObject({ ok: true, eventCount: 1 });
    await catalog.close();
  });
});
