// Floor for any ingest that names its bytes by SHA-256: hashing the file once, on one core (node:crypto).
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";

const hash = createHash("sha256");
const fd = openSync(process.argv[2], "r");
const buffer = Buffer.allocUnsafe(4 << 20);
for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) hash.update(buffer.subarray(0, n));
closeSync(fd);
process.stdout.write(`${hash.digest("hex")}\n`);
