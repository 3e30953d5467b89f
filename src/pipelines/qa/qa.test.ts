import { describe, expect, it } from "vitest";
import { compressedImageSize } from "./decoded.ts";
import { planSampling } from "./plan.ts";
import { GpsProbe, PointCloudProbe } from "./probe-sensors.ts";
import { EventRuns } from "./runs.ts";
import { buildTimeline, timelineFindings } from "./timeline.ts";
import { DEFAULT_SAMPLING, DEFAULT_THRESHOLDS } from "./types.ts";

const MS = 1_000_000n;
const T0 = 1_700_000_000_000_000_000n;

describe("timeline checks", () => {
  it("finds a dropout with its window, and the rate windows around it", () => {
    // 10 Hz for 10 s, nothing in [4.0, 5.5) s.
    const times = Array.from({ length: 100 }, (_, i) => T0 + BigInt(i) * 100n * MS).filter(
      (t) => t < T0 + 4000n * MS || t >= T0 + 5500n * MS,
    );
    const tl = buildTimeline("/scan", BigInt64Array.from(times), DEFAULT_THRESHOLDS);
    expect(tl.periodic).toBe(true);
    expect(tl.medianPeriodNs).toBe(100e6);
    const findings = timelineFindings(tl, { startNs: T0, endNs: T0 + 9900n * MS }, DEFAULT_THRESHOLDS);
    const gaps = findings.filter((f) => f.check === "topic.gap");
    expect(gaps).toEqual([
      expect.objectContaining({
        startNs: T0 + 3900n * MS,
        endNs: T0 + 5500n * MS,
        measured: 1.6,
        threshold: 0.3,
        count: 15,
      }),
    ]);
    const rates = findings.filter((f) => f.check === "topic.rate");
    expect(rates.length).toBeGreaterThan(0);
    for (const r of rates) expect(r.startNs <= T0 + 5500n * MS && r.endNs >= T0 + 3900n * MS).toBe(true);
  });

  it("leaves irregular topics alone unless a rate is expected", () => {
    let t = T0;
    const times: bigint[] = [];
    for (let i = 0; i < 50; i++) {
      t += BigInt(((i * 7919) % 13) + 1) * 37n * MS;
      times.push(t);
    }
    const tl = buildTimeline("/events", BigInt64Array.from(times), DEFAULT_THRESHOLDS);
    expect(tl.periodic).toBe(false);
    expect(timelineFindings(tl, { startNs: times[0] as bigint, endNs: t }, DEFAULT_THRESHOLDS)).toEqual([]);
    expect(
      timelineFindings(tl, { startNs: times[0] as bigint, endNs: t }, DEFAULT_THRESHOLDS, { rateHz: 100 })
        .length,
    ).toBeGreaterThan(0);
  });

  it("flags a sensor that stops early", () => {
    const times = Array.from({ length: 50 }, (_, i) => T0 + BigInt(i) * 100n * MS);
    const tl = buildTimeline("/cam", BigInt64Array.from(times), DEFAULT_THRESHOLDS);
    const findings = timelineFindings(tl, { startNs: T0, endNs: T0 + 20_000n * MS }, DEFAULT_THRESHOLDS);
    expect(findings.find((f) => f.check === "topic.gap")).toMatchObject({
      startNs: T0 + 4900n * MS,
      endNs: T0 + 20_000n * MS,
    });
  });
});

