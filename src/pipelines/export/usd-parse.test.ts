/** The strict usda reader: what it accepts, and that it rejects each kind of malformed input with a line. */
import { describe, expect, it } from "vitest";
import { findPrim, parseUsda, sampleAt } from "./usd-parse.ts";

const GOOD = `#usda 1.0
(
    defaultPrim = "World"
    "a layer doc string"
    metersPerUnit = 1
    timeCodesPerSecond = 30
    upAxis = "Z"
    customLayerData = {
        string captureId = "cap_1"
        int count = 3
        dictionary nested = {
            double x = 1.5e-3
        }
    }
)

# a comment
def Xform "World"
{
    def Xform "Ego" (
        customData = {
            string frame = "base_link"
        }
    )
    {
        double3 xformOp:translate.timeSamples = {
            0: (1, 2, 3),
            1.5: (-1, 0.25, 3),
        }
        quatf xformOp:orient = (1, 0, 0, 0)
        uniform token[] xformOpOrder = ["xformOp:translate", "xformOp:orient"]
        float[] widths = [0.05] (
            interpolation = "constant"
        )
        point3f[] points = [(0, 0, 0), (1, 2, 3)]
        token visibility.timeSamples = {
            0: "invisible",
            2: "inherited",
        }
        bool flag = true
    }
    over "Lights"
    {
    }
}
`;

describe("parseUsda", () => {
  it("reads the subset Strata writes", () => {
    const stage = parseUsda(GOOD);
    expect(stage.metadata).toMatchObject({
      defaultPrim: "World",
      doc: "a layer doc string",
      metersPerUnit: 1,
      upAxis: "Z",
      customLayerData: { captureId: "cap_1", count: 3, nested: { x: 0.0015 } },
    });
    const ego = findPrim(stage, "/World/Ego");
    expect(ego?.typeName).toBe("Xform");
    expect(ego?.metadata.customData).toEqual({ frame: "base_link" });
    const translate = ego?.attributes.get("xformOp:translate");
    expect(translate?.timeSamples).toEqual([
      [0, [1, 2, 3]],
      [1.5, [-1, 0.25, 3]],
    ]);
    expect(sampleAt(translate as NonNullable<typeof translate>, 0.75)).toEqual([0, 1.125, 3]);
    expect(ego?.attributes.get("xformOpOrder")).toMatchObject({
      uniform: true,
      isArray: true,
      typeName: "token",
    });
    expect(ego?.attributes.get("widths")?.metadata).toEqual({ interpolation: "constant" });
    expect(ego?.attributes.get("points")?.value).toEqual([
      [0, 0, 0],
      [1, 2, 3],
    ]);
    expect(findPrim(stage, "/World/Lights")?.specifier).toBe("over");
  });

  const broken: Array<[string, string, RegExp]> = [
    ["no header", GOOD.replace("#usda 1.0", "#sdf 1.0"), /first line must be "#usda 1.0"/],
    ["unbalanced brace", GOOD.replace(/}\n$/, ""), /expected a property or a prim|expected "}"/],
    [
      "unbalanced bracket",
      GOOD.replace("[(0, 0, 0), (1, 2, 3)]", "[(0, 0, 0), (1, 2, 3)"),
      /expected "," or "]"/,
    ],
    ["prim name not an identifier", GOOD.replace('"Ego"', '"3go-x"'), /not an identifier/],
    [
      "tuple of the wrong size",
      GOOD.replace("0: (1, 2, 3)", "0: (1, 2)"),
      /double3 has 3 components, found 2/,
    ],
    ["non-unit quaternion", GOOD.replace("(1, 0, 0, 0)", "(2, 0, 0, 0)"), /not a unit quaternion/],
    ["time codes out of order", GOOD.replace("1.5: (-1", "-1: (-1"), /does not increase/],
    ["unknown type", GOOD.replace("bool flag", "matrix9x flag"), /unknown attribute type/],
    ["token that is not a string", GOOD.replace('0: "invisible"', "0: invisible"), /expected a quoted token/],
    ["bad number", GOOD.replace("0.25", "0.2.5"), /expected "," or "\)"|bad number|unexpected/],
    ["duplicate prim", GOOD.replace('over "Lights"', 'def Xform "Ego"'), /duplicate prim \/World\/Ego/],
    [
      "duplicate property",
      GOOD.replace("bool flag = true", "bool flag = true\n        bool flag = false"),
      /duplicate property/,
    ],
    ["stray character", GOOD.replace("upAxis", "$upAxis"), /unexpected character/],
    ["unterminated string", GOOD.replace('"World"\n    "a', '"World\n    "a'), /unterminated string/],
    ["trailing comma in an array", GOOD.replace("[0.05]", "[0.05,]"), /trailing comma/],
    ["integer expected", GOOD.replace("int count = 3", "int count = 3.5"), /expected an integer/],
  ];
  for (const [name, text, message] of broken) {
    it(`rejects ${name}`, () => {
      expect(() => parseUsda(text)).toThrow(message);
      try {
        parseUsda(text);
      } catch (error) {
        expect((error as { code?: string }).code).toBe("STRATA_E_DECODE");
        expect(String((error as Error).message)).toMatch(/usda \d+:\d+/);
      }
    });
  }
});
