/** Calibration from a decoded `sensor_msgs/CameraInfo`, and the content hash of calibrations. */
import { canonicalJson, type Sha256Hex, StrataError, sha256Hex } from "../../core/index.ts";
import type { CameraCalibration } from "./types.ts";
import { normalizeRosDistortionModel } from "./yaml-files.ts";

/** The fields of a decoded CameraInfo that matter here: ROS 1 (`D K R P`) or ROS 2 (`d k r p`) names. */
export interface CameraInfoMessage {
  header?: { frame_id?: string };
  height: number;
  width: number;
  distortion_model: string;
  D?: ArrayLike<number>;
  K?: ArrayLike<number>;
  R?: ArrayLike<number>;
  P?: ArrayLike<number>;
  d?: ArrayLike<number>;
  k?: ArrayLike<number>;
  r?: ArrayLike<number>;
  p?: ArrayLike<number>;
}

export interface CameraInfoOptions {
  /** Defaults to the message's `header.frame_id`, else `camera`. */
  cameraName?: string;
  /** Names the topic in error messages. */
  topic?: string;
}

function field(
  msg: CameraInfoMessage,
  upper: "D" | "K" | "R" | "P",
  length: number | undefined,
  opts: CameraInfoOptions,
): number[] {
  const lower = upper.toLowerCase() as "d" | "k" | "r" | "p";
  const value = msg[upper] ?? msg[lower];
  if (value === undefined) {
    throw new StrataError(
      "STRATA_E_CALIBRATION_FORMAT",
      `CameraInfo has no ${upper}/${lower}`,
      opts.topic ? { topic: opts.topic } : {},
    );
  }
  const out = Array.from(value, Number);
  if (length !== undefined && out.length !== length) {
    throw new StrataError(
      "STRATA_E_CALIBRATION_FORMAT",
      `CameraInfo ${upper} must have ${length} values, has ${out.length}`,
      opts.topic ? { topic: opts.topic } : {},
    );
  }
  return out;
}

/** Normalized calibration of a decoded `sensor_msgs/CameraInfo` (intrinsics only; extrinsics come from TF). */
export function calibrationFromCameraInfo(
  msg: CameraInfoMessage,
  opts: CameraInfoOptions = {},
): CameraCalibration {
  const frameId = msg.header?.frame_id;
  return {
    cameraName: opts.cameraName ?? (frameId ? frameId.replace(/^\//, "") : "camera"),
    model: normalizeRosDistortionModel(msg.distortion_model ?? "", opts.topic ? { source: opts.topic } : {}),
    width: msg.width,
    height: msg.height,
    K: field(msg, "K", 9, opts),
    D: field(msg, "D", undefined, opts),
    R: field(msg, "R", 9, opts),
    P: field(msg, "P", 12, opts),
    source: { format: "camera-info-message" },
  };
}

/**
 * Content hash of one calibration or a rig's set: SHA-256 of the canonical JSON of the calibration values,
 * without `source` (provenance), cameras sorted by name. The same values give the same hash whichever
 * file or message they came from, so it versions calibrations per rig.
 */
export function calibrationContentHash(
  calibration: CameraCalibration | readonly CameraCalibration[],
): Sha256Hex {
  const list = Array.isArray(calibration) ? [...calibration] : [calibration as CameraCalibration];
  const values = list
    .map(({ source: _source, ...rest }) => rest)
    .sort((a, b) => (a.cameraName < b.cameraName ? -1 : a.cameraName > b.cameraName ? 1 : 0));
  return sha256Hex(canonicalJson(values));
}
