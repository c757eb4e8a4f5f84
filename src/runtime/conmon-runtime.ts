import { spawn, type ChildProcess } from "node:child_process";
import { access, mkdir, open, readFile, readdir, readlink, rm, writeFile, constants as fsConstants } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type {
  AttachSession,
  CreateOptions,
  CreatedContainer,
  ExecHandle,
  ExecOptions,
  ExitStatus,
  ProcessInput,
  RecoveredContainer,
  Runtime,
  RuntimeState,
  TerminalSize,
  TopResult,
} from "./runtime.js";
import type { OciSpec } from "./oci-types.js";
import { ContainerLayout, checkId } from "./layout.js";
import { Runc, runcError, runcErrorMessage } from "./runc.js";
import { PipeMessageReader, type PipeMessage } from "./pipe-messages.js";
import { isConmonFor, readPid } from "./process-check.js";
import { readExitStatus, waitForFile } from "./exit-status.js";
import { connectAttachSocket } from "./attach.js";
import { buildExecProcess } from "./oci-spec.js";
import { parseSignal } from "./signals.js";
import { processStartErrorFrom } from "./process-start-error.js";
import { top as psTop } from "./top.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  UnavailableError,
  errnoCode,
} from "../lib/errors.js";
import { writeJsonAtomic } from "../lib/atomic-file.js";

export interface ConmonRuntimeOptions {
  /** Volatile state root (Docker's `--exec-root`), e.g. `/run/wharf`. */
  execRoot: string;
  /** OCI runtime: a path, or a name looked up on PATH (and the sbin dirs). Default `runc`. */
  runtime?: string;
  /** Default `conmon`, looked up like `runtime`. */
  conmon?: string;
  /** runc's `--root` (its own state). Default `<execRoot>/runc`, so Wharf's containers are its own. */
  runtimeRoot?: string;
  /** How long `runc create` / `runc exec` may take before we give up. Default 2 minutes. */
  startTimeoutMs?: number;
}

const SBIN_DIRS = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/**
 * `Runtime` on conmon + runc. See `runtime.ts` for the contract.
 *
 * conmon is invoked as Podman does (`--api-version 1`), with these choices:
 * - `--full-attach`: the attach socket is `<bundle>/attach` itself, no
 *   symlink dir; long paths are reached through `/proc/self/fd` on connect.
 * - `_OCI_SYNCPIPE`: conmon reports `{"data": pid}` once `runc create`
 *   succeeded, or `{"data": -1, "message": <runc's stderr>}`, which makes
 *   `create` synchronous and its errors precise.
 * - For exec, also `_OCI_STARTPIPE` and `_OCI_ATTACHPIPE`: conmon waits for a
 *   first byte before forking, tells us when its attach socket listens, and
 *   waits for a second byte before `runc exec`, so we are connected before
 *   the process writes anything.
 * - `--sync`: conmon does not double-fork, so it stays our child and Node
 *   reaps it; it still runs in its own session with stdio on /dev/null and
 *   survives the daemon (then adopted by init). We write its PID file.
 * - runc runs with `--root=<execRoot>/runc` (via `--runtime-arg`), so
 *   Wharf's containers are not mixed with other runc users'.
 * - Execs log nowhere (`-l none`): as in Docker, exec output is not part of
 *   the container's log.
 * - conmon's cwd is the container dir: on cgroup v1 it drops an `oom` file
 *   in its cwd when the OOM killer strikes.
 */
export class ConmonRuntime implements Runtime {
  readonly #execRoot: string;
  readonly #runtimeName: string;
  readonly #conmonName: string;
  readonly #runtimeRoot: string;
  readonly #startTimeoutMs: number;
  #binaries: Promise<{ runc: Runc; conmon: string }> | undefined;
  /** Exit of each container's conmon that is our child (started by this daemon, `--sync`). */
  readonly #conmonExits = new Map<string, { pid: number; exited: Promise<unknown> }>();
  /** Containers created by this daemon and not started yet, with their attaches in order (see `attach`). */
  readonly #unstarted = new Map<string, Promise<unknown>>();

