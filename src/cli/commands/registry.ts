/** The spatial registry commands: `strata calib …` (calibrations, drift) and `strata traj …` (trajectories, metrics). */
import { writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { printJson, table } from "../output.ts";
import { common, type GlobalOptions, opts, withStrata } from "../shared.ts";

const ALIGN_MODES = ["none", "se3", "sim3", "scale", "origin"] as const;
const RELATIONS = ["trans", "angle_deg", "angle_rad", "rot", "full"] as const;
const TRAJECTORY_FORMATS = ["tum", "kitti", "euroc"] as const;

type AlignMode = (typeof ALIGN_MODES)[number];
type Relation = (typeof RELATIONS)[number];
type TrajectoryFormat = (typeof TRAJECTORY_FORMATS)[number];

async function usage(message: string): Promise<never> {
  const { StrataError } = await import("../../core/index.ts");
  throw new StrataError("STRATA_E_USAGE", message);
}

/** A number option (`undefined` when absent); a usage error when it is not a number in range. */
async function numberOption(
  value: string | undefined,
  name: string,
  min = Number.NEGATIVE_INFINITY,
): Promise<number | undefined> {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min)
    return await usage(
      `${name} must be a number${min > Number.NEGATIVE_INFINITY ? ` ≥ ${min}` : ""}, got "${value}"`,
    );
  return n;
}

const ns = (value: bigint | null | undefined): string =>
  value === null || value === undefined ? "-" : value.toString();

export function registerRegistryCommands(program: Command): void {
  registerCalibCommands(program);
  registerTrajCommands(program);
}

