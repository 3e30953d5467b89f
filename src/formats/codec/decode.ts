/**
 * Message decoders by (message encoding, schema encoding). Every decoder is built once per schema
 * and cached; building parses the schema text, decoding is the hot path.
 */
import { parseRos2idl } from "@foxglove/ros2idl-parser";
import { parse as parseRosDefinition } from "@foxglove/rosmsg";
import { MessageReader as Ros1MessageReader } from "@foxglove/rosmsg-serialization";
import { MessageReader as CdrMessageReader } from "@foxglove/rosmsg2-serialization";
import { type ErrorContext, StrataError } from "../../core/index.ts";
import type { ChannelInfo, SchemaInfo } from "../types.ts";
import { mcapSupport } from "../mcap-support.ts";
import { findCommonSchemaText, type RosProfile } from "./common-schemas.ts";

export type Decoder = (data: Uint8Array) => unknown;

const textDecoder = new TextDecoder();

/** Decoders keyed by the schema bytes object, then by message encoding + schema name. */
const bySchemaData = new WeakMap<Uint8Array, Map<string, Decoder | null>>();
/** Decoders for schemaless ROS channels, built from the standard definitions. */
const byCommonType = new Map<string, Decoder | null>();

/**
 * A decoder for a channel's messages, or undefined when Strata has none for its encoding/schema.
 * Supports `ros1` (schema `ros1msg`), `cdr` (schema `ros2msg`; `ros2idl` and schemaless channels
 * through the standard definitions of @foxglove/rosmsg-msgs-common), `json` and `protobuf`
 * (FileDescriptorSet). rosbag2's service-event channels (`pkg/srv/Type_Event` with the `.srv` text
 * as schema) get the event layout (info, request[<=1], response[<=1]).
 * Throws STRATA_E_DECODE (with the channel's topic plus `context`) when the schema cannot be parsed.
 */
export function decoderFor(
  channel: ChannelInfo,
  schema: SchemaInfo | undefined,
  context: ErrorContext = {},
): Decoder | undefined {
  const messageEncoding = channel.messageEncoding;
  if (messageEncoding === "json") return decodeJson;
  const typeName = schema?.name || channel.schemaName;
  const hasSchemaText = schema !== undefined && schema.data.byteLength > 0;
  // Without schema text, fall back to the standard definitions by type name.
  if (!hasSchemaText) {
    const profile: RosProfile | undefined =
      messageEncoding === "cdr" ? "ros2" : messageEncoding === "ros1" ? "ros1" : undefined;
    if (profile !== undefined) {
      const common = commonDecoder(typeName, profile);
      if (common) return common;
      // A message type without fields (e.g. test_msgs/Empty) has a 0-byte schema: it decodes to {}.
      const isEmptyRosSchema =
        schema !== undefined &&
        !hasSchemaText &&
        (schema.encoding === "ros2msg" || schema.encoding === "ros1msg");
      return isEmptyRosSchema ? decodeEmpty : undefined;
    }
    if (!hasSchemaText) return undefined;
  }
  let perSchema = bySchemaData.get(schema.data);
  if (!perSchema) {
    perSchema = new Map();
    bySchemaData.set(schema.data, perSchema);
  }
  const key = `${messageEncoding}\0${schema.encoding}\0${schema.name}`;
  const cached = perSchema.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const built = buildDecoder(messageEncoding, schema, { ...context, topic: channel.topic }) ?? null;
  perSchema.set(key, built);
  return built ?? undefined;
}

function buildDecoder(
  messageEncoding: string,
  schema: SchemaInfo,
  context: ErrorContext,
): Decoder | undefined {
  try {
    if (messageEncoding === "cdr" && schema.encoding === "ros2msg") {
      const text = textDecoder.decode(schema.data);
      return cdrDecoder(serviceEventDefinition(schema.name, text) ?? text);
    }
    if (messageEncoding === "cdr" && schema.encoding === "ros2idl") {
      return cdrIdlDecoder(schema.name, textDecoder.decode(schema.data));
    }
    if (messageEncoding === "ros1" && schema.encoding === "ros1msg") {
      return ros1Decoder(textDecoder.decode(schema.data));
    }
    if (messageEncoding === "protobuf" && schema.encoding === "protobuf") {
      return protobufDecoder(schema.name, schema.data);
    }
  } catch (error) {
    throw new StrataError(
      "STRATA_E_DECODE",
      `cannot build a ${messageEncoding} decoder from the ${schema.encoding} schema ${schema.name}: ${String(error)}`,
      context,
      { cause: error },
    );
  }
  return undefined;
}

