import { readFile } from "node:fs/promises";

/**
 * Whether `pid` is a live (not zombie) conmon for `id`. Checking the
 * command line guards against PID reuse after a reboot or a long downtime.
 */
export async function isConmonFor(pid: number, id: string): Promise<boolean> {
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8");
    // A zombie has an empty command line.
    if (cmdline === "") return false;
    const args = cmdline.split("\0");
    return args.some((a) => a.endsWith("conmon")) && args.includes(id);
  } catch {
    return false;
  }
}

export async function readPid(path: string): Promise<number | null> {
  try {
    const n = Number((await readFile(path, "utf8")).trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
