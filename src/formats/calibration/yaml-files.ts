/**
 * Calibration YAML files: ROS `camera_info` YAML (camera_calibration_parsers) and Kalibr camchain /
 * camchain-imucam YAML, including OpenVINS's variant (`%YAML:1.0` first line, `T_imu_cam`).
 */
import { parse as parseYaml } from "yaml";
import type { Se3 } from "../../core/index.ts";
import { quatFromMat3, StrataError, se3FromMatrix4, se3Inverse } from "../../core/index.ts";
import type {
  CalibrationSourceFormat,
  CameraCalibration,
  CameraExtrinsics,
  CameraModel,
  KalibrCameraModel,
  KalibrDistortionModel,
} from "./types.ts";

export interface CalibrationParseOptions {
  /** Names the input in error messages. */
  source?: string;
  /** Frame name of the IMU in Kalibr extrinsics. Default `imu0`. */
  imuFrame?: string;
}

const decoder = new TextDecoder();
const asText = (input: string | Uint8Array): string =>
  typeof input === "string" ? input : decoder.decode(input);

function calibError(detail: string, opts: CalibrationParseOptions, cause?: unknown): StrataError {
  return new StrataError(
    "STRATA_E_CALIBRATION_FORMAT",
    detail,
    opts.source !== undefined ? { file: opts.source } : {},
    cause === undefined ? undefined : { cause },
  );
}

/** OpenCV FileStorage's `%YAML:1.0` line is not a YAML directive; drop it (with any trailing comment). */
const OPENCV_HEADER = /^\uFEFF?%YAML:\d+\.\d+[^\n]*(\n|$)/;

function loadYaml(
  text: string,
  opts: CalibrationParseOptions,
): { doc: Record<string, unknown>; opencvHeader: boolean } {
  const opencvHeader = OPENCV_HEADER.test(text);
  const body = opencvHeader ? text.replace(OPENCV_HEADER, "") : text;
  let doc: unknown;
  try {
    doc = parseYaml(body);
  } catch (e) {
    throw calibError(`YAML syntax error: ${(e as Error).message.split("\n")[0]}`, opts, e);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    throw calibError("expected a YAML mapping at the top level", opts);
  return { doc: doc as Record<string, unknown>, opencvHeader };
}

function numberList(value: unknown, field: string, opts: CalibrationParseOptions, length?: number): number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "number")) {
    throw calibError(`\`${field}\` must be a list of numbers`, opts);
  }
  if (length !== undefined && value.length !== length) {
    throw calibError(`\`${field}\` must have ${length} numbers, has ${value.length}`, opts);
  }
  return [...(value as number[])];
}

function integer(value: unknown, field: string, opts: CalibrationParseOptions): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw calibError(`\`${field}\` must be a non-negative integer`, opts);
  }
  return value;
}

// ---------------------------------------------------------------- ROS camera_info YAML

/** A `{rows, cols, data}` matrix of the camera_calibration_parsers YAML, checked for size. */
function rosMatrix(
  doc: Record<string, unknown>,
  field: string,
  rows: number,
  cols: number | undefined,
  opts: CalibrationParseOptions,
): number[] {
  const m = doc[field] as { rows?: unknown; cols?: unknown; data?: unknown } | undefined;
  if (!m || typeof m !== "object") throw calibError(`missing \`${field}\``, opts);
  const r = integer(m.rows, `${field}.rows`, opts);
  const c = integer(m.cols, `${field}.cols`, opts);
  const data = numberList(m.data, `${field}.data`, opts);
  if (data.length !== r * c) {
    throw calibError(`\`${field}\` is ${r}×${c} but has ${data.length} values`, opts);
  }
  if (cols !== undefined && (r !== rows || c !== cols)) {
    throw calibError(`\`${field}\` must be ${rows}×${cols}, is ${r}×${c}`, opts);
  }
  return data;
}

const ROS_MODELS = new Set(["plumb_bob", "rational_polynomial", "equidistant"]);

/** ROS distortion model name, normalized (`""` → `none`; `fisheye`/`kannala_brandt` → `equidistant`). */
export function normalizeRosDistortionModel(name: string, opts: CalibrationParseOptions = {}): CameraModel {
  const lower = name.trim().toLowerCase();
  if (lower === "") return "none";
  if (ROS_MODELS.has(lower)) return lower as CameraModel;
  if (lower === "fisheye" || lower === "kannala_brandt" || lower === "equi") return "equidistant";
  throw calibError(`unsupported distortion_model "${name}"`, opts);
}

