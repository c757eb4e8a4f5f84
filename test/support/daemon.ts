import assert from "node:assert/strict";
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { LinuxNetworkManager, type NetworkManagerOptions } from "../../src/network/index.js";
import { silentLogger } from "../../src/lib/logger.js";

const run = promisify(execFile);
export const repoRoot = resolve(import.meta.dirname, "../../..");
export const wharfBin = join(repoRoot, "bin/wharf.js");
export const busyboxTar = join(repoRoot, ".cache/busybox.tar");

/**
 * A real `wharf daemon` on its own temporary data root, exec root and
 * socket. `stop()` removes every container it made, stops the daemon by PID,
 * unmounts whatever is left under its roots and deletes them.
 */
export class TestDaemon {
  readonly dir: string;
  readonly socket: string;
  readonly host: string;
  /**
   * This daemon's own default bridge, address ranges and iptables chains, so
   * test daemons never touch a dev daemon's `wharf0`/`WHARF` (or each other's).
   */
  readonly net: { bridge: string; bip: string; gateway: string; pool: string; chainPrefix: string };
  #proc: ChildProcess | undefined;
  #log = "";
  /** `--bridge` value instead of this daemon's own bridge (`"none"`: no default bridge). */
  #bridgeArg: string | undefined;
  /** More daemon flags (`--certs-dir …`). */
  #extraArgs: string[] = [];

  private constructor(dir: string) {
    this.dir = dir;
    this.socket = join(dir, "wharf.sock");
    this.host = `unix://${this.socket}`;
    const tag = randomBytes(3).toString("hex");
    const b = parseInt(tag.slice(0, 2), 16);
    const gateway = `10.${250 + (b % 4)}.${parseInt(tag.slice(2, 4), 16)}.1`;
    this.net = { bridge: `wd${tag}0`, bip: `${gateway}/24`, gateway, pool: `10.${196 + (b % 4)}.0.0/16`, chainPrefix: `WHARF-D${tag}` };
  }

  static async start(opts: { loadBusybox?: boolean; bridge?: string; args?: string[] } = {}): Promise<TestDaemon> {
    const d = new TestDaemon(await mkdtemp("/tmp/wharf-test-"));
    d.#bridgeArg = opts.bridge;
    d.#extraArgs = opts.args ?? [];
    try {
      await d.launch();
      if (opts.loadBusybox !== false) await d.wharf(["load", "-i", busyboxTar]);
    } catch (err) {
      await d.stop().catch(() => undefined);
      throw err;
    }
    return d;
  }

  get dataRoot(): string {
    return join(this.dir, "data");
  }

  get execRoot(): string {
    return join(this.dir, "exec");
  }

  get pid(): number {
    return this.#proc?.pid ?? 0;
  }

  get log(): string {
    return this.#log;
  }

  /** Starts (or restarts) the daemon process and waits until it answers. */
  async launch(): Promise<void> {
    const n = this.net;
    const args = ["daemon", "-H", this.host, "--data-root", this.dataRoot, "--exec-root", this.execRoot, "--log-level", "debug"];
    args.push("--bip", n.bip, "--bridge", this.#bridgeArg ?? n.bridge, "--default-address-pool", `base=${n.pool},size=24`, "--iptables-chain-prefix", n.chainPrefix, ...this.#extraArgs);
    const proc = spawn(process.execPath, [wharfBin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout!.on("data", (d: Buffer) => (this.#log += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (this.#log += d.toString()));
    this.#proc = proc;
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`daemon exited with ${proc.exitCode}:\n${this.#log}`);
      if (await this.ping()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`daemon did not answer:\n${this.#log}`);
  }

  /** SIGKILL, as a crash would. */
  async crash(): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await exited;
  }

  ping(): Promise<boolean> {
    return new Promise((resolvePing) => {
      const req = request({ socketPath: this.socket, path: "/_ping" }, (res) => {
        res.resume();
        resolvePing(res.statusCode === 200);
      });
      req.on("error", () => resolvePing(false));
      req.end();
    });
  }

  /** Both CLIs get this daemon's own config dir, so logins in tests never touch the user's ~/.docker. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, WHARF_HOST: this.host, DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, "docker-config") };
  }

  /** Runs our CLI; never rejects: returns code, stdout, stderr. */
  wharf(args: string[], opts: { input?: string } = {}): Promise<Result> {
    return runCommand(process.execPath, [wharfBin, ...args], this.env(), opts.input);
  }

  /** Runs the real docker CLI against this daemon. */
  docker(args: string[], opts: { input?: string } = {}): Promise<Result> {
    return runCommand("docker", args, { ...this.env(), DOCKER_CONFIG: join(this.dir, "docker-config") }, opts.input);
  }

  /** The daemon's network options, to open a manager on its state (teardown, inspection). */
  networkOptions(): NetworkManagerOptions {
    const n = this.net;
    return { dataRoot: this.dataRoot, execRoot: this.execRoot, bridgeName: n.bridge, bridgeCidr: n.bip, poolCidr: n.pool, chainPrefix: n.chainPrefix, log: silentLogger };
  }

  /** With the daemon stopped: removes its bridges, iptables chains, netns files and veths. */
  async teardownNetwork(): Promise<void> {
    const m = await LinuxNetworkManager.open(this.networkOptions());
    await m.teardownAll();
  }

  async stop(): Promise<void> {
    try {
      if (await this.ping()) {
        const ps = await this.wharf(["ps", "-aq", "--no-trunc"]);
        const ids = ps.stdout.split("\n").filter(Boolean);
        if (ids.length > 0) await this.wharf(["rm", "-fv", ...ids]);
      }
    } finally {
      const proc = this.#proc;
      if (proc && proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      await killLeftovers(this.execRoot);
      await this.teardownNetwork();
      await unmountUnder(this.dir);
      await rm(this.dir, { recursive: true, force: true });
    }
  }
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asserts a command succeeded, showing what it printed when it did not; returns its result. */
export function ok(r: Result, what: string): Result {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/**
 * Runs a command; `input` is written to its stdin, then closed. With
 * `keepStdinOpen`, stdin stays open until the command exits (a terminal
 * session under `script` ends early when its input does).
 */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string, keepStdinOpen = false): Promise<Result> {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => {
      child.stdin.destroy();
      resolveRun({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on("error", () => undefined);
    if (keepStdinOpen) {
      if (input !== undefined) child.stdin.write(input);
    } else if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Conmon processes whose pid files sit under our exec root (a test that failed halfway). */
async function killLeftovers(execRoot: string): Promise<void> {
  const { stdout } = await run("find", [execRoot, "-name", "conmon.pid"]).catch(() => ({ stdout: "" }));
  for (const file of stdout.split("\n").filter(Boolean)) {
    const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (pid > 0) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

export async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile("/proc/self/mounts", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => !!m && m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["-l", m]).catch(() => undefined);
}
