import { randomBytes } from "node:crypto";
import { lstat, mkdir, readFile, readdir, readlink, realpath, rename, rm, stat, symlink } from "node:fs/promises";
import { createHash } from "node:crypto";
import { isAbsolute, join, relative } from "node:path";
import type { Readable } from "node:stream";
import { digestHex } from "../content/digest.js";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError, errnoCode } from "../lib/errors.js";
import { writeJsonAtomic } from "../lib/atomic-file.js";
import { dirUsage } from "../lib/dir-usage.js";
import { chainIds } from "./chain-id.js";
import { run } from "./exec.js";
import { diffUpperDir } from "./layer-diff.js";
import type { LayerSource, RwPaths, Snapshotter } from "./snapshotter.js";
import { unpackLayer } from "./unpack-layer.js";

const idPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** mount(2) takes its data in one page; leave room for the rest of the options. */
const maxMountData = 4000;

/**
 * `Snapshotter` on overlayfs:
 *
 * ```
 * <root>/layers/<chain id hex>/fs          unpacked layer (read-only by convention)
 * <root>/layers/.tmp-<hex>-<random>/       an unpack in progress; wiped by `open`
 * <root>/containers/<id>/lower.json        the lower dirs, bottom first
 * <root>/containers/<id>/{upper,work,merged}
 * <root>/empty/                            the lower dir of an image-less rootfs
 * <root>/l/<short>                         short symlinks to layer dirs, only for very deep images
 * ```
 *
 * Mounts use `index=off,redirect_dir=off,metacopy=off` whatever the kernel
 * defaults are: lower dirs are shared between many overlays (which `index`
 * forbids), and `diff` reads the upper dir as a plain tree, which holds only
 * without redirects and metacopy-only files.
 */
export class OverlaySnapshotter implements Snapshotter {
  readonly #root: string;
  readonly #unpacking = new Map<string, Promise<string>>();

  private constructor(root: string) {
    this.#root = root;
  }

  /** Open (creating if needed) a snapshotter rooted at `root`; removes half-unpacked layers left by a crash. */
  static async open(root: string): Promise<OverlaySnapshotter> {
    await mkdir(root, { recursive: true });
    // mountinfo shows resolved paths; `,` and `:` would break overlay options.
    const real = await realpath(root);
    if (/[,:\\\s]/.test(real)) throw new InvalidArgumentError(`snapshot root ${JSON.stringify(real)} must not contain ',', ':', '\\' or spaces`);
    const s = new OverlaySnapshotter(real);
    for (const d of ["layers", "containers", "empty", "l"]) await mkdir(join(real, d), { recursive: true });
    for (const name of await readdir(join(real, "layers"))) {
      if (name.startsWith(".tmp-")) await rm(join(real, "layers", name), { recursive: true, force: true });
    }
    return s;
  }

  get root(): string {
    return this.#root;
  }

