import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ContentStore, Digest } from "../content/content-store.js";
import { assertDigest, digestHex, isDigest } from "../content/digest.js";
import { InvalidArgumentError, NotFoundError, errnoCode } from "../lib/errors.js";
import { writeJsonAtomic } from "../lib/atomic-file.js";
import type {
  CreateImageOptions,
  HistoryItem,
  ImageConfig,
  ImageRecord,
  ImageStore,
  LayerDescriptor,
} from "./image-store.js";
import { familiarString, formatReference, parseReference, withDefaultTag } from "./reference.js";

/** What `images/<hex>.json` holds; the config itself lives in the content store. */
interface StoredImage {
  id: Digest;
  layers: LayerDescriptor[];
  parent?: Digest;
}

interface Loaded {
  stored: StoredImage;
  config: ImageConfig;
}

/**
 * `ImageStore` on a local directory:
 *
 * ```
 * <root>/images/<id hex>.json   one file per image (layers, parent)
 * <root>/tags.json              the whole tag table: { "<full ref>": "<image id>" }
 * ```
 *
 * Each file is replaced atomically (temp + fsync + rename). An image file is
 * written before any tag points at it and the tag table is rewritten before an
 * image file is removed, so after a crash at any moment every tag points to a
 * complete image; at worst an image is left without tags (a dangling image,
 * which `docker images -f dangling=true` shows and `prune` removes). Tags
 * pointing to images that are gone (e.g. a file removed by hand) are dropped
 * on open. All state is held in memory and the files are written through, so
 * only one process may open a root.
 */
export class LocalImageStore implements ImageStore {
  readonly content: ContentStore;
  readonly #root: string;
  readonly #images = new Map<Digest, Loaded>();
  /** Full reference string (`docker.io/library/busybox:latest`, `…@sha256:…`) → image ID. */
  #tags = new Map<string, Digest>();
  /** Serializes writes so the tag table on disk follows the order of calls. */
  #writes: Promise<unknown> = Promise.resolve();
  readonly #holds = new Set<Promise<unknown>>();
  #gc: Promise<unknown> | null = null;

  private constructor(root: string, content: ContentStore) {
    this.#root = root;
    this.content = content;
  }

