/** What every command file shares: the app handle, the common options and how options are read. */
import type { Command } from "commander";
import type { Strata } from "../app/index.ts";

export interface GlobalOptions {
  home?: string;
  json?: boolean;
}

export async function withStrata<T>(options: GlobalOptions, fn: (strata: Strata) => Promise<T>): Promise<T> {
  const { createStrata, resolveConfig } = await import("../app/index.ts");
  const strata = await createStrata(resolveConfig({ home: options.home }));
  try {
    return await fn(strata);
  } finally {
    await strata.close();
  }
}

/** Options shared by every command, so they work after the subcommand too (`strata info x --json`). */
export function common(command: Command): Command {
  return command
    .option("--home <dir>", "where Strata keeps its data (default: $STRATA_HOME or ./.strata)")
    .option("--json", "print machine-readable JSON (errors go to stderr as {error:{code,message,hint}})");
}

export function opts(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}
