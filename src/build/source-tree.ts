import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, lstat, readdir, readlink } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errnoCode } from "../lib/errors.js";
import { resolveInRoot } from "../lib/scoped-path.js";

/**
 * Where COPY and ADD read from: the build context (a `ContextArchive`, kept
 * as an index over the received tar) or a root filesystem on disk (a
 * `DirectoryTree`: another stage, another image, an unpacked ADD archive).
 * Paths are relative to the tree's root, `/`-separated, "" for the root.
 */
export interface TreeNode {
  type: "file" | "dir" | "symlink" | "other";
  /** Permission bits (incl. setuid/setgid/sticky). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  size: number;
  /** Symlink target, "" otherwise. */
  linkname: string;
}

export interface SourceTree {
  /** lstat of `rel` (not following a final symlink); undefined when missing. */
  stat(rel: string): Promise<TreeNode | undefined>;
  /** Names in directory `rel`, sorted. */
  children(rel: string): Promise<string[]>;
  /** `rel` with every symlink resolved, never leaving the root (like a chrooted lookup). */
  resolve(rel: string): Promise<string>;
  /** Writes file `rel`'s content to `hostPath` (created, mode 0600 until the caller sets it). */
  copyFileTo(rel: string, hostPath: string): Promise<void>;
  /** sha256 (hex) of file `rel`'s content. */
  fileDigest(rel: string): Promise<string>;
  /** A stream of file `rel`'s content. */
  openRead(rel: string): Readable;
}

/** A tree on the host's filesystem, every lookup confined to `root`. */
export class DirectoryTree implements SourceTree {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  #host(rel: string): string {
    return rel === "" ? this.#root : join(this.#root, rel);
  }

  async stat(rel: string): Promise<TreeNode | undefined> {
    // Parents resolved inside the root; the final component as it is.
    const host = rel === "" ? this.#root : join(await resolveInRoot(this.#root, posix.dirname(rel)), posix.basename(rel));
    const st = await lstat(host).catch((err: unknown) => {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
      throw err;
    });
    if (!st) return undefined;
    const type = st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : "other";
    return { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime, size: st.size, linkname: type === "symlink" ? await readlink(host) : "" };
  }

  async children(rel: string): Promise<string[]> {
    return (await readdir(this.#host(rel))).sort();
  }

  async resolve(rel: string): Promise<string> {
    return posix.relative("/", "/" + posix.relative(this.#root, await resolveInRoot(this.#root, rel)));
  }

  async copyFileTo(rel: string, hostPath: string): Promise<void> {
    await copyFile(this.#host(rel), hostPath);
  }

  openRead(rel: string): Readable {
    return createReadStream(this.#host(rel));
  }

  async fileDigest(rel: string): Promise<string> {
    const hash = createHash("sha256");
    await pipeline(createReadStream(this.#host(rel)), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) hash.update(chunk);
    });
    return hash.digest("hex");
  }
}
