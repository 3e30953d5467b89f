import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quatFromAxisAngle, quatMultiply, radFromDeg, vec3 } from "../../core/index.ts";
import type { CameraCalibration } from "../../formats/index.ts";
import { catalogBackends, insertTestCapture, type TestCatalog } from "../datasets/test-catalogs.ts";
import {
  acceptCalibration,
  type CalibrationBody,
  calibrationBodyFromCameras,
  calibrationIdOf,
  captureCalibrationId,
  capturesWithCalibration,
  diffCalibrations,
  getCalibration,
  insertDriftEvents,
  lastAcceptedCalibration,
  linkCaptureCalibration,
  listDriftEvents,
  listRigCalibrations,
  putCalibration,
  versionCalibration,
} from "./calibration-store.ts";

const front: CameraCalibration = {
  cameraName: "camera_front",
  model: "plumb_bob",
  width: 640,
  height: 480,
  K: [500, 0, 320, 0, 501, 240, 0, 0, 1],
  D: [0.1, -0.2, 0.001, 0.002, 0],
  source: { format: "camera-info-message" },
};
const left: CameraCalibration = {
  ...front,
  cameraName: "camera_left",
  K: [450, 0, 320, 0, 451, 240, 0, 0, 1],
};
const frontExtrinsic = {
  parentFrame: "base_link",
  childFrame: "camera_front",
  translation: vec3(1.5, 0, 1.2),
  rotation: { x: -0.5, y: 0.5, z: -0.5, w: 0.5 },
};
const body: CalibrationBody = {
  cameras: [front, left],
  extrinsics: [
    frontExtrinsic,
    { ...frontExtrinsic, childFrame: "lidar", rotation: { x: 0, y: 0, z: 0, w: 1 } },
  ],
};

describe("calibration ids", () => {
  it("depend on values only: order, leading slashes and provenance do not change them", () => {
    const shuffled: CalibrationBody = {
      cameras: [{ ...left, source: { format: "ros-camera-info-yaml" } }, front],
      extrinsics: [...body.extrinsics].reverse().map((e) => ({ ...e, parentFrame: `/${e.parentFrame}` })),
    };
    expect(calibrationIdOf(shuffled)).toEqual(calibrationIdOf(body));
    expect(calibrationIdOf(body).calibrationId).toMatch(/^cal_[0-9a-f]{16}$/);
    const changed = { ...body, cameras: [{ ...front, D: [0.1, -0.2, 0.001, 0.002, 1e-9] }, left] };
    expect(calibrationIdOf(changed).calibrationId).not.toBe(calibrationIdOf(body).calibrationId);
  });

  it("imported cameras bring their IMU extrinsics into the rig's list", () => {
    const withImu = { ...front, extrinsics: { ...frontExtrinsic, parentFrame: "imu0" } };
    const imported = calibrationBodyFromCameras([withImu, left]);
    expect(imported.extrinsics).toEqual([{ ...frontExtrinsic, parentFrame: "imu0" }]);
    expect(imported.cameras.map((c) => c.cameraName)).toEqual(["camera_front", "camera_left"]);
  });
});

describe("diffCalibrations", () => {
  it("reports intrinsics field by field and extrinsic deltas against thresholds", () => {
    const rotated = quatMultiply(quatFromAxisAngle(vec3(0, 0, 1), radFromDeg(1)), frontExtrinsic.rotation);
    const b: CalibrationBody = {
      cameras: [{ ...front, K: [505, 0, 320, 0, 501, 240, 0, 0, 1] }],
      extrinsics: [{ ...frontExtrinsic, rotation: rotated }],
    };
    const diff = diffCalibrations(body, b);
    expect(diff.differs).toBe(true);
    expect(diff.cameras).toEqual([
      {
        cameraName: "camera_front",
        status: "changed",
        changes: [{ field: "K", a: front.K, b: b.cameras[0]?.K }],
      },
      { cameraName: "camera_left", status: "only-in-a", changes: [] },
    ]);
    expect(diff.extrinsics.deltas[0]?.rotationDeg).toBeCloseTo(1, 9);
    expect(diff.extrinsics.deltas[0]?.drifted).toBe(true);
    expect(diff.extrinsics.onlyInA).toEqual([{ parentFrame: "base_link", childFrame: "lidar" }]);
    expect(diffCalibrations(body, b, { maxRotationDeg: 2 }).extrinsics.drifted).toBe(false);
    expect(diffCalibrations(body, body).differs).toBe(false);
  });
});

