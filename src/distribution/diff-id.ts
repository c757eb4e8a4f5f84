import { createHash } from "node:crypto";
import { once } from "node:events";
import { createGunzip, type Gunzip } from "node:zlib";
import type { Digest } from "../content/content-store.js";
import { sniff } from "../content/compression.js";
import { InvalidArgumentError } from "../lib/errors.js";

/**
 * The diffID (sha256 of the uncompressed tar) of a layer computed while its
 * compressed bytes stream past, so a pull does not read and gunzip every
 * layer a second time after downloading it. Feed every chunk in order with
 * `update` (it waits when gunzip falls behind), then `digest()`.
 *
 * Given the blob's own digest (which the content store verifies as it
 * ingests the same bytes), an uncompressed layer is not hashed again: its
 * diffID is that digest.
 */
export class DiffIdHasher {
  readonly #hash = createHash("sha256");
  readonly #blobDigest: Digest | undefined;
  #size = 0;
  #gunzip: Gunzip | undefined;
  #decided = false;
  #head = Buffer.alloc(0);
  #error: unknown;

  constructor(opts: { blobDigest?: Digest } = {}) {
    this.#blobDigest = opts.blobDigest;
  }

  async update(chunk: Buffer): Promise<void> {
    if (!this.#decided) {
      this.#head = Buffer.concat([this.#head, chunk]);
      if (this.#head.length < 6) return;
      await this.#decide();
      return;
    }
    await this.#feed(chunk);
  }

  /** The diffID and uncompressed size, once every chunk was fed. */
  async digest(): Promise<{ diffId: Digest; size: number }> {
    if (!this.#decided) await this.#decide();
    if (this.#gunzip) {
      const done = once(this.#gunzip, "end");
      this.#gunzip.end();
      await done.catch((err: unknown) => {
        throw new InvalidArgumentError(`bad gzip data in layer: ${(err as Error).message}`, { cause: err });
      });
    }
    if (this.#error !== undefined) throw this.#error;
    if (!this.#gunzip && this.#blobDigest !== undefined) return { diffId: this.#blobDigest, size: this.#size };
    return { diffId: `sha256:${this.#hash.digest("hex")}`, size: this.#size };
  }

  async #decide(): Promise<void> {
    this.#decided = true;
    if (sniff(this.#head) === "gzip") {
      const g = createGunzip({ chunkSize: 1 << 16 });
      g.on("data", (b: Buffer) => {
        this.#hash.update(b);
        this.#size += b.length;
      });
      g.on("error", (err) => {
        this.#error ??= new InvalidArgumentError(`bad gzip data in layer: ${err.message}`, { cause: err });
      });
      this.#gunzip = g;
    }
    const head = this.#head;
    this.#head = Buffer.alloc(0);
    if (head.length > 0) await this.#feed(head);
  }

  async #feed(chunk: Buffer): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (!this.#gunzip) {
      if (this.#blobDigest === undefined) this.#hash.update(chunk);
      this.#size += chunk.length;
      return;
    }
    if (!this.#gunzip.write(chunk)) await once(this.#gunzip, "drain");
  }
}
