/** Time inside Strata is bigint nanoseconds since the Unix epoch. These helpers are the only conversions. */

export const NS_PER_SEC = 1_000_000_000n;
export const NS_PER_MS = 1_000_000n;

export function nsFromSecs(secs: number): bigint {
  const whole = Math.floor(secs);
  return BigInt(whole) * NS_PER_SEC + BigInt(Math.round((secs - whole) * 1e9));
}

export function secsFromNs(ns: bigint): number {
  return Number(ns / NS_PER_SEC) + Number(ns % NS_PER_SEC) / 1e9;
}

/** ROS `time` (sec, nsec) to ns. */
export function nsFromRosTime(t: { sec: number; nsec?: number; nanosec?: number }): bigint {
  return BigInt(t.sec) * NS_PER_SEC + BigInt(t.nsec ?? t.nanosec ?? 0);
}

export function rosTimeFromNs(ns: bigint): { sec: number; nsec: number } {
  return { sec: Number(ns / NS_PER_SEC), nsec: Number(ns % NS_PER_SEC) };
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

export function isoFromNs(ns: bigint): string {
  return new Date(Number(ns / NS_PER_MS)).toISOString();
}

/** Parses a decimal string of ns (as used in JSON) or a number of seconds with a unit suffix ("1.5s"). */
export function parseNs(text: string): bigint {
  const trimmed = text.trim();
  if (/^-?\d+$/.test(trimmed)) return BigInt(trimmed);
  const m = /^(-?\d+(?:\.\d+)?)\s*(s|ms|us|ns)$/.exec(trimmed);
  if (m) {
    const value = Number(m[1]);
    const unit = m[2];
    if (unit === "ns") return BigInt(Math.round(value));
    if (unit === "us") return BigInt(Math.round(value * 1e3));
    if (unit === "ms") return BigInt(Math.round(value * 1e6));
    return nsFromSecs(value);
  }
  throw new RangeError(`not a time: ${text}`);
}

export const minNs = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const maxNs = (a: bigint, b: bigint): bigint => (a > b ? a : b);
