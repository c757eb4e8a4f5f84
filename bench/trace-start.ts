/**
 * Where the time of `run -d -p H:80 busybox httpd -f -p 80` goes, on wharf
 * and on dockerd (same setup as bench/network.ts: own bridges, temp roots,
 * cleanup with the same checks). Every program the CLI and the daemons start
 * is timed from the kernel's sched_process_exec/exit tracepoints (a tracefs
 * instance of our own, CLOCK_MONOTONIC, so no strace slowing the daemons
 * down), and wharf's debug log says when each API request arrived.
 *
 *   node dist/bench/trace-start.js [--reps 9] [--warmup 2] [--wait-others-s 3600]
 *                                  [--max-background-pct 15] [--keep-node-extra-ca-certs]
 *                                  [--what publish|rm]
 *
 * --what rm traces `run --rm busybox true` instead (the engine benchmark's (a)).
 *
 * Prints, per side, the median timeline (ms after the CLI was spawned) of
 * each program by name and occurrence (`runc#2` is the second runc of a
 * run; a program that exec()s another ends there: `unshare#1` then `ip#1`),
 * and writes .bench/trace-start.json. tracefs is mounted under our
 * temp dir when it is not mounted anywhere, and unmounted again; the
 * instance is removed.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { FailedPreconditionError, InternalError } from "../src/lib/errors.js";
import { ensureDockerd, repoRoot, type EngineSide } from "./engine-sides.js";
import { openNetRun, waitForOthers, waitForQuiet, type CleanupReport } from "./net-run.js";
import { childrenOf, median, sleep } from "./proc-tools.js";
import { runBench } from "./bench-main.js";

const execFileP = promisify(execFile);

const { values: opt } = parseArgs({
  options: {
    reps: { type: "string", default: "9" },
    warmup: { type: "string", default: "2" },
    "wait-others-s": { type: "string", default: "3600" },
    "max-background-pct": { type: "string", default: "15" },
    "keep-node-extra-ca-certs": { type: "boolean", default: false },
    what: { type: "string", default: "publish" },
  },
});
if (opt.what !== "publish" && opt.what !== "rm") throw new InternalError(`--what: want publish or rm, got ${opt.what}`);
const RUN_RM = opt.what === "rm";
const WHAT = RUN_RM ? "run --rm busybox true" : "run -d -p H:80 busybox httpd -f -p 80";
const REPS = Number(opt.reps);
const WARMUP = Number(opt.warmup);
const DROP_CA = !opt["keep-node-extra-ca-certs"] && process.env.NODE_EXTRA_CA_CERTS !== undefined;

const log = (s: string) => process.stderr.write(`trace: ${s}\n`);
/** CLOCK_MONOTONIC in ms: the tracefs instance uses the same clock (`trace_clock` mono). */
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;

const EVENTS = ["sched_process_exec", "sched_process_exit", "sched_process_fork"] as const;

/** A tracefs instance of our own; `close()` disables it and removes it (and the mount, if it was ours). */
class Tracer {
  readonly #dir: string;
  readonly #mounted: string | undefined;

  private constructor(dir: string, mounted: string | undefined) {
    this.#dir = dir;
    this.#mounted = mounted;
  }

