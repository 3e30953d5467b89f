import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  mat3Determinant,
  mat3FromQuat,
  mat3Multiply,
  mat3Transpose,
  StrataError,
  se3Compose,
  se3FromMatrix4,
  se3FromTranslationQuat,
  se3Inverse,
} from "../../core/index.ts";
import {
  type CameraCalibration,
  calibrationContentHash,
  calibrationFromCameraInfo,
  parseCalibrationYaml,
  parseCameraInfoYaml,
  parseKalibrYaml,
} from "./index.ts";

const fixtures = new URL("../../../../shared/fixtures/calibration/", import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, fixtures), "utf8");

function expectCode(fn: () => unknown, code: string, pattern?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(StrataError);
    expect((e as StrataError).code).toBe(code);
    if (pattern) expect((e as StrataError).message).toMatch(pattern);
    return;
  }
  throw new Error("expected a StrataError");
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Math.max(...Array.from(a, (v, i) => Math.abs(v - (b[i] as number))));

describe("ROS camera_info YAML", () => {
  it("reads ros_camera_info_test_calibration.yaml exactly", () => {
    const cal = parseCameraInfoYaml(read("ros_camera_info_test_calibration.yaml"));
    expect(cal).toEqual({
      cameraName: "08144361026320a0",
      model: "plumb_bob",
      width: 640,
      height: 480,
      K: [1168.68, 0, 295.015, 0, 1169.01, 252.247, 0, 0, 1],
      D: [-1.04482, 1.59252, -0.0196308, 0.0287906, 0],
      R: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      P: [1168.68, 0, 295.015, 0, 0, 1169.01, 252.247, 0, 0, 0, 1, 0],
      source: { format: "ros-camera-info-yaml" },
    });
  });

  it("checks rows × cols against data and names the file", () => {
    const broken = read("ros_camera_info_test_calibration.yaml").replace(
      "data: [1, 0, 0, 0, 1, 0, 0, 0, 1]",
      "data: [1, 0, 0]",
    );
    expectCode(
      () => parseCameraInfoYaml(broken, { source: "cam.yaml" }),
      "STRATA_E_CALIBRATION_FORMAT",
      /rectification_matrix.*3×3 but has 3 values.*cam\.yaml/,
    );
    expectCode(
      () => parseCameraInfoYaml("image_width: [", { source: "x.yaml" }),
      "STRATA_E_CALIBRATION_FORMAT",
      /YAML syntax/,
    );
    const unknownModel = read("ros_camera_info_test_calibration.yaml").replace("plumb_bob", "mystery");
    expectCode(() => parseCameraInfoYaml(unknownModel), "STRATA_E_CALIBRATION_FORMAT", /mystery/);
  });
});

