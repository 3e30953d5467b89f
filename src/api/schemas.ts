/** Request/response shapes of the HTTP API. Times are decimal strings of ns (JSON has no 64-bit integers). */
import { z } from "zod";

export const NsString = z
  .string()
  .regex(/^-?\d+$/)
  .describe("nanoseconds since the Unix epoch, as a decimal string");

export const Role = z.enum(["viewer", "engineer", "steward", "admin"]);
export type Role = z.infer<typeof Role>;

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), hint: z.string() }),
});

export const Health = z.object({ status: z.literal("ok"), version: z.string() });

export const TopicRow = z.object({
  topic: z.string(),
  schemaName: z.string(),
  messageEncoding: z.string(),
  messageCount: z.number().int(),
  firstTimeNs: NsString.nullable(),
  lastTimeNs: NsString.nullable(),
  meanRateHz: z.number(),
  maxGapNs: NsString,
});
export type TopicRow = z.infer<typeof TopicRow>;

export const Capture = z.object({
  captureId: z.string(),
  sha256: z.string(),
  format: z.enum(["mcap", "ros1", "ros2"]),
  sizeBytes: z.number().int(),
  startTimeNs: NsString.nullable(),
  endTimeNs: NsString.nullable(),
  messageCount: z.number().int(),
  rig: z.string().nullable(),
  site: z.string().nullable(),
  region: z.string().nullable(),
  status: z.string(),
  sourcePath: z.string().nullable(),
  ingestedAtNs: NsString,
});
export type Capture = z.infer<typeof Capture>;

export const CaptureDetail = Capture.extend({
  topics: z.array(TopicRow),
  files: z.array(z.object({ pathInCapture: z.string(), sha256: z.string(), sizeBytes: z.number().int() })),
});
export type CaptureDetail = z.infer<typeof CaptureDetail>;

export const CaptureList = z.object({ captures: z.array(Capture), total: z.number().int() });
export type CaptureList = z.infer<typeof CaptureList>;

export const CaptureListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  site: z.string().optional(),
  rig: z.string().optional(),
  status: z.string().optional(),
});

export const CaptureIdParams = z.object({ captureId: z.string().min(1) });

export const Histogram = z.object({
  captureId: z.string(),
  bucketNs: NsString,
  originNs: NsString,
  topics: z.array(z.object({ topic: z.string(), counts: z.array(z.number().int()) })),
});

export const Run = z.object({
  runId: z.string(),
  kind: z.string(),
  status: z.string(),
  inputs: z.unknown(),
  outputs: z.unknown(),
  params: z.unknown(),
  codeVersion: z.string(),
  startedAtNs: NsString,
  endedAtNs: NsString.nullable(),
});
export const RunList = z.object({ runs: z.array(Run) });

