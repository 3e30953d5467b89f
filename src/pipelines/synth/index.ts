/**
 * Synthetic capture generator: a seeded town drive with every sensor, switchable faults and a
 * ground-truth sidecar (`<capture>.truth.json`, see CaptureTruth).
 *
 * Topics (MCAP: ROS 2 profile, CDR, `ros2msg` schemas; bag: ROS 1 types with md5 + definitions):
 *   /tf_static            tf2_msgs/TFMessage         base_link → imu, gps, lidar, camera_{front,left}_optical
 *   /tf, /odom            TFMessage, nav_msgs/Odometry  50 Hz, odom → base_link (odom = ENU at the start)
 *   /imu                  sensor_msgs/Imu            200 Hz, noise + bias
 *   /gps/fix              sensor_msgs/NavSatFix      10 Hz, WGS84 (ENU → ECEF → geodetic)
 *   /camera_{front,left}/camera_info, …/image/compressed   10 Hz, 640×400 JPEG rendered through K and TF
 *   /lidar/points         sensor_msgs/PointCloud2    10 Hz, 32 beams × 2048 columns; x y z intensity ring
 *   /perception/objects   strata_msgs/ObjectArray    10 Hz, boxes with class, track id, velocity (base_link)
 *   /diagnostics          diagnostic_msgs/DiagnosticArray  1 Hz
 * Events: hard-braking, pedestrian-crossing, cut-in, intersection-stop, cyclist-overtaking, u-turn
 * (plus plain turns). Faults: FAULT_KINDS.
 */
export { FAULT_KINDS, type FaultKind } from "./faults.ts";
export {
  DEFAULT_START_TIME_NS,
  type GenerateCaptureOptions,
  type GenerateCaptureResult,
  generateCapture,
} from "./generate.ts";
export type {
  CaptureTruth,
  NsString,
  TruthAgent,
  TruthCalibration,
  TruthCamera,
  TruthEvent,
  TruthFault,
  TruthStaticBox,
  TruthTransform,
} from "./truth.ts";
export { type EventKind, SCRIPTED_EVENTS } from "./world.ts";
