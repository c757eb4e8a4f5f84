import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../lib/atomic-file.js";
import { errnoCode } from "../lib/errors.js";

/**
 * The build cache: which image a build step produced, keyed by everything
 * the step's result depends on (the parent image ID, the instruction after
 * expansion, the build args in scope, and for COPY/ADD the checksums of the
 * sources' contents). A later step with the same key reuses that image
 * instead of running again, like Docker's classic builder
 * (https://docs.docker.com/build/cache/#how-the-build-cache-works).
 *
 * Lifecycle: `open` → `get`/`put` any number of times → `clear` (`builder
 * prune`). The table is one JSON file replaced atomically on every `put`, so
 * the cache survives daemon restarts and a crash leaves the old or the new
 * table. An entry whose image was deleted is a miss (the caller checks).
 */
export class BuildCache {
  readonly #file: string;
  #entries: Record<string, string>;
  /** Writes are chained so concurrent builds never lose each other's entries. */
  #writing: Promise<void> = Promise.resolve();

  private constructor(file: string, entries: Record<string, string>) {
    this.#file = file;
    this.#entries = entries;
  }

  static async open(dir: string): Promise<BuildCache> {
    const file = join(dir, "cache.json");
    let entries: Record<string, string> = {};
    try {
      entries = JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
    } catch (err) {
      // A missing table is an empty cache; an unreadable one is too (the cache only saves time).
      if (errnoCode(err) !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
    }
    return new BuildCache(file, entries);
  }

  /** The key of a step: a digest over its parts, in order. */
  static key(parts: unknown[]): string {
    return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
  }

  /** The image ID recorded for `key`, or undefined. */
  get(key: string): string | undefined {
    return this.#entries[key];
  }

  put(key: string, imageId: string): Promise<void> {
    this.#entries[key] = imageId;
    return this.#save();
  }

  /** Forgets every entry and returns the image IDs they named (for `builder prune`). */
  async clear(): Promise<string[]> {
    const ids = [...new Set(Object.values(this.#entries))];
    this.#entries = {};
    await this.#save();
    return ids;
  }

  #save(): Promise<void> {
    const snapshot = { ...this.#entries };
    this.#writing = this.#writing.catch(() => undefined).then(() => writeJsonAtomic(this.#file, snapshot));
    return this.#writing;
  }
}