export const AuditEvent = z.object({
  seq: z.number().int(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  atNs: NsString,
  details: z.unknown(),
  hash: z.string(),
});
export const AuditList = z.object({ events: z.array(AuditEvent), chainValid: z.boolean() });

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

// ---- tokens ----

export const ApiToken = z.object({
  tokenId: z.string(),
  name: z.string(),
  role: Role,
  createdAtNs: NsString,
  revokedAtNs: NsString.nullable(),
});
export type ApiToken = z.infer<typeof ApiToken>;
export const ApiTokenList = z.object({ tokens: z.array(ApiToken) });
export const TokenCreate = z.object({
  name: z.string().min(1).max(200).describe("who or what uses the token"),
  role: Role,
});
export const TokenCreated = z.object({
  tokenId: z.string(),
  name: z.string(),
  role: Role,
  token: z.string().describe("the secret; shown once, only its hash is stored"),
});
export const TokenIdParams = z.object({ tokenId: z.string().min(1) });
export const Principal = z.object({ tokenId: z.string(), name: z.string(), role: Role });

// ---- upload ----

export const UploadQuery = z.object({
  filename: z
    .string()
    .min(1)
    .max(255)
    .describe("the uploaded file's name (kept as the capture file's name; the extension may help detection)"),
  rig: z.string().optional(),
  site: z.string().optional(),
  region: z.string().optional(),
});

export const IngestedTopic = z.object({
  topic: z.string(),
  schemaName: z.string(),
  messageEncoding: z.string(),
  messageCount: z.number().int(),
  firstTimeNs: NsString.nullable(),
  lastTimeNs: NsString.nullable(),
});
export const IngestResult = z.object({
  captureId: z.string(),
  sha256: z.string(),
  created: z.boolean().describe("false when these bytes were already a capture"),
  format: z.string(),
  messageCount: z.number().int(),
  topics: z.array(IngestedTopic),
  warnings: z.array(z.string()),
});
export type IngestResult = z.infer<typeof IngestResult>;

// ---- messages in a window ----

export const MessagesQuery = z.object({
  topics: z
    .union([z.array(z.string()), z.string().transform((list) => list.split(",").filter(Boolean))])
    .optional()
    .describe("comma-separated topic names (all topics when omitted)"),
  startNs: NsString.optional().describe("inclusive start of the window"),
  endNs: NsString.optional().describe("inclusive end of the window"),
  limit: z.coerce.number().int().min(1).optional().describe("stop after this many messages"),
  everyNs: NsString.optional().describe("per topic, skip messages closer than this to the last one sent"),
});

export const MessageLine = z
  .object({
    topic: z.string(),
    schemaName: z.string(),
    logTimeNs: NsString,
    publishTimeNs: NsString,
    sequence: z.number().int(),
    sizeBytes: z.number().int(),
    message: z
      .unknown()
      .describe(
        "the decoded message (null when Strata has no decoder): int64 as decimal strings, uint8[] as base64 strings, other numeric arrays as JSON arrays",
      ),
  })
  .describe("one line of the NDJSON stream");
export type MessageLine = z.infer<typeof MessageLine>;

export const MetricsText = z.string().describe("Prometheus text exposition format 0.0.4");

// ---- QA and calibration drift of a capture ----

export const QaReason = z.object({
  check: z.string(),
  severity: z.enum(["fail", "warn"]),
  topic: z.string(),
  startNs: NsString,
  endNs: NsString,
  measured: z.union([z.number(), z.string()]),
  threshold: z.union([z.number(), z.string()]),
  unit: z.string(),
  count: z.number().int(),
  message: z.string(),
});
export type QaReason = z.infer<typeof QaReason>;

export const CaptureQa = z.object({
  captureId: z.string(),
  status: z.string(),
  /** null before any QA ran on the capture. */
  verdict: z.enum(["pass", "warn", "fail"]).nullable(),
  runId: z.string().nullable(),
  createdAtNs: NsString.nullable(),
  reasons: z.array(QaReason),
  history: z.array(
    z.object({ runId: z.string(), verdict: z.string(), createdAtNs: NsString, reasons: z.number().int() }),
  ),
  contractChecks: z.array(z.unknown()),
  overrides: z.array(
    z.object({ runId: z.string().nullable(), actor: z.string(), reason: z.string(), atNs: NsString }),
  ),
});

export const CaptureDrift = z.object({
  captureId: z.string(),
  calibrationId: z.string().nullable(),
  drift: z.array(
    z.object({
      kind: z.string(),
      frame: z.string(),
      parentFrame: z.string(),
      atNs: NsString,
      rotationDeg: z.number(),
      translationM: z.number(),
      referenceCalibrationId: z.string().nullable(),
    }),
  ),
});

// ---- datasets ----

export const DatasetList = z.object({
  datasets: z.array(
    z.object({
      name: z.string(),
      createdAtNs: NsString,
      createdBy: z.string(),
      versionCount: z.number().int(),
      latestVersionId: z.string().nullable(),
      versions: z.array(
        z.object({
          versionId: z.string().describe("content address of the version"),
          parentVersionId: z.string().nullable(),
          createdAtNs: NsString,
          createdBy: z.string(),
          itemCount: z.number().int(),
        }),
      ),
    }),
  ),
});

// ---- scene search ----

export const SearchQuery = z.object({
  q: z
    .string()
    .describe("the scene query language (see `strata search --help`), e.g. `tag:night speedMaxMps > 10`"),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  explain: z
    .enum(["true", "false"])
    .optional()
    .describe("also return which index filters first, with estimates"),
  includeQuarantined: z.enum(["true", "false"]).optional(),
});

export const SceneHit = z.object({
  sceneId: z.string(),
  captureId: z.string(),
  startNs: NsString,
  endNs: NsString,
  site: z.string(),
  rig: z.string(),
  quarantined: z.boolean(),
  tags: z.array(z.string()),
  features: z.record(z.string(), z.unknown()),
  xM: z.number(),
  yM: z.number(),
  headingRad: z.number(),
  distance: z.number().optional(),
});

export const SearchResult = z.object({
  plan: z.unknown().describe("the parsed query plan"),
  hits: z.array(SceneHit),
  explain: z.unknown().optional(),
  latencyMs: z.number(),
});

// ---- lineage graph ----

export const LineageGraphQuery = z.object({
  of: z
    .string()
    .min(1)
    .optional()
    .describe(
      "what to trace: a dataset version (dsv_…), a sample (dsv_…/N), a capture (cap_… or SHA-256), a run (run_…); the whole catalog when omitted",
    ),
  maxNodes: z.coerce
    .number()
    .int()
    .min(1)
    .max(5000)
    .default(400)
    .describe("stop adding nodes past this many (the graph is then marked truncated)"),
  verify: z
    .enum(["true", "false"])
    .optional()
    .describe("re-hash every raw blob reached and mark it verified (reads the bytes; slow for big logs)"),
});

export const LineageNode = z.object({
  id: z.string().describe("`<kind>:<key>`, unique in the graph"),
  kind: z
    .string()
    .describe("blob, file, capture, run, scene, calibration, qa_verdict, dataset_version, sample, …"),
  key: z.string(),
  label: z.string(),
  attributes: z.record(z.string(), z.unknown()),
});

export const LineageGraph = z.object({
  rootId: z.string().nullable().describe("the traced target's node id (null for the whole catalog)"),
  nodes: z.array(LineageNode),
  edges: z.array(
    z
      .object({ from: z.string(), to: z.string(), relation: z.string() })
      .describe("data flows from `from` (a source) to `to` (derived from it)"),
  ),
  truncated: z.boolean(),
});

// ---- dataset diff and splits ----

export const DatasetDiffQuery = z.object({
  from: z.string().min(1).describe("the older version (dsv_…)"),
  to: z.string().min(1).describe("the newer version (dsv_…)"),
});

export const DatasetItem = z.object({
  index: z.number().int().describe("position in its version's canonical item order"),
  captureId: z.string(),
  startNs: NsString,
  endNs: NsString,
  topics: z.array(z.string()),
  sceneId: z.string().nullable(),
  split: z.enum(["train", "val", "test"]),
});

const CoverageDelta = z.object({ addedNs: NsString, removedNs: NsString });

export const DatasetDiff = z.object({
  fromVersionId: z.string(),
  toVersionId: z.string(),
  added: z.array(DatasetItem),
  removed: z.array(DatasetItem),
  changed: z.array(
    z.object({
      before: DatasetItem,
      after: DatasetItem,
      fields: z.array(z.enum(["window", "topics", "split", "sceneId"])),
    }),
  ),
  unchangedCount: z.number().int(),
  manifest: z.array(z.object({ field: z.string(), before: z.unknown(), after: z.unknown() })),
  byCapture: z.array(CoverageDelta.extend({ captureId: z.string() })),
  byTopic: z.array(CoverageDelta.extend({ topic: z.string() })),
});

export const VersionIdParams = z.object({ versionId: z.string().min(1) });

export const DatasetSplits = z.object({
  versionId: z.string(),
  datasetName: z.string(),
  itemCount: z.number().int(),
  splitPolicy: z
    .object({
      ratios: z.object({ train: z.number(), val: z.number(), test: z.number() }),
      groupBy: z.enum(["capture", "site", "rig"]),
      seed: z.string(),
    })
    .nullable()
    .describe("null when every item's split was given by the caller"),
  splits: z.array(
    z.object({
      split: z.enum(["train", "val", "test"]),
      itemCount: z.number().int(),
      captureCount: z.number().int(),
      durationNs: NsString.describe("sum of the items' window lengths"),
    }),
  ),
  leakage: z.object({
    ok: z.boolean().describe("true when no finding has severity error"),
    findings: z.array(
      z.looseObject({
        kind: z.string(),
        severity: z.enum(["error", "warning"]),
        message: z.string(),
      }),
    ),
  }),
});

// ---- trajectories for the map ----

export const TrajectoryMapQuery = z.object({
  captureIds: z
    .union([z.array(z.string()), z.string().transform((list) => list.split(",").filter(Boolean))])
    .optional()
    .describe("comma-separated capture ids (default: the newest captures that have a trajectory)"),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(50)
    .describe("most captures looked at when captureIds is omitted"),
  maxPoints: z.coerce
    .number()
    .int()
    .min(2)
    .max(20000)
    .default(500)
    .describe("most points per trajectory (evenly thinned)"),
});

export const TrajectoryMap = z.object({
  trajectories: z.array(
    z.object({
      captureId: z.string(),
      site: z.string().nullable(),
      rig: z.string().nullable(),
      source: z.string().describe("where the poses came from, e.g. `odom:/odom`"),
      frame: z.string().describe("the fixed frame of xM/yM (the frame scene positions and `within:` use)"),
      poseCount: z.number().int().describe("poses stored (before thinning)"),
      lengthM: z.number(),
      startNs: NsString.nullable().describe("time of the first pose; tOffsetSecs counts from it"),
      tOffsetSecs: z.array(z.number()),
      xM: z.array(z.number()),
      yM: z.array(z.number()),
    }),
  ),
});

// ---- cockpit figures ----

export const CockpitFigure = z.object({
  definition: z.string(),
  count: z.number().int().describe("captures that reached the milestone"),
  pending: z.number().int().describe("captures that have not reached it yet"),
  medianSecs: z.number().nullable(),
  p90Secs: z.number().nullable(),
  minSecs: z.number().nullable(),
  maxSecs: z.number().nullable(),
  recent: z
    .array(
      z.object({
        captureId: z.string(),
        ingestedAtNs: NsString,
        reachedAtNs: NsString,
        secs: z.number(),
      }),
    )
    .describe("the most recently ingested captures that reached it"),
});

export const Cockpit = z.object({
  captureCount: z.number().int(),
  timeToScenario: CockpitFigure,
  timeToFirstDataset: CockpitFigure,
});
