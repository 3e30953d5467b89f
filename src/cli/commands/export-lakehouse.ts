/**
 * Open-format export commands under the `export` parent (see ./export.ts): `strata export parquet`
 * (the lakehouse), `strata export lerobot` (LeRobot v3 episodes of a dataset version) and
 * `strata export usd` (a USD stage of a capture window).
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { printJson, table } from "../output.ts";
import { common, opts, withStrata } from "../shared.ts";
import { exportCommand } from "./export.ts";

function positiveNumber(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a number ≥ 0, got ${value}`);
    return n;
  };
}

function positiveInteger(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
    return n;
  };
}

export function registerLakehouseExportCommands(program: Command): void {
  const exporter = exportCommand(program);

  common(exporter.command("parquet"))
    .description(
      "write the catalog as Parquet lakehouse tables (captures, topics, trajectories, poses, calibrations, QA, scenes, scene relations, lineage runs), Hive-partitioned site=…/date=…, readable by DuckDB, Spark and Trino",
    )
    .requiredOption("--out <dir>", "the lakehouse directory (new, empty, or written by an earlier export)")
    .option("--incremental", "add only captures not yet in the directory (catalog-wide tables are rewritten)")
    .option("--explain", "print the plan (tables, partitions, skipped tables) and write nothing")
    .addHelpText(
      "after",
      "\nSchema: docs/lakehouse.md and DIR/_strata_lakehouse.json.\nExample:\n  strata export parquet --out ./lake --incremental\n  duckdb -c \"select site, count(*) from read_parquet('lake/captures/**/*.parquet', hive_partitioning=true) group by site\"\n",
    )
    .action(async (flags: { out: string; incremental?: boolean; explain?: boolean }, cmd: Command) => {
      const options = opts(cmd);
      await withStrata(options, async (strata) => {
        const { exportLakehouse, planLakehouse } = await import("../../app/index.ts");
        const request = { out: flags.out, incremental: flags.incremental === true };
        if (flags.explain) return printJson(await planLakehouse(strata, request));
        const result = await exportLakehouse(strata, request);
        if (options.json) return printJson({ ...result, manifest: undefined });
        process.stdout.write(
          `wrote ${result.outDir} (${result.mode}): ${result.captureIds.length} new capture(s) (run ${result.runId})\n`,
        );
        process.stdout.write(
          `${table(result.tables as unknown as Record<string, unknown>[], ["name", "rowsWritten", "rowsTotal", "files"])}\n`,
        );
      });
    });

  common(exporter.command("lerobot"))
    .description(
      "write a dataset version as LeRobot v3 episodes (one per item): data Parquet, meta/info.json, stats, tasks, episodes; camera frames as MP4 when ffmpeg is on PATH, as images otherwise",
    )
    .argument("<dataset@version>", "dataset name @ version id (dsv_…), a unique prefix of it, or `latest`")
    .requiredOption("--out <dir>", "a new or empty directory")
    .option("--fps <n>", "frames per second of every episode", positiveInteger("--fps"), 10)
    .addOption(
      new Option(
        "--video <mode>",
        "camera frames as MP4 (always), as images (never), or MP4 if ffmpeg is found (auto)",
      )
        .choices(["auto", "always", "never"])
        .default("auto"),
    )
    .option("--task <text>", "the task text of every episode (default: the version's query, else `drive`)")
    .option("--explain", "print the plan (episodes, cameras, action source) and write nothing")
    .addHelpText(
      "after",
      "\nExample:\n  strata export lerobot pedestrians@latest --out ./pedestrians-lerobot --fps 10\n",
    )
    .action(
      async (
        dataset: string,
        flags: {
          out: string;
          fps: number;
          video: "auto" | "always" | "never";
          task?: string;
          explain?: boolean;
        },
        cmd: Command,
      ) => {
        const options = opts(cmd);
        await withStrata(options, async (strata) => {
          const { exportLerobotDataset, planLerobotDataset } = await import("../../app/index.ts");
          const request = {
            dataset,
            out: flags.out,
            fps: flags.fps,
            video: flags.video,
            ...(flags.task !== undefined ? { task: flags.task } : {}),
          };
          if (flags.explain) return printJson(await planLerobotDataset(strata, request));
          const result = await exportLerobotDataset(strata, request);
          if (options.json) return printJson(result);
          process.stdout.write(
            `wrote ${result.outDir}: ${result.episodes} episode(s), ${result.frames} frames, ${result.cameras.length} camera(s) as ${result.video ? "video" : "images"}, action from ${result.action} (run ${result.runId})\n`,
          );
          for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
        });
      },
    );

  common(exporter.command("usd"))
    .description(
      "write a capture window as a USD stage (.usda, Z up, metres): the ego as a time-sampled transform, agents as time-sampled boxes, lidar keyframes as points, cameras from the calibration",
    )
    .argument("<capture>", "a capture id (cap_…) or a full SHA-256")
    .option("--start <time>", "window start: ns since the epoch, or +DURATION from the capture start (+10s)")
    .option("--end <time>", "window end (same forms as --start)")
    .requiredOption("--out <file.usda>", "output file (written through FILE.tmp, renamed when complete)")
    .option("--fps <n>", "time codes per second of the stage", positiveInteger("--fps"), 30)
    .option(
      "--lidar-keyframe-secs <s>",
      "one lidar keyframe every this many seconds (0: no lidar)",
      positiveNumber("--lidar-keyframe-secs"),
      1,
    )
    .option("--max-points <n>", "points per lidar keyframe at most", positiveInteger("--max-points"), 20_000)
    .option("--explain", "print the plan (window, time codes, topics, cameras) and write nothing")
    .addHelpText(
      "after",
      "\nExample:\n  strata export usd cap_0123abcd --start +10s --end +40s --out window.usda\n",
    )
    .action(
      async (
        capture: string,
        flags: {
          start?: string;
          end?: string;
          out: string;
          fps: number;
          lidarKeyframeSecs: number;
          maxPoints: number;
          explain?: boolean;
        },
        cmd: Command,
      ) => {
        const options = opts(cmd);
        await withStrata(options, async (strata) => {
          const { exportCaptureUsd, planCaptureUsd } = await import("../../app/index.ts");
          const request = {
            capture,
            ...(flags.start !== undefined ? { start: flags.start } : {}),
            ...(flags.end !== undefined ? { end: flags.end } : {}),
            out: flags.out,
            timeCodesPerSecond: flags.fps,
            lidarKeyframeSecs: flags.lidarKeyframeSecs,
            maxPointsPerKeyframe: flags.maxPoints,
          };
          if (flags.explain) return printJson(await planCaptureUsd(strata, request));
          const { result, runId } = await exportCaptureUsd(strata, request);
          if (options.json) return printJson({ ...result, runId });
          process.stdout.write(
            `wrote ${result.path}: ${result.egoSamples} ego samples, ${result.agents} agents, ${result.lidarKeyframes} lidar keyframes (${result.points} points), ${result.cameras} camera(s), ${result.sizeBytes} bytes (run ${runId})\n`,
          );
          for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
        });
      },
    );
}
