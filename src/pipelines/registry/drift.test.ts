import { describe, expect, it } from "vitest";
import { quatFromAxisAngle, quatFromRpy, quatMultiply, radFromDeg, vec3 } from "../../core/index.ts";
import { compareExtrinsics, detectStaticTfChanges, type Extrinsic, StaticTfChangeDetector } from "./drift.ts";

const camera: Extrinsic = {
  parentFrame: "base_link",
  childFrame: "camera_front",
  translation: vec3(1.2, 0, 1.5),
  rotation: quatFromRpy(-Math.PI / 2, 0, -Math.PI / 2),
};
const lidar: Extrinsic = {
  parentFrame: "base_link",
  childFrame: "lidar",
  translation: vec3(0, 0, 2),
  rotation: { x: 0, y: 0, z: 0, w: 1 },
};

/** `e` rotated by `deg` about z (in its own frame) and moved by `dx` metres along x. */
function perturbed(e: Extrinsic, deg: number, dx: number): Extrinsic {
  return {
    ...e,
    translation: vec3(e.translation.x + dx, e.translation.y, e.translation.z),
    rotation: quatMultiply(e.rotation, quatFromAxisAngle(vec3(0, 0, 1), radFromDeg(deg))),
  };
}

describe("compareExtrinsics", () => {
  it("flags deltas above the default thresholds (0.5°, 2 cm) and measures them", () => {
    const accepted = [camera, lidar];
    const current = [perturbed(camera, 0.8, 0), perturbed(lidar, 0.1, 0.03)];
    const cmp = compareExtrinsics(accepted, current);
    expect(cmp.drifted).toBe(true);
    const [cam, lid] = cmp.deltas;
    expect(cam).toMatchObject({
      childFrame: "camera_front",
      rotationExceeded: true,
      translationExceeded: false,
      drifted: true,
    });
    expect(cam?.rotationDeg).toBeCloseTo(0.8, 9);
    expect(cam?.translationM).toBe(0);
    expect(lid).toMatchObject({ childFrame: "lidar", rotationExceeded: false, translationExceeded: true });
    expect(lid?.translationM).toBeCloseTo(0.03, 12);
    expect(lid?.rotationDeg).toBeCloseTo(0.1, 9);
  });

  it("stays quiet below the thresholds, honours custom ones, lists unmatched edges", () => {
    const small = compareExtrinsics(
      [camera, lidar],
      [perturbed(camera, 0.4, 0.019), { ...lidar, parentFrame: "/base_link" }],
    );
    expect(small.drifted).toBe(false);
    expect(small.deltas).toHaveLength(2);
    const strict = compareExtrinsics([camera], [perturbed(camera, 0.4, 0)], { maxRotationDeg: 0.1 });
    expect(strict.drifted).toBe(true);
    const other = compareExtrinsics([camera, lidar], [camera, { ...lidar, childFrame: "radar" }]);
    expect(other.onlyInA).toEqual([{ parentFrame: "base_link", childFrame: "lidar" }]);
    expect(other.onlyInB).toEqual([{ parentFrame: "base_link", childFrame: "radar" }]);
    expect(other.drifted).toBe(false);
  });
});

describe("static TF change detection", () => {
  it("reports a step change once, at the first message showing it, with its magnitude", async () => {
    const messages = [];
    for (let i = 0; i < 100; i++) {
      const atNs = BigInt(i) * 100_000_000n; // 10 Hz
      const cam = i < 42 ? camera : perturbed(camera, 1.5, 0.05);
      messages.push({ atNs, transforms: [cam, lidar] });
    }
    const events = await detectStaticTfChanges(messages);
    expect(events).toHaveLength(1);
    const [e] = events;
    expect(e?.frame).toBe("camera_front");
    expect(e?.parentFrame).toBe("base_link");
    expect(e?.atNs).toBe(4_200_000_000n);
    expect(e?.rotationDeg).toBeCloseTo(1.5, 9);
    expect(e?.translationM).toBeCloseTo(0.05, 12);
  });

  it("reports slow drift when its accumulated size crosses a threshold, then re-baselines", () => {
    const detector = new StaticTfChangeDetector({ maxRotationDeg: 0.5, maxTranslationM: 1 });
    const events = [];
    for (let i = 0; i <= 100; i++) {
      const e = detector.push(BigInt(i), perturbed(camera, 0.013 * i, 0));
      if (e) events.push(e);
    }
    // 0.013°/step: above 0.5° at step 39 (0.507°), then 39 steps after the new baseline
    expect(events.map((e) => e.atNs)).toEqual([39n, 78n]);
    expect(events[0]?.rotationDeg).toBeCloseTo(0.507, 9);
    expect(events[1]?.rotationDeg).toBeCloseTo(0.507, 9);
    expect(detector.events).toEqual(events);
  });

  it("is quiet for a clean capture and for re-published identical values", async () => {
    async function* clean() {
      for (let i = 0; i < 50; i++)
        yield { atNs: BigInt(i), transforms: [camera, lidar, { ...camera, parentFrame: "/base_link" }] };
    }
    expect(await detectStaticTfChanges(clean())).toEqual([]);
  });
});
