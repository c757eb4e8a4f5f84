/**
 * The host's device nodes, for `--privileged` containers: Docker gives such a
 * container every character and block device of the host's /dev (with the
 * device cgroup allowing all). Like runc's own host-device scan, it skips the
 * directories that hold no devices of the host's (pts, shm, fd, mqueue) and
 * /dev/console, which runc sets up from the container's terminal.
 */
import type { Stats } from "node:fs";
import { readdir, lstat, stat } from "node:fs/promises";
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
      } else if (path !== join(root, "console")) {
        const d = deviceOf(path, st);
        if (d) out.push(d);
      }
    }
  };
  await walk(root);
  return out;
}

/** The device node at `path` (symlinks followed), or undefined when it is none or missing. */
export async function deviceAt(path: string): Promise<OciDevice | undefined> {
  const st = await stat(path).catch(() => undefined);
  return st ? deviceOf(path, st) : undefined;
}

function deviceOf(path: string, st: Stats): OciDevice | undefined {
  if (!st.isCharacterDevice() && !st.isBlockDevice()) return undefined;
  return {
    path,
    type: st.isCharacterDevice() ? "c" : "b",
    major: major(st.rdev),
    minor: minor(st.rdev),
    fileMode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
  };
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
