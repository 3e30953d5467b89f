import { describe, expect, it } from "vitest";
import { isStrataError } from "../core/index.ts";
import { scenes } from "./builder.ts";
import { formatGraphPattern, parseGraphPattern } from "./graph.ts";
import { type QueryPlan, formatQuery, planToJson } from "./plan.ts";
import { sqlSceneFilter } from "./sql.ts";
import { SEARCH_QUERY_HELP, parseQuery } from "./text.ts";

function usageError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isStrataError(error) && error.code === "STRATA_E_USAGE") return error.message;
    throw error;
  }
  throw new Error("expected a usage error");
}

describe("query plans: builder and text form", () => {
  it("give equal plans for the example of the issue", () => {
    const built = scenes()
      .where("speedMaxMps", ">", 10)
      .tag("night")
      .near("scene_123")
      .within({ xM: 12.5, yM: -3, radiusM: 50 })
      .heading(90, 20)
      .graph("pedestrian crossing_path ego within 10m")
      .limit(20)
      .plan();
    const parsed = parseQuery(
      'speedMaxMps > 10 and tag:night near:scene_123 within:(12.5, -3, 50m) heading:90±20 graph:"pedestrian crossing_path ego within 10m" limit:20',
    );
    expect(parsed).toEqual(built);
    expect(built).toEqual({
      predicates: [{ field: "speedMaxMps", op: ">", value: 10 }],
      tags: ["night"],
      near: { target: { kind: "scene", sceneId: "scene_123" }, k: 20 },
      within: { kind: "circle", xM: 12.5, yM: -3, radiusM: 50 },
      heading: { centerDeg: 90, toleranceDeg: 20 },
      graph: [
        { subjectClass: "pedestrian", relation: "crossing_path", objectClass: "ego", maxDistanceM: 10 },
      ],
      limit: 20,
      includeQuarantined: false,
    } satisfies QueryPlan);
  });

  const cases: [string, QueryPlan][] = [
    [
      'site = depot_a, rig != "rig b" and ateRmseM = null and nearestAgentM <= 2.5 and startNs >= 1704067200000000000',
      scenes()
        .where("site", "=", "depot_a")
        .where("rig", "!=", "rig b")
        .where("ateRmseM", "=", null)
        .where("nearestAgentM", "<=", 2.5)
        .where("startNs", ">=", 1_704_067_200_000_000_000n)
        .plan(),
    ],
    [
      "near:[0.5, -1, 2e-3] k:7 using:clip tag:rain tag:night include:quarantined",
      scenes()
        .near([0.5, -1, 0.002], { k: 7, using: "clip" })
        .tag("rain", "night")
        .includeQuarantined()
        .plan(),
    ],
    [
      "within:polygon(0 0, 100 0, 100 50, 0 50) heading:-90+-15 graph:\"car within_5m ego for 2s\" graph:'* approaching ego'",
      scenes()
        .within({
          polygonM: [
            { xM: 0, yM: 0 },
            { xM: 100, yM: 0 },
            { xM: 100, yM: 50 },
            { xM: 0, yM: 50 },
          ],
        })
        .heading(-90, 15)
        .graph("car within_5m ego for 2s")
        .graph({ subjectClass: "*", relation: "approaching", objectClass: "ego" })
        .plan(),
    ],
    [
      'startNs >= "2024-01-01T00:00:00Z" limit:3',
      scenes().where("startNs", ">=", 1_704_067_200_000_000_000n).limit(3).plan(),
    ],
  ];

  it.each(cases)("parses %s like the builder", (text, plan) => {
    expect(parseQuery(text)).toEqual(plan);
  });

  it.each(cases)("round-trips %s through the canonical text", (_text, plan) => {
    expect(parseQuery(formatQuery(plan))).toEqual(plan);
  });

  it("resolves k from the limit when near has none, wherever limit comes in the chain", () => {
    expect(scenes().near("s").limit(30).plan().near?.k).toBe(30);
    expect(scenes().limit(30).near("s", { k: 5 }).plan().near?.k).toBe(5);
    expect(scenes().near("s").plan().near?.k).toBe(10);
    expect(parseQuery("limit:30 near:s").near?.k).toBe(30);
  });

  it("keeps builders immutable", () => {
    const base = scenes().tag("night");
    base.limit(5);
    expect(base.plan().limit).toBeUndefined();
  });

  it("reports bad queries as usage errors naming the column", () => {
    expect(usageError(() => parseQuery("speedmaxmps > 10"))).toMatch(
      /column 1: unknown field "speedmaxmps" \(did you mean speedMaxMps\?\)/,
    );
    expect(usageError(() => parseQuery("speedMaxMps > fast"))).toMatch(
      /column 15: expected a number for speedMaxMps/,
    );
    expect(usageError(() => parseQuery("tag:night within:(1, 2)"))).toMatch(/expected ","/);
    expect(usageError(() => parseQuery('graph:"pedestrian jumps_over ego"'))).toMatch(
      /unknown relation "jumps_over"/,
    );
    expect(usageError(() => parseQuery("k:5"))).toMatch(/needs a near: clause/);
    expect(usageError(() => parseQuery("heading:90±200"))).toMatch(/tolerance/);
    expect(usageError(() => parseQuery("limit:0"))).toMatch(/limit must be a positive integer/);
    expect(usageError(() => parseQuery("speedMaxMps > null"))).toMatch(/only = and != compare with null/);
    expect(
      usageError(() =>
        scenes()
          .where("site", "=", 5 as unknown as string)
          .plan(),
      ),
    ).toMatch(/site takes a string/);
  });

  it("prints plans as JSON with bigint times as strings", () => {
    const json = planToJson(scenes().where("endNs", "<", 5n).plan()) as QueryPlan;
    expect(json.predicates[0]?.value).toBe("5");
  });

  it("documents every clause in the help text", () => {
    for (const word of [
      "tag:",
      "near:",
      "k:",
      "using:",
      "within:(",
      "within:polygon(",
      "heading:",
      "graph:",
      "limit:",
      "include:quarantined",
    ]) {
      expect(SEARCH_QUERY_HELP).toContain(word);
    }
  });

  it("compiles plans to escaped LanceDB filters", () => {
    const plan = parseQuery(`site = "o'hare" and tag:night and ateRmseM != null and speedMaxMps >= 3.5`);
    expect(sqlSceneFilter(plan)).toBe(
      "(site = 'o''hare') AND (ateRmseM IS NOT NULL) AND (speedMaxMps >= 3.5) AND (array_has_all(tags, ['night'])) AND (quarantined = false)",
    );
    expect(sqlSceneFilter(parseQuery("include:quarantined"))).toBeUndefined();
  });
});

describe("graph patterns", () => {
  it("parse and print canonically", () => {
    expect(parseGraphPattern("Pedestrian  crossing_path ego within 10 m")).toEqual({
      subjectClass: "pedestrian",
      relation: "crossing_path",
      objectClass: "ego",
      maxDistanceM: 10,
    });
    for (const text of ["car within_5m ego for 2.5s", "* following ego", "cyclist left_of ego within 3m"]) {
      expect(formatGraphPattern(parseGraphPattern(text))).toBe(text);
    }
  });
});
