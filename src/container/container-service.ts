import { randomBytes } from "node:crypto";
import { mkdir, stat, readdir, cp } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  ConflictError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  NotModifiedError,
  isWharfError,
} from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { ImageStore, ImageRecord } from "../image/index.js";
import type { Snapshotter } from "../snapshot/index.js";
import type { Runtime, AttachSession, LogEntry, MountInput } from "../runtime/index.js";
import { buildOciSpec, hostDevices, ProcessStartError, resolveGroups, resolveUser, readLogs, seccompFromDockerProfile, type NamespaceChoice } from "../runtime/index.js";
import type { NetworkManager } from "../network/index.js";
import { effectiveCapabilities } from "./capabilities.js";
import { ContainerNetworking, networksOf, type JoinedNetwork } from "./container-network.js";
import type { ContainerStore } from "./container-store.js";
import { mergeConfig, normalizeHostConfig } from "./create-request.js";
import { resolveDevices } from "./devices.js";
import type { EventBus } from "./events.js";
import { HealthMonitor, probeCommand } from "./health-check.js";
import { findInitBinary, initPathInContainer } from "./init-binary.js";
import { checkLogsReadable, logSizeMax } from "./log-config.js";
import { fromMountSpec, inheritedMounts, parseBind, parseVolumesFrom, type MountRequest } from "./mounts.js";
import { containerRefOf } from "./namespace-options.js";
import { randomName, validName } from "./names.js";
import { ociResources, readResourceLimits } from "./resource-limits.js";
import { restartDelayMs, shouldRestart } from "./restart-policy.js";
import { parseSecurityOptions } from "./security-options.js";
import { ociRlimits } from "./ulimits.js";
import type { VolumeStore } from "./volume-store.js";
import {
  zeroTime,
  type ContainerConfig,
  type ContainerRecord,
  type ContainerState,
  type EndpointConfig,
  type HostConfig,
  type MountPoint,
} from "./types.js";

export interface CreateRequest {
  name?: string;
  config: Partial<ContainerConfig>;
  hostConfig: Partial<HostConfig>;
  /** `NetworkingConfig.EndpointsConfig`: per-network aliases and addresses. */
  endpoints?: Record<string, EndpointConfig>;
}

export type WaitCondition = "not-running" | "next-exit" | "removed";

export interface AttachOptions {
  stdin: Readable | undefined;
  stdout: boolean;
  stderr: boolean;
  /** Replay the log before streaming. */
  logs: boolean;
  /** Stream live output (false = only the logs, then done). */
  stream: boolean;
}

export type OutputSink = (stream: "stdout" | "stderr", data: Buffer) => void;

export interface LogOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  tail?: number;
  since?: number;
  until?: number;
}

interface Entry {
  record: ContainerRecord;
  /** Serializes lifecycle operations (start/stop/rm) on one container. */
  lock: Promise<unknown>;
  exitWaiters: Array<(code: number) => void>;
  removeWaiters: Array<() => void>;
  /** Attachers that arrived before start (docker run attaches, then starts). */
  pendingAttach: Array<(session: AttachSession) => void>;
  restartTimer?: NodeJS.Timeout;
  /** Exit code being delivered for a stop in progress, to tell a user stop from a crash. */
  stopping: boolean;
  /** Runs the container's health check while it runs. */
  health?: HealthMonitor;
}

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Containers: their records, their state machine
 * (created → running ⇄ paused → exited → removed), names, restart policies,
 * and re-adoption after a daemon restart. Talks to the image store for
 * configs, the snapshotter for root filesystems and the runtime for processes.
 */
export class ContainerService {
  readonly #entries = new Map<string, Entry>();
  readonly #names = new Map<string, string>();
  readonly #deps: ContainerServiceDeps;
  readonly #net: ContainerNetworking;

  constructor(deps: ContainerServiceDeps) {
    this.#deps = deps;
    this.#net = new ContainerNetworking(deps.network, (ref) => this.get(ref));
  }

  // ---------------------------------------------------------------- lookup

  /** Full ID, unique ID prefix, or name (with or without the leading slash). */
  get(ref: string): ContainerRecord {
    return this.#entry(ref).record;
  }

