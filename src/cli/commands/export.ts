/**
 * Export, replay and import commands: `strata export mcap|bag|bundle`, `strata replay`,
 * `strata import bundle|legacy`. `export` and `import` are parent commands other groups may extend
 * (use `exportCommand(program)` / `importCommand(program)` to get them).
 */
import { type Command, Option } from "commander";
import { printJson, table } from "../output.ts";
import { common, opts, withStrata } from "../shared.ts";

/** The `export` parent command, created on first use (other command groups add subcommands to it). */
export function exportCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "export") ??
    program.command("export").description("write captures, windows and datasets out in open formats")
  );
}

/** The `import` parent command, created on first use. */
export function importCommand(program: Command): Command {
  return (
    program.commands.find((c) => c.name() === "import") ??
    program.command("import").description("bring data in from bundles and other systems")
  );
}

/** `--topics a,b --topics c` → [a, b, c] */
function topicList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== ""),
  ];
}

interface WindowFlags {
  start?: string;
  end?: string;
  topics?: string[];
}

function windowOptions(command: Command): Command {
  return command
    .option(
      "--start <time>",
      "inclusive window start: ns since the epoch, or +DURATION from the capture start (+10s)",
    )
    .option("--end <time>", "inclusive window end (same forms as --start)")
    .option("--topics <topics>", "topics to keep, comma-separated or repeated (default: all)", topicList);
}

