import { lstat, readlink } from "node:fs/promises";
import { posix } from "node:path";
import { errnoCode, InvalidArgumentError } from "./errors.js";

/** Linux gives up after 40 links in one lookup (MAXSYMLINKS). */
const maxSymlinks = 40;

/**
 * Resolves `path` inside `root` the way a process chrooted to `root` would:
 * `..` stops at the root and symlinks (absolute or relative) are followed
 * but can never lead outside it. Components that do not exist are kept
 * literally. With `followFinal: false` the last component is not resolved
 * (lstat semantics). Returns an absolute host path under `root`.
 */
export async function resolveInRoot(root: string, path: string, opts: { followFinal?: boolean } = {}): Promise<string> {
  const followFinal = opts.followFinal ?? true;
  const pending = posix.normalize("/" + path).split("/").filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    const candidate = posix.join(root, ...resolved, part);
    const isLast = pending.length === 0;
    if (isLast && !followFinal) {
      resolved.push(part);
      break;
    }
    let target: string | undefined;
    try {
      const st = await lstat(candidate);
      if (st.isSymbolicLink()) target = await readlink(candidate);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && errnoCode(err) !== "ENOTDIR") throw err;
    }
    if (target === undefined) {
      resolved.push(part);
      continue;
    }
    if (++links > maxSymlinks) throw new InvalidArgumentError(`too many levels of symbolic links resolving ${path}`);
    if (target.startsWith("/")) resolved.length = 0;
    pending.unshift(...target.split("/").filter(Boolean));
  }
  return posix.join(root, ...resolved);
}
