/**
 * The host's device nodes, for `--privileged` containers: Docker gives such a
 * container every character and block device of the host's /dev (with the
 * device cgroup allowing all). Like runc's own host-device scan, it skips the
 * directories that hold no devices of the host's (pts, shm, fd, mqueue) and
 * /dev/console, which runc sets up from the container's terminal.
 */
import { readdir, lstat } from "node:fs/promises";
import { join } from "node:path";
import type { OciLinux } from "./oci-types.js";

export type OciDevice = NonNullable<OciLinux["devices"]>[number];

const skippedDirs = new Set(["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"]);

export async function hostDevices(root = "/dev"): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st) continue; // gone meanwhile
      if (st.isDirectory()) {
        if (!skippedDirs.has(name)) await walk(path);
        continue;
      }
      if (path === join(root, "console") || (!st.isCharacterDevice() && !st.isBlockDevice())) continue;
      out.push({
        path,
        type: st.isCharacterDevice() ? "c" : "b",
        major: major(st.rdev),
        minor: minor(st.rdev),
        fileMode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
      });
    }
  };
  await walk(root);
  return out;
}

/** glibc's gnu_dev_major/minor on a 64-bit dev_t. */
function major(dev: number): number {
  const d = BigInt(dev);
  return Number(((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn));
}

function minor(dev: number): number {
  const d = BigInt(dev);
  return Number((d & 0xffn) | ((d >> 12n) & ~0xffn));
}
