import { readFileSync } from "node:fs";
import { open, readFile, rm } from "node:fs/promises";
import { ConflictError, errnoCode } from "../lib/errors.js";

/**
 * Takes the daemon's pid file, refusing when a live process holds it (two
 * daemons on one data root would corrupt each other's view of containers).
 * A pid file left by a killed daemon is taken over.
 */
export async function acquirePidFile(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, "wx", 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw err;
      const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new ConflictError(`pid file found, ensure wharf daemon is not running or delete ${path} (pid ${pid})`);
      }
      await rm(path, { force: true });
    }
  }
  throw new ConflictError(`could not take the pid file ${path}`);
}

/** A zombie (a killed daemon nobody reaped yet) is not alive: its state in /proc is `Z`. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return errnoCode(err) === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
