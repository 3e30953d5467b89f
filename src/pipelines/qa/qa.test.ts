import { describe, expect, it } from "vitest";
import {
  bufferSource,
  type ByteSource,
  createMcapWriter,
  openMcapReader,
  type LogReader,
} from "../../formats/index.ts";
import { type BlockSpan, mergeSpans, readBlockSpans } from "./blocks.ts";
import { compressedImageSize } from "./decoded.ts";
import { planSampling } from "./plan.ts";
import { runQa } from "./qa.ts";
import { GpsProbe, PointCloudProbe } from "./probe-sensors.ts";
import { EventRuns } from "./runs.ts";
import { buildTimeline, timelineFindings } from "./timeline.ts";
import { DEFAULT_SAMPLING, DEFAULT_THRESHOLDS, resolvePolicy, type SamplingPlan } from "./types.ts";

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

/** Blocks of `slotMs` from T0 whose last message lies `lastMs` after their first. */
function evenBlocks(count: number, slotMs: bigint, lastMs: bigint): BlockSpan[] {
  return Array.from({ length: count }, (_, i) => ({
    startNs: T0 + BigInt(i) * slotMs * MS,
    endNs: T0 + (BigInt(i) * slotMs + lastMs) * MS,
  }));
}

/** Blocks a window set reads: every block with a log time inside a window. */
function blocksTouched(windows: SamplingPlan["windows"], blocks: readonly BlockSpan[]): Set<number> {
  const out = new Set<number>();
  blocks.forEach((b, i) => {
    if (windows.some((w) => b.startNs <= w.endNs && b.endNs >= w.startNs)) out.add(i);
  });
  return out;
}

const coveredNs = (windows: SamplingPlan["windows"]): number =>
  windows.reduce((sum, w) => sum + Number(w.endNs - w.startNs + 1n), 0);

describe("sampling plan on chunk boundaries", () => {
  const durationNs = 100_000n * MS;
  const capture = { sizeBytes: 1e9, startNs: T0, endNs: T0 + durationNs - 1n };
  const timelines = new Map([["/imu", { count: 20_000 }]]);
  const budgetNs = Number(durationNs) * DEFAULT_SAMPLING.sampleFraction;

  it("covers the share with whole chunks instead of clipping neighbours", () => {
    // 250 chunks of 0.4 s; the plain 0.5 s windows each straddle two or three of them.
    const blocks = evenBlocks(250, 400n, 395n);
    const plain = planSampling(capture, timelines, DEFAULT_SAMPLING);
    const aligned = planSampling(capture, timelines, DEFAULT_SAMPLING, blocks);
    expect(aligned.why).toContain("on chunk boundaries");
    const touched = blocksTouched(aligned.windows, blocks);
    expect(touched.size).toBe(5);
    expect(blocksTouched(plain.windows, blocks).size).toBeGreaterThanOrEqual(8);
    // Whole chunks: every window starts at a chunk's first message and ends before the next chunk.
    const starts = new Set(blocks.map((b) => b.startNs));
    for (const w of aligned.windows) {
      expect(starts.has(w.startNs)).toBe(true);
      expect(starts.has(w.endNs + 1n) || w.endNs === capture.endNs).toBe(true);
    }
    expect(coveredNs(aligned.windows)).toBeGreaterThanOrEqual(0.99 * budgetNs);
    expect(coveredNs(aligned.windows)).toBeLessThanOrEqual(budgetNs + 1);
    // Still spread: each of the evenly spaced centres lies in a window.
    for (let i = 0; i < DEFAULT_SAMPLING.windows; i++) {
      const centerNs = T0 + BigInt(Math.round(((i + 0.5) / DEFAULT_SAMPLING.windows) * Number(durationNs)));
      expect(aligned.windows.some((w) => w.startNs <= centerNs && centerNs <= w.endNs)).toBe(true);
    }
  });

  it("leaves out the instant a chunk shares with its neighbour, so the neighbour is not read", () => {
    // Chunks whose last log time is the next chunk's first (messages of equal time split across them).
    const blocks = mergeSpans(evenBlocks(250, 400n, 400n));
    expect(blocks).toHaveLength(250);
    const aligned = planSampling(capture, timelines, DEFAULT_SAMPLING, blocks);
    expect(blocksTouched(aligned.windows, blocks).size).toBe(5);
    expect(coveredNs(aligned.windows)).toBeGreaterThanOrEqual(0.99 * budgetNs);
  });

  it("keeps a window inside a chunk longer than the window", () => {
    const blocks = evenBlocks(10, 10_000n, 9_990n);
    const aligned = planSampling(capture, timelines, DEFAULT_SAMPLING, blocks);
    expect(aligned.windows).toHaveLength(4);
    expect(blocksTouched(aligned.windows, blocks).size).toBe(4);
    expect(coveredNs(aligned.windows)).toBeGreaterThanOrEqual(0.99 * budgetNs);
  });

  it("decodes a chunk the small topics are read from instead of opening another", () => {
    const blocks = evenBlocks(250, 400n, 395n);
    const withStatic = new Map<string, { count: number; logTimesNs?: BigInt64Array }>([
      ["/imu", { count: 20_000 }],
      ["/tf_static", { count: 1, logTimesNs: BigInt64Array.from([T0 + 50n * MS]) }],
    ]);
    const aligned = planSampling(capture, withStatic, DEFAULT_SAMPLING, blocks);
    expect(aligned.fullTopics).toEqual(["/tf_static"]);
    const touched = blocksTouched(aligned.windows, blocks);
    expect(touched.has(0)).toBe(true);
    expect(touched.size).toBe(5);
  });

  it("falls back to plain windows when the chunks do not cover the window centres", () => {
    const blocks = evenBlocks(10, 400n, 395n);
    const plain = planSampling(capture, timelines, DEFAULT_SAMPLING);
    expect(planSampling(capture, timelines, DEFAULT_SAMPLING, blocks)).toEqual(plain);
    expect(planSampling(capture, timelines, DEFAULT_SAMPLING, [])).toEqual(plain);
  });
});