export function registerExportCommands(program: Command): void {
  const exporter = exportCommand(program);

  for (const format of ["mcap", "bag"] as const) {
    const command = common(exporter.command(format))
      .description(
        format === "mcap"
          ? "write a time window of a capture as an indexed MCAP file (ROS 2 profile for ROS 2 data; schemas, summary and indexes written)"
          : "write a time window of a ROS 1 capture as a ROS 1 bag (v2.0)",
      )
      .argument("<capture>", "a capture id (cap_…) or a full SHA-256");
    windowOptions(command)
      .requiredOption("--out <file>", "output file (written through FILE.tmp, renamed when complete)")
      .addOption(
        new Option("--compression <codec>", "chunk compression").choices(
          format === "mcap" ? ["zstd", "lz4", "none"] : ["none", "lz4"],
        ),
      )
      .option(
        "--with-latched",
        "also write the last message before the window of each latched topic (/tf_static, maps), so the window replays with them",
      )
      .option("--explain", "print the plan (window, channels, profile) and write nothing")
      .addHelpText(
        "after",
        `\nExample:\n  strata export ${format} cap_0123abcd --start +10s --end +40s --topics /tf,/odom --out window.${format}\n`,
      )
      .action(
        async (
          capture: string,
          flags: WindowFlags & {
            out: string;
            compression?: "zstd" | "lz4" | "none";
            explain?: boolean;
            withLatched?: boolean;
          },
          cmd: Command,
        ) => {
          const options = opts(cmd);
          await withStrata(options, async (strata) => {
            const { describeWindowPlan, exportCaptureWindow, planCaptureExport } = await import(
              "../../app/index.ts"
            );
            const request = {
              capture,
              format,
              start: flags.start,
              end: flags.end,
              topics: flags.topics,
              out: flags.out,
              compression: flags.compression,
              includeLatched: flags.withLatched === true,
            };
            if (flags.explain) {
              const plan = describeWindowPlan(await planCaptureExport(strata, request));
              if (options.json) return printJson(plan);
              process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
              return;
            }
            const { plan, result, runId } = await exportCaptureWindow(strata, request);
            if (options.json) return printJson({ ...result, runId, plan: describeWindowPlan(plan) });
            process.stdout.write(
              `wrote ${result.path}: ${result.messageCount} messages, ${result.sizeBytes} bytes, sha256 ${result.sha256} (run ${runId})\n`,
            );
            process.stdout.write(`${table(result.topics, ["topic", "messageCount"])}\n`);
          });
        },
      );
  }

  common(exporter.command("bundle"))
    .description(
      "write a portability bundle: blobs, catalog rows (JSON Lines), calibrations, contracts, ontology, lineage, audit chain and a manifest of hashes",
    )
    .option(
      "--dataset <name>",
      "only this dataset's captures and rows (repeatable)",
      (v: string, p: string[] = []) => [...p, v],
    )
    .option("--all", "everything in the home (the default)")
    .requiredOption("--out <dir>", "a new (or empty) directory")
    .addHelpText("after", "\nExample:\n  strata export bundle --all --out ./strata-bundle\n")
    .action(async (flags: { dataset?: string[]; all?: boolean; out: string }, cmd: Command) => {
      const options = opts(cmd);
      if (flags.all && flags.dataset && flags.dataset.length > 0) {
        const { StrataError } = await import("../../core/index.ts");
        throw new StrataError("STRATA_E_USAGE", "give --all or --dataset, not both");
      }
      await withStrata(options, async (strata) => {
        const { exportHomeBundle } = await import("../../app/index.ts");
        const result = await exportHomeBundle(strata, { out: flags.out, datasets: flags.dataset });
        if (options.json) return printJson(result);
        process.stdout.write(
          `wrote bundle ${result.dir}: ${result.manifest.blobs.length} blobs, ${result.manifest.tables.reduce((n, t) => n + t.rows, 0)} catalog rows, ${result.totalBytes} bytes; manifest sha256 ${result.manifestSha256}\n`,
        );
        process.stdout.write(
          `${table(result.manifest.tables as unknown as Record<string, unknown>[], ["name", "rows", "sizeBytes"])}\n`,
        );
      });
    });

  const importer = importCommand(program);
  common(importer.command("bundle"))
    .description("restore a portability bundle into an empty home (every hash is checked first)")
    .argument("<dir>", "a directory written by `strata export bundle`")
    .addHelpText("after", "\nExample:\n  strata import bundle ./strata-bundle --home ./restored\n")
    .action(async (dir: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      await withStrata(options, async (strata) => {
        const { importHomeBundle } = await import("../../app/index.ts");
        const result = await importHomeBundle(strata, { dir });
        if (options.json) return printJson(result);
        process.stdout.write(
          `restored ${dir}: ${result.blobs} blobs (${result.blobBytes} bytes), ${result.tables.reduce((n, t) => n + t.rows, 0)} catalog rows; audit chain verified (${result.audit.events} events)\n`,
        );
      });
    });

  common(importer.command("legacy"))
    .description(
      "ingest a directory of existing logs with a provenance sidecar (sourceSystem, originalPath, collectionDate, operator), keeping the provenance",
    )
    .argument(
      "<dir>",
      "directory of .bag / .mcap files and ROS 2 bag folders, with provenance.json|yaml or NAME.provenance.json|yaml",
    )
    .option("--rig <rig>", "rig, when the sidecar names none")
    .option("--site <site>", "site, when the sidecar names none")
    .option("--region <region>", "storage / residency region")
    .addHelpText(
      "after",
      '\nExample provenance.json:\n  {"sourceSystem": "fleetlog-v1", "originalRoot": "/mnt/old", "collectionDate": "2019-05-01", "operator": "j.doe"}\n',
    )
    .action(async (dir: string, flags: { rig?: string; site?: string; region?: string }, cmd: Command) => {
      const options = opts(cmd);
      await withStrata(options, async (strata) => {
        const { importLegacyDirectory } = await import("../../app/index.ts");
        const result = await importLegacyDirectory(strata, { dir, ...flags });
        const failed = result.outcomes.filter((o) => o.status === "failed").length;
        if (failed > 0) process.exitCode = 4;
        if (options.json) return printJson(result);
        process.stdout.write(
          `${table(result.outcomes as unknown as Record<string, unknown>[], ["name", "status", "captureId", "messageCount"])}\n`,
        );
        for (const s of result.plan.skipped) process.stdout.write(`skipped ${s.name}: ${s.reason}\n`);
        for (const o of result.outcomes)
          if (o.error) process.stdout.write(`failed ${o.name}: ${o.error.message}\n`);
      });
    });

  windowOptions(
    common(program.command("replay"))
      .description(
        "serve a capture's window over the Foxglove WebSocket protocol, paced by log time (connect Foxglove or Lichtblick to the printed URL)",
      )
      .argument("<capture>", "a capture id (cap_…) or a full SHA-256"),
  )
    .option("--rate <x>", "playback speed (1 = real time)", "1.0")
    .option("--port <port>", "TCP port (0 = any free port)", "8765")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--loop", "start over at the end of the window")
    .option("--autoplay", "start the clock at once, not at the first subscription")
    .option("--exit-at-end", "stop serving once the window has played")
    .addHelpText(
      "after",
      "\nPause, rate and seek: set the parameters strata.replay.paused / .rate / .position_ns (Foxglove's Parameters panel).\nExample:\n  strata replay cap_0123abcd --start +5s --end +35s --rate 2\n",
    )
    .action(
      async (
        capture: string,
        flags: WindowFlags & {
          rate: string;
          port: string;
          host: string;
          loop?: boolean;
          autoplay?: boolean;
          exitAtEnd?: boolean;
        },
        cmd: Command,
      ) => {
        const options = opts(cmd);
        await withStrata(options, async (strata) => {
          const { replayCapture } = await import("../../app/index.ts");
          const server = await replayCapture(strata, {
            capture,
            start: flags.start,
            end: flags.end,
            topics: flags.topics,
            rate: Number(flags.rate),
            port: Number(flags.port),
            host: flags.host,
            loop: flags.loop === true,
            autoplay: flags.autoplay === true,
          });
          const state = server.state();
          if (options.json)
            process.stdout.write(
              `${JSON.stringify({ url: server.url, port: server.port, rate: state.rate, positionNs: state.positionNs.toString() })}\n`,
            );
          else process.stdout.write(`Replaying ${capture} on ${server.url} (Ctrl-C to stop)\n`);
          await new Promise<void>((resolve) => {
            const stop = () => resolve();
            process.once("SIGINT", stop);
            process.once("SIGTERM", stop);
            if (flags.exitAtEnd) void server.finished.then(stop);
          });
          await server.close();
        });
      },
    );
}