  list(): ContainerRecord[] {
    return [...this.#entries.values()].map((e) => e.record);
  }

  /** Bytes the container wrote into its own layer (Docker's `SizeRw`); 0 when it has none any more. */
  async sizeRw(ref: string): Promise<number> {
    const { record } = this.#entry(ref);
    return this.#deps.snapshotter.usage(record.id).then((u) => u.size, (err: unknown) => {
      if (err instanceof NotFoundError) return 0;
      throw err;
    });
  }

  /** Which containers use an image (the image service refuses to delete it). */
  usersOfImage(imageId: string): ContainerRecord[] {
    return this.list().filter((r) => r.image === imageId);
  }

  /**
   * `#entry` for a container named inside a create request (`--volumes-from`): a missing one is a
   * 400, not a 404, which clients take for a missing image and go pull.
   */
  #entryOr400(ref: string): Entry {
    try {
      return this.#entry(ref);
    } catch (err) {
      if (err instanceof NotFoundError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  }

  #entry(ref: string): Entry {
    const key = ref.startsWith("/") ? ref.slice(1) : ref;
    const byId = this.#entries.get(key);
    if (byId) return byId;
    const byName = this.#names.get(key);
    if (byName) return this.#entries.get(byName)!;
    if (/^[0-9a-f]+$/.test(key) && key.length > 0) {
      const matches = [...this.#entries.keys()].filter((id) => id.startsWith(key));
      if (matches.length === 1) return this.#entries.get(matches[0]!)!;
      if (matches.length > 1) throw new InvalidArgumentError(`multiple IDs found with provided prefix: ${key}`);
    }
    throw new NotFoundError(`No such container: ${ref}`);
  }

  #locked<T>(entry: Entry, fn: () => Promise<T>): Promise<T> {
    const run = entry.lock.then(fn, fn);
    entry.lock = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------- create

  async create(req: CreateRequest): Promise<{ id: string; warnings: string[] }> {
    const { images, snapshotter, store } = this.#deps;
    const cfg = req.config;
    if (!cfg.Image) throw new InvalidArgumentError("config cannot be empty in order to create a container");
    const image = await images.get(cfg.Image).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NotFoundError(`No such image: ${cfg.Image}`);
      throw err;
    });
    const imageConfig = image.config.config ?? {};
    const hostConfig = normalizeHostConfig(req.hostConfig);
    const config = mergeConfig(cfg, imageConfig);
    const entrypoint = config.Entrypoint ?? [];
    const cmd = config.Cmd ?? [];
    const argv = [...entrypoint, ...cmd];
    if (argv.length === 0) throw new InvalidArgumentError("No command specified");

    const networks = this.#net.plan(config, hostConfig, req.endpoints, config.Hostname !== "");
    const id = randomBytes(32).toString("hex");
    if (!config.Hostname) config.Hostname = id.slice(0, 12);
    const name = this.#claimName(req.name, id);
    try {
      const mountRequests = [
        ...(hostConfig.Binds ?? []).map(parseBind),
        ...(hostConfig.Mounts ?? []).map(fromMountSpec),
      ];
      for (const target of Object.keys(config.Volumes ?? {})) {
        if (!mountRequests.some((m) => m.target === target)) {
          mountRequests.push({ type: "volume", source: undefined, target, readOnly: false, mode: "" });
        }
      }
      const layers = await this.#prepareLayers(image);
      await Promise.all([snapshotter.createRw(id, layers), mkdir(store.dir(id), { recursive: true })]);
      const own = await this.#createMounts(id, mountRequests, image);
      const mounts = [...own];
      for (const spec of hostConfig.VolumesFrom ?? []) {
        const from = parseVolumesFrom(spec);
        // A 400, not a 404: clients take a 404 on create for a missing image and go pull it.
        const lender = this.#entryOr400(from.container);
        mounts.push(...inheritedMounts(mounts, lender.record.mounts, from.readOnly));
      }
      const now = new Date().toISOString();
      const record: ContainerRecord = {
        id,
        name,
        created: now,
        image: image.id,
        path: argv[0]!,
        args: argv.slice(1),
        config,
        hostConfig,
        state: initialState(),
        mounts,
        networks,
        restartCount: 0,
        manuallyStopped: false,
        logPath: join(store.dir(id), `${id}-json.log`),
      };
      await store.save(record);
      this.#entries.set(id, { record, lock: Promise.resolve(), exitWaiters: [], removeWaiters: [], pendingAttach: [], stopping: false });
      for (const m of mounts) if (m.Type === "volume" && m.Name) this.#deps.volumes.use(m.Name, id);
      this.#emit(record, "create");
      return { id, warnings: [] };
    } catch (err) {
      this.#names.delete(name);
      await snapshotter.remove(id).catch(() => undefined);
      await store.remove(id).catch(() => undefined);
      throw err;
    }
  }

  #claimName(requested: string | undefined, id: string): string {
    if (requested !== undefined && requested !== "") {
      const name = requested.startsWith("/") ? requested.slice(1) : requested;
      if (!validName.test(name)) {
        throw new InvalidArgumentError(`Invalid container name (${requested}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      }
      const owner = this.#names.get(name);
      if (owner) {
        throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
      this.#names.set(name, id);
      return name;
    }
    for (let attempt = 0; ; attempt++) {
      const name = randomName(attempt);
      if (!this.#names.has(name)) {
        this.#names.set(name, id);
        return name;
      }
    }
  }

  async #prepareLayers(image: ImageRecord): Promise<string[]> {
    const { content, snapshotter } = this.#deps;
    return snapshotter.prepareImage(
      image.layers.map((l) => ({ diffId: l.diffId, open: () => content.readStream(l.digest) })),
    );
  }

  async #createMounts(id: string, requests: MountRequest[], image: ImageRecord): Promise<MountPoint[]> {
    const { volumes, snapshotter } = this.#deps;
    const out: MountPoint[] = [];
    for (const m of requests) {
      if (m.type === "bind") {
        // Like `docker run -v`, a missing host directory is created.
        await stat(m.source!).catch(() => mkdir(m.source!, { recursive: true }));
        out.push({ Type: "bind", Source: m.source!, Destination: m.target, Mode: m.mode, RW: !m.readOnly, Propagation: "rprivate" });
      } else if (m.type === "volume") {
        const vol = await volumes.create(m.source, { anonymous: m.source === undefined });
        // A new, empty volume starts with the image's content at that path (Docker's copy-up).
        if ((await readdir(vol.Mountpoint)).length === 0 && image.layers.length > 0) {
          const merged = await snapshotter.mount(id);
          try {
            const from = join(merged, m.target);
            if ((await stat(from).catch(() => undefined))?.isDirectory()) {
              await cp(from, vol.Mountpoint, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
            }
          } finally {
            await snapshotter.unmount(id);
          }
        }
        out.push({ Type: "volume", Name: vol.Name, Source: vol.Mountpoint, Destination: m.target, Driver: "local", Mode: m.mode, RW: !m.readOnly, Propagation: "", anonymous: vol.anonymous });
      } else {
        out.push({ Type: "tmpfs", Source: "", Destination: m.target, Mode: m.mode, RW: !m.readOnly, Propagation: "" });
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- start

  async start(ref: string): Promise<void> {
    const entry = this.#entry(ref);
    await this.#locked(entry, async () => {
      try {
        await this.#start(entry);
      } catch (err) {
        // Like Docker, a --rm container that cannot start is removed (clients wait for that).
        if (entry.record.hostConfig.AutoRemove && !(err instanceof NotModifiedError)) {
          await this.#remove(entry, { force: true, volumes: true }).catch(() => undefined);
        }
        throw err;
      }
    });
  }

  async #start(entry: Entry): Promise<void> {
    const { record } = entry;
    if (record.state.Status === "removing") throw new ConflictError(`container is marked for removal and cannot be started`);
    if (record.state.Paused) throw new ConflictError(`cannot start a paused container, try unpause instead`);
    if (record.state.Running) throw new NotModifiedError(`container already started`);
    if (entry.restartTimer) {
      clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
    }
    const { runtime, snapshotter } = this.#deps;
    // The root filesystem and the network sandbox do not depend on each other: both at once.
    // A --rm container's writable layer goes with it: never worth a sync.
    const mountRootfs = snapshotter.mount(record.id, { volatile: record.hostConfig.AutoRemove === true });
    const [mounted, network] = await Promise.allSettled([mountRootfs, this.#joinNetwork(record)]);
    if (mounted.status === "rejected") {
      if (network.status === "fulfilled") {
        await this.#net.leave(record.id).catch((e: unknown) => this.#deps.log.warn(`network teardown ${record.id}: ${String(e)}`));
      }
      throw mounted.reason;
    }
    const merged = mounted.value;
    try {
      if (network.status === "rejected") throw network.reason;
      const joined = network.value;
      // Clearing runtime leftovers of an earlier run and building the spec are independent.
      const [spec] = await Promise.all([this.#spec(record, merged, joined), runtime.delete(record.id, { force: true }).catch(() => undefined)]);
      const { pid } = await runtime.create(record.id, spec, {
        tty: record.config.Tty,
        openStdin: record.config.OpenStdin,
        stdinOnce: record.config.StdinOnce,
        logPath: record.hostConfig.LogConfig?.Type === "none" ? null : record.logPath,
        logSizeMax: logSizeMax(record.hostConfig.LogConfig),
      });
      const pending = entry.pendingAttach.splice(0);
      for (const connect of pending) {
        connect(await runtime.attach(record.id));
      }
      await runtime.start(record.id);
      record.state = {
        ...record.state,
        Status: "running",
        Running: true,
        Paused: false,
        Restarting: false,
        Pid: pid,
        ExitCode: 0,
        Error: "",
        StartedAt: new Date().toISOString(),
        FinishedAt: zeroTime,
      };
      record.manuallyStopped = false;
      const health = probeCommand(record.config.Healthcheck);
      if (health) record.state.Health = { Status: "starting", FailingStreak: 0, Log: [] };
      await this.#deps.store.save(record);
      this.#watchExit(entry);
      this.#watchHealth(entry);
      this.#emit(record, "start");
    } catch (err) {
      await runtime.delete(record.id, { force: true }).catch(() => undefined);
      await this.#net.leave(record.id).catch((e: unknown) => this.#deps.log.warn(`network teardown ${record.id}: ${String(e)}`));
      await snapshotter.unmount(record.id).catch(() => undefined);
      const message = err instanceof Error ? err.message : String(err);
      record.state = { ...record.state, Error: message, ExitCode: err instanceof ProcessStartError ? err.exitCode : 128 };
      await this.#deps.store.save(record).catch(() => undefined);
      if (isWharfError(err)) throw err;
      throw new InternalError(message, { cause: err });
    }
  }

  async #joinNetwork(record: ContainerRecord): Promise<JoinedNetwork> {
    // A sandbox left by an exit not yet processed would make the attach fail.
    if (this.#net.sandboxOf(record.id)) await this.#net.leave(record.id);
    return this.#net.join(record);
  }

  async #spec(record: ContainerRecord, rootfs: string, net: JoinedNetwork) {
    const { config, hostConfig } = record;
    const privileged = hostConfig.Privileged;
    const [user, extraGids, devices, init, asked] = await Promise.all([
      resolveUser(rootfs, config.User),
      resolveGroups(rootfs, hostConfig.GroupAdd ?? []),
      privileged ? hostDevices() : undefined,
      hostConfig.Init ? findInitBinary() : undefined,
      resolveDevices(hostConfig.Devices ?? [], hostConfig.DeviceCgroupRules ?? []),
    ]);
    user.additionalGids = [...new Set([...user.additionalGids, ...extraGids])];
    const security = parseSecurityOptions(hostConfig.SecurityOpt);
    const caps = effectiveCapabilities({ privileged, capAdd: hostConfig.CapAdd, capDrop: hostConfig.CapDrop });
    const pid = this.#sharedNamespace(hostConfig.PidMode ?? "", "pid");
    const ipcMode = hostConfig.IpcMode ?? "private";
    const ipc = this.#sharedNamespace(ipcMode, "ipc");
    const mounts = record.mounts.map(mountInput);
    // `--ipc host` comes with the host's /dev/shm (POSIX shared memory lives there). Another
    // container's is not reachable from here (a bind mount cannot cross mount namespaces): with
    // `--ipc container:` the System V IPC is shared, /dev/shm stays the container's own.
    const hostShm = ipc?.kind === "host";
    if (hostShm) mounts.push({ type: "bind", source: "/dev/shm", destination: "/dev/shm", readOnly: false });
    // Link variables first: the container's own settings win, as in Docker.
    const own = new Set(config.Env.map((e) => e.split("=", 1)[0]));
    const env = [...net.env.filter((e) => !own.has(e.split("=", 1)[0])), ...config.Env];
    const has = (k: string) => env.some((e) => e.startsWith(`${k}=`));
    if (!has("PATH")) env.unshift(defaultPath);
    if (!has("HOSTNAME")) env.push(`HOSTNAME=${config.Hostname}`);
    if (config.Tty && !has("TERM")) env.push("TERM=xterm");
    if (!has("HOME")) env.push(`HOME=${user.home ?? "/root"}`);
    return buildOciSpec({
      rootfs,
      args: init ? [initPathInContainer, "--", record.path, ...record.args] : [record.path, ...record.args],
      env,
      cwd: config.WorkingDir || "/",
      user,
      hostname: config.Hostname,
      domainname: config.Domainname || undefined,
      terminal: config.Tty,
      consoleSize: consoleSizeOf(hostConfig.ConsoleSize),
      readonlyRootfs: hostConfig.ReadonlyRootfs,
      mounts: init ? [...mounts, { type: "bind", source: init, destination: initPathInContainer, readOnly: true }] : mounts,
      network: net.namespace,
      pidNamespace: pid,
      ipcNamespace: ipc,
      noShm: ipcMode === "none" || hostShm,
      utsNamespace: hostConfig.UTSMode === "host" ? "host" : "new",
      sysctl: hostConfig.Sysctls ?? undefined,
      etcFiles: net.etcFiles,
      cgroupsPath: `/${(hostConfig.CgroupParent || "wharf").replace(/^\/+|\/+$/g, "")}/${record.id}`,
      cgroupNamespace: hostConfig.CgroupnsMode === "private",
      shmSize: hostConfig.ShmSize,
      capabilities: caps,
      seccomp: security.seccomp === "default" || security.seccomp === "unconfined" ? security.seccomp : seccompFromDockerProfile(security.seccomp, caps),
      privileged,
      devices: [...(devices ?? []), ...asked.devices],
      deviceRules: asked.allow,
      rlimits: ociRlimits(hostConfig.Ulimits ?? []),
      oomScoreAdj: hostConfig.OomScoreAdj,
      annotations: hostConfig.Annotations ?? undefined,
      noNewPrivileges: security.noNewPrivileges,
      maskedPaths: security.unmaskedSystemPaths ? [] : (hostConfig.MaskedPaths ?? undefined),
      readonlyPaths: security.unmaskedSystemPaths ? [] : (hostConfig.ReadonlyPaths ?? undefined),
      writableCgroups: security.writableCgroups,
      apparmorProfile: security.apparmorProfile,
      resources: ociResources(readResourceLimits(hostConfig as unknown as Record<string, unknown>)),
    });
  }

  /** The namespace a `--pid`/`--ipc` mode asks for: the host's, another running container's, or (undefined) one of its own. */
  #sharedNamespace(mode: string, type: "pid" | "ipc"): NamespaceChoice | undefined {
    if (mode === "host") return { kind: "host" };
    const ref = containerRefOf(mode);
    if (ref === undefined) return undefined;
    const other = this.#entry(ref).record;
    if (!other.state.Running) throw new ConflictError(`cannot join ${type === "pid" ? "PID" : "IPC"} of a non running container: ${ref}`);
    return { kind: "path", path: `/proc/${other.state.Pid}/ns/${type}` };
  }

  /** Starts the container's health check, if it has one (at start, and for a re-adopted container). */
  #watchHealth(entry: Entry): void {
    const { record } = entry;
    const cmd = probeCommand(record.config.Healthcheck);
    if (!cmd) return;
    entry.health?.stop();
    const monitor = new HealthMonitor(cmd, record.config.Healthcheck!, (argv, timeoutMs) => this.#probe(record, argv, timeoutMs), (state, changed) => {
      if (entry.health !== monitor) return;
      record.state.Health = state;
      if (!changed) return;
      this.#emit(record, `health_status: ${state.Status}`);
      void this.#deps.store.save(record).catch((err: unknown) => this.#deps.log.warn(`saving ${record.id}: ${String(err)}`));
    });
    entry.health = monitor;
    monitor.start();
  }

  /** One health probe: the command as an exec of the container's user, killed at the timeout. */
  async #probe(record: ContainerRecord, argv: string[], timeoutMs: number): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    const { config } = record;
    const user = await resolveUser(`/proc/${record.state.Pid}/root`, config.User);
    const env = config.Env.some((e) => e.startsWith("HOSTNAME=")) ? config.Env : [...config.Env, `HOSTNAME=${config.Hostname}`];
    const handle = await this.#deps.runtime.exec(
      record.id,
      randomBytes(16).toString("hex"),
      { args: argv, env, cwd: config.WorkingDir || "/", user, terminal: false },
      { tty: false, openStdin: false },
    );
    const chunks: Buffer[] = [];
    handle.attach?.stdout.on("data", (b: Buffer) => chunks.push(b));
    handle.attach?.stderr.on("data", (b: Buffer) => chunks.push(b));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    const outcome = await Promise.race([handle.exitCode, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      try {
        process.kill(handle.pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
      handle.attach?.close();
      return { exitCode: -1, output: "", timedOut: true };
    }
    await handle.attach?.done;
    return { exitCode: outcome, output: Buffer.concat(chunks).toString("utf8"), timedOut: false };
  }

  #watchExit(entry: Entry): void {
    const id = entry.record.id;
    this.#deps.runtime.waitExit(id).then(
      (code) => this.#onExit(entry, code),
      (err: unknown) => this.#deps.log.error(`waiting for container ${id}: ${String(err)}`),
    );
  }

  async #onExit(entry: Entry, code: number): Promise<void> {
    const { record } = entry;
    if (!this.#entries.has(record.id)) return;
    entry.health?.stop();
    entry.health = undefined;
    const { runtime, snapshotter, store, log } = this.#deps;
    record.state = {
      ...record.state,
      Status: "exited",
      Running: false,
      Paused: false,
      Restarting: false,
      Pid: 0,
      ExitCode: code,
      FinishedAt: new Date().toISOString(),
    };
    // The init has exited, and with it its PID namespace: nothing of the container uses the sandbox or the
    // rootfs any more. Undo them, the runtime's side and the record of the exit all at once.
    await Promise.all([
      runtime.delete(record.id, { force: true }).catch((err: unknown) => log.warn(`runtime delete ${record.id}: ${String(err)}`)),
      this.#net.leave(record.id).catch((err: unknown) => log.warn(`network teardown ${record.id}: ${String(err)}`)),
      snapshotter.unmount(record.id).catch((err: unknown) => log.warn(`unmount ${record.id}: ${String(err)}`)),
      store.save(record).catch((err: unknown) => log.error(`saving ${record.id}: ${String(err)}`)),
    ]);
    this.#emit(record, "die", { exitCode: String(code) });
    for (const w of entry.exitWaiters.splice(0)) w(code);

    const stoppedByUser = entry.stopping || record.manuallyStopped;
    if (record.hostConfig.AutoRemove && !entry.stopping) {
      await this.#remove(entry, { force: true, volumes: true }).catch((err: unknown) => log.error(`auto-remove ${record.id}: ${String(err)}`));
      return;
    }
    if (!stoppedByUser && shouldRestart(record.hostConfig.RestartPolicy, code, record.restartCount)) {
      const delay = restartDelayMs(record.restartCount, record.state.StartedAt);
      record.restartCount++;
      record.state = { ...record.state, Status: "restarting", Restarting: true };
      entry.restartTimer = setTimeout(() => {
        entry.restartTimer = undefined;
        this.#locked(entry, () => this.#start(entry)).catch((err: unknown) => {
          log.error(`restarting ${record.id}: ${String(err)}`);
          record.state = { ...record.state, Status: "exited", Restarting: false };
        });
      }, delay);
      entry.restartTimer.unref();
    }
  }

  // ---------------------------------------------------------------- stop, kill

  /** Sends the stop signal, then SIGKILL after `timeout` seconds; resolves once the container has exited. */
  async stop(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const entry = this.#entry(ref);
    await this.#locked(entry, () => this.#stop(entry, opts));
  }

  async #stop(entry: Entry, opts: { timeout?: number; signal?: string }): Promise<void> {
    const { record } = entry;
    if (entry.restartTimer) {
      clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
      record.state = { ...record.state, Status: "exited", Restarting: false };
      record.manuallyStopped = true;
      await this.#deps.store.save(record);
      return;
    }
    if (!record.state.Running) throw new NotModifiedError(`container already stopped`);
    const { runtime } = this.#deps;
    record.manuallyStopped = true;
    entry.stopping = true;
    try {
      const exited = new Promise<number>((resolve) => entry.exitWaiters.push(resolve));
      if (record.state.Paused) await runtime.resume(record.id).catch(() => undefined);
      const timeout = opts.timeout ?? record.config.StopTimeout ?? 10;
      const signal = opts.signal ?? record.config.StopSignal ?? "SIGTERM";
      await runtime.kill(record.id, signal).catch(() => undefined);
      const timer = timeout >= 0 ? delay(timeout * 1000) : new Promise<void>(() => undefined);
      const first = await Promise.race([exited.then(() => "exited" as const), timer.then(() => "timeout" as const)]);
      if (first === "timeout") {
        await runtime.kill(record.id, "SIGKILL").catch(() => undefined);
        await exited;
      }
      this.#emit(record, "stop");
    } finally {
      entry.stopping = false;
    }
    if (record.hostConfig.AutoRemove) await this.#remove(entry, { force: true, volumes: true });
  }

  async kill(ref: string, signal = "SIGKILL"): Promise<void> {
    const entry = this.#entry(ref);
    const { record } = entry;
    if (!record.state.Running) throw new ConflictError(`Cannot kill container: ${ref}: Container ${record.id} is not running`);
    const sig = signal.toUpperCase();
    if (sig === "SIGKILL" || sig === "KILL" || sig === "9") record.manuallyStopped = true;
    await this.#deps.runtime.kill(record.id, signal);
    this.#emit(record, "kill", { signal });
  }

  async restart(ref: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    const entry = this.#entry(ref);
    await this.#locked(entry, async () => {
      if (entry.record.state.Running) {
        entry.stopping = true;
        await this.#stop(entry, opts).catch((err: unknown) => {
          if (!(err instanceof NotModifiedError)) throw err;
        });
      }
      await this.#start(entry);
      this.#emit(entry.record, "restart");
    });
  }

  async pause(ref: string): Promise<void> {
    const entry = this.#entry(ref);
    const { record } = entry;
    if (!record.state.Running) throw new ConflictError(`Container ${record.id} is not running`);
    if (record.state.Paused) throw new ConflictError(`Container ${record.id} is already paused`);
    await this.#deps.runtime.pause(record.id);
    record.state = { ...record.state, Status: "paused", Paused: true };
    await this.#deps.store.save(record);
    this.#emit(record, "pause");
  }

  async unpause(ref: string): Promise<void> {
    const entry = this.#entry(ref);
    const { record } = entry;
    if (!record.state.Paused) throw new ConflictError(`Container ${record.id} is not paused`);
    await this.#deps.runtime.resume(record.id);
    record.state = { ...record.state, Status: "running", Paused: false };
    await this.#deps.store.save(record);
    this.#emit(record, "unpause");
  }

  async rename(ref: string, newName: string): Promise<void> {
    const entry = this.#entry(ref);
    const name = newName.startsWith("/") ? newName.slice(1) : newName;
    if (!validName.test(name)) throw new InvalidArgumentError(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (name === entry.record.name) throw new InvalidArgumentError(`Renaming a container with the same name as its current name`);
    const owner = this.#names.get(name);
    if (owner) throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${owner}". You have to remove (or rename) that container to be able to reuse that name.`);
    const oldName = entry.record.name;
    this.#names.set(name, entry.record.id);
    this.#names.delete(oldName);
    entry.record.name = name;
    await this.#deps.store.save(entry.record);
    await this.#deps.network.rename(entry.record.id, name).catch((err: unknown) => this.#deps.log.warn(`network rename ${entry.record.id}: ${String(err)}`));
    this.#emit(entry.record, "rename", { oldName: `/${oldName}` });
  }

  // ---------------------------------------------------------------- networks

  /** The container's live sandbox (addresses, bound ports, /etc files), if it has one. */
  sandboxOf(ref: string): ReturnType<ContainerNetworking["sandboxOf"]> {
    return this.#net.sandboxOf(this.#entry(ref).record.id);
  }

  /** `docker network connect`: remembered for the next start, and wired now if the container runs. */
  async connectNetwork(ref: string, network: string, cfg: EndpointConfig): Promise<void> {
    const entry = this.#entry(ref);
    await this.#locked(entry, async () => {
      const { record } = entry;
      const name = this.#net.checkConnect(record, network, cfg);
      if (this.#net.sandboxOf(record.id)) {
        await this.#deps.network.connect(record.id, name, { aliases: cfg.Aliases ?? undefined, ipv4: cfg.IPAMConfig?.IPv4Address || undefined });
      }
      record.networks = { ...networksOf(record), [name]: { ...cfg } };
      await this.#deps.store.save(record);
    });
  }

  /** `docker network disconnect`. */
  async disconnectNetwork(ref: string, network: string, force: boolean): Promise<void> {
    const entry = this.#entry(ref);
    await this.#locked(entry, async () => {
      const { record } = entry;
      const name = this.#deps.network.get(network).Name;
      const networks = { ...networksOf(record) };
      if (!networks[name] && !force) throw new NotFoundError(`container ${record.id} is not connected to network ${name}`);
      if (this.#net.sandboxOf(record.id)?.endpoints.some((e) => e.network === name)) {
        await this.#deps.network.disconnect(record.id, name, force);
      }
      delete networks[name];
      record.networks = networks;
      await this.#deps.store.save(record);
    });
  }

  // ---------------------------------------------------------------- remove

  async remove(ref: string, opts: { force: boolean; volumes: boolean }): Promise<void> {
    const entry = this.#entry(ref);
    await this.#locked(entry, () => this.#remove(entry, opts));
  }

  /** `docker container prune`: removes the stopped containers `filter` accepts; their IDs and the bytes their writable layers held. */
  async prune(filter: (record: ContainerRecord) => boolean = () => true): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const r of this.list()) {
      if (r.state.Running || r.state.Restarting || !filter(r)) continue;
      const size = await this.sizeRw(r.id).catch(() => 0);
      try {
        await this.remove(r.id, { force: false, volumes: false });
      } catch (err) {
        // Started or removed meanwhile: not stopped any more, or gone already (dockerd skips them too).
        if (err instanceof ConflictError || err instanceof NotFoundError) continue;
        throw err;
      }
      deleted.push(r.id);
      reclaimed += size;
    }
    return { deleted, reclaimed };
  }

  async #remove(entry: Entry, opts: { force: boolean; volumes: boolean }): Promise<void> {
    const { record } = entry;
    const { runtime, snapshotter, store, volumes } = this.#deps;
    if (!this.#entries.has(record.id)) return;
    if (record.state.Running && !opts.force) {
      const what = record.state.Paused ? "paused" : "running";
      throw new ConflictError(`cannot remove container "/${record.name}": container is ${what}: stop the container before removing or force remove`);
    }
    if (entry.restartTimer) clearTimeout(entry.restartTimer);
    if (record.state.Running) {
      record.manuallyStopped = true;
      entry.stopping = true;
      const exited = new Promise<number>((resolve) => entry.exitWaiters.push(resolve));
      if (record.state.Paused) await runtime.resume(record.id).catch(() => undefined);
      await runtime.kill(record.id, "SIGKILL").catch(() => undefined);
      await exited;
      entry.stopping = false;
    }
    record.state = { ...record.state, Status: "removing" };
    await runtime.delete(record.id, { force: true }).catch(() => undefined);
    const results = await Promise.allSettled([this.#net.leave(record.id), snapshotter.remove(record.id)]);
    for (const r of results) if (r.status === "rejected") throw r.reason;
    for (const m of record.mounts) {
      if (m.Type !== "volume" || !m.Name) continue;
      volumes.release(m.Name, record.id);
      if (opts.volumes && m.anonymous && volumes.usersOf(m.Name) === 0) await volumes.remove(m.Name).catch(() => undefined);
    }
    await store.remove(record.id);
    this.#entries.delete(record.id);
    if (this.#names.get(record.name) === record.id) this.#names.delete(record.name);
    this.#emit(record, "destroy");
    for (const w of entry.removeWaiters.splice(0)) w();
  }

  // ---------------------------------------------------------------- wait

  /**
   * Registers a waiter now (so a `docker run` that waits before it starts
   * sees the exit) and returns the promise of the exit code.
   */
  wait(ref: string, condition: WaitCondition): Promise<number> {
    const entry = this.#entry(ref);
    const { record } = entry;
    if (condition === "removed") {
      return new Promise((resolve) => entry.removeWaiters.push(() => resolve(record.state.ExitCode)));
    }
    if (condition === "not-running" && !record.state.Running && !record.state.Restarting) {
      return Promise.resolve(record.state.ExitCode);
    }
    return new Promise((resolve) => entry.exitWaiters.push(resolve));
  }

  // ---------------------------------------------------------------- attach, logs

  /**
   * Connects a client to the container's stdio. Returns when the container
   * exits or `detach` is called. Before start, the attachment waits and is
   * wired just before the process begins, so no output is lost.
   */
  async attach(ref: string, opts: AttachOptions, sink: OutputSink): Promise<{ done: Promise<void>; detach: () => void }> {
    const entry = this.#entry(ref);
    const { record } = entry;
    if (opts.logs && record.hostConfig.LogConfig?.Type !== "none") {
      for await (const e of readLogs(record.logPath)) {
        if ((e.stream === "stdout" && opts.stdout) || (e.stream === "stderr" && opts.stderr)) sink(e.stream, e.data);
      }
    }
    if (!opts.stream) return { done: Promise.resolve(), detach: () => undefined };
    let session: AttachSession | undefined;
    let detached = false;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const wire = (s: AttachSession) => {
      if (detached) {
        s.close();
        return;
      }
      session = s;
      pipeSession(s, { ...opts, tty: record.config.Tty }, sink);
      void s.done.then(() => resolveDone());
    };
    if (record.state.Running) {
      wire(await this.#deps.runtime.attach(record.id));
    } else {
      entry.pendingAttach.push(wire);
      // If the container is removed or never starts, the attachment still ends.
      entry.removeWaiters.push(resolveDone);
    }
    return {
      done,
      detach: () => {
        detached = true;
        session?.close();
        resolveDone();
      },
    };
  }

  async resize(ref: string, height: number, width: number): Promise<void> {
    const { record } = this.#entry(ref);
    if (!record.state.Running) throw new ConflictError(`Container ${record.id} is not running`);
    await this.#deps.runtime.resize(record.id, { height, width });
  }

  /**
   * The container's log, as recorded by conmon; with `follow`, until the container stops.
   * An unknown container or one that keeps no log is an error now, before the first entry is asked for.
   */
  logs(ref: string, opts: LogOptions): AsyncGenerator<LogEntry> {
    const entry = this.#entry(ref);
    checkLogsReadable(entry.record.hostConfig.LogConfig);
    return this.#logs(entry, opts);
  }

  async *#logs(entry: Entry, opts: LogOptions): AsyncGenerator<LogEntry> {
    const { record } = entry;
    const stopped = record.state.Running
      ? new Promise<void>((resolve) => {
          entry.exitWaiters.push(() => resolve());
          entry.removeWaiters.push(resolve);
        })
      : Promise.resolve();
    for await (const e of readLogs(record.logPath, {
      follow: opts.follow ? stopped : undefined,
      tail: opts.tail,
      since: opts.since,
      until: opts.until,
    })) {
      if ((e.stream === "stdout" && opts.stdout) || (e.stream === "stderr" && opts.stderr)) yield e;
    }
  }

  async top(ref: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    const { record } = this.#entry(ref);
    if (!record.state.Running) throw new ConflictError(`Container ${record.id} is not running`);
    return this.#deps.runtime.top(record.id, psArgs);
  }

  /** For exec: the running container record, or a 409 like Docker's. */
  runningForExec(ref: string): ContainerRecord {
    const { record } = this.#entry(ref);
    if (!record.state.Running) throw new ConflictError(`container ${record.id} is not running`);
    if (record.state.Paused) throw new ConflictError(`container ${record.id} is paused, unpause the container before exec`);
    return record;
  }

  /**
   * Root filesystem path of a container for archive operations, mounted on
   * demand; call `release` when done. The `container` view (for `docker cp`)
   * is what the running process sees, binds and volumes included; the `layer`
   * view (for `docker export`) is the image layers plus the container's own
   * changes only, as Docker exports them.
   */
  async rootfsFor(ref: string, view: "container" | "layer" = "container"): Promise<{ record: ContainerRecord; root: string; release: () => Promise<void> }> {
    const { record } = this.#entry(ref);
    if (view === "container" && record.state.Running && record.state.Pid > 0) {
      // Seen through the container's own mount namespace, binds and volumes included.
      return { record, root: `/proc/${record.state.Pid}/root`, release: async () => undefined };
    }
    const root = await this.#deps.snapshotter.mount(record.id);
    return {
      record,
      root,
      release: async () => {
        if (!this.#entry(ref).record.state.Running) await this.#deps.snapshotter.unmount(record.id).catch(() => undefined);
      },
    };
  }

  /** Emits a container event with Docker's standard attributes. */
  emit(ref: string, action: string, extra: Record<string, string> = {}): void {
    this.#emit(this.#entry(ref).record, action, extra);
  }

  #emit(record: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.#deps.events.emit("container", action, record.id, {
      ...record.config.Labels,
      image: record.config.Image,
      name: record.name,
      ...extra,
    });
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Re-adopts containers after a daemon (re)start: running ones keep
   * running and are watched again; ones that exited meanwhile get their real
   * exit code; `always`/`unless-stopped` ones are started again.
   */
  async recover(): Promise<void> {
    const { store, runtime, log, snapshotter, volumes } = this.#deps;
    await store.init();
    const { records, broken } = await store.loadAll();
    for (const id of broken) {
      log.warn(`removing incomplete container ${id}`);
      await runtime.delete(id, { force: true }).catch(() => undefined);
      await snapshotter.remove(id).catch(() => undefined);
      await store.remove(id);
    }
    const toStart: Entry[] = [];
    const live: string[] = [];
    for (const record of records) {
      const entry: Entry = { record, lock: Promise.resolve(), exitWaiters: [], removeWaiters: [], pendingAttach: [], stopping: false };
      this.#entries.set(record.id, entry);
      this.#names.set(record.name, record.id);
      for (const m of record.mounts) if (m.Type === "volume" && m.Name) volumes.use(m.Name, record.id);
      if (record.state.Running || record.state.Restarting) {
        const code = await runtime.exitCode(record.id).catch(() => null);
        const alive = code === null && (await runtime.state(record.id).catch(() => null)) !== null;
        if (alive) {
          log.info(`re-adopted running container ${record.id.slice(0, 12)}`);
          live.push(record.id);
          this.#watchExit(entry);
          this.#watchHealth(entry);
          continue;
        }
        await this.#onExit(entry, code ?? 255);
        if (record.hostConfig.AutoRemove) continue;
      }
      const policy = record.hostConfig.RestartPolicy.Name;
      if (policy === "always" || (policy === "unless-stopped" && !record.manuallyStopped)) {
        if (!record.state.Running && record.state.StartedAt !== zeroTime) toStart.push(entry);
      }
    }
    // Sandboxes of containers that are gone are removed; live ones keep theirs.
    await this.#deps.network.recover(live);
    for (const entry of toStart) {
      entry.record.manuallyStopped = false;
      this.#locked(entry, () => this.#start(entry)).catch((err: unknown) => log.error(`restarting ${entry.record.id}: ${String(err)}`));
    }
  }
}

export interface ContainerServiceDeps {
  store: ContainerStore;
  images: ImageStore;
  content: { readStream(digest: string): Promise<Readable> };
  snapshotter: Snapshotter;
  runtime: Runtime;
  volumes: VolumeStore;
  network: NetworkManager;
  events: EventBus;
  log: Logger;
}

/**
 * Streams an attach session to a client: output to `sink`, the client's
 * bytes to the container's stdin, and the client's EOF as a half-close
 * (which closes the container's stdin when it was started with StdinOnce).
 */
export function pipeSession(s: AttachSession, opts: { stdin: Readable | undefined; stdout: boolean; stderr: boolean; tty: boolean }, sink: OutputSink): void {
  if (opts.stdout) s.stdout.on("data", (d: Buffer) => sink("stdout", d));
  else s.stdout.resume();
  if (opts.stderr) s.stderr.on("data", (d: Buffer) => sink("stderr", d));
  else s.stderr.resume();
  if (opts.stdin) {
    opts.stdin.on("data", (chunk: Buffer) => void s.write(chunk).catch(() => undefined));
    // With a tty, end of input is a ^D the terminal already sent; closing conmon's
    // stdin would close the pty master and cut the output short.
    if (!opts.tty) opts.stdin.once("end", () => s.closeStdin());
  }
}

export function consoleSizeOf(v: [number, number] | undefined): { height: number; width: number } | undefined {
  return v && v[0] > 0 && v[1] > 0 ? { height: v[0], width: v[1] } : undefined;
}

function mountInput(m: MountPoint): MountInput {
  if (m.Type === "tmpfs") return { type: "tmpfs", destination: m.Destination };
  return { type: "bind", source: m.Source, destination: m.Destination, readOnly: !m.RW };
}

function initialState(): ContainerState {
  return {
    Status: "created",
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: "",
    StartedAt: zeroTime,
    FinishedAt: zeroTime,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
