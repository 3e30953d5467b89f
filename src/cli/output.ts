/** How the CLI talks to people and to scripts: JSON on stdout, coded errors, TTY-only progress. */
import { toStrataError } from "../core/index.ts";

export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

/** Prints an error once, coded, without a stack trace; returns the exit code. */
export function reportError(error: unknown, json: boolean): number {
  const strataError = toStrataError(error);
  if (json) {
    const { code, message, hint } = strataError.toJSON();
    process.stderr.write(
      `${JSON.stringify({ error: { code, message, hint, context: strataError.toJSON().context } })}\n`,
    );
  } else {
    process.stderr.write(`error ${strataError.code}: ${strataError.message}\n  hint: ${strataError.hint}\n`);
    if (
      strataError.code === "STRATA_E_INTERNAL" &&
      process.env.STRATA_DEBUG &&
      strataError.cause instanceof Error
    ) {
      process.stderr.write(`${strataError.cause.stack ?? ""}\n`);
    }
  }
  return strataError.exitCode;
}

export interface Progress {
  update(doneBytes: number, label?: string): void;
  done(): void;
}

/** A one-line progress bar on stderr, drawn only when stderr is a terminal and output is not JSON. */
export function progressBar(totalBytes: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY || totalBytes <= 0) return { update() {}, done() {} };
  const startedMs = Date.now();
  let lastDrawMs = 0;
  const draw = (doneBytes: number, label = "") => {
    const fraction = Math.min(1, doneBytes / totalBytes);
    const width = 30;
    const filled = Math.round(fraction * width);
    const elapsedSecs = Math.max(0.001, (Date.now() - startedMs) / 1000);
    const mbPerSec = doneBytes / 1e6 / elapsedSecs;
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${mbPerSec.toFixed(0)} MB/s ${label}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 100) - 1)}`);
  };
  return {
    update(doneBytes, label) {
      const now = Date.now();
      if (now - lastDrawMs < 100) return;
      lastDrawMs = now;
      draw(doneBytes, label);
    },
    done() {
      process.stderr.write("\r\x1b[K");
    },
  };
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(columns), ...cells.map(line)].join("\n");
}

function formatCell(value: unknown): string {
  if (value === undefined || value === null) return "-";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "object") return JSON.stringify(value, jsonReplacer);
  return String(value);
}