function commonDecoder(typeName: string, profile: RosProfile): Decoder | undefined {
  const key = `${profile}:${typeName}`;
  const cached = byCommonType.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const text = findCommonSchemaText(typeName, profile);
  const built = text === undefined ? null : profile === "ros2" ? cdrDecoder(text) : ros1Decoder(text);
  byCommonType.set(key, built);
  return built ?? undefined;
}

function cdrDecoder(definitionText: string): Decoder {
  const reader = new CdrMessageReader(parseRosDefinition(definitionText, { ros2: true }));
  return (data) => reader.readMessage(data);
}

/** IDL files hold several types; the schema's own type must come first for the CDR reader. */
function cdrIdlDecoder(schemaName: string, idlText: string): Decoder {
  const definitions = parseRos2idl(idlText);
  const rootName = schemaName.replaceAll("::", "/");
  const root = definitions.find((d) => d.name === rootName);
  if (!root) throw new Error(`the IDL does not define ${schemaName}`);
  const reader = new CdrMessageReader([root, ...definitions.filter((d) => d !== root)]);
  return (data) => reader.readMessage(data);
}

function ros1Decoder(definitionText: string): Decoder {
  const reader = new Ros1MessageReader(parseRosDefinition(definitionText));
  return (data) => reader.readMessage(data);
}

function decodeEmpty(): unknown {
  return {};
}

function decodeJson(data: Uint8Array): unknown {
  return JSON.parse(textDecoder.decode(data));
}

function protobufDecoder(typeName: string, descriptorSet: Uint8Array): Decoder {
  const root = mcapSupport().protobufFromBinaryDescriptor(descriptorSet);
  const type = root.lookupType(typeName);
  return (data) => longsToBigint(type.toObject(type.decode(data), { defaults: true }));
}

/** protobufjs represents 64-bit integers as Long objects; Strata uses bigint everywhere. */
function longsToBigint(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) return value.map(longsToBigint);
  const record = value as Record<string, unknown>;
  if (
    typeof record.low === "number" &&
    typeof record.high === "number" &&
    typeof record.unsigned === "boolean"
  ) {
    const low = BigInt(record.low >>> 0);
    const high = BigInt(record.high >>> 0);
    const unsignedValue = (high << 32n) | low;
    return record.unsigned ? unsignedValue : BigInt.asIntN(64, unsignedValue);
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) out[key] = longsToBigint(field);
  return out;
}

const SECTION_SEPARATOR = "================================================================================";

/**
 * rosbag2 (Iron and later) records service events on `<service>/_service_event` with schema name
 * `pkg/srv/Type_Event` but embeds the plain `.srv` text (request `---` response). The message on
 * the wire is `service_msgs/ServiceEventInfo info, Type_Request[<=1] request, Type_Response[<=1]
 * response`; this builds that definition text, or returns undefined for anything else.
 */
function serviceEventDefinition(schemaName: string, text: string): string | undefined {
  const match = /^([A-Za-z0-9_]+)\/srv\/([A-Za-z0-9_]+)_Event$/.exec(schemaName);
  if (!match) return undefined;
  const [, pkg, service] = match;
  const sectionStart = text.search(new RegExp(`^${SECTION_SEPARATOR}$`, "m"));
  const main = sectionStart === -1 ? text : text.slice(0, sectionStart);
  const dependencies = sectionStart === -1 ? "" : text.slice(sectionStart);
  const parts = main.split(/^---\s*$/m);
  if (parts.length !== 2) return undefined;
  const [request, response] = parts as [string, string];
  const section = (name: string, body: string): string =>
    `${SECTION_SEPARATOR}\nMSG: ${name}\n${body.trim()}\n`;
  return [
    `service_msgs/ServiceEventInfo info\n${pkg}/${service}_Request[<=1] request\n${pkg}/${service}_Response[<=1] response\n`,
    section(
      "service_msgs/ServiceEventInfo",
      "uint8 event_type\nbuiltin_interfaces/Time stamp\nchar[16] client_gid\nint64 sequence_number",
    ),
    section(`${pkg}/${service}_Request`, request),
    section(`${pkg}/${service}_Response`, response),
    dependencies,
  ].join("");
}
