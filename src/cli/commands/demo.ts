/** `strata demo generate`: the deterministic synthetic capture generator (with a ground-truth sidecar). */
import { type Command, Option } from "commander";
import { printJson } from "../output.ts";
import { common, opts } from "../shared.ts";

interface DemoFlags {
  out: string;
  seconds: string;
  seed: string;
  format: "mcap" | "bag";
  faults?: string;
  night?: boolean;
  rain?: boolean;
}

export function registerDemoCommands(program: Command): void {
  const demo = program.command("demo").description("synthetic multi-sensor captures with ground truth");
  common(demo.command("generate"))
    .description("write a synthetic drive through a small town (MCAP or ROS 1 bag) and OUT.truth.json")
    .requiredOption("--out <path>", "the capture file to write")
    .option("--seconds <n>", "length of the drive", "60")
    .option("--seed <n>", "the same seed and arguments give byte-identical files", "1")
    .addOption(new Option("--format <format>", "container").choices(["mcap", "bag"]).default("mcap"))
    .option(
      "--faults <list>",
      "comma-separated: calib-drift,lidar-dropout,camera-skew,epoch0,duplicates,imu-bias,gps-jump",
    )
    .option("--night", "low light: darker camera exposure")
    .option("--rain", "lidar clutter from rain")
    .addHelpText(
      "after",
      "\nExample:\n  strata demo generate --out drive.mcap --seconds 30 --seed 7 --faults lidar-dropout,gps-jump\n",
    )
    .action(async (flags: DemoFlags, command: Command) => {
      const options = opts(command);
      const { generateDemoCapture } = await import("../../app/index.ts");
      const result = await generateDemoCapture({
        outPath: flags.out,
        seconds: Number(flags.seconds),
        seed: Number(flags.seed),
        format: flags.format,
        faults: flags.faults ? flags.faults.split(",").map((f) => f.trim()) : [],
        night: flags.night === true,
        rain: flags.rain === true,
      });
      if (options.json) return printJson(result);
      process.stdout.write(
        `wrote ${result.path} (${(result.bytes / 1e6).toFixed(1)} MB, ${result.messageCount} messages) and ${result.truthPath}\n`,
      );
    });
}
