/**
 * The one error catalogue. Every failure a user can meet is a StrataError with a stable code;
 * the server maps `httpStatus`, the CLI maps `exitCode`. Messages name the file/offset/topic
 * through `context`; `hint` says what to do next.
 */

export interface ErrorSpec {
  readonly summary: string;
  readonly hint: string;
  readonly httpStatus: number;
  readonly exitCode: number;
}

const spec = (summary: string, hint: string, httpStatus: number, exitCode: number): ErrorSpec => ({
  summary,
  hint,
  httpStatus,
  exitCode,
});

export const ERRORS = {
  STRATA_E_USAGE: spec("Invalid arguments", "Run the command with --help to see its options.", 400, 2),
  STRATA_E_NOT_FOUND: spec(
    "Not found",
    "Check the id or path; list what exists with the matching `list` command.",
    404,
    3,
  ),
  STRATA_E_FILE_NOT_FOUND: spec(
    "File not found",
    "Check the path; relative paths are resolved from the current directory.",
    404,
    3,
  ),
  STRATA_E_EMPTY_FILE: spec(
    "The file is empty (0 bytes)",
    "The recording was probably interrupted before anything was written; re-copy it from the robot.",
    422,
    4,
  ),
  STRATA_E_UNKNOWN_FORMAT: spec(
    "Not a recognised log format",
    "Strata reads MCAP (.mcap), ROS 1 bags v2.0 (.bag) and ROS 2 bag directories (metadata.yaml with .db3/.mcap).",
    415,
    4,
  ),
  STRATA_E_CORRUPT_LOG: spec(
    "The log is corrupt",
    "The file is damaged at the given offset; `strata info` shows what can be salvaged.",
    422,
    4,
  ),
  STRATA_E_TRUNCATED_LOG: spec(
    "The log is truncated",
    "Only whole records before the offset were read; re-copy the file if the tail matters.",
    422,
    4,
  ),
  STRATA_E_CRC_MISMATCH: spec(
    "Checksum mismatch",
    "The bytes changed after they were written (disk or transfer fault); re-copy the file.",
    422,
    4,
  ),
  STRATA_E_UNSUPPORTED: spec(
    "Unsupported feature",
    "This variant of the format is not supported yet; open an issue with a sample file.",
    415,
    4,
  ),
  STRATA_E_DECODE: spec(
    "A message could not be decoded",
    "The message does not match its schema; check the writer's message definitions.",
    422,
    4,
  ),
  STRATA_E_WRONG_ENCODING: spec(
    "Unknown serialization format",
    "The bag declares an encoding Strata cannot decode (ROS 2 bags normally use `cdr`).",
    422,
    4,
  ),
  STRATA_E_BLOB_CORRUPT: spec(
    "A stored blob does not match its hash",
    "The blob store was modified outside Strata; restore it from a bundle or re-ingest the file.",
    500,
    5,
  ),
  STRATA_E_CATALOG: spec(
    "Catalog error",
    "Check the catalog database is reachable and migrated (`strata init`).",
    500,
    5,
  ),
  STRATA_E_CONFLICT: spec(
    "Conflict with existing state",
    "Another process changed the same object; retry.",
    409,
    6,
  ),
  STRATA_E_UNAUTHENTICATED: spec(
    "Missing or invalid API token",
    "Send `Authorization: Bearer <token>`; create one with `strata token create`.",
    401,
    7,
  ),
  STRATA_E_FORBIDDEN: spec(
    "Your role may not do this",
    "Ask an admin for a token with a role that allows it.",
    403,
    7,
  ),
  STRATA_E_TRAJECTORY_FORMAT: spec(
    "Not a valid trajectory file",
    "TUM lines are `t x y z qx qy qz qw`, KITTI lines 12 numbers (3×4 row-major), EuRoC CSV 17 columns; the message names the line.",
    422,
    4,
  ),
  STRATA_E_CALIBRATION_FORMAT: spec(
    "Not a valid calibration file",
    "Strata reads ROS camera_info YAML and Kalibr camchain / camchain-imucam YAML (also with a `%YAML:1.0` first line).",
    422,
    4,
  ),
  STRATA_E_METRICS: spec(
    "Trajectory metrics cannot be computed",
    "Check that both trajectories overlap in time (--t-max-diff, --t-offset) and have enough distinct poses.",
    422,
    4,
  ),
  STRATA_E_TF_EXTRAPOLATION: spec(
    "Transform requested outside the recorded time range",
    "Ask for a time inside the range of the transforms, or raise the extrapolation tolerance.",
    422,
    4,
  ),
  STRATA_E_TF_DISCONNECTED: spec(
    "The frames are not connected in the transform tree",
    "Check the frame names; `/tf` and `/tf_static` must link both frames to a common parent.",
    422,
    4,
  ),
  STRATA_E_INTERNAL: spec(
    "Internal error",
    "This is a bug in Strata; please report it with the command you ran.",
    500,
    1,
  ),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Where an error happened, as far as it is known. */
export interface ErrorContext {
  file?: string;
  offset?: number | bigint;
  topic?: string;
  [key: string]: unknown;
}

export class StrataError extends Error {
  override readonly name = "StrataError";
  readonly code: ErrorCode;
  readonly hint: string;
  readonly context: ErrorContext;
  /** The specific part of the message, without the summary and the location. */
  readonly detail: string | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    context: ErrorContext = {},
    options?: { cause?: unknown; hint?: string },
  ) {
    const entry = ERRORS[code];
    super(
      composeMessage(entry.summary, detail, context),
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.hint = options?.hint ?? entry.hint;
    this.context = context;
    this.detail = detail;
  }

  /** The same error with more (or corrected) context, e.g. the user's path instead of a blob path. */
  withContext(context: ErrorContext): StrataError {
    return new StrataError(
      this.code,
      this.detail,
      { ...this.context, ...context },
      { cause: this.cause, hint: this.hint },
    );
  }

  get httpStatus(): number {
    return ERRORS[this.code].httpStatus;
  }

  get exitCode(): number {
    return ERRORS[this.code].exitCode;
  }

  toJSON(): { code: ErrorCode; message: string; hint: string; context: Record<string, unknown> } {
    const context: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.context)) context[k] = typeof v === "bigint" ? v.toString() : v;
    return { code: this.code, message: this.message, hint: this.hint, context };
  }
}

function composeMessage(summary: string, detail: string | undefined, context: ErrorContext): string {
  const where: string[] = [];
  if (context.file !== undefined) where.push(context.file);
  if (context.offset !== undefined) where.push(`at byte ${context.offset}`);
  if (context.topic !== undefined) where.push(`topic ${context.topic}`);
  const head = detail ? `${summary}: ${detail}` : summary;
  return where.length > 0 ? `${head} (${where.join(", ")})` : head;
}

export function isStrataError(value: unknown): value is StrataError {
  return value instanceof StrataError;
}

/** Turns anything thrown into a StrataError; unknown errors become STRATA_E_INTERNAL with the cause kept. */
export function toStrataError(value: unknown, context: ErrorContext = {}): StrataError {
  if (value instanceof StrataError) return value;
  const code = (value as { code?: unknown } | null)?.code;
  if (code === "ENOENT")
    return new StrataError("STRATA_E_FILE_NOT_FOUND", undefined, context, { cause: value });
  const message = value instanceof Error ? value.message : String(value);
  return new StrataError("STRATA_E_INTERNAL", message, context, { cause: value });
}
