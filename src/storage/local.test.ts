import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../core/index.ts";
import { blobStoreContract } from "./contract.ts";
import { LocalBlobStore, putFile } from "./index.ts";

// Twice: with the default copy (small files in this thread) and with every file copied on a worker thread.
for (const [label, offThreadMinBytes] of [
  ["LocalBlobStore", undefined],
  ["LocalBlobStore, file copies on a worker", 0],
] as const) {
  blobStoreContract(label, async () => {
    const root = await mkdtemp(path.join(tmpdir(), "strata-blobs-"));
    const store = new LocalBlobStore(root, offThreadMinBytes === undefined ? {} : { offThreadMinBytes });
    return {
      store,
      corrupt: (sha256, bytes) => writeFile(store.path(sha256), bytes),
      dispose: () => rm(root, { recursive: true, force: true }),
    };
  });
}

describe("LocalBlobStore on disk", () => {
  let root: string;
  let store: LocalBlobStore;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "strata-blobs-"));
    store = new LocalBlobStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("lays blobs out as <root>/sha256/ab/cd/<hex>", async () => {
    const { sha256 } = await store.put(textSource("layout"));
    const expected = path.join(root, "sha256", sha256.slice(0, 2), sha256.slice(2, 4), sha256);
    expect(store.path(sha256)).toBe(expected);
    expect((await stat(expected)).size).toBe(6);
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });

  it("putFile streams a file; a missing file is STRATA_E_FILE_NOT_FOUND naming it", async () => {
    const file = path.join(root, "input.bin");
    await writeFile(file, "file contents");
    expect(await putFile(store, file)).toEqual({
      sha256: sha256Hex("file contents"),
      sizeBytes: 13,
      created: true,
    });
    const missing = path.join(root, "nope.bin");
    await expect(putFile(store, missing)).rejects.toMatchObject({
      code: "STRATA_E_FILE_NOT_FOUND",
      context: { file: missing },
    });
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });

  it("a failed put leaves no temp file behind", async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(3 << 20, 1);
      throw new Error("disconnect");
    }
    await expect(store.put(failing())).rejects.toThrow("disconnect");
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
    await expect(store.put(textSource("x"), { expectedSha256: sha256Hex("y") })).rejects.toMatchObject({
      code: "STRATA_E_CRC_MISMATCH",
    });
    expect(await readdir(path.join(root, "tmp"))).toEqual([]);
  });

  it("sweepTemp removes only temp files older than the limit", async () => {
    const tmp = path.join(root, "tmp");
    await store.put(textSource("make dirs"));
    const old = path.join(tmp, "old.partial");
    const fresh = path.join(tmp, "fresh.partial");
    await writeFile(old, "stale");
    await writeFile(fresh, "in flight");
    const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000);
    await utimes(old, threeHoursAgo, threeHoursAgo);
    expect(await store.sweepTemp({ olderThanHours: 2 })).toBe(1);
    expect(await readdir(tmp)).toEqual(["fresh.partial"]);
    expect(await store.sweepTemp()).toBe(0);
    expect(await store.sweepTemp({ olderThanHours: 0 })).toBe(1);
    expect(await readdir(tmp)).toEqual([]);
    expect(await new LocalBlobStore(path.join(root, "empty")).sweepTemp()).toBe(0);
  });

  it("kill -9 in the middle of a put leaves only a temp file, never a blob", async () => {
    const moduleUrl = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), "local.ts")).href;
    const script = path.join(root, "writer.mjs");
    await writeFile(
      script,
      `import { LocalBlobStore } from ${JSON.stringify(moduleUrl)};
const store = new LocalBlobStore(process.argv[2]);
async function* endless() {
  for (let i = 0; ; i += 1) {
    yield Buffer.alloc(64 * 1024, i % 256);
    if (i % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
await store.put(endless());
`,
    );
    const blobRoot = path.join(root, "store");
    const child = spawn(process.execPath, ["--import", "tsx", script, blobRoot], { stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    const tmp = path.join(blobRoot, "tmp");
    const deadline = Date.now() + 30_000;
    let tempBytes = 0;
    while (tempBytes < 4 << 20) {
      if (Date.now() > deadline) throw new Error("the writer never started writing");
      await new Promise((resolve) => setTimeout(resolve, 50));
      const names = await readdir(tmp).catch(() => [] as string[]);
      const first = names[0];
      tempBytes = first === undefined ? 0 : (await stat(path.join(tmp, first))).size;
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const crashed = new LocalBlobStore(blobRoot);
    const blobs: unknown[] = [];
    for await (const blob of crashed.list()) blobs.push(blob);
    expect(blobs).toEqual([]);
    expect(await readdir(path.join(blobRoot, "sha256")).catch(() => [])).toEqual([]);
    expect((await readdir(tmp)).length).toBe(1);
    expect(await crashed.sweepTemp({ olderThanHours: 0 })).toBe(1);
    expect(await readdir(tmp)).toEqual([]);
  });
});

async function* textSource(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text);
}
