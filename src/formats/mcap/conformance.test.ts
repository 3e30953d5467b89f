/**
 * The official MCAP conformance suite (416 files, shared/fixtures/mcap-conformance; see its README):
 * - streamed: every record in file order equals the expected JSON exactly;
 * - indexed: for the variants upstream's indexed runner covers (a Message and ch, chx, mx, rch, rsh),
 *   the reader must use the index, and schemas/channels/messages/statistics equal the derived lists;
 * - logical: for every file, what the LogReader reports equals the file's logical content.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ChannelInfo, LogMessage, SchemaInfo } from "../types.ts";
import { openFileSource } from "../node-source.ts";
import { openMcapReader, recordStream } from "./index.ts";

const root = fileURLToPath(new URL("../../../../shared/fixtures/mcap-conformance/", import.meta.url));

type Field = [string, unknown];
interface ExpectedRecord {
  type: string;
  fields: Field[];
}
interface Case {
  name: string;
  mcapPath: string;
  features: string[];
  records: ExpectedRecord[];
}

function loadCases(): Case[] {
  const cases: Case[] = [];
  for (const dir of readdirSync(root).sort()) {
    if (!statSync(`${root}${dir}`).isDirectory()) continue;
    for (const file of readdirSync(`${root}${dir}`).sort()) {
      if (!file.endsWith(".mcap")) continue;
      const base = file.slice(0, -".mcap".length);
      const expected = JSON.parse(readFileSync(`${root}${dir}/${base}.json`, "utf8")) as {
        records: ExpectedRecord[];
        meta: { variant: { features: string[] } };
      };
      cases.push({
        name: `${dir}/${base}`,
        mcapPath: `${root}${dir}/${file}`,
        features: expected.meta.variant.features,
        records: expected.records,
      });
    }
  }
  return cases;
}

const cases = loadCases();

/** A record (or anything record-shaped) in the expected JSON form: snake_case names, all values as strings. */
function toJsonRecord(type: string, value: Record<string, unknown>): ExpectedRecord {
  const fields: Field[] = Object.entries(value)
    .filter(([key]) => key !== "type")
    .map(([key, v]): Field => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), stringify(v)]);
  fields.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { type, fields };
}

function stringify(value: unknown): unknown {
  if (typeof value === "bigint" || typeof value === "number") return String(value);
  if (value instanceof Uint8Array) return Array.from(value, String);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), String(v)]));
  if (typeof value === "string") return value;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
  }
  throw new Error(`unexpected value ${String(value)}`);
}

function field(record: ExpectedRecord, name: string): unknown {
  return record.fields.find(([key]) => key === name)?.[1];
}