function registerCalibCommands(program: Command): void {
  const calib = program
    .command("calib")
    .description("camera/rig calibrations: import, versions per rig, diff, accept, drift");

  common(calib.command("import"))
    .description(
      "import a ROS camera_info YAML or a Kalibr camchain / camchain-imucam YAML as a version of a rig",
    )
    .argument("<file>", "calibration YAML (a `%YAML:1.0` first line is accepted)")
    .requiredOption("--rig <rig>", "the rig the calibration belongs to")
    .option("--imu-frame <frame>", "frame name of the IMU in Kalibr extrinsics", "imu0")
    .addHelpText("after", "\nExample:\n  strata calib import camchain-imucam.yaml --rig car-7 --json\n")
    .action(async (file: string, flags: { rig: string; imuFrame: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { importCalibration } = await import("../../app/index.ts");
        const result = await importCalibration(strata, file, { rig: flags.rig, imuFrame: flags.imuFrame });
        if (options.json) return printJson(result);
        const what = result.versionCreated
          ? `version ${result.version} of rig ${result.rig}`
          : `already version ${result.version} of rig ${result.rig}`;
        process.stdout.write(
          `${result.calibrationId}: ${what} (${result.cameras} cameras, ${result.extrinsics} extrinsics)\n`,
        );
      });
    });

  common(calib.command("list"))
    .description("calibration versions per rig")
    .option("--rig <rig>", "only this rig")
    .action(async (flags: { rig?: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { listCalibrations } = await import("../../app/index.ts");
        const rows = await listCalibrations(strata, flags.rig !== undefined ? { rig: flags.rig } : {});
        if (options.json) return printJson(rows);
        process.stdout.write(
          `${table(
            rows.map((r) => ({ ...r, accepted: r.accepted ? `yes (${r.acceptedBy})` : "no" })),
            [
              "rig",
              "version",
              "calibrationId",
              "source",
              "cameraCount",
              "extrinsicCount",
              "accepted",
              "recordedAtNs",
            ],
          )}\n`,
        );
      });
    });

  common(calib.command("show"))
    .description("one calibration: cameras (model, size, K, D) and extrinsics, its rig versions and captures")
    .argument("<id>", "a calibration id (cal_…), its SHA-256, or a capture id (the capture's calibration)")
    .action(async (id: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { showCalibration } = await import("../../app/index.ts");
        const detail = await showCalibration(strata, id);
        if (options.json) return printJson(detail);
        process.stdout.write(
          `${detail.calibrationId}  source ${detail.source} ${detail.sourceRef ?? ""}  sha256 ${detail.contentSha256}\n`,
        );
        process.stdout.write(
          `${table(
            detail.body.cameras.map((c) => ({
              camera: c.cameraName,
              model: c.model,
              size: `${c.width}x${c.height}`,
              K: c.K,
              D: c.D,
            })),
            ["camera", "model", "size", "K", "D"],
          )}\n`,
        );
        process.stdout.write(
          `${table(
            detail.body.extrinsics.map((e) => ({
              parent: e.parentFrame,
              child: e.childFrame,
              translation: e.translation,
              rotation: e.rotation,
            })),
            ["parent", "child", "translation", "rotation"],
          )}\n`,
        );
        for (const v of detail.versions)
          process.stdout.write(
            `rig ${v.rig} version ${v.version}${v.accepted ? ` accepted by ${v.acceptedBy}` : ""}\n`,
          );
        if (detail.captures.length > 0) process.stdout.write(`captures: ${detail.captures.join(", ")}\n`);
      });
    });

  common(calib.command("diff"))
    .description(
      "compare two calibrations: intrinsics field by field, extrinsics as rotation/translation deltas",
    )
    .argument("<a>", "calibration id or capture id")
    .argument("<b>", "calibration id or capture id")
    .option("--max-rotation-deg <deg>", "flag rotation deltas above this", "0.5")
    .option("--max-translation-m <m>", "flag translation deltas above this", "0.02")
    .action(
      async (
        a: string,
        b: string,
        flags: { maxRotationDeg: string; maxTranslationM: string },
        command: Command,
      ) => {
        const options = opts(command);
        const maxRotationDeg = await numberOption(flags.maxRotationDeg, "--max-rotation-deg", 0);
        const maxTranslationM = await numberOption(flags.maxTranslationM, "--max-translation-m", 0);
        await withStrata(options, async (strata) => {
          const { diffCalibration } = await import("../../app/index.ts");
          const diff = await diffCalibration(strata, a, b, { maxRotationDeg, maxTranslationM });
          if (options.json) return printJson(diff);
          process.stdout.write(`${diff.a} → ${diff.b}: ${diff.differs ? "differ" : "same"}\n`);
          for (const c of diff.cameras) {
            process.stdout.write(`camera ${c.cameraName}: ${c.status}\n`);
            for (const change of c.changes)
              process.stdout.write(
                `  ${change.field}: ${JSON.stringify(change.a)} → ${JSON.stringify(change.b)}\n`,
              );
          }
          process.stdout.write(
            `${table(
              diff.extrinsics.deltas.map((d) => ({ ...d, flagged: d.drifted ? "DRIFT" : "" })),
              ["parentFrame", "childFrame", "rotationDeg", "translationM", "flagged"],
            )}\n`,
          );
          for (const e of diff.extrinsics.onlyInA)
            process.stdout.write(`only in ${diff.a}: ${e.parentFrame} → ${e.childFrame}\n`);
          for (const e of diff.extrinsics.onlyInB)
            process.stdout.write(`only in ${diff.b}: ${e.parentFrame} → ${e.childFrame}\n`);
        });
      },
    );

  common(calib.command("accept"))
    .description(
      "accept a calibration as its rig's reference (later captures are checked for drift against it)",
    )
    .argument("<id>", "calibration id, or a capture id (its calibration)")
    .option("--rig <rig>", "the rig (needed when the calibration is a version of several rigs)")
    .action(async (id: string, flags: { rig?: string }, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { acceptCalibration } = await import("../../app/index.ts");
        const accepted = await acceptCalibration(
          strata,
          id,
          flags.rig !== undefined ? { rig: flags.rig } : {},
        );
        if (options.json) return printJson(accepted);
        process.stdout.write(
          `accepted ${accepted.calibrationId} as version ${accepted.version} of rig ${accepted.rig}\n`,
        );
      });
    });

  common(calib.command("drift"))
    .description(
      "calibration drift flagged on a capture (within the capture, and against the rig's accepted calibration)",
    )
    .argument("<capture>", "capture id or SHA-256")
    .action(async (capture: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { captureDrift } = await import("../../app/index.ts");
        const result = await captureDrift(strata, capture);
        if (options.json) return printJson(result);
        process.stdout.write(
          `${result.captureId}: calibration ${result.calibrationId ?? "-"}, ${result.drift.length} drift events\n`,
        );
        if (result.drift.length > 0)
          process.stdout.write(
            `${table(
              result.drift.map((d) => ({ ...d, atNs: ns(d.atNs) })),
              ["kind", "parentFrame", "frame", "atNs", "rotationDeg", "translationM"],
            )}\n`,
          );
      });
    });
}