for (const backend of catalogBackends()) {
  describe(`calibration store on ${backend.name}`, () => {
    let db: TestCatalog;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("stores by content, versions per rig in order, and reads back exactly", async () => {
      const { catalog } = db;
      const first = await putCalibration(catalog, {
        body,
        source: "import",
        sourceRef: "a.yaml",
        rig: "car-1",
        recordedAtNs: 5n,
      });
      expect(first.created).toBe(true);
      const again = await putCalibration(catalog, {
        body,
        source: "capture",
        rig: "car-2",
        recordedAtNs: 6n,
      });
      expect(again).toEqual({ ...first, created: false });
      const other: CalibrationBody = { cameras: [front], extrinsics: [] };
      const second = await putCalibration(catalog, {
        body: other,
        source: "import",
        rig: "car-1",
        recordedAtNs: 7n,
      });
      expect(await versionCalibration(catalog, "car-1", first.calibrationId)).toEqual({
        version: 1,
        created: true,
      });
      expect(await versionCalibration(catalog, "car-1", second.calibrationId)).toEqual({
        version: 2,
        created: true,
      });
      expect(await versionCalibration(catalog, "car-1", first.calibrationId)).toEqual({
        version: 1,
        created: false,
      });
      expect(await versionCalibration(catalog, "car-2", first.calibrationId)).toEqual({
        version: 1,
        created: true,
      });
      const stored = await getCalibration(catalog, first.calibrationId);
      expect(stored?.body).toEqual({
        cameras: [front, left],
        extrinsics: [frontExtrinsic, body.extrinsics[1]],
      });
      expect(stored?.source).toBe("import");
      expect(stored?.recordedAtNs).toBe(5n);
      expect((await getCalibration(catalog, first.contentSha256))?.calibrationId).toBe(first.calibrationId);
      const versions = await listRigCalibrations(catalog, { rig: "car-1" });
      expect(versions.map((v) => [v.version, v.calibrationId, v.accepted, v.cameraCount])).toEqual([
        [1, first.calibrationId, false, 2],
        [2, second.calibrationId, false, 1],
      ]);
    });

    it("accepts per rig; the last accepted one is the reference", async () => {
      const { catalog } = db;
      const [v1, v2] = await listRigCalibrations(catalog, { rig: "car-1" });
      expect(await lastAcceptedCalibration(catalog, "car-1")).toBeUndefined();
      const accepted = await acceptCalibration(
        catalog,
        "car-1",
        v1?.calibrationId as string,
        "cli:alice",
        100n,
      );
      expect(accepted).toMatchObject({
        accepted: true,
        acceptedBy: "cli:alice",
        acceptedAtNs: 100n,
        version: 1,
      });
      await acceptCalibration(catalog, "car-1", v2?.calibrationId as string, "cli:bob", 200n);
      expect((await lastAcceptedCalibration(catalog, "car-1"))?.calibrationId).toBe(v2?.calibrationId);
      // accepting again keeps the first acceptance
      const repeat = await acceptCalibration(
        catalog,
        "car-1",
        v1?.calibrationId as string,
        "cli:carol",
        300n,
      );
      expect(repeat.acceptedBy).toBe("cli:alice");
      expect(await lastAcceptedCalibration(catalog, "car-2")).toBeUndefined();
      await expect(
        acceptCalibration(catalog, "car-9", v1?.calibrationId as string, "x"),
      ).rejects.toMatchObject({
        code: "STRATA_E_NOT_FOUND",
      });
    });

    it("links captures and keeps their drift events in time order", async () => {
      const { catalog } = db;
      const { captureId } = await insertTestCapture(catalog, { name: "calib-link" });
      const { calibrationId } = calibrationIdOf(body);
      await linkCaptureCalibration(catalog, captureId, calibrationId);
      expect(await captureCalibrationId(catalog, captureId)).toBe(calibrationId);
      expect(await capturesWithCalibration(catalog, calibrationId)).toEqual([captureId]);
      const events = [
        {
          kind: "within-capture" as const,
          frame: "camera_front",
          parentFrame: "base_link",
          atNs: 20n,
          rotationDeg: 2.5,
          translationM: 0,
          referenceCalibrationId: null,
        },
        {
          kind: "vs-accepted" as const,
          frame: "lidar",
          parentFrame: "base_link",
          atNs: 10n,
          rotationDeg: 0,
          translationM: 0.05,
          referenceCalibrationId: calibrationId,
        },
      ];
      await insertDriftEvents(catalog, captureId, events);
      expect(await listDriftEvents(catalog, captureId)).toEqual([events[1], events[0]]);
      expect(await catalog.deleteCapture(captureId)).toBe(true);
      expect(await listDriftEvents(catalog, captureId)).toEqual([]);
      expect(await captureCalibrationId(catalog, captureId)).toBeUndefined();
    });
  });
}
