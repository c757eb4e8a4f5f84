/**
 * Fixtures for the network suites: a manager on private roots with its own
 * bridge name, subnets and chain prefix (so a dev daemon with the defaults
 * is never touched), busybox httpd servers started in sandboxes (killed by
 * PID), and a cleanup that also checks nothing was left behind.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { join } from "node:path";
import { LinuxNetworkManager, type NetworkManagerOptions } from "../src/network/index.js";
import { silentLogger } from "../src/lib/logger.js";

export const BUSYBOX = "/usr/bin/busybox";

export function newId(): string {
  return randomBytes(32).toString("hex");
}

export interface NetFixture {
  dir: string;
  tag: string;
  opts: NetworkManagerOptions;
  /** `10.x.y.1` */
  bridgeGateway: string;
  open(extra?: Partial<NetworkManagerOptions>): Promise<LinuxNetworkManager>;
  /** busybox httpd on :8080 serving `body` at /index.html inside the netns; killed at cleanup. */
  httpd(netnsPath: string, body: string, port?: number): Promise<ChildProcess>;
  kill(child: ChildProcess): Promise<void>;
  /** Remove everything; also tears down every manager opened through `open`. */
  cleanup(): Promise<void>;
}

export async function makeNetFixture(): Promise<NetFixture> {
  const dir = await mkdtemp("/tmp/wharf-test-net-");
  const tag = randomBytes(3).toString("hex");
  // 10.200-229.x.0/24 for the default bridge, 10.230-249.0.0/16 as the pool: clear of the dev daemon's 10.213/10.214.
  const b = 200 + (parseInt(tag.slice(0, 2), 16) % 30);
  const c = parseInt(tag.slice(2, 4), 16);
  // Skip /16s the host already routes (another daemon's bridge, a VPN): the pool must not overlap them.
  const routed = new Set(
    execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" })
      .split("\n")
      .map((l) => /^10\.(\d+)\./.exec(l)?.[1])
      .filter((o): o is string => o !== undefined)
      .map(Number),
  );
  let pool = 230 + (parseInt(tag.slice(4, 6), 16) % 20);
  for (let i = 0; i < 20 && routed.has(pool); i++) pool = 230 + ((pool - 230 + 1) % 20);
  const bridgeGateway = `10.${b}.${c}.1`;
  const opts: NetworkManagerOptions = {
    dataRoot: join(dir, "data"),
    execRoot: join(dir, "run"),
    bridgeName: `wt${tag}0`,
    bridgeCidr: `${bridgeGateway}/24`,
    poolCidr: `10.${pool}.0.0/16`,
    chainPrefix: `WHARF-T${tag}`,
    log: silentLogger,
  };
  const managers: LinuxNetworkManager[] = [];
  const children = new Set<ChildProcess>();
  const kill = async (child: ChildProcess) => {
    children.delete(child);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    process.kill(child.pid!, "SIGKILL");
    await exited;
  };
  return {
    dir,
    tag,
    opts,
    bridgeGateway,
    async open(extra) {
      const m = await LinuxNetworkManager.open({ ...opts, ...extra });
      managers.push(m);
      return m;
    },
    async httpd(netnsPath, body, port = 8080) {
      const www = join(dir, `www-${randomBytes(4).toString("hex")}`);
      await mkdir(www, { recursive: true });
      await writeFile(join(www, "index.html"), body);
      const child = spawn("nsenter", [`--net=${netnsPath}`, BUSYBOX, "httpd", "-f", "-p", String(port), "-h", www], { stdio: "ignore" });
      children.add(child);
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", () => resolve());
        child.once("error", reject);
      });
      // Wait until it listens (its own netns: ask from inside).
      for (let i = 0; i < 100; i++) {
        try {
          const out = execFileSync("nsenter", [`--net=${netnsPath}`, BUSYBOX, "netstat", "-ltn"], { encoding: "utf8" });
          if (out.includes(`:${port} `)) break;
        } catch {
          // retry
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      return child;
    },
    kill,
    async cleanup() {
      for (const c of [...children]) await kill(c);
      for (const m of managers) await m.teardownAll().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** GET http://host:port/ → body; rejects on error or after `timeoutMs`. */
export function httpGet(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/index.html", timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** `busybox wget` run inside a netns; resolves with stdout, or null when it failed. */
export function wgetFrom(netnsPath: string, url: string, timeoutSec = 2): Promise<string | null> {
  // coreutils timeout, not wget -T: busybox 1.35's wget -T crashes.
  return runIn(netnsPath, ["timeout", String(timeoutSec), BUSYBOX, "wget", "-q", "-O", "-", url]);
}

export function runIn(netnsPath: string, argv: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn("nsenter", [`--net=${netnsPath}`, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.on("error", () => resolve(null));
    child.on("close", (code) => resolve(code === 0 ? Buffer.concat(out).toString("utf8") : null));
  });
}

/** Lines of `iptables-save` mentioning `needle`. */
export function iptablesLines(needle: string): string[] {
  return execFileSync("iptables-save", { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(needle));
}

export function linkNames(): string[] {
  return (JSON.parse(execFileSync("ip", ["-j", "link", "show"], { encoding: "utf8" })) as Array<{ ifname: string }>).map((l) => l.ifname);
}
