/**
 * The `runtime` layer: one OCI container process under `conmon` + `runc`.
 *
 * Lifecycle of a container, as this layer sees it:
 *
 *   buildOciSpec(input) → create(id, spec) → [attach(id)] → start(id)
 *     → running ⇄ paused → exited (exit code recorded on disk by conmon)
 *     → delete(id)
 *
 * - `create` leaves the container in runc's `created` state: namespaces,
 *   mounts and the tty exist, the user's process has not run yet. Attach
 *   between `create` and `start` to catch every byte of output (what
 *   `docker run` does).
 * - Each container has its own `conmon`, started detached: it holds stdio,
 *   the tty, the log file and the exit code, so the daemon may die and a new
 *   one re-adopt the container with `recover()` (live restore).
 * - Exit codes follow Docker: the process' code, or 128+n when killed by
 *   signal n.
 *
 * Everything is keyed by the caller's container ID (Docker's 64-hex IDs);
 * state lives under `<execRoot>/containers/<id>/` (see `ConmonRuntimeOptions`).
 *
 * Errors (all from `src/lib/errors.ts`):
 * - `NotFoundError`: the runtime knows no container with that ID.
 * - `AlreadyExistsError`: `create` with an ID that is in use.
 * - `FailedPreconditionError`: the container is in the wrong state for the
 *   call (e.g. `kill`/`exec` on a stopped one, `delete` of a running one
 *   without `force`).
 * - `ProcessStartError` (`./process-start-error.ts`, an `InvalidArgumentError`): the command could not
 *   be started; carries Docker's exit code 127 (not found) or 126 (cannot
 *   invoke) and runc's message.
 * - `InternalError`: runc or conmon failed otherwise; the message is theirs.
 */
import type { Readable } from "node:stream";
import type { OciDeviceRule, OciResources, OciSeccomp, OciSpec } from "./oci-types.js";
import type { OciDevice } from "./host-devices.js";

export type { OciSpec, OciProcess, OciResources } from "./oci-types.js";

// ---------------------------------------------------------------------------
// Spec input (what `buildOciSpec` turns into a config.json)

/** How the container sees the network. */
export type NamespaceChoice =
  /** A namespace of the container's own (a network one has only `lo`, which runc brings up). */
  | { kind: "new" }
  /** The host's (`--net host`, `--pid host`, `--ipc host`). */
  | { kind: "host" }
  /** Join an existing one: `/var/run/netns/<name>` prepared by the network layer, another container's `/proc/<pid>/ns/…`. */
  | { kind: "path"; path: string };

export type NetworkNamespace = NamespaceChoice;

/**
 * A mount in the container. Named volumes are binds of the volume's `_data`
 * directory.
 */
export type MountInput =
  | {
      /** `volume` is a bind of the volume's directory; both behave the same here. */
      type: "bind" | "volume";
      source: string;
      destination: string;
      readOnly?: boolean;
      /** Default `rprivate` (Docker's default). */
      propagation?: "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave";
    }
  | {
      type: "tmpfs";
      destination: string;
      /** mount(8) options, e.g. `["size=64m", "mode=1777"]`; `nosuid,nodev,noexec` are added like Docker does unless `exec` is given. */
      options?: string[];
    };

export interface UserIds {
  uid: number;
  gid: number;
  /** Supplementary groups (from /etc/group, plus `--group-add`). */
  additionalGids: number[];
}

/** A user resolved against the image's /etc/passwd and /etc/group. */
export interface ResolvedUser extends UserIds {
  /** Home directory from /etc/passwd, `/` when the user has no entry. */
  home: string;
}

