import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename, join, posix } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { errnoCode, InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import { resolveInRoot } from "../lib/scoped-path.js";
import { goFileMode, type PathStat } from "../lib/path-stat.js";

/**
 * `docker cp` and `docker export` support: stat, tar out and tar in of paths
 * inside a container's root filesystem. Paths resolve as inside the container
 * (symlinks cannot lead out). https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerArchive
 */
export async function statPath(root: string, path: string, containerName: string): Promise<{ hostPath: string; stat: PathStat; stats: Stats }> {
  const hostPath = await resolveInRoot(root, path, { followFinal: false });
  let stats: Stats;
  try {
    stats = await lstat(hostPath);
  } catch (err) {
    if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") throw new NotFoundError(`Could not find the file ${path} in container ${containerName}`);
    throw err;
  }
  let linkTarget = "";
  if (stats.isSymbolicLink()) {
    const resolved = await resolveInRoot(root, path);
    linkTarget = "/" + posix.relative(root, resolved);
  }
  return {
    hostPath,
    stats,
    stat: { name: basename(path) || "/", size: stats.size, mode: goFileMode(stats), mtime: stats.mtime.toISOString(), linkTarget },
  };
}

/** A tar of `path` whose top entry is named after the path's last component, like Docker's. */
export async function archivePath(root: string, path: string, containerName: string): Promise<{ stat: PathStat; tar: Readable }> {
  // A trailing `/.` or `/` means "the contents": follow a final symlink then.
  const followFinal = path.endsWith("/") || path.endsWith("/.");
  const hostPath = followFinal ? await resolveInRoot(root, path) : (await statPath(root, path, containerName)).hostPath;
  const { stat } = await statPath(root, path, containerName);
  const pack = tar.pack();
  const rebaseTo = path.endsWith("/.") ? "." : basename(hostPath);
  const out = new PassThrough();
  void (async () => {
    try {
      await addTree(pack, hostPath, rebaseTo);
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  pipeline(pack, out).catch((err: unknown) => out.destroy(err as Error));
  return { stat, tar: out };
}

/**
 * `docker export`: the container's whole root filesystem as one tar, names
 * relative to `/` without a `./` prefix, as Docker writes it. Hard links stay
 * links, and device nodes and fifos go in (sockets cannot be archived).
 */
export function exportTree(root: string): Readable {
  const pack = tar.pack();
  const out = new PassThrough();
  void (async () => {
    try {
      const links = new Map<string, string>();
      for (const child of (await readdir(root)).sort()) await addTree(pack, join(root, child), child, links);
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  pipeline(pack, out).catch((err: unknown) => out.destroy(err as Error));
  return out;
}

/**
 * Appends `hostPath` (and, for a directory, everything below it) as `name`.
 * `links` maps `dev:ino` of multiply-linked files already written to their
 * entry name, so a second name becomes a hard link instead of a second copy.
 */
async function addTree(pack: tar.Pack, hostPath: string, name: string, links = new Map<string, string>()): Promise<void> {
  const st = await lstat(hostPath);
  const header: EntryHeader = {
    name,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    mtime: st.mtime,
  };
  if (!st.isDirectory() && st.nlink > 1) {
    const key = `${st.dev}:${st.ino}`;
    const first = links.get(key);
    if (first !== undefined) return entry(pack, { ...header, type: "link", linkname: first });
    links.set(key, name);
  }
  if (st.isDirectory()) {
    await entry(pack, { ...header, type: "directory" });
    for (const child of (await readdir(hostPath)).sort()) await addTree(pack, join(hostPath, child), posix.join(name, child), links);
  } else if (st.isSymbolicLink()) {
    await entry(pack, { ...header, type: "symlink", linkname: await readlink(hostPath) });
  } else if (st.isFile()) {
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ ...header, type: "file", size: st.size }, (err) => (err ? reject(err) : resolve()));
      createReadStream(hostPath).on("error", reject).pipe(sink);
    });
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    const { major, minor } = deviceNumbers(st.rdev);
    await entry(pack, { ...header, type: st.isCharacterDevice() ? "character-device" : "block-device", devmajor: major, devminor: minor });
  } else if (st.isFIFO()) {
    await entry(pack, { ...header, type: "fifo" });
  }
  // Sockets are skipped: tar has no type for them, and Docker's archiver skips them too.
}

/** glibc's `major()`/`minor()` split of a `dev_t` (12-bit major, 20-bit minor in the Linux encoding). */
function deviceNumbers(rdev: number): { major: number; minor: number } {
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev >>> 0;
  return {
    major: ((lo >>> 8) & 0xfff) | ((hi & ~0xfff) >>> 0),
    minor: (lo & 0xff) | ((lo >>> 12) & ~0xff),
  };
}

type EntryHeader = Parameters<tar.Pack["entry"]>[0];

function entry(pack: tar.Pack, header: EntryHeader): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}

/** Where PUT archive extracts: an existing directory inside the container. */
export async function extractionPoint(root: string, path: string, containerName: string): Promise<string> {
  const hostPath = await resolveInRoot(root, path);
  const st = await lstat(hostPath).catch(() => undefined);
  if (!st) throw new NotFoundError(`Could not find the file ${path} in container ${containerName}`);
  if (!st.isDirectory()) throw new InvalidArgumentError(`extraction point is not a directory`);
  return hostPath;
}
