/**
 * Live replay of a stored capture's window over the Foxglove WebSocket protocol (`foxglove.websocket.v1`,
 * through @foxglove/ws-protocol's FoxgloveServer on a `ws` server), so Foxglove or Lichtblick connect to
 * `ws://HOST:PORT` and play it like a live robot.
 *
 * - Channels are advertised with their schemas (text schemas as is; binary ones, e.g. protobuf, base64).
 * - Messages go out in log-time order, paced by log time at `rate` (wall time between two messages =
 *   log-time gap / rate), with their log time as the message timestamp; with the `time` capability the
 *   server clock follows log time, so the app's timeline is the recording's.
 * - The clock starts when the first client subscribes (or at once with `autoplay`); at the window's end it
 *   stops (or starts over with `loop`).
 * - Player controls: version 1 of the protocol has no playback opcodes, so pause, rate and seek are
 *   parameters (`parameters` + `parametersSubscribe` capabilities; Foxglove's Parameters panel edits them):
 *   `strata.replay.paused` (bool), `strata.replay.rate` (number), `strata.replay.position_ns` (decimal
 *   string; setting it seeks), and read-only `start_ns`, `end_ns`, `status`. The same controls are methods.
 * - Memory: one message in flight; a client that falls more than `maxBufferedBytes` behind pauses the
 *   stream until its socket drains.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import protocol from "@foxglove/ws-protocol";
import { type WebSocket, WebSocketServer } from "ws";
import { StrataError } from "../../core/index.ts";
import { type LogLayout, type LogMessage, type LogReader, openLog } from "../../formats/index.ts";

const { FoxgloveServer, StatusLevel } = protocol;
type Parameter = protocol.Parameter;
type Connection = protocol.IWebSocket;

export const REPLAY_SUBPROTOCOL = "foxglove.websocket.v1";
export const REPLAY_PARAMETERS = {
  paused: "strata.replay.paused",
  rate: "strata.replay.rate",
  positionNs: "strata.replay.position_ns",
  startNs: "strata.replay.start_ns",
  endNs: "strata.replay.end_ns",
  status: "strata.replay.status",
} as const;

export interface ReplayOptions {
  /** A path `openLog` reads (see storedCapturePath). */
  logPath: string;
  layout: LogLayout;
  /** Inclusive window. */
  startNs: bigint;
  endNs: bigint;
  /** Topics to offer (default: all). */
  topics?: readonly string[];
  /** Playback speed, > 0 (default 1: real time). */
  rate?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 8765; 0 = any free port). */
  port?: number;
  /** Start over at the window's end instead of stopping (default false). */
  loop?: boolean;
  /** Start the clock at once instead of at the first subscription (default false). */
  autoplay?: boolean;
  /** Server name shown by the app. */
  name?: string;
  /** serverInfo metadata (capture id, …). */
  metadata?: Record<string, string>;
  /** A client this many bytes behind holds the stream back until it drains (default 64 MiB). */
  maxBufferedBytes?: number;
}

export type ReplayStatus = "waiting" | "playing" | "paused" | "ended";

export interface ReplayState {
  status: ReplayStatus;
  rate: number;
  /** Current log time of the replay clock. */
  positionNs: bigint;
  messagesSent: number;
  clients: number;
}

export interface ReplayServer {
  /** `ws://host:port` */
  readonly url: string;
  readonly port: number;
  /** Resolves when playback first reaches the window's end (never with `loop`). */
  readonly finished: Promise<void>;
  state(): ReplayState;
  play(): void;
  pause(): void;
  /** Moves the clock to `positionNs` (clamped to the window); playback continues from there. */
  seek(positionNs: bigint): void;
  setRate(rate: number): void;
  close(): Promise<void>;
}

/** Starts serving; resolves once the port is listening. */
export async function startReplay(options: ReplayOptions): Promise<ReplayServer> {
  const rate = options.rate ?? 1;
  checkRate(rate);
  if (options.endNs < options.startNs) {
    throw new StrataError(
      "STRATA_E_USAGE",
      `the window ends (${options.endNs}) before it starts (${options.startNs})`,
    );
  }
  const reader = await openLog(options.logPath);
  const replay = new Replay(options, reader, rate);
  try {
    await replay.listen(options.host ?? "127.0.0.1", options.port ?? 8765);
  } catch (error) {
    await replay.close();
    throw error;
  }
  replay.run();
  return replay;
}

