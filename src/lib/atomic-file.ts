import { open, rename, mkdir, rm } from "node:fs/promises";
import { dirname, join, basename } from "node:path";
import { randomBytes } from "node:crypto";

export interface AtomicWriteOptions {
  /**
   * Also survive a power loss or kernel crash (fsync of the file before the
   * rename and of the directory after). Default true. Pass false for state
   * that a reboot makes meaningless anyway (the exec root, a running
   * container's network sandbox): the rename alone keeps readers and a
   * restarted daemon from ever seeing half a file, and skips two disk flushes.
   */
  durable?: boolean;
}

/**
 * Write a file so that a reader sees either the old content or the whole new
 * content, never a mix, even if the process is killed mid-write: temp file in
 * the same directory, fsync, rename, fsync of the directory.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644, options: AtomicWriteOptions = {}): Promise<void> {
  const { durable = true } = options;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.tmp-${basename(path)}-${randomBytes(6).toString("hex")}`);
  const fh = await open(tmp, "w", mode);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  if (durable) await fsyncDir(dir);
}

export async function writeJsonAtomic(path: string, value: unknown, options?: AtomicWriteOptions): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value), 0o644, options);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
