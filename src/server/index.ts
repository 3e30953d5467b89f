import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Strata } from "../app/index.ts";
import { type HttpAppOptions, createHttpApp } from "./http.ts";

export { createHttpApp, type HttpAppOptions } from "./http.ts";

export interface ServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startServer(
  strata: Strata,
  options: { host?: string; port?: number; webRoot?: string } & Omit<HttpAppOptions, "version" | "webRoot">,
): Promise<ServerHandle> {
  const app = createHttpApp(strata, {
    maxUploadBytes: options.maxUploadBytes,
    ingestConcurrency: options.ingestConcurrency,
    listCacheMs: options.listCacheMs ?? envNumber("STRATA_LIST_CACHE_MS"),
    version: strata.codeVersion,
    webRoot: options.webRoot ?? new URL("../../web/dist", import.meta.url).pathname,
  });
  const host = options.host ?? "127.0.0.1";
  return await new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, hostname: host, port: options.port ?? 8080 },
      (info: AddressInfo) => {
        const url = `http://${host}:${info.port}`;
        resolve({
          url,
          port: info.port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        });
      },
    );
    server.once("error", reject);
  });
}

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  return value === undefined || value === "" || !Number.isFinite(Number(value)) ? undefined : Number(value);
}
