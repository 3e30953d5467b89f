/**
 * NaN/Inf in decoded numeric fields, and the class labels messages carry (`class_name`, `label`, …) for
 * the ontology's drift report. Byte and integer arrays are skipped (no NaN there); point cloud payloads
 * are checked by the point cloud probe. Fields where REP 117/145 give NaN/Inf a meaning are exempt.
 */
import { EventRuns, type Finding } from "./runs.ts";
import type { ScanMessage } from "./scan-types.ts";

/** Fields (top-level names) allowed to be NaN/Inf, by type. */
const EXEMPT: Record<string, readonly string[]> = {
  "sensor_msgs/NavSatFix": ["altitude"],
  "sensor_msgs/LaserScan": ["ranges", "intensities"],
  "sensor_msgs/MultiEchoLaserScan": ["ranges", "intensities"],
  "sensor_msgs/Range": ["range"],
  "sensor_msgs/PointCloud2": ["data"],
};

const LABEL_KEYS = new Set(["class_name", "label", "class_label", "category"]);
const MAX_DEPTH = 8;
const MAX_LABELS_PER_TOPIC = 1000;

export class NonFiniteProbe {
  readonly #events = new EventRuns();
  readonly #labels = new Map<string, Map<string, number>>();

  onMessage(m: ScanMessage): void {
    if (m.decoded === undefined || m.decoded === null || typeof m.decoded !== "object") return;
    const exempt = EXEMPT[m.type];
    let bad = 0;
    let firstPath = "";
    let labels: Map<string, number> | undefined;
    const visit = (value: unknown, path: string, depth: number): void => {
      if (typeof value === "number") {
        if (!Number.isFinite(value)) {
          if (bad === 0) firstPath = path;
          bad++;
        }
        return;
      }
      if (value === null || typeof value !== "object" || depth > MAX_DEPTH) return;
      if (value instanceof Float64Array || value instanceof Float32Array) {
        for (let i = 0; i < value.length; i++) {
          if (!Number.isFinite(value[i] as number)) {
            if (bad === 0) firstPath = `${path}[${i}]`;
            bad++;
          }
        }
        return;
      }
      if (ArrayBuffer.isView(value)) return;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) visit(value[i], `${path}[${i}]`, depth + 1);
        return;
      }
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        if (depth === 0 && exempt?.includes(key)) continue;
        if (typeof child === "string" && LABEL_KEYS.has(key) && child !== "") {
          labels ??= this.#labelsOf(m.topic);
          if (labels.has(child) || labels.size < MAX_LABELS_PER_TOPIC)
            labels.set(child, (labels.get(child) ?? 0) + 1);
          continue;
        }
        visit(child, path === "" ? key : `${path}.${key}`, depth + 1);
      }
    };
    visit(m.decoded, "", 0);
    if (bad > 0) {
      this.#events.add({
        check: "data.nonFinite",
        topic: m.topic,
        logTimeNs: m.logTimeNs,
        score: bad,
        measured: bad,
        threshold: 0,
        unit: "values",
        message: `${bad} NaN/Inf value${bad === 1 ? "" : "s"} (first at ${firstPath})`,
      });
    }
  }

  #labelsOf(topic: string): Map<string, number> {
    let labels = this.#labels.get(topic);
    if (!labels) {
      labels = new Map();
      this.#labels.set(topic, labels);
    }
    return labels;
  }

  findings(): Finding[] {
    return this.#events.findings();
  }

  /** Label → count per topic. */
  labels(): Map<string, Map<string, number>> {
    return this.#labels;
  }
}