  /** The directory of an unpacked layer, by chain ID (whether or not it exists yet). */
  layerDir(chainId: string): string {
    return join(this.#root, "layers", digestHex(chainId), "fs");
  }

  async prepareImage(layers: readonly LayerSource[]): Promise<string[]> {
    const ids = chainIds(layers.map((l) => l.diffId));
    const dirs: string[] = [];
    for (const [i, layer] of layers.entries()) {
      dirs.push(await this.#ensureLayer(ids[i]!, layer));
    }
    return dirs;
  }

  prepareLayer(parents: readonly string[], layer: LayerSource): Promise<string> {
    return this.#ensureLayer(chainIds([...parents, layer.diffId]).at(-1)!, layer);
  }

  #ensureLayer(chainId: string, layer: LayerSource): Promise<string> {
    const inflight = this.#unpacking.get(chainId);
    if (inflight) return inflight;
    const p = this.#unpack(chainId, layer).finally(() => this.#unpacking.delete(chainId));
    this.#unpacking.set(chainId, p);
    return p;
  }

  async #unpack(chainId: string, layer: LayerSource): Promise<string> {
    const hex = digestHex(chainId);
    const final = join(this.#root, "layers", hex);
    if (await exists(join(final, "fs"))) return join(final, "fs");
    const tmp = join(this.#root, "layers", `.tmp-${hex}-${randomBytes(6).toString("hex")}`);
    await mkdir(join(tmp, "fs"), { recursive: true, mode: 0o755 });
    try {
      const source = await layer.open();
      await unpackLayer(source, join(tmp, "fs"));
      if (layer.verified) {
        // Bytes past the tar's end still have to reach the verifier, or it never finishes.
        source.resume();
        await layer.verified;
      }
      await writeJsonAtomic(join(tmp, "meta.json"), { chainId, diffId: layer.diffId });
      try {
        await rename(tmp, final);
      } catch (err) {
        // Another process unpacked the same layer first; theirs is as good as ours.
        if (errnoCode(err) !== "ENOTEMPTY" && errnoCode(err) !== "EEXIST") throw err;
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return join(final, "fs");
  }

  #dir(id: string): string {
    if (!idPattern.test(id)) throw new InvalidArgumentError(`invalid snapshot id ${JSON.stringify(id)}`);
    return join(this.#root, "containers", id);
  }

  #paths(id: string): RwPaths {
    const dir = this.#dir(id);
    return { upper: join(dir, "upper"), work: join(dir, "work"), merged: join(dir, "merged") };
  }

  async createRw(id: string, lowerDirs: readonly string[]): Promise<RwPaths> {
    const dir = this.#dir(id);
    // All stat()s at once; the first bad dir (in order) is still the one reported.
    const stats = await Promise.all(lowerDirs.map((d) => (isAbsolute(d) ? stat(d).catch(() => null) : null)));
    for (const [i, d] of lowerDirs.entries()) {
      if (!isAbsolute(d)) throw new InvalidArgumentError(`lower dir ${JSON.stringify(d)} is not absolute`);
      if (/[,:\\]/.test(d)) throw new InvalidArgumentError(`lower dir ${JSON.stringify(d)} contains ',', ':' or '\\'`);
      if (!stats[i]?.isDirectory()) throw new NotFoundError(`lower dir ${d} does not exist`);
    }
    try {
      await mkdir(dir);
    } catch (err) {
      if (errnoCode(err) === "EEXIST") throw new AlreadyExistsError(`snapshot ${id} already exists`);
      throw err;
    }
    const paths = this.#paths(id);
    try {
      await Promise.all([mkdir(paths.upper, { mode: 0o755 }), mkdir(paths.work, { mode: 0o700 }), mkdir(paths.merged, { mode: 0o755 })]);
      // Relative to the root when inside it, so a moved data root keeps working.
      await writeJsonAtomic(join(dir, "lower.json"), lowerDirs.map((d) => (d.startsWith(`${this.#root}/`) ? relative(this.#root, d) : d)));
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return paths;
  }

  async #lowerDirs(id: string): Promise<string[]> {
    try {
      const stored = JSON.parse(await readFile(join(this.#dir(id), "lower.json"), "utf8")) as string[];
      return stored.map((d) => (isAbsolute(d) ? d : join(this.#root, d)));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") throw new NotFoundError(`no such snapshot: ${id}`);
      throw err;
    }
  }

  async mount(id: string, opts: { volatile?: boolean } = {}): Promise<string> {
    const paths = this.#paths(id);
    const lowers = await this.#lowerDirs(id);
    if (await this.isMounted(id)) return paths.merged;
    // A volatile mount leaves this behind, and overlayfs refuses to mount the layer again while
    // it is there (after a system crash the upper dir may have lost writes). An unmount, or the
    // daemon dying, loses nothing: the layer mounts again.
    await rm(join(paths.work, "work", "incompat", "volatile"), { recursive: true, force: true });
    // overlay wants the topmost lower first; an image-less rootfs still needs one lower dir.
    const topFirst = lowers.length > 0 ? [...lowers].reverse() : [join(this.#root, "empty")];
    const tail = `index=off,redirect_dir=off,metacopy=off${opts.volatile ? ",volatile" : ""}`;
    let options = `lowerdir=${topFirst.join(":")},upperdir=${paths.upper},workdir=${paths.work},${tail}`;
    let cwd: string | undefined;
    if (options.length > maxMountData) {
      // Paths relative to the root, resolved by the kernel against mount's cwd.
      cwd = this.#root;
      const rel = (p: string) => relative(this.#root, p);
      const upper = rel(paths.upper);
      const work = rel(paths.work);
      let lowerRel = topFirst.map(rel);
      options = `lowerdir=${lowerRel.join(":")},upperdir=${upper},workdir=${work},${tail}`;
      if (options.length > maxMountData) {
        lowerRel = await Promise.all(topFirst.map((p) => this.#shortLink(p)));
        options = `lowerdir=${lowerRel.join(":")},upperdir=${upper},workdir=${work},${tail}`;
      }
      if (options.length > maxMountData) throw new InvalidArgumentError(`too many layers to mount (${lowers.length})`);
    }
    await run("mount", ["-t", "overlay", "overlay", "-o", options, paths.merged], cwd === undefined ? {} : { cwd });
    return paths.merged;
  }

  /** `l/<12 hex>` → the layer dir, like Docker's overlay2 `l/` links, to fit deep images in one page. */
  async #shortLink(target: string): Promise<string> {
    const name = createHash("sha256").update(target).digest("hex").slice(0, 12);
    const link = join(this.#root, "l", name);
    const want = relative(join(this.#root, "l"), target);
    const have = await readlink(link).catch(() => null);
    if (have !== want) {
      await rm(link, { force: true });
      await symlink(want, link);
    }
    return `l/${name}`;
  }

  async unmount(id: string): Promise<void> {
    const { merged } = this.#paths(id);
    if (!(await this.isMounted(id))) return;
    const r = await run("umount", [merged], { allowFailure: true });
    if (r.code !== 0 && (await this.isMounted(id))) {
      // Busy (a process still has its cwd or a file there): detach now, free when released.
      await run("umount", ["-l", merged]);
    }
  }

  async remove(id: string): Promise<void> {
    const dir = this.#dir(id);
    await this.unmount(id);
    await rm(dir, { recursive: true, force: true });
  }

  async isMounted(id: string): Promise<boolean> {
    const { merged } = this.#paths(id);
    return (await mountPoints()).has(merged);
  }

  async exists(id: string): Promise<boolean> {
    return exists(join(this.#dir(id), "lower.json"));
  }

  async paths(id: string): Promise<RwPaths> {
    if (!(await this.exists(id))) throw new NotFoundError(`no such snapshot: ${id}`);
    return this.#paths(id);
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await readdir(join(this.#root, "containers"))) {
      if (idPattern.test(name) && (await exists(join(this.#root, "containers", name, "lower.json")))) out.push(name);
    }
    return out;
  }

  async adoptUpper(id: string, diffIds: readonly string[]): Promise<void> {
    const chainId = chainIds(diffIds).at(-1);
    if (chainId === undefined) throw new InvalidArgumentError("adoptUpper needs the layer's diffID");
    const { upper } = await this.paths(id);
    await this.unmount(id);
    const hex = digestHex(chainId);
    const final = join(this.#root, "layers", hex);
    if (await exists(join(final, "fs"))) return;
    // Built aside and renamed into place whole, as an unpack is: a crash leaves only a .tmp- dir.
    const tmp = join(this.#root, "layers", `.tmp-${hex}-${randomBytes(6).toString("hex")}`);
    await mkdir(tmp, { mode: 0o755 });
    try {
      await rename(upper, join(tmp, "fs"));
      await mkdir(upper, { mode: 0o755 });
      await writeJsonAtomic(join(tmp, "meta.json"), { chainId, diffId: diffIds.at(-1) });
      await run("sync", ["-f", join(tmp, "fs")]);
      try {
        await rename(tmp, final);
      } catch (err) {
        if (errnoCode(err) !== "ENOTEMPTY" && errnoCode(err) !== "EEXIST") throw err;
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  async diff(id: string): Promise<Readable> {
    const { upper } = await this.paths(id);
    return diffUpperDir(upper);
  }

  async usage(id: string): Promise<{ size: number; inodes: number }> {
    return dirUsage((await this.paths(id)).upper);
  }

  async pruneLayers(keep: Iterable<string>): Promise<string[]> {
    const keepHex = new Set([...keep].map((c) => digestHex(c)));
    for (const id of await this.list()) {
      for (const d of await this.#lowerDirs(id)) {
        const m = /\/layers\/([a-f0-9]{64})\/fs$/.exec(d);
        if (m) keepHex.add(m[1]!);
      }
    }
    for (const key of this.#unpacking.keys()) keepHex.add(digestHex(key));
    const removed: string[] = [];
    for (const name of await readdir(join(this.#root, "layers"))) {
      if (!/^[a-f0-9]{64}$/.test(name) || keepHex.has(name)) continue;
      // Rename first so a half-deleted layer is never mistaken for a complete one.
      const doomed = join(this.#root, "layers", `.tmp-${name}-rm-${randomBytes(4).toString("hex")}`);
      await rename(join(this.#root, "layers", name), doomed);
      await rm(doomed, { recursive: true, force: true });
      removed.push(`sha256:${name}`);
    }
    return removed;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw err;
  }
}

/** Mount points of this mount namespace (mountinfo field 5, octal escapes decoded). */
async function mountPoints(): Promise<Set<string>> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const field = line.split(" ")[4];
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}
