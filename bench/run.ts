/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts. Benchmarks print ratios against a peer measured in
 * the same run; they are not part of `npm test`.
 */
import { readdirSync } from "node:fs";

const [name, ...rest] = process.argv.slice(2);
const available = readdirSync(new URL(".", import.meta.url))
  .filter((f) => f.endsWith(".ts") && f !== "run.ts" && f !== "lib.ts")
  .map((f) => f.replace(/\.ts$/, ""));
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- <${available.join("|")}> [args]\n`);
  process.exit(2);
}
process.argv = [process.argv[0] ?? "node", new URL(`./${name}.ts`, import.meta.url).pathname, ...rest];
await import(`./${name}.ts`);