export interface ContainerSpecInput {
  /** Absolute path of the root filesystem (the overlay-merged dir). */
  rootfs: string;
  readonlyRootfs?: boolean;
  /** Entrypoint + cmd, already combined. Must not be empty. */
  args: string[];
  /** The final environment (`KEY=value`); nothing is added. */
  env: string[];
  /** Working directory inside the container. Default `/`. */
  cwd?: string;
  user: UserIds;
  hostname: string;
  domainname?: string;
  /** Allocate a pseudo-terminal (`-t`). */
  terminal: boolean;
  /** Initial size of that terminal. */
  consoleSize?: TerminalSize;
  mounts?: MountInput[];
  network: NetworkNamespace;
  /**
   * The PID and IPC namespaces (`--pid`, `--ipc`): the container's own by default (`new`), the
   * host's, or another container's (`path`, e.g. `/proc/<pid>/ns/ipc`). UTS: own, or the host's
   * (`--uts host`: then no hostname is set).
   */
  pidNamespace?: NamespaceChoice;
  ipcNamespace?: NamespaceChoice;
  utsNamespace?: "new" | "host";
  /** `--ipc none`: no /dev/shm at all. */
  noShm?: boolean;
  /** Namespaced kernel parameters (`--sysctl`), validated by the caller. */
  sysctl?: Record<string, string>;
  /** Host files bind-mounted over the container's /etc files, each optional. */
  etcFiles?: { hosts?: string; hostname?: string; resolvConf?: string };
  /** cgroupfs path, e.g. `/wharf/<id>`. */
  cgroupsPath: string;
  /** Size of /dev/shm in bytes. Default 64 MiB (Docker's). */
  shmSize?: number;
  /** Capability names, with or without `CAP_`; replace Docker's default set when given. */
  capabilities?: string[];
  /**
   * `--privileged`: every device allowed by the device cgroup, nothing masked or read-only,
   * /sys and /sys/fs/cgroup writable. (Its capabilities and device nodes come in `capabilities` and `devices`.)
   */
  privileged?: boolean;
  /** Device nodes to create besides the runtime's default ones (a privileged container's: the host's). */
  devices?: OciDevice[];
  /** Device cgroup rules allowing more than Docker's defaults (`--device`, `--device-cgroup-rule`). */
  deviceRules?: OciDeviceRule[];
  /** Resource limits of the process (`--ulimit`); none by default. */
  rlimits?: { type: string; soft: number; hard: number }[];
  /** `--oom-score-adj`. */
  oomScoreAdj?: number;
  /** `--cgroupns private`: a cgroup namespace of its own. */
  cgroupNamespace?: boolean;
  /** The process cannot gain privileges through setuid binaries or file capabilities. */
  noNewPrivileges?: boolean;
  /**
   * The system-call filter: `default` (seccomp.ts, fitted to the capabilities; the default),
   * `unconfined` (none), or a filter of the caller's. Privileged containers get none.
   */
  seccomp?: "default" | "unconfined" | OciSeccomp;
  /** Paths hidden from the container; default Docker's (`MASKED_PATHS`); none when privileged. */
  maskedPaths?: string[];
  /** Paths mounted read-only; default Docker's (`READONLY_PATHS`); none when privileged. */
  readonlyPaths?: string[];
  /** `--security-opt writable-cgroups`: /sys/fs/cgroup read-write. */
  writableCgroups?: boolean;
  apparmorProfile?: string;
  /** Resource limits, passed through to `linux.resources` (the device allowlist is always set). */
  resources?: Omit<OciResources, "devices">;
  annotations?: Record<string, string>;
}

/** What a process run by `exec` needs; security settings come from the container. */
export interface ProcessInput {
  args: string[];
  env: string[];
  cwd?: string;
  user: UserIds;
  terminal: boolean;
  /** Initial size of the terminal. */
  consoleSize?: TerminalSize;
  /** `exec --privileged`: these capabilities instead of the container's (which it may exceed). */
  capabilities?: string[];
}

// ---------------------------------------------------------------------------
// Runtime

export interface CreateOptions {
  /** Allocate a tty; must match `spec.process.terminal`. */
  tty: boolean;
  /** Keep a stdin pipe the attachers can write to (`-i`). */
  openStdin: boolean;
  /**
   * Docker's `StdinOnce`: the container's stdin is closed when an attacher
   * half-closes its stdin (or disconnects). When false, stdin stays open
   * across attaches. Default true.
   */
  stdinOnce?: boolean;
  /**
   * The k8s-file log conmon writes (its directory is created; the path must
   * not contain `:`), or null for no log (`--log-driver none`). The log
   * outlives `delete`: it belongs to the caller.
   */
  logPath: string | null;
  /** Log file size cap in bytes (conmon truncates). Default: unlimited. */
  logSizeMax?: number;
}

