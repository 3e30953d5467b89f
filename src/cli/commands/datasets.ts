/**
 * Dataset and lineage commands: `strata dataset create|list|show|diff|leakage|materialize`,
 * `strata lineage trace TARGET`, `strata lineage graph` and `strata blame SAMPLES.json`.
 * Thin over src/app/datasets.ts; the app loads only when a command runs.
 */
import type { Command } from "commander";
import { printJson, table } from "../output.ts";
import { common, opts, withStrata } from "../shared.ts";

const isoOf = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();

async function readJsonFile(file: string): Promise<unknown> {
  const { readFile } = await import("node:fs/promises");
  const { StrataError } = await import("../../core/index.ts");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new StrataError("STRATA_E_FILE_NOT_FOUND", `cannot read ${file}`, { file }, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StrataError("STRATA_E_USAGE", `${file} is not JSON`, { file }, { cause });
  }
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`${name} must be a non-negative integer, got ${value}`);
    return n;
  };
}

export function registerDatasetCommands(program: Command): void {
  const dataset = program
    .command("dataset")
    .description(
      "dataset versions: immutable, content-addressed lists of capture windows with leakage-free splits",
    );

  common(dataset.command("create"))
    .description("build a dataset version (the same content always gives the same dsv_… id)")
    .argument("<name>", "the dataset's name (created with its first version)")
    .option(
      "--from-query <query>",
      "items from a scene search (as `strata search`; needs `strata scenes build`)",
    )
    .option(
      "--items <file>",
      "items from a JSON array: {captureId|captureSha256, startNs?, endNs?, topics?, sceneId?, split?}",
    )
    .option("--captures <ids>", "whole captures, comma-separated ids or SHA-256s")
    .option("--split <ratios>", "split ratios (default train=0.8,val=0.1,test=0.1)")
    .option("--group-by <key>", "what never straddles splits: capture (default), site or rig")
    .option("--seed <n>", "split seed (default 0)")
    .option("--parent <version>", "the version this one derives from")
    .option("--allow-quarantined", "accept captures QA has quarantined")
    .addHelpText(
      "after",
      "\nRecords a `dataset` lineage run and an audit event.\n\nExamples:\n  strata dataset create urban --captures cap_0123,cap_4567 --split train=0.8,val=0.2 --group-by site\n  strata dataset create braking --from-query 'tag:hard_brake' --seed 7\n",
    )
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      const flags = cmd.opts() as {
        fromQuery?: string;
        items?: string;
        captures?: string;
        split?: string;
        groupBy?: string;
        seed?: string;
        parent?: string;
        allowQuarantined?: boolean;
      };
      const { StrataError } = await import("../../core/index.ts");
      if (flags.groupBy !== undefined && !["capture", "site", "rig"].includes(flags.groupBy)) {
        throw new StrataError(
          "STRATA_E_USAGE",
          `--group-by must be capture, site or rig, got ${flags.groupBy}`,
        );
      }
      const items = flags.items === undefined ? undefined : await readJsonFile(flags.items);
      if (items !== undefined && !Array.isArray(items)) {
        throw new StrataError("STRATA_E_USAGE", `${flags.items} must hold a JSON array of items`);
      }
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        try {
          const result = await app.createDataset(strata, {
            name,
            ...(flags.fromQuery === undefined ? {} : { fromQuery: flags.fromQuery }),
            ...(items === undefined ? {} : { items }),
            ...(flags.captures === undefined
              ? {}
              : {
                  captures: flags.captures
                    .split(",")
                    .map((s) => s.trim())
                    .filter((s) => s !== ""),
                }),
            ...(flags.split === undefined ? {} : { ratios: app.parseSplitRatios(flags.split) }),
            ...(flags.groupBy === undefined ? {} : { groupBy: flags.groupBy as "capture" | "site" | "rig" }),
            ...(flags.seed === undefined ? {} : { seed: flags.seed }),
            ...(flags.parent === undefined ? {} : { parentVersionId: flags.parent }),
            ...(flags.allowQuarantined ? { allowQuarantined: true } : {}),
          });
          if (options.json) return printJson(result);
          const counts = { train: 0, val: 0, test: 0 };
          for (const item of result.version.manifest.items) counts[item.split]++;
          process.stdout.write(
            `${result.created ? "created" : "exists "} ${result.version.versionId}\n` +
              `  dataset ${result.version.datasetName}, ${result.version.manifest.items.length} items ` +
              `(train ${counts.train}, val ${counts.val}, test ${counts.test})` +
              `${result.runId === null ? "" : `, run ${result.runId}`}\n` +
              `  leakage: ${result.leakage.ok ? "none" : `${result.leakage.findings.length} finding(s)`}\n`,
          );
        } finally {
          if (flags.fromQuery !== undefined) await app.closeSceneIndex(strata);
        }
      });
    });

  common(dataset.command("list"))
    .description("datasets and their versions, newest first")
    .action(async (_flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        const listing = await app.listDatasetVersions(strata);
        if (options.json) return printJson(listing);
        if (listing.length === 0) {
          process.stdout.write("no datasets (build one with `strata dataset create NAME --captures ID`)\n");
          return;
        }
        const rows = listing.flatMap((d) =>
          d.versions.map((v) => ({
            dataset: d.name,
            version: v.versionId,
            items: v.itemCount,
            parent: v.parentVersionId === null ? null : `${v.parentVersionId.slice(0, 16)}…`,
            created: isoOf(v.createdAtNs),
          })),
        );
        process.stdout.write(`${table(rows, ["dataset", "version", "items", "parent", "created"])}\n`);
      });
    });

  common(dataset.command("show"))
    .description("one version: its manifest (items, splits, query, parent)")
    .argument("<version>", "a dataset version id (dsv_…)")
    .action(async (versionId: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        const version = await app.showDatasetVersion(strata, versionId);
        if (options.json) return printJson(version);
        const m = version.manifest;
        process.stdout.write(
          `${version.versionId}\n  dataset ${version.datasetName}, created ${isoOf(version.createdAtNs)} by ${version.createdBy}\n` +
            `  parent ${version.parentVersionId ?? "-"}, query ${m.query ?? "-"}\n` +
            `  split policy ${m.splitPolicy === null ? "per item" : JSON.stringify(m.splitPolicy)}\n\n`,
        );
        process.stdout.write(
          `${table(
            m.items.map((item, index) => ({
              sample: `${version.versionId.slice(0, 12)}…/${index}`,
              captureId: item.captureId,
              startNs: item.startNs,
              secs: (Number(item.endNs - item.startNs) / 1e9).toFixed(1),
              topics: item.topics.length,
              split: item.split,
              scene: item.sceneId ?? null,
            })),
            ["sample", "captureId", "startNs", "secs", "topics", "split", "scene"],
          )}\n`,
        );
      });
    });

  common(dataset.command("diff"))
    .description("added, removed and changed items between two versions, also per topic and capture")
    .argument("<from>", "the older version")
    .argument("<to>", "the newer version")
    .action(async (from: string, to: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        const diff = await app.diffDatasetVersions(strata, from, to);
        if (options.json) return printJson(diff);
        process.stdout.write(
          `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed, ${diff.unchangedCount} unchanged\n`,
        );
        for (const change of diff.manifest) process.stdout.write(`  manifest ${JSON.stringify(change)}\n`);
        for (const t of diff.byTopic) process.stdout.write(`  topic ${JSON.stringify(t)}\n`);
      });
    });

  common(dataset.command("leakage"))
    .description(
      "report items that leak across splits (shared capture/site/rig, overlapping windows); exit 1 on errors",
    )
    .argument("<version>", "a dataset version id")
    .action(async (versionId: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        const report = await app.checkDatasetLeakage(strata, versionId);
        if (options.json) printJson(report);
        else if (report.findings.length === 0) process.stdout.write("no leakage\n");
        else for (const f of report.findings) process.stdout.write(`${f.severity}: ${f.message}\n`);
        if (!report.ok) process.exitCode = 1;
      });
    });

  common(dataset.command("materialize"))
    .description(
      "write a trimmed MCAP per item, manifest.json and samples.parquet (same version → same bytes)",
    )
    .argument("<version>", "a dataset version id")
    .requiredOption("--out <dir>", "output directory")
    .action(async (versionId: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      const { out } = cmd.opts() as { out: string };
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        const result = await app.materializeDataset(strata, { versionId, outDir: out });
        if (options.json) return printJson(result);
        process.stdout.write(
          `materialized ${result.samples.length} samples into ${result.outDir} (run ${result.runId})\n`,
        );
        process.stdout.write(`${table(result.files, ["file", "sha256", "sizeBytes"])}\n`);
      });
    });

  const lineage = program
    .command("lineage")
    .description("lineage: where samples, versions and captures came from");

  common(lineage.command("trace"))
    .description(
      "walk from a sample (dsv_…/N), version, capture, run or SHA-256 back to raw blobs (re-hashed), calibration and QA",
    )
    .argument("<target>", "dsv_…/N, dsv_…, cap_…, run_… or a SHA-256")
    .action(async (target: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        const graph = await app.traceTarget(strata, target);
        if (options.json) return printJson(graph);
        for (const node of graph.nodes) {
          const verified = node.attributes.verified;
          const mark =
            verified === true ? " ✓ bytes re-hash" : verified === false ? " ✗ BYTES DO NOT MATCH" : "";
          process.stdout.write(`${node.kind.padEnd(16)} ${node.label}${mark}\n`);
        }
        for (const edge of graph.edges)
          process.stdout.write(`  ${edge.from} -> ${edge.to} (${edge.relation})\n`);
      });
    });

  common(lineage.command("graph"))
    .description("the lineage graph of the whole catalog")
    .option("--format <format>", "dot or json (default json)", "json")
    .action(async (_flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      const { format } = cmd.opts() as { format: string };
      if (format !== "dot" && format !== "json") {
        const { StrataError } = await import("../../core/index.ts");
        throw new StrataError("STRATA_E_USAGE", `--format must be dot or json, got ${format}`);
      }
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        const graph = await app.lineageGraphOf(strata, format);
        if (typeof graph === "string") process.stdout.write(graph);
        else printJson(graph);
      });
    });

  common(program.command("blame"))
    .description(
      "rank what failing samples over-represent (capture, rig, site, calibration, QA verdict/flag) against the version's base rates",
    )
    .argument("<samples>", "a JSON file: an array of sample ids (dsv_…/N) or {sampleId} objects")
    .option("--version <version>", "the evaluated version (default: the one the ids name)")
    .option(
      "--min-failures <n>",
      "report a value only when at least n failing samples have it (default 2)",
      nonNegativeInt("--min-failures"),
    )
    .action(async (file: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      const flags = cmd.opts() as { version?: string; minFailures?: number };
      const samples = await readJsonFile(file);
      await withStrata(options, async (strata) => {
        const app = await import("../../app/index.ts");
        const report = await app.blameSamples(strata, samples, {
          ...(flags.version === undefined ? {} : { versionId: flags.version }),
          ...(flags.minFailures === undefined ? {} : { minFailures: flags.minFailures }),
        });
        if (options.json) return printJson(report);
        process.stdout.write(
          `${report.failingCount} failing of ${report.sampleCount} samples in ${report.versionId}` +
            `${report.ignoredSampleIds.length > 0 ? ` (${report.ignoredSampleIds.length} ids ignored)` : ""}\n`,
        );
        process.stdout.write(
          `${table(
            report.causes.map((c) => ({
              dimension: c.dimension,
              value: c.value,
              failing: `${c.failCount} (${(c.failShare * 100).toFixed(0)}%)`,
              base: `${c.baseCount} (${(c.baseShare * 100).toFixed(0)}%)`,
              lift: c.lift.toFixed(2),
              z: c.zScore.toFixed(2),
            })),
            ["dimension", "value", "failing", "base", "lift", "z"],
          )}\n`,
        );
      });
    });
}
