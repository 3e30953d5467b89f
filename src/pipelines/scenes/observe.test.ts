import jpeg from "jpeg-js";
import { describe, expect, it } from "vitest";
import { jpegBrightness, lidarClutterOf } from "./observe.ts";

function cloud(ranges: number[]): Parameters<typeof lidarClutterOf>[0] {
  const step = 16;
  const data = new Uint8Array(ranges.length * step);
  const view = new DataView(data.buffer);
  ranges.forEach((r, i) => {
    const a = i * 0.01;
    view.setFloat32(i * step, r * Math.cos(a), true);
    view.setFloat32(i * step + 4, r * Math.sin(a), true);
    view.setFloat32(i * step + 8, 0, true);
  });
  return {
    fields: [
      { name: "x", offset: 0, datatype: 7 },
      { name: "y", offset: 4, datatype: 7 },
      { name: "z", offset: 8, datatype: 7 },
    ],
    point_step: step,
    width: ranges.length,
    height: 1,
    data,
  };
}

describe("observation proxies", () => {
  it("lidar clutter counts isolated near returns", () => {
    const wall = Array.from({ length: 1000 }, (_, i) => 10 + 0.01 * i);
    expect(lidarClutterOf(cloud(wall), 20)).toBe(0);
    const rainy = [...wall];
    for (let i = 50; i < 1000; i += 100) rainy[i] = 2; // 10 drops among ~998 near returns
    expect(lidarClutterOf(cloud(rainy), 20)).toBeCloseTo(10 / 998, 3);
    // Far returns do not count; clouds without float32 xyz give undefined.
    expect(lidarClutterOf(cloud(wall.map((r) => r + 100)), 20)).toBe(0);
    expect(lidarClutterOf({ ...cloud(wall), fields: [] }, 20)).toBeUndefined();
  });

  it("measures JPEG brightness", () => {
    const image = (value: number) => {
      const data = new Uint8Array(64 * 48 * 4).fill(value);
      return jpeg.encode({ width: 64, height: 48, data }, 90).data;
    };
    expect(jpegBrightness(image(20))).toBeCloseTo(20 / 255, 1);
    expect(jpegBrightness(image(200))).toBeCloseTo(200 / 255, 1);
  });
});
