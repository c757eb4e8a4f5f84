import type { Readable } from "node:stream";
import { ConflictError, FailedPreconditionError, NotFoundError } from "../lib/errors.js";
import { openDownload } from "../lib/http-download.js";
import type { Logger } from "../lib/logger.js";
import {
  commitImage,
  familiarName,
  familiarString,
  importRootfs,
  loadImages,
  parseAnyReference,
  parseNormalizedTagged,
  saveImages,
  type ContainerConfig as ImageRuntimeConfig,
  type ImageRecord,
  type ImageStore,
} from "../image/index.js";
import { chainIds, type LayerSource, type Snapshotter } from "../snapshot/index.js";
import type { BlobSources, RegistryClient, RegistryCredentials } from "../distribution/registry-client.js";
import type { ProgressSink } from "../distribution/progress.js";
import type { Platform } from "../distribution/platform.js";
import type { ContainerService } from "./container-service.js";
import type { EventBus } from "./events.js";

export type DeleteResponseItem = { Untagged: string } | { Deleted: string };

/** How the image service reaches registries (absent: pull and push are refused). */
export interface RegistryAccess {
  client: RegistryClient;
  sources: BlobSources;
}

/** One pull or push: who asks, with which credentials, where progress goes. */
export interface TransferOptions {
  credentials?: RegistryCredentials;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/**
 * Image operations that need more than the image store: unpacking layers
 * into the snapshotter as images arrive, refusing to delete images that
 * containers use, committing containers, and emitting image events. It sits
 * in the container layer because it must know about containers.
 */
export class ImageService {
  readonly #images: ImageStore;
  readonly #snapshotter: Snapshotter;
  readonly #events: EventBus;
  readonly #log: Logger;
  readonly #registry: RegistryAccess | undefined;
  #containers: ContainerService | undefined;

  constructor(images: ImageStore, snapshotter: Snapshotter, events: EventBus, log: Logger, registry?: RegistryAccess) {
    this.#images = images;
    this.#snapshotter = snapshotter;
    this.#events = events;
    this.#log = log;
    this.#registry = registry;
  }

  /** The container service is created after this one (it needs images); wired here. */
  attachContainers(containers: ContainerService): void {
    this.#containers = containers;
  }

  get store(): ImageStore {
    return this.#images;
  }

  list(): Promise<ImageRecord[]> {
    return this.#images.list();
  }

  get(ref: string): Promise<ImageRecord> {
    return this.#images.get(ref);
  }

  containersUsing(id: string): number {
    return this.#containers?.usersOfImage(id).length ?? 0;
  }

  async tag(source: string, repo: string, tag: string | undefined): Promise<void> {
    const target = tag ? `${repo}:${tag}` : repo;
    const image = await this.#images.get(source);
    await this.#images.tag(image.id, target);
    this.#events.emit("image", "tag", image.id, { name: familiarString(parseNormalizedTagged(target)) });
  }

