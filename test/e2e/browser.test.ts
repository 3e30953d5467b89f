/**
 * The web UI in a real browser (playwright-core driving Debian's chromium) against the real server:
 * sign in, upload a log, see it in the portal, its sensor-health timeline, the 3D capture view, and the
 * lineage, audit and metrics pages. Screenshots go to test-output/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildScenes, createDataset, createStrata, resolveConfig, type Strata } from "../../src/app/index.ts";
import { type ServerHandle, startServer } from "../../src/server/index.ts";
import { fixtures, repoRoot, tempDir } from "../helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const webRoot = path.join(repoRoot, "web", "dist");
const shots = path.join(repoRoot, "test-output", "browser");

let home: ReturnType<typeof tempDir>;
let strata: Strata;
let server: ServerHandle;
let context: BrowserContext;
let page: Page;
let adminToken: string;
/** The log the test uploads: a synthetic multi-sensor capture when the generator exists, else a fixture bag. */
let upload: { file: string; synthetic: boolean };

async function syntheticCapture(dir: string): Promise<string | undefined> {
  const pipelines = (await import("../../src/pipelines/index.ts")) as Record<string, unknown>;
  const generate = pipelines.generateCapture as
    | ((o: { outPath: string; seconds: number; seed: number; faults: string[] }) => Promise<unknown>)
    | undefined;
  if (typeof generate !== "function") return undefined;
  const outPath = path.join(dir, "synthetic-drive.mcap");
  await generate({ outPath, seconds: 4, seed: 11, faults: ["lidar-dropout"] });
  return outPath;
}

