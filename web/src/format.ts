/** Display helpers: ns strings to dates and durations, byte sizes. */

export function nsToDate(ns: string | null | undefined): string {
  if (!ns) return "—";
  const ms = Number(BigInt(ns) / 1_000_000n);
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

export function durationSecs(startNs: string | null, endNs: string | null): number {
  if (!startNs || !endNs) return 0;
  return Number(BigInt(endNs) - BigInt(startNs)) / 1e9;
}

export function formatDuration(secs: number): string {
  if (secs < 60) return `${secs.toFixed(1)} s`;
  const m = Math.floor(secs / 60);
  const s = Math.round(secs % 60);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export const formatRate = (hz: number): string => (hz >= 10 ? hz.toFixed(0) : hz.toFixed(2));
