/**
 * Calibrations in the catalog: a calibration is `{cameras, extrinsics}` (intrinsics as normalized by
 * formats/calibration, extrinsics as `parentFromChild` transforms), identified by the SHA-256 of its values,
 * versioned per rig (1, 2, … in the order first seen), accepted by a person, and linked from every capture
 * recorded with it. Drift events (within a capture, or against the rig's last accepted calibration) are rows
 * of the capture.
 */
import type { Catalog } from "../../catalog/index.ts";
import { canonicalJson, nowNs, type Sha256Hex, StrataError, sha256Hex } from "../../core/index.ts";
import type { CameraCalibration } from "../../formats/index.ts";
import {
  compareExtrinsics,
  type DriftThresholds,
  type Extrinsic,
  type ExtrinsicComparison,
} from "./drift.ts";
import { normalizeFrameId } from "./tf-buffer.ts";

/** The values of a calibration: cameras sorted by name, extrinsics by child then parent frame. */
export interface CalibrationBody {
  cameras: CameraCalibration[];
  extrinsics: Extrinsic[];
}

export type CalibrationSource = "capture" | "import";

export interface CalibrationRecord {
  calibrationId: string;
  contentSha256: Sha256Hex;
  rig: string | null;
  source: CalibrationSource;
  sourceRef: string | null;
  recordedAtNs: bigint;
  createdAtNs: bigint;
  body: CalibrationBody;
}

export interface RigCalibrationRecord {
  rig: string;
  calibrationId: string;
  version: number;
  createdAtNs: bigint;
  accepted: boolean;
  acceptedAtNs: bigint | null;
  acceptedBy: string | null;
  source: CalibrationSource;
  recordedAtNs: bigint;
  cameraCount: number;
  extrinsicCount: number;
}

export type DriftKind = "within-capture" | "vs-accepted";