/** Parses a ROS `camera_info` YAML (the format camera_calibration and camera_info_manager write). */
export function parseCameraInfoYaml(
  input: string | Uint8Array,
  opts: CalibrationParseOptions = {},
): CameraCalibration {
  const { doc } = loadYaml(asText(input), opts);
  const name = doc.camera_name;
  const model = doc.distortion_model;
  if (typeof model !== "string") throw calibError("missing `distortion_model`", opts);
  const D = rosMatrix(doc, "distortion_coefficients", 1, undefined, opts);
  return {
    cameraName: name === undefined || name === null ? "camera" : String(name),
    model: normalizeRosDistortionModel(model, opts),
    width: integer(doc.image_width, "image_width", opts),
    height: integer(doc.image_height, "image_height", opts),
    K: rosMatrix(doc, "camera_matrix", 3, 3, opts),
    D,
    ...(doc.rectification_matrix !== undefined
      ? { R: rosMatrix(doc, "rectification_matrix", 3, 3, opts) }
      : {}),
    ...(doc.projection_matrix !== undefined ? { P: rosMatrix(doc, "projection_matrix", 3, 4, opts) } : {}),
    source: { format: "ros-camera-info-yaml" },
  };
}

// ---------------------------------------------------------------- Kalibr

const KALIBR_CAMERA_MODELS: Record<string, { model: KalibrCameraModel; leading: number }> = {
  pinhole: { model: "pinhole", leading: 0 },
  omni: { model: "omni", leading: 1 },
  ds: { model: "ds", leading: 2 },
  eucm: { model: "eucm", leading: 2 },
};
const KALIBR_DISTORTIONS: Record<string, KalibrDistortionModel> = {
  radtan: "radtan",
  equidistant: "equidistant",
  equi: "equidistant",
  fov: "fov",
  none: "none",
};

/** A 4×4 transform written as a list of 4 rows (Kalibr) → 16 numbers, row-major, exactly as written. */
function matrix4(value: unknown, field: string, opts: CalibrationParseOptions): number[] {
  if (!Array.isArray(value) || value.length !== 4)
    throw calibError(`\`${field}\` must be a 4×4 list of rows`, opts);
  const out: number[] = [];
  value.forEach((row, i) => out.push(...numberList(row, `${field}[${i}]`, opts, 4)));
  const last = out.slice(12);
  if (last[0] !== 0 || last[1] !== 0 || last[2] !== 0 || last[3] !== 1) {
    throw calibError(`\`${field}\` last row must be [0, 0, 0, 1]`, opts);
  }
  return out;
}

function extrinsicsOf(parentFromChild: Se3, parentFrame: string, childFrame: string): CameraExtrinsics {
  return {
    parentFrame,
    childFrame,
    translation: { ...parentFromChild.translation },
    rotation: quatFromMat3(parentFromChild.rotation),
  };
}

/** True if the document looks like a Kalibr camchain (`cam0`, `cam1`, … mappings with `intrinsics`). */
function isKalibr(doc: Record<string, unknown>): boolean {
  return Object.keys(doc).some((k) => /^cam\d+$/.test(k) && typeof doc[k] === "object" && doc[k] !== null);
}

/**
 * Parses a Kalibr camchain / camchain-imucam YAML (`cam0`, `cam1`, …), and OpenVINS's variant. Returns the
 * cameras in chain order. Extrinsics: `T_cam_imu` (camFromImu) is inverted to `imuFromCam`; OpenVINS's
 * `T_imu_cam` is `imuFromCam` already; `T_cn_cnm1` (camFromPreviousCam) becomes `previousCameraFromCam`.
 */
