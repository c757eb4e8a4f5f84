/**
 * The two registries the registry benchmark compares, each a process of ours
 * on 127.0.0.1 and a port picked free at construction: `wharf registry` and
 * Debian's `docker-registry` (Distribution 2.8). Lifecycle: `start()` on a
 * fresh storage directory → measure → `stop()` (by PID, then the storage
 * directory goes); `start()` again gets another empty storage directory, so
 * a push finds no blob to skip or mount. `stop()` is safe to call twice and
 * never throws. Both log warnings only, no access log: a log line per
 * request is not what is being measured.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { UnavailableError } from "../src/lib/errors.js";
import { wharfBin } from "./engine-sides.js";
import { sleep, stopPid } from "./proc-tools.js";

export const dockerRegistryBin = "/usr/bin/docker-registry";

/** A port nobody listens on right now (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() => (typeof addr === "object" && addr ? done(addr.port) : fail(new UnavailableError("no port"))));
    });
  });
}

/** GET /v2/ answers 200 (neither registry has auth here). */
function v2Ok(port: number): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ host: "127.0.0.1", port, path: "/v2/", timeout: 2000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => done(false));
    req.end();
  });
}

export abstract class RegistryServerProcess {
  abstract readonly label: "wharf registry" | "docker-registry";
  readonly dir: string;
  readonly port: number;
  #proc: ChildProcess | undefined;
  #generation = 0;
  #storage: string | undefined;

  constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#proc?.pid ?? 0;
  }

  get logFile(): string {
    return join(this.dir, "registry.log");
  }

  protected abstract command(storage: string): Promise<{ cmd: string; args: string[]; env: NodeJS.ProcessEnv }>;

  async start(): Promise<void> {
    await this.stop();
    this.#storage = join(this.dir, `storage-${++this.#generation}`);
    await mkdir(this.#storage, { recursive: true });
    const { cmd, args, env } = await this.command(this.#storage);
    const fd = openSync(this.logFile, "a");
    try {
      // Own process group: a Ctrl-C reaches the benchmark, which stops us in order.
      const proc = spawn(cmd, args, { env, detached: true, stdio: ["ignore", fd, fd] });
      proc.on("error", () => undefined);
      this.#proc = proc;
    } finally {
      closeSync(fd);
    }
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.#proc.exitCode !== null) break;
      if (await v2Ok(this.port)) return;
      await sleep(50);
    }
    throw new UnavailableError(`${this.label} did not answer on ${this.addr} (see ${this.logFile})`);
  }

  async stop(): Promise<void> {
    const pid = this.pid;
    this.#proc = undefined;
    if (pid) await stopPid(pid, 10_000);
    if (this.#storage) await rm(this.#storage, { recursive: true, force: true }).catch(() => undefined);
    this.#storage = undefined;
  }
}

export class WharfRegistryProcess extends RegistryServerProcess {
  readonly label = "wharf registry" as const;
  readonly #env: NodeJS.ProcessEnv;

  /** `env`: the environment of wharf's Node processes (the caller drops NODE_EXTRA_CA_CERTS from it). */
  constructor(dir: string, port: number, env: NodeJS.ProcessEnv) {
    super(dir, port);
    this.#env = env;
  }

  protected async command(storage: string): Promise<{ cmd: string; args: string[]; env: NodeJS.ProcessEnv }> {
    return { cmd: process.execPath, args: [wharfBin, "registry", "--addr", this.addr, "--root", storage, "--log-level", "warn"], env: this.#env };
  }
}

export class DockerRegistryProcess extends RegistryServerProcess {
  readonly label = "docker-registry" as const;

  /** Config keys: https://distribution.github.io/distribution/about/configuration/ */
  protected async command(storage: string): Promise<{ cmd: string; args: string[]; env: NodeJS.ProcessEnv }> {
    const config = join(this.dir, "config.yml");
    await writeFile(
      config,
      [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog:",
        "    disabled: true",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${storage}`,
        "  delete:",
        "    enabled: true",
        "http:",
        `  addr: ${this.addr}`,
        "",
      ].join("\n"),
    );
    const env = { ...process.env };
    // REGISTRY_* variables override the config file.
    for (const k of Object.keys(env)) if (k.startsWith("REGISTRY_")) delete env[k];
    return { cmd: dockerRegistryBin, args: ["serve", config], env };
  }
}
