import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StrataError } from "../core/index.ts";
import { detectFormat, detectFormatFromHead, openLog } from "./open.ts";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

let tempDir = "";
beforeAll(async () => {
  tempDir = await mkdtemp(path.join(tmpdir(), "strata-open-"));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<StrataError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StrataError);
    return error as StrataError;
  }
  throw new Error("expected a rejection");
}

describe("detectFormatFromHead", () => {
  it("recognises each magic and nothing else", () => {
    expect(detectFormatFromHead(Uint8Array.of(0x89, 0x4d, 0x43, 0x41, 0x50, 0x30, 0x0d, 0x0a, 1))).toBe(
      "mcap",
    );
    expect(detectFormatFromHead(text("#ROSBAG V2.0\nxyz"))).toBe("ros1");
    expect(detectFormatFromHead(text("SQLite format 3\u0000"))).toBe("ros2-db3");
    expect(detectFormatFromHead(text("#ROSBAG V1.2\n"))).toBeUndefined();
    expect(detectFormatFromHead(text("SQLite format 3"))).toBeUndefined();
    expect(detectFormatFromHead(Uint8Array.of(0x89, 0x4d, 0x43))).toBeUndefined();
    expect(detectFormatFromHead(new Uint8Array(0))).toBeUndefined();
  });
});

describe("detectFormat / openLog", () => {
  it("goes by content, not extension", async () => {
    const disguised = path.join(tempDir, "really-a-bag.mcap");
    await writeFile(disguised, "#ROSBAG V2.0\n");
    expect(await detectFormat(disguised)).toBe("ros1");
    const sqlite = path.join(tempDir, "data.bin");
    await writeFile(sqlite, "SQLite format 3\u0000");
    expect(await detectFormat(sqlite)).toBe("ros2");
    expect(await detectFormat(tempDir)).toBe("ros2");
  });

  it("0 bytes → STRATA_E_EMPTY_FILE naming the file", async () => {
    const empty = path.join(tempDir, "empty.bag");
    await writeFile(empty, "");
    for (const attempt of [detectFormat(empty), openLog(empty)]) {
      const error = await rejection(attempt);
      expect(error.code).toBe("STRATA_E_EMPTY_FILE");
      expect(error.message).toContain("empty.bag");
    }
  });

  it("unknown content → STRATA_E_UNKNOWN_FORMAT naming the file and the first bytes", async () => {
    const pdf = path.join(tempDir, "report.bag");
    await writeFile(pdf, "%PDF-1.7\n%âãÏÓ\n");
    const error = await rejection(openLog(pdf));
    expect(error.code).toBe("STRATA_E_UNKNOWN_FORMAT");
    expect(error.message).toContain("report.bag");
    expect(error.message).toContain("25 50 44 46");
    expect(error.message).toContain("%PDF-1.7");
    expect(error.context.offset).toBe(0);
  });

  it("an older ROS bag version → STRATA_E_UNSUPPORTED; a missing path → STRATA_E_FILE_NOT_FOUND", async () => {
    const old = path.join(tempDir, "old.bag");
    await writeFile(old, "#ROSBAG V1.2\nxxxxxxxx");
    expect((await rejection(openLog(old))).code).toBe("STRATA_E_UNSUPPORTED");
    const missing = path.join(tempDir, "nope.bag");
    const error = await rejection(openLog(missing));
    expect(error.code).toBe("STRATA_E_FILE_NOT_FOUND");
    expect(error.message).toContain("nope.bag");
  });
});