  static async open(root: string, content: ContentStore): Promise<LocalImageStore> {
    const store = new LocalImageStore(root, content);
    await mkdir(join(root, "images"), { recursive: true });
    for (const name of await readdir(join(root, "images"))) {
      const m = /^([a-f0-9]{64})\.json$/.exec(name);
      if (!m) continue; // temp files of an interrupted write
      try {
        const stored = JSON.parse(await readFile(join(root, "images", name), "utf8")) as StoredImage;
        const config = JSON.parse((await content.readBytes(`sha256:${m[1]}`)).toString("utf8")) as ImageConfig;
        store.#images.set(stored.id, { stored, config });
      } catch (err) {
        // An image whose config blob vanished cannot be used; skip rather than refuse to start.
        if (!(err instanceof NotFoundError) && !(err instanceof SyntaxError)) throw err;
      }
    }
    try {
      const table = JSON.parse(await readFile(join(root, "tags.json"), "utf8")) as Record<string, string>;
      for (const [ref, id] of Object.entries(table)) {
        if (isDigest(id) && store.#images.has(id)) store.#tags.set(ref, id);
      }
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
    }
    return store;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(fn, fn);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  async #saveTags(): Promise<void> {
    await writeJsonAtomic(join(this.#root, "tags.json"), Object.fromEntries([...this.#tags].sort(([a], [b]) => (a < b ? -1 : 1))));
  }

  #record(loaded: Loaded): ImageRecord {
    const { stored, config } = loaded;
    const repoTags: string[] = [];
    const repoDigests: string[] = [];
    for (const [ref, id] of this.#tags) {
      if (id !== stored.id) continue;
      const familiar = familiarString(parseReference(ref));
      (ref.includes("@") ? repoDigests : repoTags).push(familiar);
    }
    const rec: ImageRecord = {
      id: stored.id,
      repoTags: repoTags.sort(),
      repoDigests: repoDigests.sort(),
      created: config.created ?? new Date(0).toISOString(),
      size: stored.layers.reduce((n, l) => n + (l.uncompressedSize ?? l.size), 0),
      layers: stored.layers.map((l) => ({ ...l })),
      config: structuredClone(config),
    };
    if (stored.parent !== undefined) rec.parent = stored.parent;
    return rec;
  }

  #resolve(refOrId: string): Loaded {
    const notFound = () => new NotFoundError(`No such image: ${refOrId}`);
    if (/^(sha256:)?[a-f0-9]{64}$/.test(refOrId)) {
      const id = refOrId.startsWith("sha256:") ? refOrId : `sha256:${refOrId}`;
      const img = this.#images.get(id);
      if (!img) throw notFound();
      return img;
    }
    let parseError: unknown;
    try {
      const ref = withDefaultTag(parseReference(refOrId));
      const key = ref.digest !== undefined ? `${ref.name}@${ref.digest}` : formatReference(ref);
      const id = this.#tags.get(key);
      const img = id === undefined ? undefined : this.#images.get(id);
      if (img) return img;
      if (ref.digest !== undefined) {
        // name@digest may also name the image by its config digest (an ID).
        const byId = this.#images.get(ref.digest);
        if (byId && [...this.#tags].some(([k, v]) => v === byId.stored.id && k.startsWith(`${ref.name}:`))) return byId;
      }
    } catch (err) {
      parseError = err;
    }
    const prefix = refOrId.startsWith("sha256:") ? refOrId.slice(7) : refOrId;
    if (/^[a-f0-9]+$/.test(prefix)) {
      const matches = [...this.#images.keys()].filter((id) => id.startsWith(`sha256:${prefix}`));
      if (matches.length === 1) return this.#images.get(matches[0]!)!;
      if (matches.length > 1) throw new InvalidArgumentError(`ambiguous image ID prefix ${refOrId}: ${matches.length} images match`);
    }
    if (parseError instanceof InvalidArgumentError) throw parseError;
    throw notFound();
  }

  async list(): Promise<ImageRecord[]> {
    return [...this.#images.values()].map((img) => this.#record(img));
  }

  async get(refOrId: string): Promise<ImageRecord> {
    return this.#record(this.#resolve(refOrId));
  }

  async config(refOrId: string): Promise<ImageConfig> {
    return structuredClone(this.#resolve(refOrId).config);
  }

  async children(id: Digest): Promise<ImageRecord[]> {
    return [...this.#images.values()].filter((img) => img.stored.parent === id).map((img) => this.#record(img));
  }

  async history(refOrId: string): Promise<HistoryItem[]> {
    const rows = this.#historyRows(this.#resolve(refOrId), new Set());
    return rows.reverse();
  }

  /** Oldest-first rows; steps that belong to a known local parent carry the parent's ID. */
  #historyRows(img: Loaded, seen: Set<Digest>): HistoryItem[] {
    seen.add(img.stored.id);
    const rec = this.#record(img);
    const history = img.config.history ?? [];
    const toSeconds = (s: string | undefined) => (s ? Math.floor(Date.parse(s) / 1000) || 0 : 0);
    let rows: HistoryItem[];
    if (history.length === 0) {
      rows = img.stored.layers.map((l) => ({ id: "<missing>", created: toSeconds(img.config.created), createdBy: "", tags: [], size: l.uncompressedSize ?? l.size, comment: "" }));
    } else {
      let layer = 0;
      rows = history.map((h) => {
        let size = 0;
        if (!h.empty_layer) {
          const l = img.stored.layers[layer++];
          size = l ? l.uncompressedSize ?? l.size : 0;
        }
        return { id: "<missing>", created: toSeconds(h.created), createdBy: h.created_by ?? "", tags: [], size, comment: h.comment ?? "" };
      });
    }
    if (rows.length > 0) {
      rows[rows.length - 1]!.id = img.stored.id;
      rows[rows.length - 1]!.tags = rec.repoTags;
    }
    const parent = img.stored.parent === undefined ? undefined : this.#images.get(img.stored.parent);
    if (parent && !seen.has(parent.stored.id)) {
      const parentRows = this.#historyRows(parent, seen);
      if (parentRows.length < rows.length) {
        for (let i = 0; i < parentRows.length; i++) {
          rows[i]!.id = parentRows[i]!.id;
          rows[i]!.tags = parentRows[i]!.tags;
        }
      }
    }
    return rows;
  }

  async create(options: CreateImageOptions): Promise<ImageRecord> {
    const bytes = options.config instanceof Uint8Array ? options.config : Buffer.from(JSON.stringify(options.config));
    let config: ImageConfig;
    try {
      config = JSON.parse(Buffer.from(bytes).toString("utf8")) as ImageConfig;
    } catch (err) {
      throw new InvalidArgumentError(`image config is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    validateConfig(config, options.layers);
    for (const layer of options.layers) {
      assertDigest(layer.digest);
      if (!(await this.content.has(layer.digest))) throw new NotFoundError(`layer blob ${layer.digest} is not in the content store`);
    }
    if (options.parent !== undefined) assertDigest(options.parent);
    return this.#serial(async () => {
      const { digest: id } = await this.content.put(bytes);
      const existing = this.#images.get(id);
      if (existing) return this.#record(existing);
      const stored: StoredImage = { id, layers: options.layers.map((l) => ({ ...l })) };
      if (options.parent !== undefined && options.parent !== id) stored.parent = options.parent;
      await writeJsonAtomic(join(this.#root, "images", `${digestHex(id)}.json`), stored);
      const loaded = { stored, config };
      this.#images.set(id, loaded);
      return this.#record(loaded);
    });
  }

  async tag(refOrId: string, ref: string): Promise<void> {
    const parsed = withDefaultTag(parseReference(ref));
    if (parsed.tag !== undefined && parsed.digest !== undefined) {
      throw new InvalidArgumentError(`refusing to create a tag with a digest reference: ${ref}`);
    }
    const key = parsed.digest !== undefined ? `${parsed.name}@${parsed.digest}` : formatReference(parsed);
    await this.#serial(async () => {
      const img = this.#resolve(refOrId);
      if (this.#tags.get(key) === img.stored.id) return;
      this.#tags.set(key, img.stored.id);
      await this.#saveTags();
    });
  }

  async untag(ref: string): Promise<Digest> {
    const parsed = withDefaultTag(parseReference(ref));
    const key = parsed.digest !== undefined ? `${parsed.name}@${parsed.digest}` : formatReference(parsed);
    return this.#serial(async () => {
      const id = this.#tags.get(key);
      if (id === undefined) throw new NotFoundError(`No such image: ${ref}`);
      this.#tags.delete(key);
      await this.#saveTags();
      return id;
    });
  }

  async delete(refOrId: string): Promise<ImageRecord> {
    return this.#serial(async () => {
      const img = this.#resolve(refOrId);
      const rec = this.#record(img);
      let changed = false;
      for (const [ref, id] of [...this.#tags]) {
        if (id === img.stored.id) {
          this.#tags.delete(ref);
          changed = true;
        }
      }
      if (changed) await this.#saveTags();
      this.#images.delete(img.stored.id);
      await rm(join(this.#root, "images", `${digestHex(img.stored.id)}.json`), { force: true });
      return rec;
    });
  }

  async hold<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#gc) await this.#gc.catch(() => undefined);
    const run = fn();
    this.#holds.add(run);
    try {
      return await run;
    } finally {
      this.#holds.delete(run);
    }
  }

  async gcBlobs(): Promise<{ deleted: Digest[]; reclaimedBytes: number }> {
    while (this.#gc) await this.#gc.catch(() => undefined);
    const run = (async () => {
      while (this.#holds.size > 0) await Promise.allSettled([...this.#holds]);
      // Also wait for queued creates/deletes so the reference set is final.
      await this.#serial(async () => undefined);
      const used = new Set<Digest>();
      for (const { stored } of this.#images.values()) {
        used.add(stored.id);
        for (const l of stored.layers) used.add(l.digest);
      }
      const deleted: Digest[] = [];
      let reclaimedBytes = 0;
      for (const blob of await this.content.list()) {
        if (used.has(blob.digest)) continue;
        await this.content.delete(blob.digest);
        deleted.push(blob.digest);
        reclaimedBytes += blob.size;
      }
      return { deleted, reclaimedBytes };
    })();
    this.#gc = run;
    try {
      return await run;
    } finally {
      this.#gc = null;
    }
  }
}

function validateConfig(config: ImageConfig, layers: LayerDescriptor[]): void {
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new InvalidArgumentError("image config must be a JSON object");
  const diffIds = config.rootfs?.diff_ids;
  if (config.rootfs?.type !== "layers" || !Array.isArray(diffIds)) throw new InvalidArgumentError('image config needs rootfs {type: "layers", diff_ids: [...]}');
  if (diffIds.length !== layers.length) {
    throw new InvalidArgumentError(`image config lists ${diffIds.length} diff_ids but ${layers.length} layers were given`);
  }
  diffIds.forEach((d, i) => {
    if (d !== layers[i]!.diffId) throw new InvalidArgumentError(`layer ${i}: diffID ${layers[i]!.diffId} does not match config diff_id ${d}`);
  });
}
