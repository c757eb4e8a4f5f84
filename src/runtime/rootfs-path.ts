import { lstat, readlink } from "node:fs/promises";
import { posix } from "node:path";
import { InvalidArgumentError, errnoCode } from "../lib/errors.js";

/**
 * Resolve `path` as the container would see it, with every symlink followed
 * inside `root` (an absolute link target means the container's `/`), so a
 * hostile image cannot make the daemon read host files. Components that do
 * not exist are kept as they are. Returns the host path.
 */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = posix.normalize(`/${path}`).split("/").filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      resolved.pop();
      continue;
    }
    if (part === ".") continue;
    const host = posix.join(root, ...resolved, part);
    let target: string | null = null;
    try {
      if ((await lstat(host)).isSymbolicLink()) target = await readlink(host);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT" && errnoCode(err) !== "ENOTDIR") throw err;
    }
    if (target === null) {
      resolved.push(part);
      continue;
    }
    // Same loop limit as Linux (MAXSYMLINKS).
    if (++links > 40) throw new InvalidArgumentError(`too many levels of symbolic links resolving ${path} in ${root}`);
    if (target.startsWith("/")) resolved.length = 0;
    pending.unshift(...target.split("/").filter(Boolean));
  }
  return posix.join(root, ...resolved);
}
