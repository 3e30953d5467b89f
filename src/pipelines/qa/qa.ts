/**
 * One QA pass over an open capture: index-level timelines of every message, a sampling plan, one
 * decoding scan through the probes, then reasons and a verdict. It also returns the measurements
 * contracts are checked against, so QA and contracts share one read.
 */
import { type LogReader, type LogSummary, normalizeTypeName } from "../../formats/index.ts";
import { readBlockSpans } from "./blocks.ts";
import { planSampling } from "./plan.ts";
import { DuplicateProbe, StampProbe, type TopicStampSummary } from "./probe-stamps.ts";
import { type CameraInfoSummary, GpsProbe, ImageProbe, ImuProbe, PointCloudProbe } from "./probe-sensors.ts";
import { type TfEdge, TfProbe } from "./probe-tf.ts";
import { NonFiniteProbe } from "./probe-values.ts";
import type { Finding } from "./runs.ts";
import type { ScanMessage } from "./scan-types.ts";
import { readTimelines, type TopicTimeline, timelineFindings } from "./timeline.ts";
import type { QaCheck, QaCoverage, QaPolicy, QaReason, QaResult, SamplingPlan, Verdict } from "./types.ts";

/** A change of a fixed transform, from the registry or from /tf_static within the capture. */
export interface CalibrationChange {
  /** e.g. `within-capture`, `vs-accepted` (registry kinds). */
  kind?: string;
  frame: string;
  parentFrame: string;
  atNs: bigint;
  rotationDeg: number;
  translationM: number;
}

export interface TopicMeasurement {
  topic: string;
  /** Normalised `pkg/Type`. */
  type: string;
  /** As written in the file. */
  schemaName: string;
  timeline: TopicTimeline;
  /** Header-stamp statistics of the decoded messages (topics with a std_msgs/Header). */
  stamps?: TopicStampSummary;
  decoded: number;
}

/** What contracts are checked against. */
export interface CaptureMeasurements {
  startNs: bigint | null;
  endNs: bigint | null;
  topics: Map<string, TopicMeasurement>;
  tfEdges: TfEdge[];
  staticTfTopic: string | undefined;
  cameraInfos: CameraInfoSummary[];
  /** Class labels seen in messages: topic → label → count. */
  labels: Map<string, Map<string, number>>;
  plan: SamplingPlan;
}

export interface RunQaInput {
  reader: LogReader;
  summary: LogSummary;
  /** Stored size of the capture (decides full vs sampled reading). */
  sizeBytes: number;
  policy: QaPolicy;
  /** Topics whose header stamps are kept for cross-sensor sync checks (contracts). */
  keepStampsFor?: Iterable<string>;
  /** Nominal rates from a contract, by topic (otherwise measured). */
  expectedRateHz?: ReadonlyMap<string, number>;
  /** Calibration changes the registry found; when given, /tf_static is not re-examined for drift. */
  registryDrift?: readonly CalibrationChange[];
  /** Sorted log times per topic when the caller has them (ingest's statistics); else read from the index. */
  logTimesByTopic?: ReadonlyMap<string, BigInt64Array>;
}

