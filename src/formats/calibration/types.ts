import type { Quat, Vec3 } from "../../core/index.ts";

/** ROS `sensor_msgs/CameraInfo.distortion_model` values (`none`: no distortion model given). */
export type RosDistortionModel = "plumb_bob" | "rational_polynomial" | "equidistant" | "none";
/** Kalibr projection models and distortion models; a Kalibr camera's model is `projection-distortion`. */
export type KalibrCameraModel = "pinhole" | "omni" | "ds" | "eucm";
export type KalibrDistortionModel = "radtan" | "equidistant" | "fov" | "none";

/**
 * Camera model of a normalized calibration. ROS sources keep the ROS name (`plumb_bob`: k1 k2 p1 p2 k3;
 * `rational_polynomial`: k1 k2 p1 p2 k3 k4 k5 k6; `equidistant`: k1..k4, the OpenCV fisheye model).
 * Kalibr sources keep Kalibr's pair, e.g. `pinhole-radtan` (k1 k2 p1 p2, plumb_bob without k3) or
 * `pinhole-equidistant` (k1..k4, same as ROS `equidistant`).
 */
export type CameraModel = RosDistortionModel | `${KalibrCameraModel}-${KalibrDistortionModel}`;

/** A fixed transform `parentFromChild`: the pose of `childFrame` in `parentFrame`. */
export interface CameraExtrinsics {
  parentFrame: string;
  childFrame: string;
  translation: Vec3;
  rotation: Quat;
}

export type CalibrationSourceFormat =
  | "ros-camera-info-yaml"
  | "kalibr-yaml"
  /** Kalibr-like YAML as OpenVINS writes it: `%YAML:1.0` first line and/or `T_imu_cam`. */
  | "openvins-kalibr-yaml"
  | "camera-info-message";

/** One camera's calibration, normalized from any supported source. Plain arrays so it hashes canonically. */
export interface CameraCalibration {
  /** `camera_name` (ROS YAML), the `camN` key (Kalibr), or the message's frame id. */
  cameraName: string;
  model: CameraModel;
  width: number;
  height: number;
  /** Intrinsic matrix, 3×3 row-major: [fx 0 cx; 0 fy cy; 0 0 1]. */
  K: number[];
  /** Distortion coefficients in the model's order. */
  D: number[];
  /** Rectification matrix, 3×3 row-major (ROS sources). */
  R?: number[];
  /** Projection matrix, 3×4 row-major (ROS sources). */
  P?: number[];
  /** Leading Kalibr intrinsics that are not focal length/centre (omni: xi; ds: xi, alpha; eucm: alpha, beta). */
  modelParams?: number[];
  /** `imuFromCamera` (parent: the IMU frame, child: this camera) when the source has it. */
  extrinsics?: CameraExtrinsics;
  /** `previousCameraFromCamera` (Kalibr `T_cn_cnm1` inverted: parent = previous camera in the chain). */
  previousCameraExtrinsics?: CameraExtrinsics;
  /** The image topic (Kalibr `rostopic`). */
  topic?: string;
  /** Kalibr `timeshift_cam_imu`: t_imu = t_cam + shift, seconds. */
  timeshiftCamImuSecs?: number;
  /** Kalibr `cam_overlaps`, as camera names. */
  overlappingCameras?: string[];
  /** Provenance: the format, and the 4×4 transforms exactly as written (row-major), by field name. */
  source: { format: CalibrationSourceFormat; transforms?: Record<string, number[]> };
}