describe("Kalibr camchain-imucam (UZH-FPV, %YAML:1.0 header)", () => {
  const cams = parseKalibrYaml(read("uzhfpv_indoor_kalibr_imucam_chain.yaml"));
  const [cam0, cam1] = cams as [CameraCalibration, CameraCalibration];

  it("reads the intrinsics, distortion, resolution, topic and time shift exactly", () => {
    expect(cams).toHaveLength(2);
    expect(cam0.cameraName).toBe("cam0");
    expect(cam0.model).toBe("pinhole-equidistant");
    expect(cam0.K).toEqual([
      278.66723066149086, 0, 319.75221200593535, 0, 278.48991409740296, 241.96858910358173, 0, 0, 1,
    ]);
    // the coefficient list wrapped onto two lines
    expect(cam0.D).toEqual([
      -0.013721808247486035, 0.020727425669427896, -0.012786476702685545, 0.0025242267320687625,
    ]);
    expect([cam0.width, cam0.height]).toEqual([640, 480]);
    expect(cam0.topic).toBe("/snappy_cam/stereo_l");
    expect(cam0.timeshiftCamImuSecs).toBe(-0.016684572091862235);
    expect(cam0.overlappingCameras).toEqual(["cam1"]);
    expect(cam1.K).toEqual([
      277.61640629770613, 0, 314.8944703346039, 0, 277.63749695723294, 236.04310050462587, 0, 0, 1,
    ]);
    expect(cam1.timeshiftCamImuSecs).toBe(-0.016591431247074982);
    expect(cam0.source.transforms?.T_cam_imu?.[3]).toBe(0.02172388268966517);
  });

  it("turns T_cam_imu into imuFromCam extrinsics and T_cn_cnm1 into cam0FromCam1", () => {
    expect(cam0.extrinsics).toMatchObject({ parentFrame: "imu0", childFrame: "cam0" });
    const camFromImu = se3FromMatrix4(cam0.source.transforms?.T_cam_imu as number[]);
    const imuFromCam = se3FromTranslationQuat(cam0.extrinsics!.translation, cam0.extrinsics!.rotation);
    const shouldBeIdentity = se3Compose(camFromImu, imuFromCam);
    expect(maxAbsDiff(shouldBeIdentity.rotation, [1, 0, 0, 0, 1, 0, 0, 0, 1])).toBeLessThan(1e-14);
    expect(
      Math.hypot(
        shouldBeIdentity.translation.x,
        shouldBeIdentity.translation.y,
        shouldBeIdentity.translation.z,
      ),
    ).toBeLessThan(1e-15);

    // README: T_cn_cnm1 = T_cam_imu(cam1) · inverse(T_cam_imu(cam0)) to 2.0e-15; baseline 0.07962065236733862 m
    const tCn = se3FromMatrix4(cam1.source.transforms?.T_cn_cnm1 as number[]);
    const derived = se3Compose(
      se3FromMatrix4(cam1.source.transforms?.T_cam_imu as number[]),
      se3Inverse(camFromImu),
    );
    expect(maxAbsDiff(derived.rotation, tCn.rotation)).toBeLessThan(1e-14);
    expect(
      Math.abs(Math.hypot(tCn.translation.x, tCn.translation.y, tCn.translation.z) - 0.07962065236733862),
    ).toBeLessThan(1e-15);
    expect(cam1.previousCameraExtrinsics).toMatchObject({ parentFrame: "cam0", childFrame: "cam1" });
    const t = cam1.previousCameraExtrinsics!.translation;
    expect(Math.hypot(t.x, t.y, t.z)).toBeCloseTo(0.07962065236733862, 14);
    for (const cam of cams) {
      const r = mat3FromQuat(cam.extrinsics!.rotation);
      expect(mat3Determinant(r)).toBeCloseTo(1, 14);
      expect(maxAbsDiff(mat3Multiply(mat3Transpose(r), r), [1, 0, 0, 0, 1, 0, 0, 0, 1])).toBeLessThan(2e-15);
    }
    expect(cam0.source.format).toBe("openvins-kalibr-yaml");
  });

  it("parses the same content without the OpenCV header as genuine Kalibr", () => {
    const plain = read("uzhfpv_indoor_kalibr_imucam_chain.yaml").replace(/^%YAML:1\.0[^\n]*\n/, "");
    const again = parseKalibrYaml(plain);
    expect(again[0]?.source.format).toBe("kalibr-yaml");
    expect(again.map(({ source: _s, ...rest }) => rest)).toEqual(cams.map(({ source: _s, ...rest }) => rest));
  });
});

