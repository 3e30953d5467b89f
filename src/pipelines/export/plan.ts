/**
 * Window export, step 1: the plan. A plain object that says which capture, which inclusive time window,
 * which channels (with their schemas) and which output profile/compression an export will use. It is
 * built from the catalog row and the log's layout alone (no message is read), so `--explain` can print
 * it and tests can check it; `executeWindowExport` (window.ts) does the I/O.
 */
import type { CaptureRecord } from "../../catalog/index.ts";
import { NS_PER_SEC, StrataError, parseNs } from "../../core/index.ts";
import type { ChannelInfo, LogLayout, McapCompression, Ros1Compression } from "../../formats/index.ts";

/** `mcap`: an indexed, chunked MCAP file; `bag`: a ROS 1 bag v2.0 (ROS 1 data only). */
export type WindowExportFormat = "mcap" | "bag";

export interface WindowExportRequest {
  format: WindowExportFormat;
  /** Inclusive window start (default: the capture's first message). */
  startNs?: bigint;
  /** Inclusive window end (default: the capture's last message). */
  endNs?: bigint;
  /** Topics to keep (default: all). Unknown names are a usage error. */
  topics?: readonly string[];
  /** Where the file is written (through `<outPath>.tmp`, renamed when complete). */
  outPath: string;
  /** MCAP: zstd (default), lz4 or none. Bag: none (default) or lz4. */
  compression?: McapCompression | Ros1Compression;
  /**
   * Also write, for each selected latched topic (ROS 1 `latching=1`, ROS 2 transient-local durability,
   * or `/tf_static`), its last message before the window, at its own log time, so the window replays with
   * static transforms and maps in place (default false: exactly the window's messages).
   */
  includeLatched?: boolean;
}

export interface PlannedChannel {
  /** Channel id in the source log (as `LogReader.messages()` reports it). */
  sourceChannelId: number;
  topic: string;
  messageEncoding: string;
  schemaName: string;
  /** `ros2msg`, `ros1msg`, `ros2idl`, … ("" without schema). */
  schemaEncoding: string;
  /** Source schema id, 0 without schema. */
  sourceSchemaId: number;
}

export interface WindowExportPlan {
  format: WindowExportFormat;
  capture: { captureId: string; sha256: string; format: string };
  /** Inclusive bounds, ns since the epoch. */
  window: { startNs: bigint; endNs: bigint };
  /** Selected topics, sorted; `allTopics` when no filter applies. */
  topics: string[];
  allTopics: boolean;
  channels: PlannedChannel[];
  /** Latched topics whose last message before the window is written too (empty unless asked). */
  latchedTopics: string[];
  output: {
    path: string;
    /** MCAP header profile (`ros2` for CDR data, `ros1` for ROS 1 data); `ros1` for bags. */
    profile: string;
    compression: McapCompression | Ros1Compression;
  };
  /** How the source layout was read (`summary`: MCAP summary section only, independent of file size). */
  layoutSource: LogLayout["source"];
}

const MCAP_COMPRESSIONS: readonly string[] = ["zstd", "lz4", "none"];
const BAG_COMPRESSIONS: readonly string[] = ["none", "lz4"];

/**
 * Parses a window bound: decimal ns since the epoch, or `+DURATION` relative to the capture's start
 * (`+12.5s`, `+300ms`, `+42ns`; a bare `+N` is seconds).
 */
export function parseWindowBound(text: string, captureStartNs: bigint | null): bigint {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith("+")) {
      if (captureStartNs === null) {
        throw new StrataError("STRATA_E_USAGE", `cannot place ${trimmed}: the capture has no messages`);
      }
      const offset = trimmed.slice(1);
      return captureStartNs + (/^\d+(\.\d+)?$/.test(offset) ? parseNs(`${offset}s`) : parseNs(offset));
    }
    return parseNs(trimmed);
  } catch (error) {
    if (error instanceof StrataError) throw error;
    throw new StrataError(
      "STRATA_E_USAGE",
      `not a time: ${JSON.stringify(text)}`,
      {},
      { hint: "Give ns since the epoch (1700000000000000000) or an offset from the capture start (+10s)." },
    );
  }
}

