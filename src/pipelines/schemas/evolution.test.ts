import { describe, expect, it } from "vitest";
import { classifySchemaChange } from "./evolution.ts";

const withHeader = (body: string) =>
  `std_msgs/Header header\n${body}================================================================================\nMSG: std_msgs/Header\nuint32 seq\ntime stamp\nstring frame_id\n`;

const ros1 = (text: string) => ({ encoding: "ros1msg", text });

describe("classifySchemaChange", () => {
  it("reports identical fields for the same definition written differently", () => {
    const d = classifySchemaChange(
      "demo/Point",
      ros1("float64 x\nfloat64 y\n"),
      ros1("# a comment\nfloat64 x  \nfloat64 y\n"),
    );
    expect(d.compatibility).toBe("identical");
    expect(d.changes).toEqual([]);
  });

  it("classifies a field added at the end as compatible, with the field named", () => {
    const d = classifySchemaChange(
      "demo/Point",
      ros1("float64 x\nfloat64 y\n"),
      ros1("float64 x\nfloat64 y\nfloat64 z\n"),
    );
    expect(d.compatibility).toBe("compatible");
    expect(d.changes).toEqual([
      { kind: "field-added", type: "demo/Point", field: "z", to: "float64", position: 2, breaking: false },
    ]);
    expect(d.summary).toBe("compatible: added demo/Point.z float64 at the end");
  });

  it("classifies constants added, removed or changed as compatible", () => {
    const d = classifySchemaChange(
      "demo/Mode",
      ros1("uint8 A=1\nuint8 B=2\nuint8 mode\n"),
      ros1("uint8 A=1\nuint8 B=3\nuint8 C=4\nuint8 mode\n"),
    );
    expect(d.compatibility).toBe("compatible");
    expect(d.changes.map((c) => [c.kind, c.field])).toEqual([
      ["constant-changed", "B"],
      ["constant-added", "C"],
    ]);
  });

  it("classifies a retyped field as breaking, with old and new types", () => {
    const d = classifySchemaChange(
      "demo/Point",
      ros1("float64 x\nfloat64 y\n"),
      ros1("float64 x\nfloat32 y\n"),
    );
    expect(d.compatibility).toBe("breaking");
    expect(d.changes).toEqual([
      {
        kind: "field-retyped",
        type: "demo/Point",
        field: "y",
        from: "float64",
        to: "float32",
        position: 1,
        breaking: true,
      },
    ]);
  });

  it("treats array-ness and fixed lengths as part of the type", () => {
    const d = classifySchemaChange("demo/A", ros1("float64[3] v\n"), ros1("float64[] v\n"));
    expect(d.changes[0]).toMatchObject({ kind: "field-retyped", from: "float64[3]", to: "float64[]" });
  });

  it("classifies removed, reordered and inserted fields as breaking", () => {
    const removed = classifySchemaChange("demo/P", ros1("float64 x\nfloat64 y\n"), ros1("float64 x\n"));
    expect(removed.compatibility).toBe("breaking");
    expect(removed.changes[0]).toMatchObject({ kind: "field-removed", field: "y", from: "float64" });

    const reordered = classifySchemaChange(
      "demo/P",
      ros1("float64 x\nfloat64 y\n"),
      ros1("float64 y\nfloat64 x\n"),
    );
    expect(reordered.compatibility).toBe("breaking");
    expect(reordered.changes.map((c) => c.kind)).toEqual(["field-moved"]);

    const inserted = classifySchemaChange(
      "demo/P",
      ros1("float64 x\nfloat64 y\n"),
      ros1("float64 x\nfloat64 w\nfloat64 y\n"),
    );
    expect(inserted.compatibility).toBe("breaking");
    expect(inserted.changes[0]).toMatchObject({ kind: "field-inserted", field: "w", position: 1 });
  });

  it("compares nested types by name", () => {
    const before = withHeader("float64 x\n");
    const after = before.replace("string frame_id", "string frame_id\nstring child");
    const d = classifySchemaChange("demo/Stamped", ros1(before), ros1(after));
    expect(d.compatibility).toBe("compatible");
    expect(d.changes).toEqual([
      {
        kind: "field-added",
        type: "std_msgs/Header",
        field: "child",
        to: "string",
        position: 3,
        breaking: false,
      },
    ]);
  });

  it("reads ROS 2 definitions and normalises pkg/msg/Type names", () => {
    const before =
      "builtin_interfaces/Time stamp\ngeometry_msgs/msg/Point p\n================================================================================\nMSG: geometry_msgs/msg/Point\nfloat64 x\n";
    const after = before.replace("float64 x", "float32 x");
    const d = classifySchemaChange(
      "demo/msg/Thing",
      { encoding: "ros2msg", text: before },
      { encoding: "ros2msg", text: after },
    );
    expect(d.compatibility).toBe("breaking");
    expect(d.changes[0]).toMatchObject({
      type: "geometry_msgs/Point",
      field: "x",
      from: "float64",
      to: "float32",
    });
  });

  it("says unknown (with why) for encodings it cannot parse or compare", () => {
    expect(
      classifySchemaChange(
        "a.B",
        { encoding: "protobuf", text: "AAA" },
        { encoding: "protobuf", text: "BBB" },
      ).compatibility,
    ).toBe("unknown");
    const mixed = classifySchemaChange("a/B", ros1("float64 x\n"), {
      encoding: "ros2msg",
      text: "float64 x\n",
    });
    expect(mixed.compatibility).toBe("unknown");
    expect(mixed.note).toMatch(/encodings/);
  });
});
