/**
 * Small process, timing and mount helpers for the engine benchmark. They act
 * only on PIDs and paths the caller names: nothing here looks a process up by
 * its command name.
 */
import { execFile, spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { request } from "node:http";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export interface Timed {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time from spawn() to the child's exit with its pipes closed. */
  ms: number;
}

/**
 * Runs a command and times it. Never rejects; a command that outlives
 * `timeoutMs` is killed (by its PID) and reported with code -1.
 */
export function runTimed(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Timed> {
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => (stderr += String(err)));
    child.on("close", (code) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      done({ code: code ?? -1, stdout, stderr, ms });
    });
  });
}

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Fields of /proc/<pid>/stat we use; undefined when the process is gone. */
async function procStat(pid: number): Promise<{ state: string; ppid: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  // comm may contain spaces and parentheses: the fields after it start past the last ')'.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0]!, ppid: Number(rest[1]) };
}

/**
 * A zombie counts as gone: it holds no memory, and in a sandbox whose PID 1
 * does not reap, orphans (containerd, shims) stay zombies forever.
 */
export async function isAlive(pid: number): Promise<boolean> {
  const st = await procStat(pid);
  return st !== undefined && st.state !== "Z" && st.state !== "X";
}

async function allPids(): Promise<number[]> {
  return (await readdir("/proc")).filter((n) => /^\d+$/.test(n)).map(Number);
}

/** Live children of `pid` (from the ppid field of /proc/<n>/stat). */
export async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const p of await allPids()) {
    const st = await procStat(p);
    if (st && st.ppid === pid && st.state !== "Z") out.push(p);
  }
  return out;
}

export async function commandLine(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ").trim();
}

/**
 * Live processes whose command line mentions `needle` (our unique temp dir):
 * conmons, shims and daemons that belong to this run, and nobody else's.
 */
export async function pidsMentioning(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await allPids()) {
    if (p === process.pid) continue;
    if ((await commandLine(p)).includes(needle) && (await isAlive(p))) out.push(p);
  }
  return out;
}

/** VmRSS in KiB, or 0 when the process is gone. */
export async function vmRssKb(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) : 0;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Returns how it ended. */
export async function stopPid(pid: number, graceMs: number): Promise<"gone" | "term" | "kill"> {
  if (!(await isAlive(pid))) return "gone";
  signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return "term";
    await sleep(50);
  }
  signal(pid, "SIGKILL");
  for (let i = 0; i < 100 && (await isAlive(pid)); i++) await sleep(50);
  return "kill";
}

export function killPid(pid: number): void {
  signal(pid, "SIGKILL");
}

/** `umount -l` every mount point under `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<number> {
  const mounts = (await readFile("/proc/self/mounts", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => !!m && m.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execFileP("umount", ["-l", m]).catch(() => undefined);
  return mounts.length;
}

/** GET /_ping over a unix socket: true on 200. */
export function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolvePing) => {
    const req = request({ socketPath, path: "/_ping", timeout: 2000 }, (res) => {
      res.resume();
      resolvePing(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolvePing(false));
    req.end();
  });
}

export async function commandExists(cmd: string): Promise<boolean> {
  return execFileP("sh", ["-c", `command -v ${cmd}`]).then(
    () => true,
    () => false,
  );
}

export async function versionOf(cmd: string, args: string[]): Promise<string> {
  return execFileP(cmd, args)
    .then((r) => r.stdout.split("\n")[0]!.trim())
    .catch(() => "?");
}

/**
 * Busy CPU time of the whole host so far (user+nice+system+irq+softirq+steal
 * from /proc/stat), in ms. Host-wide on purpose: a run's cost is spread over
 * the CLI, the daemon, conmon or shims, runc and the kernel.
 */
export async function hostBusyMs(): Promise<number> {
  const first = (await readFile("/proc/stat", "utf8")).split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = first;
  // USER_HZ is 100 on every Linux ABI Node runs on.
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10;
}

/**
 * CPU time (ms) used so far by `pid` and every live descendant (utime+stime
 * of each, plus cutime+cstime: what their reaped children used), from
 * /proc/<n>/stat. A daemon's helpers (dockerd's containerd, unpigz) count
 * with it. 0 when `pid` is gone.
 */
export async function treeCpuMs(pid: number): Promise<number> {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const p of await allPids()) {
    const text = await readFile(`/proc/${p}/stat`, "utf8").catch(() => undefined);
    if (text === undefined) continue;
    // Fields after comm (see procStat): [0] state, [1] ppid, [11..14] utime stime cutime cstime.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    stats.set(p, { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) });
  }
  if (!stats.has(pid)) return 0;
  let ticks = 0;
  const tree = new Set([pid]);
  // /proc lists parents before children only mostly (PIDs wrap): repeat until nothing joins.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, s] of stats) {
      if (!tree.has(p) && tree.has(s.ppid)) {
        tree.add(p);
        grew = true;
      }
    }
  }
  for (const p of tree) ticks += stats.get(p)!.ticks;
  // USER_HZ is 100 (see hostBusyMs).
  return ticks * 10;
}
