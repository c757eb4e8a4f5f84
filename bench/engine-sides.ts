/**
 * The two engines the benchmarks compare, each a real daemon on its own
 * temporary roots: `wharf daemon` and Debian's `dockerd` (which starts its
 * own containerd). Lifecycle: `start()` → measure → `stop()`; `stop()` is safe
 * to call twice and after a failed or partial `start()`, and never throws.
 *
 * Without a `network` option both run with no bridge (dockerd also without
 * iptables; wharf with `--bridge none` and chains of a prefix of this run's
 * own, which `stop()` removes), so containers get a loopback-only network
 * namespace on both sides. With one, each runs bridge networking on
 * a bridge, subnet (and, for Wharf, iptables chain prefix) of its own, and
 * `stop()` also removes that bridge and, for Wharf, its chains. dockerd's chains have fixed names (`DOCKER*`):
 * the caller undoes them from an `iptables-save` taken before the run
 * (see iptables-snapshot.ts).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, openSync, closeSync } from "node:fs";
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";
import { FailedPreconditionError, UnavailableError } from "../src/lib/errors.js";
import { silentLogger } from "../src/lib/logger.js";
import { LinuxNetworkManager } from "../src/network/index.js";
import { childrenOf, commandExists, commandLine, isAlive, killPid, ping, pidsMentioning, runTimed, sleep, stopPid, type Timed } from "./proc-tools.js";

const execFileP = promisify(execFile);

export const repoRoot = resolve(import.meta.dirname, "../..");
export const wharfBin = join(repoRoot, "bin/wharf.js");
export const busyboxTar = join(repoRoot, ".cache/busybox.tar");
/** The docker CLI the brief names (client 28); Debian's older one only as a fallback. */
export const dockerBin = existsSync("/usr/local/bin/docker") ? "/usr/local/bin/docker" : "docker";

/**
 * Makes sure `dockerd` exists: when it is missing, `apt-get install -y docker.io`
 * (RUNLEVEL=1 so the package's init script does not start a system dockerd).
 */
export async function ensureDockerd(log: (s: string) => void): Promise<void> {
  if (await commandExists("dockerd")) return;
  log("dockerd missing: apt-get install -y docker.io");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive", RUNLEVEL: "1" };
  await execFileP("apt-get", ["install", "-y", "-q", "docker.io"], { env }).catch(async () => {
    await execFileP("apt-get", ["update", "-q"], { env });
    await execFileP("apt-get", ["install", "-y", "-q", "docker.io"], { env });
  });
  if (!(await commandExists("dockerd"))) throw new FailedPreconditionError("docker.io installed but dockerd not found");
}

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
    try {
      await this.releaseHostState(notes);
    } catch (err) {
      notes.push(`${this.label}: releasing host network state failed: ${String(err)}`);
    }
    return notes;
  }

  /** Last step of stop(), with every process of ours gone: host state outside our temp dir (bridges, chains). */
  protected async releaseHostState(_notes: string[]): Promise<void> {}
}

export interface WharfSideOptions {
  logLevel: string;
  /**
   * Drop NODE_EXTRA_CA_CERTS from the environment of our Node processes:
   * Node 20 parses that bundle at every start, before any of our code runs
   * (~50 ms per CLI call on the 2-CPU sandbox, which sets it for its proxy).
   */
  dropNodeExtraCaCerts: boolean;
  /** Bridge networking on a bridge, subnets and chains of this run's own (`--bridge none` when absent). */
  network?: WharfNetwork;
  /** More `wharf daemon` arguments (e.g. `--insecure-registry`), after the ones above. */
  args?: string[];
}

/** `wharf daemon --bridge --bip --default-address-pool --iptables-chain-prefix`. */
export interface WharfNetwork {
  bridge: string;
  /** Gateway address and prefix, `10.191.7.1/24`. */
  bip: string;
  /** Base of user-defined networks' /24s, `10.192.0.0/16`. */
  pool: string;
  chainPrefix: string;
}

