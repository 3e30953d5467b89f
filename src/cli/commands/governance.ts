/**
 * Governance commands: `contract`, `qa`, `schema`, `ontology`. Thin over src/app/governance.ts; every
 * command takes --json. `contract check` exits 1 when a contract is violated, `qa run` when QA fails.
 */
import { type Command, Option } from "commander";
import { printJson, table } from "../output.ts";
import { common, opts, withStrata } from "../shared.ts";

const app = () => import("../../app/index.ts");

const secs = (ns: bigint, originNs: bigint | null): string =>
  originNs === null ? ns.toString() : `${(Number(ns - originNs) / 1e9).toFixed(3)}s`;

function printReasons(
  reasons: Array<{
    severity: string;
    check: string;
    topic: string;
    startNs: bigint;
    endNs: bigint;
    measured: number | string;
    threshold: number | string;
    unit: string;
    message: string;
  }>,
  originNs: bigint | null,
): void {
  if (reasons.length === 0) return;
  const rows = reasons.map((r) => ({
    severity: r.severity,
    check: r.check,
    topic: r.topic,
    window: `${secs(r.startNs, originNs)}..${secs(r.endNs, originNs)}`,
    measured: `${r.measured}${r.unit ? ` ${r.unit}` : ""}`,
    threshold: `${r.threshold}${r.unit ? ` ${r.unit}` : ""}`,
    message: r.message,
  }));
  process.stdout.write(
    `${table(rows, ["severity", "check", "topic", "window", "measured", "threshold", "message"])}\n`,
  );
}

function printChecks(
  checks: Array<{
    contract: string;
    version: string;
    passed: boolean;
    violations: object[];
    rulesChecked: number;
  }>,
): void {
  for (const c of checks) {
    process.stdout.write(
      `contract ${c.contract}@${c.version}: ${c.passed ? "passed" : `${c.violations.length} violation(s)`} (${c.rulesChecked} rules)\n`,
    );
    if (c.violations.length > 0)
      process.stdout.write(
        `${table(c.violations as Record<string, unknown>[], ["rule", "topic", "measured", "threshold", "unit", "message"])}\n`,
      );
  }
}