interface MetricFlags {
  ref: string;
  est: string;
  refFormat?: TrajectoryFormat;
  estFormat?: TrajectoryFormat;
  refTopic?: string;
  estTopic?: string;
  align: AlignMode;
  relation: Relation;
  delta?: string;
  deltaUnit?: "frames" | "meters";
  tMaxDiff: string;
  tOffset?: string;
}

function metricCommand(traj: Command, metric: "ape" | "rpe"): void {
  const command = common(traj.command(metric))
    .description(
      metric === "ape"
        ? "absolute pose error of an estimate against a reference (evo_ape conventions)"
        : "relative pose error of an estimate against a reference (evo_rpe conventions)",
    )
    .requiredOption(
      "--ref <src>",
      "reference: a trajectory file, a log (bag / MCAP / ROS 2 bag dir) with --ref-topic, or a capture id",
    )
    .requiredOption("--est <src>", "estimate: same kinds as --ref")
    .addOption(
      new Option(
        "--ref-format <format>",
        "format of a reference trajectory file (default: euroc for .csv, else tum)",
      ).choices(TRAJECTORY_FORMATS),
    )
    .addOption(
      new Option("--est-format <format>", "format of an estimate trajectory file").choices(
        TRAJECTORY_FORMATS,
      ),
    )
    .option(
      "--ref-topic <topic>",
      "pose topic of a reference log (or `/tf:parent.child`), or a stored source of a capture",
    )
    .option("--est-topic <topic>", "pose topic of an estimate log, or a stored source of a capture")
    .addOption(
      new Option("--align <mode>", "alignment of the estimate onto the reference")
        .choices(ALIGN_MODES)
        .default("none"),
    )
    .addOption(
      new Option("--relation <relation>", "which part of the pose error").choices(RELATIONS).default("trans"),
    )
    .option("--t-max-diff <secs>", "largest time difference of associated poses", "0.01")
    .option("--t-offset <secs>", "added to the estimate's stamps before association");
  if (metric === "rpe") {
    command
      .option("--delta <n>", "pair distance", "1")
      .addOption(
        new Option("--delta-unit <unit>", "unit of --delta").choices(["frames", "meters"]).default("frames"),
      );
  }
  command
    .addHelpText(
      "after",
      `\nExamples:\n  strata traj ${metric} --ref gt.txt --est slam.txt --align se3 --json\n  strata traj ${metric} --ref run.bag --ref-topic groundtruth --est run.bag --est-topic ORB-SLAM --align sim3\n`,
    )
    .action(async (flags: MetricFlags, cmd: Command) => {
      const options = opts(cmd);
      const maxDiffSecs = await numberOption(flags.tMaxDiff, "--t-max-diff", 0);
      const offsetSecs = await numberOption(flags.tOffset, "--t-offset");
      const delta = await numberOption(flags.delta, "--delta", 0);
      const app = await import("../../app/index.ts");
      const refSpec = { src: flags.ref, format: flags.refFormat, topic: flags.refTopic };
      const estSpec = { src: flags.est, format: flags.estFormat, topic: flags.estTopic };
      const kinds = await Promise.all([
        app.trajectorySourceKind(flags.ref),
        app.trajectorySourceKind(flags.est),
      ]);
      const run = async (host?: Parameters<typeof app.loadTrajectory>[1]) => {
        const ref = await app.loadTrajectory(refSpec, host);
        const est = await app.loadTrajectory(estSpec, host);
        return app.evaluateTrajectories(metric, ref.trajectory, est.trajectory, {
          align: flags.align,
          relation: flags.relation,
          ...(maxDiffSecs !== undefined ? { maxDiffSecs } : {}),
          ...(offsetSecs !== undefined ? { offsetSecs } : {}),
          ...(delta !== undefined ? { delta } : {}),
          ...(flags.deltaUnit ? { deltaUnit: flags.deltaUnit } : {}),
        });
      };
      const result = kinds.includes("capture")
        ? await withStrata(options, (strata) => run(strata))
        : await run();
      if (options.json) return printJson(result);
      printMetric(metric, flags.relation, result);
    });
}

