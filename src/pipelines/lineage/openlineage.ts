/**
 * OpenLineage (spec 2-0-2) RunEvents for Strata runs: START at the run's start, then COMPLETE or FAIL at
 * its end. Jobs live in namespace `strata` and are named by run kind; datasets live in
 * `strata://<instance>` and are named `capture/<sha256>`, `dataset/<versionId>`, `blob/<sha256>` (raw
 * files) or `file:<path>`. Robotics metadata travels in the custom dataset facet `strata_robotics`
 * (topics, time window, rig, site, calibration version, QA verdict), Strata's run record in the run facet
 * `strata_run`; both declare `_producer` and `_schemaURL` (schema: STRATA_FACETS_SCHEMA).
 */
import { createHash } from "node:crypto";
import type { Catalog, JsonValue, RunRecord } from "../../catalog/index.ts";
import { isoFromNs } from "../../core/index.ts";
import { type CaptureFactSource, captureFacts } from "./facts.ts";
import { entriesOf } from "./runs.ts";

export const OPENLINEAGE_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const ERROR_FACET_SCHEMA_URL =
  "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";
/** Default `producer` and facet `_producer`; set `producer` to the deployment's source URL with its tag or sha. */
export const STRATA_PRODUCER = "https://github.com/strata-data/strata";
/** Default base URL of STRATA_FACETS_SCHEMA (versioned: a new facet shape gets a new version). */
export const STRATA_FACETS_BASE_URL = "https://strata-data.github.io/spec/facets/1-0-0";
export const JOB_NAMESPACE = "strata";
/** Namespace of the UUIDs derived from run ids (`runUuid`). */
const RUN_UUID_NAMESPACE = "5377f88f-6c24-40eb-81c2-aa1ba10fa2c0";

export type RunEventType = "START" | "RUNNING" | "COMPLETE" | "ABORT" | "FAIL" | "OTHER";

export interface OpenLineageFacet {
  _producer: string;
  _schemaURL: string;
  [key: string]: JsonValue;
}

export interface OpenLineageDataset {
  namespace: string;
  name: string;
  facets?: { [name: string]: OpenLineageFacet };
}

export interface RunEvent {
  eventType: RunEventType;
  eventTime: string;
  producer: string;
  schemaURL: string;
  run: { runId: string; facets?: { [name: string]: OpenLineageFacet } };
  job: { namespace: string; name: string; facets?: { [name: string]: OpenLineageFacet } };
  inputs: OpenLineageDataset[];
  outputs: OpenLineageDataset[];
}

/** What the events say about a capture dataset (from the catalog; see loadOpenLineageContext). */
export interface CaptureDatasetInfo {
  captureId: string;
  sha256: string;
  rig: string | null;
  site: string | null;
  startNs: bigint | null;
  endNs: bigint | null;
  topics: string[];
  calibrationVersion: string | null;
  qaVerdict: string | null;
  qaFlags: string[];
}

export interface OpenLineageOptions {
  /** Dataset namespace `strata://<instance>` (default `local`): the Strata home or deployment name. */
  instance?: string;
  /** URI of the producer (default STRATA_PRODUCER). */
  producer?: string;
  /** Base URL of the custom facets' schema (default STRATA_FACETS_BASE_URL). */
  facetsBaseUrl?: string;
  /** Captures the run reads or writes, by capture id; without it captures are named by id, without facets. */
  captures?: ReadonlyMap<string, CaptureDatasetInfo>;
}

