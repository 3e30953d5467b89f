/**
 * The catalog's tables as Kysely sees them (snake_case columns). Every integer column is 64-bit and
 * reads back as `bigint` on both dialects (SQLite safe integers, pg int8 parser); JSON columns are text.
 * Later modules extend `CatalogDatabase` when their migrations add tables.
 */
import type { ColumnType, Generated } from "kysely";

/** A 64-bit integer column: read as bigint, written from bigint or a safe-integer number. */
export type Int64 = ColumnType<bigint, bigint | number, bigint | number>;
export type NullableInt64 = ColumnType<bigint | null, bigint | number | null, bigint | number | null>;
/** JSON stored as canonical JSON text. */
export type JsonText = string;

export interface CapturesTable {
  capture_id: string;
  sha256: string;
  format: string;
  size_bytes: Int64;
  start_ns: NullableInt64;
  end_ns: NullableInt64;
  message_count: Int64;
  rig: string | null;
  site: string | null;
  region: string | null;
  status: string;
  source_path: string | null;
  ingested_at_ns: Int64;
  provenance: JsonText;
}

export interface CaptureFilesTable {
  capture_id: string;
  ordinal: Int64;
  path_in_capture: string;
  sha256: string;
  size_bytes: Int64;
}

export interface TopicsTable {
  capture_id: string;
  topic: string;
  schema_name: string;
  message_encoding: string;
  schema_hash: string | null;
  message_count: Int64;
  first_ns: NullableInt64;
  last_ns: NullableInt64;
  mean_rate_hz: number | null;
  max_gap_ns: NullableInt64;
}

export interface TopicHistogramTable {
  capture_id: string;
  topic: string;
  bucket_start_ns: Int64;
  bucket_ns: Int64;
  message_count: Int64;
}

export interface SchemasTable {
  schema_hash: string;
  name: string;
  encoding: string;
  definition: string;
  first_capture_id: string | null;
  last_capture_id: string | null;
  first_seen_ns: Int64;
}

export interface RunsTable {
  run_id: string;
  kind: string;
  status: string;
  inputs: JsonText;
  outputs: JsonText | null;
  params: JsonText;
  code_version: string;
  started_at_ns: Int64;
  ended_at_ns: NullableInt64;
  error: JsonText | null;
}

export interface AuditEventsTable {
  seq: Generated<bigint>;
  event_id: string;
  actor: string;
  action: string;
  target: string;
  at_ns: Int64;
  details: JsonText;
  prev_hash: string;
  hash: string;
}

export interface ApiTokensTable {
  token_id: string;
  name: string;
  role: string;
  token_hash: string;
  created_at_ns: Int64;
  revoked_at_ns: NullableInt64;
}

export interface CatalogDatabase {
  captures: CapturesTable;
  capture_files: CaptureFilesTable;
  topics: TopicsTable;
  topic_histogram: TopicHistogramTable;
  schemas: SchemasTable;
  runs: RunsTable;
  audit_events: AuditEventsTable;
  api_tokens: ApiTokensTable;
  datasets: DatasetsTable;
  dataset_versions: DatasetVersionsTable;
  calibrations: CalibrationsTable;
  rig_calibrations: RigCalibrationsTable;
  capture_calibration: CaptureCalibrationTable;
  calibration_drift: CalibrationDriftTable;
  trajectories: TrajectoriesTable;
  capture_metrics: CaptureMetricsTable;
}

/** A named dataset (migration 002); its versions are rows of `dataset_versions`. */
export interface DatasetsTable {
  name: string;
  created_at_ns: Int64;
  created_by: string;
}

/** An immutable dataset version: `version_id` = `dsv_` + SHA-256 of `manifest` (canonical JSON). */
export interface DatasetVersionsTable {
  version_id: string;
  dataset: string;
  parent: string | null;
  manifest: JsonText;
  created_at_ns: Int64;
  created_by: string;
}

/** A calibration (migration 004): immutable, `calibration_id` = `cal_` + 16 hex of `content_sha256`. */
export interface CalibrationsTable {
  calibration_id: string;
  content_sha256: string;
  /** The rig it was first seen with. */
  rig: string | null;
  /** `capture` (extracted at ingest) or `import` (`strata calib import`). */
  source: string;
  /** The capture id or the imported file's path. */
  source_ref: string | null;
  /** When it was in effect: the capture's start, or the import time. */
  recorded_at_ns: Int64;
  created_at_ns: Int64;
  /** Canonical JSON `{cameras, extrinsics}`. */
  body: JsonText;
}

/** The versions of a rig's calibration (1, 2, …), and which are accepted. */
export interface RigCalibrationsTable {
  rig: string;
  calibration_id: string;
  version: Int64;
  created_at_ns: Int64;
  /** 1 when accepted (then `accepted_at_ns` and `accepted_by` are set), else 0. */
  accepted: Int64;
  accepted_at_ns: NullableInt64;
  accepted_by: string | null;
}

/** The calibration each capture was recorded with. */
export interface CaptureCalibrationTable {
  capture_id: string;
  calibration_id: string;
}

