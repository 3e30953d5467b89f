/**
 * Scene commands: `strata scenes build [CAPTURE]`, `strata scenes list CAPTURE`,
 * `strata scenes attach-vectors FILE.jsonl --embedder NAME`, `strata search 'QUERY'` and `strata mine`.
 * Thin over src/app/scenes.ts; the app (and LanceDB) load only when a command runs.
 */
import type { Command } from "commander";
import type { Strata } from "../../app/index.ts";
import { printJson, table } from "../output.ts";
import { type GlobalOptions, common, opts, withStrata } from "../shared.ts";

const QUERY_SUMMARY = `
Query (clauses joined by "and"; run \`strata search --syntax\` for the full language):
  FIELD OP VALUE        speedMaxMps > 10, accelMinMps2 < -4, site = depot_a, minTtcS != null
  tag:NAME              hard_brake stop near_miss cut_in crossing crossing:pedestrian overtake u_turn turn
                        night rain sensor_dropout window:event window:fixed qa:fail ...
  near:SCENE_ID k:N     the most similar scenes;  using:EMBEDDER for attached vectors
  within:(X, Y, Rm)     the ego trajectory passes within R metres of (X, Y)  heading:DEG±TOL
  graph:"PATTERN"       e.g. graph:"pedestrian crossing_path ego within 10m"
  limit:N  include:quarantined

Examples:
  strata search 'tag:hard_brake and graph:"car ahead_of ego"' --limit 5
  strata search 'tag:crossing:pedestrian and tag:night' --json
  strata search 'near:scn_0123456789abcdef' --limit 10 --explain
`;

async function withScenes<T>(
  options: GlobalOptions,
  fn: (strata: Strata, app: typeof import("../../app/index.ts")) => Promise<T>,
): Promise<T> {
  return withStrata(options, async (strata) => {
    const app = await import("../../app/index.ts");
    try {
      return await fn(strata, app);
    } finally {
      await app.closeSceneIndex(strata);
    }
  });
}

const isoOf = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();
const secsBetween = (startNs: bigint, endNs: bigint): number => Number(endNs - startNs) / 1e9;
const fixed = (value: number | null | undefined, digits = 2): string | null =>
  value === null || value === undefined ? null : value.toFixed(digits);

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
    return n;
  };
}

