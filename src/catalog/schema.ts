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
