import { spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, mkdtemp, open, readdir, readlink, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { basename, join, posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { errnoCode, InvalidArgumentError, UnavailableError } from "../lib/errors.js";
import { resolveInRoot } from "../lib/scoped-path.js";
import { unpackLayer } from "../snapshot/index.js";
import type { ResolvedSource } from "./build-context.js";

/**
 * COPY and ADD into a step's root filesystem (a mounted overlay, private to
 * the step), with Docker's rules for where things land
 * (https://docs.docker.com/reference/dockerfile/#copy):
 *
 * - a directory source copies its contents, not itself;
 * - a file lands at `dest` unless `dest` ends with `/` or is an existing
 *   directory, then at `dest/<name>`; several sources need a `dest/`;
 * - missing parent directories are created (owned like the copied files);
 * - files are owned 0:0 unless `--chown`; `--chmod` sets the mode.
 *
 * Every path is resolved inside the root the way a chrooted process would,
 * so a symlink in the image never leads a write outside the root.
 */
export interface Ownership {
  uid: number;
  gid: number;
}

export interface CopyOptions {
  /** Owner of everything written; undefined keeps the source's owner (`COPY --from`, ADD archives). */
  owner?: Ownership;
  /** `--chmod`, already parsed. */
  mode?: number;
}

/** Where a step's sources go: `dest` resolved against WORKDIR, and whether it names a directory. */
export function destination(dest: string, workdir: string, sourceCount: number, keyword: string): { path: string; isDir: boolean } {
  const isDir = dest.endsWith("/") || dest === "." || dest.endsWith("/.");
  const path = posix.resolve(workdir || "/", dest);
  if (sourceCount > 1 && !isDir) {
    throw new InvalidArgumentError(`When using ${keyword} with more than one source file, the destination must be a directory and end with a /`);
  }
  return { path, isDir };
}

export async function copySources(root: string, sources: ResolvedSource[], dest: { path: string; isDir: boolean }, opts: CopyOptions): Promise<void> {
  for (const source of sources) {
    if (source.isDir) {
      const dir = await ensureDir(root, dest.path, opts.owner);
      await copyChildren(root, source.hostPath, dir, dest.path, opts);
      continue;
    }
    const existing = await lstat(await resolveInRoot(root, dest.path)).catch(() => undefined);
    const into = dest.isDir || existing?.isDirectory() === true;
    const target = into ? posix.join(dest.path, basename(source.hostPath)) : dest.path;
    const parent = await ensureDir(root, posix.dirname(target), opts.owner);
    await copyEntry(root, source.hostPath, parent, posix.basename(target), target, opts);
  }
}

/** Writes one file with the given content (COPY/ADD heredocs, ADD of a URL). */
export async function writeSourceFile(root: string, target: string, content: Readable | string, opts: CopyOptions & { fileMode: number; mtime?: Date }): Promise<void> {
  const parent = await ensureDir(root, posix.dirname(target), opts.owner);
  const hostPath = join(parent, posix.basename(target));
  await removeNonDir(hostPath, target);
  if (typeof content === "string") await writeFile(hostPath, content, { mode: opts.fileMode });
  else await pipeline(content, createWriteStream(hostPath, { mode: opts.fileMode }));
  await chmod(hostPath, opts.mode ?? opts.fileMode);
  const owner = opts.owner ?? { uid: 0, gid: 0 };
  await lchown(hostPath, owner.uid, owner.gid);
  if (opts.mtime) await utimes(hostPath, opts.mtime, opts.mtime);
}

/** `mkdir -p` inside the root; returns the host path of `path` (symlinks resolved inside the root). */
async function ensureDir(root: string, path: string, owner: Ownership | undefined): Promise<string> {
  const parts = posix.normalize(path).split("/").filter(Boolean);
  let current = "/";
  let host = root;
  for (const part of parts) {
    current = posix.join(current, part);
    host = await resolveInRoot(root, current);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw new InvalidArgumentError(`cannot copy to ${path}: ${current} is not a directory`);
    await mkdir(host, { mode: 0o755 });
    const o = owner ?? { uid: 0, gid: 0 };
    await lchown(host, o.uid, o.gid);
  }
  return host;
}

async function copyChildren(root: string, srcDir: string, hostDir: string, containerDir: string, opts: CopyOptions): Promise<void> {
  for (const name of await readdir(srcDir)) {
    await copyEntry(root, join(srcDir, name), hostDir, name, posix.join(containerDir, name), opts);
  }
}

/**
 * Copies `src` to `<hostParent>/<name>`. `hostParent` is already resolved
 * inside the root; an existing symlink at the target is replaced, except
 * for a directory source, where the link is resolved inside the root and
 * merged into, as Docker's extraction into an existing tree does.
 */
async function copyEntry(root: string, src: string, hostParent: string, name: string, containerPath: string, opts: CopyOptions): Promise<void> {
  const st = await lstat(src);
  const target = join(hostParent, name);
  const owner = opts.owner ?? { uid: st.uid, gid: st.gid };
  if (st.isDirectory()) {
    const existing = await lstat(target).catch(() => undefined);
    let dir = target;
    if (existing?.isSymbolicLink()) dir = await resolveInRoot(root, containerPath);
    const resolvedExisting = dir === target ? existing : await lstat(dir).catch(() => undefined);
    if (resolvedExisting && !resolvedExisting.isDirectory()) await rm(dir, { force: true });
    if (!resolvedExisting?.isDirectory()) await mkdir(dir);
    await chmod(dir, opts.mode ?? st.mode & 0o7777);
    await lchown(dir, owner.uid, owner.gid);
    await copyChildren(root, src, dir, containerPath, opts);
    await utimes(dir, st.atime, st.mtime);
    return;
  }
  await removeNonDir(target, containerPath);
  if (st.isSymbolicLink()) {
    await symlink(await readlink(src), target);
    await lchown(target, owner.uid, owner.gid);
    await lutimes(target, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) return; // Sockets, fifos and devices in a context are not carried, as in Docker.
  await copyFile(src, target);
  await chmod(target, opts.mode ?? st.mode & 0o7777);
  await lchown(target, owner.uid, owner.gid);
  await utimes(target, st.atime, st.mtime);
}

async function removeNonDir(hostPath: string, containerPath: string): Promise<void> {
  const existing = await lstat(hostPath).catch(() => undefined);
  if (!existing) return;
  if (existing.isDirectory()) throw new InvalidArgumentError(`cannot overwrite directory ${containerPath} with non-directory`);
  await rm(hostPath, { force: true });
}

/** `--chmod=0755` (octal only, as the classic builder accepts). */
export function parseChmod(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-7]{3,4}$/.test(value)) throw new InvalidArgumentError(`invalid chmod parameter: ${value}`);
  return parseInt(value, 8);
}

type ArchiveKind = "tar" | "gzip" | "bzip2" | "xz";

/** Whether a local ADD source is an archive Docker would extract, by its first bytes (never its name). */
export async function archiveKind(hostPath: string): Promise<ArchiveKind | undefined> {
  const fh = await open(hostPath, "r");
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return "gzip";
    if (b.length >= 3 && b.subarray(0, 3).toString("latin1") === "BZh") return "bzip2";
    if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
    if (b.length >= 262 && b.subarray(257, 262).toString("latin1") === "ustar") return "tar";
    return undefined;
  } finally {
    await fh.close();
  }
}