describe("sampling plan", () => {
  const timelines = new Map([
    ["/imu", { count: 720_000 }],
    ["/tf_static", { count: 2 }],
    ["/empty", { count: 0 }],
  ]);
  it("reads small captures completely", () => {
    const plan = planSampling(
      { sizeBytes: 50e6, startNs: T0, endNs: T0 + 3600n * 1000n * MS },
      timelines,
      DEFAULT_SAMPLING,
    );
    expect(plan).toMatchObject({ mode: "full", fullTopics: ["/imu", "/tf_static"], sampledTopics: [] });
  });
  it("samples big captures in evenly spread windows, small topics completely", () => {
    const durationNs = 3600n * 1000n * MS;
    const plan = planSampling(
      { sizeBytes: 20e9, startNs: T0, endNs: T0 + durationNs },
      timelines,
      DEFAULT_SAMPLING,
    );
    expect(plan.mode).toBe("sampled");
    expect(plan.fullTopics).toEqual(["/tf_static"]);
    expect(plan.sampledTopics).toEqual(["/imu"]);
    expect(plan.windows).toHaveLength(DEFAULT_SAMPLING.windows);
    const covered = plan.windows.reduce((sum, w) => sum + Number(w.endNs - w.startNs), 0);
    expect(covered / Number(durationNs)).toBeCloseTo(DEFAULT_SAMPLING.sampleFraction, 3);
    const first = plan.windows[0] as { startNs: bigint };
    const last = plan.windows[plan.windows.length - 1] as { endNs: bigint };
    expect(first.startNs > T0 && last.endNs < T0 + durationNs).toBe(true);
  });
});

describe("decoded-message probes", () => {
  it("reads JPEG and PNG sizes from their headers", () => {
    const jpeg = Uint8Array.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x90, 0x02, 0x80,
      0x03,
    ]);
    expect(compressedImageSize(jpeg)).toEqual({ width: 640, height: 400 });
    const png = new Uint8Array(24);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    new DataView(png.buffer).setUint32(16, 1920);
    new DataView(png.buffer).setUint32(20, 1080);
    expect(compressedImageSize(png)).toEqual({ width: 1920, height: 1080 });
    expect(compressedImageSize(Uint8Array.from([1, 2, 3]))).toBeUndefined();
  });

  it("opens a GPS jump and closes it when the fix comes back", () => {
    const gps = new GpsProbe(DEFAULT_THRESHOLDS);
    const fix = (i: number, northM: number) =>
      gps.onMessage({
        topic: "/fix",
        type: "sensor_msgs/NavSatFix",
        logTimeNs: T0 + BigInt(i) * 100n * MS,
        data: new Uint8Array(),
        decoded: {
          status: { status: 0 },
          latitude: 48 + (i * 1 + northM) / 6_378_137 / (Math.PI / 180),
          longitude: 11,
        },
      });
    for (let i = 0; i < 30; i++) fix(i, i >= 10 && i < 15 ? 25 : 0);
    expect(gps.findings()).toEqual([
      expect.objectContaining({
        check: "gps.jump",
        startNs: T0 + 1000n * MS,
        endNs: T0 + 1400n * MS,
        count: 5,
      }),
    ]);
  });

  it("reports point cloud layout problems", () => {
    const clouds = new PointCloudProbe(16);
    clouds.onMessage({
      topic: "/points",
      type: "sensor_msgs/PointCloud2",
      logTimeNs: T0,
      data: new Uint8Array(),
      decoded: {
        width: 2,
        height: 1,
        point_step: 12,
        row_step: 24,
        is_dense: true,
        fields: [
          { name: "x", offset: 0, datatype: 7, count: 1 },
          { name: "y", offset: 2, datatype: 7, count: 1 },
          { name: "z", offset: 8, datatype: 8, count: 1 },
        ],
        data: new Uint8Array(20),
      },
    });
    const [finding] = clouds.findings();
    expect(finding?.check).toBe("pointcloud.layout");
    expect(String(finding?.measured)).toContain("field z [8, 16) exceeds point_step 12");
    expect(String(finding?.measured)).toContain("fields x and y overlap");
    expect(String(finding?.measured)).toContain("data is 20 bytes, row_step × height = 24");
  });

  it("groups per-message events into windows", () => {
    const runs = new EventRuns({ mergeGapNs: 1000n * MS });
    for (const ms of [0n, 100n, 200n, 5000n]) {
      runs.add({
        check: "stamp.epoch0",
        topic: "/imu",
        logTimeNs: T0 + ms * MS,
        score: 1,
        measured: 0,
        threshold: 0,
        unit: "ns",
        message: "zero",
      });
    }
    expect(runs.findings().map((f) => [f.startNs - T0, f.endNs - T0, f.count])).toEqual([
      [0n, 200n * MS, 3],
      [5000n * MS, 5000n * MS, 1],
    ]);
  });
});