export function registerScenesCommands(program: Command): void {
  const scenes = program
    .command("scenes")
    .description("scenes: time windows of captures with features, tags, scene graphs and embeddings");

  common(scenes.command("build"))
    .description(
      "segment captures into scenes (fixed windows + windows at detected events), compute features, graphs and embeddings, and index them",
    )
    .argument(
      "[capture]",
      "a capture id (cap_…) or SHA-256; every ready and quarantined capture when omitted",
    )
    .addHelpText(
      "after",
      "\nRecords a lineage run `scenes` and an audit event per capture.\n\nExample:\n  strata scenes build cap_0123abcd\n",
    )
    .action(async (capture: string | undefined, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      await withScenes(options, async (strata, app) => {
        const outcomes = await app.buildScenes(strata, capture === undefined ? {} : { capture });
        if (options.json) return printJson(outcomes);
        if (outcomes.length === 0) {
          process.stdout.write("no captures to build scenes for (ingest one with `strata ingest FILE`)\n");
          return;
        }
        process.stdout.write(
          `${table(
            outcomes.map((o) => ({
              captureId: o.captureId,
              scenes: o.sceneCount,
              events: Object.entries(o.events)
                .map(([kind, n]) => `${kind}:${n}`)
                .join(" "),
              ego: o.egoSource,
              quarantined: o.quarantined,
              seconds: (o.durationMs / 1000).toFixed(1),
              run: o.runId,
            })),
            ["captureId", "scenes", "events", "ego", "quarantined", "seconds", "run"],
          )}\n`,
        );
        for (const o of outcomes)
          for (const w of o.warnings) process.stderr.write(`warning: ${o.captureId}: ${w}\n`);
      });
    });

  common(scenes.command("list"))
    .description("list a capture's scenes (from the catalog), in time order")
    .argument("<capture>", "a capture id (cap_…) or SHA-256")
    .action(async (capture: string, _flags: unknown, cmd: Command) => {
      const options = opts(cmd);
      await withScenes(options, async (strata, app) => {
        const rows = await app.listScenes(strata, capture);
        if (options.json) return printJson(rows);
        if (rows.length === 0) {
          process.stdout.write(
            `no scenes for ${capture} (build them with \`strata scenes build ${capture}\`)\n`,
          );
          return;
        }
        const originNs = rows.reduce((min, r) => (r.startNs < min ? r.startNs : min), rows[0]?.startNs ?? 0n);
        process.stdout.write(
          `${table(
            rows.map((r) => ({
              sceneId: r.sceneId,
              kind: r.kind,
              fromSecs: secsBetween(originNs, r.startNs).toFixed(1),
              toSecs: secsBetween(originNs, r.endNs).toFixed(1),
              speedMaxMps: fixed(r.features.speedMaxMps),
              accelMinMps2: fixed(r.features.accelMinMps2),
              nearestAgentM: fixed(r.features.nearestAgentM),
              tags: r.tags.filter((t) => !t.startsWith("window:")).join(" "),
            })),
            ["sceneId", "kind", "fromSecs", "toSecs", "speedMaxMps", "accelMinMps2", "nearestAgentM", "tags"],
          )}\n`,
        );
      });
    });

  common(scenes.command("attach-vectors"))
    .description(
      "bring your own model: attach vectors to scenes as a named vector set (JSON Lines of {sceneId, vector})",
    )
    .argument("<file>", 'a .jsonl file, one {"sceneId": "scn_…", "vector": [numbers]} per line')
    .requiredOption(
      "--embedder <name>",
      "name of the vector set (lowercase letters, digits, _); search it with `using:NAME`",
    )
    .action(async (file: string, flags: { embedder: string }, cmd: Command) => {
      const options = opts(cmd);
      await withScenes(options, async (strata, app) => {
        const result = await app.attachSceneVectors(strata, { file, embedder: flags.embedder });
        if (options.json) return printJson(result);
        process.stdout.write(
          `attached ${result.attached} vectors as "${result.embedder}" (search with \`near:SCENE using:${result.embedder}\`)\n`,
        );
      });
    });

  common(program.command("search"))
    .description(
      "search scenes: metadata filters, tags, vector similarity, spatial and scene-graph patterns in one query",
    )
    .argument("[query]", "the query (quote it)")
    .option("--limit <n>", "at most N scenes (overrides limit: in the query)", positiveInt("--limit"))
    .option("--explain", "also print the plan: which index filters first and estimated rows")
    .option("--include-quarantined", "also return scenes of quarantined captures")
    .option("--syntax", "print the query language and exit")
    .addHelpText("after", QUERY_SUMMARY)
    .action(
      async (
        query: string | undefined,
        flags: { limit?: number; explain?: boolean; includeQuarantined?: boolean; syntax?: boolean },
        cmd: Command,
      ) => {
        const options = opts(cmd);
        const app = await import("../../app/index.ts");
        if (flags.syntax || query === undefined) {
          if (options.json) return printJson({ syntax: app.SCENE_QUERY_HELP });
          process.stdout.write(app.SCENE_QUERY_HELP);
          return;
        }
        await withScenes(options, async (strata) => {
          const result = await app.searchScenes(strata, {
            query,
            ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
            includeQuarantined: flags.includeQuarantined === true,
            explain: flags.explain === true,
          });
          if (options.json) {
            return printJson({
              query: app.formatSceneQuery(result.plan),
              latencyMs: result.latencyMs,
              hits: result.hits,
              explain: result.explain,
            });
          }
          if (result.explain) process.stdout.write(`${app.formatSceneExplain(result.explain)}\n\n`);
          if (result.hits.length === 0) {
            process.stdout.write(`no scenes match (${result.latencyMs} ms)\n`);
            return;
          }
          process.stdout.write(
            `${table(
              result.hits.map((h) => ({
                sceneId: h.sceneId,
                captureId: h.captureId,
                start: isoOf(h.startNs),
                secs: secsBetween(h.startNs, h.endNs).toFixed(1),
                distance: h.distance === undefined ? null : h.distance.toFixed(4),
                tags: h.tags.filter((t) => !t.startsWith("window:")).join(" "),
              })),
              ["sceneId", "captureId", "start", "secs", "distance", "tags"],
            )}\n${result.hits.length} scenes in ${result.latencyMs} ms\n`,
          );
        });
      },
    );

  common(program.command("mine"))
    .description(
      "edge-case mining: rule miners (hard brake, near miss, cut-in, sensor dropout) and rarity (kNN distance in embedding space)",
    )
    .option("--top <n>", "the N highest-scoring scenes (default 20)", positiveInt("--top"))
    .option("--k <n>", "neighbours for rarity (default 10)", positiveInt("--k"))
    .option("--include-quarantined", "also mine scenes of quarantined captures")
    .option("--using <embedder>", "rarity in an attached vector set instead of the built-in embedding")
    .addHelpText(
      "after",
      "\nScore = number of rules met + rarity percentile (0..1).\n\nExample:\n  strata mine --top 10 --json\n",
    )
    .action(
      async (
        flags: { top?: number; k?: number; includeQuarantined?: boolean; using?: string },
        cmd: Command,
      ) => {
        const options = opts(cmd);
        await withScenes(options, async (strata, app) => {
          const mined = await app.mineScenes(strata, {
            ...(flags.top !== undefined ? { top: flags.top } : {}),
            ...(flags.k !== undefined ? { k: flags.k } : {}),
            ...(flags.using !== undefined ? { embedder: flags.using } : {}),
            includeQuarantined: flags.includeQuarantined === true,
          });
          if (options.json) return printJson(mined);
          if (mined.length === 0) {
            process.stdout.write(
              `no scenes to mine (none indexed${flags.includeQuarantined ? "" : ", or all from quarantined captures: add --include-quarantined"}; build them with \`strata scenes build\`)\n`,
            );
            return;
          }
          process.stdout.write(
            `${table(
              mined.map((m) => ({
                score: m.score.toFixed(3),
                sceneId: m.sceneId,
                captureId: m.captureId,
                start: isoOf(m.startNs),
                rules: m.rules.map((r) => r.rule).join(" "),
                rarity: fixed(m.rarity, 3),
                why: m.rules.map((r) => r.reason).join("; "),
              })),
              ["score", "sceneId", "captureId", "start", "rules", "rarity", "why"],
            )}\n`,
          );
        });
      },
    );
}