describe("OpenVINS EuRoC variant (T_imu_cam, radtan)", () => {
  const cams = parseCalibrationYaml(read("euroc_mav_kalibr_imucam_chain.yaml"));
  const [cam0, cam1] = cams as [CameraCalibration, CameraCalibration];

  it("reads the EuRoC factory values exactly", () => {
    expect(cam0.model).toBe("pinhole-radtan");
    expect(cam0.K).toEqual([458.654, 0, 367.215, 0, 457.296, 248.375, 0, 0, 1]);
    expect(cam0.D).toEqual([-0.28340811, 0.07395907, 0.00019359, 1.76187114e-5]);
    expect([cam0.width, cam0.height]).toEqual([752, 480]);
    expect(cam1.K).toEqual([457.587, 0, 379.999, 0, 456.134, 255.238, 0, 0, 1]);
    expect(cam0.timeshiftCamImuSecs).toBeUndefined();
    expect(cam1.previousCameraExtrinsics).toBeUndefined();
    expect(cam0.source.transforms?.T_imu_cam?.slice(0, 4)).toEqual([
      0.0148655429818, -0.999880929698, 0.00414029679422, -0.0216401454975,
    ]);
  });

  it("keeps T_imu_cam as imuFromCam; cam0→cam1 baseline ≈ 11 cm", () => {
    expect(cam0.extrinsics?.translation).toEqual({
      x: -0.0216401454975,
      y: -0.064676986768,
      z: 0.00981073058949,
    });
    const imuFromCam0 = se3FromMatrix4(cam0.source.transforms?.T_imu_cam as number[]);
    const imuFromCam1 = se3FromMatrix4(cam1.source.transforms?.T_imu_cam as number[]);
    const cam1FromCam0 = se3Compose(se3Inverse(imuFromCam1), imuFromCam0);
    const t = cam1FromCam0.translation;
    expect(t.x).toBeCloseTo(-0.11007381, 7);
    expect(t.y).toBeCloseTo(0.00039912, 7);
    expect(t.z).toBeCloseTo(-0.0008537, 7);
    expect(Math.hypot(t.x, t.y, t.z)).toBeCloseTo(0.1100778, 7);
    // the same from the normalized quaternion extrinsics
    const fromQuat = se3Compose(
      se3Inverse(se3FromTranslationQuat(cam1.extrinsics!.translation, cam1.extrinsics!.rotation)),
      se3FromTranslationQuat(cam0.extrinsics!.translation, cam0.extrinsics!.rotation),
    );
    expect(fromQuat.translation.x).toBeCloseTo(-0.11007381, 7);
  });

  it("rejects files that are neither format", () => {
    expectCode(() => parseCalibrationYaml("foo: 1\n"), "STRATA_E_CALIBRATION_FORMAT", /neither/);
    expectCode(
      () =>
        parseKalibrYaml("cam0:\n  camera_model: pinhole\n  intrinsics: [1, 2, 3]\n  resolution: [1, 2]\n"),
      "STRATA_E_CALIBRATION_FORMAT",
      /cam0\.intrinsics.*4 numbers/,
    );
  });
});

describe("CameraInfo messages and content hashes", () => {
  const yamlCal = parseCameraInfoYaml(read("ros_camera_info_test_calibration.yaml"));
  const ros1 = {
    header: { frame_id: "/08144361026320a0" },
    height: 480,
    width: 640,
    distortion_model: "plumb_bob",
    D: Float64Array.from(yamlCal.D),
    K: Float64Array.from(yamlCal.K),
    R: Float64Array.from(yamlCal.R as number[]),
    P: Float64Array.from(yamlCal.P as number[]),
  };
  const ros2 = {
    header: { frame_id: "08144361026320a0" },
    height: 480,
    width: 640,
    distortion_model: "plumb_bob",
    d: yamlCal.D,
    k: yamlCal.K,
    r: yamlCal.R as number[],
    p: yamlCal.P as number[],
  };

  it("reads ROS 1 (D K R P) and ROS 2 (d k r p) field names to the same calibration", () => {
    const a = calibrationFromCameraInfo(ros1);
    const b = calibrationFromCameraInfo(ros2);
    expect(a).toEqual(b);
    expect(a.cameraName).toBe("08144361026320a0");
    expect(a.K).toEqual(yamlCal.K);
    expect(a.source.format).toBe("camera-info-message");
    expectCode(
      () => calibrationFromCameraInfo({ ...ros2, k: [1, 2] }, { topic: "/cam/camera_info" }),
      "STRATA_E_CALIBRATION_FORMAT",
      /K must have 9.*\/cam\/camera_info/,
    );
  });

  it("hashes values, not provenance: the bag message and the YAML file give one version", () => {
    const fromMsg = calibrationFromCameraInfo(ros1);
    expect(calibrationContentHash(fromMsg)).toBe(calibrationContentHash(yamlCal));
    expect(calibrationContentHash(fromMsg)).toMatch(/^[0-9a-f]{64}$/);
    const moved = { ...fromMsg, K: [...fromMsg.K.slice(0, 2), 296, ...fromMsg.K.slice(3)] };
    expect(calibrationContentHash(moved)).not.toBe(calibrationContentHash(fromMsg));
    // a rig's set hashes independently of order
    const rig = parseKalibrYaml(read("euroc_mav_kalibr_imucam_chain.yaml"));
    expect(calibrationContentHash(rig)).toBe(calibrationContentHash([...rig].reverse()));
  });
});