function uniqueById(records: ExpectedRecord[], type: string): ExpectedRecord[] {
  const byId = new Map<number, ExpectedRecord>();
  for (const r of records) {
    if (r.type === type && !byId.has(Number(field(r, "id")))) byId.set(Number(field(r, "id")), r);
  }
  return [...byId.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
}

/** Message records stably sorted by log_time (Array.prototype.sort is stable). */
function messagesByLogTime(records: ExpectedRecord[]): ExpectedRecord[] {
  return records
    .filter((r) => r.type === "Message")
    .sort((a, b) => {
      const ta = BigInt(field(a, "log_time") as string);
      const tb = BigInt(field(b, "log_time") as string);
      return ta < tb ? -1 : ta > tb ? 1 : 0;
    });
}

const schemaRecord = (s: SchemaInfo) =>
  toJsonRecord("Schema", { id: s.id, name: s.name, encoding: s.encoding, data: s.data });
const channelRecord = (c: ChannelInfo) =>
  toJsonRecord("Channel", {
    id: c.id,
    topic: c.topic,
    schemaId: c.schemaId,
    messageEncoding: c.messageEncoding,
    metadata: new Map(Object.entries(c.metadata)),
  });
const messageRecord = (m: LogMessage) =>
  toJsonRecord("Message", {
    channelId: m.channelId,
    sequence: m.sequence,
    logTime: m.logTimeNs,
    publishTime: m.publishTimeNs,
    data: m.data,
  });

function indexedRunnerCovers(c: Case): boolean {
  return (
    c.records.some((r) => r.type === "Message") &&
    ["ch", "chx", "mx", "rch", "rsh"].every((feature) => c.features.includes(feature))
  );
}

describe("MCAP conformance", () => {
  it("has all 416 files", () => {
    expect(cases).toHaveLength(416);
  });

  describe("streamed: records in file order equal the expected JSON", () => {
    it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      const source = await openFileSource(c.mcapPath);
      const actual: ExpectedRecord[] = [];
      try {
        for await (const record of recordStream(source)) {
          actual.push(toJsonRecord(record.type, record as unknown as Record<string, unknown>));
        }
      } finally {
        await source.close?.();
      }
      expect(actual).toEqual(c.records);
    });
  });

  const indexedCases = cases.filter(indexedRunnerCovers);

  describe("indexed: schemas, channels, messages and statistics from the index", () => {
    it("covers the 16 variants upstream's indexed runner runs", () => {
      expect(indexedCases).toHaveLength(16);
    });

    it.each(indexedCases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      const reader = await openMcapReader(await openFileSource(c.mcapPath));
      try {
        expect(reader.mode).toBe("indexed");
        const summary = await reader.summary();
        expect(summary.schemas.map(schemaRecord)).toEqual(uniqueById(c.records, "Schema"));
        expect(summary.channels.map(channelRecord)).toEqual(uniqueById(c.records, "Channel"));
        const messages: ExpectedRecord[] = [];
        for await (const m of reader.messages()) messages.push(messageRecord(m));
        expect(messages).toEqual(messagesByLogTime(c.records));
        const statistics = reader.statistics
          ? [toJsonRecord("Statistics", reader.statistics as unknown as Record<string, unknown>)]
          : [];
        expect(statistics).toEqual(c.records.filter((r) => r.type === "Statistics"));
      } finally {
        await reader.close();
      }
    });
  });

  describe("logical content: what the LogReader reports", () => {
    it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      const reader = await openMcapReader(await openFileSource(c.mcapPath));
      try {
        const summary = await reader.summary();
        const expectedMessages = messagesByLogTime(c.records);
        expect(summary.schemas.map(schemaRecord)).toEqual(uniqueById(c.records, "Schema"));
        expect(summary.channels.map(channelRecord)).toEqual(uniqueById(c.records, "Channel"));
        expect(summary.attachments.map((a) => toJsonRecord("Attachment", { ...a }))).toEqual(
          c.records
            .filter((r) => r.type === "Attachment")
            .map((r) => ({
              type: "Attachment",
              fields: r.fields.map(([k, v]): Field => [k.replace(/_time$/, "_time_ns"), v]),
            }))
            .map((r) => ({ ...r, fields: r.fields.sort((a, b) => (a[0] < b[0] ? -1 : 1)) })),
        );
        expect(summary.metadata.map((m) => toJsonRecord("Metadata", { ...m }))).toEqual(
          c.records.filter((r) => r.type === "Metadata"),
        );

        const messages: ExpectedRecord[] = [];
        for await (const m of reader.messages()) messages.push(messageRecord(m));
        expect(messages).toEqual(expectedMessages);

        const logTimes = expectedMessages.map((r) => BigInt(field(r, "log_time") as string));
        expect(summary.messageCount).toBe(BigInt(expectedMessages.length));
        expect(summary.startTimeNs).toBe(logTimes[0]);
        expect(summary.endTimeNs).toBe(logTimes.at(-1));
        expect(summary.topics.map((t) => [t.topic, t.messageCount])).toEqual(
          uniqueById(c.records, "Channel").map((ch) => [field(ch, "topic"), BigInt(expectedMessages.length)]),
        );

        const stamps: string[] = [];
        for await (const batch of reader.timestamps()) {
          for (const s of batch) stamps.push(`${s.channelId}@${s.logTimeNs}`);
        }
        expect(stamps.sort()).toEqual(
          expectedMessages.map((r) => `${field(r, "channel_id")}@${field(r, "log_time")}`).sort(),
        );
        expect(summary.profile).toBe(field(c.records[0] as ExpectedRecord, "profile"));
      } finally {
        await reader.close();
      }
    });
  });
});
