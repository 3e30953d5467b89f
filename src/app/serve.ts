/** What `strata serve` does before listening: the first admin token, and the demo captures on request. */
import { existsSync } from "node:fs";
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Strata } from "./strata.ts";

export interface PrepareOptions {
  /** On an empty catalog, generate and ingest the demo captures. */
  demo: boolean;
  log: (line: string) => void;
}

export interface Prepared {
  adminTokenFile: string;
  /** Set only on the start that created the admin token (it is printed once). */
  newAdminToken?: string;
}

export async function prepareServe(strata: Strata, options: PrepareOptions): Promise<Prepared> {
  const adminTokenFile = path.join(strata.config.home, "admin-token");
  let newAdminToken: string | undefined;
  if (!existsSync(adminTokenFile)) {
    const created = await strata.tokens.create("admin", "admin");
    await writeFile(adminTokenFile, `${created.token}\n`, { mode: 0o600 });
    await chmod(adminTokenFile, 0o600);
    newAdminToken = created.token;
  }
  if (options.demo && (await strata.catalog.countCaptures()) === 0) {
    const { ingestDemo } = await import("./demo.ts");
    await ingestDemo(strata, options.log);
  }
  return { adminTokenFile, newAdminToken };
}
