/**
 * `npm run bench -- http [--seconds 10] [--connections 32]`: autocannon against `GET /api/captures` on
 * loopback with a viewer token. The server is its own process (`strata serve`); this process is only the
 * load generator. Targets: ≥ 2,000 req/s and p99 ≤ 50 ms. Every request is authenticated, role-checked,
 * audited (hash-chained audit appends, group-committed) and timed into the latency histogram. Runs twice:
 * with the server's default 500 ms listing cache and with it off (every request queries the catalog).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import autocannon from "autocannon";

const argValue = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = argValue("seconds", 10);
const connections = argValue("connections", 16);

const repoRoot = path.resolve(new URL("..", import.meta.url).pathname);
const bin = path.join(repoRoot, "bin", "strata.js");
const fixtures = path.resolve(repoRoot, "../shared/fixtures");
const home = mkdtempSync(path.join(tmpdir(), "strata-bench-http-"));
const env = { ...process.env, STRATA_HOME: home, STRATA_CATALOG_URL: "" };

function cli(args: string[]): string {
  const result = spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`strata ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

cli([
  "ingest",
  ...["example.bag", "example-lz4.bag", "tf_example.bag", "example-unsorted-chunks.bag"].map((f) =>
    path.join(fixtures, "ros1", f),
  ),
  "--site",
  "bench",
  "--json",
]);
const { token } = JSON.parse(cli(["token", "create", "--role", "viewer", "--name", "bench", "--json"])) as {
  token: string;
};

async function startServe(listCacheMs: number) {
  const server = spawn(process.execPath, [bin, "serve", "--port", "0", "--json"], {
    env: { ...env, STRATA_LIST_CACHE_MS: String(listCacheMs) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = () => server.kill("SIGTERM");
  process.once("exit", stop);
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      // `serve --json` prints {"url": …, "adminToken": …} (pretty-printed).
      const match = /"url":\s*"([^"]+)"/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  return {
    url,
    close: async () => {
      process.off("exit", stop);
      stop();
      await new Promise((resolve) => server.once("exit", resolve));
    },
  };
}

async function run(listCacheMs: number): Promise<boolean> {
  const server = await startServe(listCacheMs);
  try {
    const target = `${server.url}/api/captures`;
    const headers = { authorization: `Bearer ${token}` };
    const check = await fetch(target, { headers });
    if (!check.ok) throw new Error(`GET /api/captures → ${check.status}`);
    const { total } = (await check.json()) as { total: number };

    // Warm-up (JIT, SQLite page cache), then the measured run.
    await autocannon({ url: target, headers, connections, duration: 2 });
    const result = await autocannon({ url: target, headers, connections, duration: seconds });
    const reqPerSec = result.requests.average;
    const p99 = result.latency.p99;
    const ok = reqPerSec >= 2000 && p99 <= 50;
    const cache = listCacheMs > 0 ? `listing cache ${listCacheMs} ms` : "listing cache off";
    process.stdout.write(
      [
        `GET /api/captures (${total} captures, viewer token, every request audited, ${cache}), ${connections} connections, ${seconds} s`,
        `  requests/s  ${reqPerSec.toFixed(0)} (target ≥ 2000)`,
        `  latency     p50 ${result.latency.p50} ms, p99 ${p99} ms (target ≤ 50 ms), max ${result.latency.max} ms`,
        `  responses   ${result.requests.total} total, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
        `  ${ok ? "MEETS" : "MISSES"} the target`,
        "",
      ].join("\n"),
    );
    return result.non2xx === 0 && result.errors === 0;
  } finally {
    await server.close();
  }
}

try {
  process.stdout.write(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} (2 cores)\n`,
  );
  const clean = (await run(500)) && (await run(0));
  // Verify the audit trail kept up: one event per request.
  const audit = JSON.parse(cli(["audit", "list", "--limit", "1", "--json"])) as {
    chain: { ok: boolean; eventCount: number };
  };
  process.stdout.write(
    `audit chain ${audit.chain.ok ? "verifies" : "BROKEN"}: ${audit.chain.eventCount} events\n`,
  );
  if (!clean || !audit.chain.ok) process.exitCode = 1;
} finally {
  rmSync(home, { recursive: true, force: true });
}
