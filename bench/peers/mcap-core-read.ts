/** Peer for the ingest bench: a bare @mcap/core indexed read of every message of one file. */
import { open } from "node:fs/promises";
import { McapIndexedReader } from "@mcap/core";
import { loadDecompressHandlers } from "@mcap/support";

const file = process.argv[2];
if (!file) throw new Error("usage: mcap-core-read FILE");
const handle = await open(file, "r");
const size = (await handle.stat()).size;
const readable = {
  size: async () => BigInt(size),
  read: async (offset: bigint, length: bigint) => {
    const buffer = new Uint8Array(Number(length));
    await handle.read(buffer, 0, buffer.length, Number(offset));
    return buffer;
  },
};
const reader = await McapIndexedReader.Initialize({
  readable,
  decompressHandlers: await loadDecompressHandlers(),
});
let messages = 0;
let bytes = 0;
for await (const message of reader.readMessages()) {
  messages++;
  bytes += message.data.byteLength;
}
await handle.close();
process.stdout.write(JSON.stringify({ messages, bytes }));
