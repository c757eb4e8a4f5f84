/**
 * The two engines the benchmark compares, each a real daemon on its own
 * temporary roots: `wharf daemon` and Debian's `dockerd` (which starts its
 * own containerd). Lifecycle: `start()` → measure → `stop()`; `stop()` is safe
 * to call twice and after a failed or partial `start()`, and never throws.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";
import { UnavailableError } from "../src/lib/errors.js";
import { childrenOf, commandLine, isAlive, killPid, ping, pidsMentioning, runTimed, sleep, stopPid, type Timed } from "./proc-tools.js";

const execFileP = promisify(execFile);

export const repoRoot = resolve(import.meta.dirname, "../..");
export const wharfBin = join(repoRoot, "bin/wharf.js");
export const busyboxTar = join(repoRoot, ".cache/busybox.tar");
/** The docker CLI the brief names (client 28); Debian's older one only as a fallback. */
export const dockerBin = existsSync("/usr/local/bin/docker") ? "/usr/local/bin/docker" : "docker";

export interface RssPart {
  pid: number;
  role: string;
}

export abstract class EngineSide {
  abstract readonly label: "wharf" | "docker";
  readonly dir: string;
  readonly socket: string;
  protected proc: ChildProcess | undefined;
  protected readonly logFile: string;
  #stopped = false;

  constructor(root: string, name: string, socketName: string) {
    this.dir = join(root, name);
    this.socket = join(this.dir, socketName);
    this.logFile = join(this.dir, "daemon.log");
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  get daemonPid(): number {
    return this.proc?.pid ?? 0;
  }

  abstract start(): Promise<void>;

  /** The side's own CLI: `wharf …` against wharf, `docker …` against dockerd. */
  cli(args: string[], timeoutMs?: number): Promise<Timed> {
    return this.#track(() => this.runOwnCli(args, timeoutMs));
  }

  /** The real docker CLI against this side's daemon. */
  dockerCli(args: string[], timeoutMs?: number): Promise<Timed> {
    return this.#track(() => runTimed(dockerBin, args, this.dockerEnv(), timeoutMs));
  }

  protected abstract runOwnCli(args: string[], timeoutMs?: number): Promise<Timed>;

  readonly #inFlight = new Set<Promise<Timed>>();

  /**
   * Once stop() began, the measuring code (still running after a Ctrl-C)
   * may not start anything new; what is already running is waited for, so
   * the cleanup's container list is complete.
   */
  #track(run: () => Promise<Timed>): Promise<Timed> {
    if (this.#stopped) return Promise.resolve({ code: -1, stdout: "", stderr: "benchmark is stopping", ms: 0 });
    const p = run();
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
    return p;
  }

  #rawCli(args: string[], timeoutMs?: number): Promise<Timed> {
    return this.runOwnCli(args, timeoutMs);
  }

