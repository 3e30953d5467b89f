/**
 * Tolerant readers over decoded messages (ROS 1 and ROS 2 spellings: `nsec`/`nanosec`, `K`/`k`), and
 * image dimensions from compressed image headers (JPEG SOF, PNG IHDR) without decoding pixels.
 */

export type Obj = Record<string, unknown>;

export function obj(value: unknown): Obj | undefined {
  return value !== null && typeof value === "object" && !ArrayBuffer.isView(value) && !Array.isArray(value)
    ? (value as Obj)
    : undefined;
}

export function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  return undefined;
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Element i of an array or typed array. */
export function at(value: unknown, i: number): number | undefined {
  if (Array.isArray(value)) return num(value[i]);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return num((value as unknown as ArrayLike<unknown>)[i]);
  return undefined;
}

export function lengthOf(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return (value as unknown as ArrayLike<unknown>).length;
  return 0;
}

/** A ROS time (`{sec, nsec}` or `{sec, nanosec}`) as ns, or undefined. */
export function timeNs(value: unknown): bigint | undefined {
  const t = obj(value);
  if (!t) return undefined;
  const sec = num(t.sec ?? t.secs);
  const nsec = num(t.nanosec ?? t.nsec ?? t.nsecs ?? 0);
  if (sec === undefined || nsec === undefined || !Number.isFinite(sec) || !Number.isFinite(nsec))
    return undefined;
  return BigInt(Math.trunc(sec)) * 1_000_000_000n + BigInt(Math.trunc(nsec));
}

/** `header` of a message with a std_msgs/Header: its stamp (ns) and frame id. */
export function headerOf(message: unknown): { stampNs: bigint; frameId: string } | undefined {
  const header = obj(obj(message)?.header);
  if (!header) return undefined;
  const stampNs = timeNs(header.stamp);
  if (stampNs === undefined) return undefined;
  return { stampNs, frameId: str(header.frame_id) ?? "" };
}

export function vec3(value: unknown): { x: number; y: number; z: number } | undefined {
  const v = obj(value);
  const x = num(v?.x);
  const y = num(v?.y);
  const z = num(v?.z);
  return x === undefined || y === undefined || z === undefined ? undefined : { x, y, z };
}

export function quat(value: unknown): { x: number; y: number; z: number; w: number } | undefined {
  const v = vec3(value);
  const w = num(obj(value)?.w);
  return v === undefined || w === undefined ? undefined : { ...v, w };
}

export function bytes(value: unknown): Uint8Array | undefined {
  return value instanceof Uint8Array ? value : undefined;
}

/** Width and height from a JPEG (first SOFn marker) or PNG (IHDR) header; undefined for other formats. */
export function compressedImageSize(data: Uint8Array): { width: number; height: number } | undefined {
  if (data.length >= 24 && data[0] === 0x89 && data[1] === 0x50 && data[2] === 0x4e && data[3] === 0x47) {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 9 < data.length) {
    if (data[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = data[i + 1] as number;
    if (marker === 0xff) {
      i++;
      continue;
    }
    // Standalone markers (RSTn, SOI, TEM) carry no length.
    if ((marker >= 0xd0 && marker <= 0xd8) || marker === 0x01) {
      i += 2;
      continue;
    }
    const length = ((data[i + 2] as number) << 8) | (data[i + 3] as number);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      const height = ((data[i + 5] as number) << 8) | (data[i + 6] as number);
      const width = ((data[i + 7] as number) << 8) | (data[i + 8] as number);
      return { width, height };
    }
    if (marker === 0xda || length < 2) return undefined;
    i += 2 + length;
  }
  return undefined;
}
