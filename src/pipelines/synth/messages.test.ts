import { describe, expect, it } from "vitest";
import { encodeWithBytes, encoderForType, headerOf, type Profile } from "./messages.ts";

const points = Uint8Array.from({ length: 20 * 37 + 3 }, (_, i) => (i * 73 + 11) & 0xff);

const cloud = (profile: Profile, data: Uint8Array): object => ({
  header: headerOf(1_767_225_600_123_456_789n, "lidar", profile, 7),
  height: 1,
  width: 37,
  fields: [
    { name: "x", offset: 0, datatype: 7, count: 1 },
    { name: "ring", offset: 16, datatype: 4, count: 1 },
  ],
  is_bigendian: false,
  point_step: 20,
  row_step: 740,
  data,
  is_dense: true,
});

const image = (profile: Profile, data: Uint8Array): object => ({
  header: headerOf(5n, "camera_front_optical", profile, 3),
  format: "jpeg",
  data,
});

describe("encodeWithBytes", () => {
  it.each<Profile>(["ros2", "ros1"])(
    "%s: splicing the bytes in equals encoding the whole message (point cloud and image)",
    (profile) => {
      const encodeCloud = encoderForType("sensor_msgs/PointCloud2", profile);
      const encodeImage = encoderForType("sensor_msgs/CompressedImage", profile);
      for (const bytes of [points, points.subarray(1, 6), new Uint8Array(0)]) {
        expect(encodeWithBytes(encodeCloud, (empty) => cloud(profile, empty), bytes, 1)).toEqual(
          encodeCloud(cloud(profile, bytes)),
        );
        expect(encodeWithBytes(encodeImage, (empty) => image(profile, empty), bytes, 0)).toEqual(
          encodeImage(image(profile, bytes)),
        );
      }
    },
  );

  it("writes into the caller's buffer when given one", () => {
    const encode = encoderForType("sensor_msgs/CompressedImage", "ros2");
    const scratch = new Uint8Array(4096).fill(0xee);
    const out = encodeWithBytes(
      encode,
      (empty) => image("ros2", empty),
      points,
      0,
      (n) => scratch.subarray(16, 16 + n),
    );
    expect(out.buffer).toBe(scratch.buffer);
    expect(out.byteOffset).toBe(16);
    expect(out).toEqual(encode(image("ros2", points)));
  });

  it("refuses a suffix length that does not end at the empty array", () => {
    const encode = encoderForType("sensor_msgs/PointCloud2", "ros2");
    expect(() => encodeWithBytes(encode, (empty) => cloud("ros2", empty), points, 0)).toThrow(/does not end/);
  });
});