export interface DriftEvent {
  kind: DriftKind;
  /** The child frame of the edge that moved. */
  frame: string;
  parentFrame: string;
  atNs: bigint;
  rotationDeg: number;
  translationM: number;
  /** `vs-accepted`: the accepted calibration it was compared with. */
  referenceCalibrationId: string | null;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts cameras and extrinsics and strips leading slashes of frame ids, so equal values hash equal. */
export function normalizeCalibrationBody(body: CalibrationBody): CalibrationBody {
  const extrinsics = body.extrinsics
    .map((e) => ({
      parentFrame: normalizeFrameId(e.parentFrame),
      childFrame: normalizeFrameId(e.childFrame),
      translation: { x: e.translation.x, y: e.translation.y, z: e.translation.z },
      rotation: { x: e.rotation.x, y: e.rotation.y, z: e.rotation.z, w: e.rotation.w },
    }))
    .sort((a, b) => byString(a.childFrame, b.childFrame) || byString(a.parentFrame, b.parentFrame));
  const cameras = [...body.cameras].sort((a, b) => byString(a.cameraName, b.cameraName));
  return { cameras, extrinsics };
}

/**
 * Content hash of a calibration's values (camera `source` provenance left out: the same values from a
 * file or a capture are the same calibration), and its id `cal_` + the first 16 hex digits.
 */
export function calibrationIdOf(body: CalibrationBody): { calibrationId: string; contentSha256: Sha256Hex } {
  const normalized = normalizeCalibrationBody(body);
  const values = {
    cameras: normalized.cameras.map(({ source: _source, ...rest }) => rest),
    extrinsics: normalized.extrinsics,
  };
  const contentSha256 = sha256Hex(canonicalJson(values));
  return { calibrationId: `cal_${contentSha256.slice(0, 16)}`, contentSha256 };
}

/** The calibration of imported camera files: cameras as parsed, their `extrinsics` as the rig's extrinsics. */
export function calibrationBodyFromCameras(cameras: readonly CameraCalibration[]): CalibrationBody {
  return normalizeCalibrationBody({
    cameras: [...cameras],
    extrinsics: cameras.flatMap((c) => (c.extrinsics ? [{ ...c.extrinsics }] : [])),
  });
}

// ---------------------------------------------------------------- diff

export interface CameraDiff {
  cameraName: string;
  status: "same" | "changed" | "only-in-a" | "only-in-b";
  /** Fields whose values differ (model, width, height, K, D, …) with both values. */
  changes: Array<{ field: string; a: unknown; b: unknown }>;
}

export interface CalibrationDiff {
  cameras: CameraDiff[];
  extrinsics: ExtrinsicComparison;
  /** Any camera changed, any extrinsic beyond the thresholds, or an edge/camera on one side only. */
  differs: boolean;
}

const CAMERA_FIELDS = ["model", "width", "height", "K", "D", "R", "P", "modelParams"] as const;

/** Camera by camera (intrinsics field by field), extrinsic by extrinsic (rotation/translation deltas). */
export function diffCalibrations(
  a: CalibrationBody,
  b: CalibrationBody,
  thresholds: DriftThresholds = {},
): CalibrationDiff {
  const camerasA = new Map(a.cameras.map((c) => [c.cameraName, c]));
  const camerasB = new Map(b.cameras.map((c) => [c.cameraName, c]));
  const names = [...new Set([...camerasA.keys(), ...camerasB.keys()])].sort(byString);
  const cameras: CameraDiff[] = names.map((cameraName) => {
    const ca = camerasA.get(cameraName);
    const cb = camerasB.get(cameraName);
    if (!ca) return { cameraName, status: "only-in-b", changes: [] };
    if (!cb) return { cameraName, status: "only-in-a", changes: [] };
    const changes = CAMERA_FIELDS.filter((f) => canonicalJson(ca[f]) !== canonicalJson(cb[f])).map(
      (field) => ({
        field,
        a: ca[field] ?? null,
        b: cb[field] ?? null,
      }),
    );
    return { cameraName, status: changes.length > 0 ? "changed" : "same", changes };
  });
  const extrinsics = compareExtrinsics(a.extrinsics, b.extrinsics, thresholds);
  const differs =
    cameras.some((c) => c.status !== "same") ||
    extrinsics.drifted ||
    extrinsics.onlyInA.length > 0 ||
    extrinsics.onlyInB.length > 0;
  return { cameras, extrinsics, differs };
}

// ---------------------------------------------------------------- catalog access

/** Queries through `catalog.db` raise catalogue errors like the Catalog's own methods. */
async function query<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StrataError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const conflict = /unique|constraint|duplicate key/i.test(message);
    throw new StrataError(
      conflict ? "STRATA_E_CONFLICT" : "STRATA_E_CATALOG",
      `${operation}: ${message}`,
      { operation },
      { cause: error },
    );
  }
}

function calibrationRecord(row: {
  calibration_id: string;
  content_sha256: string;
  rig: string | null;
  source: string;
  source_ref: string | null;
  recorded_at_ns: bigint;
  created_at_ns: bigint;
  body: string;
}): CalibrationRecord {
  return {
    calibrationId: row.calibration_id,
    contentSha256: row.content_sha256,
    rig: row.rig,
    source: row.source as CalibrationSource,
    sourceRef: row.source_ref,
    recordedAtNs: BigInt(row.recorded_at_ns),
    createdAtNs: BigInt(row.created_at_ns),
    body: JSON.parse(row.body) as CalibrationBody,
  };
}

export interface PutCalibrationInput {
  body: CalibrationBody;
  source: CalibrationSource;
  sourceRef?: string | null;
  rig?: string | null;
  recordedAtNs: bigint;
}

/** Stores a calibration unless its content is already stored; returns its id and whether it was new. */
export async function putCalibration(
  catalog: Catalog,
  input: PutCalibrationInput,
): Promise<{ calibrationId: string; contentSha256: Sha256Hex; created: boolean }> {
  const body = normalizeCalibrationBody(input.body);
  const { calibrationId, contentSha256 } = calibrationIdOf(body);
  const existing = await query("calibration lookup", () =>
    catalog.db
      .selectFrom("calibrations")
      .select("calibration_id")
      .where("calibration_id", "=", calibrationId)
      .executeTakeFirst(),
  );
  if (existing) return { calibrationId, contentSha256, created: false };
  await query("calibration insert", () =>
    catalog.db
      .insertInto("calibrations")
      .values({
        calibration_id: calibrationId,
        content_sha256: contentSha256,
        rig: input.rig ?? null,
        source: input.source,
        source_ref: input.sourceRef ?? null,
        recorded_at_ns: input.recordedAtNs,
        created_at_ns: nowNs(),
        body: canonicalJson(body),
      })
      .execute(),
  );
  return { calibrationId, contentSha256, created: true };
}

