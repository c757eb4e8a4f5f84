import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Bytes of file data and number of entries below `dir` (not counting `dir`
 * itself), each hard-linked inode counted once, as `du --apparent-size` would.
 * Symlinks are not followed. A missing `dir` is an error (ENOENT).
 */
export async function dirUsage(dir: string): Promise<{ size: number; inodes: number }> {
  let size = 0;
  let inodes = 0;
  const seen = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    for (const n of await readdir(d)) {
      const st = await lstat(join(d, n));
      inodes++;
      if (st.nlink > 1 && !st.isDirectory()) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      if (st.isDirectory()) await walk(join(d, n));
      else size += st.size;
    }
  };
  await walk(dir);
  return { size, inodes };
}
