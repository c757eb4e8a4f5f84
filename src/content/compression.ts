import { Readable, PassThrough } from "node:stream";
import { createGunzip } from "node:zlib";
import { InvalidArgumentError } from "../lib/errors.js";

export type Compression = "none" | "gzip";

/**
 * Look at the first bytes of `stream` and return a stream of the
 * decompressed data plus what was found. Layers and archives may come gzip'd
 * (OCI `+gzip` media types, `docker save | gzip`); the magic number is the
 * only reliable signal, since media types and file names lie.
 * zstd/xz/bzip2 are refused with `InvalidArgumentError` rather than passed on
 * as if they were tar. Errors of the source or of gunzip surface on the
 * returned stream (gzip corruption as `InvalidArgumentError`).
 */
export async function decompressed(stream: Readable | AsyncIterable<Uint8Array>): Promise<{ stream: Readable; compression: Compression }> {
  const it = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < 6) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    const chunk = typeof r.value === "string" ? Buffer.from(r.value) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    chunks.push(chunk);
    have += chunk.length;
  }
  const head = Buffer.concat(chunks);
  const compression = sniff(head);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    }
  }
  const source = Readable.from(replay(), { objectMode: false, highWaterMark: 1 << 20 });
  if (compression === "none") return { stream: source, compression };
  const gunzip = createGunzip({ chunkSize: 1 << 16 });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  source.on("error", (err) => out.destroy(err));
  gunzip.on("error", (err) => out.destroy(new InvalidArgumentError(`bad gzip data: ${err.message}`, { cause: err })));
  out.on("close", () => { if (!source.destroyed && !source.readableEnded) source.destroy(); });
  source.pipe(gunzip).pipe(out);
  return { stream: out, compression };
}

/** Which compression `head` (the first ≥6 bytes) starts with. */
export function sniff(head: Uint8Array): Compression {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return "gzip";
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) throw new InvalidArgumentError("zstd-compressed data is not supported");
  if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) throw new InvalidArgumentError("xz-compressed data is not supported");
  if (b.length >= 3 && b.subarray(0, 3).toString("latin1") === "BZh" && b[3]! >= 0x31 && b[3]! <= 0x39) throw new InvalidArgumentError("bzip2-compressed data is not supported");
  return "none";
}
