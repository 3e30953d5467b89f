/**
 * The `strata` command: a thin shell over `src/app`. Heavy modules load lazily inside each action so
 * `strata --help` is instant. Every command takes `--json`; failures print one coded error.
 */
import { Command } from "commander";
import { registerCoreCommands } from "./commands/core.ts";
import { registerDemoCommands } from "./commands/demo.ts";
import { registerDatasetCommands } from "./commands/datasets.ts";
import { registerExportCommands } from "./commands/export.ts";
import { registerLakehouseExportCommands } from "./commands/export-lakehouse.ts";
import { registerGovernanceCommands } from "./commands/governance.ts";
import { registerRegistryCommands } from "./commands/registry.ts";
import { registerScenesCommands } from "./commands/scenes.ts";
import { reportError } from "./output.ts";

/** Each capability registers its command group here (one file per group under ./commands). */
const COMMAND_GROUPS: ((program: Command) => void)[] = [
  registerCoreCommands,
  registerExportCommands,
  registerLakehouseExportCommands,
  registerRegistryCommands,
  registerGovernanceCommands,
  registerScenesCommands,
  registerDatasetCommands,
  registerDemoCommands,
];

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram({ jsonErrors: argv.includes("--json") });
  let exitCode = 0;
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    const commanderCode = (error as { code?: string }).code;
    if (
      commanderCode === "commander.helpDisplayed" ||
      commanderCode === "commander.version" ||
      commanderCode === "commander.help"
    )
      return 0;
    if (commanderCode?.startsWith("commander.")) {
      const json = argv.includes("--json");
      if (!json) return 2; // commander has already explained it
      const { StrataError } = await import("../core/index.ts");
      return reportError(
        new StrataError("STRATA_E_USAGE", (error as Error).message.replace(/^error: /, "")),
        json,
      );
    }
    exitCode = reportError(error, argv.includes("--json"));
  }
  return exitCode || (process.exitCode as number | undefined) || 0;
}

export function buildProgram(settings: { jsonErrors?: boolean } = {}): Command {
  const program = new Command("strata")
    .description(
      "Strata: ingest ROS 1 bags, ROS 2 bags and MCAP logs into a calibrated, versioned, searchable catalog.\n" +
        "Data lives in $STRATA_HOME (default ./.strata). Start with `strata ingest FILE`, then `strata captures list`.",
    )
    .version(process.env.npm_package_version ?? "0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    // With --json, usage errors are reported once, as JSON, by main().
    .configureOutput({ writeErr: (text) => (settings.jsonErrors ? undefined : process.stderr.write(text)) });

  for (const register of COMMAND_GROUPS) register(program);
  return program;
}
