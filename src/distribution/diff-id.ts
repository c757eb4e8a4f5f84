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
 */
export class DiffIdHasher {
  readonly #hash = createHash("sha256");
  #size = 0;
  #gunzip: Gunzip | undefined;
  #decided = false;
  #head = Buffer.alloc(0);
  #error: unknown;

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
      this.#hash.update(chunk);
      this.#size += chunk.length;
      return;
    }
    if (!this.#gunzip.write(chunk)) await once(this.#gunzip, "drain");
  }
}
