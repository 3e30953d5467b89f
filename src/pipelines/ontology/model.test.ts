import { describe, expect, it } from "vitest";
import { applyChanges, migrateLabel, type Ontology, parseChanges, parseOntology } from "./model.ts";
import { bumpSemver, compareSemver, isSemverRange, satisfies } from "./semver.ts";

const BASE = `
apiVersion: strata/v1
kind: Ontology
name: road
version: 1.2.0
classes:
  - name: object
  - name: vehicle
    parent: object
    attributes:
      - { name: kind, type: enum, values: [sedan, van, truck] }
      - { name: occluded, type: boolean }
  - name: car
    parent: object
  - name: automobile
    parent: object
  - name: pedestrian
    parent: object
    attributes:
      - { name: age, type: enum, values: [adult, child] }
`;

describe("semver", () => {
  it("compares, bumps and matches ranges", () => {
    expect(compareSemver("1.10.0", "1.9.3")).toBeGreaterThan(0);
    expect(bumpSemver("1.2.3", "major")).toBe("2.0.0");
    expect(bumpSemver("1.2.3", "minor")).toBe("1.3.0");
    expect(bumpSemver("1.2.3", "patch")).toBe("1.2.4");
    expect(satisfies("1.4.0", "^1.2.0")).toBe(true);
    expect(satisfies("2.0.0", "^1.2.0")).toBe(false);
    expect(satisfies("0.2.5", "^0.2.1")).toBe(true);
    expect(satisfies("0.3.0", "^0.2.1")).toBe(false);
    expect(satisfies("1.2.9", "~1.2.0")).toBe(true);
    expect(satisfies("1.3.0", "~1.2.0")).toBe(false);
    expect(satisfies("1.3.0", ">=1.2.0 <2.0.0")).toBe(true);
    expect(satisfies("3.1.4", "*")).toBe(true);
    expect(satisfies("2.7.0", "2.x")).toBe(true);
    expect(satisfies("2.7.1", "2.7.1")).toBe(true);
    expect(satisfies("2.7.2", "2.7.1")).toBe(false);
    expect(isSemverRange("^1.x")).toBe(true);
    expect(isSemverRange("banana")).toBe(false);
  });
});

describe("ontology model", () => {
  it("validates documents: schema first, then names, parents and cycles", () => {
    expect(parseOntology(BASE).classes).toHaveLength(5);
    expect(() =>
      parseOntology(
        BASE.replace(
          "parent: object\n    attributes:\n      - { name: kind",
          "parent: ghost\n    attributes:\n      - { name: kind",
        ),
      ),
    ).toThrow(/parent ghost is not a class/);
    expect(() =>
      parseOntology(BASE.replace("{ name: occluded, type: boolean }", "{ name: occluded, type: enum }")),
    ).toThrow(/values/);
    expect(() => parseOntology(`${BASE}  - name: a\n    parent: b\n  - name: b\n    parent: a\n`)).toThrow(
      /loops/,
    );
  });

  it("applies rename + merge, bumps the major version, and maps labels through both", () => {
    const base = parseOntology(BASE);
    const { changes } = parseChanges(`
changes:
  - op: rename
    from: pedestrian
    to: person
  - op: merge
    from: [car, automobile]
    into: vehicle
`);
    const { ontology, migration, bump } = applyChanges(base, changes);
    expect(bump).toBe("major");
    expect(ontology.version).toBe("2.0.0");
    expect(ontology.classes.map((c) => c.name).sort()).toEqual(["object", "person", "vehicle"]);
    expect(ontology.classes.find((c) => c.name === "person")?.attributes?.[0]?.name).toBe("age");
    expect(migration).toEqual([
      { from: "pedestrian", to: "person", op: "rename" },
      { from: "car", to: "vehicle", op: "merge" },
      { from: "automobile", to: "vehicle", op: "merge" },
    ]);
    expect(migrateLabel(migration, "pedestrian", {})).toBe("person");
    expect(migrateLabel(migration, "automobile", {})).toBe("vehicle");
    expect(migrateLabel(migration, "vehicle", {})).toBeUndefined();
  });

  it("splits by attribute with a default, and deprecates with a replacement", () => {
    const base = parseOntology(BASE);
    const { ontology, migration } = applyChanges(base, [
      {
        op: "split",
        from: "vehicle",
        into: [
          { name: "truck", when: { attribute: "kind", equals: "truck" } },
          { name: "passenger_vehicle" },
        ],
      },
      { op: "deprecate", class: "car", replacedBy: "passenger_vehicle" },
    ]);
    expect(ontology.version).toBe("2.0.0");
    expect(ontology.classes.find((c) => c.name === "truck")?.attributes?.map((a) => a.name)).toEqual([
      "occluded",
    ]);
    expect(ontology.classes.find((c) => c.name === "car")).toMatchObject({
      deprecated: true,
      replacedBy: "passenger_vehicle",
    });
    expect(migrateLabel(migration, "vehicle", { kind: "truck" })).toBe("truck");
    expect(migrateLabel(migration, "vehicle", { kind: "van" })).toBe("passenger_vehicle");
    expect(migrateLabel(migration, "car", {})).toBe("passenger_vehicle");
  });

  it("only adds: a minor bump and no migration", () => {
    const { ontology, migration } = applyChanges(parseOntology(BASE), [
      { op: "add", class: { name: "cyclist", parent: "object" } },
    ]);
    expect(ontology.version).toBe("1.3.0");
    expect(migration).toEqual([]);
  });

  it("refuses changes that do not fit, naming the change", () => {
    const base: Ontology = parseOntology(BASE);
    expect(() => applyChanges(base, [{ op: "rename", from: "tram", to: "x" }])).toThrow(
      /change 1 \(rename\): class tram does not exist/,
    );
    expect(() => applyChanges(base, [{ op: "rename", from: "car", to: "vehicle" }])).toThrow(
      /already exists/,
    );
    expect(() => parseChanges("changes:\n  - op: explode\n    class: car\n")).toThrow(
      /not a list of ontology changes/,
    );
  });
});
