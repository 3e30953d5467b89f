import { describe, expect, it } from "vitest";
import type { SceneEvent } from "./events.ts";
import { DEFAULT_SCENE_OPTIONS } from "./options.ts";
import { eventWindows, fixedWindows, segmentCapture, windowIou } from "./segment.ts";

const S = 1_000_000_000n;
const T0 = 1_767_225_600n * S;
const secs = (w: { startNs: bigint; endNs: bigint }) => [
  Number(w.startNs - T0) / 1e9,
  Number(w.endNs - T0) / 1e9,
];
const event = (kind: SceneEvent["kind"], from: number, to: number): SceneEvent => ({
  kind,
  startNs: T0 + BigInt(from * 1e9),
  endNs: T0 + BigInt(to * 1e9),
  detail: {},
});

describe("segmentation", () => {
  it("covers the capture with overlapping fixed windows, the last ending at the end", () => {
    expect(fixedWindows(T0, T0 + 32n * S, 10, 5).map(secs)).toEqual([
      [0, 10],
      [5, 15],
      [10, 20],
      [15, 25],
      [20, 30],
      [22, 32],
    ]);
    expect(
      fixedWindows(T0, T0 + 30n * S, 10, 5)
        .map(secs)
        .at(-1),
    ).toEqual([20, 30]);
    expect(fixedWindows(T0, T0 + 4n * S, 10, 5).map(secs)).toEqual([[0, 4]]);
    expect(fixedWindows(T0, T0 + 25n * S, 10, 10).map(secs)).toEqual([
      [0, 10],
      [10, 20],
      [15, 25],
    ]);
  });

  it("pads, widens, merges and clips event windows", () => {
    const o = DEFAULT_SCENE_OPTIONS; // pad 2 s, at least 4 s, at most 30 s
    expect(eventWindows(T0, T0 + 60n * S, [event("hard_brake", 20, 21)], o).map(secs)).toEqual([[18, 23]]);
    expect(eventWindows(T0, T0 + 60n * S, [event("stop", 20, 20)], o).map(secs)).toEqual([[18, 22]]);
    // Two overlapping stops share a window; a turn has none.
    expect(
      eventWindows(
        T0,
        T0 + 60n * S,
        [event("stop", 20, 22), event("stop", 23, 25), event("turn", 30, 33)],
        o,
      ).map(secs),
    ).toEqual([[18, 27]]);
    // Clipped to the capture, keeping the length.
    expect(eventWindows(T0, T0 + 60n * S, [event("cut_in", 0.5, 1)], o).map(secs)).toEqual([[0, 4.5]]);
    expect(eventWindows(T0, T0 + 60n * S, [event("cut_in", 59, 60)], o).map(secs)).toEqual([[55, 60]]);
    // Long events are capped at 3 windows.
    expect(eventWindows(T0, T0 + 100n * S, [event("stop", 10, 80)], o).map(secs)).toEqual([[8, 38]]);
  });

  it("folds near-duplicate windows and keeps the events they align to", () => {
    const windows = segmentCapture(
      T0,
      T0 + 30n * S,
      [event("hard_brake", 7, 13), event("crossing", 20, 21)],
      DEFAULT_SCENE_OPTIONS,
    );
    // hard_brake [5, 15] equals the fixed window [5, 15]; crossing [18, 23] is new.
    expect(windows.map((w) => [...secs(w), w.kind, w.alignedTo.join(",")])).toEqual([
      [0, 10, "fixed", ""],
      [5, 15, "fixed", "hard_brake"],
      [10, 20, "fixed", ""],
      [15, 25, "fixed", ""],
      [18, 23, "event", "crossing"],
      [20, 30, "fixed", ""],
    ]);
    expect(windowIou({ startNs: 0n, endNs: 10n }, { startNs: 5n, endNs: 15n })).toBeCloseTo(1 / 3, 9);
    expect(windowIou({ startNs: 0n, endNs: 10n }, { startNs: 10n, endNs: 15n })).toBe(0);
  });
});