  protected dockerEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, "docker-config") };
    for (const k of ["DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION"]) delete env[k];
    return env;
  }

  /** Processes whose memory counts as "the engine" while no container runs. */
  abstract rssParts(): Promise<RssPart[]>;

  /** runc state roots this side's containers live under (for leftovers). */
  protected abstract runcRoots(): string[];

  /** Other processes of ours that must go before leftovers are swept. */
  protected abstract stopHelpers(notes: string[]): Promise<void>;

  async logTail(lines = 30): Promise<string> {
    const text = await readFile(this.logFile, "utf8").catch(() => "");
    return text.split("\n").slice(-lines).join("\n");
  }

  /** Spawns the daemon in its own process group (Ctrl-C reaches us, not it: we stop it in order). */
  protected spawnDaemon(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const fd = openSync(this.logFile, "a");
    try {
      const proc = spawn(cmd, args, { env, detached: true, stdio: ["ignore", fd, fd] });
      proc.on("error", () => undefined);
      this.proc = proc;
      return proc;
    } finally {
      closeSync(fd);
    }
  }

  protected async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.proc?.exitCode !== null && this.proc?.exitCode !== undefined) break;
      if (await ping(this.socket)) return;
      await sleep(100);
    }
    throw new UnavailableError(`${this.label} daemon did not answer on ${this.socket}:\n${await this.logTail()}`);
  }

  async containerIds(): Promise<string[]> {
    const r = await this.#rawCli(["ps", "-aq", "--no-trunc"], 30_000);
    return r.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
  }

  /**
   * Removes every container, stops the daemon and its helpers by PID, then
   * sweeps anything of ours still alive (by our temp dir in its command line)
   * and runc containers left in our runc roots. Returns notes for the report.
   */
  async stop(): Promise<string[]> {
    const notes: string[] = [];
    if (this.#stopped) return notes;
    this.#stopped = true;
    await Promise.allSettled([...this.#inFlight]);
    try {
      if (this.daemonPid && (await ping(this.socket))) {
        const ids = await this.containerIds();
        if (ids.length > 0) {
          notes.push(`${this.label}: removing ${ids.length} container(s) left by an interrupted run`);
          const r = await this.#rawCli(["rm", "-f", ...ids], 120_000);
          if (r.code !== 0) notes.push(`${this.label}: rm -f at cleanup: ${r.stderr.trim().split("\n")[0]}`);
        }
      }
    } catch (err) {
      notes.push(`${this.label}: listing containers at cleanup failed: ${String(err)}`);
    }
    if (this.daemonPid) {
      const how = await stopPid(this.daemonPid, 20_000);
      if (how === "kill") notes.push(`${this.label}: daemon ignored SIGTERM for 20 s, sent SIGKILL`);
    }
    await this.stopHelpers(notes);
    for (const pid of await pidsMentioning(this.dir)) {
      notes.push(`${this.label}: leftover pid ${pid} (${(await commandLine(pid)).slice(0, 80)}) killed`);
      killPid(pid);
    }
    for (const root of this.runcRoots()) {
      if (!existsSync(root)) continue;
      const list = await execFileP("runc", ["--root", root, "list", "-q"]).catch(() => ({ stdout: "" }));
      for (const id of list.stdout.split("\n").filter(Boolean)) {
        notes.push(`${this.label}: runc container ${id.slice(0, 12)} left in ${root}, deleted`);
        await execFileP("runc", ["--root", root, "delete", "-f", id]).catch(() => undefined);
      }
    }
    return notes;
  }
}

export interface WharfSideOptions {
  logLevel: string;
  /**
   * Drop NODE_EXTRA_CA_CERTS from the environment of our Node processes:
   * Node 20 parses that bundle at every start, before any of our code runs
   * (~50 ms per CLI call on the 2-CPU sandbox, which sets it for its proxy).
   */
  dropNodeExtraCaCerts: boolean;
}

export class WharfSide extends EngineSide {
  readonly label = "wharf" as const;
  readonly #opts: WharfSideOptions;

  constructor(root: string, opts: WharfSideOptions) {
    super(root, "wharf", "wharf.sock");
    this.#opts = opts;
  }

  #nodeEnv(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    if (this.#opts.dropNodeExtraCaCerts) delete env.NODE_EXTRA_CA_CERTS;
    return env;
  }

  get dataRoot(): string {
    return join(this.dir, "data");
  }

  get execRoot(): string {
    return join(this.dir, "exec");
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    this.spawnDaemon(
      process.execPath,
      [wharfBin, "daemon", "-H", this.host, "--data-root", this.dataRoot, "--exec-root", this.execRoot, "--log-level", this.#opts.logLevel],
      this.#nodeEnv(),
    );
    await this.waitReady(30_000);
    const r = await this.cli(["load", "-i", busyboxTar]);
    if (r.code !== 0) throw new UnavailableError(`wharf load failed: ${r.stderr}`);
  }

  protected runOwnCli(args: string[], timeoutMs?: number): Promise<Timed> {
    const env = { ...this.#nodeEnv(), WHARF_HOST: this.host };
    return runTimed(process.execPath, [wharfBin, ...args], env, timeoutMs);
  }

  async rssParts(): Promise<RssPart[]> {
    const parts: RssPart[] = [{ pid: this.daemonPid, role: "wharf daemon (node)" }];
    // With no container there should be no conmon; count any that lingers.
    for (const pid of await pidsMentioning(this.dir)) {
      if (pid !== this.daemonPid) parts.push({ pid, role: basename((await commandLine(pid)).split(" ")[0] ?? "?") });
    }
    return parts;
  }

  protected runcRoots(): string[] {
    return [join(this.execRoot, "runc")];
  }

  /** conmon outlives the daemon by design; a conmon.pid left under the exec root is ours. */
  protected async stopHelpers(notes: string[]): Promise<void> {
    const dir = join(this.execRoot, "containers");
    for (const id of await readdir(dir).catch(() => [] as string[])) {
      const pid = Number((await readFile(join(dir, id, "conmon.pid"), "utf8").catch(() => "")).trim());
      if (pid > 0 && (await isAlive(pid))) {
        notes.push(`wharf: conmon ${pid} of ${id.slice(0, 12)} left, stopped`);
        await stopPid(pid, 2000);
      }
    }
  }
}

export class DockerSide extends EngineSide {
  readonly label = "docker" as const;
  #containerdPid = 0;
  #shimSocketsBefore = new Set<string>();

  constructor(root: string) {
    super(root, "docker", "docker.sock");
  }

  get dataRoot(): string {
    return join(this.dir, "data");
  }

  get execRoot(): string {
    return join(this.dir, "exec");
  }

  get containerdPid(): number {
    return this.#containerdPid;
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // An explicit config file keeps /etc/docker/daemon.json out; the key path keeps dockerd 20.10
    // from writing its (deprecated) trust key into /etc/docker.
    const config = join(this.dir, "daemon.json");
    await writeFile(config, JSON.stringify({ "deprecated-key-path": join(this.dir, "key.json") }));
    this.#shimSocketsBefore = new Set(await readdir(SHIM_SOCKET_DIR).catch(() => []));
    this.spawnDaemon("dockerd", [
      "--config-file", config,
      "-H", this.host,
      "--data-root", this.dataRoot,
      // dockerd's own containerd keeps its state (and socket) under <exec-root>/containerd
      // and its content under <data-root>/containerd; runc's under <exec-root>/runtime-runc.
      "--exec-root", this.execRoot,
      "--pidfile", join(this.dir, "docker.pid"),
      "--bridge=none",
      "--iptables=false",
      "--ip-masq=false",
      "--storage-driver=overlay2",
    ]);
    await this.waitReady(60_000);
    for (const pid of await childrenOf(this.daemonPid)) {
      if ((await commandLine(pid)).includes(join(this.execRoot, "containerd"))) this.#containerdPid = pid;
    }
    if (!this.#containerdPid) throw new UnavailableError(`dockerd ${this.daemonPid} has no containerd child under ${this.execRoot}`);
    const r = await this.cli(["load", "-i", busyboxTar]);
    if (r.code !== 0) throw new UnavailableError(`docker load failed: ${r.stderr}`);
  }

  protected runOwnCli(args: string[], timeoutMs?: number): Promise<Timed> {
    return runTimed(dockerBin, args, this.dockerEnv(), timeoutMs);
  }

  async rssParts(): Promise<RssPart[]> {
    const parts: RssPart[] = [
      { pid: this.daemonPid, role: "dockerd" },
      { pid: this.#containerdPid, role: "containerd" },
    ];
    for (const pid of await pidsMentioning(this.dir)) {
      if (pid !== this.daemonPid && pid !== this.#containerdPid) parts.push({ pid, role: basename((await commandLine(pid)).split(" ")[0] ?? "?") });
    }
    return parts;
  }

  protected runcRoots(): string[] {
    return [join(this.execRoot, "runtime-runc", "moby"), join(this.dataRoot, "runc", "moby")];
  }

  /** containerd normally exits with dockerd; if it does not, stop it by the PID we noted. */
  protected async stopHelpers(notes: string[]): Promise<void> {
    if (this.#containerdPid && (await isAlive(this.#containerdPid))) {
      const how = await stopPid(this.#containerdPid, 10_000);
      notes.push(`docker: containerd ${this.#containerdPid} outlived dockerd, stopped (${how})`);
    }
    // Shims of our containerd (their -address names our exec root).
    for (const pid of await pidsMentioning(this.dir)) {
      notes.push(`docker: shim/helper ${pid} left, stopped`);
      await stopPid(pid, 5000);
    }
    await this.#removeStaleShimSockets(notes);
  }

  /**
   * containerd 1.6 puts shim sockets in /run/containerd/s whatever its state
   * dir (a hard-coded root). A clean shim exit removes its socket; we remove
   * ones that appeared during our run and that nobody listens on any more.
   */
  async #removeStaleShimSockets(notes: string[]): Promise<void> {
    for (const name of await readdir(SHIM_SOCKET_DIR).catch(() => [] as string[])) {
      if (this.#shimSocketsBefore.has(name)) continue;
      const path = join(SHIM_SOCKET_DIR, name);
      if (!(await socketListens(path))) {
        await rm(path, { force: true });
        notes.push(`docker: removed stale shim socket ${path}`);
      }
    }
  }
}

const SHIM_SOCKET_DIR = "/run/containerd/s";

function socketListens(path: string): Promise<boolean> {
  return new Promise((done) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      done(true);
    });
    s.once("error", () => done(false));
  });
}

/**
 * cgroup v1 parents (`/sys/fs/cgroup/<controller>/<name>`) that did not exist
 * before the run: the engines create them and leave them behind empty.
 */
export class CgroupParents {
  #created: string[] = [];
  #absent: string[] = [];

  static async note(names: string[]): Promise<CgroupParents> {
    const c = new CgroupParents();
    for (const ctl of await readdir("/sys/fs/cgroup").catch(() => [] as string[])) {
      for (const name of names) {
        const p = join("/sys/fs/cgroup", ctl, name);
        if (!existsSync(p)) c.#absent.push(p);
      }
    }
    return c;
  }

  /** rmdir (only succeeds when empty) the parents that appeared during the run. */
  async removeNew(): Promise<string[]> {
    for (const p of this.#absent) {
      if (existsSync(p) && (await rmdir(p).then(() => true, () => false))) this.#created.push(p);
    }
    return this.#created;
  }
}
