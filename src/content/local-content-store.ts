import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, mkdir, open, readdir, rename, rm, stat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { InvalidArgumentError, NotFoundError, errnoCode } from "../lib/errors.js";
import { fsyncDir } from "../lib/atomic-file.js";
import { BatchedWriter, syncAheadBytes } from "../lib/batched-writer.js";
import type { BlobInfo, ContentStore, Digest, ExpectedBlob } from "./content-store.js";
import { assertDigest, digestHex } from "./digest.js";
import { DigestMismatchError, SizeMismatchError } from "./ingest-errors.js";

/**
 * `ContentStore` on a local directory:
 *
 * ```
 * <root>/blobs/sha256/<hex>   committed blobs (read-only once renamed in)
 * <root>/ingest/<random>      in-flight ingests; wiped by `open`
 * ```
 *
 * Both live on the same filesystem so the commit is one `rename(2)`.
 */
export class LocalContentStore implements ContentStore {
  readonly #root: string;
  readonly #blobs: string;
  readonly #ingest: string;

  private constructor(root: string) {
    this.#root = root;
    this.#blobs = join(root, "blobs", "sha256");
    this.#ingest = join(root, "ingest");
  }

  /**
   * Open (creating if needed) a store rooted at `root`. Removes temp files
   * that a killed process left in `ingest/`, so only one process may use a
   * root at a time.
   */
  static async open(root: string): Promise<LocalContentStore> {
    const store = new LocalContentStore(root);
    await mkdir(store.#blobs, { recursive: true });
    await rm(store.#ingest, { recursive: true, force: true });
    await mkdir(store.#ingest, { recursive: true });
    return store;
  }

  /** The store without the housekeeping of `open` (for a reader such as gc while a writer runs). */
  static view(root: string): LocalContentStore {
    return new LocalContentStore(root);
  }

  get root(): string {
    return this.#root;
  }

  #blobPath(digest: Digest): string {
    return join(this.#blobs, digestHex(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await stat(this.#blobPath(digest));
      return true;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw err;
    }
  }

  async info(digest: Digest): Promise<BlobInfo> {
    try {
      const st = await stat(this.#blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      throw missing(digest, err);
    }
  }

  async readStream(digest: Digest, range?: { start?: number; end?: number }): Promise<Readable> {
    const path = this.#blobPath(digest);
    // Open first so a missing blob is a thrown NotFoundError, not a stream error.
    let fh;
    try {
      fh = await open(path, "r");
    } catch (err) {
      throw missing(digest, err);
    }
    return createReadStream("", { fd: fh, start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
  }

  async readBytes(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.#blobPath(digest));
    } catch (err) {
      throw missing(digest, err);
    }
  }

  async path(digest: Digest): Promise<string> {
    await this.info(digest);
    return this.#blobPath(digest);
  }

  async ingest(stream: Readable | AsyncIterable<Uint8Array>, expected?: ExpectedBlob): Promise<BlobInfo> {
    if (expected?.digest !== undefined) assertDigest(expected.digest);
    if (expected?.size !== undefined && (!Number.isSafeInteger(expected.size) || expected.size < 0)) {
      throw new InvalidArgumentError(`invalid expected size ${expected.size}`);
    }
    const tmp = join(this.#ingest, randomBytes(12).toString("hex"));
    const hash = createHash("sha256");
    let size = 0;
    const fh = await open(tmp, "wx", 0o444);
    // The fsync before the rename below then finds most of a large blob written back already.
    const out = new BatchedWriter(fh, { syncEveryBytes: syncAheadBytes });
    let committed = false;
    try {
      try {
        for await (const chunk of stream) {
          const buf = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
          size += buf.length;
          if (expected?.size !== undefined && size > expected.size) {
            throw new SizeMismatchError(expected.size, `blob size mismatch: more than the expected ${expected.size} bytes`);
          }
          hash.update(buf);
          await out.write(buf);
        }
        await out.flush();
        const digest = `sha256:${hash.digest("hex")}`;
        if (expected?.size !== undefined && size !== expected.size) {
          throw new SizeMismatchError(expected.size, `blob size mismatch: got ${size} bytes, expected ${expected.size}`);
        }
        if (expected?.digest !== undefined && digest !== expected.digest) {
          throw new DigestMismatchError(expected.digest, digest);
        }
        await fh.sync();
        await fh.close();
        await rename(tmp, this.#blobPath(digest));
        committed = true;
        await fsyncDir(this.#blobs);
        return { digest, size };
      } finally {
        // close() twice throws nothing useful; a failed path must still close.
        await fh.close().catch(() => undefined);
      }
    } finally {
      if (!committed) await rm(tmp, { force: true });
      if (!committed && typeof (stream as Readable).destroy === "function" && !(stream as Readable).destroyed) {
        (stream as Readable).destroy();
      }
    }
  }

  async put(bytes: Uint8Array | string, expected?: ExpectedBlob): Promise<BlobInfo> {
    const buf = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    return this.ingest(Readable.from([buf]), expected);
  }

  async commitFile(file: string, digest: Digest): Promise<BlobInfo> {
    assertDigest(digest);
    if (await this.has(digest)) {
      await rm(file, { force: true });
      return this.info(digest);
    }
    const fh = await open(file, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chmod(file, 0o444);
    await rename(file, this.#blobPath(digest));
    await fsyncDir(this.#blobs);
    return this.info(digest);
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.#blobPath(digest), { force: true });
  }

  async list(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    for (const name of await readdir(this.#blobs)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      try {
        const st = await stat(join(this.#blobs, name));
        out.push({ digest: `sha256:${name}`, size: st.size });
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw err; // deleted meanwhile
      }
    }
    return out;
  }
}

function missing(digest: Digest, err: unknown): unknown {
  return errnoCode(err) === "ENOENT" ? new NotFoundError(`content ${digest}: not found`, { cause: err }) : err;
}
