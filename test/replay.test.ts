/**
 * Live replay over the Foxglove WebSocket protocol: a real client (@foxglove/ws-protocol's FoxgloveClient
 * on `ws`, subprotocol foxglove.websocket.v1) subscribes and receives the window's messages in order,
 * paced by log time within 10% at rate 1 and faster at rate 10; pause / rate / seek through parameters.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { performance } from "node:perf_hooks";
import protocol from "@foxglove/ws-protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { createStrata, replayCapture, resolveConfig, type Strata } from "../src/app/index.ts";
import { REPLAY_PARAMETERS } from "../src/pipelines/index.ts";
import {
  TEST_CAPTURE_START_NS,
  type TestMessage,
  writeTestCapture,
} from "../src/pipelines/export/test-support.ts";
import { strataBin, tempDir } from "./helpers.ts";

const { FoxgloveClient } = protocol;
const SEC = 1_000_000_000n;

interface Received {
  topic: string;
  timestamp: bigint;
  data: string;
  atMs: number;
}

/** A protocol client that subscribes to every advertised channel and records what arrives. */
async function connect(url: string) {
  const ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
  const client = new FoxgloveClient({ ws: ws as unknown as protocol.IWebSocket });
  const channels = new Map<number, protocol.Channel>();
  const topicOfSubscription = new Map<number, string>();
  const received: Received[] = [];
  const times: bigint[] = [];
  const parameterValues: protocol.ParameterValues[] = [];
  let serverInfo: protocol.ServerInfo | undefined;
  client.on("serverInfo", (info) => {
    serverInfo = info;
  });
  client.on("time", (event) => times.push(event.timestamp));
  client.on("parameterValues", (event) => parameterValues.push(event));
  const advertised = new Promise<void>((resolve) =>
    client.on("advertise", (list) => {
      for (const channel of list) channels.set(channel.id, channel);
      resolve();
    }),
  );
  client.on("message", (event) => {
    received.push({
      topic: topicOfSubscription.get(event.subscriptionId) ?? "?",
      timestamp: event.timestamp,
      data: Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength).toString("hex"),
      atMs: performance.now(),
    });
  });
  await advertised;
  return {
    client,
    channels,
    received,
    times,
    parameterValues,
    serverInfo: () => serverInfo,
    subscribeAll() {
      for (const channel of channels.values())
        topicOfSubscription.set(client.subscribe(channel.id), channel.topic);
    },
    close() {
      client.close();
    },
  };
}

const hex = (data: Uint8Array) => Buffer.from(data).toString("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error("timed out");
    await sleep(5);
  }
}

/** Largest gap, in ms, between when each message arrived and when log time says it should have. */
function pacing(received: Received[], rate: number) {
  const first = received[0];
  if (!first) throw new Error("nothing received");
  let worstMs = 0;
  for (const m of received) {
    const wallMs = m.atMs - first.atMs;
    const logMs = Number(m.timestamp - first.timestamp) / 1e6 / rate;
    worstMs = Math.max(worstMs, Math.abs(wallMs - logMs));
  }
  const last = received.at(-1) ?? first;
  return {
    wallSpanMs: last.atMs - first.atMs,
    logSpanMs: Number(last.timestamp - first.timestamp) / 1e6 / rate,
    worstMs,
  };
}

