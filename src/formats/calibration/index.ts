export {
  type CameraInfoMessage,
  type CameraInfoOptions,
  calibrationContentHash,
  calibrationFromCameraInfo,
} from "./camera-info.ts";
export type {
  CalibrationSourceFormat,
  CameraCalibration,
  CameraExtrinsics,
  CameraModel,
  KalibrCameraModel,
  KalibrDistortionModel,
  RosDistortionModel,
} from "./types.ts";
export {
  type CalibrationParseOptions,
  normalizeRosDistortionModel,
  parseCalibrationYaml,
  parseCameraInfoYaml,
  parseKalibrYaml,
} from "./yaml-files.ts";
