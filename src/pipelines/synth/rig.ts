/**
 * The sensor rig: where each sensor sits on the robot (base_link → sensor, the published
 * /tf_static) and the camera and lidar models. Small seeded perturbations make every seed's
 * calibration slightly different, as on real robots.
 */
import {
  type Mat3,
  matFromColumns,
  matFromQuat,
  quatFromMat,
  quatFromRpy,
  quatMultiply,
  type Transform,
  vec3,
} from "./geometry.ts";
import type { PinholeModel } from "./render.ts";
import { forkRng } from "./rng.ts";
import { round4 } from "./town.ts";

export type CameraName = "camera_front" | "camera_left";

export interface CameraRig {
  name: CameraName;
  /** Optical frame: z forward, x right, y down. */
  frameId: string;
  model: PinholeModel;
  baseFromCamera: Transform;
}

export interface LidarRig {
  frameId: "lidar";
  /** Translation plus a rotation about z only (the spin axis is vertical). */
  baseFromLidar: Transform;
  mountYawRad: number;
  /** Beam elevations, ring 0 (lowest) first. */
  elevationsRad: Float64Array;
  columns: number;
  maxRangeM: number;
  minRangeM: number;
  rangeNoiseSigmaM: number;
}

export interface Rig {
  cameras: CameraRig[];
  lidar: LidarRig;
  baseFromImu: Transform;
  baseFromGps: Transform;
}

export const IMAGE_WIDTH = 640;
export const IMAGE_HEIGHT = 400;

/** base_link ← optical frame of a camera looking along base +x: x_opt = −y, y_opt = −z, z_opt = +x. */
const OPTICAL_IN_BASE: Mat3 = matFromColumns(vec3(0, -1, 0), vec3(0, 0, -1), vec3(1, 0, 0));

export function buildRig(seed: number): Rig {
  const rng = forkRng(seed, "rig");
  const deg = Math.PI / 180;
  const jitter = (amount: number): number => rng.range(-amount, amount);
  const opticalQuat = quatFromMat(OPTICAL_IN_BASE);
  const camera = (
    name: CameraName,
    x: number,
    y: number,
    z: number,
    yaw: number,
    pitch: number,
  ): CameraRig => {
    const mount = quatFromRpy(jitter(0.4) * deg, (pitch + jitter(0.6)) * deg, (yaw + jitter(0.8)) * deg);
    const f = round4(400 + jitter(6));
    return {
      name,
      frameId: `${name}_optical`,
      model: {
        width: IMAGE_WIDTH,
        height: IMAGE_HEIGHT,
        fx: f,
        fy: round4(f * (1 + jitter(0.002))),
        cx: round4((IMAGE_WIDTH - 1) / 2 + jitter(3)),
        cy: round4((IMAGE_HEIGHT - 1) / 2 + jitter(3)),
      },
      baseFromCamera: {
        translation: vec3(round4(x + jitter(0.01)), round4(y + jitter(0.01)), round4(z + jitter(0.01))),
        rotation: quatMultiply(mount, opticalQuat),
      },
    };
  };
  const cameras = [camera("camera_front", 1.9, 0, 1.45, 0, 6), camera("camera_left", 1.1, 0.92, 1.4, 90, 4)];
  const mountYawRad = jitter(2) * deg;
  const elevationsDeg: number[] = [];
  // 32 beams from −25° to +15°, denser around the horizon (like automotive 32-beam units).
  for (let i = 0; i < 32; i++) {
    const x = (i / 31) * 2 - 1; // −1 … 1
    const shaped = Math.sign(x) * Math.abs(x) ** 1.6;
    elevationsDeg.push(-5 + 20 * shaped);
  }
  const lidar: LidarRig = {
    frameId: "lidar",
    baseFromLidar: {
      translation: vec3(round4(0.9 + jitter(0.01)), round4(jitter(0.01)), round4(1.95 + jitter(0.01))),
      rotation: { x: 0, y: 0, z: Math.sin(mountYawRad / 2), w: Math.cos(mountYawRad / 2) },
    },
    mountYawRad,
    elevationsRad: Float64Array.from(elevationsDeg, (e) => e * deg),
    columns: 2048,
    maxRangeM: 120,
    minRangeM: 0.5,
    rangeNoiseSigmaM: 0.01,
  };
  return {
    cameras,
    lidar,
    baseFromImu: { translation: vec3(0, 0, 0.3), rotation: { x: 0, y: 0, z: 0, w: 1 } },
    baseFromGps: { translation: vec3(-0.25, 0, 1.72), rotation: { x: 0, y: 0, z: 0, w: 1 } },
  };
}

/** camera ← odom as a row-major rotation and translation, for the renderer. */
export function cameraFromOdom(
  egoX: number,
  egoY: number,
  egoYaw: number,
  baseFromCamera: Transform,
): { r: Float64Array; t: Float64Array } {
  const rbc = matFromQuat(baseFromCamera.rotation);
  const c = Math.cos(egoYaw);
  const s = Math.sin(egoYaw);
  // odom ← camera rotation = Rz(yaw) · R_bc.
  const roc = [
    c * rbc.m00 - s * rbc.m10,
    c * rbc.m01 - s * rbc.m11,
    c * rbc.m02 - s * rbc.m12,
    s * rbc.m00 + c * rbc.m10,
    s * rbc.m01 + c * rbc.m11,
    s * rbc.m02 + c * rbc.m12,
    rbc.m20,
    rbc.m21,
    rbc.m22,
  ] as const;
  const tb = baseFromCamera.translation;
  const tox = egoX + c * tb.x - s * tb.y;
  const toy = egoY + s * tb.x + c * tb.y;
  const toz = tb.z;
  // camera ← odom = transpose.
  const r = new Float64Array([roc[0], roc[3], roc[6], roc[1], roc[4], roc[7], roc[2], roc[5], roc[8]]);
  const t = new Float64Array([
    -(r[0]! * tox + r[1]! * toy + r[2]! * toz),
    -(r[3]! * tox + r[4]! * toy + r[5]! * toz),
    -(r[6]! * tox + r[7]! * toy + r[8]! * toz),
  ]);
  return { r, t };
}