/** A flagged extrinsic change: within a capture (`/tf_static` changed) or against the rig's accepted calibration. */
export interface CalibrationDriftTable {
  capture_id: string;
  ordinal: Int64;
  /** `within-capture` or `vs-accepted`. */
  kind: string;
  /** The child frame of the edge that moved. */
  frame: string;
  parent_frame: string;
  at_ns: Int64;
  rotation_deg: number;
  translation_m: number;
  /** `vs-accepted`: the accepted calibration compared against. */
  reference_calibration_id: string | null;
}

/** One ego-motion trajectory of a capture; poses packed little-endian in `poses` (decision 0006). */
export interface TrajectoriesTable {
  capture_id: string;
  /** e.g. `tf:odom->base_link`, `odom:/odom`, `gps:/gps/fix`. */
  source: string;
  frame: string;
  child_frame: string | null;
  /** 1 for the capture's preferred trajectory. */
  is_primary: Int64;
  pose_count: Int64;
  start_ns: NullableInt64;
  end_ns: NullableInt64;
  length_m: number;
  min_x: number | null;
  min_y: number | null;
  max_x: number | null;
  max_y: number | null;
  meta: JsonText;
  poses: Uint8Array;
}

/** ATE/RPE of a capture's trajectory against a reference: stored, filterable properties of the capture. */
export interface CaptureMetricsTable {
  capture_id: string;
  reference: string;
  estimate_source: string;
  align: string;
  ape_pairs: Int64;
  ape_rmse: number;
  ape_mean: number;
  ape_median: number;
  ape_std: number;
  ape_max: number;
  rpe_pairs: Int64;
  rpe_rmse: number;
  rpe_mean: number;
  rpe_max: number;
  scale: number | null;
  params: JsonText;
  computed_at_ns: Int64;
}

/** Governance tables (migration 003: pipelines/qa, contracts, ontology), merged into CatalogDatabase. */
export interface CatalogDatabase {
  contracts: ContractsTable;
  contract_checks: ContractChecksTable;
  qa_results: QaResultsTable;
  qa_overrides: QaOverridesTable;
  ontology_versions: OntologyVersionsTable;
  ontology_proposals: OntologyProposalsTable;
  labels: LabelsTable;
}

/** One version of a data contract (immutable); `document` is the validated contract as canonical JSON. */
export interface ContractsTable {
  name: string;
  version: string;
  document: JsonText;
  /** The YAML as submitted. */
  source: string;
  sha256: string;
  /** Schema hash per contracted topic type when the version was added (schema evolution baseline). */
  baselines: JsonText;
  created_at_ns: Int64;
  created_by: string;
}

export interface ContractChecksTable {
  check_id: string;
  capture_id: string;
  contract_name: string;
  contract_version: string;
  run_id: string | null;
  /** 1 passed, 0 violated. */
  passed: Int64;
  violations: JsonText;
  checked_at_ns: Int64;
}

/** The QA verdict of one run over one capture. */
export interface QaResultsTable {
  run_id: string;
  capture_id: string;
  verdict: string;
  reasons: JsonText;
  plan: JsonText;
  coverage: JsonText;
  policy: JsonText;
  drift_source: string;
  created_at_ns: Int64;
}

export interface QaOverridesTable {
  override_id: string;
  capture_id: string;
  run_id: string | null;
  actor: string;
  reason: string;
  at_ns: Int64;
}

export interface OntologyVersionsTable {
  version: string;
  document: JsonText;
  proposal_id: string | null;
  created_at_ns: Int64;
  created_by: string;
}

export interface OntologyProposalsTable {
  proposal_id: string;
  base_version: string;
  changes: JsonText;
  note: string;
  /** `proposed`, `approved`, `rejected`. */
  status: string;
  proposed_by: string;
  proposed_at_ns: Int64;
  decided_by: string | null;
  decided_at_ns: NullableInt64;
  decision_reason: string | null;
  result_version: string | null;
  migration: JsonText | null;
}

/** A class label: an annotation (source `import:…`) or class names seen in messages (source `topic:…`). */
export interface LabelsTable {
  label_id: string;
  capture_id: string | null;
  topic: string | null;
  class_name: string;
  attributes: JsonText;
  start_ns: NullableInt64;
  end_ns: NullableInt64;
  source: string;
  count: Int64;
  ontology_version: string | null;
  created_at_ns: Int64;
}

/** Scenes (migration 005, pipelines/scenes): time windows of captures with their features. */
export interface CatalogDatabase {
  scenes: ScenesTable;
}

export interface ScenesTable {
  scene_id: string;
  capture_id: string;
  start_ns: Int64;
  end_ns: Int64;
  /** `fixed` (segmentation grid) or `event` (aligned to a detected event). */
  kind: string;
  /** JSON array of tags. */
  tags: JsonText;
  /** JSON object: the scene's features (SCENE_FEATURES), the ego source and frame, aligned events. */
  features: JsonText;
  /** The `scenes` run that wrote it. */
  run_id: string | null;
  created_at_ns: Int64;
}
