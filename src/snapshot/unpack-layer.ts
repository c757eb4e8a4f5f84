import { lstat, mkdir, open, readlink, rm, symlink, link, lchown, lutimes, chmod, chown, utimes } from "node:fs/promises";
import { constants } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { decompressed } from "../content/compression.js";
import { tarEntries } from "../content/tar-entries.js";
import type { TarHeader } from "../content/tar-entries.js";
import { InvalidArgumentError, errnoCode } from "../lib/errors.js";
import { run } from "./exec.js";

/**
 * Unpack one OCI layer tar (plain or gzip'd) into `dest`, an existing empty
 * directory that nobody else uses yet (the snapshotter's temp dir), in the
 * form overlayfs wants for a lower layer
 * (https://github.com/opencontainers/image-spec/blob/main/layer.md):
 *
 * - `.wh.<name>` becomes an overlay whiteout (char device 0:0) at `<name>`,
 *   `.wh..wh..opq` marks its directory opaque (`trusted.overlay.opaque=y`);
 *   other `.wh..wh.*` (aufs bookkeeping) are ignored.
 * - Modes (incl. setuid/setgid/sticky), uid/gid, mtimes and symlinks are kept;
 *   hardlinks must point inside the layer.
 *
 * Security: no entry ever writes outside `dest`. Names are cleaned lexically
 * and any `..` that climbs above the root fails the whole layer
 * (`InvalidArgumentError`), like Docker's "breakout" check. Absolute names
 * are taken relative to `dest`. Parent directories are resolved component by
 * component the way a chroot would: symlinks (absolute or relative) are
 * followed but re-rooted at `dest` and `..` is clamped at it, so a layer that
 * plants `link -> /` and then writes `link/etc/x` writes `dest/etc/x`. The
 * entry's own final component is never followed: whatever is there is
 * removed and replaced. Hardlink targets are resolved the same way. This is
 * sound because `dest` is private while we unpack: only this tar changes it.
 *
 * Node has no mknod/setxattr, so device nodes, FIFOs, whiteouts and opaque
 * markers are collected and made at the end by one `sh -c` per layer (paths
 * as positional arguments, never interpolated), then metadata and directory
 * mtimes are applied. Data is not fsync'd per file: one `sync -f` at the end
 * makes the layer durable before the caller renames it into place.
 */
export async function unpackLayer(source: Readable, dest: string): Promise<UnpackStats> {
  const { stream } = await decompressed(source);
  const state = new UnpackState(dest);
  try {
    for await (const { header, stream: body } of tarEntries(stream)) {
      await state.entry(header, body);
    }
    await state.finish();
  } catch (err) {
    await state.abort();
    throw err;
  }
  return state.stats;
}

export interface UnpackStats {
  entries: number;
  /** Bytes of regular file data written. */
  bytes: number;
}

/**
 * Work deferred to the end of the layer. It names its target by entry path
 * components, not by the absolute path seen when queued: a later entry may
 * replace a parent with a symlink, so the path is resolved again (inside the
 * root) when the work is done.
 */
type Special =
  | { kind: "whiteout"; parts: string[] }
  | { kind: "opaque"; parts: string[] }
  | { kind: "char" | "block"; parts: string[]; major: number; minor: number; header: TarHeader }
  | { kind: "fifo"; parts: string[]; header: TarHeader };

const maxSymlinkHops = 40;
/** Files up to this size are read into memory and written in the background, a few at a time. */
const smallFileMax = 1 << 20;
const maxInFlight = 16;

/** Split a tar member name into clean components; throws when `..` climbs out of the root. */
export function cleanEntryPath(name: string): string[] {
  const parts: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (parts.length === 0) throw new InvalidArgumentError(`invalid tar entry ${JSON.stringify(name)}: path escapes the layer root`);
      parts.pop();
      continue;
    }
    if (c.includes("\0")) throw new InvalidArgumentError(`invalid tar entry ${JSON.stringify(name)}: NUL in name`);
    parts.push(c);
  }
  return parts;
}

