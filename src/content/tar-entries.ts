import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import tar from "tar-stream";
import type { Header } from "tar-stream";
import { InvalidArgumentError, WharfError } from "../lib/errors.js";

/** A tar header as tar-stream parses it (linkname is null when absent), with the PAX records it applied. */
export type TarHeader = Omit<Header, "pax" | "linkname"> & { linkname: string | null; pax?: Record<string, string> | null };

export interface TarEntry {
  readonly header: TarHeader;
  /** The entry's data; must be consumed (or `drain`ed) before the next entry. */
  readonly stream: Readable;
}

/**
 * Iterate the entries of a tar stream one at a time. Breaking out of the loop
 * or throwing destroys the source; an error of the source or of the tar
 * parser is thrown from the loop.
 */
export async function* tarEntries(source: Readable): AsyncGenerator<TarEntry> {
  const extract = tar.extract();
  let pipeError: unknown;
  const piping = pipeline(source, extract).catch((err: unknown) => { pipeError = err; });
  try {
    for await (const entry of extract) {
      yield { header: entry.header as unknown as TarHeader, stream: entry as unknown as Readable };
      // tar-stream needs the entry body consumed before it yields the next.
      entry.resume();
    }
  } catch (err) {
    throw asTarError(pipeError ?? err);
  } finally {
    if (!source.destroyed && !source.readableEnded) source.destroy();
    await piping;
  }
  if (pipeError !== undefined) throw asTarError(pipeError);
}

/** tar-stream's complaints about the data itself are the caller's bad input, not our fault. */
function asTarError(err: unknown): unknown {
  if (err instanceof Error && !(err instanceof WharfError) && /Invalid tar header|Unexpected end of data|Invalid pax|Invalid header/i.test(err.message)) {
    return new InvalidArgumentError(`not a valid tar archive: ${err.message}`, { cause: err });
  }
  return err;
}

/** Read a whole (small) stream into memory, refusing more than `limit` bytes. */
export async function readAll(stream: AsyncIterable<Uint8Array | string>, limit = 64 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk);
    size += b.length;
    if (size > limit) throw new RangeError(`stream larger than ${limit} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
