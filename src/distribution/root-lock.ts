import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/atomic-file.js";
import { ConflictError, errnoCode } from "../lib/errors.js";

/**
 * One registry process per storage root: it wipes `ingest/` at start and
 * keeps upload hashes in memory, and gc must not sweep while it serves.
 * The lock is `<root>/registry.pid`; a file whose process is gone (kill -9)
 * is stale and taken over.
 */

const lockFile = (root: string) => join(root, "registry.pid");

/** The PID of the live process that holds `root`, if any. */
export async function lockHolder(root: string): Promise<number | undefined> {
  let pid: number;
  try {
    pid = Number((await readFile(lockFile(root), "utf8")).trim());
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return undefined;
    throw err;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive, but someone else's.
    return errnoCode(err) === "EPERM" ? pid : undefined;
  }
}

/** Takes the lock for this process; `ConflictError` when another live process holds it. Returns the release function. */
export async function acquireRootLock(root: string): Promise<() => Promise<void>> {
  const holder = await lockHolder(root);
  if (holder !== undefined && holder !== process.pid) {
    throw new ConflictError(`another registry (pid ${holder}) is using the storage root ${root}`);
  }
  await writeFileAtomic(lockFile(root), `${process.pid}\n`);
  return async () => {
    if ((await lockHolder(root)) === process.pid) await rm(lockFile(root), { force: true });
  };
}