class UnpackState {
  readonly stats: UnpackStats = { entries: 0, bytes: 0 };
  readonly #root: string;
  /** Resolved real directory of a parent path (joined components) → absolute path. Cleared on any removal. */
  #dirCache = new Map<string, string>();
  readonly #specials: Special[] = [];
  readonly #dirs: { parts: string[]; header: TarHeader }[] = [];
  /**
   * Small-file writes still running. Creating files is I/O-latency bound, so
   * several go at once; anything that could change what their paths resolve
   * to (a removal, a symlink, a hardlink, the same name again) waits for all
   * of them first (`#flush`).
   */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #inFlightPaths = new Set<string>();
  #writeError: unknown = null;

  constructor(root: string) {
    this.#root = root;
  }

  async entry(header: TarHeader, body: Readable): Promise<void> {
    this.stats.entries++;
    const parts = cleanEntryPath(header.name);
    if (parts.length === 0) {
      // The layer root itself ("./"): keep its metadata, nothing to create.
      if (header.type === "directory") {
        await this.#applyOwnerMode(this.#root, header);
        this.#dirs.push({ parts: [], header });
      }
      return;
    }
    const base = parts[parts.length - 1]!;
    const parentDir = await this.#resolveDir(parts.slice(0, -1), true, header.name);

    if (base.startsWith(".wh.")) {
      if (base === ".wh..wh..opq") {
        this.#specials.push({ kind: "opaque", parts: parts.slice(0, -1) });
      } else if (!base.startsWith(".wh..wh.")) {
        const victim = base.slice(".wh.".length);
        if (victim === "" || victim === "." || victim === "..") throw new InvalidArgumentError(`invalid whiteout ${JSON.stringify(header.name)}`);
        await this.#remove(join(parentDir, victim));
        this.#specials.push({ kind: "whiteout", parts: [...parts.slice(0, -1), victim] });
      }
      return;
    }

    const target = join(parentDir, base);
    if (header.type !== "file" && header.type !== "contiguous-file") await this.#flush();
    else if (this.#inFlightPaths.has(target)) await this.#flush();
    const existing = await lstatOrNull(target);
    if (existing && !(existing.isDirectory() && header.type === "directory")) await this.#remove(target);

    switch (header.type) {
      case "directory":
        if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
        await this.#applyOwnerMode(target, header);
        this.#dirs.push({ parts, header });
        break;
      case "file":
      case "contiguous-file":
        if ((header.size ?? 0) <= smallFileMax) {
          const data = await readBody(body);
          while (this.#inFlight.size >= maxInFlight) await Promise.race(this.#inFlight);
          if (this.#writeError !== null) throw this.#writeError;
          this.#inFlightPaths.add(target);
          const p: Promise<void> = this.#writeFile(target, header, Readable.from([data]))
            .catch((err: unknown) => {
              this.#writeError ??= err;
            })
            .finally(() => {
              this.#inFlight.delete(p);
              this.#inFlightPaths.delete(target);
            });
          this.#inFlight.add(p);
        } else {
          await this.#writeFile(target, header, body);
        }
        break;
      case "symlink":
        if (header.linkname === null) throw new InvalidArgumentError(`symlink ${JSON.stringify(header.name)} has no target`);
        await symlink(header.linkname, target);
        await lchown(target, header.uid ?? 0, header.gid ?? 0);
        await lutimes(target, header.mtime ?? new Date(0), header.mtime ?? new Date(0));
        break;
      case "link": {
        if (!header.linkname) throw new InvalidArgumentError(`hardlink ${JSON.stringify(header.name)} has no target`);
        const src = await this.#resolveLinkTarget(header.linkname, header.name);
        await link(src, target);
        break;
      }
      case "character-device":
      case "block-device":
        this.#specials.push({ kind: header.type === "character-device" ? "char" : "block", parts, major: header.devmajor ?? 0, minor: header.devminor ?? 0, header });
        break;
      case "fifo":
        this.#specials.push({ kind: "fifo", parts, header });
        break;
      default:
        // Sockets and unknown types carry no data worth keeping.
        this.stats.entries--;
        break;
    }
  }

  async #writeFile(target: string, header: TarHeader, body: Readable): Promise<void> {
    // O_EXCL|O_NOFOLLOW: the name was just cleared; never write through anything found there.
    const fh = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        let off = 0;
        while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
        this.stats.bytes += buf.length;
      }
      await fh.chown(header.uid ?? 0, header.gid ?? 0);
      // After chown, which clears setuid/setgid.
      await fh.chmod((header.mode ?? 0o644) & 0o7777);
      await fh.utimes(header.mtime ?? new Date(0), header.mtime ?? new Date(0));
    } finally {
      await fh.close();
    }
  }

