import { spawn } from "node:child_process";
import { constants, open as openCb, close as closeCb } from "node:fs";
import { lstat, open, readFile, rm } from "node:fs/promises";
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