  /**
   * Docker's `rmi`: a name that shares its image with other names only loses
   * the tag; otherwise the image goes too, unless a container uses it (409;
   * with `force`, stopped containers do not block, running ones still do).
   */
  async remove(ref: string, opts: { force: boolean }): Promise<DeleteResponseItem[]> {
    const image = await this.#images.get(ref);
    const parsed = parseAnyReference(ref);
    const byName = parsed.kind === "named" && !image.id.includes(ref.replace(/^sha256:/, ""));
    const users = this.#containers?.usersOfImage(image.id) ?? [];
    const out: DeleteResponseItem[] = [];
    if (byName) {
      const name = familiarString(parseNormalizedTagged(ref));
      const others = [...image.repoTags, ...image.repoDigests].filter((r) => r !== name);
      // Docker: the last tag of a repository takes that repository's digest references with it.
      const repo = name.includes("@") ? undefined : familiarName(parseNormalizedTagged(ref));
      const digestRefs = repo !== undefined && !others.some((r) => r.startsWith(`${repo}:`)) ? others.filter((r) => r.startsWith(`${repo}@`)) : [];
      if (others.length > digestRefs.length || (users.length > 0 && opts.force)) {
        const out: DeleteResponseItem[] = [];
        for (const r of [ref, ...digestRefs]) {
          const id = await this.#images.untag(r);
          const untagged = familiarString(parseNormalizedTagged(r));
          this.#events.emit("image", "untag", id, { name: untagged });
          out.push({ Untagged: untagged });
        }
        return out;
      }
    }
    const running = users.filter((c) => c.state.Running);
    if (running.length > 0 && opts.force) {
      throw new ConflictError(`conflict: unable to delete ${shortId(image.id)} (cannot be forced) - image is being used by running container ${shortId(running[0]!.id)}`);
    }
    if (users.length > 0 && !opts.force) {
      if (byName) {
        throw new ConflictError(`conflict: unable to remove repository reference "${ref}" (must force) - container ${shortId(users[0]!.id)} is using its referenced image ${shortId(image.id)}`);
      }
      throw new ConflictError(`conflict: unable to delete ${shortId(image.id)} (must be forced) - image is being used by ${users[0]!.state.Running ? "running" : "stopped"} container ${shortId(users[0]!.id)}`);
    }
    if (!byName && image.repoTags.length > 1 && !opts.force) {
      throw new ConflictError(`conflict: unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`);
    }
    for (const t of [...image.repoTags, ...image.repoDigests]) out.push({ Untagged: t });
    await this.#images.delete(image.id);
    out.push({ Deleted: image.id });
    for (const t of image.repoTags) this.#events.emit("image", "untag", image.id, { name: t });
    this.#events.emit("image", "delete", image.id, { name: image.id });
    await this.#collect();
    return out;
  }

  /** Drops blobs and unpacked layers no image needs any more. */
  async #collect(): Promise<void> {
    try {
      const { deleted } = await this.#images.gcBlobs();
      if (deleted.length) await this.#registry?.sources.forget(deleted);
      const keep = (await this.#images.list()).flatMap((i) => chainIds(i.layers.map((l) => l.diffId)));
      await this.#snapshotter.pruneLayers(keep);
    } catch (err) {
      this.#log.warn(`garbage collection: ${String(err)}`);
    }
  }

  async prune(opts: { all: boolean; filter?: (image: ImageRecord) => boolean }): Promise<{ deleted: DeleteResponseItem[]; reclaimed: number }> {
    const deleted: DeleteResponseItem[] = [];
    for (const image of await this.#images.list()) {
      const dangling = image.repoTags.length === 0;
      if ((!dangling && !opts.all) || this.containersUsing(image.id) > 0) continue;
      if (opts.filter && !opts.filter(image)) continue;
      deleted.push(...(await this.remove(image.id, { force: true }).catch(() => [])));
    }
    return { deleted, reclaimed: 0 };
  }

