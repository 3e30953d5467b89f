/**
 * Message definitions as plain data: the text of a `ros1msg` / `ros2msg` / `ros2idl` schema parsed into
 * one field list per message type (the main type first), for schema evolution and contracts. This is
 * the formats layer's only export of parser output; callers never see @foxglove types.
 */
import { parseRos2idl } from "@foxglove/ros2idl-parser";
import { parse as parseRosDefinition } from "@foxglove/rosmsg";
import { StrataError } from "../../core/index.ts";
import { normalizeTypeName } from "./common-schemas.ts";

/** One field (or constant) of a message type, in declaration order. */
export interface DefinitionField {
  name: string;
  /** Primitive (`float64`, `string`, `time`, …) or a message type normalised to `pkg/Type`. */
  type: string;
  /** Another message type (recurse into `types`). */
  isComplex: boolean;
  isArray: boolean;
  /** Fixed array length; undefined for variable-length arrays and scalars. */
  arrayLength?: number;
  /** Upper bound of a bounded sequence (`float64[<=3]`, ROS 2 only). */
  arrayUpperBound?: number;
  isConstant: boolean;
  /** The constant's value as written (constants only). */
  valueText?: string;
}

export interface DefinitionType {
  /** `pkg/Type` (ROS 1 spelling, also for ROS 2 `pkg/msg/Type`). */
  name: string;
  fields: DefinitionField[];
}

export interface ParsedDefinition {
  /** The schema's own type first, then every nested type it names. */
  types: DefinitionType[];
}

/** Schema encodings `parseMessageDefinition` understands. */
export const PARSABLE_SCHEMA_ENCODINGS: readonly string[] = ["ros1msg", "ros2msg", "ros2idl"];

/**
 * Parses a message definition into plain field lists. `typeName` names the main type (the ros1msg /
 * ros2msg text does not). Throws STRATA_E_DECODE for text the parser rejects and STRATA_E_UNSUPPORTED
 * for other encodings (protobuf, jsonschema, …).
 */
export function parseMessageDefinition(typeName: string, encoding: string, text: string): ParsedDefinition {
  if (!PARSABLE_SCHEMA_ENCODINGS.includes(encoding)) {
    throw new StrataError(
      "STRATA_E_UNSUPPORTED",
      `field-level parsing of ${encoding || "schemaless"} definitions`,
      {
        schema: typeName,
      },
    );
  }
  try {
    if (encoding === "ros2idl") {
      const parsed = parseRos2idl(text);
      const mainName = normalizeTypeName(typeName);
      const types = parsed.map((d) => ({
        name: normalizeTypeName(d.name ?? typeName),
        fields: d.definitions.map(toField),
      }));
      // The IDL lists types in dependency order; put the schema's own type first.
      types.sort((a, b) => Number(b.name === mainName) - Number(a.name === mainName));
      return { types };
    }
    const parsed = parseRosDefinition(text, { ros2: encoding === "ros2msg" });
    return {
      types: parsed.map((d, i) => ({
        name: normalizeTypeName(i === 0 ? typeName : (d.name ?? typeName)),
        fields: d.definitions.map(toField),
      })),
    };
  } catch (cause) {
    if (cause instanceof StrataError) throw cause;
    throw new StrataError(
      "STRATA_E_DECODE",
      `cannot parse the ${encoding} definition of ${typeName}: ${(cause as Error).message}`,
      { schema: typeName },
      { cause },
    );
  }
}

interface ParserField {
  name: string;
  type: string;
  isComplex?: boolean;
  isArray?: boolean;
  arrayLength?: number;
  arrayUpperBound?: number;
  isConstant?: boolean;
  valueText?: string;
  value?: unknown;
}

function toField(f: ParserField): DefinitionField {
  const isComplex = f.isComplex === true;
  const field: DefinitionField = {
    name: f.name,
    type: isComplex ? normalizeTypeName(f.type) : f.type,
    isComplex,
    isArray: f.isArray === true,
    isConstant: f.isConstant === true,
  };
  if (f.arrayLength !== undefined) field.arrayLength = f.arrayLength;
  if (f.arrayUpperBound !== undefined) field.arrayUpperBound = f.arrayUpperBound;
  if (field.isConstant) field.valueText = f.valueText ?? String(f.value);
  return field;
}
