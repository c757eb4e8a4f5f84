import type { Readable } from "node:stream";
import { ConflictError, NotFoundError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import {
  commitImage,
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
import { chainIds, type Snapshotter } from "../snapshot/index.js";
import type { ContainerService } from "./container-service.js";
import type { EventBus } from "./events.js";

export type DeleteResponseItem = { Untagged: string } | { Deleted: string };

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
  #containers: ContainerService | undefined;

  constructor(images: ImageStore, snapshotter: Snapshotter, events: EventBus, log: Logger) {
    this.#images = images;
    this.#snapshotter = snapshotter;
    this.#events = events;
    this.#log = log;
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
    if (byName && (image.repoTags.length + image.repoDigests.length > 1 || (users.length > 0 && opts.force))) {
      const id = await this.#images.untag(ref);
      const name = familiarString(parseNormalizedTagged(ref));
      this.#events.emit("image", "untag", id, { name });
      return [{ Untagged: name }];
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
      await this.#images.gcBlobs();
      const keep = (await this.#images.list()).flatMap((i) => chainIds(i.layers.map((l) => l.diffId)));
      await this.#snapshotter.pruneLayers(keep);
    } catch (err) {
      this.#log.warn(`garbage collection: ${String(err)}`);
    }
  }

  async prune(opts: { all: boolean }): Promise<{ deleted: DeleteResponseItem[]; reclaimed: number }> {
    const deleted: DeleteResponseItem[] = [];
    for (const image of await this.#images.list()) {
      const dangling = image.repoTags.length === 0;
      if ((!dangling && !opts.all) || this.containersUsing(image.id) > 0) continue;
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

  save(refs: string[]): Promise<Readable> {
    return saveImages(this.#images, refs);
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

  async #unpack(image: ImageRecord): Promise<void> {
    const content = this.#images.content;
    await this.#snapshotter.prepareImage(image.layers.map((l) => ({ diffId: l.diffId, open: () => content.readStream(l.digest) })));
  }
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