/** Builds the plan; throws STRATA_E_USAGE / STRATA_E_UNSUPPORTED for requests that cannot be met. */
export function planWindowExport(
  capture: CaptureRecord,
  layout: LogLayout,
  request: WindowExportRequest,
): WindowExportPlan {
  const startNs = request.startNs ?? capture.startNs ?? 0n;
  const endNs = request.endNs ?? capture.endNs ?? startNs;
  if (endNs < startNs) {
    throw new StrataError("STRATA_E_USAGE", `the window ends (${endNs}) before it starts (${startNs})`);
  }
  const known = [...new Set(layout.channels.map((c) => c.topic))].sort();
  let topics = known;
  if (request.topics && request.topics.length > 0) {
    const wanted = [...new Set(request.topics)].sort();
    const unknown = wanted.filter((t) => !known.includes(t));
    if (unknown.length > 0) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `capture ${capture.captureId} has no topic ${unknown.join(", ")}`,
        { topic: unknown[0] },
        { hint: `Its topics: ${known.join(", ")}` },
      );
    }
    topics = wanted;
  }
  const selected = new Set(topics);
  const schemaById = new Map(layout.schemas.map((s) => [s.id, s]));
  const channels: PlannedChannel[] = layout.channels
    .filter((c) => selected.has(c.topic))
    .map((c) => ({
      sourceChannelId: c.id,
      topic: c.topic,
      messageEncoding: c.messageEncoding,
      schemaName: c.schemaName,
      schemaEncoding: schemaById.get(c.schemaId)?.encoding ?? "",
      sourceSchemaId: c.schemaId,
    }));

  const encodings = new Set(channels.map((c) => c.messageEncoding));
  let profile: string;
  let compression: McapCompression | Ros1Compression;
  if (request.format === "bag") {
    const foreign = channels.filter((c) => c.messageEncoding !== "ros1");
    if (foreign.length > 0) {
      throw new StrataError(
        "STRATA_E_UNSUPPORTED",
        `a ROS 1 bag holds ROS 1 messages only; ${foreign.map((c) => `${c.topic} (${c.messageEncoding})`).join(", ")} ${foreign.length === 1 ? "is" : "are"} not`,
        { topic: foreign[0]?.topic },
        { hint: "Leave those topics out with --topics, or export them with `strata export mcap`." },
      );
    }
    profile = "ros1";
    compression = request.compression ?? "none";
    if (!BAG_COMPRESSIONS.includes(compression)) {
      throw new StrataError("STRATA_E_USAGE", `bag compression must be none or lz4, not ${compression}`);
    }
  } else {
    profile =
      encodings.size === 1 && encodings.has("cdr")
        ? "ros2"
        : encodings.size === 1 && encodings.has("ros1")
          ? "ros1"
          : layout.format === "mcap"
            ? layout.profile
            : "";
    compression = request.compression ?? "zstd";
    if (!MCAP_COMPRESSIONS.includes(compression)) {
      throw new StrataError(
        "STRATA_E_USAGE",
        `MCAP compression must be zstd, lz4 or none, not ${compression}`,
      );
    }
  }
  return {
    format: request.format,
    capture: { captureId: capture.captureId, sha256: capture.sha256, format: capture.format },
    window: { startNs, endNs },
    topics,
    allTopics: topics.length === known.length,
    channels,
    latchedTopics: request.includeLatched
      ? [
          ...new Set(
            layout.channels.filter((c) => selected.has(c.topic) && isLatched(c)).map((c) => c.topic),
          ),
        ].sort()
      : [],
    output: { path: request.outPath, profile, compression },
    layoutSource: layout.source,
  };
}

/** The plan as JSON (ns as decimal strings), for `--explain` and lineage params. */
export function describeWindowPlan(plan: WindowExportPlan): Record<string, unknown> {
  return {
    format: plan.format,
    capture: plan.capture,
    window: {
      startNs: plan.window.startNs.toString(),
      endNs: plan.window.endNs.toString(),
      durationSecs: Number(plan.window.endNs - plan.window.startNs) / Number(NS_PER_SEC),
    },
    topics: plan.topics,
    allTopics: plan.allTopics,
    channels: plan.channels,
    latchedTopics: plan.latchedTopics,
    output: plan.output,
    layoutSource: plan.layoutSource,
  };
}

/** A topic whose subscribers get the last message on connect (ROS 1 latching, ROS 2 transient local). */
export function isLatched(channel: ChannelInfo): boolean {
  if (channel.metadata.latching === "1") return true;
  const qos = channel.metadata.offered_qos_profiles ?? "";
  if (/durability:\s*(1|transient_local)\b/.test(qos)) return true;
  return channel.topic === "/tf_static";
}
