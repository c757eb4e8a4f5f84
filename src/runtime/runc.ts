import { spawn } from "node:child_process";
import { constants, open as openCb, close as closeCb } from "node:fs";
import { lstat, open, readdir, readFile, rm, rmdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { FailedPreconditionError, InternalError, NotFoundError, UnavailableError } from "../lib/errors.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a short-lived command, collecting its output; never throws for a non-zero exit. */
export function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) =>
      reject(new UnavailableError(`cannot run ${cmd}: ${e.message}`, { cause: e })),
    );
    child.on("close", (code, signal) =>
      resolve({
        code: code ?? (signal ? -1 : 0),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}

/**
 * The human part of runc's error output. runc logs with logrus: JSON lines
 * with `--log-format json`, `time=… level=error msg="…"` otherwise; conmon
 * hands over whatever runc printed. Falls back to the trimmed text.
 */
export function runcErrorMessage(output: string): string {
  const messages: string[] = [];
  for (const line of output.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    if (trimmed.startsWith("{")) {
      try {
        const parsed = JSON.parse(trimmed) as { level?: string; msg?: string };
        if (parsed.msg && (parsed.level === "error" || parsed.level === "fatal" || parsed.level === undefined)) {
          messages.push(parsed.msg);
        }
        continue;
      } catch {
        // not JSON after all
      }
    }
    const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(trimmed);
    if (m) {
      messages.push(unquoteGo(m[1]!));
      continue;
    }
    if (!/level=(?:warning|info|debug)/.test(trimmed)) messages.push(trimmed);
  }
  return messages.length > 0 ? messages.join("; ") : output.trim();
}

function unquoteGo(s: string): string {
  try {
    return JSON.parse(`"${s}"`) as string;
  } catch {
    return s.replace(/\\(.)/g, "$1");
  }
}

/** A runc CLI bound to one `--root`. */
export class Runc {
  readonly path: string;
  readonly root: string;

  constructor(path: string, root: string) {
    this.path = path;
    this.root = root;
  }

  /** Global flags for every invocation, also handed to conmon as `--runtime-arg`s. */
  get globalArgs(): string[] {
    return [`--root=${this.root}`, "--log-format=json"];
  }

  run(args: readonly string[]): Promise<RunResult> {
    return run(this.path, [...this.globalArgs, ...args]);
  }

  /**
   * Whether the runtime may hold any state for `id`: its directory under
   * `--root` exists (runc, crun and youki all keep one there). False means
   * `state` would answer "does not exist" and `delete` would have nothing
   * to do, so callers can skip starting a process (a Go runtime costs ~6 ms
   * of CPU per invocation). A directory without `state.json` still counts:
   * `runc delete` is what clears it.
   */
  async mayHave(id: string): Promise<boolean> {
    try {
      await lstat(join(this.root, id));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code !== "ENOENT" && code !== "ENOTDIR";
    }
  }

  /**
   * `runc start <id>` without starting runc (a Go process: ~8 ms of CPU and
   * of latency). For a `created` container runc's start only opens
   * `<root>/<id>/exec.fifo` for reading — which releases `runc init`, blocked
   * opening the other end — reads init's "0", and removes the fifo, which
   * is how runc tells `running` from `created` afterwards; this does the
   * same. Returns false, having done nothing, when that path does not apply
   * (another runtime, no fifo, init not alive): the caller then runs
   * `runc start` for its answer.
   * https://github.com/opencontainers/runc/blob/v1.1.5/libcontainer/container_linux.go (`exec`, `handleFifoResult`)
   */
  async startViaExecFifo(id: string, initPid: number): Promise<boolean> {
    if (basename(this.path) !== "runc" || !(await isLive(initPid))) return false;
    const fifo = join(this.root, id, "exec.fifo");
    try {
      await lstat(fifo);
    } catch {
      return false;
    }
    // If init dies before opening its end, our open would wait forever. Like
    // runc, look every 100 ms; once init is gone, open the write end ourselves
    // (non-blocking, it succeeds while our reader waits) so ours opens and reads EOF.
    let settled = false;
    const guard = setInterval(() => {
      void isLive(initPid).then((live) => {
        if (live || settled) return;
        openCb(fifo, constants.O_WRONLY | constants.O_NONBLOCK, (err, fd) => {
          if (!err) closeCb(fd, () => {});
        });
      });
    }, 100);
    let data: Buffer;
    try {
      const fh = await open(fifo, constants.O_RDONLY);
      try {
        data = await fh.readFile();
      } finally {
        await fh.close();
      }
    } finally {
      settled = true;
      clearInterval(guard);
    }
    if (data.length === 0) throw runcError(id, "start", "container process is already dead");
    await rm(fifo);
    return true;
  }

  /**
   * `runc kill <id> <signal>` without a runc process, for a container whose
   * init runc would signal directly: runc checks that init is the process it
   * started (PID and start time from its state.json, against PID reuse), that
   * the container is created, running or paused, and sends the signal to init
   * alone. Only the plain case is done here: runc, own PID namespace (killing
   * its init ends the whole container), not frozen. Returns false, having sent
   * nothing, otherwise; the caller then runs `runc kill`.
   * https://github.com/opencontainers/runc/blob/v1.1.5/libcontainer/container_linux.go (`Signal`)
   */
  async killDirect(id: string, signal: number): Promise<boolean> {
    const st = await this.#plainState(id);
    if (!st || !(await initIsRunning(st))) return false;
    const freezer = st.cgroup_paths?.freezer;
    if (!freezer) return false;
    const frozen = await readFile(join(freezer, "freezer.state"), "utf8").catch(() => "?");
    if (frozen.trim() !== "THAWED") return false;
    try {
      process.kill(st.init_process_pid, signal);
    } catch {
      return false;
    }
    return true;
  }

  /**
   * `runc delete <id>` without a runc process, for a container whose init has
   * exited (what happens after every container exit): runc then removes the
   * container's cgroups (sub-cgroups first, five tries 10 ms apart doubling,
   * as `cgroups.RemovePaths`) and its state directory, and runs poststop hooks
   * (we have none). Only that case is done here: runc, own PID namespace (else
   * runc first kills what is left in the cgroup), no hooks, no Intel RDT.
   * Returns false, having changed nothing, otherwise; and throws nothing: a
   * cgroup that will not go is left to `runc delete`, which the caller runs
   * on false.
   * https://github.com/opencontainers/runc/blob/v1.1.5/libcontainer/state_linux.go (`destroy`)
   */
  async deleteStopped(id: string): Promise<boolean> {
    const st = await this.#plainState(id);
    if (!st || (await initIsRunning(st))) return false;
    const hooks = st.config?.Hooks;
    if (hooks && Object.values(hooks).some((h) => Array.isArray(h) && h.length > 0)) return false;
    if (st.intel_rdt_path) return false;
    const left = new Map(Object.entries(st.cgroup_paths ?? {}));
    for (let i = 0, delay = 10; i < 5 && left.size > 0; i++, delay *= 2) {
      if (i > 0) await new Promise((r) => setTimeout(r, delay));
      // One cgroup per controller; they do not depend on each other.
      await Promise.all(
        [...left].map(async ([key, path]) => {
          await removeCgroup(path);
          if (!(await exists(path))) left.delete(key);
        }),
      );
    }
    if (left.size > 0) return false;
    await rm(join(this.root, id), { recursive: true, force: true });
    return true;
  }

  /** runc's state.json when this is runc and the container has a PID namespace of its own; else undefined. */
  async #plainState(id: string): Promise<RuncState | undefined> {
    if (basename(this.path) !== "runc") return undefined;
    let st: RuncState;
    try {
      st = JSON.parse(await readFile(join(this.root, id, "state.json"), "utf8")) as RuncState;
    } catch {
      return undefined;
    }
    const pidNs = st.config?.namespaces?.find((n) => n.type === "NEWPID");
    if (!pidNs || pidNs.path || !Number.isInteger(st.init_process_pid) || st.init_process_pid <= 0) return undefined;
    return st;
  }

  /** Run and map failures to Wharf errors. */
  async check(id: string, args: readonly string[]): Promise<string> {
    const r = await this.run(args);
    if (r.code === 0) return r.stdout;
    throw runcError(id, args[0] ?? "", runcErrorMessage(r.stderr || r.stdout));
  }
}

export function runcError(id: string, verb: string, message: string): Error {
  if (/container does not exist|container .* does not exist/.test(message)) {
    return new NotFoundError(`no such container in the runtime: ${id}`);
  }
  if (/not running|not paused|is not stopped|cannot start a container that has|container is not|cannot (pause|resume|kill|start|delete)|already/i.test(message)) {
    return new FailedPreconditionError(`runc ${verb} ${id}: ${message}`);
  }
  return new InternalError(`runc ${verb} ${id}: ${message}`);
}

/** Whether `pid` is a process that has not exited (a zombie has). */
async function isLive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The parts of runc's `<root>/<id>/state.json` (libcontainer's State) read here. */
interface RuncState {
  init_process_pid: number;
  init_process_start: number;
  cgroup_paths?: Record<string, string>;
  intel_rdt_path?: string;
  config?: { namespaces?: Array<{ type: string; path?: string }>; Hooks?: Record<string, unknown> | null };
}

/** runc's `runType`: init counts as running while its PID has the start time runc noted and is no zombie. */
async function initIsRunning(st: RuncState): Promise<boolean> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${st.init_process_pid}/stat`, "utf8");
  } catch {
    return false;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); the start time is field 22.
  return fields[0] !== "Z" && fields[0] !== "X" && Number(fields[19]) === st.init_process_start;
}

/** runc's `cgroups.RemovePath`: rmdir, else sub-cgroups first, then rmdir again. Errors are the caller's to see (the path stays). */
async function removeCgroup(path: string): Promise<void> {
  try {
    await rmdir(path);
    return;
  } catch {
    // busy, or has sub-cgroups
  }
  let entries;
  try {
    entries = await readdir(path, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeCgroup(join(path, e.name));
  await rmdir(path).catch(() => undefined);
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