export function registerGovernanceCommands(program: Command): void {
  // ---------------------------------------------------------------- contract
  const contract = program.command("contract").description("data contracts: what a capture must contain");
  common(contract.command("add"))
    .description("add a contract version from a YAML file (validated against the published JSON Schema)")
    .argument("<file>", "contract YAML")
    .addHelpText("after", "\nExample:\n  strata contract add contracts/urban-car.yaml\n")
    .action(async (file: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { addContract } = await app();
        const result = await addContract(strata, { file });
        if (options.json) return printJson(result);
        process.stdout.write(
          `${result.created ? "added" : "already present"}: contract ${result.version.name}@${result.version.version} (${Object.keys(result.version.baselines).length} schema baselines)\n`,
        );
      });
    });
  common(contract.command("list"))
    .description("list contracts (latest version, assignment)")
    .action(async (_o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const rows = await (await app()).listContracts(strata);
        if (options.json) return printJson(rows);
        process.stdout.write(
          `${table(
            rows.map((r) => ({ ...r, versions: r.versions.join(", "), appliesTo: r.appliesTo ?? "-" })),
            ["name", "latestVersion", "versions", "appliesTo", "enforcement", "description"],
          )}\n`,
        );
      });
    });
  common(contract.command("show"))
    .description("one contract version with its recent checks")
    .argument("<contract>", "NAME or NAME@VERSION")
    .option("--source", "print the YAML as added")
    .action(async (ref: string, flags: { source?: boolean }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const shown = await (await app()).showContract(strata, ref);
        if (options.json) return printJson(shown);
        if (flags.source)
          return void process.stdout.write(shown.source.endsWith("\n") ? shown.source : `${shown.source}\n`);
        process.stdout.write(
          `contract ${shown.name}@${shown.version} (sha256 ${shown.sha256.slice(0, 12)}, by ${shown.createdBy})\n`,
        );
        process.stdout.write(`${JSON.stringify(shown.contract, null, 2)}\n`);
        if (shown.breakingCaptures.length > 0)
          process.stdout.write(`captures breaking its schemas: ${shown.breakingCaptures.join(", ")}\n`);
        process.stdout.write(
          `${table(
            shown.checks.map((c) => ({ ...c, violations: c.violations.length })),
            ["checkedAtNs", "captureId", "passed", "violations", "runId"],
          )}\n`,
        );
      });
    });
  common(contract.command("check"))
    .description(
      "check a capture against its assigned contracts, or one named contract (exit 1 on violations)",
    )
    .argument("<capture>", "capture id (cap_…) or SHA-256")
    .option(
      "--contract <ref>",
      "NAME or NAME@VERSION (default: the contracts assigned to the capture's rig/site)",
    )
    .option("--full", "decode every message (default: the contract's sampling policy)")
    .action(async (captureId: string, flags: { contract?: string; full?: boolean }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const outcome = await (await app()).checkContract(strata, captureId, {
          ...(flags.contract === undefined ? {} : { contract: flags.contract }),
          ...(flags.full ? { policy: { sampling: { mode: "full" } } } : {}),
        });
        if (outcome.checks.some((c) => !c.passed)) process.exitCode = 1;
        if (options.json) return printJson(outcome);
        printChecks(outcome.checks);
        process.stdout.write(`capture ${outcome.captureId} is ${outcome.status} (run ${outcome.runId})\n`);
      });
    });
  common(contract.command("schema"))
    .description("print the JSON Schema contracts are validated against")
    .action(async () => {
      printJson((await app()).contractJsonSchema());
    });

  // ---------------------------------------------------------------- qa
  const qa = program.command("qa").description("automated QA of capture passes: verdicts with reasons");
  common(qa.command("run"))
    .description("re-run QA (and the assigned contracts) on a stored capture (exit 1 when QA fails)")
    .argument("<capture>", "capture id (cap_…) or SHA-256")
    .option("--full", "decode every message instead of sampling")
    .action(async (captureId: string, flags: { full?: boolean }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const outcome = await (await app()).runCaptureQa(strata, captureId, { full: flags.full === true });
        if (outcome.result.verdict === "fail") process.exitCode = 1;
        if (options.json) return printJson(outcome);
        const capture = await strata.catalog.getCapture(outcome.captureId);
        process.stdout.write(
          `${outcome.captureId}: QA ${outcome.result.verdict.toUpperCase()} (${outcome.result.plan.mode}: ${outcome.result.plan.why}); capture is ${outcome.status}\n`,
        );
        printReasons(outcome.result.reasons, capture?.startNs ?? null);
        printChecks(outcome.checks);
      });
    });
  common(qa.command("show"))
    .description("the latest QA verdict of a capture with its reasons, contract checks and overrides")
    .argument("<capture>", "capture id (cap_…) or SHA-256")
    .action(async (captureId: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const shown = await (await app()).showCaptureQa(strata, captureId);
        if (options.json) return printJson(shown);
        if (!shown.latest) {
          process.stdout.write(
            `${shown.captureId}: no QA run yet (status ${shown.status}); run \`strata qa run ${shown.captureId}\`\n`,
          );
          return;
        }
        const l = shown.latest;
        process.stdout.write(
          `${shown.captureId}: QA ${l.verdict.toUpperCase()} (run ${l.runId}, ${l.plan.mode}: ${l.coverage.messagesDecoded}/${l.coverage.messagesIndexed} messages decoded); capture is ${shown.status}\n`,
        );
        printReasons(l.reasons, shown.startNs);
        if (l.coverage.notApplicable.length > 0)
          process.stdout.write(`not applicable: ${l.coverage.notApplicable.join(", ")}\n`);
        printChecks(shown.contractChecks);
        for (const o of shown.overrides)
          process.stdout.write(`override ${o.overrideId} by ${o.actor}: ${o.reason}\n`);
      });
    });
  common(qa.command("override"))
    .description("release a quarantined capture (steward); the reason is audited")
    .argument("<capture>", "capture id (cap_…) or SHA-256")
    .requiredOption("--reason <text>", "why the capture may be used despite its QA verdict")
    .action(async (captureId: string, flags: { reason: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const result = await (await app()).overrideCaptureQa(strata, captureId, { reason: flags.reason });
        if (options.json) return printJson(result);
        process.stdout.write(
          `${result.override.captureId} released (override ${result.override.overrideId}, audited)\n`,
        );
      });
    });

  // ---------------------------------------------------------------- schema
  const schema = program.command("schema").description("the message schema registry and its evolution");
  common(schema.command("list"))
    .description("every message type seen, with its definitions and changes")
    .action(async (_o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const rows = await (await app()).listSchemas(strata);
        if (options.json) return printJson(rows);
        process.stdout.write(
          `${table(
            rows.map((r) => ({ ...r, latestHash: r.latestHash.slice(0, 12) })),
            [
              "name",
              "encoding",
              "versions",
              "breakingChanges",
              "compatibleChanges",
              "topicCount",
              "latestHash",
              "lastCaptureId",
            ],
          )}\n`,
        );
      });
    });
  common(schema.command("show"))
    .description(
      "the definitions of a type (or of the type a hash belongs to), each classified against the previous",
    )
    .argument("<type>", "type name (pkg/Type or pkg/msg/Type) or a definition hash (prefix)")
    .action(async (ref: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const histories = await (await app()).showSchema(strata, ref);
        if (options.json) return printJson(histories);
        for (const h of histories) {
          process.stdout.write(`${h.name} (${h.encoding})\n`);
          process.stdout.write(
            `${table(
              h.versions.map((v) => ({
                version: v.version,
                hash: v.schemaHash.slice(0, 12),
                firstCaptureId: v.firstCaptureId,
                topics: v.topicCount,
                change: v.change?.summary ?? "first definition",
              })),
              ["version", "hash", "firstCaptureId", "topics", "change"],
            )}\n`,
          );
        }
      });
    });
  common(schema.command("diff"))
    .description("field-level diff of two definitions")
    .argument("<from>", "hash (prefix) or TYPE@N")
    .argument("<to>", "hash (prefix) or TYPE@N (TYPE@latest for the newest)")
    .action(async (from: string, to: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const result = await (await app()).diffSchema(strata, from, to);
        if (options.json) return printJson(result);
        process.stdout.write(
          `${result.from.name} #${result.from.version} (${result.from.schemaHash.slice(0, 12)}) → #${result.to.version} (${result.to.schemaHash.slice(0, 12)}): ${result.diff.compatibility.toUpperCase()}\n`,
        );
        if (result.diff.changes.length > 0)
          process.stdout.write(
            `${table(result.diff.changes as unknown as Record<string, unknown>[], ["kind", "type", "field", "from", "to", "breaking"])}\n`,
          );
        if (result.diff.note) process.stdout.write(`note: ${result.diff.note}\n`);
      });
    });

  // ---------------------------------------------------------------- ontology
  const ontology = program.command("ontology").description("the versioned label schema under change control");
  common(ontology.command("init"))
    .description("create the first ontology version from a YAML document")
    .argument("<file>", "ontology YAML")
    .action(async (file: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const v = await (await app()).initOntologyFromFile(strata, { file });
        if (options.json) return printJson(v);
        process.stdout.write(
          `ontology ${v.ontology.name}@${v.version} created (${v.ontology.classes.length} classes)\n`,
        );
      });
    });
  common(ontology.command("show"))
    .description("the active ontology (or one version)")
    .option("--version <semver>", "a version other than the active one")
    .action(async (flags: { version?: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const v = await (await app()).showOntology(strata, flags.version);
        if (options.json) return printJson(v);
        process.stdout.write(`ontology ${v.ontology.name}@${v.version}\n`);
        process.stdout.write(
          `${table(
            v.ontology.classes.map((c) => ({
              name: c.name,
              parent: c.parent,
              attributes: (c.attributes ?? [])
                .map((a) =>
                  a.type === "enum" ? `${a.name}:{${(a.values ?? []).join("|")}}` : `${a.name}:${a.type}`,
                )
                .join(", "),
              deprecated: c.deprecated ? `yes${c.replacedBy ? ` → ${c.replacedBy}` : ""}` : "",
            })),
            ["name", "parent", "attributes", "deprecated"],
          )}\n`,
        );
      });
    });
  common(ontology.command("versions"))
    .description("every ontology version")
    .action(async (_o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const rows = await (await app()).listOntology(strata);
        if (options.json) return printJson(rows);
        process.stdout.write(
          `${table(rows, ["version", "classes", "proposalId", "createdBy", "createdAtNs"])}\n`,
        );
      });
    });
  common(ontology.command("propose"))
    .description(
      "propose changes (add, rename, merge, split, deprecate) from a YAML file; a steward approves them",
    )
    .argument("<file>", "YAML: `changes: [...]` (optional `note`, `bump`)")
    .option("--note <text>", "why")
    .addOption(
      new Option("--bump <level>", "version bump (at least what the changes need)").choices([
        "major",
        "minor",
        "patch",
      ]),
    )
    .action(
      async (
        file: string,
        flags: { note?: string; bump?: "major" | "minor" | "patch" },
        command: Command,
      ) => {
        const options = opts(command);
        await withStrata(options, async (strata) => {
          const result = await (await app()).proposeOntologyChanges(strata, {
            file,
            ...(flags.note === undefined ? {} : { note: flags.note }),
            ...(flags.bump === undefined ? {} : { bump: flags.bump }),
          });
          if (options.json) return printJson(result);
          process.stdout.write(
            `proposal ${result.proposal.proposalId}: ${result.proposal.baseVersion} → ${result.preview.version}, awaiting a steward (\`strata ontology approve ${result.proposal.proposalId} --reason …\`)\n`,
          );
          if (result.preview.migration.length > 0)
            process.stdout.write(
              `${table(result.preview.migration as unknown as Record<string, unknown>[], ["op", "from", "to", "when"])}\n`,
            );
        });
      },
    );
  common(ontology.command("proposals"))
    .description("change proposals, newest first")
    .addOption(new Option("--status <status>").choices(["proposed", "approved", "rejected"]))
    .action(async (flags: { status?: "proposed" | "approved" | "rejected" }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const rows = await (await app()).listOntologyProposals(strata, flags.status);
        if (options.json) return printJson(rows);
        process.stdout.write(
          `${table(
            rows.map((p) => ({ ...p, changes: p.changes.map((c) => c.op).join(", ") })),
            [
              "proposalId",
              "status",
              "baseVersion",
              "resultVersion",
              "changes",
              "proposedBy",
              "decidedBy",
              "note",
            ],
          )}\n`,
        );
      });
    });
  for (const verb of ["approve", "reject"] as const) {
    common(ontology.command(verb))
      .description(
        verb === "approve"
          ? "approve a proposal (steward): writes the next version and migrates labels"
          : "reject a proposal (steward)",
      )
      .argument("<proposalId>")
      .requiredOption("--reason <text>", "why (audited)")
      .action(async (proposalId: string, flags: { reason: string }, command: Command) => {
        const options = opts(command);
        await withStrata(options, async (strata) => {
          const a = await app();
          if (verb === "approve") {
            const result = await a.approveOntologyProposal(strata, proposalId, { reason: flags.reason });
            if (options.json) return printJson(result);
            process.stdout.write(`approved ${proposalId}: ontology is now ${result.version.version}\n`);
            for (const [rule, n] of Object.entries(result.migratedLabels))
              process.stdout.write(`  migrated ${n} label(s): ${rule}\n`);
          } else {
            const result = await a.rejectOntologyProposal(strata, proposalId, { reason: flags.reason });
            if (options.json) return printJson(result);
            process.stdout.write(`rejected ${proposalId}\n`);
          }
        });
      });
  }
  common(ontology.command("drift"))
    .description(
      "taxonomy drift: labels (annotations and class names seen in messages) not in the active ontology",
    )
    .action(async (_o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const report = await (await app()).ontologyDrift(strata);
        if (options.json) return printJson(report);
        process.stdout.write(`active ontology: ${report.ontologyVersion ?? "none"}\n`);
        if (report.unknown.length === 0 && report.deprecated.length === 0)
          process.stdout.write("no drift: every label is a class of the active ontology\n");
        if (report.unknown.length > 0) {
          process.stdout.write("unknown labels:\n");
          process.stdout.write(
            `${table(
              report.unknown.map((e) => ({
                ...e,
                sources: e.sources.join(", "),
                captures: e.captures.length,
                suggestion: e.suggestion,
              })),
              ["className", "count", "sources", "captures", "suggestion"],
            )}\n`,
          );
        }
        if (report.deprecated.length > 0) {
          process.stdout.write("deprecated classes still used:\n");
          process.stdout.write(
            `${table(
              report.deprecated.map((e) => ({ ...e, sources: e.sources.join(", ") })),
              ["className", "count", "replacedBy", "sources"],
            )}\n`,
          );
        }
      });
    });
  common(ontology.command("schema"))
    .description("print the JSON Schema of ontology documents and change lists")
    .action(async () => {
      printJson((await app()).ontologyJsonSchema());
    });
  const labels = ontology.command("labels").description("labels the ontology governs");
  common(labels.command("import"))
    .description(
      "import annotation labels (JSON array or JSON Lines of {className, captureId?, topic?, attributes?, startNs?, endNs?})",
    )
    .argument("<file>")
    .option("--source <name>", "where they come from (default import:<file name>)")
    .action(async (file: string, flags: { source?: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const result = await (await app()).importLabels(strata, {
          file,
          ...(flags.source === undefined ? {} : { source: flags.source }),
        });
        if (options.json) return printJson(result);
        process.stdout.write(`imported ${result.imported} label(s) from ${result.source}\n`);
      });
    });
  common(labels.command("list"))
    .description("list labels")
    .option("--class <name>")
    .option("--capture <captureId>")
    .option("--source <source>")
    .option("--limit <n>", "at most this many", "100")
    .action(
      async (
        flags: { class?: string; capture?: string; source?: string; limit: string },
        command: Command,
      ) => {
        const options = opts(command);
        await withStrata(options, async (strata) => {
          const rows = await (await app()).labelsOf(strata, {
            ...(flags.class === undefined ? {} : { className: flags.class }),
            ...(flags.capture === undefined ? {} : { captureId: flags.capture }),
            ...(flags.source === undefined ? {} : { source: flags.source }),
            limit: Number(flags.limit),
          });
          if (options.json) return printJson(rows);
          process.stdout.write(
            `${table(rows as unknown as Record<string, unknown>[], ["labelId", "className", "count", "captureId", "topic", "source", "ontologyVersion"])}\n`,
          );
        });
      },
    );
}
