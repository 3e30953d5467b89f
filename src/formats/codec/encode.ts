/** Message encoders for writing synthetic and converted logs. */
import { parse as parseRosDefinition } from "@foxglove/rosmsg";
import { MessageWriter as Ros1MessageWriter } from "@foxglove/rosmsg-serialization";
import { MessageWriter as CdrMessageWriter } from "@foxglove/rosmsg2-serialization";
import { StrataError } from "../../core/index.ts";

export type Encoder = (message: object) => Uint8Array;

const cache = new Map<string, Encoder>();

/**
 * An encoder for messages of `schemaName` described by `schemaText` (`ros2msg` text for `cdr`,
 * `ros1msg` text for `ros1`). Cached per (encoding, name, text). Throws STRATA_E_DECODE when the
 * text cannot be parsed; the returned function throws STRATA_E_DECODE for a message that does
 * not fit the schema.
 */
export function encoderFor(encoding: "cdr" | "ros1", schemaName: string, schemaText: string): Encoder {
  const key = `${encoding}\0${schemaName}\0${schemaText}`;
  const cached = cache.get(key);
  if (cached) return cached;
  let write: (message: object) => Uint8Array;
  try {
    if (encoding === "cdr") {
      const writer = new CdrMessageWriter(parseRosDefinition(schemaText, { ros2: true }));
      write = (message) => {
        // @foxglove/cdr sizes strings by UTF-16 length, which corrupts non-ASCII text: refuse it.
        const offending = findNonAsciiString(message, "");
        if (offending !== undefined) {
          throw new StrataError(
            "STRATA_E_UNSUPPORTED",
            `non-ASCII text in field ${offending || "(root)"} cannot be written as CDR yet`,
          );
        }
        return writer.writeMessage(message);
      };
    } else {
      const writer = new Ros1MessageWriter(parseRosDefinition(schemaText));
      write = (message) => writer.writeMessage(message);
    }
  } catch (error) {
    throw new StrataError(
      "STRATA_E_DECODE",
      `cannot parse the ${encoding} schema ${schemaName}: ${String(error)}`,
      {},
      {
        cause: error,
      },
    );
  }
  const encoder: Encoder = (message) => {
    try {
      return write(message);
    } catch (error) {
      if (error instanceof StrataError) throw error;
      throw new StrataError(
        "STRATA_E_DECODE",
        `message does not fit the ${encoding} schema ${schemaName}: ${String(error)}`,
        {},
        { cause: error },
      );
    }
  };
  cache.set(key, encoder);
  return encoder;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** The path of the first string containing non-ASCII characters, or undefined. */
function findNonAsciiString(value: unknown, path: string): string | undefined {
  if (typeof value === "string") return NON_ASCII.test(value) ? path : undefined;
  if (value === null || typeof value !== "object" || ArrayBuffer.isView(value)) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonAsciiString(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, field] of Object.entries(value)) {
    const found = findNonAsciiString(field, path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}