  constructor(options: ConmonRuntimeOptions) {
    this.#execRoot = options.execRoot;
    this.#runtimeName = options.runtime ?? "runc";
    this.#conmonName = options.conmon ?? "conmon";
    this.#runtimeRoot = options.runtimeRoot ?? join(options.execRoot, "runc");
    this.#startTimeoutMs = options.startTimeoutMs ?? 120_000;
  }

  // -------------------------------------------------------------------------
  // Lifecycle

  async create(id: string, spec: OciSpec, options: CreateOptions): Promise<CreatedContainer> {
    const l = new ContainerLayout(this.#execRoot, id);
    if (Boolean(spec.process.terminal) !== options.tty) {
      throw new InvalidArgumentError("CreateOptions.tty must match spec.process.terminal");
    }
    if (options.logPath !== null && options.logPath.includes(":")) {
      // conmon splits `driver:path` with strtok(":").
      throw new InvalidArgumentError(`log path must not contain ':': ${options.logPath}`);
    }
    const { runc, conmon } = await this.#tools();
    await this.#claim(l, runc);

    try {
      await Promise.all([mkdir(l.bundle, { recursive: true }), mkdir(l.exitDir, { recursive: true })]);
      // The exec root is volatile (a reboot ends every container): atomic, not flushed to disk.
      await Promise.all([
        writeJsonAtomic(l.config, spec, { durable: false }),
        writeJsonAtomic(l.createOptions, options, { durable: false }),
        options.logPath !== null ? mkdir(dirname(options.logPath), { recursive: true }) : undefined,
      ]);

      const args = [
        ...this.#commonArgs(runc, id, id, l.bundle, l.pidFile, l.exitDir),
        "-l",
        options.logPath === null ? "none" : `k8s-file:${options.logPath}`,
      ];
      if (options.logSizeMax !== undefined && options.logSizeMax > 0) args.push("--log-size-max", String(options.logSizeMax));
      if (options.tty) args.push("-t");
      if (options.openStdin) {
        args.push("-i");
        if (options.stdinOnce === false) args.push("--leave-stdin-open");
      }

      const proc = spawnConmon(conmon, args, l.dir, ["_OCI_SYNCPIPE"]);
      const sync = new PipeMessageReader(proc.pipes[0] as Readable);
      const msg = await this.#withTimeout(sync.next(), proc, `runc create ${id}`);
      proc.closePipes();
      const pid = await this.#checkStarted(msg, proc, "create", id);
      const conmonPid = proc.child.pid ?? 0;
      this.#conmonExits.set(id, { pid: conmonPid, exited: proc.exited });
      this.#unstarted.set(id, Promise.resolve());
      await writeFile(l.conmonPidFile, String(conmonPid));
      return { pid, conmonPid };
    } catch (err) {
      await this.#discard(l, runc);
      throw err;
    }
  }

  async start(id: string): Promise<void> {
    const { runc } = await this.#existing(id);
    // Attaches made before start are all in conmon's hands before the process may write.
    await this.#unstarted.get(id);
    this.#unstarted.delete(id);
    const initPid = await readPid(new ContainerLayout(this.#execRoot, id).pidFile);
    if (initPid !== null && (await runc.startViaExecFifo(id, initPid))) return;
    await runc.check(id, ["start", id]);
  }

  async kill(id: string, signal: string | number = "SIGKILL"): Promise<void> {
    const n = parseSignal(signal);
    const { runc } = await this.#existing(id);
    if (await runc.killDirect(id, n)) return;
    await runc.check(id, ["kill", id, String(n)]);
  }

  async pause(id: string): Promise<void> {
    const { runc } = await this.#existing(id);
    await runc.check(id, ["pause", id]);
  }

  async resume(id: string): Promise<void> {
    const { runc } = await this.#existing(id);
    await runc.check(id, ["resume", id]);
  }

  async delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    const l = new ContainerLayout(this.#execRoot, id);
    const { runc } = await this.#tools();
    if (!options.force) {
      const state = await this.state(id);
      if (state && (state.status === "running" || state.status === "paused")) {
        throw new FailedPreconditionError(`cannot delete container ${id}: it is ${state.status}`);
      }
    }
    await this.#discard(l, runc);
  }

  // -------------------------------------------------------------------------
  // Inspection

  async state(id: string): Promise<RuntimeState | null> {
    checkId("container", id);
    const { runc } = await this.#tools();
    if (!(await runc.mayHave(id))) return null;
    const r = await runc.run(["state", id]);
    if (r.code !== 0) {
      const err = runcError(id, "state", runcErrorMessage(r.stderr));
      if (err instanceof NotFoundError) return null;
      throw err;
    }
    const s = JSON.parse(r.stdout) as RuntimeState;
    return { id: s.id, pid: s.pid, status: s.status, bundle: s.bundle, created: s.created };
  }

  async exitStatus(id: string): Promise<ExitStatus | null> {
    const l = await this.#layoutOf(id);
    return readExitStatus(l.exitFile, l.oomFile);
  }

  async exitCode(id: string): Promise<number | null> {
    return (await this.exitStatus(id))?.code ?? null;
  }

  async waitExit(id: string, options: { signal?: AbortSignal } = {}): Promise<number> {
    const l = await this.#layoutOf(id);
    const status = await waitForFile(l.exitFile, () => readExitStatus(l.exitFile, l.oomFile), {
      signal: options.signal,
      // conmon writes the exit file before it exits; if it is gone without
      // one (killed, or the host rebooted) nobody ever will.
      giveUp: async () => !(await this.isAlive(id)),
    });
    return status?.code ?? 255;
  }

  async conmonPid(id: string): Promise<number | null> {
    const l = new ContainerLayout(this.#execRoot, id);
    const pid = await readPid(l.conmonPidFile);
    return pid !== null && (await isConmonFor(pid, id)) ? pid : null;
  }

  async isAlive(id: string): Promise<boolean> {
    return (await this.conmonPid(id)) !== null;
  }

  async top(id: string, psArgs?: string): Promise<TopResult> {
    const { runc } = await this.#existing(id);
    const state = await this.state(id);
    if (!state || (state.status !== "running" && state.status !== "paused")) {
      throw new FailedPreconditionError(`container ${id} is not running`);
    }
    const out = await runc.check(id, ["ps", "--format", "json", id]);
    const pids = (JSON.parse(out || "[]") as number[] | null) ?? [];
    return psTop(pids, psArgs);
  }

  async recover(): Promise<RecoveredContainer[]> {
    let ids: string[];
    try {
      ids = await readdir(join(this.#execRoot, "containers"));
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return [];
      throw err;
    }
    const found: RecoveredContainer[] = [];
    for (const id of ids.sort()) {
      let l: ContainerLayout;
      try {
        l = new ContainerLayout(this.#execRoot, id);
      } catch {
        continue; // not ours
      }
      let options: CreateOptions;
      try {
        options = JSON.parse(await readFile(l.createOptions, "utf8")) as CreateOptions;
      } catch {
        continue; // a create that never got far enough to matter
      }
      const exit = await readExitStatus(l.exitFile, l.oomFile);
      const conmonPid = await this.conmonPid(id);
      const state = await this.state(id);
      let status: RecoveredContainer["status"];
      if (exit) status = "exited";
      else if (conmonPid !== null && state) {
        status = state.status === "created" || state.status === "paused" ? state.status : "running";
      } else status = "dead";
      found.push({
        id,
        status,
        pid: status === "exited" || status === "dead" ? null : (state?.pid ?? null),
        conmonPid,
        exit,
        options,
      });
    }
    return found;
  }

  // -------------------------------------------------------------------------
  // I/O

  async attach(id: string): Promise<AttachSession> {
    const l = await this.#layoutOf(id);
    const pending = this.#unstarted.get(id);
    const conmon = this.#conmonExits.get(id)?.pid;
    if (pending === undefined || conmon === undefined) return connectAttachSocket(l.attachSocket);
    // Before start, an attach must see every byte. connect() returns once the
    // connection is queued; conmon forwards output only to connections it has
    // accepted, one accept per turn of its loop. So wait for conmon to hold one
    // more socket, one attach at a time, and let start wait for the last one.
    const next = pending.then(async () => {
      const before = await socketCount(conmon);
      const session = await connectAttachSocket(l.attachSocket);
      await waitFor(async () => (await socketCount(conmon)) > before, 2000);
      return session;
    });
    this.#unstarted.set(id, next.catch(() => undefined));
    return next;
  }

  async resize(id: string, size: TerminalSize): Promise<void> {
    const l = await this.#layoutOf(id);
    await writeResize(l.ctl, size);
  }

  async exec(id: string, execId: string, input: ProcessInput, options: ExecOptions): Promise<ExecHandle> {
    const { runc, conmon } = await this.#existing(id);
    const l = new ContainerLayout(this.#execRoot, id);
    const dir = l.execDir(execId);
    const state = await this.state(id);
    if (!state || state.status !== "running") {
      throw new FailedPreconditionError(`container ${id} is not running`);
    }
    const spec = JSON.parse(await readFile(l.config, "utf8")) as OciSpec;
    const processFile = join(dir, "process.json");
    const exitDir = join(dir, "exit");
    try {
      await mkdir(dirname(dir), { recursive: true });
      await mkdir(dir);
    } catch (err) {
      if (errnoCode(err) === "EEXIST") throw new AlreadyExistsError(`exec ${execId} already exists in container ${id}`);
      throw err;
    }
    try {
      await mkdir(exitDir);
      await writeFile(processFile, JSON.stringify(buildExecProcess(spec.process, input)));
      const args = [
        ...this.#commonArgs(runc, id, execId, dir, join(dir, "pid"), exitDir),
        "-l",
        "none",
      ];
      if (input.terminal !== options.tty) throw new InvalidArgumentError("ExecOptions.tty must match the process' terminal");
      if (options.tty) args.push("-t");
      if (options.openStdin) args.push("-i");
      args.push("-e", "--exec-attach", "--exec-process-spec", processFile);

      const proc = spawnConmon(conmon, args, dir, ["_OCI_SYNCPIPE", "_OCI_STARTPIPE", "_OCI_ATTACHPIPE"]);
      await writeFile(join(dir, "conmon.pid"), String(proc.child.pid ?? 0));
      const [syncPipe, startPipe, attachPipe] = proc.pipes as [Readable, Writable, Readable];
      const sync = new PipeMessageReader(syncPipe);
      const attachReady = new PipeMessageReader(attachPipe);
      // conmon blocks on this first byte before it forks (Podman moves it
      // into a cgroup meanwhile; we have nothing to do).
      startPipe.write(Buffer.from([0]));
      const ready = await this.#withTimeout(attachReady.next(), proc, `exec ${execId}`);
      if (ready === null) {
        proc.closePipes();
        throw new InternalError(`conmon exec failed: ${(await proc.stderr).trim() || "no attach message"}`);
      }
      let session: AttachSession | null = null;
      if (options.attach !== false) session = await connectAttachSocket(join(dir, "attach"));
      // Second byte: run `runc exec` now that we listen.
      startPipe.end(Buffer.from([0]));

      let pid: number;
      try {
        pid = await this.#checkStarted(await this.#withTimeout(sync.next(), proc, `runc exec ${execId}`), proc, "exec", id);
      } catch (err) {
        session?.close();
        proc.closePipes();
        throw err;
      }
      const exitCode = (async () => {
        const msg = await sync.next();
        proc.closePipes();
        let code = msg && msg.data >= 0 ? msg.data : null;
        if (code === null) code = (await readExitStatus(join(exitDir, id), join(dir, "oom")))?.code ?? 255;
        await rm(dir, { recursive: true, force: true });
        return code;
      })();
      // Nobody may be waiting on it; a failure is already reflected as 255.
      exitCode.catch(() => undefined);
      return {
        execId,
        pid,
        attach: session,
        exitCode,
        resize: (size: TerminalSize) => writeResize(join(dir, "ctl"), size),
      };
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  // -------------------------------------------------------------------------
  // Internals

  #tools(): Promise<{ runc: Runc; conmon: string }> {
    this.#binaries ??= (async () => {
      const [runcPath, conmon] = await Promise.all([findExecutable(this.#runtimeName), findExecutable(this.#conmonName)]);
      return { runc: new Runc(runcPath, this.#runtimeRoot), conmon };
    })();
    this.#binaries.catch(() => (this.#binaries = undefined));
    return this.#binaries;
  }

  async #layoutOf(id: string): Promise<ContainerLayout> {
    const l = new ContainerLayout(this.#execRoot, id);
    try {
      await access(l.dir);
    } catch {
      throw new NotFoundError(`no such container in the runtime: ${id}`);
    }
    return l;
  }

  async #existing(id: string): Promise<{ runc: Runc; conmon: string }> {
    await this.#layoutOf(id);
    return this.#tools();
  }

  #commonArgs(
    runc: Runc,
    id: string,
    uuid: string,
    bundle: string,
    pidFile: string,
    exitDir: string,
  ): string[] {
    return [
      "--api-version",
      "1",
      "-c",
      id,
      "-u",
      uuid,
      "-n",
      id,
      "-r",
      runc.path,
      ...runc.globalArgs.flatMap((a) => ["--runtime-arg", a]),
      "-b",
      bundle,
      "-p",
      pidFile,
      "--exit-dir",
      exitDir,
      "--full-attach",
      // No double fork: conmon stays our child, so Node reaps it when it
      // exits. Not every init reaps adopted orphans (this sandbox's does
      // not), and it does not tie conmon to us: it is in its own session
      // and nothing kills it when the daemon dies (it is adopted then).
      "--sync",
    ];
  }

  /** Refuse an ID in use; clear the leftovers of one that is not (e.g. after a reboot). */
  async #claim(l: ContainerLayout, runc: Runc): Promise<void> {
    let exists = true;
    try {
      await access(l.dir);
    } catch {
      exists = false;
    }
    const known = (await runc.mayHave(l.id)) && (await runc.run(["state", l.id])).code === 0;
    if (known || (exists && (await this.isAlive(l.id)))) {
      throw new AlreadyExistsError(`container ${l.id} already exists in the runtime`);
    }
    if (exists) await rm(l.dir, { recursive: true, force: true });
  }

  /** Tear everything down: runc's container, conmon, our directory. Idempotent. */
  async #discard(l: ContainerLayout, runc: Runc): Promise<void> {
    if ((await runc.mayHave(l.id)) && !(await runc.deleteStopped(l.id))) {
      const r = await runc.run(["delete", "--force", l.id]);
      if (r.code !== 0) {
        const err = runcError(l.id, "delete", runcErrorMessage(r.stderr));
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    // conmon exits by itself once init is gone (after writing the exit
    // file); give it a moment (5 s), then make sure.
    const pid = await this.conmonPid(l.id);
    const child = this.#conmonExits.get(l.id);
    this.#conmonExits.delete(l.id);
    this.#unstarted.delete(l.id);
    if (pid !== null) {
      if (child?.pid === pid) {
        // Our child: its exit event says when, no polling needed.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([child.exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
        clearTimeout(timer);
      } else {
        for (let i = 0; i < 100 && (await isConmonFor(pid, l.id)); i++) await sleep(50);
      }
      if (await isConmonFor(pid, l.id)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    await killExecConmons(l);
    await rm(l.dir, { recursive: true, force: true });
  }

  async #checkStarted(msg: PipeMessage | null, proc: ConmonProcess, verb: string, id: string): Promise<number> {
    if (msg === null) {
      const stderr = (await proc.stderr).trim();
      throw new InternalError(`conmon failed before runc ${verb} finished for ${id}${stderr ? `: ${stderr}` : ""}`);
    }
    if (msg.data > 0) return msg.data;
    const message = runcErrorMessage(msg.message ?? "") || `runc ${verb} failed`;
    const startError = processStartErrorFrom(message);
    if (startError) throw startError;
    if (/exists/.test(message) && verb === "create") throw new AlreadyExistsError(message);
    if (/not running|stopped/.test(message) && verb === "exec") throw new FailedPreconditionError(message);
    throw new InternalError(`runc ${verb} ${id}: ${message}`);
  }

  async #withTimeout<T>(p: Promise<T>, proc: ConmonProcess, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        proc.closePipes();
        reject(new UnavailableError(`${what} did not finish within ${this.#startTimeoutMs} ms`));
      }, this.#startTimeoutMs);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

interface ConmonProcess {
  child: ChildProcess;
  /** Our ends of the extra pipes, in the order of their env var names (fd 3, 4, …). */
  pipes: (Readable | Writable)[];
  /** conmon's stderr until it detaches (usage errors, early failures). */
  stderr: Promise<string>;
  /** With `--sync`, conmon exits when the container (or exec) has. */
  exited: Promise<number | null>;
  closePipes(): void;
}

/**
 * Start conmon detached: its own session, stdio on /dev/null (stderr piped
 * until it detaches), so it outlives the daemon. Each name in `pipeEnv` gets
 * a pipe at fd 3, 4, … and the env var pointing at it (Node's `pipe` stdio
 * is a socketpair, which conmon reads and writes like a pipe).
 */
function spawnConmon(conmon: string, args: string[], cwd: string, pipeEnv: string[]): ConmonProcess {
  const env: NodeJS.ProcessEnv = { PATH: [process.env.PATH ?? "", ...SBIN_DIRS].filter(Boolean).join(delimiter) };
  pipeEnv.forEach((name, i) => (env[name] = String(3 + i)));
  const child = spawn(conmon, args, {
    cwd,
    env,
    detached: true,
    stdio: ["ignore", "ignore", "pipe", ...pipeEnv.map(() => "pipe" as const)],
  });
  const pipes = pipeEnv.map((_, i) => child.stdio[3 + i] as Readable | Writable);
  const stderr = new Promise<string>((resolve) => {
    const chunks: Buffer[] = [];
    child.stderr!.on("data", (b: Buffer) => chunks.push(b));
    child.stderr!.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    child.stderr!.on("error", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", (err) => {
      pipes.forEach((p) => p.destroy());
      resolve(null);
      void err;
    });
  });
  child.unref();
  return {
    child,
    pipes,
    stderr,
    exited,
    closePipes: () => pipes.forEach((p) => p.destroy()),
  };
}

/** conmon's control FIFO: `<type> <height> <width>\n`, type 1 = resize (conmon `src/ctrl.c`). */
async function writeResize(ctl: string, size: TerminalSize): Promise<void> {
  const { height, width } = size;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 0 || width < 0 || height > 1000 || width > 1000) {
    throw new InvalidArgumentError(`invalid terminal size ${height}x${width} (each must be 0-1000)`);
  }
  let fh;
  try {
    // Non-blocking: opening a FIFO for writing blocks until there is a
    // reader, and a dead conmon is no reader (ENXIO).
    fh = await open(ctl, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENXIO" || code === "ENOENT") return; // exited: nothing to resize
    throw err;
  }
  try {
    await fh.write(`1 ${height} ${width}\n`);
  } finally {
    await fh.close();
  }
}

async function killExecConmons(l: ContainerLayout): Promise<void> {
  let execIds: string[];
  try {
    execIds = await readdir(join(l.dir, "exec"));
  } catch {
    return;
  }
  for (const execId of execIds) {
    const pid = await readPid(join(l.dir, "exec", execId, "conmon.pid"));
    if (pid !== null && (await isConmonFor(pid, execId))) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

async function findExecutable(name: string): Promise<string> {
  const candidates = name.includes("/")
    ? [name]
    : [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SBIN_DIRS].map((d) => join(d, name));
  for (const c of candidates) {
    try {
      await access(c, fsConstants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new UnavailableError(`${name} not found (looked in PATH and ${SBIN_DIRS.join(", ")})`);
}

/** How many sockets `pid` holds (a gone process counts as holding all it will ever hold). */
async function socketCount(pid: number): Promise<number> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
  const links = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => "")));
  return links.filter((t) => t.startsWith("socket:")).length;
}

/** Polls `check` (soon, then every ms) until it is true or `timeoutMs` passed; never throws for the timeout. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; !(await check()); i++) {
    if (Date.now() > deadline) return;
    await (i < 10 ? new Promise((r) => setImmediate(r)) : sleep(1));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
