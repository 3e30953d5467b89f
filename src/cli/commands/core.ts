/** The foundation commands: init, info, ingest, captures, runs, audit, token, serve. */
import { type Command, Option } from "commander";
import { printJson, progressBar, table } from "../output.ts";
import { common, opts, withStrata } from "../shared.ts";

export function registerCoreCommands(program: Command): void {
  common(program.command("init"))
    .description("create the data directory and catalog (other commands do this on first use too)")
    .action(async (_o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const counts = await strata.catalog.counts();
        const result = { home: strata.config.home, catalog: strata.config.catalog.kind, counts };
        if (options.json) printJson(result);
        else
          process.stdout.write(
            `Strata home ready at ${result.home} (${result.catalog} catalog, ${counts.captures} captures)\n`,
          );
      });
    });

  common(program.command("info"))
    .description("read log files and print their topics, counts and time range (does not ingest)")
    .argument("<path...>", "MCAP files, ROS 1 bags or ROS 2 bag directories")
    .addHelpText("after", "\nExample:\n  strata info drive.mcap --json\n")
    .action(async (paths: string[], _o, command: Command) => {
      const options = opts(command);
      const { readLogInfo } = await import("../../app/index.ts");
      const results = [];
      for (const path of paths) results.push(await readLogInfo(path));
      if (options.json) return printJson(paths.length === 1 ? results[0] : results);
      for (const r of results) {
        process.stdout.write(`${r.path}: ${r.format}, ${r.messageCount} messages, ${r.sizeBytes} bytes\n`);
        process.stdout.write(
          `${table(r.topics, ["topic", "schemaName", "messageEncoding", "messageCount", "firstTimeNs", "lastTimeNs"])}\n`,
        );
        for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
      }
    });

  common(program.command("ingest"))
    .description(
      "store logs content-addressed and index them in the catalog (the same bytes twice → one capture)",
    )
    .argument("<path...>", "MCAP files, ROS 1 bags or ROS 2 bag directories")
    .option("--rig <rig>", "the robot / sensor rig that recorded it")
    .option("--site <site>", "where it was recorded")
    .option("--region <region>", "storage / residency region")
    .option(
      "--scenes",
      "also build the capture's scenes so it is searchable at once (or set STRATA_SCENES_ON_INGEST=1)",
    )
    .addHelpText("after", "\nExample:\n  strata ingest run1.mcap run2.bag --rig car-7 --site berlin --json\n")
    .action(
      async (
        paths: string[],
        flags: { rig?: string; site?: string; region?: string; scenes?: boolean },
        command: Command,
      ) => {
        const options = opts(command);
        await withStrata(options, async (strata) => {
          const results = [];
          for (const path of paths) {
            let bar: ReturnType<typeof progressBar> | undefined;
            const { ingestWithScenes } = await import("../../app/index.ts");
            const { ingest: result, scenes } = await ingestWithScenes(strata, path, {
              rig: flags.rig,
              site: flags.site,
              region: flags.region,
              ...(flags.scenes ? { buildScenes: true } : {}),
              onProgress: (done, total) => {
                bar ??= progressBar(total, !options.json);
                bar.update(done, path);
              },
            });
            bar?.done();
            results.push(
              scenes.length > 0
                ? { ...result, sceneCount: scenes.reduce((n, s) => n + s.sceneCount, 0) }
                : result,
            );
            if (!options.json) {
              const verb = result.created ? "ingested" : "already ingested";
              process.stdout.write(
                `${verb} ${path} → ${result.captureId} (${result.format}, ${result.messageCount} messages, ${result.topics.length} topics)\n`,
              );
              for (const w of result.warnings) process.stdout.write(`warning: ${w}\n`);
            }
          }
          if (options.json) printJson(results);
        });
      },
    );

  const captures = program.command("captures").description("list and inspect ingested captures");
  common(captures.command("list"))
    .description("list captures, newest first")
    .option("--limit <n>", "at most this many", "100")
    .option("--site <site>")
    .option("--rig <rig>")
    .action(async (flags: { limit: string; site?: string; rig?: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { presentCapture } = await import("../../app/index.ts");
        const rows = (
          await strata.catalog.listCaptures({ limit: Number(flags.limit), site: flags.site, rig: flags.rig })
        ).map(presentCapture);
        if (options.json) return printJson(rows);
        process.stdout.write(
          `${table(rows, ["captureId", "format", "messageCount", "sizeBytes", "rig", "site", "status", "sourcePath"])}\n`,
        );
      });
    });
  common(captures.command("show"))
    .description("one capture with its files and per-topic statistics")
    .argument("<captureId>", "a capture id (cap_…) or a full SHA-256")
    .action(async (captureId: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { captureDetail } = await import("../../app/index.ts");
        const detail = await captureDetail(strata, captureId);
        if (options.json) return printJson(detail);
        process.stdout.write(
          `${detail.captureId}  ${detail.format}  ${detail.messageCount} messages  sha256 ${detail.sha256}\n`,
        );
        process.stdout.write(
          `${table(detail.topics, ["topic", "schemaName", "messageCount", "meanRateHz", "maxGapNs", "firstTimeNs", "lastTimeNs"])}\n`,
        );
      });
    });

  const runs = program.command("runs").description("lineage runs (every job Strata ran)");
  common(runs.command("list"))
    .description("list runs, newest first")
    .option("--limit <n>", "at most this many", "50")
    .option("--kind <kind>", "only runs of this kind (ingest, …)")
    .action(async (flags: { limit: string; kind?: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const rows = await strata.catalog.listRuns({ limit: Number(flags.limit), kind: flags.kind });
        if (options.json) return printJson(rows);
        process.stdout.write(
          `${table(rows as unknown as Record<string, unknown>[], ["runId", "kind", "status", "codeVersion", "startedAtNs", "endedAtNs"])}\n`,
        );
      });
    });

  const audit = program.command("audit").description("the hash-chained audit log");
  common(audit.command("list"))
    .description("list audit events (newest first) and verify the chain")
    .option("--limit <n>", "at most this many", "50")
    .action(async (flags: { limit: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const events = await strata.catalog.listAudit({ limit: Number(flags.limit), order: "desc" });
        const verification = await strata.catalog.verifyAuditChain();
        if (options.json) return printJson({ events, chain: verification });
        process.stdout.write(
          `${table(events as unknown as Record<string, unknown>[], ["seq", "atNs", "actor", "action", "target"])}\n`,
        );
        process.stdout.write(
          verification.ok
            ? `chain verified (${verification.eventCount} events)\n`
            : `CHAIN BROKEN at seq ${verification.seq}: ${verification.reason}\n`,
        );
      });
    });

  const token = program.command("token").description("API tokens for the HTTP API");
  common(token.command("create"))
    .description("create a token (the secret is printed once)")
    .addOption(
      new Option("--role <role>", "what the token may do")
        .choices(["viewer", "engineer", "steward", "admin"])
        .makeOptionMandatory(),
    )
    .option("--name <name>", "who or what uses it", "token")
    .action(
      async (
        flags: { role: "viewer" | "engineer" | "steward" | "admin"; name: string },
        command: Command,
      ) => {
        const options = opts(command);
        await withStrata(options, async (strata) => {
          const created = await strata.tokens.create(flags.name, flags.role);
          if (options.json) return printJson(created);
          process.stdout.write(
            `${created.token}\n(token ${created.tokenId}, role ${created.role}; store it now, it is not shown again)\n`,
          );
        });
      },
    );
  common(token.command("list"))
    .description("list tokens (never their secrets)")
    .action(async (_o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const rows = (await strata.catalog.listTokens()).map(({ tokenHash: _hash, ...rest }) => rest);
        if (options.json) return printJson(rows);
        process.stdout.write(`${table(rows, ["tokenId", "name", "role", "createdAtNs", "revokedAtNs"])}\n`);
      });
    });
  common(token.command("revoke"))
    .description("revoke a token")
    .argument("<tokenId>")
    .action(async (tokenId: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { tokenHash: _hash, ...revoked } = await strata.catalog.revokeToken(tokenId);
        if (options.json) return printJson(revoked);
        process.stdout.write(`revoked ${tokenId}\n`);
      });
    });

  common(program.command("serve"))
    .description("serve the HTTP API and web UI on 127.0.0.1")
    .option("--port <port>", "TCP port (0 = any free port)", "8080")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--demo", "on an empty home, generate and ingest the demo captures first")
    .action(async (flags: { port: string; host: string; demo?: boolean }, command: Command) => {
      const options = opts(command);
      const { createStrata, resolveConfig, prepareServe } = await import("../../app/index.ts");
      const { startServer } = await import("../../server/index.ts");
      const strata = await createStrata(resolveConfig({ home: options.home }));
      const prepared = await prepareServe(strata, {
        demo: flags.demo === true,
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const server = await startServer(strata, { host: flags.host, port: Number(flags.port) });
      if (options.json) printJson({ url: server.url, adminToken: prepared.newAdminToken ?? null });
      else {
        process.stdout.write(`Strata is serving ${server.url}  (API docs: ${server.url}/docs)\n`);
        if (prepared.newAdminToken)
          process.stdout.write(
            `Admin token (shown once, also saved in ${prepared.adminTokenFile}):\n  ${prepared.newAdminToken}\n`,
          );
        else process.stdout.write(`Admin token: see ${prepared.adminTokenFile}\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await server.close();
      await strata.close();
    });
}
