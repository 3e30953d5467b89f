import { describe, expect, it } from "vitest";
import {
  buildTimeline,
  type CaptureMeasurements,
  DEFAULT_THRESHOLDS,
  type TopicMeasurement,
} from "../qa/index.ts";
import { evaluateContract } from "./evaluate.ts";
import { contractJsonSchema, parseContract } from "./parse.ts";

const CONTRACT = `
apiVersion: strata/v1
kind: DataContract
name: rig-a
version: 1.0.0
appliesTo: { rigs: [rig-a] }
defaults: { maxStampSkewMs: 20 }
topics:
  - { topic: /imu, type: sensor_msgs/msg/Imu, minRateHz: 98, maxRateHz: 105, maxGapMs: 30 }
  - { topic: /cam, type: sensor_msgs/Image }
  - { topic: /radar, required: true }
frames: { root: base_link, required: [base_link, imu, cam] }
calibration:
  - { sensor: cam, cameraInfoTopic: /cam/info, frame: cam }
sync:
  - { topics: [/cam, /imu], toleranceMs: 5 }
ontology: { version: ^2.0.0 }
`;

const SEC = 1_000_000_000n;
const T0 = 1_700_000_000n * SEC;

function topic(name: string, type: string, times: bigint[], stamps?: bigint[]): TopicMeasurement {
  const m: TopicMeasurement = {
    topic: name,
    type,
    schemaName: type,
    timeline: buildTimeline(name, BigInt64Array.from(times), DEFAULT_THRESHOLDS),
    decoded: times.length,
  };
  if (stamps) {
    let maxAbsSkewNs = 0n;
    times.forEach((t, i) => {
      const d = (stamps[i] as bigint) - t;
      const a = d < 0n ? -d : d;
      if (a > maxAbsSkewNs) maxAbsSkewNs = a;
    });
    m.stamps = {
      stamped: stamps.length,
      maxAbsSkewNs,
      maxAbsSkewAtNs: T0,
      medianSkewMs: 0,
      frameIds: [],
      stamps: BigInt64Array.from(stamps).sort(),
    };
  }
  return m;
}

function measurements(): CaptureMeasurements {
  // /imu at 100 Hz for 2 s with one 50 ms gap; /cam at 10 Hz, 30 ms late stamps.
  const imu = Array.from({ length: 200 }, (_, i) => T0 + BigInt(i) * 10_000_000n).filter(
    (_, i) => i < 100 || i > 104,
  );
  const cam = Array.from({ length: 20 }, (_, i) => T0 + BigInt(i) * 100_000_000n + 3_000_000n);
  return {
    startNs: T0,
    endNs: T0 + 2n * SEC,
    topics: new Map([
      ["/imu", topic("/imu", "sensor_msgs/Imu", imu, imu)],
      [
        "/cam",
        topic(
          "/cam",
          "sensor_msgs/Image",
          cam,
          cam.map((t) => t + 30_000_000n),
        ),
      ],
    ]),
    tfEdges: [
      { parentFrame: "base_link", childFrame: "imu", isStatic: true },
      { parentFrame: "odom", childFrame: "cam", isStatic: false },
    ],
    staticTfTopic: "/tf_static",
    cameraInfos: [
      { topic: "/cam/info", frameId: "cam", width: 0, height: 0, intrinsicsValid: false, messages: 3 },
    ],
    labels: new Map(),
    plan: { mode: "full", why: "test", windows: [], fullTopics: [], sampledTopics: [] },
  };
}

describe("contracts", () => {
  it("publishes a draft 2020-12 JSON Schema", () => {
    const schema = contractJsonSchema();
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect((schema.required as string[]).sort()).toEqual(["apiVersion", "kind", "name", "version"]);
  });

  it("rejects documents that break the schema, naming every path", () => {
    const bad = CONTRACT.replace("version: 1.0.0", "version: '1.0'").replace("minRateHz: 98", "minRate: 98");
    expect(() => parseContract(bad, "bad.yaml")).toThrow(
      /bad\.yaml does not match the contract schema: \/version: must match pattern .*\/topics\/0: unknown property "minRate"/,
    );
    expect(() => parseContract(CONTRACT.replace("maxRateHz: 105", "maxRateHz: 50"))).toThrow(
      /minRateHz 98 > maxRateHz 50/,
    );
    expect(() => parseContract(CONTRACT.replace("^2.0.0", "two"))).toThrow(/not a version range/);
  });

  it("names rule, topic, measured value and threshold for every violation", () => {
    const contract = parseContract(CONTRACT);
    const check = evaluateContract(contract, measurements(), { ontologyVersion: "1.4.0" });
    expect(check.passed).toBe(false);
    const byRule = (rule: string) => check.violations.filter((v) => v.rule === rule);
    expect(byRule("topic.maxGap")).toEqual([
      expect.objectContaining({ topic: "/imu", measured: 60, threshold: 30, unit: "ms" }),
    ]);
    // 195 messages over 1.99 s.
    expect(byRule("topic.minRate")).toEqual([
      expect.objectContaining({ topic: "/imu", measured: 97.487, threshold: 98, unit: "Hz" }),
    ]);
    expect(byRule("topic.required")).toEqual([
      expect.objectContaining({ topic: "/radar", measured: "absent" }),
    ]);
    expect(byRule("stamp.skew")).toEqual([
      expect.objectContaining({ topic: "/cam", measured: 30, threshold: 20 }),
    ]);
    expect(byRule("frames.required")).toEqual([]);
    expect(byRule("frames.connected")).toEqual([
      expect.objectContaining({ topic: "cam", measured: "not connected to base_link" }),
    ]);
    expect(byRule("calibration.present").map((v) => v.measured)).toEqual([
      "invalid intrinsics (fx, fy or size is 0)",
      "no static transform",
    ]);
    // /cam stamps fall 3 ms off the 10 ms /imu grid, except at 1.033 s, inside the /imu gap (1.00 … 1.05 s): 17 ms.
    expect(byRule("sync.tolerance")).toEqual([
      expect.objectContaining({ topic: "/cam↔/imu", measured: 17, threshold: 5 }),
    ]);
    expect(byRule("ontology.version")).toEqual([
      expect.objectContaining({ measured: "1.4.0", threshold: "^2.0.0" }),
    ]);
    expect(byRule("topic.type")).toEqual([]);
  });

  it("passes a capture that meets it", () => {
    const contract = parseContract(`
apiVersion: strata/v1
kind: DataContract
name: loose
version: 0.1.0
topics:
  - { topic: /imu, type: sensor_msgs/Imu, minRateHz: 90, maxGapMs: 100, maxStampSkewMs: 1 }
frames: { required: [imu] }
`);
    const check = evaluateContract(contract, measurements(), { ontologyVersion: null });
    expect(check).toMatchObject({ passed: true, violations: [], rulesChecked: 6 });
  });
});