  async #applyOwnerMode(path: string, header: TarHeader): Promise<void> {
    await chown(path, header.uid ?? 0, header.gid ?? 0);
    await chmod(path, (header.mode ?? 0o755) & 0o7777);
  }

  /** Wait for every background write; rethrow the first failure. */
  async #flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    if (this.#writeError !== null) throw this.#writeError;
  }

  /** On failure: let background writes settle so nothing writes after the caller cleans up. */
  async abort(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async #remove(path: string): Promise<void> {
    await this.#flush();
    const st = await lstatOrNull(path);
    if (!st) return;
    this.#dirCache.clear();
    await rm(path, { recursive: true, force: true });
  }

  /**
   * The real directory that `parts` names inside the root, following
   * symlinks as if the root were `/`. Missing directories are created (0755,
   * root-owned, as Docker does) when `create`; a non-directory on the way is an
   * `InvalidArgumentError`.
   */
  async #resolveDir(parts: string[], create: boolean, entryName: string): Promise<string> {
    const key = parts.join("/");
    const cached = this.#dirCache.get(key);
    if (cached !== undefined) return cached;
    let stack: string[] = [];
    const queue = [...parts];
    let hops = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        stack.pop(); // clamped at the root, like a chroot
        continue;
      }
      const p = join(this.#root, ...stack, c);
      const st = await lstatOrNull(p);
      if (st === null) {
        if (!create) throw new InvalidArgumentError(`tar entry ${JSON.stringify(entryName)}: ${[...stack, c].join("/")} does not exist in the layer`);
        try {
          await mkdir(p, { mode: 0o755 });
        } catch (err) {
          if (errnoCode(err) !== "EEXIST") throw err;
          // A small file of an earlier entry was still being written there: finish it and look again.
          await this.#flush();
          queue.unshift(c);
          continue;
        }
        stack.push(c);
      } else if (st.isSymbolicLink()) {
        if (++hops > maxSymlinkHops) throw new InvalidArgumentError(`tar entry ${JSON.stringify(entryName)}: too many levels of symbolic links`);
        const to = await readlink(p);
        if (to.startsWith("/")) stack = [];
        queue.unshift(...to.split("/"));
      } else if (st.isDirectory()) {
        stack.push(c);
      } else {
        throw new InvalidArgumentError(`tar entry ${JSON.stringify(entryName)}: ${[...stack, c].join("/")} is not a directory`);
      }
    }
    const dir = join(this.#root, ...stack);
    this.#dirCache.set(key, dir);
    return dir;
  }

  /** A hardlink's source: parents resolved inside the root, the last component taken as is (link(2) does not follow it). */
  async #resolveLinkTarget(linkname: string, entryName: string): Promise<string> {
    const parts = cleanEntryPath(linkname);
    if (parts.length === 0) throw new InvalidArgumentError(`hardlink ${JSON.stringify(entryName)} points at the layer root`);
    const dir = await this.#resolveDir(parts.slice(0, -1), false, entryName);
    const src = join(dir, parts[parts.length - 1]!);
    const st = await lstatOrNull(src);
    if (!st) throw new InvalidArgumentError(`hardlink ${JSON.stringify(entryName)} -> ${JSON.stringify(linkname)}: target is not in the layer`);
    if (st.isDirectory()) throw new InvalidArgumentError(`hardlink ${JSON.stringify(entryName)} -> ${JSON.stringify(linkname)}: target is a directory`);
    return src;
  }

  /**
   * Where deferred work on `parts` lands now: resolved inside the root again,
   * or null when the path no longer leads anywhere sensible (a later entry
   * replaced a parent by a file); such work is dropped.
   */
  async #locate(parts: string[]): Promise<string | null> {
    if (parts.length === 0) return this.#root;
    try {
      return join(await this.#resolveDir(parts.slice(0, -1), false, parts.join("/")), parts[parts.length - 1]!);
    } catch (err) {
      if (err instanceof InvalidArgumentError) return null;
      throw err;
    }
  }

  async finish(): Promise<void> {
    await this.#flush();
    const made: { path: string; header: TarHeader }[] = [];
    const args: string[][] = [];
    for (const s of this.#specials) {
      const path = s.kind === "opaque" ? await this.#locateDir(s.parts) : await this.#locate(s.parts);
      if (path === null) continue;
      if (s.kind === "opaque") args.push(["o", path]);
      else if (s.kind === "whiteout") args.push(["w", path]);
      else {
        args.push(s.kind === "fifo" ? ["p", path] : [s.kind === "char" ? "c" : "b", path, String(s.major), String(s.minor)]);
        made.push({ path, header: s.header });
      }
    }
    await makeSpecials(args);
    for (const { path, header } of made) {
      // Only what mknod made: a symlink left there by a malformed layer is never followed.
      const st = await lstatOrNull(path);
      if (!st || !(st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO())) continue;
      await lchown(path, header.uid ?? 0, header.gid ?? 0);
      await chmod(path, (header.mode ?? 0o644) & 0o7777);
      await lutimes(path, header.mtime ?? new Date(0), header.mtime ?? new Date(0));
    }
    // Last, since creating anything inside a directory bumps its mtime.
    for (const { parts, header } of this.#dirs) {
      const path = await this.#locate(parts);
      if (path === null) continue;
      const st = await lstatOrNull(path);
      if (!st?.isDirectory()) continue;
      await utimes(path, header.mtime ?? new Date(0), header.mtime ?? new Date(0));
    }
    await run("sync", ["-f", this.#root]);
  }

  /** `#locate` for a directory that must still be a real directory (opaque markers). */
  async #locateDir(parts: string[]): Promise<string | null> {
    try {
      return await this.#resolveDir(parts, false, parts.join("/"));
    } catch (err) {
      if (err instanceof InvalidArgumentError) return null;
      throw err;
    }
  }
}