/**
 * Makes `calibrationId` a version of `rig` (the next number) unless it already is one. Call inside a
 * transaction: the next number is read, then written.
 */
export async function versionCalibration(
  catalog: Catalog,
  rig: string,
  calibrationId: string,
): Promise<{ version: number; created: boolean }> {
  const existing = await query("rig calibration lookup", () =>
    catalog.db
      .selectFrom("rig_calibrations")
      .select("version")
      .where("rig", "=", rig)
      .where("calibration_id", "=", calibrationId)
      .executeTakeFirst(),
  );
  if (existing) return { version: Number(existing.version), created: false };
  const last = await query("rig calibration version", () =>
    catalog.db
      .selectFrom("rig_calibrations")
      .select((eb) => eb.fn.max("version").as("version"))
      .where("rig", "=", rig)
      .executeTakeFirst(),
  );
  const version = Number(last?.version ?? 0) + 1;
  await query("rig calibration insert", () =>
    catalog.db
      .insertInto("rig_calibrations")
      .values({ rig, calibration_id: calibrationId, version, created_at_ns: nowNs(), accepted: 0 })
      .execute(),
  );
  return { version, created: true };
}

export async function getCalibration(
  catalog: Catalog,
  calibrationId: string,
): Promise<CalibrationRecord | undefined> {
  const row = await query("calibration read", () =>
    catalog.db
      .selectFrom("calibrations")
      .selectAll()
      .where((eb) =>
        eb.or([eb("calibration_id", "=", calibrationId), eb("content_sha256", "=", calibrationId)]),
      )
      .executeTakeFirst(),
  );
  return row ? calibrationRecord(row) : undefined;
}

/** The versions of one rig (or of every rig), rig then version order. */
export async function listRigCalibrations(
  catalog: Catalog,
  filter: { rig?: string; calibrationId?: string } = {},
): Promise<RigCalibrationRecord[]> {
  const rows = await query("rig calibrations list", () => {
    let q = catalog.db
      .selectFrom("rig_calibrations as r")
      .innerJoin("calibrations as c", "c.calibration_id", "r.calibration_id")
      .select([
        "r.rig",
        "r.calibration_id",
        "r.version",
        "r.created_at_ns",
        "r.accepted",
        "r.accepted_at_ns",
        "r.accepted_by",
        "c.source",
        "c.recorded_at_ns",
        "c.body",
      ]);
    if (filter.rig !== undefined) q = q.where("r.rig", "=", filter.rig);
    if (filter.calibrationId !== undefined) q = q.where("r.calibration_id", "=", filter.calibrationId);
    return q.orderBy("r.rig").orderBy("r.version").execute();
  });
  return rows.map((row) => {
    const body = JSON.parse(row.body) as CalibrationBody;
    return {
      rig: row.rig,
      calibrationId: row.calibration_id,
      version: Number(row.version),
      createdAtNs: BigInt(row.created_at_ns),
      accepted: Number(row.accepted) === 1,
      acceptedAtNs: row.accepted_at_ns === null ? null : BigInt(row.accepted_at_ns),
      acceptedBy: row.accepted_by,
      source: row.source as CalibrationSource,
      recordedAtNs: BigInt(row.recorded_at_ns),
      cameraCount: body.cameras.length,
      extrinsicCount: body.extrinsics.length,
    };
  });
}