  static async open(scratch: string): Promise<Tracer> {
    const mounts = await readFile("/proc/self/mounts", "utf8");
    let base = mounts.split("\n").map((l) => l.split(" ")).find((f) => f[2] === "tracefs")?.[1];
    let mounted: string | undefined;
    if (!base) {
      base = join(scratch, "tracefs");
      await mkdir(base, { recursive: true });
      await execFileP("mount", ["-t", "tracefs", "nodev", base]);
      mounted = base;
    }
    const dir = join(base, "instances", `wharf-netbench-${process.pid}`);
    const t = new Tracer(dir, mounted);
    try {
      await mkdir(dir);
      await t.#set("trace_clock", "mono");
      await t.#set("buffer_size_kb", "8192");
      // Each line then carries the thread group id: an exit's `pid` is a thread's.
      await t.#set("options/record-tgid", "1");
      for (const e of EVENTS) await t.#set(`events/sched/${e}/enable`, "1");
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  #set(file: string, value: string): Promise<void> {
    return writeFile(join(this.#dir, file), value);
  }

  async begin(): Promise<void> {
    await this.#set("trace", "");
    await this.#set("tracing_on", "1");
  }

  async end(): Promise<string> {
    await this.#set("tracing_on", "0");
    return readFile(join(this.#dir, "trace"), "utf8");
  }

  async close(): Promise<void> {
    await this.#set("tracing_on", "0").catch(() => undefined);
    for (const e of EVENTS) await this.#set(`events/sched/${e}/enable`, "0").catch(() => undefined);
    await rmdir(this.#dir).catch(() => undefined);
    if (this.#mounted) await execFileP("umount", [this.#mounted]).catch(() => undefined);
  }
}

interface Program {
  name: string;
  /** ms after the CLI was spawned */
  exec: number;
  exit: number | null;
}

/**
 * Programs exec'd by the processes under `roots` (the CLI, the daemons),
 * with their exits, from a trace of the three sched_process_* events.
 */
function programsOf(trace: string, t0: number, roots: Set<number>): Program[] {
  const parent = new Map<number, number>();
  const byTgid = new Map<number, Program>();
  const order: Array<[number, Program]> = [];
  // "  runc-1234  (  1230) [001] ..... 5678.123456: sched_process_exec: filename=/usr/sbin/runc pid=1234 old_pid=1234"
  const re = /^\s*.+?-(\d+)\s+\(\s*(\d+|-+)\)\s+\[\d+\]\s+\S+\s+([\d.]+): (sched_process_\w+): (.*)$/;
  for (const line of trace.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    const tgid = Number(m[2]);
    const at = Number(m[3]) * 1000 - t0;
    const what = m[5]!;
    if (m[4] === "sched_process_fork") {
      const child = /child_pid=(\d+)/.exec(what);
      if (child && Number.isFinite(tgid)) parent.set(Number(child[1]), tgid);
    } else if (m[4] === "sched_process_exec") {
      const f = /filename=(\S+) pid=(\d+)/.exec(what);
      if (!f) continue;
      const p: Program = { name: f[1]!.split("/").pop()!, exec: at, exit: null };
      // `unshare … ip`, `runc init` → the container's process: the earlier program ends where the next one begins.
      const before = byTgid.get(Number(f[2]));
      if (before && before.exit === null) before.exit = at;
      byTgid.set(Number(f[2]), p);
      order.push([Number(f[2]), p]);
    } else if (/group_dead=true/.test(what)) {
      const p = byTgid.get(tgid);
      if (p && p.exit === null) p.exit = at;
    }
  }
  const under = (pid: number) => {
    for (let p: number | undefined = pid, i = 0; p !== undefined && i < 64; p = parent.get(p), i++) if (roots.has(p)) return true;
    return false;
  };
  return order.filter(([pid]) => under(pid)).map(([, p]) => p);
}

interface Sample {
  totalMs: number;
  programs: Program[];
  /** wharf only: when each API request of the run reached the daemon. */
  requests: Record<string, number>;
}

/** When `GET /_ping`, `POST …/create`, `…/start`, `…/wait`, `…/attach`, `GET …/json`, `DELETE …` appear in wharf's debug log (after `offset`), in ms after `wall0`. */
async function requestTimes(logFile: string, offset: number, wall0: number): Promise<{ times: Record<string, number>; size: number }> {
  const text = await readFile(logFile, "utf8");
  const times: Record<string, number> = {};
  for (const line of text.slice(offset).split("\n")) {
    const t = /^time="([^"]+)".*msg="(GET|POST) ([^"?]+)/.exec(line);
    if (!t) continue;
    const key = /\/(_ping|create|start|wait|attach|json|delete)$/.exec(t[3]!)?.[1] ?? (t[2] === "DELETE" ? "delete" : undefined);
    if (key && times[key] === undefined) times[key] = Date.parse(t[1]!) - wall0;
  }
  return { times, size: text.length };
}

async function traceOne(side: EngineSide, tracer: Tracer, port: number, roots: Set<number>, logOffset: number): Promise<Sample & { logSize: number }> {
  // Helpers a daemon started before the trace (wharf's launcher shells) fork no trace event of their
  // own birth: count their children as the daemon's.
  const helpers = (await Promise.all([...roots].map((pid) => childrenOf(pid)))).flat();
  await tracer.begin();
  const wall0 = Date.now();
  const t0 = monoMs();
  const r = await side.cli(RUN_RM ? ["run", "--rm", "busybox", "true"] : ["run", "-d", "-p", `${port}:80`, "busybox", "httpd", "-f", "-p", "80"]);
  const totalMs = monoMs() - t0;
  await sleep(50);
  const trace = await tracer.end();
  if (r.code !== 0) throw new InternalError(`${side.label} ${WHAT} exited ${r.code}: ${r.stderr.trim()}`);
  if (!RUN_RM) await side.cli(["rm", "-f", r.stdout.trim()]);
  // The CLI is a child of ours: it is under our own pid.
  const programs = programsOf(trace, t0, new Set([...roots, ...helpers, process.pid]));
  let requests: Record<string, number> = {};
  let logSize = logOffset;
  if (side.label === "wharf") {
    const rt = await requestTimes(join(side.dir, "daemon.log"), logOffset, wall0);
    requests = rt.times;
    logSize = rt.size;
  }
  return { totalMs, programs, requests, logSize };
}

interface Step {
  key: string;
  n: number;
  exec: number;
  exit: number;
  ms: number;
}

/** Median timeline by `name#occurrence`, keeping steps seen in at least half of the runs. */
function timeline(samples: Sample[]): Step[] {
  const keyed = samples.map((s) => {
    const seen = new Map<string, number>();
    return s.programs.map((p) => {
      const k = (seen.get(p.name) ?? 0) + 1;
      seen.set(p.name, k);
      return { key: `${p.name}#${k}`, p };
    });
  });
  const keys = [...new Set(keyed.flat().map((x) => x.key))];
  const steps: Step[] = [];
  for (const key of keys) {
    const ps = keyed.flatMap((ks) => ks.filter((x) => x.key === key).map((x) => x.p));
    if (ps.length < samples.length / 2) continue;
    const exits = ps.filter((p) => p.exit !== null);
    steps.push({
      key,
      n: ps.length,
      exec: median(ps.map((p) => p.exec)),
      exit: median(exits.map((p) => p.exit!)),
      ms: median(exits.map((p) => p.exit! - p.exec)),
    });
  }
  return steps.sort((a, b) => a.exec - b.exec);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new FailedPreconditionError("tracing needs root");
  await ensureDockerd(log);
  const deadline = Date.now() + Number(opt["wait-others-s"]) * 1000;
  await waitForOthers(deadline, log);
  const background = await waitForQuiet(Number(opt["max-background-pct"]), deadline, log);
  const run = await openNetRun({ wharfLogLevel: "debug", dropNodeExtraCaCerts: DROP_CA, name: "trace-start", log });
  let report: CleanupReport;
  let out: Record<string, unknown> = {};
  try {
    const tracer = await Tracer.open(run.root);
    run.defer(() => tracer.close());
    log("starting dockerd and wharf daemon");
    await run.docker.start();
    await run.wharf.start();
    const roots = { wharf: new Set([run.wharf.daemonPid]), docker: new Set([run.docker.daemonPid, run.docker.containerdPid]) };
    const samples: Record<"wharf" | "docker", Sample[]> = { wharf: [], docker: [] };
    let logOffset = 0;
    let port = 28_600;
    for (let i = 0; i < WARMUP + REPS; i++) {
      for (const side of i % 2 ? [run.docker, run.wharf] : [run.wharf, run.docker]) {
        await sleep(300);
        const s = await traceOne(side, tracer, port++, roots[side.label], logOffset);
        logOffset = s.logSize;
        if (i >= WARMUP) samples[side.label].push({ totalMs: s.totalMs, programs: s.programs, requests: s.requests });
      }
    }
    const lines = [`${WHAT}: median of ${REPS} traced runs per side after ${WARMUP} warm-up(s); background load ${background.toFixed(0)}%.`];
    const timelines: Record<string, Step[]> = {};
    for (const label of ["wharf", "docker"] as const) {
      const ss = samples[label];
      lines.push("", `${label}: CLI exit at ${median(ss.map((s) => s.totalMs)).toFixed(0)} ms (${ss.map((s) => s.totalMs.toFixed(0)).join(" ")})`);
      if (label === "wharf") {
        for (const k of ["ping", "create", "start"]) lines.push(`  request ${k.padEnd(6)} reaches the daemon at ${median(ss.map((s) => s.requests[k] ?? Number.NaN)).toFixed(0)} ms`);
      }
      lines.push("  exec → exit (ms after the CLI spawn)   duration   program#occurrence");
      timelines[label] = timeline(ss);
      for (const st of timelines[label]!) {
        const exit = Number.isNaN(st.exit) ? "   (lives on)" : `→ ${st.exit.toFixed(1).padStart(7)}`;
        const dur = Number.isNaN(st.ms) ? "" : `${st.ms.toFixed(1)} ms`;
        lines.push(`  ${st.exec.toFixed(1).padStart(7)} ${exit.padEnd(12)} ${dur.padStart(10)}   ${st.key}${st.n < ss.length ? ` (in ${st.n}/${ss.length})` : ""}`);
      }
    }
    process.stdout.write(lines.join("\n") + "\n");
    out = { date: new Date().toISOString(), reps: REPS, warmup: WARMUP, backgroundBusyPct: background, timelines, samples };
  } finally {
    report = await run.cleanup();
  }
  await writeFile(join(repoRoot, ".bench/trace-start.json"), JSON.stringify({ ...out, cleanup: report }, null, 2) + "\n");
  log(`wrote .bench/trace-start.json (cleanup ${report.clean ? "complete" : "INCOMPLETE"})`);
  if (!report.clean) process.exitCode = 2;
}

runBench(main, log);
