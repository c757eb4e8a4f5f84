import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { ConflictError, InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import type { Runtime, ExecHandle } from "../runtime/index.js";
import { ProcessStartError, resolveUser } from "../runtime/index.js";
import { consoleSizeOf, pipeSession, type ContainerService, type OutputSink } from "./container-service.js";
import { allCapabilities } from "./capabilities.js";
import type { EventBus } from "./events.js";

/** `POST /containers/{id}/exec` body (Docker's ExecConfig). */
export interface ExecConfig {
  Cmd: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
  DetachKeys?: string;
  ConsoleSize?: [number, number];
}

export interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  handle?: ExecHandle;
  /** Resolves when the process has exited and its exit code is recorded. */
  finished?: Promise<void>;
}

/**
 * Processes started inside running containers (`docker exec`). Exec records
 * live in memory like Docker's; they go when their container is removed.
 */
export class ExecService {
  readonly #execs = new Map<string, ExecRecord>();
  readonly #containers: ContainerService;
  readonly #runtime: Runtime;
  readonly #events: EventBus;

  constructor(containers: ContainerService, runtime: Runtime, events: EventBus) {
    this.#containers = containers;
    this.#runtime = runtime;
    this.#events = events;
  }

  create(containerRef: string, config: ExecConfig): string {
    if (!Array.isArray(config.Cmd) || config.Cmd.length === 0 || config.Cmd.some((c) => typeof c !== "string")) {
      throw new InvalidArgumentError("No exec command specified");
    }
    const container = this.#containers.runningForExec(containerRef);
    const id = randomBytes(32).toString("hex");
    this.#execs.set(id, { id, containerId: container.id, config, running: false, exitCode: null, pid: 0 });
    this.#events.emit("container", `exec_create: ${config.Cmd.join(" ")}`, container.id, { execID: id, name: container.name });
    return id;
  }

  get(id: string): ExecRecord {
    const e = this.#execs.get(id);
    if (!e) throw new NotFoundError(`No such exec instance: ${id}`);
    return e;
  }

  /**
   * Starts the process. With a sink, output streams to it until the process
   * exits; `done` resolves then. Starting an exec twice is a 409.
   */
  async start(id: string, stdin: Readable | undefined, sink: OutputSink | undefined, consoleSize?: [number, number]): Promise<{ done: Promise<void> }> {
    const exec = this.get(id);
    if (exec.running || exec.exitCode !== null) throw new ConflictError(`Error: Exec command ${id} has already run`);
    const container = this.#containers.runningForExec(exec.containerId);
    const { config } = exec;
    const user = await resolveUser(`/proc/${container.state.Pid}/root`, config.User || container.config.User);
    const env = [...container.config.Env, ...(config.Env ?? [])];
    if (!env.some((e) => e.startsWith("HOSTNAME="))) env.push(`HOSTNAME=${container.config.Hostname}`);
    if (config.Tty && !env.some((e) => e.startsWith("TERM="))) env.push("TERM=xterm");
    if (!env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${user.home}`);
    exec.running = true;
    let handle: ExecHandle;
    try {
      handle = await this.#runtime.exec(
        container.id,
        id.slice(0, 32),
        {
          args: config.Cmd,
          env,
          cwd: config.WorkingDir || container.config.WorkingDir || "/",
          user,
          terminal: config.Tty ?? false,
          consoleSize: consoleSizeOf(consoleSize ?? config.ConsoleSize),
          ...(config.Privileged ? { capabilities: [...allCapabilities()] } : {}),
        },
        { tty: config.Tty ?? false, openStdin: !!(config.AttachStdin && stdin), attach: sink !== undefined },
      );
    } catch (err) {
      exec.running = false;
      exec.exitCode = err instanceof ProcessStartError ? err.exitCode : 126;
      throw err;
    }
    exec.handle = handle;
    exec.pid = handle.pid;
    this.#events.emit("container", `exec_start: ${config.Cmd.join(" ")}`, container.id, { execID: id, name: container.name });
    if (sink && handle.attach) {
      pipeSession(handle.attach, { stdin: config.AttachStdin ? stdin : undefined, stdout: true, stderr: true, tty: config.Tty ?? false }, sink);
    }
    const finished = handle.exitCode.then(
      (code) => {
        exec.running = false;
        exec.exitCode = code;
        exec.handle = undefined;
        this.#events.emit("container", "exec_die", container.id, { execID: id, exitCode: String(code), name: container.name });
      },
      () => {
        exec.running = false;
        exec.exitCode = 126;
      },
    );
    exec.finished = finished;
    // Output may still be in flight when the exit is recorded: wait for the stream to end too.
    const drained = handle.attach ? handle.attach.done : Promise.resolve();
    return { done: Promise.all([finished, drained]).then(() => undefined) };
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const exec = this.get(id);
    if (!exec.handle) throw new ConflictError(`Exec ${id} is not running`);
    await exec.handle.resize({ height, width });
  }

  /** Forgets the execs of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, e] of this.#execs) if (e.containerId === containerId) this.#execs.delete(id);
  }
}