beforeAll(async () => {
  if (!existsSync(path.join(webRoot, "index.html"))) {
    const built = spawnSync("npm", ["run", "build:web"], { cwd: repoRoot, encoding: "utf8" });
    if (built.status !== 0) throw new Error(`web build failed: ${built.stderr}`);
  }
  mkdirSync(shots, { recursive: true });
  home = tempDir("strata-browser-");
  strata = await createStrata(resolveConfig({ home: home.dir, env: {} }));
  await strata.ingest(path.join(fixtures, "ros1", "example.bag"), {
    rig: "turtlesim",
    site: "lab",
    actor: "test",
  });
  adminToken = (await strata.tokens.create("browser-admin", "admin")).token;
  const synthetic = await syntheticCapture(home.dir);
  upload = synthetic
    ? { file: synthetic, synthetic: true }
    : { file: path.join(fixtures, "ros1", "tf_example.bag"), synthetic: false };
  server = await startServer(strata, { port: 0, webRoot });
  context = await chromium.launchPersistentContext(path.join(home.dir, "chromium-profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // WebGL through SwiftShader (software) since there is no GPU.
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
    ],
    viewport: { width: 1400, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
}, 240_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  await strata?.close();
  home?.cleanup();
});

/** A route's JSON through the real server with the admin token (what the page should show). */
async function apiJson<T>(pathAndQuery: string): Promise<T> {
  const res = await fetch(`${server.url}${pathAndQuery}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  expect(res.status, pathAndQuery).toBe(200);
  return (await res.json()) as T;
}

const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

describe("web UI in chromium", () => {
  it("refuses a bad token, then signs in with a good one", async () => {
    await page.goto(server.url);
    await page.fill("input[name=token]", "strata_wrong");
    await page.click("button[type=submit]");
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("Missing or invalid API token");
    await page.fill("input[name=token]", adminToken);
    await page.click("button[type=submit]");
    await page.getByTestId("who").waitFor();
    expect(await page.getByTestId("who").textContent()).toContain("browser-admin · admin");
    expect(await page.evaluate("sessionStorage.getItem('strata.token')")).toBe(adminToken);
    await page.getByTestId("captures").waitFor();
    expect(await page.getByTestId("captures").textContent()).toContain("turtlesim");
  });

  it("uploads a log through the UI and shows it in the portal", async () => {
    await page.setInputFiles("[data-testid=upload] input[type=file]", upload.file);
    await page.fill("[data-testid=upload] input[name=rig]", "browser-rig");
    await page.click("[data-testid=upload] button[type=submit]");
    const result = page.getByTestId("upload-result");
    await result.waitFor({ timeout: 120_000 });
    const text = (await result.textContent()) ?? "";
    expect(text).toMatch(/^Ingested .* → cap_[0-9a-f]+/);
    const captureId = /cap_[0-9a-f]+/.exec(text)?.[0] ?? "";
    const row = page.locator("[data-testid=captures] tr", { hasText: captureId });
    await row.waitFor();
    expect(await row.textContent()).toContain("browser-rig");
    // The catalog's status (ready, or quarantined when ingest's checks held it back) is what the portal shows.
    const status = (await strata.catalog.getCapture(captureId))?.status ?? "missing";
    expect(await row.locator(".status").textContent()).toBe(status);
    // The QA verdict column shows the API's verdict for the capture.
    const qa = (await (
      await fetch(`${server.url}/api/captures/${captureId}/qa`, {
        headers: { authorization: `Bearer ${adminToken}` },
      })
    ).json()) as { verdict: string | null; reasons: { topic: string; severity: string }[] };
    if (qa.verdict) {
      await row.getByTestId("qa-verdict").waitFor();
      expect(await row.getByTestId("qa-verdict").textContent()).toMatch(new RegExp(`^${qa.verdict}`));
    } else expect(await row.textContent()).toContain("no QA run");
    await shot("01-portal");

    await row.getByRole("link", { name: captureId }).click();
    const timeline = page.locator("canvas[data-testid=timeline][data-drawn]");
    await timeline.waitFor();
    // One timeline row per topic of the capture.
    const topicRows = await page.locator("[data-testid=topics] tbody tr").count();
    expect(topicRows).toBeGreaterThan(0);
    expect(Number(await timeline.getAttribute("data-drawn"))).toBe(topicRows);
    expect(await page.getByTestId("topics").textContent()).toContain(
      upload.synthetic ? "/lidar/points" : "/tf",
    );
    if (upload.synthetic) {
      // The injected lidar dropout shows as gap buckets in the per-topic table.
      const lidarRow = page.locator("[data-testid=topics] tr", { hasText: "/lidar/points" });
      expect(Number((await lidarRow.locator("td").nth(7).textContent()) ?? "0")).toBeGreaterThan(0);
    }
    // QA findings are flagged on the timeline and listed; the verdict and calibration cards are filled.
    expect(Number(await timeline.getAttribute("data-flags"))).toBe(qa.reasons.length);
    if (qa.verdict) expect(await page.getByTestId("qa-card").textContent()).toContain(qa.verdict);
    if (upload.synthetic) {
      expect(qa.reasons.some((r) => r.topic === "/lidar/points")).toBe(true);
      expect(await page.getByTestId("qa-reasons").textContent()).toContain("/lidar/points");
    }
    expect(await page.getByTestId("calibration-card").textContent()).toMatch(/Recorded with|No calibration/);
    await shot("02-capture-health");
  }, 240_000);

  it("opens the 3D capture view with trajectory, lidar, boxes and camera image", async () => {
    await page.getByRole("link", { name: "Open 3D view" }).click();
    const scene = page.locator("canvas[data-testid=scene][data-rendered]");
    await scene.waitFor();
    const status = page.getByTestId("scene-status");
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/\d+ poses/);
    if (upload.synthetic) {
      await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/[\d,]+ points in lidar/);
      await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/\d+ boxes/);
      await expect
        .poll(() => page.getByTestId("frusta").textContent(), { timeout: 60_000 })
        .toContain("Drawn from /camera_front/camera_info");
      const image = page.getByTestId("camera-image");
      await image.waitFor();
      expect(
        await image.evaluate((element) => {
          const img = element as unknown as { complete: boolean; naturalWidth: number };
          return img.complete && img.naturalWidth > 0;
        }),
      ).toBe(true);
      // Move the slider to the start: the frame of that time loads.
      const before = await image.getAttribute("alt");
      await page.getByTestId("time-slider").focus();
      await page.keyboard.press("Home");
      expect(await page.getByTestId("time-slider").inputValue()).toBe("0");
      await expect
        .poll(() => page.getByTestId("camera-image").getAttribute("alt"), { timeout: 60_000 })
        .not.toBe(before);
      expect(await page.getByTestId("camera-image").getAttribute("alt")).toMatch(/ at 0\.\d+ s$/);
    }
    // The WebGL canvas holds a drawn scene, not a blank clear colour.
    // (Structural types: the root tsconfig has no DOM library.)
    const colours = await scene.evaluate((element) => {
      interface Canvas2d {
        width: number;
        height: number;
        getContext(kind: "2d"): {
          drawImage(source: unknown, x: number, y: number): void;
          getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
        } | null;
      }
      const canvas = element as unknown as Canvas2d;
      const doc = (globalThis as unknown as { document: { createElement(tag: "canvas"): Canvas2d } })
        .document;
      const copy = doc.createElement("canvas");
      copy.width = canvas.width;
      copy.height = canvas.height;
      const ctx = copy.getContext("2d");
      if (!ctx) return 0;
      ctx.drawImage(canvas, 0, 0);
      const pixels = ctx.getImageData(0, 0, copy.width, copy.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < pixels.length; i += 4 * 97)
        seen.add(((pixels[i] ?? 0) << 16) | ((pixels[i + 1] ?? 0) << 8) | (pixels[i + 2] ?? 0));
      return seen.size;
    });
    expect(colours).toBeGreaterThan(8);
    await page.waitForTimeout(500);
    await shot("03-capture-view");
  }, 180_000);

  it("shows lineage runs, the audit log, metrics, scene search and datasets", async () => {
    await page.getByRole("link", { name: "Lineage" }).click();
    await page.getByTestId("runs").waitFor();
    expect(await page.getByTestId("runs").textContent()).toContain("ingest");
    // With no dataset yet, the graph traces the newest capture: the uploaded one, from its raw blob.
    const newest = (await strata.catalog.listCaptures({ limit: 1 }))[0];
    await page.locator("svg[data-testid=lineage-graph]").waitFor();
    expect(await page.getByTestId("lineage-summary").textContent()).toContain(
      `from capture:${newest?.captureId}`,
    );
    expect(await page.locator(`svg [data-id="blob:${newest?.sha256}"]`).count()).toBe(1);
    await shot("04-lineage");

    await page.getByRole("link", { name: "Audit" }).click();
    await page.getByTestId("audit").waitFor();
    expect(await page.getByTestId("chain").textContent()).toContain("verified");
    const audit = (await page.getByTestId("audit").textContent()) ?? "";
    expect(audit).toContain("capture.upload");
    expect(audit).toContain("token:browser-admin");
    await shot("05-audit");

    await page.getByRole("link", { name: "Metrics" }).click();
    await page.getByTestId("latency").waitFor();
    expect(await page.getByTestId("latency").textContent()).toContain("POST /api/captures");
    // No scene build and no dataset yet: the cockpit figures say so instead of showing numbers.
    for (const figure of ["time-to-scenario", "time-to-first-dataset"]) {
      await page.getByTestId(figure).waitFor();
      expect(await page.getByTestId(figure).textContent()).toContain("No data yet");
    }
    expect(await page.getByTestId("metrics").textContent()).toMatch(
      /ingests \(created \/ existing \/ failed\)/,
    );
    await shot("06-metrics");

    // Scene search: build the uploaded capture's scenes, then search them in the UI with explain.
    const captureId = (await strata.catalog.listCaptures({ limit: 1 }))[0]?.captureId ?? "";
    await buildScenes(strata, { capture: captureId });
    await page.getByRole("link", { name: "Search", exact: true }).click();
    await page.fill(
      "[data-testid=search-form] input[name=q]",
      `captureId = ${captureId} include:quarantined`,
    );
    await page.check("[data-testid=search-form] input[type=checkbox]");
    await page.click("[data-testid=search-form] button[type=submit]");
    await page.getByTestId("search-results").waitFor();
    expect(await page.getByTestId("search-summary").textContent()).toMatch(/^[1-9]\d* scenes? in /);
    expect(await page.getByTestId("search-results").textContent()).toContain(captureId);
    await page.getByTestId("explain").waitFor();
    if (upload.synthetic) await page.getByTestId("thumbnail").first().waitFor();
    await shot("07-search");

    // The map plots the stored trajectories and the results' scene windows on them.
    const map = page.locator("svg[data-testid=trajectory-map]");
    await map.waitFor();
    const { trajectories } = await apiJson<{ trajectories: { captureId: string }[] }>(
      "/api/trajectories?maxPoints=400",
    );
    expect(trajectories.map((t) => t.captureId)).toContain(captureId);
    expect(Number(await map.getAttribute("data-trajectories"))).toBe(trajectories.length);
    const hits = await page.locator("[data-testid=search-results] tbody tr").count();
    await expect.poll(async () => Number(await map.getAttribute("data-windows"))).toBeGreaterThan(0);
    expect(Number(await map.getAttribute("data-windows"))).toBeLessThanOrEqual(hits);
    // Clicking a scene's centre writes a within: predicate; searching with it finds that scene.
    const sceneMark = map.locator("g[data-scene]").first();
    const sceneId = (await sceneMark.getAttribute("data-scene")) ?? "";
    // (force: the map reads the click's position, whatever mark is drawn on top there)
    await sceneMark.locator("circle").click({ force: true });
    await page.getByTestId("picked-point").waitFor();
    const query = await page.inputValue("[data-testid=search-form] input[name=q]");
    expect(query).toMatch(/within:\(-?[\d.]+, -?[\d.]+, [\d.]+m\)/);
    await page.click("[data-testid=search-form] button[type=submit]");
    await expect
      .poll(() => page.getByTestId("search-summary").textContent())
      .toMatch(/^[1-9]\d* scenes? in /);
    await expect.poll(() => page.getByTestId("search-results").textContent()).toContain(sceneId);
    await shot("07b-search-map");

    await page.getByRole("link", { name: "Metrics" }).click();
    await expect.poll(() => page.getByTestId("retrieval-latency").textContent()).toMatch(/over \d+ searches/);

    // A dataset version built from the uploaded capture shows on the Datasets page.
    const created = await createDataset(strata, {
      name: "browser-set",
      captures: [captureId],
      allowQuarantined: true,
      actor: "test",
    });
    // Its second version takes the capture's scenes instead of the whole capture.
    const second = await createDataset(strata, {
      name: "browser-set",
      fromQuery: `captureId = ${captureId} include:quarantined`,
      parentVersionId: created.version.versionId,
      allowQuarantined: true,
      actor: "test",
    });
    await page.getByRole("link", { name: "Datasets", exact: true }).click();
    await page.getByTestId("datasets").waitFor();
    expect(await page.getByTestId("datasets").textContent()).toContain(created.version.versionId);

    // The diff of the two versions (the page opens on the newest version against its parent) and splits.
    const fromId = created.version.versionId;
    const toId = second.version.versionId;
    const diff = await apiJson<{
      added: unknown[];
      removed: unknown[];
      changed: unknown[];
      unchangedCount: number;
    }>(`/api/datasets/diff?from=${fromId}&to=${toId}`);
    expect(diff.added.length + diff.changed.length).toBe(second.version.manifest.items.length);
    await page.getByTestId("dataset-diff").waitFor();
    expect(await page.inputValue("[data-testid=diff-form] select[name=from]")).toBe(fromId);
    expect(await page.inputValue("[data-testid=diff-form] select[name=to]")).toBe(toId);
    expect(await page.getByTestId("diff-summary").textContent()).toBe(
      `${diff.added.length}added${diff.removed.length}removed${diff.changed.length}changed${diff.unchangedCount}unchanged`,
    );
    expect(await page.locator("[data-testid=diff-items] tbody tr").count()).toBe(
      diff.added.length + diff.removed.length + diff.changed.length,
    );
    for (const { version, leakage } of [created, second]) {
      const card = page.locator(`[data-testid=dataset-splits][data-version="${version.versionId}"]`);
      await card.waitFor();
      for (const split of ["train", "val", "test"] as const) {
        const count = version.manifest.items.filter((i) => i.split === split).length;
        expect(await card.locator(`tr[data-split=${split}] td`).nth(1).textContent()).toBe(String(count));
      }
      expect(await card.getByTestId("leakage").textContent()).toContain(
        !leakage.ok ? "the splits leak" : leakage.findings.length ? "passed with warnings" : "no leakage",
      );
    }
    await shot("08-datasets-diff-splits");

    // The lineage graph of the scene-based version: raw blob → capture → scenes run → scenes → version.
    await page.goto(`${server.url}/#/lineage/${toId}`);
    const graphSvg = page.locator("svg[data-testid=lineage-graph]");
    await graphSvg.waitFor();
    await expect
      .poll(() => page.getByTestId("lineage-summary").textContent())
      .toContain(`dataset_version:${toId}`);
    const graph = await apiJson<{ nodes: { id: string; kind: string }[]; edges: unknown[] }>(
      `/api/lineage/graph?of=${toId}`,
    );
    expect(Number(await graphSvg.getAttribute("data-nodes"))).toBe(graph.nodes.length);
    expect(Number(await graphSvg.getAttribute("data-edges"))).toBe(graph.edges.length);
    for (const kind of ["blob", "capture", "run", "scene", "dataset_version"]) {
      expect(await graphSvg.locator(`g[data-kind=${kind}]`).count(), kind).toBe(
        graph.nodes.filter((n) => n.kind === kind).length,
      );
      expect(
        graph.nodes.some((n) => n.kind === kind),
        kind,
      ).toBe(true);
    }
    await graphSvg.locator("g[data-kind=scene]").first().click();
    await page.getByTestId("lineage-node").waitFor();
    expect(await page.getByTestId("lineage-node").textContent()).toContain(captureId);
    await shot("09-lineage-graph");

    // The cockpit now measures the uploaded capture: scenes built, then datasets frozen.
    await page.getByRole("link", { name: "Metrics" }).click();
    const cockpit = await apiJson<{
      timeToScenario: { count: number; recent: { captureId: string }[] };
      timeToFirstDataset: { count: number; recent: { captureId: string }[] };
    }>("/api/metrics/cockpit");
    for (const [testId, figure] of [
      ["time-to-scenario", cockpit.timeToScenario],
      ["time-to-first-dataset", cockpit.timeToFirstDataset],
    ] as const) {
      expect(figure.recent.map((r) => r.captureId)).toContain(captureId);
      await expect.poll(() => page.getByTestId(testId).textContent()).toContain("median");
      expect(await page.getByTestId(testId).textContent()).toContain(captureId);
      expect(await page.getByTestId(testId).textContent()).toContain(`over ${figure.count} capture`);
    }
    await shot("10-cockpit");
  }, 240_000);

  it("keeps web/ to type-only imports from src", () => {
    const files = spawnSync(
      "grep",
      ["-rlE", 'from "\\.\\./+\\.\\./+src|from "\\.\\./\\.\\./\\.\\./src', "web/src"],
      {
        cwd: repoRoot,
        encoding: "utf8",
      },
    )
      .stdout.split("\n")
      .filter(Boolean);
    for (const file of files) {
      const text = readFileSync(path.join(repoRoot, file), "utf8");
      for (const line of text.split("\n").filter((l) => /from "(\.\.\/)+src\//.test(l)))
        expect(line, file).toMatch(/^import type |^export type /);
    }
  });
});