/**
 * Make device nodes, FIFOs, whiteouts and opaque markers: one shell per
 * batch, paths as positional arguments. A name already present (a malformed
 * layer that both deletes and creates it) keeps what is there.
 */
async function makeSpecials(ops: string[][]): Promise<void> {
  if (ops.length === 0) return;
  const script = [
    "set -e",
    "while [ $# -gt 0 ]; do",
    "  op=$1; p=$2; shift 2",
    "  case $op in",
    '    o) setfattr -h -n trusted.overlay.opaque -v y "$p" ;;',
    '    w) [ -e "$p" ] || [ -L "$p" ] || mknod "$p" c 0 0 ;;',
    '    c|b) maj=$1; min=$2; shift 2; [ -e "$p" ] || [ -L "$p" ] || mknod "$p" "$op" "$maj" "$min" ;;',
    '    p) [ -e "$p" ] || [ -L "$p" ] || mkfifo "$p" ;;',
    "  esac",
    "done",
  ].join("\n");
  const batches: string[][] = [[]];
  let size = 0;
  for (const op of ops) {
    const n = op.reduce((a, b) => a + b.length + 1, 0);
    // Stay well under ARG_MAX (2 MiB including the environment).
    if (size + n > 512 * 1024) {
      batches.push([]);
      size = 0;
    }
    batches[batches.length - 1]!.push(...op);
    size += n;
  }
  for (const batch of batches) {
    if (batch.length > 0) await run("sh", ["-c", script, "sh", ...batch]);
  }
}

async function readBody(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return null;
    throw err;
  }
}
