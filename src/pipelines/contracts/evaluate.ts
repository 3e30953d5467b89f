/**
 * Checks one contract against a capture's measurements (from the QA pass). Pure: the caller supplies
 * the active ontology version and the schema comparison of each contracted topic. Every violation
 * names its rule, the topic (or frame/sensor), the measured value and the threshold.
 */
import { normalizeTypeName } from "../../formats/index.ts";
import { satisfies } from "../ontology/semver.ts";
import { tfComponents } from "../qa/probe-tf.ts";
import type { CaptureMeasurements } from "../qa/qa.ts";
import type { Contract, ContractCheck, ContractRule, ContractViolation } from "./types.ts";

export interface SchemaComparison {
  compatibility: "identical" | "compatible" | "breaking" | "unknown";
  /** Short description of the changes (e.g. "retyped Imu.x float64 → float32"). */
  summary: string;
  baselineHash: string;
  captureHash: string;
}

export interface EvaluateContext {
  /** The active ontology version (null when none is defined). */
  ontologyVersion: string | null;
  /** The capture's definition of a contracted topic against the contract's baseline; undefined when there is nothing to compare. */
  schemaOf?: (topic: string) => SchemaComparison | { skipped: string } | undefined;
}

const round = (v: number, digits = 3): number => Math.round(v * 10 ** digits) / 10 ** digits;