export interface CreatedContainer {
  /** Host PID of the container's init process. */
  pid: number;
  conmonPid: number;
}

/** runc's view of a container (`runc state`). */
export interface RuntimeState {
  id: string;
  /** Host PID of init; 0 once stopped. */
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped";
  bundle: string;
  /** RFC 3339 */
  created: string;
}

export interface ExitStatus {
  /** The process' exit code, or 128+n when killed by signal n. */
  code: number;
  /** When conmon recorded the exit. */
  finishedAt: Date;
  /** The kernel's OOM killer hit the container (cgroup v1 event seen by conmon). */
  oomKilled: boolean;
}

export interface TerminalSize {
  height: number;
  width: number;
}

/**
 * A connection to a container's (or exec's) stdio through conmon's attach
 * socket. Several can be open at once; each sees all output produced while
 * it is connected. Output produced while nobody is attached is only in the
 * log file.
 */
export interface AttachSession {
  /** The container's stdout (with a tty: everything the tty shows). Ends when the container exits or `close()` is called. */
  readonly stdout: Readable;
  /** The container's stderr; never receives data in tty mode. Ends with `stdout`. */
  readonly stderr: Readable;
  /** Send bytes to the container's stdin (needs `openStdin`). Resolves once handed to the kernel. */
  write(data: Uint8Array | string): Promise<void>;
  /**
   * Half-close: no more input from this attacher. With `stdinOnce` (the
   * default) conmon then closes the container's stdin, which sees EOF.
   * Output keeps flowing. Safe to call twice.
   */
  closeStdin(): void;
  /** Disconnect (counts as closing stdin too). Safe to call twice. */
  close(): void;
  /** Resolves when the session has ended, whichever side ended it. */
  readonly done: Promise<void>;
}

export interface ExecOptions {
  tty: boolean;
  openStdin: boolean;
  /**
   * Connect to the process' stdio before it starts (default true). With
   * false (`docker exec -d`) output goes nowhere and `attach` is null.
   */
  attach?: boolean;
}

/** A process started in a running container. */
export interface ExecHandle {
  readonly execId: string;
  /** Host PID of the exec'd process. */
  readonly pid: number;
  /** Connected before the process started, so no output is lost; null when started with `attach: false`. */
  readonly attach: AttachSession | null;
  /** Resize the exec's tty. No-op (resolves) once the process has exited. */
  resize(size: TerminalSize): Promise<void>;
  /** Resolves with the exit code (128+n for signal n) once the process has exited. */
  readonly exitCode: Promise<number>;
}

/** Docker's `/containers/{id}/top` body. */
export interface TopResult {
  Titles: string[];
  Processes: string[][];
}

/** A container found on disk by `recover()`. */
export interface RecoveredContainer {
  id: string;
  /**
   * `created`/`running`/`paused` from runc while conmon is alive;
   * `exited` once conmon recorded an exit code; `dead` when neither runc
   * nor conmon knows it any more and no exit code was recorded (e.g. the
   * host rebooted, or conmon was killed).
   */
  status: "created" | "running" | "paused" | "exited" | "dead";
  /** Container init PID while it runs. */
  pid: number | null;
  conmonPid: number | null;
  exit: ExitStatus | null;
  /** The options it was created with. */
  options: CreateOptions;
}

/** Lifecycle of the container's init process. */
export interface ContainerLifecycle {
  /**
   * Write the bundle and run `runc create` under a new conmon. Resolves when
   * runc has created the container (the process has not started).
   * Throws `AlreadyExistsError` when the ID is in use and
   * `ProcessStartError` when the command cannot be run (runc 1.1 checks the
   * executable at create time). On failure nothing is left behind.
   */
  create(id: string, spec: OciSpec, options: CreateOptions): Promise<CreatedContainer>;
  /** `runc start`. `FailedPreconditionError` unless the container is `created`. */
  start(id: string): Promise<void>;
  /**
   * Send a signal (`"SIGTERM"`, `"TERM"`, `"9"`, 15). Default SIGKILL.
   * `FailedPreconditionError` when the container is not running; note that
   * the container's PID 1 ignores signals it has no handler for, except
   * SIGKILL.
   */
  kill(id: string, signal?: string | number): Promise<void>;
  /** Freeze all processes (cgroup freezer). `FailedPreconditionError` unless running. */
  pause(id: string): Promise<void>;
  /** Thaw. `FailedPreconditionError` unless paused. */
  resume(id: string): Promise<void>;
  /**
   * Remove the container from runc and the runtime's state on disk (not the
   * log file, not the rootfs). With `force`, a running container is killed
   * first; without, a running one is a `FailedPreconditionError`.
   * Idempotent: deleting an unknown ID resolves.
   */
  delete(id: string, options?: { force?: boolean }): Promise<void>;
}

