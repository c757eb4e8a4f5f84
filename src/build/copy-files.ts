import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { chmod, lchown, lstat, lutimes, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { errnoCode, InvalidArgumentError, UnavailableError } from "../lib/errors.js";
import { resolveInRoot } from "../lib/scoped-path.js";
import { unpackLayer } from "../snapshot/index.js";
import type { ResolvedSource } from "./source-paths.js";
import { DirectoryTree, type SourceTree } from "./source-tree.js";

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

export async function copySources(root: string, tree: SourceTree, sources: ResolvedSource[], dest: { path: string; isDir: boolean }, opts: CopyOptions): Promise<void> {
  for (const source of sources) {
    if (source.isDir) {
      const dir = await ensureDir(root, dest.path, opts.owner);
      await copyChildren(root, tree, source.rel, dir, dest.path, opts);
      continue;
    }
    const existing = await lstat(await resolveInRoot(root, dest.path)).catch(() => undefined);
    const into = dest.isDir || existing?.isDirectory() === true;
    const target = into ? posix.join(dest.path, posix.basename(source.rel)) : dest.path;
    const parent = await ensureDir(root, posix.dirname(target), opts.owner);
    await copyEntry(root, tree, source.rel, parent, posix.basename(target), target, opts);
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

/** Files of one directory copied this many at a time: one by one, syscall latency dominates. */
const parallelFiles = 32;

async function copyChildren(root: string, tree: SourceTree, rel: string, hostDir: string, containerDir: string, opts: CopyOptions): Promise<void> {
  const names = await tree.children(rel);
  const childRel = (name: string) => (rel ? `${rel}/${name}` : name);
  const nodes = await Promise.all(names.map((n) => tree.stat(childRel(n))));
  // Each name is its own target, so siblings never race; subdirectories go one at a time to bound the fan-out.
  const files = names.filter((_, i) => nodes[i]?.type !== "dir");
  for (let i = 0; i < files.length; i += parallelFiles) {
    await Promise.all(files.slice(i, i + parallelFiles).map((n) => copyEntry(root, tree, childRel(n), hostDir, n, posix.join(containerDir, n), opts)));
  }
  for (const [i, n] of names.entries()) {
    if (nodes[i]?.type === "dir") await copyEntry(root, tree, childRel(n), hostDir, n, posix.join(containerDir, n), opts);
  }
}

/**
 * Copies `rel` of `tree` to `<hostParent>/<name>`. `hostParent` is already
 * resolved inside the root; an existing symlink at the target is replaced,
 * except for a directory source, where the link is resolved inside the root
 * and merged into, as Docker's extraction into an existing tree does.
 */
async function copyEntry(root: string, tree: SourceTree, rel: string, hostParent: string, name: string, containerPath: string, opts: CopyOptions): Promise<void> {
  const st = (await tree.stat(rel))!;
  const target = join(hostParent, name);
  const owner = opts.owner ?? { uid: st.uid, gid: st.gid };
  if (st.type === "dir") {
    const existing = await lstat(target).catch(() => undefined);
    let dir = target;
    if (existing?.isSymbolicLink()) dir = await resolveInRoot(root, containerPath);
    const resolvedExisting = dir === target ? existing : await lstat(dir).catch(() => undefined);
    if (resolvedExisting && !resolvedExisting.isDirectory()) await rm(dir, { force: true });
    if (!resolvedExisting?.isDirectory()) await mkdir(dir);
    await chmod(dir, opts.mode ?? st.mode);
    await lchown(dir, owner.uid, owner.gid);
    await copyChildren(root, tree, rel, dir, containerPath, opts);
    await utimes(dir, st.mtime, st.mtime);
    return;
  }
  if (st.type === "other") return; // Sockets, fifos and devices are not carried, as in Docker.
  await removeNonDir(target, containerPath);
  if (st.type === "symlink") {
    await symlink(st.linkname, target);
    await lchown(target, owner.uid, owner.gid);
    await lutimes(target, st.mtime, st.mtime);
    return;
  }
  await tree.copyFileTo(rel, target);
  await chmod(target, opts.mode ?? st.mode);
  await lchown(target, owner.uid, owner.gid);
  await utimes(target, st.mtime, st.mtime);
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

/** Whether an ADD source is an archive Docker would extract, by its first bytes (never its name). */
export async function archiveKind(tree: SourceTree, rel: string): Promise<ArchiveKind | undefined> {
  const head = await readHead(tree.openRead(rel), 512);
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 3 && head.subarray(0, 3).toString("latin1") === "BZh") return "bzip2";
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "xz";
  if (head.length >= 262 && head.subarray(257, 262).toString("latin1") === "ustar") return "tar";
  return undefined;
}

async function readHead(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    have += chunk.length;
    if (have >= n) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, n);
}

/**
 * ADD of a local archive: unpacked into a private temp dir first (through the
 * same hardened unpacker as image layers, so `..` or absolute names never
 * escape), then merged into `dest` keeping the archive's owners and modes.
 * bzip2 and xz go through Debian's `bzip2`/`xz` programs.
 */
export async function extractArchive(root: string, tree: SourceTree, rel: string, kind: ArchiveKind, destDir: string, scratchDir: string, opts: CopyOptions): Promise<void> {
  const tmp = await mkdtemp(join(scratchDir, "add-"));
  try {
    await unpackLayer(decompress(tree.openRead(rel), kind), tmp);
    const dir = await ensureDir(root, destDir, opts.owner);
    await copyChildren(root, new DirectoryTree(tmp), "", dir, destDir, opts);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function decompress(source: Readable, kind: ArchiveKind): Readable {
  if (kind === "tar") return source;
  if (kind === "gzip") {
    const gunzip = createGunzip();
    source.on("error", (err) => gunzip.destroy(err));
    return source.pipe(gunzip);
  }
  const tool = kind === "bzip2" ? "bzip2" : "xz";
  const child = spawn(tool, ["-dc"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const out = new PassThrough();
  source.on("error", (err) => out.destroy(err));
  child.stdin.on("error", () => undefined); // a tool that quits early closes its stdin; its exit code tells why
  source.pipe(child.stdin);
  child.stdout.pipe(out);
  child.on("error", (err) => out.destroy(errnoCode(err) === "ENOENT" ? new UnavailableError(`${tool} is not installed`) : err));
  child.on("exit", (code) => {
    if (code !== 0) out.destroy(new InvalidArgumentError(`${tool}: ${stderr.trim() || `exit ${code}`}`));
  });
  return out;
}
