/**
 * The HTTP API end to end: the real server on a random loopback port over a temp STRATA_HOME with
 * real captures, every route called through the SDK, a route × role matrix, the audit trail of
 * every data-reading and -changing request, and the OpenAPI document against the route table.
 */
import { spawn } from "node:child_process";
import { openAsBlob } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RouteId, type RouteSpec, roleAllows, routes } from "../../src/api/index.ts";
import {
  buildScenes,
  createDataset,
  createStrata,
  jsonify,
  resolveConfig,
  showDatasetVersion,
  type Strata,
  trajectoryOf,
} from "../../src/app/index.ts";
import { createDatasetVersion } from "../../src/pipelines/index.ts";
import { createClient, StrataApiError, type StrataClient } from "../../src/sdk/index.ts";
import { type ServerHandle, startServer } from "../../src/server/index.ts";
import { fixtures, tempDir } from "../helpers.ts";

const ROLES = ["viewer", "engineer", "steward", "admin"] as const;
type Role = (typeof ROLES)[number];

let home: ReturnType<typeof tempDir>;
let strata: Strata;
let server: ServerHandle;
let clients: Record<Role, StrataClient>;
let tokenIds: Record<Role, string>;
let anonymous: StrataClient;
let exampleId: string;
let tfId: string;

const exampleBag = path.join(fixtures, "ros1", "example.bag");

beforeAll(async () => {
  home = tempDir("strata-api-");
  strata = await createStrata(resolveConfig({ home: home.dir, env: {} }));
  exampleId = (await strata.ingest(exampleBag, { rig: "turtle", site: "lab", actor: "test" })).captureId;
  tfId = (await strata.ingest(path.join(fixtures, "ros1", "tf_example.bag"), { actor: "test" })).captureId;
  server = await startServer(strata, { port: 0, webRoot: path.join(home.dir, "no-web") });
  const secrets = {} as Record<Role, string>;
  tokenIds = {} as Record<Role, string>;
  for (const role of ROLES) {
    const created = await strata.tokens.create(`e2e-${role}`, role);
    secrets[role] = created.token;
    tokenIds[role] = created.tokenId;
  }
  clients = Object.fromEntries(
    ROLES.map((role) => [role, createClient({ baseUrl: server.url, token: secrets[role] })]),
  ) as Record<Role, StrataClient>;
  anonymous = createClient({ baseUrl: server.url });
});

afterAll(async () => {
  await server?.close();
  await strata?.close();
  home?.cleanup();
});

async function failure(promise: Promise<unknown>): Promise<StrataApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof StrataApiError)) throw new Error(`expected a StrataApiError, got ${String(error)}`);
  return error;
}

let pairVersions: Promise<[string, string]> | undefined;
/** Two versions of one dataset: example.bag alone, then with tf_example.bag added (made once, on first use). */
function versionPair(): Promise<[string, string]> {
  pairVersions ??= (async () => {
    const first = await createDataset(strata, {
      name: "pair",
      captures: [exampleId],
      allowQuarantined: true,
      actor: "test",
    });
    const second = await createDataset(strata, {
      name: "pair",
      captures: [exampleId, tfId],
      parentVersionId: first.version.versionId,
      allowQuarantined: true,
      actor: "test",
    });
    return [first.version.versionId, second.version.versionId];
  })();
  return pairVersions;
}

