import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, mkdtemp, readdir, rm, rmdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { runCommand, type Result } from "./daemon.js";

/**
 * Debian's `dockerd` (package docker.io) as a peer for interoperability
 * tests: its own data root, exec root, socket and config dir under one temp
 * dir, no bridge and no iptables (the tests move images, they run no
 * containers). dockerd starts its own containerd under the exec root.
 * Lifecycle: `start()` → use → `stop()`; `stop()` ends dockerd and its
 * containerd by PID, unmounts anything left under the temp dir and removes it,
 * and is safe after a failed `start()` and when called twice.
 */
export class Dockerd {
  readonly dir: string;
  #proc: ChildProcess | undefined;
  #log = "";
  /** dockerd makes /run/docker/plugins whatever its exec root; removed at stop when it was not there before. */
  #madeRunDocker = false;

  private constructor(dir: string) {
    this.dir = dir;
  }

  get socket(): string {
    return join(this.dir, "docker.sock");
  }

  get host(): string {
    return `unix://${this.socket}`;
  }

  get log(): string {
    return this.#log;
  }

  static async start(): Promise<Dockerd> {
    const d = new Dockerd(await mkdtemp("/tmp/wharf-test-dockerd-"));
    try {
      await d.#launch();
    } catch (err) {
      await d.stop();
      throw err;
    }
    return d;
  }

  async #launch(): Promise<void> {
    // An explicit config file keeps the host's /etc/docker/daemon.json out of the test.
    this.#madeRunDocker = !existsSync("/run/docker");
    const config = join(this.dir, "daemon.json");
    await writeFile(config, JSON.stringify({ "deprecated-key-path": join(this.dir, "key.json") }));
    const proc = spawn("dockerd", [
      "--config-file", config,
      "-H", this.host,
      "--data-root", join(this.dir, "data"),
      "--exec-root", join(this.dir, "exec"),
      "--pidfile", join(this.dir, "docker.pid"),
      "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
      "--storage-driver=overlay2",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    this.#proc = proc;
    proc.stdout!.on("data", (d: Buffer) => (this.#log += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (this.#log += d.toString()));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`dockerd exited with ${proc.exitCode}:\n${this.#log.slice(-2000)}`);
      if (await this.#ping()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`dockerd did not answer within 60 s:\n${this.#log.slice(-2000)}`);
  }

  #ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socket, path: "/_ping", timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => req.destroy());
      req.end();
    });
  }

  /** The real docker CLI against this dockerd, with a config dir of its own. */
  docker(args: string[], opts: { input?: string } = {}): Promise<Result> {
    return runCommand("docker", args, { ...process.env, DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, "config") }, opts.input);
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    if (p && p.exitCode === null && p.signalCode === null) {
      const containerd = await childPids(p.pid!);
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      const t = setTimeout(() => p.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
      // containerd normally leaves with dockerd; one that outlives it is ours (we noted its PID).
      for (const pid of containerd) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    const mounts = (await readFile("/proc/self/mounts", "utf8")).split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) => m.startsWith(`${this.dir}/`));
    for (const m of mounts.sort().reverse()) await runCommand("umount", ["-l", m], process.env);
    await rm(this.dir, { recursive: true, force: true });
    if (this.#madeRunDocker) {
      // rmdir, not rm -r: if anything else put files there since, they stay.
      await rmdir("/run/docker/plugins").then(() => rmdir("/run/docker")).catch(() => undefined);
      this.#madeRunDocker = false;
    }
  }
}

async function childPids(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // Field 4 (after the parenthesized command, which may hold spaces) is the parent PID.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === pid) out.push(Number(entry));
  }
  return out;
}
