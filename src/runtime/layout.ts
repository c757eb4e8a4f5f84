import { join } from "node:path";
import { InvalidArgumentError } from "../lib/errors.js";

const ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** Reject IDs that could escape the exec root or upset runc. */
export function checkId(kind: string, id: string): void {
  if (!ID.test(id)) throw new InvalidArgumentError(`invalid ${kind} ID: ${JSON.stringify(id)}`);
}

/**
 * Where one container's runtime state lives (volatile, under the exec root):
 *
 * ```
 * <execRoot>/containers/<id>/
 *   bundle/config.json   OCI bundle (root.path points at the caller's rootfs)
 *   bundle/attach        conmon's attach socket (SOCK_SEQPACKET)
 *   bundle/ctl, winsz    conmon's control FIFOs (resize)
 *   exit/<id>            exit code, written by conmon when init exits
 *   oom                  created by conmon when the OOM killer struck
 *   pid, conmon.pid      init's and conmon's PIDs
 *   create.json          the CreateOptions, for recover()
 *   exec/<execId>/       the same for each exec (process.json, attach, ctl, exit/, pid)
 * ```
 */
export class ContainerLayout {
  readonly dir: string;
  readonly id: string;

  constructor(execRoot: string, id: string) {
    checkId("container", id);
    this.id = id;
    this.dir = join(execRoot, "containers", id);
  }

  get bundle(): string {
    return join(this.dir, "bundle");
  }
  get config(): string {
    return join(this.bundle, "config.json");
  }
  get attachSocket(): string {
    return join(this.bundle, "attach");
  }
  get ctl(): string {
    return join(this.bundle, "ctl");
  }
  get exitDir(): string {
    return join(this.dir, "exit");
  }
  /** conmon names the exit file after `--cid`. */
  get exitFile(): string {
    return join(this.exitDir, this.id);
  }
  get oomFile(): string {
    return join(this.dir, "oom");
  }
  get pidFile(): string {
    return join(this.dir, "pid");
  }
  get conmonPidFile(): string {
    return join(this.dir, "conmon.pid");
  }
  get createOptions(): string {
    return join(this.dir, "create.json");
  }
  execDir(execId: string): string {
    checkId("exec", execId);
    return join(this.dir, "exec", execId);
  }
}
