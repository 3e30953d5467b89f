import { describe, expect, it } from "vitest";
import { checkLeakage } from "./leakage.ts";
import { assignSplits } from "./splits.ts";
import type { SplitPolicy } from "./types.ts";

const policy: SplitPolicy = { ratios: { train: 0.8, val: 0.1, test: 0.1 }, groupBy: "capture", seed: "2024" };

/** 100 captures × 3 windows, 10 sites, 4 rigs. */
const items = Array.from({ length: 300 }, (_, i) => ({
  captureId: `cap_${String(Math.floor(i / 3)).padStart(4, "0")}`,
  site: `site_${Math.floor(i / 3) % 10}`,
  rig: `rig_${Math.floor(i / 3) % 4}`,
  window: i % 3,
}));

function splitsByGroup(
  result: Array<{ split: string }>,
  key: (i: number) => string,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  result.forEach((r, i) => {
    const set = out.get(key(i)) ?? new Set();
    set.add(r.split);
    out.set(key(i), set);
  });
  return out;
}

describe("assignSplits", () => {
  it("is deterministic and independent of the input order", () => {
    const a = assignSplits(items, policy);
    const b = assignSplits(items, policy);
    expect(b).toEqual(a);
    const reversed = assignSplits([...items].reverse(), policy).reverse();
    expect(reversed.map((r) => r.split)).toEqual(a.map((r) => r.split));
  });

  it("never splits a capture and approaches the ratios", () => {
    const result = assignSplits(items, policy);
    for (const splits of splitsByGroup(result, (i) => items[i]?.captureId ?? "").values())
      expect(splits.size).toBe(1);
    const count = (s: string) => result.filter((r) => r.split === s).length;
    expect(count("train")).toBe(240);
    expect(count("val")).toBe(30);
    expect(count("test")).toBe(30);
  });

  it("keeps sites (or rigs) whole when grouping by them", () => {
    for (const groupBy of ["site", "rig"] as const) {
      const result = assignSplits(items, { ...policy, groupBy, ratios: { train: 0.6, val: 0.2, test: 0.2 } });
      const key = (i: number) => (groupBy === "site" ? items[i]?.site : items[i]?.rig) ?? "";
      for (const splits of splitsByGroup(result, key).values()) expect(splits.size).toBe(1);
      expect(new Set(result.map((r) => r.split)).size).toBe(3);
    }
  });

  it("gives a different assignment for another seed", () => {
    const a = assignSplits(items, policy).map((r) => r.split);
    const b = assignSplits(items, { ...policy, seed: "2025" }).map((r) => r.split);
    expect(b).not.toEqual(a);
  });

  it("sends nothing to a split with ratio 0 and rejects all-zero ratios", () => {
    const result = assignSplits(items, { ...policy, ratios: { train: 3, val: 1, test: 0 } });
    expect(result.some((r) => r.split === "test")).toBe(false);
    expect(result.filter((r) => r.split === "val").length).toBe(75);
    expect(() => assignSplits(items, { ...policy, ratios: { train: 0, val: 0, test: 0 } })).toThrow(/ratios/);
  });

  it("produces versions the leakage check passes", () => {
    const sha = (id: string) => id.replace("cap_", "").padStart(64, "0");
    const T0 = 1_700_000_000_000_000_000n;
    const assigned = assignSplits(items, policy).map((r) => ({
      captureId: r.captureId,
      captureSha256: sha(r.captureId),
      startNs: T0 + BigInt(r.window) * 1_000_000_000n,
      endNs: T0 + BigInt(r.window + 2) * 1_000_000_000n, // windows of one capture overlap on purpose
      topics: ["/imu"],
      split: r.split,
    }));
    const report = checkLeakage({
      datasetName: "d",
      items: assigned,
      ontologyVersion: null,
      contractVersion: null,
      query: null,
      parentVersionId: null,
      splitPolicy: policy,
    });
    expect(report).toEqual({ ok: true, findings: [] });
  });
});