async function collect<T>(lines: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** One valid call of each route for a client (a fresh token name per call keeps creates distinct). */
function callRoute(client: StrataClient, routeId: RouteId, n: number): Promise<unknown> {
  switch (routeId) {
    case "health":
      return client.health();
    case "listCaptures":
      return client.listCaptures({ limit: 10 });
    case "getCapture":
      return client.getCapture({ captureId: exampleId });
    case "getCaptureHistogram":
      return client.getCaptureHistogram({ captureId: exampleId });
    case "getCaptureQa":
      return client.getCaptureQa({ captureId: exampleId });
    case "getCaptureDrift":
      return client.getCaptureDrift({ captureId: tfId });
    case "searchScenes":
      return client.searchScenes({ q: "limit:5" });
    case "listDatasets":
      return client.listDatasets();
    case "diffDatasetVersions":
      return versionPair().then(([from, to]) => client.diffDatasetVersions({ from, to }));
    case "getDatasetSplits":
      return versionPair().then(([, versionId]) => client.getDatasetSplits({ versionId }));
    case "getLineageGraph":
      return client.getLineageGraph({ of: exampleId });
    case "listTrajectories":
      return client.listTrajectories({ maxPoints: 20 });
    case "getCockpit":
      return client.getCockpit();
    case "getCaptureMessages":
      return collect(
        client.getCaptureMessages({ captureId: exampleId, topics: ["/turtle1/pose"], limit: 2 }),
      );
    case "uploadCapture":
      return openAsBlob(exampleBag).then((data) => client.uploadCapture({ filename: "example.bag", data }));
    case "listRuns":
      return client.listRuns({ limit: 5 });
    case "listAudit":
      return client.listAudit({ limit: 5 });
    case "whoAmI":
      return client.whoAmI();
    case "listTokens":
      return client.listTokens();
    case "createToken":
      return client.createToken({ name: `matrix-${n}`, role: "viewer" });
    case "revokeToken":
      // The token to revoke is made out of band, so non-admins fail on the revoke itself.
      return strata.tokens
        .create(`to-revoke-${n}`, "viewer")
        .then((created) => client.revokeToken({ tokenId: created.tokenId }));
    case "metrics":
      return client.metrics();
  }
}

describe("every route through the SDK", () => {
  it("health and identity", async () => {
    const health = await anonymous.health();
    expect(health.status).toBe("ok");
    expect(health.version).toMatch(/^strata@/);
    expect(await clients.engineer.whoAmI()).toEqual({
      tokenId: tokenIds.engineer,
      name: "e2e-engineer",
      role: "engineer",
    });
  });

  it("lists, reads and histograms captures", async () => {
    const list = await clients.viewer.listCaptures({ limit: 10 });
    expect(list.total).toBe(2);
    expect(list.captures.map((c) => c.captureId).sort()).toEqual([exampleId, tfId].sort());
    const page = await clients.viewer.listCaptures({ limit: 1 });
    expect([page.captures.length, page.total]).toEqual([1, 2]);
    const past = await clients.viewer.listCaptures({ offset: 5 });
    expect([past.captures.length, past.total]).toEqual([0, 2]);
    const filtered = await clients.viewer.listCaptures({ site: "lab" });
    expect(filtered.captures.map((c) => c.captureId)).toEqual([exampleId]);

    const detail = await clients.viewer.getCapture({ captureId: exampleId });
    expect(detail.format).toBe("ros1");
    expect(detail.messageCount).toBe(8647);
    expect(detail.topics.find((t) => t.topic === "/turtle1/pose")?.messageCount).toBe(1344);
    expect(detail.startTimeNs).toBe("1396293887844783943");

    const histogram = await clients.viewer.getCaptureHistogram({ captureId: exampleId });
    const pose = histogram.topics.find((t) => t.topic === "/turtle1/pose");
    expect(pose?.counts.reduce((a, b) => a + b, 0)).toBe(1344);
    expect(BigInt(histogram.bucketNs)).toBeGreaterThan(0n);

    const missing = await failure(clients.viewer.getCapture({ captureId: "cap_nope" }));
    expect([missing.status, missing.code]).toEqual([404, "STRATA_E_NOT_FOUND"]);
  });

  it("streams decoded messages in a window as NDJSON", async () => {
    const first = await collect(
      clients.viewer.getCaptureMessages({ captureId: exampleId, topics: ["/turtle1/pose"], limit: 1 }),
    );
    expect(first).toHaveLength(1);
    expect(first[0]?.logTimeNs).toBe("1396293888056045055");
    expect(first[0]?.schemaName).toBe("turtlesim/Pose");
    expect(first[0]?.message).toMatchObject({ x: 5.544444561004639, y: 5.544444561004639, theta: 0 });

    // The fixture's documented window count (inclusive both ends).
    const window = await collect(
      clients.viewer.getCaptureMessages({
        captureId: exampleId,
        startNs: "1396293886846735850",
        endNs: "1396293888846735850",
      }),
    );
    expect(window).toHaveLength(319);
    expect(window.map((m) => BigInt(m.logTimeNs))).toEqual(
      window.map((m) => BigInt(m.logTimeNs)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );

    const sampled = await collect(
      clients.viewer.getCaptureMessages({
        captureId: exampleId,
        topics: "/turtle1/pose,/turtle2/pose",
        everyNs: "1000000000",
      }),
    );
    const topics = new Set(sampled.map((m) => m.topic));
    expect([...topics].sort()).toEqual(["/turtle1/pose", "/turtle2/pose"]);
    expect(sampled.length).toBeGreaterThan(20);
    expect(sampled.length).toBeLessThan(60);

    // Breaking out early cancels the stream; the server keeps serving.
    for await (const _line of clients.viewer.getCaptureMessages({ captureId: exampleId })) break;
    expect((await clients.viewer.health()).status).toBe("ok");

    const tf = await collect(
      clients.viewer.getCaptureMessages({ captureId: tfId, topics: ["/tf"], limit: 1 }),
    );
    expect(tf[0]?.message).toHaveProperty("transforms");
  });

  it("uploads a log for ingest; the same bytes again are the same capture", async () => {
    const data = await openAsBlob(path.join(fixtures, "ros1", "example-lz4.bag"));
    const result = await clients.engineer.uploadCapture({
      filename: "drive-lz4.bag",
      data,
      rig: "r2",
      site: "s2",
    });
    expect(result.created).toBe(true);
    expect(result.format).toBe("ros1");
    expect(result.messageCount).toBe(8647);
    const again = await clients.engineer.uploadCapture({
      filename: "again.bag",
      data: new Uint8Array(await data.arrayBuffer()),
    });
    expect(again).toMatchObject({ created: false, captureId: result.captureId });
    const detail = await clients.viewer.getCapture({ captureId: result.captureId });
    expect(detail.files[0]?.pathInCapture).toBe("drive-lz4.bag");
    expect(detail.site).toBe("s2");

    const bad = await failure(
      clients.engineer.uploadCapture({ filename: "junk.bin", data: new TextEncoder().encode("not a log") }),
    );
    expect([bad.status, bad.code]).toEqual([415, "STRATA_E_UNKNOWN_FORMAT"]);
    expect(bad.message).toContain("junk.bin");
    expect(bad.message).not.toContain(home.dir);
  });

  it("streams a large upload to disk in bounded memory", async () => {
    // The uploader is its own process, so this process's memory is the server's.
    const totalBytes = 320 << 20;
    const uploader = `
      const [url, token, total] = process.argv.slice(1);
      const chunk = Buffer.alloc(1 << 20, 7);
      let sent = 0;
      const body = new ReadableStream({ pull(c) { if (sent >= Number(total)) return c.close(); sent += chunk.length; c.enqueue(chunk); } });
      const res = await fetch(url, { method: "POST", body, duplex: "half",
        headers: { authorization: "Bearer " + token, "content-type": "application/octet-stream" } });
      process.stdout.write(res.status + " " + (await res.text()));`;
    const engineerToken = (await strata.tokens.create("uploader", "engineer")).token;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let output = "";
    try {
      const child = spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          uploader,
          `${server.url}/api/captures?filename=big.bin`,
          engineerToken,
          String(totalBytes),
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      child.stdout.on("data", (d: Buffer) => (output += d.toString()));
      await new Promise((resolve) => child.once("exit", resolve));
    } finally {
      clearInterval(sampler);
    }
    // Not a log: every byte is received and stored, then format detection refuses it.
    expect(output).toMatch(/^415 .*STRATA_E_UNKNOWN_FORMAT/);
    // A buffered body would add at least 320 MiB.
    expect(peak - baseline).toBeLessThan(160 << 20);
    const text = await clients.viewer.metrics();
    expect(Number(/strata_upload_bytes_total (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(totalBytes);
  });

  it("reads a capture's QA verdict and calibration drift", async () => {
    const qa = await clients.viewer.getCaptureQa({ captureId: exampleId });
    expect(qa.captureId).toBe(exampleId);
    const stored = await strata.catalog.getCapture(exampleId);
    expect(qa.status).toBe(stored?.status);
    if (qa.verdict === null) expect(qa.history).toEqual([]);
    else {
      expect(["pass", "warn", "fail"]).toContain(qa.verdict);
      expect(qa.history[0]?.runId).toBe(qa.runId);
      expect(qa.history[0]?.reasons).toBe(qa.reasons.length);
      for (const r of qa.reasons) expect(BigInt(r.endNs) >= BigInt(r.startNs)).toBe(true);
    }
    const drift = await clients.viewer.getCaptureDrift({ captureId: tfId });
    expect(drift.captureId).toBe(tfId);
    expect(Array.isArray(drift.drift)).toBe(true);
    expect((await failure(clients.viewer.getCaptureQa({ captureId: "cap_missing" }))).status).toBe(404);
    process.stdout.write(
      `QA of example.bag: ${qa.verdict} (${qa.reasons.length} reasons); drift of tf_example.bag: ${drift.drift.length} events, calibration ${drift.calibrationId}\n`,
    );
  });

  it("searches scenes with an explain plan", async () => {
    const built = await buildScenes(strata, { capture: tfId });
    const result = await clients.viewer.searchScenes({
      q: `captureId = ${tfId} include:quarantined limit:50`,
      explain: "true",
    });
    expect(result.hits.length).toBeGreaterThan(0);
    expect(result.hits.every((h) => h.captureId === tfId)).toBe(true);
    expect(result.explain).toBeDefined();
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(built)).toContain(tfId);
    const bad = await failure(clients.viewer.searchScenes({ q: "speedMaxMps >>> 3" }));
    expect([bad.status, bad.code]).toEqual([400, "STRATA_E_USAGE"]);
  });

  it("lists datasets with their versions", async () => {
    const created = await createDataset(strata, {
      name: "turtles",
      captures: [exampleId, tfId],
      allowQuarantined: true,
      actor: "test",
    });
    const { datasets } = await clients.viewer.listDatasets();
    const turtles = datasets.find((d) => d.name === "turtles");
    expect(turtles?.versionCount).toBe(1);
    expect(turtles?.versions[0]).toMatchObject({ itemCount: 2, parentVersionId: null });
    expect(turtles?.latestVersionId).toBe(turtles?.versions[0]?.versionId);
    expect(jsonify(created)).toMatchObject({ version: { versionId: turtles?.latestVersionId } });
  });

  it("diffs two dataset versions and reports each version's splits and leakage", async () => {
    const [fromId, toId] = await versionPair();
    const [from, to] = [await showDatasetVersion(strata, fromId), await showDatasetVersion(strata, toId)];
    const diff = await clients.viewer.diffDatasetVersions({ from: fromId, to: toId });
    expect([diff.fromVersionId, diff.toVersionId]).toEqual([fromId, toId]);
    // Every item of either side is accounted for exactly once.
    expect(diff.added.length + diff.changed.length + diff.unchangedCount).toBe(to.manifest.items.length);
    expect(diff.removed.length + diff.changed.length + diff.unchangedCount).toBe(from.manifest.items.length);
    expect(diff.added.map((i) => i.captureId)).toContain(tfId);
    expect(diff.removed).toEqual([]);
    const tfItem = to.manifest.items.find((i) => i.captureId === tfId);
    const gained = diff.byCapture.find((c) => c.captureId === tfId);
    expect(BigInt(gained?.addedNs ?? "0")).toBe((tfItem?.endNs ?? 0n) - (tfItem?.startNs ?? 0n));
    expect(gained?.removedNs).toBe("0");
    expect(diff.manifest).toEqual([]);
    // The reverse diff swaps added and removed.
    const back = await clients.viewer.diffDatasetVersions({ from: toId, to: fromId });
    expect(back.removed.map((i) => i.captureId)).toEqual(diff.added.map((i) => i.captureId));
    expect(back.added).toEqual([]);

    const splits = await clients.viewer.getDatasetSplits({ versionId: toId });
    expect(splits).toMatchObject({ versionId: toId, datasetName: "pair", itemCount: 2 });
    expect(splits.splits.map((s) => s.split)).toEqual(["train", "val", "test"]);
    expect(splits.splits.reduce((n, s) => n + s.itemCount, 0)).toBe(2);
    for (const s of splits.splits) {
      const items = to.manifest.items.filter((i) => i.split === s.split);
      expect(s.itemCount).toBe(items.length);
      expect(BigInt(s.durationNs)).toBe(items.reduce((sum, i) => sum + (i.endNs - i.startNs), 0n));
    }
    expect(splits.splitPolicy?.groupBy).toBe("capture");
    expect(splits.leakage).toEqual({ ok: true, findings: [] });

    // Overlapping windows of one capture in train and test leak; the check says so.
    const start = BigInt((await strata.catalog.getCapture(exampleId))?.startNs ?? 0n);
    // (Only an explicit allowLeakage stores such a version.)
    const leaky = await createDatasetVersion(
      {
        name: "leaky",
        items: [
          { captureId: exampleId, startNs: start, endNs: start + 2_000_000_000n, split: "train" },
          {
            captureId: exampleId,
            startNs: start + 1_000_000_000n,
            endNs: start + 3_000_000_000n,
            split: "test",
          },
        ],
        actor: "test",
        allowQuarantined: true,
        allowLeakage: true,
      },
      { catalog: strata.catalog, codeVersion: strata.codeVersion },
    );
    const leak = await clients.viewer.getDatasetSplits({ versionId: leaky.version.versionId });
    expect(leak.leakage.ok).toBe(false);
    expect(leak.leakage.findings.map((f) => f.kind)).toContain("overlapping_windows");
    expect(leak.splitPolicy).toBeNull();

    const missing = await failure(clients.viewer.diffDatasetVersions({ from: fromId, to: "dsv_missing" }));
    expect([missing.status, missing.code]).toEqual([404, "STRATA_E_NOT_FOUND"]);
    expect((await failure(clients.viewer.getDatasetSplits({ versionId: "dsv_missing" }))).status).toBe(404);
  });

  it("draws the lineage graph of a version, of a capture, and of the whole catalog", async () => {
    // A version built from a scene query names scenes: blob → capture → scenes run → scene → version.
    const fromScenes = await createDataset(strata, {
      name: "tf-scenes",
      fromQuery: `captureId = ${tfId} include:quarantined`,
      allowQuarantined: true,
      actor: "test",
    });
    const versionId = fromScenes.version.versionId;
    const graph = await clients.viewer.getLineageGraph({ of: versionId });
    const ids = new Set(graph.nodes.map((n) => n.id));
    expect(graph.rootId).toBe(`dataset_version:${versionId}`);
    expect(graph.truncated).toBe(false);
    for (const e of graph.edges) expect(ids.has(e.from) && ids.has(e.to), `${e.from} → ${e.to}`).toBe(true);
    const tf = await strata.catalog.getCapture(tfId);
    const edge = (from: string, to: string) => graph.edges.some((e) => e.from === from && e.to === to);
    expect(edge(`blob:${tf?.sha256}`, `capture:${tfId}`)).toBe(true);
    const sceneIds = [...new Set(fromScenes.version.manifest.items.map((i) => i.sceneId))];
    expect(sceneIds.length).toBeGreaterThan(0);
    const [scenesRun] = await strata.catalog.listRuns({ kind: "scenes", limit: 1 });
    for (const sceneId of sceneIds) {
      expect(edge(`scene:${sceneId}`, `dataset_version:${versionId}`), `${sceneId} in version`).toBe(true);
      expect(edge(`run:${scenesRun?.runId}`, `scene:${sceneId}`)).toBe(true);
    }
    expect(edge(`capture:${tfId}`, `run:${scenesRun?.runId}`)).toBe(true);
    const kinds = new Set(graph.nodes.map((n) => n.kind));
    for (const kind of ["blob", "capture", "run", "scene", "dataset_version"]) expect(kinds).toContain(kind);

    // From a capture: its sources, and what was derived from it (scenes, versions holding it).
    const ofCapture = await clients.viewer.getLineageGraph({ of: tfId });
    expect(ofCapture.rootId).toBe(`capture:${tfId}`);
    const derived = new Set(ofCapture.nodes.map((n) => n.id));
    expect(derived).toContain(`dataset_version:${versionId}`);
    expect(derived).toContain(`blob:${tf?.sha256}`);
    expect(ofCapture.nodes.some((n) => n.kind === "scene")).toBe(true);
    // Derived versions are not walked further: example.bag (another member of "pair") is not drawn.
    expect(derived).not.toContain(`capture:${exampleId}`);

    const whole = await clients.viewer.getLineageGraph({});
    expect(whole.rootId).toBeNull();
    const wholeIds = new Set(whole.nodes.map((n) => n.id));
    for (const id of [exampleId, tfId]) expect(wholeIds).toContain(`capture:${id}`);
    const capped = await clients.viewer.getLineageGraph({ maxNodes: 3 });
    expect([capped.nodes.length, capped.truncated]).toEqual([3, true]);

    const missing = await failure(clients.viewer.getLineageGraph({ of: "cap_missing" }));
    expect([missing.status, missing.code]).toEqual([404, "STRATA_E_NOT_FOUND"]);
  });

  it("serves captures' trajectories thinned for the map", async () => {
    const stored = await trajectoryOf(strata, tfId);
    const { trajectories } = await clients.viewer.listTrajectories({ maxPoints: 40 });
    // Only captures with a stored trajectory are listed (example.bag's turtles have none).
    const tf = trajectories.find((t) => t.captureId === tfId);
    expect(trajectories.some((t) => t.captureId === exampleId)).toBe(false);
    expect(tf).toMatchObject({ source: stored.source, frame: stored.frame, poseCount: stored.poseCount });
    const n = stored.trajectory.timestampsSecs.length;
    expect(tf?.xM.length).toBe(Math.min(40, n));
    expect([tf?.xM.length, tf?.yM.length]).toEqual([tf?.tOffsetSecs.length, tf?.tOffsetSecs.length]);
    expect(tf?.xM[0]).toBe(stored.trajectory.positions[0]);
    expect(tf?.yM.at(-1)).toBe(stored.trajectory.positions[3 * (n - 1) + 1]);
    expect(tf?.tOffsetSecs[0]).toBe(0);
    const offsets = tf?.tOffsetSecs ?? [];
    expect(offsets.every((t, i) => i === 0 || t > (offsets[i - 1] ?? 0))).toBe(true);
    expect(BigInt(tf?.startNs ?? "0")).toBe(stored.trajectory.timestampsNs?.[0]);

    const picked = await clients.viewer.listTrajectories({ captureIds: [tfId], maxPoints: 5 });
    expect(picked.trajectories.map((t) => [t.captureId, t.xM.length])).toEqual([[tfId, 5]]);
    expect((await failure(clients.viewer.listTrajectories({ captureIds: ["cap_missing"] }))).status).toBe(
      404,
    );
  });

  it("computes time-to-scenario and time-to-first-dataset from recorded run times", async () => {
    const cockpit = await clients.viewer.getCockpit();
    const captures = await strata.catalog.listCaptures({ limit: 1000 });
    expect(cockpit.captureCount).toBe(captures.length);
    // tf_example.bag's scenes were built and it is in a dataset: both figures measure it.
    const tf = captures.find((c) => c.captureId === tfId);
    const scenesRuns = await strata.catalog.listRuns({ kind: "scenes", status: "completed" });
    const firstScenes = scenesRuns
      .filter((r) => JSON.stringify(r.inputs).includes(tfId))
      .map((r) => r.endedAtNs ?? 0n)
      .sort((a, b) => (a < b ? -1 : 1))[0];
    const scenario = cockpit.timeToScenario.recent.find((r) => r.captureId === tfId);
    expect(scenario?.reachedAtNs).toBe(firstScenes?.toString());
    expect(scenario?.secs).toBeCloseTo(Number((firstScenes ?? 0n) - (tf?.ingestedAtNs ?? 0n)) / 1e9, 6);
    expect(cockpit.timeToScenario.count + cockpit.timeToScenario.pending).toBe(captures.length);
    // example.bag had no scene build, but is in datasets.
    expect(cockpit.timeToScenario.recent.some((r) => r.captureId === exampleId)).toBe(false);
    const dataset = cockpit.timeToFirstDataset;
    expect(dataset.recent.map((r) => r.captureId)).toEqual(expect.arrayContaining([exampleId, tfId]));
    for (const figure of [cockpit.timeToScenario, dataset]) {
      expect(figure.count).toBeGreaterThan(0);
      expect(figure.minSecs).toBeLessThanOrEqual(figure.medianSecs ?? -1);
      expect(figure.medianSecs).toBeLessThanOrEqual(figure.p90Secs ?? -1);
      expect(figure.p90Secs).toBeLessThanOrEqual(figure.maxSecs ?? -1);
      for (const r of figure.recent) expect(r.secs).toBeGreaterThanOrEqual(0);
    }
  });

  it("lists runs and the audit log", async () => {
    const runs = await clients.viewer.listRuns({ limit: 50 });
    expect(runs.runs.filter((r) => r.kind === "ingest").length).toBeGreaterThanOrEqual(2);
    const audit = await clients.steward.listAudit({ limit: 10 });
    expect(audit.chainValid).toBe(true);
    expect(audit.events.length).toBeGreaterThan(0);
  });

  it("creates, lists and revokes tokens; a revoked token gets 401 at once", async () => {
    const created = await clients.admin.createToken({ name: "ci-bot", role: "engineer" });
    expect(created.token).toMatch(/^strata_/);
    const bot = createClient({ baseUrl: server.url, token: created.token });
    expect((await bot.whoAmI()).role).toBe("engineer");
    const listed = await clients.admin.listTokens();
    const row = listed.tokens.find((t) => t.tokenId === created.tokenId);
    expect(row).toMatchObject({ name: "ci-bot", role: "engineer", revokedAtNs: null });
    expect(JSON.stringify(listed)).not.toContain(created.token);

    const revoked = await clients.admin.revokeToken({ tokenId: created.tokenId });
    expect(revoked.revokedAtNs).not.toBeNull();
    const denied = await failure(bot.listCaptures());
    expect([denied.status, denied.code]).toEqual([401, "STRATA_E_UNAUTHENTICATED"]);
    const unknown = await failure(clients.admin.revokeToken({ tokenId: "tok_missing" }));
    expect(unknown.status).toBe(404);
  });

  it("serves Prometheus metrics", async () => {
    const text = await clients.viewer.metrics();
    expect(text).toContain("# TYPE strata_http_request_duration_seconds histogram");
    expect(text).toMatch(
      /strata_http_request_duration_seconds_bucket\{method="GET",route="\/api\/captures",status="200",le="\+Inf"\} \d+/,
    );
    expect(text).toMatch(/strata_ingests_total\{outcome="created"\} [1-9]/);
    expect(text).toMatch(/strata_ingest_bytes_total [1-9]/);
    expect(text).toMatch(/strata_upload_bytes_total [1-9]/);
    expect(text).toContain("strata_ingest_queue_depth 0");
    expect(text).toMatch(/strata_captures 3/);
  });

  it("rejects invalid input with a coded 400 and unknown API paths with 404", async () => {
    const bad = await failure(clients.viewer.listCaptures({ limit: 0 }));
    expect([bad.status, bad.code]).toEqual([400, "STRATA_E_USAGE"]);
    const res = await fetch(`${server.url}/api/nope`, { headers: { authorization: "Bearer x" } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("STRATA_E_NOT_FOUND");
  });
});

describe("SDK types follow the route table", () => {
  it("rejects wrong inputs at compile time (checked by tsc on every npm test)", async () => {
    const c = clients.viewer;
    const never = false as boolean;
    if (never) {
      // @ts-expect-error captureId is required
      await c.getCapture({});
      // @ts-expect-error role must be one of the roles
      await c.createToken({ name: "x", role: "root" });
      // @ts-expect-error upload needs the bytes
      await c.uploadCapture({ filename: "x.mcap" });
      // @ts-expect-error no such route
      await c.deleteEverything();
    }
    const detail = await c.getCapture({ captureId: exampleId });
    const topic: string | undefined = detail.topics[0]?.topic;
    expect(typeof topic).toBe("string");
  });
});

describe("route × role matrix", () => {
  const routeEntries = Object.entries(routes) as [RouteId, RouteSpec][];

  it("covers every route", () => {
    expect(routeEntries.length).toBeGreaterThanOrEqual(22);
  });

  for (const [routeId, route] of routeEntries) {
    it(`${route.method.toUpperCase()} ${route.path} (${route.role})`, async () => {
      let n = 0;
      for (const role of ROLES) {
        n += 1;
        const call = callRoute(clients[role], routeId, n);
        if (roleAllows(role, route.role)) await call;
        else {
          const error = await failure(call);
          expect([error.status, error.code], `${role} on ${routeId}`).toEqual([403, "STRATA_E_FORBIDDEN"]);
        }
      }
      if (route.role === "public") await callRoute(anonymous, routeId, 0);
      else {
        const error = await failure(callRoute(anonymous, routeId, 0));
        expect([error.status, error.code]).toEqual([401, "STRATA_E_UNAUTHENTICATED"]);
        const forged = createClient({ baseUrl: server.url, token: "strata_forged" });
        expect((await failure(callRoute(forged, routeId, 0))).status).toBe(401);
      }
    });
  }

  it("viewers cannot change anything and engineers cannot administer tokens", () => {
    const changing = routeEntries.filter(([, r]) => r.method !== "get");
    expect(changing.length).toBeGreaterThan(0);
    for (const [, r] of changing) expect(roleAllows("viewer", r.role)).toBe(false);
    for (const [id, r] of routeEntries.filter(([, r]) => r.path.startsWith("/api/tokens")))
      expect(roleAllows("engineer", r.role), id).toBe(false);
  });
});

describe("audit", () => {
  it("records every data-reading and -changing request with actor, route, target and outcome", async () => {
    const audited = (Object.entries(routes) as [RouteId, RouteSpec][]).filter(([, r]) => r.audit);
    // Every route that reads or changes catalog data declares an audit action.
    const unaudited = (Object.entries(routes) as [RouteId, RouteSpec][])
      .filter(([, r]) => !r.audit)
      .map(([id]) => id)
      .sort();
    expect(unaudited).toEqual(["health", "metrics", "whoAmI"]);

    for (const [routeId, route] of audited) {
      const before = await strata.catalog.listAudit({ limit: 1, order: "desc" });
      const afterSeq = before[0]?.seq ?? 0n;
      await callRoute(clients.admin, routeId, 1000 + Math.floor(Math.random() * 1e6));
      await failure(callRoute(clients.viewer, routeId, 0)).catch(() => undefined);
      const events = await strata.catalog.listAudit({ afterSeq, limit: 100 });
      const mine = events.filter((e) => e.action === route.audit && e.details.route === route.path);
      expect(
        mine.some((e) => e.actor === "token:e2e-admin" && e.details.outcome === "ok"),
        `${routeId} ok by admin`,
      ).toBe(true);
      if (!roleAllows("viewer", route.role))
        expect(
          mine.some((e) => e.actor === "token:e2e-viewer" && e.details.outcome === "denied"),
          `${routeId} denied for viewer`,
        ).toBe(true);
      for (const e of mine) expect(e.target.startsWith(route.path.split("{")[0] ?? "")).toBe(true);
    }
    expect((await strata.catalog.verifyAuditChain()).ok).toBe(true);
  });
});

describe("OpenAPI", () => {
  it("lists every route of the route table with its schemas", async () => {
    const res = await fetch(`${server.url}/openapi.json`);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    for (const [routeId, route] of Object.entries(routes) as [RouteId, RouteSpec][]) {
      const op = doc.paths[route.path]?.[route.method] as
        | {
            operationId: string;
            parameters: { name: string; in: string; schema: unknown }[];
            requestBody?: { content: Record<string, { schema: unknown }> };
            responses: Record<string, { content: Record<string, { schema: unknown }> }>;
          }
        | undefined;
      expect(op, routeId).toBeDefined();
      if (!op) continue;
      expect(op.operationId).toBe(routeId);
      const ok = Object.values(op.responses["200"]?.content ?? {})[0]?.schema;
      expect(ok, `${routeId} response schema`).toBeTruthy();
      for (const key of Object.keys((route.params as { shape?: object } | undefined)?.shape ?? {}))
        expect(op.parameters.some((p) => p.in === "path" && p.name === key && p.schema)).toBe(true);
      for (const key of Object.keys((route.query as { shape?: object } | undefined)?.shape ?? {}))
        expect(op.parameters.some((p) => p.in === "query" && p.name === key && p.schema)).toBe(true);
      if (route.body || route.requestKind === "octet-stream")
        expect(Object.values(op.requestBody?.content ?? {})[0]?.schema, `${routeId} body`).toBeTruthy();
    }
    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/openapi.json");
  });
});