export async function runQa(
  input: RunQaInput,
): Promise<{ result: QaResult; measurements: CaptureMeasurements }> {
  const { reader, summary, policy } = input;
  const t = policy.thresholds;
  const timelines = await readTimelines(reader, summary, t, input.logTimesByTopic);
  let startNs: bigint | null = null;
  let endNs: bigint | null = null;
  let messagesIndexed = 0;
  for (const tl of timelines.values()) {
    messagesIndexed += tl.count;
    if (tl.firstNs !== null && (startNs === null || tl.firstNs < startNs)) startNs = tl.firstNs;
    if (tl.lastNs !== null && (endNs === null || tl.lastNs > endNs)) endNs = tl.lastNs;
  }
  const capture = { sizeBytes: input.sizeBytes, startNs, endNs };
  let plan = planSampling(capture, timelines, policy.sampling);
  if (plan.mode === "sampled") {
    // Only a sampled read needs the chunk layout (one more read of the message indexes).
    const blocks = await readBlockSpans(reader);
    if (blocks) plan = planSampling(capture, timelines, policy.sampling, blocks);
  }

  const typeOfTopic = new Map<string, { type: string; schemaName: string }>();
  for (const topic of summary.topics)
    typeOfTopic.set(topic.topic, { type: normalizeTypeName(topic.schemaName), schemaName: topic.schemaName });
  const originNs = startNs ?? 0n;
  const stamps = new StampProbe(originNs, new Set(input.keepStampsFor ?? []));
  const duplicates = new DuplicateProbe();
  const values = new NonFiniteProbe();
  const images = new ImageProbe();
  const clouds = new PointCloudProbe(policy.sampling.pointsPerCloud);
  const imu = new ImuProbe(originNs, t);
  const gps = new GpsProbe(t);
  const tf = new TfProbe(t);
  const probes = [stamps, duplicates, values, images, clouds, imu, gps, tf];
  const decodedByTopic: Record<string, number> = {};
  let messagesDecoded = 0;
  const scanErrors: string[] = [];

  const pass = async (query: { topics?: string[]; startNs?: bigint; endNs?: bigint }): Promise<void> => {
    try {
      for await (const message of reader.messages({ ...query, decode: true })) {
        const type = typeOfTopic.get(message.topic)?.type ?? "";
        const m: ScanMessage = {
          topic: message.topic,
          type,
          logTimeNs: message.logTimeNs,
          data: message.data,
          decoded: message.decoded,
        };
        for (const probe of probes) probe.onMessage(m);
        if (message.decoded !== undefined) {
          messagesDecoded++;
          decodedByTopic[message.topic] = (decodedByTopic[message.topic] ?? 0) + 1;
        }
      }
    } catch (error) {
      scanErrors.push((error as Error).message);
    }
  };
  if (plan.mode === "full") await pass({});
  else if (startNs !== null && endNs !== null) {
    // One walk in log-time order: the windows read every topic, the stretches between them only the
    // small topics, so no chunk is decompressed twice (plan windows are sorted and disjoint).
    const everyTopic = [...plan.fullTopics, ...plan.sampledTopics];
    let gapStartNs = startNs;
    for (const w of plan.windows) {
      if (plan.fullTopics.length > 0 && gapStartNs < w.startNs)
        await pass({ topics: plan.fullTopics, startNs: gapStartNs, endNs: w.startNs - 1n });
      await pass({ topics: everyTopic, startNs: w.startNs, endNs: w.endNs });
      gapStartNs = w.endNs + 1n;
    }
    if (plan.fullTopics.length > 0 && gapStartNs <= endNs)
      await pass({ topics: plan.fullTopics, startNs: gapStartNs, endNs });
  }

  // ---- findings
  const findings: Finding[] = [];
  const captureRange = startNs !== null && endNs !== null ? { startNs, endNs } : undefined;
  if (captureRange) {
    for (const tl of timelines.values()) {
      const rateHz = input.expectedRateHz?.get(tl.topic);
      findings.push(...timelineFindings(tl, captureRange, t, rateHz === undefined ? undefined : { rateHz }));
    }
  }
  findings.push(...stamps.findings(t.maxSkewJitterMs), ...duplicates.findings(), ...values.findings());
  findings.push(...images.findings(), ...clouds.findings(), ...gps.findings());
  const edges = tf.edges();
  findings.push(
    ...imu.findings({
      thresholds: t,
      baseFromImu: (frameId) =>
        edges.find((e) => e.isStatic && e.childFrame === frameId.replace(/^\//, ""))?.rotation,
    }),
  );
  const driftSource: QaResult["driftSource"] = input.registryDrift
    ? "registry"
    : tf.staticMessages > 0
      ? "tf_static"
      : "none";
  const drift: readonly CalibrationChange[] = input.registryDrift ?? tf.staticChanges();
  const driftTopic = tf.staticTopic ?? "/tf_static";
  for (const change of drift) {
    const rotationOver = change.rotationDeg > t.driftRotationDeg;
    findings.push({
      check: "calibration.drift",
      topic: driftTopic,
      startNs: change.atNs,
      endNs: endNs ?? change.atNs,
      measured: round(rotationOver ? change.rotationDeg : change.translationM, 6),
      threshold: rotationOver ? t.driftRotationDeg : t.driftTranslationM,
      unit: rotationOver ? "deg" : "m",
      count: 1,
      message: `extrinsic ${change.parentFrame} ← ${change.frame} changed by ${change.rotationDeg.toFixed(3)}° and ${change.translationM.toFixed(4)} m${change.kind === undefined ? "" : ` (${change.kind})`}`,
    });
  }

  const reasons: QaReason[] = [];
  for (const f of findings) {
    const severity = policy.severity[f.check];
    if (severity === "off") continue;
    reasons.push({ ...f, severity });
  }
  reasons.sort((a, b) =>
    a.startNs < b.startNs
      ? -1
      : a.startNs > b.startNs
        ? 1
        : a.check.localeCompare(b.check) || a.topic.localeCompare(b.topic),
  );
  const verdict: Verdict = reasons.some((r) => r.severity === "fail")
    ? "fail"
    : reasons.some((r) => r.severity === "warn")
      ? "warn"
      : "pass";

  const types = new Set([...typeOfTopic.values()].map((v) => v.type));
  const notApplicable: QaCheck[] = [];
  if (!types.has("sensor_msgs/Imu")) notApplicable.push("imu.saturation", "imu.biasJump");
  else if (!imu.hasOdometry) notApplicable.push("imu.biasJump");
  if (!types.has("sensor_msgs/NavSatFix")) notApplicable.push("gps.jump");
  if (!types.has("sensor_msgs/CameraInfo")) notApplicable.push("image.size");
  if (!types.has("sensor_msgs/PointCloud2")) notApplicable.push("pointcloud.layout");
  if (driftSource === "none") notApplicable.push("calibration.drift");
  const coverage: QaCoverage = {
    messagesIndexed,
    messagesDecoded,
    decodedByTopic,
    notApplicable,
    errors: scanErrors,
  };

  const stampSummaries = stamps.summaries();
  const measuredTopics = new Map<string, TopicMeasurement>();
  for (const [topic, timeline] of timelines) {
    const info = typeOfTopic.get(topic);
    const m: TopicMeasurement = {
      topic,
      type: info?.type ?? "",
      schemaName: info?.schemaName ?? "",
      timeline,
      decoded: decodedByTopic[topic] ?? 0,
    };
    const s = stampSummaries.get(topic);
    if (s) m.stamps = s;
    measuredTopics.set(topic, m);
  }
  return {
    result: { verdict, reasons, plan, coverage, policy, driftSource },
    measurements: {
      startNs,
      endNs,
      topics: measuredTopics,
      tfEdges: edges,
      staticTfTopic: tf.staticTopic,
      cameraInfos: images.cameraInfos(),
      labels: values.labels(),
      plan,
    },
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