function checkRate(rate: number): void {
  if (!Number.isFinite(rate) || rate <= 0) {
    throw new StrataError("STRATA_E_USAGE", `the rate must be a positive number, not ${rate}`);
  }
}

class Replay implements ReplayServer {
  url = "";
  port = 0;
  readonly finished: Promise<void>;
  readonly #options: ReplayOptions;
  readonly #reader: LogReader;
  readonly #foxglove: InstanceType<typeof FoxgloveServer>;
  readonly #channelIds = new Map<number, number>();
  readonly #topics: readonly string[] | undefined;
  #http: Server | undefined;
  #wss: WebSocketServer | undefined;
  #resolveFinished: () => void = () => {};
  #runLoop: Promise<void> | undefined;

  // The clock: while playing, log time = anchorLogNs + (now - anchorWallMs) * rate.
  #status: ReplayStatus = "waiting";
  #rate: number;
  #anchorWallMs = 0;
  #anchorLogNs: bigint;
  /** Log time while paused / waiting / ended. */
  #positionNs: bigint;
  /** Bumped by every seek: the reading loop restarts at #seekNs. */
  #generation = 0;
  #seekNs: bigint;
  #messagesSent = 0;
  #closed = false;
  #wake: () => void = () => {};

  constructor(options: ReplayOptions, reader: LogReader, rate: number) {
    this.#options = options;
    this.#reader = reader;
    this.#rate = rate;
    this.#anchorLogNs = options.startNs;
    this.#positionNs = options.startNs;
    this.#seekNs = options.startNs;
    this.finished = new Promise((resolve) => {
      this.#resolveFinished = resolve;
    });
    this.#foxglove = new FoxgloveServer({
      name: options.name ?? "strata replay",
      capabilities: ["time", "parameters", "parametersSubscribe"],
      supportedEncodings: [],
      metadata: {
        ...(options.metadata ?? {}),
        startNs: options.startNs.toString(),
        endNs: options.endNs.toString(),
      },
    });
    const wanted = options.topics && options.topics.length > 0 ? new Set(options.topics) : undefined;
    this.#topics = wanted ? [...wanted] : undefined;
    const schemas = new Map(options.layout.schemas.map((s) => [s.id, s]));
    for (const channel of options.layout.channels) {
      if (wanted && !wanted.has(channel.topic)) continue;
      const schema = schemas.get(channel.schemaId);
      const binary = schema !== undefined && isBinarySchema(schema.encoding);
      const text = schema
        ? binary
          ? Buffer.from(schema.data).toString("base64")
          : new TextDecoder().decode(schema.data)
        : "";
      const id = this.#foxglove.addChannel({
        topic: channel.topic,
        encoding: channel.messageEncoding,
        schemaName: channel.schemaName,
        schema: text,
        ...(schema && schema.encoding !== "" ? { schemaEncoding: schema.encoding } : {}),
      });
      this.#channelIds.set(channel.id, id);
    }
    this.#foxglove.on("subscribe", () => {
      if (this.#status === "waiting") setImmediate(() => this.play());
    });
    this.#foxglove.on("error", () => undefined);
    this.#foxglove.on("getParameters", (request, connection) => {
      const all = this.#parameters();
      const names = new Set(request.parameterNames);
      const values = names.size === 0 ? all : all.filter((p) => names.has(p.name));
      this.#foxglove.publishParameterValues(values, request.id, connection);
    });
    this.#foxglove.on("setParameters", (request, connection) => {
      for (const parameter of request.parameters) this.#applyParameter(parameter, connection);
      const names = new Set(request.parameters.map((p) => p.name));
      const values = this.#parameters().filter((p) => names.has(p.name));
      if (request.id !== undefined) this.#foxglove.publishParameterValues(values, request.id, connection);
      this.#announce();
    });
  }

  async listen(host: string, port: number): Promise<void> {
    const http = createServer((_request, response) => {
      response.writeHead(426, { "content-type": "text/plain" });
      response.end(`Strata replay: connect with Foxglove or Lichtblick at ${this.url}\n`);
    });
    this.#http = http;
    const wss = new WebSocketServer({
      server: http,
      handleProtocols: (protocols) => this.#foxglove.handleProtocols(protocols),
    });
    this.#wss = wss;
    wss.on("connection", (socket, request) => {
      if (socket.protocol !== REPLAY_SUBPROTOCOL) {
        socket.close(1002, `use the ${REPLAY_SUBPROTOCOL} subprotocol`);
        return;
      }
      const name = `${request.socket.remoteAddress ?? "?"}:${request.socket.remotePort ?? "?"}`;
      this.#foxglove.handleConnection(socket, name);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(
          new StrataError(
            error.code === "EADDRINUSE" ? "STRATA_E_CONFLICT" : "STRATA_E_INTERNAL",
            `cannot listen on ${host}:${port}: ${error.message}`,
            {},
            { cause: error, hint: "Pick another port with --port (0 = any free port)." },
          ),
        );
      };
      http.once("error", onError);
      http.listen(port, host, () => {
        http.off("error", onError);
        resolve();
      });
    });
    this.port = (http.address() as AddressInfo).port;
    this.url = `ws://${host.includes(":") ? `[${host}]` : host}:${this.port}`;
  }

  run(): void {
    if (this.#options.autoplay) this.play();
    this.#runLoop = this.#loop().catch((error: unknown) => {
      this.#foxglove.sendStatus({ level: StatusLevel.ERROR, message: `replay stopped: ${String(error)}` });
      this.#status = "ended";
      this.#resolveFinished();
    });
  }

  state(): ReplayState {
    return {
      status: this.#status,
      rate: this.#rate,
      positionNs: this.#clockNs(),
      messagesSent: this.#messagesSent,
      clients: this.#wss?.clients.size ?? 0,
    };
  }

  play(): void {
    if (this.#status === "playing" || this.#closed) return;
    if (this.#status === "ended") this.#restartAt(this.#options.startNs);
    this.#anchorWallMs = performance.now();
    this.#anchorLogNs = this.#positionNs;
    this.#status = "playing";
    this.#signal();
  }

  pause(): void {
    if (this.#status !== "playing") return;
    this.#positionNs = this.#clockNs();
    this.#status = "paused";
    this.#signal();
  }

  seek(positionNs: bigint): void {
    const clamped =
      positionNs < this.#options.startNs
        ? this.#options.startNs
        : positionNs > this.#options.endNs
          ? this.#options.endNs
          : positionNs;
    this.#restartAt(clamped);
    if (this.#status === "ended") this.#status = "paused";
    if (this.#status === "playing") {
      this.#anchorWallMs = performance.now();
      this.#anchorLogNs = clamped;
    }
    this.#signal();
  }

  setRate(rate: number): void {
    checkRate(rate);
    if (this.#status === "playing") {
      this.#anchorLogNs = this.#clockNs();
      this.#anchorWallMs = performance.now();
    }
    this.#rate = rate;
    this.#signal();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#signal();
    await this.#runLoop?.catch(() => undefined);
    for (const client of this.#wss?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (this.#wss ? this.#wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) =>
      this.#http?.listening ? this.#http.close(() => resolve()) : resolve(),
    );
    await this.#reader.close();
    this.#resolveFinished();
  }

  #restartAt(positionNs: bigint): void {
    this.#generation += 1;
    this.#seekNs = positionNs;
    this.#positionNs = positionNs;
  }

  #clockNs(): bigint {
    if (this.#status !== "playing") return this.#positionNs;
    const elapsedNs = BigInt(Math.round((performance.now() - this.#anchorWallMs) * 1e6 * this.#rate));
    const now = this.#anchorLogNs + elapsedNs;
    return now > this.#options.endNs ? this.#options.endNs : now;
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = () => {};
    wake();
  }

  /** Sleeps until `ms` pass or a control changes. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = () => {};
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      if (this.#status !== "playing") {
        await this.#sleep(1000);
        continue;
      }
      const generation = this.#generation;
      const iterator = this.#reader
        .messages({ topics: this.#topics, startNs: this.#seekNs, endNs: this.#options.endNs })
        [Symbol.asyncIterator]();
      let reachedEnd = false;
      let first = true;
      try {
        for (;;) {
          const next = await iterator.next();
          if (next.done) {
            reachedEnd = true;
            break;
          }
          // The clock starts once the first message is in hand (reading the first chunk takes time).
          if (first && this.#status === "playing" && generation === this.#generation) {
            this.#anchorWallMs = performance.now();
            this.#anchorLogNs = this.#seekNs;
          }
          first = false;
          if (!(await this.#waitUntilDue(next.value.logTimeNs, generation))) break;
          await this.#send(next.value);
        }
      } finally {
        await iterator.return?.();
      }
      if (!reachedEnd || this.#closed || generation !== this.#generation) continue;
      // Let the clock run out to the window's end, then stop or start over.
      if (!(await this.#waitUntilDue(this.#options.endNs, generation))) continue;
      if (this.#options.loop) {
        this.#restartAt(this.#options.startNs);
        this.#anchorWallMs = performance.now();
        this.#anchorLogNs = this.#options.startNs;
        continue;
      }
      this.#positionNs = this.#options.endNs;
      this.#status = "ended";
      this.#foxglove.sendStatus({ level: StatusLevel.INFO, message: "replay reached the end of the window" });
      this.#announce();
      this.#resolveFinished();
    }
  }

  /** Waits until the clock reaches `logTimeNs`; false when a seek or close made the wait moot. */
  async #waitUntilDue(logTimeNs: bigint, generation: number): Promise<boolean> {
    for (;;) {
      if (this.#closed || generation !== this.#generation) return false;
      if (this.#status !== "playing") {
        await this.#sleep(1000);
        continue;
      }
      const dueMs = this.#anchorWallMs + Number(logTimeNs - this.#anchorLogNs) / 1e6 / this.#rate;
      const waitMs = dueMs - performance.now();
      if (waitMs <= 0) return true;
      // Wake at least every 100 ms so the app's clock moves through gaps between messages.
      await this.#sleep(Math.min(waitMs, 100));
      if (performance.now() < dueMs) this.#foxglove.broadcastTime(this.#clockNs());
    }
  }

  async #send(message: LogMessage): Promise<void> {
    const channelId = this.#channelIds.get(message.channelId);
    if (channelId === undefined) return;
    const limit = this.#options.maxBufferedBytes ?? 64 * 1024 * 1024;
    while (!this.#closed && this.#slowestClient() > limit) await this.#sleep(5);
    this.#foxglove.broadcastTime(message.logTimeNs);
    this.#foxglove.sendMessage(channelId, message.logTimeNs, message.data);
    this.#messagesSent += 1;
  }

  #slowestClient(): number {
    let most = 0;
    for (const client of this.#wss?.clients ?? [])
      most = Math.max(most, (client as WebSocket).bufferedAmount);
    return most;
  }

  #parameters(): Parameter[] {
    return [
      { name: REPLAY_PARAMETERS.paused, value: this.#status === "paused" },
      { name: REPLAY_PARAMETERS.rate, value: this.#rate, type: "float64" },
      { name: REPLAY_PARAMETERS.positionNs, value: this.#clockNs().toString() },
      { name: REPLAY_PARAMETERS.startNs, value: this.#options.startNs.toString() },
      { name: REPLAY_PARAMETERS.endNs, value: this.#options.endNs.toString() },
      { name: REPLAY_PARAMETERS.status, value: this.#status },
    ];
  }

  /** Tells clients subscribed to parameter updates the current values. */
  #announce(): void {
    this.#foxglove.updateParameterValues(this.#parameters());
  }

  #applyParameter(parameter: Parameter, connection: Connection | undefined): void {
    const reject = (why: string) =>
      this.#foxglove.sendStatus(
        { level: StatusLevel.WARNING, message: `${parameter.name}: ${why}` },
        connection,
      );
    switch (parameter.name) {
      case REPLAY_PARAMETERS.paused:
        if (typeof parameter.value !== "boolean") return reject("expected true or false");
        if (parameter.value) this.pause();
        else this.play();
        return;
      case REPLAY_PARAMETERS.rate:
        if (typeof parameter.value !== "number" || !(parameter.value > 0))
          return reject("expected a number > 0");
        this.setRate(parameter.value);
        return;
      case REPLAY_PARAMETERS.positionNs: {
        const text = typeof parameter.value === "number" ? String(parameter.value) : parameter.value;
        if (typeof text !== "string" || !/^\d+$/.test(text)) return reject("expected ns as a decimal string");
        this.seek(BigInt(text));
        return;
      }
      default:
        return reject("read-only or unknown parameter");
    }
  }
}

/** Schema encodings whose data is bytes, not text (sent base64 per the protocol). */
function isBinarySchema(encoding: string): boolean {
  return encoding === "protobuf" || encoding === "flatbuffer";
}
