import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { writeJsonAtomic } from "../lib/atomic-file.js";
import { dirUsage } from "../lib/dir-usage.js";
import { ConflictError, errnoCode, InvalidArgumentError, NotFoundError } from "../lib/errors.js";

/** A named volume (`docker volume`), local driver: a directory under `<data-root>/volumes/<name>/_data`. */
export interface Volume {
  Name: string;
  Driver: "local";
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: "local";
  Options: Record<string, string>;
  /** Created for one container from an image's VOLUME (removed with `rm -v`). */
  anonymous: boolean;
}

const validVolumeName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class VolumeStore {
  readonly #root: string;
  /** Which containers use each volume, filled by the container service (volumes in use cannot be removed). */
  readonly #users = new Map<string, Set<string>>();

  constructor(root: string) {
    this.#root = root;
  }

  async init(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
  }

  /** Creates the volume, or returns the existing one with that name (Docker's create is idempotent). */
  async create(name: string | undefined, opts: { labels?: Record<string, string>; anonymous?: boolean } = {}): Promise<Volume> {
    const volName = name && name !== "" ? name : randomBytes(32).toString("hex");
    if (!validVolumeName.test(volName)) {
      throw new InvalidArgumentError(`create ${volName}: "${volName}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    }
    try {
      return await this.get(volName);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    const dir = join(this.#root, volName);
    await mkdir(join(dir, "_data"), { recursive: true });
    const volume: Volume = {
      Name: volName,
      Driver: "local",
      Mountpoint: join(dir, "_data"),
      CreatedAt: new Date().toISOString(),
      Labels: opts.labels ?? {},
      Scope: "local",
      Options: {},
      anonymous: opts.anonymous ?? false,
    };
    await writeJsonAtomic(join(dir, "volume.json"), volume);
    return volume;
  }

  async get(name: string): Promise<Volume> {
    if (!validVolumeName.test(name)) throw new NotFoundError(`get ${name}: no such volume`);
    try {
      return JSON.parse(await readFile(join(this.#root, name, "volume.json"), "utf8")) as Volume;
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFoundError(`get ${name}: no such volume`);
      throw err;
    }
  }

  async list(): Promise<Volume[]> {
    const out: Volume[] = [];
    for (const name of await readdir(this.#root)) {
      try {
        out.push(await this.get(name));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    return out;
  }

  async remove(name: string, force = false): Promise<void> {
    const users = this.#users.get(name);
    if (users && users.size > 0 && !force) {
      throw new ConflictError(`remove ${name}: volume is in use - [${[...users].join(", ")}]`);
    }
    await this.get(name);
    await rm(join(this.#root, name), { recursive: true, force: true });
  }

  /**
   * Removes volumes no container uses, only anonymous ones unless `all`
   * (Docker 23+ spares named volumes by default); returns their names and the
   * bytes they held.
   */
  async prune(opts: { all: boolean; filter?: (v: Volume) => boolean }): Promise<{ removed: string[]; reclaimed: number }> {
    const removed: string[] = [];
    let reclaimed = 0;
    for (const v of await this.list()) {
      if (this.refCount(v.Name) > 0 || (!opts.all && !v.anonymous)) continue;
      if (opts.filter && !opts.filter(v)) continue;
      const size = await this.size(v.Name).catch(() => 0);
      await this.remove(v.Name);
      removed.push(v.Name);
      reclaimed += size;
    }
    return { removed, reclaimed };
  }

  /** How many containers mount the volume (Docker's `UsageData.RefCount`). */
  refCount(name: string): number {
    return this.#users.get(name)?.size ?? 0;
  }

  /** Bytes stored in the volume (Docker's `UsageData.Size`). `NotFoundError` for an unknown one. */
  async size(name: string): Promise<number> {
    const v = await this.get(name);
    return (await dirUsage(v.Mountpoint)).size;
  }

  use(name: string, containerId: string): void {
    let set = this.#users.get(name);
    if (!set) this.#users.set(name, (set = new Set()));
    set.add(containerId);
  }

  release(name: string, containerId: string): void {
    this.#users.get(name)?.delete(containerId);
  }

  usersOf(name: string): number {
    return this.#users.get(name)?.size ?? 0;
  }

  async exists(path: string): Promise<boolean> {
    return stat(path).then(() => true, () => false);
  }
}