export function evaluateContract(
  contract: Contract,
  m: CaptureMeasurements,
  context: EvaluateContext,
): ContractCheck {
  const violations: ContractViolation[] = [];
  const skipped: ContractCheck["skipped"] = [];
  let rulesChecked = 0;
  const violate = (v: ContractViolation) => violations.push(v);
  const rule = () => rulesChecked++;

  for (const spec of contract.topics ?? []) {
    const topic = m.topics.get(spec.topic);
    const present = topic !== undefined && topic.timeline.count > 0;
    if (spec.required !== false) {
      rule();
      if (!present) {
        violate({
          rule: "topic.required",
          topic: spec.topic,
          measured: topic ? 0 : "absent",
          threshold: "≥ 1 message",
          unit: "messages",
          message: topic ? `${spec.topic} has no messages` : `${spec.topic} is missing`,
        });
        continue;
      }
    }
    if (!topic || !present) continue;
    if (spec.type !== undefined) {
      rule();
      if (normalizeTypeName(topic.schemaName) !== normalizeTypeName(spec.type))
        violate({
          rule: "topic.type",
          topic: spec.topic,
          measured: topic.schemaName || "(none)",
          threshold: spec.type,
          unit: "",
          message: `${spec.topic} is ${topic.schemaName || "schemaless"}, the contract wants ${spec.type}`,
        });
    }
    const tl = topic.timeline;
    if (spec.minRateHz !== undefined) {
      rule();
      if (tl.meanRateHz < spec.minRateHz)
        violate({
          rule: "topic.minRate",
          topic: spec.topic,
          measured: round(tl.meanRateHz),
          threshold: spec.minRateHz,
          unit: "Hz",
          message: `${spec.topic} averages ${tl.meanRateHz.toFixed(2)} Hz, below ${spec.minRateHz} Hz`,
        });
    }
    if (spec.maxRateHz !== undefined) {
      rule();
      if (tl.meanRateHz > spec.maxRateHz)
        violate({
          rule: "topic.maxRate",
          topic: spec.topic,
          measured: round(tl.meanRateHz),
          threshold: spec.maxRateHz,
          unit: "Hz",
          message: `${spec.topic} averages ${tl.meanRateHz.toFixed(2)} Hz, above ${spec.maxRateHz} Hz`,
        });
    }
    const maxGapMs = spec.maxGapMs ?? contract.defaults?.maxGapMs;
    if (maxGapMs !== undefined) {
      rule();
      const gapMs = Number(tl.maxGapNs) / 1e6;
      if (gapMs > maxGapMs)
        violate({
          rule: "topic.maxGap",
          topic: spec.topic,
          measured: round(gapMs),
          threshold: maxGapMs,
          unit: "ms",
          message: `${spec.topic} has a ${gapMs.toFixed(1)} ms gap, more than ${maxGapMs} ms`,
        });
    }
    const maxSkewMs = spec.maxStampSkewMs ?? contract.defaults?.maxStampSkewMs;
    if (maxSkewMs !== undefined) {
      if (!topic.stamps)
        skipped.push({ rule: "stamp.skew", topic: spec.topic, why: "no decoded header stamps" });
      else {
        rule();
        const skewMs = Number(topic.stamps.maxAbsSkewNs) / 1e6;
        if (skewMs > maxSkewMs)
          violate({
            rule: "stamp.skew",
            topic: spec.topic,
            measured: round(skewMs),
            threshold: maxSkewMs,
            unit: "ms",
            message: `${spec.topic}: |header.stamp − log time| reaches ${skewMs.toFixed(1)} ms (bound ${maxSkewMs} ms, ${topic.stamps.stamped} stamps checked)`,
          });
      }
    }
    const schemaPolicy = spec.schema ?? "compatible";
    if (schemaPolicy !== "any" && context.schemaOf) {
      const comparison = context.schemaOf(spec.topic);
      if (comparison === undefined)
        skipped.push({ rule: "schema.compatible", topic: spec.topic, why: "no baseline definition" });
      else if ("skipped" in comparison)
        skipped.push({ rule: "schema.compatible", topic: spec.topic, why: comparison.skipped });
      else {
        rule();
        const ok =
          comparison.compatibility === "identical" ||
          (schemaPolicy === "compatible" && comparison.compatibility === "compatible");
        if (!ok)
          violate({
            rule: "schema.compatible",
            topic: spec.topic,
            measured: comparison.summary.startsWith(comparison.compatibility)
              ? comparison.summary
              : `${comparison.compatibility}: ${comparison.summary}`,
            threshold: `${schemaPolicy} with ${comparison.baselineHash.slice(0, 12)}`,
            unit: "",
            message: `${spec.topic}: definition ${comparison.captureHash.slice(0, 12)} is ${comparison.compatibility} against the contract's ${comparison.baselineHash.slice(0, 12)} (${comparison.summary})`,
          });
      }
    }
  }

  // ---- frames
  const edges = m.tfEdges;
  const component = tfComponents(edges);
  const frames = new Set(edges.flatMap((e) => [e.parentFrame, e.childFrame]));
  const strip = (f: string) => f.replace(/^\//, "");
  const root = contract.frames?.root === undefined ? undefined : strip(contract.frames.root);
  for (const frame of contract.frames?.required ?? []) {
    rule();
    const f = strip(frame);
    if (!frames.has(f)) {
      violate({
        rule: "frames.required",
        topic: f,
        measured: "absent",
        threshold: "in the TF tree",
        unit: "",
        message: `frame ${f} does not appear in any transform`,
      });
      continue;
    }
    if (root !== undefined) {
      rule();
      if (component(f) !== component(root))
        violate({
          rule: "frames.connected",
          topic: f,
          measured: `not connected to ${root}`,
          threshold: `connected to ${root}`,
          unit: "",
          message: `frame ${f} is not connected to ${root} in the TF tree`,
        });
    }
  }
  for (const [a, b] of contract.frames?.connected ?? []) {
    rule();
    if (!frames.has(strip(a)) || !frames.has(strip(b)) || component(a) !== component(b))
      violate({
        rule: "frames.connected",
        topic: `${strip(a)}↔${strip(b)}`,
        measured: "disconnected",
        threshold: "connected",
        unit: "",
        message: `frames ${strip(a)} and ${strip(b)} are not connected in the TF tree`,
      });
  }

  // ---- calibration
  const staticComponent = tfComponents(edges.filter((e) => e.isStatic));
  for (const sensor of contract.calibration ?? []) {
    if (sensor.cameraInfoTopic !== undefined) {
      rule();
      const info = m.cameraInfos.find((c) => c.topic === sensor.cameraInfoTopic);
      const present = m.topics.get(sensor.cameraInfoTopic)?.timeline.count ?? 0;
      if (!info || !info.intrinsicsValid)
        violate({
          rule: "calibration.present",
          topic: sensor.sensor,
          measured: info
            ? "invalid intrinsics (fx, fy or size is 0)"
            : present > 0
              ? "camera_info not decoded"
              : "no camera_info",
          threshold: `valid camera_info on ${sensor.cameraInfoTopic}`,
          unit: "",
          message: `${sensor.sensor}: ${info ? "camera_info has zero focal length or size" : `no camera_info on ${sensor.cameraInfoTopic}`}`,
        });
    }
    if (sensor.frame !== undefined) {
      rule();
      const f = strip(sensor.frame);
      const hasStaticParent = edges.some((e) => e.isStatic && e.childFrame === f);
      const joined =
        root === undefined
          ? hasStaticParent
          : hasStaticParent && staticComponent(f) === staticComponent(root);
      if (!joined)
        violate({
          rule: "calibration.present",
          topic: sensor.sensor,
          measured: hasStaticParent ? `static chain does not reach ${root}` : "no static transform",
          threshold: root === undefined ? `/tf_static parent of ${f}` : `/tf_static chain ${root} → ${f}`,
          unit: "",
          message: `${sensor.sensor}: no extrinsic calibration for frame ${f}${root === undefined ? "" : ` to ${root}`}`,
        });
    }
  }

  // ---- cross-sensor sync
  for (const sync of contract.sync ?? []) {
    const [first, ...others] = sync.topics as [string, ...string[]];
    for (const other of others) {
      const label = sync.name ?? `${first}↔${other}`;
      const a = m.topics.get(first)?.stamps?.stamps;
      const b = m.topics.get(other)?.stamps?.stamps;
      if (!a || !b || a.length === 0 || b.length === 0) {
        skipped.push({
          rule: "sync.tolerance",
          topic: label,
          why: "no decoded header stamps on both topics",
        });
        continue;
      }
      rule();
      const worstMs = maxNearestDistanceNs(a, b) / 1e6;
      if (worstMs > sync.toleranceMs)
        violate({
          rule: "sync.tolerance",
          topic: label,
          measured: round(worstMs),
          threshold: sync.toleranceMs,
          unit: "ms",
          message: `${first} and ${other} are up to ${worstMs.toFixed(1)} ms apart (tolerance ${sync.toleranceMs} ms, ${a.length} stamps)`,
        });
    }
  }

  // ---- ontology
  if (contract.ontology) {
    rule();
    const active = context.ontologyVersion;
    if (active === null || !satisfies(active, contract.ontology.version))
      violate({
        rule: "ontology.version",
        topic: null,
        measured: active ?? "none",
        threshold: contract.ontology.version,
        unit: "",
        message: `the active ontology is ${active ?? "not defined"}, the contract needs ${contract.ontology.version}`,
      });
  }

  return {
    contract: contract.name,
    version: contract.version,
    passed: violations.length === 0,
    violations,
    rulesChecked,
    skipped,
  };
}

/**
 * max over a of min over b of |a − b| (both sorted), in ns. Stamps of `a` outside `b`'s range, or inside
 * a hole of `b` longer than 10 of its median intervals (between sampled windows), have no fair partner
 * and are left out.
 */
function maxNearestDistanceNs(a: BigInt64Array, b: BigInt64Array): number {
  const intervals: number[] = [];
  for (let k = 1; k < b.length; k++) intervals.push(Number((b[k] as bigint) - (b[k - 1] as bigint)));
  intervals.sort((x, y) => x - y);
  const holeNs = 10 * (intervals[intervals.length >> 1] ?? 0);
  const first = b[0] as bigint;
  const last = b[b.length - 1] as bigint;
  let j = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as bigint;
    if (b.length > 1 && (x < first || x > last)) continue;
    while (j + 1 < b.length && (b[j + 1] as bigint) <= x) j++;
    const left = b[j] as bigint;
    const right = b[j + 1];
    if (right !== undefined && holeNs > 0 && Number(right - left) > holeNs) continue;
    let best = abs(left - x);
    if (right !== undefined) {
      const next = abs(right - x);
      if (next < best) best = next;
    }
    const d = Number(best);
    if (d > worst) worst = d;
  }
  return worst;
}

const abs = (v: bigint): bigint => (v < 0n ? -v : v);

/** Topics whose header stamps a contract's sync rules need. */
export function syncTopicsOf(contracts: readonly Contract[]): Set<string> {
  return new Set(contracts.flatMap((c) => (c.sync ?? []).flatMap((s) => s.topics)));
}

export const CONTRACT_RULES: readonly ContractRule[] = [
  "topic.required",
  "topic.type",
  "topic.minRate",
  "topic.maxRate",
  "topic.maxGap",
  "stamp.skew",
  "schema.compatible",
  "frames.required",
  "frames.connected",
  "calibration.present",
  "sync.tolerance",
  "ontology.version",
];
