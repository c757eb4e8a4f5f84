import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { BlobInfo, Digest, ExpectedBlob } from "../content/content-store.js";
import { assertDigest, digestHex } from "../content/digest.js";
import { fsyncDir } from "../lib/atomic-file.js";
import { errnoCode, NotFoundError } from "../lib/errors.js";
import { registryError } from "./registry-errors.js";
import type { RegistryBlobs } from "./registry-server.js";

/**
 * The registry's blobs, content-addressed and shared by every repository:
 *
 * ```
 * <root>/blobs/sha256/<hex>   committed blobs
 * <root>/ingest/<random>      blobs being written (monolithic uploads, manifests); wiped by `open`
 * ```
 *
 * The same layout and guarantees as the content layer's `LocalContentStore`
 * (hash while streaming, fsync, rename; a blob is visible only whole). It is
 * its own class because finishing a chunked upload must adopt the session's
 * file by `rename` (`commitFile`) rather than copy gigabytes a second time,
 * and the content contract has no such method.
 */
export class RegistryBlobStore implements RegistryBlobs {
  readonly #blobs: string;
  readonly #ingest: string;

  private constructor(root: string) {
    this.#blobs = join(root, "blobs", "sha256");
    this.#ingest = join(root, "ingest");
  }

  /** Opens (creating) the store and removes what a killed process left in `ingest/`. */
  static async open(root: string): Promise<RegistryBlobStore> {
    const store = new RegistryBlobStore(root);
    await mkdir(store.#blobs, { recursive: true });
    await rm(store.#ingest, { recursive: true, force: true });
    await mkdir(store.#ingest, { recursive: true });
    return store;
  }

  /** A read-only view for gc, which must not wipe a running server's `ingest/`. */
  static view(root: string): RegistryBlobStore {
    return new RegistryBlobStore(root);
  }

  #path(digest: Digest): string {
    return join(this.#blobs, digestHex(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      return (await stat(this.#path(digest))).isFile();
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return false;
      throw err;
    }
  }

  async info(digest: Digest): Promise<BlobInfo> {
    try {
      return { digest, size: (await stat(this.#path(digest))).size };
    } catch (err) {
      throw missing(digest, err);
    }
  }

  async readStream(digest: Digest, range?: { start?: number; end?: number }): Promise<Readable> {
    let fh;
    try {
      fh = await open(this.#path(digest), "r");
    } catch (err) {
      throw missing(digest, err);
    }
    return createReadStream("", { fd: fh, start: range?.start, end: range?.end, highWaterMark: 1 << 20 });
  }

  async readBytes(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.#path(digest));
    } catch (err) {
      throw missing(digest, err);
    }
  }

  async path(digest: Digest): Promise<string> {
    await this.info(digest);
    return this.#path(digest);
  }

  /**
   * A mismatch with `expected` is DIGEST_INVALID (digest) or SIZE_INVALID
   * (size), and leaves nothing behind.
   */
  async ingest(stream: Readable | AsyncIterable<Uint8Array>, expected?: ExpectedBlob): Promise<BlobInfo> {
    if (expected?.digest !== undefined) assertDigest(expected.digest);
    const tmp = join(this.#ingest, randomBytes(12).toString("hex"));
    const hash = createHash("sha256");
    let size = 0;
    const fh = await open(tmp, "wx", 0o644);
    let committed = false;
    try {
      try {
        for await (const chunk of stream) {
          const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
          size += buf.length;
          if (expected?.size !== undefined && size > expected.size) {
            throw registryError("SIZE_INVALID", `blob is larger than the expected ${expected.size} bytes`);
          }
          hash.update(buf);
          await fh.write(buf);
        }
        const digest = `sha256:${hash.digest("hex")}`;
        if (expected?.size !== undefined && size !== expected.size) {
          throw registryError("SIZE_INVALID", `blob has ${size} bytes, expected ${expected.size}`);
        }
        if (expected?.digest !== undefined && digest !== expected.digest) {
          throw registryError("DIGEST_INVALID", `provided digest did not match uploaded content: got ${digest}, expected ${expected.digest}`, {
            detail: { digest: expected.digest },
          });
        }
        await fh.sync();
        await fh.close();
        await rename(tmp, this.#path(digest));
        committed = true;
        await fsyncDir(this.#blobs);
        return { digest, size };
      } finally {
        await fh.close().catch(() => undefined);
      }
    } finally {
      if (!committed) await rm(tmp, { force: true });
    }
  }

  async put(bytes: Uint8Array | string, expected?: ExpectedBlob): Promise<BlobInfo> {
    const buf = typeof bytes === "string" ? Buffer.from(bytes) : bytes;
    return this.ingest(Readable.from([buf]), expected);
  }

  async commitFile(file: string, digest: Digest): Promise<BlobInfo> {
    const target = this.#path(digest);
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
    await chmod(file, 0o644);
    await rename(file, target);
    await fsyncDir(this.#blobs);
    return this.info(digest);
  }

  async delete(digest: Digest): Promise<void> {
    await rm(this.#path(digest), { force: true });
  }

  async list(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    let names: string[];
    try {
      names = await readdir(this.#blobs);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return out;
      throw err;
    }
    for (const name of names) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      try {
        out.push({ digest: `sha256:${name}`, size: (await stat(join(this.#blobs, name))).size });
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw err;
      }
    }
    return out;
  }
}

function missing(digest: Digest, err: unknown): unknown {
  return errnoCode(err) === "ENOENT" ? new NotFoundError(`blob ${digest}: not found`, { cause: err }) : err;
}