/** What the runtime knows about a container's status. */
export interface ContainerInspector {
  /** runc's state, or null when runc does not know the container. */
  state(id: string): Promise<RuntimeState | null>;
  /**
   * The exit conmon recorded, or null while the container has not exited.
   * `NotFoundError` for an unknown ID.
   */
  exitStatus(id: string): Promise<ExitStatus | null>;
  /** Shorthand for `exitStatus(id)?.code ?? null`. */
  exitCode(id: string): Promise<number | null>;
  /**
   * Resolves with the exit code once the container has exited, also for
   * containers created by an earlier daemon process. If conmon dies
   * without recording a code, resolves with 255. Rejects with
   * `NotFoundError` for an unknown ID, or with the signal's reason when
   * aborted.
   */
  waitExit(id: string, options?: { signal?: AbortSignal }): Promise<number>;
  /** PID of the container's conmon if it is alive, else null. */
  conmonPid(id: string): Promise<number | null>;
  /** Whether the container's conmon is alive (the container may still be only `created`). */
  isAlive(id: string): Promise<boolean>;
  /**
   * Processes in the container, like `docker top` (`psArgs` default `-ef`,
   * passed to the host's `ps`). `FailedPreconditionError` unless running
   * or paused; `InvalidArgumentError` when `ps` rejects the arguments.
   */
  top(id: string, psArgs?: string): Promise<TopResult>;
  /** All containers in the exec root, for re-adoption after a daemon restart. */
  recover(): Promise<RecoveredContainer[]>;
}

/** Interactive I/O with a container. */
export interface ContainerIO {
  /**
   * Connect to the container's stdio. Works from `create` until the
   * container exits; `FailedPreconditionError` after that.
   */
  attach(id: string): Promise<AttachSession>;
  /** Resize the container's tty. Ignored (resolves) for a container without a tty or that has exited. */
  resize(id: string, size: TerminalSize): Promise<void>;
  /**
   * Run another process in a running container under its own conmon.
   * `execId` must be unique within the container. Throws
   * `ProcessStartError` when the command cannot be run and
   * `FailedPreconditionError` when the container is not running.
   */
  exec(id: string, execId: string, process: ProcessInput, options: ExecOptions): Promise<ExecHandle>;
}

export interface Runtime extends ContainerLifecycle, ContainerInspector, ContainerIO {}

// ---------------------------------------------------------------------------
// Logs

export interface LogEntry {
  stream: "stdout" | "stderr";
  /** RFC 3339 with nanoseconds, in UTC (`2024-01-02T03:04:05.123456789Z`), as Docker prints with `--timestamps`. */
  timestamp: string;
  /** The same instant in nanoseconds since the epoch (for filtering without losing precision). */
  unixNano: bigint;
  /** One line of output including its `\n` (the last line of a stream may lack one). */
  data: Buffer;
}

export interface ReadLogOptions {
  /** Only the last N entries (before `since`/`until` filtering, like Docker). */
  tail?: number;
  /** Unix seconds, entries at or after. A string (`"1700000000.123456789"`) is exact to the ns. */
  since?: number | string;
  /** Unix seconds, entries at or before; same forms as `since`. */
  until?: number | string;
  /** Default both. */
  stdout?: boolean;
  stderr?: boolean;
  /**
   * Keep reading as the file grows until this promise settles (the
   * container exited), then read what is left and finish.
   */
  follow?: Promise<unknown>;
  /** Stop early (e.g. the client went away). */
  signal?: AbortSignal;
}