export function parseKalibrYaml(
  input: string | Uint8Array,
  opts: CalibrationParseOptions = {},
): CameraCalibration[] {
  const { doc, opencvHeader } = loadYaml(asText(input), opts);
  const imuFrame = opts.imuFrame ?? "imu0";
  const names = Object.keys(doc)
    .filter((k) => /^cam\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  if (names.length === 0) throw calibError("no `cam0`, `cam1`, … entries (not a Kalibr camchain)", opts);
  const out: CameraCalibration[] = [];
  names.forEach((name, index) => {
    const cam = doc[name] as Record<string, unknown>;
    const where = (field: string) => `${name}.${field}`;
    if (!cam || typeof cam !== "object") throw calibError(`\`${name}\` must be a mapping`, opts);
    const projection = KALIBR_CAMERA_MODELS[String(cam.camera_model ?? "")];
    if (!projection)
      throw calibError(`unsupported ${where("camera_model")} "${String(cam.camera_model)}"`, opts);
    const distortion = KALIBR_DISTORTIONS[String(cam.distortion_model ?? "none")];
    if (!distortion)
      throw calibError(`unsupported ${where("distortion_model")} "${String(cam.distortion_model)}"`, opts);
    const intrinsics = numberList(cam.intrinsics, where("intrinsics"), opts, projection.leading + 4);
    const [fu, fv, cu, cv] = intrinsics.slice(projection.leading) as [number, number, number, number];
    const resolution = numberList(cam.resolution, where("resolution"), opts, 2);
    const D =
      cam.distortion_coeffs === undefined
        ? []
        : numberList(cam.distortion_coeffs, where("distortion_coeffs"), opts);
    const transforms: Record<string, number[]> = {};
    let extrinsics: CameraExtrinsics | undefined;
    if (cam.T_cam_imu !== undefined) {
      transforms.T_cam_imu = matrix4(cam.T_cam_imu, where("T_cam_imu"), opts);
      extrinsics = extrinsicsOf(se3Inverse(se3FromMatrix4(transforms.T_cam_imu)), imuFrame, name);
    } else if (cam.T_imu_cam !== undefined) {
      transforms.T_imu_cam = matrix4(cam.T_imu_cam, where("T_imu_cam"), opts);
      extrinsics = extrinsicsOf(se3FromMatrix4(transforms.T_imu_cam), imuFrame, name);
    }
    let previousCameraExtrinsics: CameraExtrinsics | undefined;
    if (cam.T_cn_cnm1 !== undefined) {
      if (index === 0) throw calibError(`\`${name}\` is the first camera but has T_cn_cnm1`, opts);
      transforms.T_cn_cnm1 = matrix4(cam.T_cn_cnm1, where("T_cn_cnm1"), opts);
      previousCameraExtrinsics = extrinsicsOf(
        se3Inverse(se3FromMatrix4(transforms.T_cn_cnm1)),
        names[index - 1] as string,
        name,
      );
    }
    const overlaps =
      cam.cam_overlaps === undefined ? undefined : numberList(cam.cam_overlaps, where("cam_overlaps"), opts);
    const format: CalibrationSourceFormat =
      opencvHeader || transforms.T_imu_cam !== undefined ? "openvins-kalibr-yaml" : "kalibr-yaml";
    out.push({
      cameraName: name,
      model: `${projection.model}-${distortion}`,
      width: resolution[0] as number,
      height: resolution[1] as number,
      K: [fu, 0, cu, 0, fv, cv, 0, 0, 1],
      D,
      ...(projection.leading > 0 ? { modelParams: intrinsics.slice(0, projection.leading) } : {}),
      ...(extrinsics ? { extrinsics } : {}),
      ...(previousCameraExtrinsics ? { previousCameraExtrinsics } : {}),
      ...(typeof cam.rostopic === "string" ? { topic: cam.rostopic } : {}),
      ...(typeof cam.timeshift_cam_imu === "number" ? { timeshiftCamImuSecs: cam.timeshift_cam_imu } : {}),
      ...(overlaps ? { overlappingCameras: overlaps.map((i) => `cam${i}`) } : {}),
      source: { format, ...(Object.keys(transforms).length > 0 ? { transforms } : {}) },
    });
  });
  return out;
}

/** Parses either calibration YAML, detected by content; always returns a list of cameras. */
export function parseCalibrationYaml(
  input: string | Uint8Array,
  opts: CalibrationParseOptions = {},
): CameraCalibration[] {
  const text = asText(input);
  const { doc } = loadYaml(text, opts);
  if ("camera_matrix" in doc) return [parseCameraInfoYaml(text, opts)];
  if (isKalibr(doc)) return parseKalibrYaml(text, opts);
  throw calibError("neither a ROS camera_info YAML (camera_matrix) nor a Kalibr camchain (cam0, …)", opts);
}