  /** Loads an archive and unpacks its layers at once, so the first `run` does not pay for it. */
  async load(input: Readable): Promise<string[]> {
    const result = await loadImages(this.#images, input);
    for (const image of result.images) {
      await this.#unpack(image);
      this.#events.emit("image", "load", image.id, { name: image.repoTags[0] ?? image.id });
    }
    return result.loaded;
  }

  /**
   * `docker pull`: fetches the image (see `distribution/pull.ts`), unpacks
   * it before it is tagged, emits `pull`. Nothing is tagged when it fails.
   */
  async pull(ref: string, opts: TransferOptions & { platform?: Platform } = {}): Promise<ImageRecord> {
    const { pullImage } = await import("../distribution/pull.js");
    const registry = this.#requireRegistry();
    const result = await pullImage(ref, {
      client: registry.client,
      images: this.#images,
      sources: registry.sources,
      unpack: (image) => this.#unpack(image), unpackLayer: (parents, layer) => this.#unpackLayer(parents, layer),
      ...opts,
    });
    this.#events.emit("image", "pull", result.image.id, { name: familiarString(result.reference) });
    return result.image;
  }

  /** `docker pull -a`: every tag of the repository `name`. */
  async pullAllTags(name: string, opts: TransferOptions & { platform?: Platform } = {}): Promise<ImageRecord[]> {
    const { pullAllTags } = await import("../distribution/pull.js");
    const registry = this.#requireRegistry();
    const results = await pullAllTags(name, { client: registry.client, images: this.#images, sources: registry.sources, unpack: (image) => this.#unpack(image), unpackLayer: (parents, layer) => this.#unpackLayer(parents, layer), ...opts });
    for (const r of results) this.#events.emit("image", "pull", r.image.id, { name: familiarString(r.reference) });
    return results.map((r) => r.image);
  }

  /** `docker push` of `ref` (`name[:tag]`); records the repo digest and emits `push`. */
  async push(ref: string, opts: TransferOptions = {}): Promise<{ tag: string; digest: string; size: number }> {
    const { pushImage } = await import("../distribution/push.js");
    const registry = this.#requireRegistry();
    const result = await pushImage(ref, { client: registry.client, images: this.#images, sources: registry.sources, ...opts });
    const image = await this.#images.get(ref);
    this.#events.emit("image", "push", image.id, { name: familiarString(parseNormalizedTagged(ref)) });
    return result;
  }

  /** `docker login` through the daemon: checks the credentials against the registry of `server`. */
  async login(server: string, credentials: RegistryCredentials): Promise<void> {
    await this.#requireRegistry().client.login(registryDomain(server), credentials);
  }

  #requireRegistry(): RegistryAccess {
    if (!this.#registry) throw new FailedPreconditionError("this daemon was started without registry access");
    return this.#registry;
  }

  save(refs: string[]): Promise<Readable> {
    return saveImages(this.#images, refs);
  }

  /** `docker import <url>`: the daemon downloads the rootfs tar (gzip'd or not) and imports it. */
  async importUrl(url: string, opts: { ref?: string; changes?: ImageRuntimeConfig; message?: string; signal?: AbortSignal }): Promise<ImageRecord> {
    const { body } = await openDownload(url, opts.signal);
    return this.importRootfs(body, { ...opts, message: opts.message ?? `Imported from ${url}` });
  }

  async importRootfs(input: Readable, opts: { ref?: string; changes?: ImageRuntimeConfig; message?: string }): Promise<ImageRecord> {
    const image = await importRootfs(this.#images, input, opts);
    await this.#unpack(image);
    this.#events.emit("image", "import", image.id, { name: image.repoTags[0] ?? image.id });
    return image;
  }

  /**
   * The container's changes (its upper dir) become a new layer on top of
   * its image. The container is paused meanwhile when `pause` is set.
   */
  async commit(containerRef: string, opts: { ref?: string; author?: string; comment?: string; changes?: Partial<ImageRuntimeConfig>; pause: boolean }): Promise<ImageRecord> {
    const containers = this.#containers!;
    const record = containers.get(containerRef);
    const pause = opts.pause && record.state.Running && !record.state.Paused;
    if (pause) await containers.pause(record.id);
    try {
      const diff = await this.#snapshotter.diff(record.id);
      const base = await this.#images.get(record.image).catch(() => undefined);
      if (!base) throw new NotFoundError(`No such image: ${record.image}`);
      const config = { ...(base.config.config ?? {}), ...runtimeConfigOf(record.config) };
      const image = await commitImage(this.#images, record.image, diff, {
        config,
        changes: opts.changes,
        author: opts.author,
        comment: opts.comment,
        createdBy: [record.path, ...record.args].join(" "),
        ref: opts.ref,
        container: record.id,
      });
      await this.#unpack(image);
      containers.emit(record.id, "commit", { comment: opts.comment ?? "" });
      return image;
    } finally {
      if (pause) await containers.unpause(record.id).catch(() => undefined);
    }
  }

  async #unpackLayer(parents: readonly string[], layer: LayerSource): Promise<void> {
    await this.#snapshotter.prepareLayer(parents, layer);
  }

  async #unpack(image: ImageRecord): Promise<void> {
    const content = this.#images.content;
    await this.#snapshotter.prepareImage(image.layers.map((l) => ({ diffId: l.diffId, open: () => content.readStream(l.digest) })));
  }
}

/** `https://index.docker.io/v1/`, `localhost:5000`, `http://host:5000/` → the domain a reference would name. */
function registryDomain(server: string): string {
  const host = server.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0]!.toLowerCase();
  return host === "" || host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/** What of a container's config an image keeps (Docker's commit merges these). */
function runtimeConfigOf(c: import("./types.js").ContainerConfig): ImageRuntimeConfig {
  return {
    User: c.User,
    ExposedPorts: c.ExposedPorts,
    Env: c.Env,
    Cmd: c.Cmd,
    Entrypoint: c.Entrypoint,
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir,
    Labels: c.Labels,
    StopSignal: c.StopSignal,
  };
}