function printMetric(
  metric: string,
  relation: string,
  r: {
    pairs: number;
    rmse: number;
    mean: number;
    median: number;
    std: number;
    min: number;
    max: number;
    sse: number;
    scale?: number;
  },
): void {
  process.stdout.write(`${metric.toUpperCase()} w.r.t. ${relation} (${r.pairs} pairs)\n`);
  if (r.scale !== undefined) process.stdout.write(`  scale  ${r.scale}\n`);
  for (const key of ["max", "mean", "median", "min", "rmse", "sse", "std"] as const)
    process.stdout.write(`  ${key.padEnd(6)} ${r[key]}\n`);
}

function registerTrajCommands(program: Command): void {
  const traj = program.command("traj").description("ego-motion trajectories: list, export, ATE/RPE metrics");

  common(traj.command("list"))
    .description("the trajectories stored for a capture (primary first)")
    .argument("<capture>", "capture id or SHA-256")
    .action(async (capture: string, _o, command: Command) => {
      const options = opts(command);
      await withStrata(options, async (strata) => {
        const { captureTrajectories } = await import("../../app/index.ts");
        const rows = await captureTrajectories(strata, capture);
        if (options.json) return printJson(rows);
        process.stdout.write(
          `${table(rows as unknown as Record<string, unknown>[], ["source", "frame", "childFrame", "primary", "poseCount", "lengthM", "startNs", "endNs"])}\n`,
        );
      });
    });

  common(traj.command("export"))
    .description("write a stored trajectory of a capture as TUM or KITTI text")
    .argument("<capture>", "capture id or SHA-256")
    .option(
      "--frame <frame>",
      "the trajectory in this fixed frame (odom, map, enu, …); default the primary one",
    )
    .option(
      "--source <source>",
      "the trajectory from this source (e.g. odom:/odom, gps:/gps/fix, or a topic)",
    )
    .addOption(
      new Option("--format <format>", "output format").choices(["tum", "kitti"]).makeOptionMandatory(),
    )
    .option("--out <file>", "write here instead of stdout")
    .action(
      async (
        capture: string,
        flags: { frame?: string; source?: string; format: "tum" | "kitti"; out?: string },
        command: Command,
      ) => {
        const options: GlobalOptions = opts(command);
        await withStrata(options, async (strata) => {
          const { exportTrajectory } = await import("../../app/index.ts");
          const exported = await exportTrajectory(strata, capture, {
            format: flags.format,
            ...(flags.frame !== undefined ? { frame: flags.frame } : {}),
            ...(flags.source !== undefined ? { source: flags.source } : {}),
          });
          if (flags.out !== undefined) {
            await writeFile(flags.out, exported.text);
            const { meta: _meta, ...info } = exported.trajectory;
            if (options.json) return printJson({ out: flags.out, format: flags.format, ...info });
            process.stdout.write(
              `wrote ${exported.trajectory.poseCount} poses (${exported.trajectory.source} in ${exported.trajectory.frame}) to ${flags.out}\n`,
            );
            return;
          }
          if (options.json)
            return printJson({ format: flags.format, ...exported.trajectory, text: exported.text });
          process.stdout.write(exported.text);
        });
      },
    );

  metricCommand(traj, "ape");
  metricCommand(traj, "rpe");

  common(traj.command("metrics"))
    .description(
      "compute ATE (APE translation) and RPE of a capture's trajectory against a reference and store them on the capture",
    )
    .argument("<capture>", "capture id or SHA-256")
    .requiredOption("--ref <src>", "reference: a trajectory file, a log with --ref-topic, or a capture id")
    .addOption(
      new Option("--ref-format <format>", "format of a reference trajectory file").choices(
        TRAJECTORY_FORMATS,
      ),
    )
    .option("--ref-topic <topic>", "pose topic of a reference log, or a stored source of a reference capture")
    .option("--est-source <source>", "which stored trajectory of the capture (default: its primary one)")
    .addOption(new Option("--align <mode>", "alignment for the ATE").choices(ALIGN_MODES).default("se3"))
    .option("--delta <n>", "RPE pair distance", "1")
    .addOption(
      new Option("--delta-unit <unit>", "unit of --delta").choices(["frames", "meters"]).default("frames"),
    )
    .option("--t-max-diff <secs>", "largest time difference of associated poses", "0.01")
    .action(
      async (
        capture: string,
        flags: {
          ref: string;
          refFormat?: TrajectoryFormat;
          refTopic?: string;
          estSource?: string;
          align: AlignMode;
          delta: string;
          deltaUnit: "frames" | "meters";
          tMaxDiff: string;
        },
        command: Command,
      ) => {
        const options = opts(command);
        const delta = await numberOption(flags.delta, "--delta", 0);
        const maxDiffSecs = await numberOption(flags.tMaxDiff, "--t-max-diff", 0);
        await withStrata(options, async (strata) => {
          const { computeCaptureMetrics } = await import("../../app/index.ts");
          const record = await computeCaptureMetrics(strata, capture, {
            ref: { src: flags.ref, format: flags.refFormat, topic: flags.refTopic },
            align: flags.align,
            deltaUnit: flags.deltaUnit,
            ...(flags.estSource !== undefined ? { estimateSource: flags.estSource } : {}),
            ...(delta !== undefined ? { delta } : {}),
            ...(maxDiffSecs !== undefined ? { maxDiffSecs } : {}),
          });
          if (options.json) return printJson(record);
          process.stdout.write(
            `${record.captureId} (${record.estimateSource}) vs ${record.reference}: ATE RMSE ${record.ape.rmse} m (${record.ape.pairs} pairs, align ${record.align}), RPE RMSE ${record.rpe.rmse} m\n`,
          );
        });
      },
    );

  common(traj.command("query"))
    .description("captures by stored trajectory metrics (best ATE first)")
    .option("--max-ape <m>", "ATE RMSE at most")
    .option("--min-ape <m>", "ATE RMSE at least")
    .option("--max-rpe <m>", "RPE RMSE at most")
    .option("--min-rpe <m>", "RPE RMSE at least")
    .option("--capture <capture>", "only this capture")
    .option("--limit <n>", "at most this many", "100")
    .action(
      async (
        flags: {
          maxApe?: string;
          minApe?: string;
          maxRpe?: string;
          minRpe?: string;
          capture?: string;
          limit: string;
        },
        command: Command,
      ) => {
        const options = opts(command);
        const filter = {
          maxApeRmse: await numberOption(flags.maxApe, "--max-ape"),
          minApeRmse: await numberOption(flags.minApe, "--min-ape"),
          maxRpeRmse: await numberOption(flags.maxRpe, "--max-rpe"),
          minRpeRmse: await numberOption(flags.minRpe, "--min-rpe"),
          limit: await numberOption(flags.limit, "--limit", 1),
          ...(flags.capture !== undefined ? { captureId: flags.capture } : {}),
        };
        await withStrata(options, async (strata) => {
          const { queryCaptureMetrics } = await import("../../app/index.ts");
          const rows = await queryCaptureMetrics(strata, filter);
          if (options.json) return printJson(rows);
          process.stdout.write(
            `${table(
              rows.map((r) => ({ ...r, apeRmse: r.ape.rmse, rpeRmse: r.rpe.rmse })),
              ["captureId", "estimateSource", "reference", "align", "apeRmse", "rpeRmse"],
            )}\n`,
          );
        });
      },
    );
}
