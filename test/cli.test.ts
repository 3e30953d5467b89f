import { copyFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtures, json, strata, tempDir } from "./helpers.ts";

interface InfoJson {
  format: string;
  path: string;
  sizeBytes: number;
  startTimeNs: string;
  endTimeNs: string;
  messageCount: number;
  topics: {
    topic: string;
    schemaName: string;
    messageEncoding: string;
    messageCount: number;
    firstTimeNs: string;
    lastTimeNs: string;
  }[];
  warnings: string[];
}
interface IngestJson {
  captureId: string;
  sha256: string;
  created: boolean;
  format: string;
  messageCount: number;
  topics: InfoJson["topics"];
}

describe("strata CLI", () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ dir: home, cleanup } = tempDir());
  });
  afterAll(() => cleanup());

  it("info reads a ROS 1 bag without ingesting it", () => {
    const info = json<InfoJson>(strata(["info", path.join(fixtures, "ros1/example.bag"), "--json"], home));
    expect(info.format).toBe("ros1");
    expect(info.messageCount).toBe(8647);
    expect(info.startTimeNs).toBe("1396293887844783943");
    expect(info.endTimeNs).toBe("1396293909544870199");
    expect(info.topics.find((t) => t.topic === "/tf")?.messageCount).toBe(2688);
    const captures = json<unknown[]>(strata(["captures", "list", "--json"], home));
    expect(captures).toEqual([]);
  });

  it("ingests once: the same bytes twice are one capture", () => {
    const file = path.join(fixtures, "rosbag2/rosbag2_cpp/bags/topics_and_services.mcap");
    const [first] = json<IngestJson[]>(
      strata(["ingest", file, "--site", "lab", "--rig", "r1", "--json"], home),
    );
    expect(first?.created).toBe(true);
    expect(first?.format).toBe("mcap");
    expect(first?.messageCount).toBe(13);
    expect(first?.topics.find((t) => t.topic === "/parameter_events")?.messageCount).toBe(7);
    const [second] = json<IngestJson[]>(strata(["ingest", file, "--json"], home));
    expect(second?.created).toBe(false);
    expect(second?.captureId).toBe(first?.captureId);
    const captures = json<{ captureId: string; site: string }[]>(
      strata(["captures", "list", "--json"], home),
    );
    expect(captures).toHaveLength(1);
    expect(captures[0]?.site).toBe("lab");
    const shown = json<{ files: unknown[]; topics: { topic: string; meanRateHz: number }[] }>(
      strata(["captures", "show", first?.captureId ?? "", "--json"], home),
    );
    expect(shown.files).toHaveLength(1);
    expect(shown.topics.map((t) => t.topic)).toContain("/add_two_ints/_service_event");
  });

  it("ingests a ROS 2 bag directory as one capture", () => {
    const dir = path.join(fixtures, "rosbag2/rosbag2_py/sqlite3/talker");
    const [result] = json<IngestJson[]>(strata(["ingest", dir, "--json"], home));
    expect(result?.format).toBe("ros2");
    expect(result?.messageCount).toBe(20);
    const shown = json<{ files: { pathInCapture: string }[] }>(
      strata(["captures", "show", result?.captureId ?? "", "--json"], home),
    );
    expect(shown.files.map((f) => f.pathInCapture)).toContain("metadata.yaml");
  });

  it("records lineage runs and audit events for ingests", () => {
    const runs = json<{ kind: string; status: string; codeVersion: string }[]>(
      strata(["runs", "list", "--json"], home),
    );
    expect(runs.filter((r) => r.kind === "ingest" && r.status === "completed").length).toBeGreaterThanOrEqual(
      2,
    );
    expect(runs[0]?.codeVersion).toMatch(/^strata@/);
    const audit = json<{ events: { action: string }[]; chain: { ok: boolean } }>(
      strata(["audit", "list", "--json"], home),
    );
    expect(audit.chain.ok).toBe(true);
    expect(audit.events.some((e) => e.action === "capture.ingest")).toBe(true);
  });

  it("gives coded errors for a 0-byte file, random bytes and a missing file", () => {
    const { dir, cleanup: done } = tempDir();
    try {
      copyFileSync(path.join(fixtures, "ros1/empty-file.bag"), path.join(dir, "empty.bag"));
      writeFileSync(
        path.join(dir, "random.mcap"),
        Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)),
      );
      const cases: [string, string][] = [
        [path.join(dir, "empty.bag"), "STRATA_E_EMPTY_FILE"],
        [path.join(dir, "random.mcap"), "STRATA_E_UNKNOWN_FORMAT"],
        [path.join(dir, "missing.mcap"), "STRATA_E_FILE_NOT_FOUND"],
      ];
      for (const [file, code] of cases) {
        for (const command of ["info", "ingest"]) {
          const result = strata([command, file, "--json"], home);
          expect(result.status, `${command} ${file}`).not.toBe(0);
          const error = JSON.parse(result.stderr.trim().split("\n").pop() ?? "{}") as {
            error: { code: string; message: string; hint: string };
          };
          expect(error.error.code).toBe(code);
          expect(error.error.message).toContain(path.basename(file));
          expect(error.error.hint.length).toBeGreaterThan(0);
          expect(result.stderr).not.toMatch(/\n\s+at /);
        }
      }
      const human = strata(["info", path.join(dir, "empty.bag")], home);
      expect(human.stderr).toContain("STRATA_E_EMPTY_FILE");
    } finally {
      done();
    }
  });

  it("answers usage errors with a code and --help with a lesson", () => {
    const bad = strata(["captures", "show", "--json"], home);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("STRATA_E_USAGE");
    const help = strata(["ingest", "--help"], home);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Example:");
  });
});
