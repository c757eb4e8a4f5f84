import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../content/content-store.js";
import { errnoCode } from "../lib/errors.js";
import { writeJsonAtomic } from "../lib/atomic-file.js";
import type { BlobSources } from "./registry-client.js";

/** How many repositories are remembered per blob (the most recent win). */
const maxPerBlob = 5;

/**
 * `BlobSources` in one JSON file (`<dir>/blob-sources.json`:
 * `{"sha256:…": ["localhost:5000/a", …]}`), held in memory and rewritten
 * atomically after each change. A corrupt or missing file is an empty one:
 * the worst this costs is an upload where a mount would have done.
 */
export class FileBlobSources implements BlobSources {
  readonly #path: string;
  #map = new Map<Digest, string[]>();
  #writes: Promise<unknown> = Promise.resolve();

  private constructor(path: string) {
    this.#path = path;
  }

  static async open(dir: string): Promise<FileBlobSources> {
    const s = new FileBlobSources(join(dir, "blob-sources.json"));
    try {
      const parsed = JSON.parse(await readFile(s.#path, "utf8")) as Record<string, unknown>;
      for (const [digest, list] of Object.entries(parsed)) {
        if (Array.isArray(list)) s.#map.set(digest, list.filter((x): x is string => typeof x === "string").slice(0, maxPerBlob));
      }
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
    }
    return s;
  }

  sources(digest: Digest): string[] {
    return [...(this.#map.get(digest) ?? [])];
  }

  remember(domain: string, repository: string, digests: readonly Digest[]): Promise<void> {
    const name = `${domain}/${repository}`;
    let changed = false;
    for (const d of digests) {
      const list = this.#map.get(d) ?? [];
      if (list[0] === name) continue;
      this.#map.set(d, [name, ...list.filter((x) => x !== name)].slice(0, maxPerBlob));
      changed = true;
    }
    return changed ? this.#persist() : this.#writes.then(() => undefined);
  }

  forget(digests: readonly Digest[]): Promise<void> {
    let changed = false;
    for (const d of digests) changed = this.#map.delete(d) || changed;
    return changed ? this.#persist() : this.#writes.then(() => undefined);
  }

  /** Writes are chained so the file always ends up with the latest map. */
  #persist(): Promise<void> {
    const run = this.#writes.then(() => writeJsonAtomic(this.#path, Object.fromEntries(this.#map)));
    this.#writes = run.catch(() => undefined);
    return run;
  }
}

/** Sources that are never remembered (tests, one-off clients). */
export const noBlobSources: BlobSources = {
  sources: () => [],
  remember: async () => undefined,
  forget: async () => undefined,
};