/** Marks a rig's calibration version accepted (idempotent: the first acceptance's time and person stay). */
export async function acceptCalibration(
  catalog: Catalog,
  rig: string,
  calibrationId: string,
  actor: string,
  atNs: bigint = nowNs(),
): Promise<RigCalibrationRecord> {
  const [current] = await listRigCalibrations(catalog, { rig, calibrationId });
  if (!current) {
    throw new StrataError(
      "STRATA_E_NOT_FOUND",
      `calibration ${calibrationId} is not a version of rig "${rig}"`,
      {
        rig,
        calibrationId,
      },
    );
  }
  if (current.accepted) return current;
  await query("calibration accept", () =>
    catalog.db
      .updateTable("rig_calibrations")
      .set({ accepted: 1, accepted_at_ns: atNs, accepted_by: actor })
      .where("rig", "=", rig)
      .where("calibration_id", "=", calibrationId)
      .execute(),
  );
  return { ...current, accepted: true, acceptedAtNs: atNs, acceptedBy: actor };
}

/** The rig's most recently accepted calibration (latest acceptance, then highest version). */
export async function lastAcceptedCalibration(
  catalog: Catalog,
  rig: string,
): Promise<(CalibrationRecord & { version: number }) | undefined> {
  const row = await query("accepted calibration", () =>
    catalog.db
      .selectFrom("rig_calibrations")
      .select(["calibration_id", "version"])
      .where("rig", "=", rig)
      .where("accepted", "=", 1n)
      .orderBy("accepted_at_ns", "desc")
      .orderBy("version", "desc")
      .limit(1)
      .executeTakeFirst(),
  );
  if (!row) return undefined;
  const record = await getCalibration(catalog, row.calibration_id);
  return record ? { ...record, version: Number(row.version) } : undefined;
}

export async function linkCaptureCalibration(
  catalog: Catalog,
  captureId: string,
  calibrationId: string,
): Promise<void> {
  await query("capture calibration link", () =>
    catalog.db
      .insertInto("capture_calibration")
      .values({ capture_id: captureId, calibration_id: calibrationId })
      .execute(),
  );
}

export async function captureCalibrationId(catalog: Catalog, captureId: string): Promise<string | undefined> {
  const row = await query("capture calibration read", () =>
    catalog.db
      .selectFrom("capture_calibration")
      .select("calibration_id")
      .where("capture_id", "=", captureId)
      .executeTakeFirst(),
  );
  return row?.calibration_id;
}

/** Captures recorded with a calibration. */
export async function capturesWithCalibration(catalog: Catalog, calibrationId: string): Promise<string[]> {
  const rows = await query("calibration captures", () =>
    catalog.db
      .selectFrom("capture_calibration")
      .select("capture_id")
      .where("calibration_id", "=", calibrationId)
      .orderBy("capture_id")
      .execute(),
  );
  return rows.map((r) => r.capture_id);
}

export async function insertDriftEvents(
  catalog: Catalog,
  captureId: string,
  events: readonly DriftEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await query("drift insert", () =>
    catalog.db
      .insertInto("calibration_drift")
      .values(
        events.map((e, ordinal) => ({
          capture_id: captureId,
          ordinal,
          kind: e.kind,
          frame: e.frame,
          parent_frame: e.parentFrame,
          at_ns: e.atNs,
          rotation_deg: e.rotationDeg,
          translation_m: e.translationM,
          reference_calibration_id: e.referenceCalibrationId,
        })),
      )
      .execute(),
  );
}

/** Drift events of a capture in time order. */
export async function listDriftEvents(catalog: Catalog, captureId: string): Promise<DriftEvent[]> {
  const rows = await query("drift list", () =>
    catalog.db
      .selectFrom("calibration_drift")
      .selectAll()
      .where("capture_id", "=", captureId)
      .orderBy("at_ns")
      .orderBy("ordinal")
      .execute(),
  );
  return rows.map((r) => ({
    kind: r.kind as DriftKind,
    frame: r.frame,
    parentFrame: r.parent_frame,
    atNs: BigInt(r.at_ns),
    rotationDeg: Number(r.rotation_deg),
    translationM: Number(r.translation_m),
    referenceCalibrationId: r.reference_calibration_id,
  }));
}
