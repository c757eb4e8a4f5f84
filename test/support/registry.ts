import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { request, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dirname, "../../..");
export const registryChild = join(repoRoot, "dist/test/support/registry-child.js");
export const busyboxTar = join(repoRoot, ".cache/busybox.tar");

export interface Reply {
  method: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as JSON (throws when it is not). */
  json<T = unknown>(): T;
  /** The first error code of a spec error body. */
  code(): string | undefined;
}

/** One HTTP exchange on a fresh connection (agent-less, so nothing lingers after a test). */
export function http(
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request(url, { method, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", fail);
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        ok({
          method,
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          json: <T>() => JSON.parse(body.toString("utf8")) as T,
          code: () => {
            try {
              return (JSON.parse(body.toString("utf8")) as { errors?: Array<{ code: string }> }).errors?.[0]?.code;
            } catch {
              return undefined;
            }
          },
        });
      });
    });
    req.on("error", fail);
    req.end(opts.body);
  });
}

const dirs = new Set<string>();

/** A temp dir removed by `cleanupTempDirs` (call it from `after`). */
export async function tempDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

export async function cleanupTempDirs(): Promise<void> {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  dirs.clear();
}

const children = new Set<ChildRegistry>();

/** `wharf registry …` as a child process on 127.0.0.1 and a free port. */
export class ChildRegistry {
  readonly root: string;
  readonly args: string[];
  #proc: ChildProcess | undefined;
  #log = "";
  url = "";

  private constructor(root: string, args: string[]) {
    this.root = root;
    this.args = args;
  }

  static async start(root: string, args: string[] = []): Promise<ChildRegistry> {
    const c = new ChildRegistry(root, args);
    children.add(c);
    await c.launch();
    return c;
  }

  get log(): string {
    return this.#log;
  }

  get pid(): number {
    return this.#proc?.pid ?? 0;
  }

  /** `127.0.0.1:PORT`, as skopeo's docker:// references want it. */
  get hostPort(): string {
    return this.url.replace(/^https?:\/\//, "");
  }

  async launch(): Promise<void> {
    const proc = spawn(process.execPath, [registryChild, "--addr", "127.0.0.1:0", "--root", this.root, "--log-level", "debug", ...this.args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#proc = proc;
    this.#log = "";
    proc.stdout!.on("data", (d: Buffer) => (this.#log += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (this.#log += d.toString()));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const m = /registry listening on (https?:\/\/[^\s(]+)/.exec(this.#log);
      if (m) {
        this.url = m[1]!;
        return;
      }
      if (proc.exitCode !== null) throw new Error(`registry exited with ${proc.exitCode}:\n${this.#log}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`registry did not start:\n${this.#log}`);
  }

  /** SIGKILL, as a crash would: no cleanup of any kind runs. */
  async kill9(): Promise<void> {
    await this.#signal("SIGKILL");
  }

  /** SIGTERM and wait for the exit. */
  async stop(): Promise<void> {
    await this.#signal("SIGTERM");
    children.delete(this);
  }

  async #signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.#proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    process.kill(proc.pid!, sig);
    const timer = setTimeout(() => {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, "SIGKILL");
    }, 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Stops every child registry still running (by its PID). */
export async function stopChildRegistries(): Promise<void> {
  for (const c of children) await c.kill9().catch(() => undefined);
  children.clear();
}