describe("live replay (Foxglove WebSocket protocol)", () => {
  let dir: string;
  let cleanup: () => void;
  let strata: Strata;
  let captureId: string;
  let messages: TestMessage[];
  const startNs = TEST_CAPTURE_START_NS + 2n * SEC;
  const endNs = TEST_CAPTURE_START_NS + 5n * SEC;
  const topics = ["/chatter", "/imu_raw"];

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir("strata-replay-"));
    strata = await createStrata(resolveConfig({ home: path.join(dir, "home"), env: {} }));
    const file = path.join(dir, "capture.mcap");
    messages = await writeTestCapture(file, { durationSecs: 8 });
    captureId = (await strata.ingest(file)).captureId;
  });
  afterAll(async () => {
    await strata.close();
    cleanup();
  });

  const expectedWindow = () =>
    messages.filter((m) => topics.includes(m.topic) && m.logTimeNs >= startNs && m.logTimeNs <= endNs);

  for (const rate of [1, 10]) {
    it(`streams the window in log-time order, paced by log time at rate ${rate}`, async () => {
      const server = await replayCapture(strata, {
        capture: captureId,
        start: startNs.toString(),
        end: endNs.toString(),
        topics,
        rate,
        port: 0,
      });
      const client = await connect(server.url);
      try {
        // Channels advertised with their schemas.
        expect([...client.channels.values()].map((c) => c.topic).sort()).toEqual([...topics].sort());
        for (const channel of client.channels.values()) {
          expect(channel.encoding).toBe("cdr");
          expect(channel.schemaEncoding).toBe("ros2msg");
          expect(channel.schema).toBe(channel.topic === "/chatter" ? "string data\n" : "uint8[] data\n");
        }
        expect(client.serverInfo()?.capabilities).toEqual(
          expect.arrayContaining(["time", "parameters", "parametersSubscribe"]),
        );
        expect(client.serverInfo()?.metadata?.captureId).toBe(captureId);
        expect(server.state().status).toBe("waiting");

        client.subscribeAll();
        await server.finished;
        await sleep(50);

        const expected = expectedWindow();
        expect(client.received.length).toBe(expected.length);
        expect(
          client.received.map((m) => ({ topic: m.topic, timestamp: m.timestamp, data: m.data })),
        ).toEqual(expected.map((m) => ({ topic: m.topic, timestamp: m.logTimeNs, data: hex(m.data) })));
        expect(client.times.length).toBeGreaterThanOrEqual(expected.length);
        expect(server.state().status).toBe("ended");

        const { wallSpanMs, logSpanMs, worstMs } = pacing(client.received, rate);
        if (rate === 1) {
          // Within 10% of log time, over the whole window and for every single message.
          expect(Math.abs(wallSpanMs - logSpanMs)).toBeLessThanOrEqual(0.1 * logSpanMs);
          expect(worstMs).toBeLessThanOrEqual(0.1 * logSpanMs);
        } else {
          // Faster (at least 5x), and still paced: not sooner than log time / rate allows (10% slack).
          expect(wallSpanMs).toBeLessThan((logSpanMs * rate) / 5);
          expect(wallSpanMs).toBeGreaterThanOrEqual(0.9 * logSpanMs);
        }
        console.log(
          `replay rate ${rate}: ${client.received.length} messages, log span ${(logSpanMs * rate).toFixed(0)} ms, wall span ${wallSpanMs.toFixed(0)} ms, worst per-message error ${worstMs.toFixed(1)} ms`,
        );
      } finally {
        client.close();
        await server.close();
      }
    });
  }

  it("pauses, changes rate and seeks through the protocol's parameters", async () => {
    const server = await replayCapture(strata, {
      capture: captureId,
      start: startNs.toString(),
      end: endNs.toString(),
      topics: ["/chatter"],
      port: 0,
    });
    const client = await connect(server.url);
    try {
      client.client.subscribeParameterUpdates(Object.values(REPLAY_PARAMETERS));
      client.subscribeAll();
      await until(() => client.received.length >= 5);

      // Pause: nothing arrives while paused, and the position stays put.
      client.client.setParameters([{ name: REPLAY_PARAMETERS.paused, value: true }], "pause");
      await until(() => server.state().status === "paused");
      const atPause = client.received.length;
      const positionAtPause = server.state().positionNs;
      await sleep(600);
      expect(client.received.length).toBe(atPause);
      expect(server.state().positionNs).toBe(positionAtPause);
      const reply = client.parameterValues.find((p) => p.id === "pause");
      expect(reply?.parameters).toEqual([{ name: REPLAY_PARAMETERS.paused, value: true }]);

      // Read the state back through getParameters.
      client.client.getParameters([], "all");
      await until(() => client.parameterValues.some((p) => p.id === "all"));
      const all = Object.fromEntries(
        (client.parameterValues.find((p) => p.id === "all")?.parameters ?? []).map((p) => [p.name, p.value]),
      );
      expect(all[REPLAY_PARAMETERS.status]).toBe("paused");
      expect(all[REPLAY_PARAMETERS.startNs]).toBe(startNs.toString());
      expect(BigInt(String(all[REPLAY_PARAMETERS.positionNs]))).toBe(positionAtPause);

      // Seek back to the start at rate 4, then resume: the window's first message comes again, 4x faster.
      client.client.setParameters([
        { name: REPLAY_PARAMETERS.positionNs, value: startNs.toString() },
        { name: REPLAY_PARAMETERS.rate, value: 4 },
        { name: REPLAY_PARAMETERS.paused, value: false },
      ]);
      await server.finished;
      const afterSeek = client.received.slice(atPause);
      const expected = expectedWindow().filter((m) => m.topic === "/chatter");
      expect(afterSeek.map((m) => m.timestamp)).toEqual(expected.map((m) => m.logTimeNs));
      const { wallSpanMs, logSpanMs } = pacing(afterSeek, 4);
      expect(Math.abs(wallSpanMs - logSpanMs)).toBeLessThanOrEqual(0.1 * logSpanMs);
      // Parameter updates reach the subscribed client.
      await until(() =>
        client.parameterValues.some((p) =>
          p.parameters.some((q) => q.name === REPLAY_PARAMETERS.status && q.value === "ended"),
        ),
      );
      // Bad values are refused with a status message, not applied.
      client.client.setParameters([{ name: REPLAY_PARAMETERS.rate, value: -1 }]);
      await sleep(100);
      expect(server.state().rate).toBe(4);
    } finally {
      client.close();
      await server.close();
    }
  });

  it("refuses clients that do not speak foxglove.websocket.v1", async () => {
    const server = await replayCapture(strata, { capture: captureId, port: 0 });
    try {
      const outcome = await new Promise<string>((resolve) => {
        const ws = new WebSocket(server.url, ["something-else"]);
        ws.on("error", () => resolve("error"));
        ws.on("close", (code) => resolve(`close ${code}`));
      });
      expect(["error", "close 1002"]).toContain(outcome);
    } finally {
      await server.close();
    }
  });

  it("serves from the CLI (strata replay --port 0 --exit-at-end) and records an audit event", async () => {
    const home = path.join(dir, "home");
    const child = spawn(
      process.execPath,
      [
        strataBin,
        "replay",
        captureId,
        "--start",
        "+1s",
        "--end",
        "+2s",
        "--topics",
        "/chatter",
        "--rate",
        "2",
        "--port",
        "0",
        "--exit-at-end",
        "--json",
      ],
      { env: { ...process.env, STRATA_HOME: home, STRATA_CATALOG_URL: "" } },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    await until(() => stdout.includes("\n") || child.exitCode !== null, 60_000);
    const { url } = JSON.parse(stdout.split("\n")[0] ?? "{}") as { url: string };
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const client = await connect(url);
    client.subscribeAll();
    expect(await exited).toBe(0);
    client.close();
    expect(stderr).toBe("");
    // 10 /chatter messages per second; the window is [first + 1 s, first + 2 s] inclusive.
    expect(client.received.length).toBe(11);
    const [event] = await strata.catalog.listAudit({ action: "capture.replay", order: "desc", limit: 1 });
    expect(event?.target).toBe(captureId);
    expect(event?.details).toMatchObject({ rate: 2, topics: ["/chatter"] });
  });
});