/** A deterministic UUID (version 5, SHA-1 name-based, RFC 4122) for a Strata run id. */
export function runUuid(runId: string): string {
  const namespace = Buffer.from(RUN_UUID_NAMESPACE.replace(/-/g, ""), "hex");
  const bytes = createHash("sha1").update(namespace).update(runId, "utf8").digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** START, then COMPLETE or FAIL when the run has finished. */
export function openLineageEvents(run: RunRecord, options: OpenLineageOptions = {}): RunEvent[] {
  const producer = options.producer ?? STRATA_PRODUCER;
  const facetsBase = options.facetsBaseUrl ?? STRATA_FACETS_BASE_URL;
  const namespace = `strata://${options.instance ?? "local"}`;
  const toDatasets = (value: JsonValue | null) =>
    dedupe(entriesOf(value).flatMap((e) => datasetsOf(e, namespace, producer, facetsBase, options.captures)));
  const inputs = toDatasets(run.inputs);
  const runFacet: OpenLineageFacet = {
    _producer: producer,
    _schemaURL: `${facetsBase}/StrataFacets.json#/$defs/StrataRunRunFacet`,
    strataRunId: run.runId,
    kind: run.kind,
    codeVersion: run.codeVersion,
    params: run.params,
  };
  const base = (eventType: RunEventType, atNs: bigint) => ({
    eventType,
    eventTime: isoFromNs(atNs),
    producer,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
    job: { namespace: JOB_NAMESPACE, name: run.kind },
  });
  const runId = runUuid(run.runId);
  const events: RunEvent[] = [
    {
      ...base("START", run.startedAtNs),
      run: { runId, facets: { strata_run: runFacet } },
      inputs,
      outputs: [],
    },
  ];
  if (run.status === "completed") {
    events.push({
      ...base("COMPLETE", run.endedAtNs ?? run.startedAtNs),
      run: { runId, facets: { strata_run: runFacet } },
      inputs,
      outputs: toDatasets(run.outputs),
    });
  } else if (run.status === "failed") {
    const errorFacet: OpenLineageFacet = {
      _producer: producer,
      _schemaURL: ERROR_FACET_SCHEMA_URL,
      message: errorMessage(run.error),
      programmingLanguage: "TypeScript",
    };
    events.push({
      ...base("FAIL", run.endedAtNs ?? run.startedAtNs),
      run: { runId, facets: { strata_run: runFacet, errorMessage: errorFacet } },
      inputs,
      outputs: toDatasets(run.outputs),
    });
  }
  return events;
}

/** Looks up every capture a run names (topics, calibration, QA verdict) for `OpenLineageOptions.captures`. */
export async function loadCaptureDatasetInfo(
  run: RunRecord,
  deps: { catalog: Catalog; factSources?: readonly CaptureFactSource[] },
): Promise<Map<string, CaptureDatasetInfo>> {
  const out = new Map<string, CaptureDatasetInfo>();
  const ids = [...entriesOf(run.inputs), ...entriesOf(run.outputs)]
    .map((e) => e.captureId)
    .filter((id): id is string => typeof id === "string");
  for (const captureId of new Set(ids)) {
    const capture = await deps.catalog.getCapture(captureId);
    if (capture === undefined) continue;
    const facts = await captureFacts(capture, deps);
    out.set(captureId, {
      captureId,
      sha256: capture.sha256,
      rig: capture.rig,
      site: capture.site,
      startNs: capture.startNs,
      endNs: capture.endNs,
      topics: (await deps.catalog.listTopics(captureId)).map((t) => t.topic),
      calibrationVersion: facts.calibrationVersion,
      qaVerdict: facts.qaVerdict,
      qaFlags: facts.qaFlags,
    });
  }
  return out;
}

/**
 * The JSON Schema (2020-12) of Strata's custom facets, which their `_schemaURL`s point into. Publish it at
 * `<facetsBaseUrl>/StrataFacets.json`.
 */
export function strataFacetsSchema(facetsBaseUrl: string = STRATA_FACETS_BASE_URL) {
  const ol = "https://openlineage.io/spec/2-0-2/OpenLineage.json";
  const ns = { type: "string", pattern: "^-?[0-9]+$", description: "nanoseconds since the Unix epoch" };
  const nullableString = { type: ["string", "null"] };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: `${facetsBaseUrl}/StrataFacets.json`,
    $defs: {
      StrataRoboticsDatasetFacet: {
        description:
          "A robotics capture (or a time window of one): topics, time window, rig, calibration, QA",
        allOf: [
          { $ref: `${ol}#/$defs/DatasetFacet` },
          {
            type: "object",
            properties: {
              captureId: { type: "string" },
              topics: { type: "array", items: { type: "string" } },
              timeWindow: {
                type: ["object", "null"],
                properties: {
                  startNs: ns,
                  endNs: ns,
                  startTime: { type: "string", format: "date-time" },
                  endTime: { type: "string", format: "date-time" },
                },
                required: ["startNs", "endNs", "startTime", "endTime"],
              },
              rig: nullableString,
              site: nullableString,
              calibrationVersion: nullableString,
              qaVerdict: {
                type: ["string", "null"],
                description: "pass, warn or fail; null when never checked",
              },
              qaFlags: { type: "array", items: { type: "string" } },
            },
            required: ["captureId", "topics", "timeWindow", "rig", "calibrationVersion", "qaVerdict"],
          },
        ],
      },
      StrataRunRunFacet: {
        description: "The Strata run record behind an OpenLineage run",
        allOf: [
          { $ref: `${ol}#/$defs/RunFacet` },
          {
            type: "object",
            properties: {
              strataRunId: { type: "string" },
              kind: { type: "string" },
              codeVersion: { type: "string" },
              params: {},
            },
            required: ["strataRunId", "kind", "codeVersion"],
          },
        ],
      },
    },
  } as const;
}

