/**
 * A data contract as TypeScript sees it: the shape `contract.schema.json` validates. Documented for
 * authors in docs/contracts.md.
 */
import type { QaPolicyInput } from "../qa/types.ts";

export interface ContractTopic {
  topic: string;
  type?: string;
  /** Default true. */
  required?: boolean;
  minRateHz?: number;
  maxRateHz?: number;
  maxGapMs?: number;
  maxStampSkewMs?: number;
  /** Default `compatible`. */
  schema?: "compatible" | "identical" | "any";
}

export interface Contract {
  apiVersion: "strata/v1";
  kind: "DataContract";
  name: string;
  version: string;
  description?: string;
  owners?: string[];
  appliesTo?: { rigs?: string[]; sites?: string[] };
  /** Default `quarantine`. */
  enforcement?: "quarantine" | "warn";
  defaults?: { maxStampSkewMs?: number; maxGapMs?: number };
  topics?: ContractTopic[];
  frames?: { root?: string; required?: string[]; connected?: Array<[string, string]> };
  calibration?: Array<{ sensor: string; cameraInfoTopic?: string; frame?: string }>;
  sync?: Array<{ name?: string; topics: string[]; toleranceMs: number }>;
  qa?: QaPolicyInput;
  ontology?: { version: string };
}

/** Every rule a contract check evaluates. */
export type ContractRule =
  | "topic.required"
  | "topic.type"
  | "topic.minRate"
  | "topic.maxRate"
  | "topic.maxGap"
  | "stamp.skew"
  | "schema.compatible"
  | "frames.required"
  | "frames.connected"
  | "calibration.present"
  | "sync.tolerance"
  | "ontology.version";

export interface ContractViolation {
  rule: ContractRule;
  /** The topic (or frame, sensor, sync pair) the rule is about; null for capture-wide rules. */
  topic: string | null;
  measured: number | string | null;
  threshold: number | string | null;
  unit: string;
  message: string;
}

export interface ContractCheck {
  contract: string;
  version: string;
  passed: boolean;
  violations: ContractViolation[];
  /** Rules evaluated (each topic bound counts once). */
  rulesChecked: number;
  /** Rules that could not be evaluated, with why (e.g. no decoded header stamps for a skew bound). */
  skipped: Array<{ rule: ContractRule; topic: string | null; why: string }>;
}

/** A stored contract version. */
export interface ContractVersion {
  name: string;
  version: string;
  contract: Contract;
  source: string;
  sha256: string;
  /** Definition hash per contracted topic, known when the version was added. */
  baselines: Record<string, ContractBaseline>;
  createdAtNs: bigint;
  createdBy: string;
}

export interface ContractBaseline {
  type: string;
  encoding: string;
  schemaHash: string;
}
