/**
 * `--init`: Docker's docker-init (tini) as the container's PID 1, which
 * reaps zombies and forwards signals to the command. The binary is the host's,
 * bind-mounted read-only at /sbin/docker-init as dockerd does; it must be
 * static, since the image brings its own libc or none (Debian's `tini`
 * package ships `tini-static`).
 */
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { FailedPreconditionError } from "../lib/errors.js";

/** Where the init binary appears in the container, and how it is invoked. */
export const initPathInContainer = "/sbin/docker-init";

const candidates = ["docker-init", "tini-static"];
const extraDirs = ["/usr/libexec/docker", "/usr/local/sbin", "/usr/sbin", "/sbin"];

let found: Promise<string> | undefined;

/** The host's init binary; `FailedPreconditionError` when there is none. Looked up once. */
export function findInitBinary(): Promise<string> {
  found ??= (async () => {
    const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...extraDirs];
    for (const name of candidates) {
      for (const dir of dirs) {
        const path = join(dir, name);
        if (await access(path, constants.X_OK).then(() => true, () => false)) return path;
      }
    }
    found = undefined; // installed later: look again next time
    throw new FailedPreconditionError("--init: no docker-init or tini-static binary on the daemon's PATH (Debian: apt-get install tini)");
  })();
  return found;
}