/**
 * ADD of a local archive: unpacked into a private temp dir first (through the
 * same hardened unpacker as image layers, so `..` or absolute names never
 * escape), then merged into `dest` keeping the archive's owners and modes.
 * bzip2 and xz go through Debian's `bzip2`/`xz` programs.
 */
export async function extractArchive(root: string, hostPath: string, kind: ArchiveKind, destDir: string, scratchDir: string, opts: CopyOptions): Promise<void> {
  const tmp = await mkdtemp(join(scratchDir, "add-"));
  try {
    await unpackLayer(decompress(hostPath, kind), tmp);
    const dir = await ensureDir(root, destDir, opts.owner);
    await copyChildren(root, tmp, dir, destDir, opts);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function decompress(hostPath: string, kind: ArchiveKind): Readable {
  if (kind === "tar") return createReadStream(hostPath);
  if (kind === "gzip") {
    const gunzip = createGunzip();
    const src = createReadStream(hostPath);
    src.on("error", (err) => gunzip.destroy(err));
    return src.pipe(gunzip);
  }
  const tool = kind === "bzip2" ? "bzip2" : "xz";
  const child = spawn(tool, ["-dc", hostPath], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const out = child.stdout;
  child.on("error", (err) => out.destroy(errnoCode(err) === "ENOENT" ? new UnavailableError(`${tool} is not installed`) : err));
  child.on("exit", (code) => {
    if (code !== 0) out.destroy(new InvalidArgumentError(`${tool}: ${stderr.trim() || `exit ${code}`}`));
  });
  return out;
}
