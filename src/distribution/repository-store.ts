import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import type { Digest } from "../content/content-store.js";
import { digestHex } from "../content/digest.js";
import { writeFileAtomic } from "../lib/atomic-file.js";
import { errnoCode, InvalidArgumentError } from "../lib/errors.js";
import { isRepositoryName, isSha256Digest, isTag } from "./names.js";
import type { ManifestLink, ReferrerDescriptor, RepositoryStore } from "./registry-server.js";

const hexName = /^[a-f0-9]{64}$/;
const componentName = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

/**
 * `RepositoryStore` on disk, under `<root>/repositories/<name>/`:
 * `_blobs/<hex>` (empty), `_manifests/<hex>` (`{mediaType,size}`),
 * `_tags/<tag>` (`{digest}`), `_referrers/<subject hex>/<hex>` (descriptor).
 * Each record is one file written atomically, so a crash loses at most the
 * record being written. Names start with `_` because no repository path
 * component can.
 */
export class FileRepositoryStore implements RepositoryStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root, "repositories");
  }

  /** The repository's directory; refuses anything that is not a valid name (or would leave the root). */
  #dir(name: string): string {
    if (!isRepositoryName(name)) throw new InvalidArgumentError(`invalid repository name ${JSON.stringify(name)}`);
    const dir = resolve(this.#root, ...name.split("/"));
    if (!dir.startsWith(this.#root + sep)) throw new InvalidArgumentError(`repository name ${JSON.stringify(name)} leaves the root`);
    return dir;
  }

  #blobLink(name: string, digest: Digest): string {
    return join(this.#dir(name), "_blobs", digestHex(digest));
  }

  #manifestLink(name: string, digest: Digest): string {
    return join(this.#dir(name), "_manifests", digestHex(digest));
  }

  #tagFile(name: string, tag: string): string {
    if (!isTag(tag)) throw new InvalidArgumentError(`invalid tag ${JSON.stringify(tag)}`);
    return join(this.#dir(name), "_tags", tag);
  }

  async exists(name: string): Promise<boolean> {
    const dir = this.#dir(name);
    return (await hasEntries(join(dir, "_manifests"))) || (await hasEntries(join(dir, "_blobs")));
  }

  async catalog(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      if (prefix && ((await hasEntries(join(dir, "_manifests"))) || (await hasEntries(join(dir, "_blobs"))))) out.push(prefix);
      for (const e of await readdirOrEmpty(dir)) {
        // Only path components can be repositories; `_…` are a repository's own records.
        if (!componentName.test(e)) continue;
        const name = prefix ? `${prefix}/${e}` : e;
        if (name.length <= 255) await walk(join(dir, e), name);
      }
    };
    await walk(this.#root, "");
    return out.sort();
  }

  async hasBlob(name: string, digest: Digest): Promise<boolean> {
    return isFile(this.#blobLink(name, digest));
  }

  async linkBlob(name: string, digest: Digest): Promise<void> {
    const path = this.#blobLink(name, digest);
    if (await isFile(path)) return;
    await writeFileAtomic(path, "");
  }

  async unlinkBlob(name: string, digest: Digest): Promise<void> {
    await rm(this.#blobLink(name, digest), { force: true });
  }

  async manifest(name: string, digest: Digest): Promise<ManifestLink | undefined> {
    const raw = await readOrUndefined(this.#manifestLink(name, digest));
    if (raw === undefined) return undefined;
    const rec = JSON.parse(raw) as { mediaType: string; size: number };
    return { digest, mediaType: rec.mediaType, size: rec.size };
  }

  async linkManifest(name: string, link: ManifestLink): Promise<void> {
    await writeFileAtomic(this.#manifestLink(name, link.digest), JSON.stringify({ mediaType: link.mediaType, size: link.size }));
  }

  async unlinkManifest(name: string, digest: Digest): Promise<void> {
    const dir = this.#dir(name);
    for (const tag of await this.tags(name)) {
      if ((await this.tag(name, tag)) === digest) await rm(this.#tagFile(name, tag), { force: true });
    }
    const hex = digestHex(digest);
    for (const subject of await readdirOrEmpty(join(dir, "_referrers"))) {
      if (hexName.test(subject)) await rm(join(dir, "_referrers", subject, hex), { force: true });
    }
    await rm(this.#manifestLink(name, digest), { force: true });
  }

  async manifests(name: string): Promise<ManifestLink[]> {
    const out: ManifestLink[] = [];
    for (const e of await readdirOrEmpty(join(this.#dir(name), "_manifests"))) {
      if (!hexName.test(e)) continue;
      const link = await this.manifest(name, `sha256:${e}`);
      if (link) out.push(link);
    }
    return out;
  }

  async tag(name: string, tag: string): Promise<Digest | undefined> {
    const raw = await readOrUndefined(this.#tagFile(name, tag));
    if (raw === undefined) return undefined;
    const digest = (JSON.parse(raw) as { digest?: unknown }).digest;
    return typeof digest === "string" && isSha256Digest(digest) ? digest : undefined;
  }

  async setTag(name: string, tag: string, digest: Digest): Promise<void> {
    await writeFileAtomic(this.#tagFile(name, tag), JSON.stringify({ digest }));
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    const path = this.#tagFile(name, tag);
    if (!(await isFile(path))) return false;
    await rm(path, { force: true });
    return true;
  }

  async tags(name: string): Promise<string[]> {
    // isTag also skips writeFileAtomic's `.tmp-…` leftovers: a tag cannot start with a dot.
    return (await readdirOrEmpty(join(this.#dir(name), "_tags"))).filter(isTag).sort();
  }

  async addReferrer(name: string, subject: Digest, descriptor: ReferrerDescriptor): Promise<void> {
    const dir = join(this.#dir(name), "_referrers", digestHex(subject));
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, digestHex(descriptor.digest)), JSON.stringify(descriptor));
  }

  async referrers(name: string, subject: Digest): Promise<ReferrerDescriptor[]> {
    const dir = join(this.#dir(name), "_referrers", digestHex(subject));
    const out: ReferrerDescriptor[] = [];
    for (const e of (await readdirOrEmpty(dir)).sort()) {
      if (!hexName.test(e)) continue;
      // An entry outlives its manifest only if a crash fell between the two removals.
      if (!(await isFile(this.#manifestLink(name, `sha256:${e}`)))) continue;
      const raw = await readOrUndefined(join(dir, e));
      if (raw !== undefined) out.push(JSON.parse(raw) as ReferrerDescriptor);
    }
    return out;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return [];
    throw err;
  }
}

async function hasEntries(dir: string): Promise<boolean> {
  return (await readdirOrEmpty(dir)).some((e) => hexName.test(e));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return false;
    throw err;
  }
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
    throw err;
  }
}