/** An in-memory MCAP: /imu at 100 Hz (JSON, ~1 KB each) in 16 KiB uncompressed chunks, one /tf_static. */
async function writeImuCapture(seconds: number, epoch0AtNs: bigint): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const writer = await createMcapWriter(
    {
      async write(bytes) {
        parts.push(bytes.slice());
      },
    },
    { profile: "", compression: "none", chunkSize: 16 * 1024 },
  );
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  const imuSchema = await writer.addSchema({
    name: "sensor_msgs/msg/Imu",
    encoding: "jsonschema",
    data: json({}),
  });
  const tfSchema = await writer.addSchema({
    name: "tf2_msgs/msg/TFMessage",
    encoding: "jsonschema",
    data: json({}),
  });
  const imu = await writer.addChannel({ topic: "/imu", schemaId: imuSchema, messageEncoding: "json" });
  const tf = await writer.addChannel({ topic: "/tf_static", schemaId: tfSchema, messageEncoding: "json" });
  await writer.addMessage({
    channelId: tf,
    logTimeNs: T0,
    data: json({
      transforms: [
        {
          header: { stamp: { sec: 0, nanosec: 0 }, frame_id: "base_link" },
          child_frame_id: "imu",
          transform: { translation: { x: 0, y: 0, z: 0 }, rotation: { x: 0, y: 0, z: 0, w: 1 } },
        },
      ],
    }),
  });
  const pad = "x".repeat(900);
  for (let i = 0; i < seconds * 100; i++) {
    const logTimeNs = T0 + BigInt(i) * 10n * MS;
    const stampNs = logTimeNs === epoch0AtNs ? 0n : logTimeNs;
    await writer.addMessage({
      channelId: imu,
      logTimeNs,
      data: json({
        header: {
          stamp: { sec: Number(stampNs / 1_000_000_000n), nanosec: Number(stampNs % 1_000_000_000n) },
          frame_id: "imu",
        },
        angular_velocity: { x: 0, y: 0, z: 0 },
        linear_acceleration: { x: 0, y: 0, z: 9.8 },
        pad,
      }),
    });
  }
  await writer.end();
  return Buffer.concat(parts);
}

/** Counts reads of at least `minBytes` (chunk loads; message indexes are far smaller). */
function countingSource(source: ByteSource, minBytes: bigint): { source: ByteSource; reads: () => number } {
  let reads = 0;
  return {
    source: {
      name: source.name,
      size: () => source.size(),
      async read(offset, length) {
        if (length >= minBytes) reads++;
        return source.read(offset, length);
      },
    },
    reads: () => reads,
  };
}

describe("sampled QA on a chunked capture", () => {
  it("decompresses only the chunks its plan names, and finds a fault inside a window", async () => {
    // 100 s; an epoch-0 stamp at 37.5 s, the centre of the second window.
    const faultNs = T0 + 37_500n * MS;
    const bytes = await writeImuCapture(100, faultNs);
    const counting = countingSource(bufferSource("imu.mcap", bytes), 8n * 1024n);
    const reader: LogReader = await openMcapReader(counting.source);
    const summary = await reader.summary();
    const blocks = (await readBlockSpans(reader)) ?? [];
    expect(blocks.length).toBeGreaterThan(50);
    const before = counting.reads();
    const { result } = await runQa({
      reader,
      summary,
      sizeBytes: bytes.byteLength,
      policy: resolvePolicy({ sampling: { fullReadMaxBytes: 0 } }),
    });
    const chunkReads = counting.reads() - before;
    await reader.close();
    expect(result.plan.mode).toBe("sampled");
    expect(result.plan.why).toContain("on chunk boundaries");
    // Each chunk a window (or /tf_static) needs is read once, no other.
    const needed = blocksTouched([...result.plan.windows, { startNs: T0, endNs: T0 }], blocks);
    expect(chunkReads).toBe(needed.size);
    const plainNeeded = blocksTouched(
      [
        ...planSampling(
          { sizeBytes: bytes.byteLength, startNs: T0, endNs: T0 + 99_990n * MS },
          new Map([
            ["/imu", { count: 10_000 }],
            ["/tf_static", { count: 1 }],
          ]),
          { ...DEFAULT_SAMPLING, fullReadMaxBytes: 0 },
        ).windows,
        { startNs: T0, endNs: T0 },
      ],
      blocks,
    );
    expect(chunkReads).toBeLessThan(plainNeeded.size);
    expect(result.coverage.decodedByTopic["/tf_static"]).toBe(1);
    expect(result.coverage.errors).toEqual([]);
    const epoch0 = result.reasons.filter((r) => r.check === "stamp.epoch0");
    expect(epoch0).toEqual([expect.objectContaining({ topic: "/imu", startNs: faultNs, endNs: faultNs })]);
    expect(result.plan.windows.some((w) => w.startNs <= faultNs && faultNs <= w.endNs)).toBe(true);
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
