/** Where Strata keeps its data and which adapters it uses. The embedded default needs no server. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { StrataError } from "../core/index.ts";

export type CatalogConfig =
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; url: string; schema?: string };

export interface StrataConfig {
  /** Root of all local state (`$STRATA_HOME`, default `./.strata`). */
  home: string;
  catalog: CatalogConfig;
  blobs: { kind: "local"; root: string };
  /** Where OpenLineage RunEvents go (see `lineageSinksOf`); absent: the default JSONL file only. */
  openlineage?: OpenLineageConfig;
}

/** `config.json`: `{"openlineage": {"jsonl": "path", "url": "http://…"}}`. */
export interface OpenLineageConfig {
  /** JSON Lines file, relative to the home (default `lineage/openlineage.jsonl`); null turns it off. */
  jsonl?: string | null;
  /** Base URL of an OpenLineage HTTP endpoint (Marquez: events go to `<url>/api/v1/lineage`). */
  url?: string | null;
  /** Sent as a bearer token to `url`. */
  apiKey?: string;
}

export interface ConfigOverrides {
  /** `--home`; beats `$STRATA_HOME`. */
  home?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Resolves the configuration: `--home` > `$STRATA_HOME` > `./.strata`; then `<home>/config.json`
 * (optional: `{"catalog": {"kind": "postgres", "url": "…"}}`); then `$STRATA_CATALOG_URL` (a postgres:// URL).
 */
export function resolveConfig(overrides: ConfigOverrides = {}): StrataConfig {
  const env = overrides.env ?? process.env;
  const home = path.resolve(overrides.home ?? env.STRATA_HOME ?? ".strata");
  const fileConfig = readConfigFile(path.join(home, "config.json"));
  let catalog: CatalogConfig = fileConfig.catalog ?? {
    kind: "sqlite",
    path: path.join(home, "catalog.sqlite"),
  };
  const url = env.STRATA_CATALOG_URL;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new StrataError("STRATA_E_USAGE", `STRATA_CATALOG_URL must be a postgres:// URL, got ${url}`);
    }
    catalog = { kind: "postgres", url };
  }
  return {
    home,
    catalog,
    blobs: fileConfig.blobs ?? { kind: "local", root: path.join(home, "blobs") },
    ...(fileConfig.openlineage === undefined ? {} : { openlineage: fileConfig.openlineage }),
  };
}

function readConfigFile(file: string): Partial<Pick<StrataConfig, "catalog" | "blobs" | "openlineage">> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Partial<StrataConfig>;
  } catch (cause) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `cannot parse ${file}`,
      { file },
      { cause, hint: "Fix or delete the config file." },
    );
  }
}