function datasetsOf(
  entry: { [key: string]: JsonValue },
  namespace: string,
  producer: string,
  facetsBase: string,
  captures: ReadonlyMap<string, CaptureDatasetInfo> | undefined,
): OpenLineageDataset[] {
  const out: OpenLineageDataset[] = [];
  if (typeof entry.datasetVersionId === "string")
    out.push({ namespace, name: `dataset/${entry.datasetVersionId}` });
  if (typeof entry.captureId === "string") {
    const info = captures?.get(entry.captureId);
    const sha256 = info?.sha256 ?? (typeof entry.sha256 === "string" ? entry.sha256 : undefined);
    const name = sha256 === undefined ? `capture/${entry.captureId}` : `capture/${sha256}`;
    out.push(
      info === undefined
        ? { namespace, name }
        : { namespace, name, facets: { strata_robotics: robotics(info) } },
    );
    return out;
  }
  const files = entriesOf(entry.files ?? null).filter((f) => typeof f.sha256 === "string");
  if (files.length > 0) {
    for (const f of files) out.push({ namespace, name: `blob/${f.sha256 as string}` });
  } else if (typeof entry.sha256 === "string") {
    out.push({ namespace, name: `blob/${entry.sha256}` });
  } else if (typeof entry.path === "string" && out.length === 0) {
    out.push({ namespace, name: `file:${entry.path}` });
  }
  return out;

  function robotics(info: CaptureDatasetInfo): OpenLineageFacet {
    return {
      _producer: producer,
      _schemaURL: `${facetsBase}/StrataFacets.json#/$defs/StrataRoboticsDatasetFacet`,
      captureId: info.captureId,
      topics: [...info.topics].sort(),
      timeWindow:
        info.startNs === null || info.endNs === null
          ? null
          : {
              startNs: info.startNs.toString(),
              endNs: info.endNs.toString(),
              startTime: isoFromNs(info.startNs),
              endTime: isoFromNs(info.endNs),
            },
      rig: info.rig,
      site: info.site,
      calibrationVersion: info.calibrationVersion,
      qaVerdict: info.qaVerdict,
      qaFlags: info.qaFlags,
    };
  }
}

function dedupe(datasets: OpenLineageDataset[]): OpenLineageDataset[] {
  const seen = new Set<string>();
  return datasets.filter((d) => {
    const key = `${d.namespace}\u0000${d.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function errorMessage(error: JsonValue | null): string {
  if (error !== null && typeof error === "object" && !Array.isArray(error)) {
    const message = error.message;
    const code = error.code;
    if (typeof message === "string") return typeof code === "string" ? `${code}: ${message}` : message;
  }
  return error === null ? "failed" : JSON.stringify(error);
}