export class WharfSide extends EngineSide {
  readonly label = "wharf" as const;
  readonly #opts: WharfSideOptions;
  /** Without bridge networking the daemon still installs its (empty) chains: a prefix of ours keeps them apart. */
  readonly #noBridgeChainPrefix = `WHARF-E${randomBytes(2).toString("hex")}`;

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
    const args = [wharfBin, "daemon", "-H", this.host, "--data-root", this.dataRoot, "--exec-root", this.execRoot, "--log-level", this.#opts.logLevel];
    const n = this.#opts.network;
    if (n) args.push("--bridge", n.bridge, "--bip", n.bip, "--default-address-pool", `base=${n.pool},size=24`, "--iptables-chain-prefix", n.chainPrefix);
    else args.push("--bridge", "none", "--iptables-chain-prefix", this.#noBridgeChainPrefix);
    args.push(...(this.#opts.args ?? []));
    this.spawnDaemon(process.execPath, args, this.#nodeEnv());
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

  /**
   * A stopped daemon leaves its bridge and chains in place (live restore);
   * a manager opened on its state removes them, with any sandbox left over.
   */
  protected override async releaseHostState(notes: string[]): Promise<void> {
    const n = this.#opts.network;
    const m = await LinuxNetworkManager.open({
      dataRoot: this.dataRoot,
      execRoot: this.execRoot,
      ...(n ? { bridgeName: n.bridge, bridgeCidr: n.bip, poolCidr: n.pool, chainPrefix: n.chainPrefix } : { bridgeName: "none", chainPrefix: this.#noBridgeChainPrefix }),
      log: silentLogger,
    });
    const leftover = m.list().filter((x) => Object.keys(x.Containers).length > 0).length;
    if (leftover > 0) notes.push(`wharf: ${leftover} network(s) still had endpoints after the daemon stopped`);
    await m.teardownAll();
  }
}

/**
 * dockerd's default bridge on a device of this run's own. dockerd 20.10 only
 * creates a bridge named `docker0` and refuses `-b` together with `--bip`,
 * so `start()` creates the bridge with its gateway address and dockerd
 * takes the subnet from it.
 */
export interface DockerNetwork {
  bridge: string;
  /** Gateway address and prefix, `10.193.7.1/24`. */
  bip: string;
  /** `--default-address-pool` base (user networks; none are made), `10.194.0.0/16`. */
  pool: string;
}

export class DockerSide extends EngineSide {
  readonly label = "docker" as const;
  #containerdPid = 0;
  #shimSocketsBefore = new Set<string>();
  readonly #network: DockerNetwork | undefined;
  readonly #args: string[];
  #bridgeCreated = false;

  /** `args`: more `dockerd` arguments (e.g. `--insecure-registry`), after ours. */
  constructor(root: string, opts: { network?: DockerNetwork; args?: string[] } = {}) {
    super(root, "docker", "docker.sock");
    this.#network = opts.network;
    this.#args = opts.args ?? [];
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
    const n = this.#network;
    if (n) await this.#createBridge(n);
    // Networking off: no bridge, no iptables. On: iptables and masquerading as stock Docker,
    // and the userland proxy left at its default (on), so 127.0.0.1:<port> goes through docker-proxy.
    const net = n
      ? [`--bridge=${n.bridge}`, "--iptables=true", "--ip-masq=true", "--default-address-pool", `base=${n.pool},size=24`]
      : ["--bridge=none", "--iptables=false", "--ip-masq=false"];
    this.spawnDaemon("dockerd", [
      "--config-file", config,
      "-H", this.host,
      "--data-root", this.dataRoot,
      // dockerd's own containerd keeps its state (and socket) under <exec-root>/containerd
      // and its content under <data-root>/containerd; runc's under <exec-root>/runtime-runc.
      "--exec-root", this.execRoot,
      "--pidfile", join(this.dir, "docker.pid"),
      ...net,
      "--storage-driver=overlay2",
      ...this.#args,
    ]);
    await this.waitReady(60_000);
    for (const pid of await childrenOf(this.daemonPid)) {
      if ((await commandLine(pid)).includes(join(this.execRoot, "containerd"))) this.#containerdPid = pid;
    }
    if (!this.#containerdPid) throw new UnavailableError(`dockerd ${this.daemonPid} has no containerd child under ${this.execRoot}`);
    const r = await this.cli(["load", "-i", busyboxTar]);
    if (r.code !== 0) throw new UnavailableError(`docker load failed: ${r.stderr}`);
  }

  async #createBridge(n: DockerNetwork): Promise<void> {
    const exists = await execFileP("ip", ["link", "show", "dev", n.bridge]).then(() => true, () => false);
    // Not ours: deleting it at the end would break whoever made it.
    if (exists) throw new FailedPreconditionError(`bridge ${n.bridge} already exists`);
    await execFileP("ip", ["link", "add", "name", n.bridge, "type", "bridge"]);
    this.#bridgeCreated = true;
    await execFileP("ip", ["addr", "add", n.bip, "dev", n.bridge]);
    await execFileP("ip", ["link", "set", n.bridge, "up"]);
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
    // docker-proxy's command line names no path of ours, but the container address it forwards to is in our subnet.
    const n = this.#network;
    if (n) {
      for (const pid of await pidsMentioning(`-container-ip ${subnetPrefixOf(n.bip)}`)) {
        notes.push(`docker: docker-proxy ${pid} left, stopped`);
        await stopPid(pid, 5000);
      }
    }
    await this.#removeStaleShimSockets(notes);
  }

  /** The bridge we created (dockerd leaves it, and its address, behind). Its iptables rules are the caller's. */
  protected override async releaseHostState(notes: string[]): Promise<void> {
    const n = this.#network;
    if (!n || !this.#bridgeCreated) return;
    await execFileP("ip", ["link", "del", "dev", n.bridge]).catch((err: unknown) => notes.push(`docker: deleting bridge ${n.bridge}: ${String(err)}`));
    this.#bridgeCreated = false;
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

/** `10.193.7.1/24` → `10.193.7.`: what every address in a /24 starts with. */
export function subnetPrefixOf(cidr: string): string {
  const [a, b, c] = cidr.split("/")[0]!.split(".");
  return `${a}.${b}.${c}.`;
}

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

/**
 * How `wharf` starts here (`bundle, code cache …` or `ESM build`), from
 * bin/wharf.js's WHARF_DEBUG_STARTUP line: a checkout where only tsc ran
 * since the last bundle starts from the slower ESM build, which a CLI
 * timing should say.
 */
export async function wharfCliStartup(): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, WHARF_DEBUG_STARTUP: "1" };
  delete env.NODE_EXTRA_CA_CERTS;
  const r = await execFileP(process.execPath, [wharfBin, "--version"], { env }).catch((err: { stderr?: string }) => ({ stderr: err.stderr ?? "" }));
  return /wharf: startup: (.*)/.exec(r.stderr)?.[1] ?? "?";
}
