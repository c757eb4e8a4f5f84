/**
 * Dockerfile-build benchmark: `wharf build` against a real `dockerd` (Debian's
 * docker.io 20.10), both daemons started here on private temp roots under
 * /tmp/wharf-bench-XXXXXX (see engine-sides.ts), both fed `.cache/busybox.tar`.
 *
 *   node dist/bench/build.js [--reps 5] [--warmup 1] [--files 2000]
 *                            [--wharf-log-level info] [--wharf-cpu-prof DIR]
 *                            [--dockerd-wait-min 20] [--keep-node-extra-ca-certs]
 *                            [--clients wharf,docker-cli-wharf,classic,buildkit]
 *
 * One 12-step Dockerfile on busybox (FROM, ENV, WORKDIR, COPY of a generated
 * --files-file context, five RUNs over it, LABEL, EXPOSE, CMD), built by four
 * clients, each as (1) cold: build cache pruned, every image but busybox
 * removed, `--no-cache`; (2) fully cached rebuild; (3) rebuild after changing
 * the content of one context file (the cache holds up to WORKDIR, COPY on runs
 * again). Clients:
 *   - `wharf build` (bin/wharf.js) → wharf daemon            (the wharf row)
 *   - docker CLI, classic builder (DOCKER_BUILDKIT=0) → wharf (extra row)
 *   - docker CLI, classic builder (DOCKER_BUILDKIT=0) → dockerd
 *   - /usr/bin/docker 20.10's built-in BuildKit client (DOCKER_BUILDKIT=1) →
 *     dockerd (the docker 28 client here has no buildx plugin); left out with
 *     the reason in the header when it does not work.
 * All builds pass `--network none`: dockerd runs with --bridge=none, wharf's
 * RUN steps would otherwise join its bridge.
 *
 * Wall time per build (spawn → exit), medians of --reps rounds after --warmup
 * unmeasured rounds; in each round every client runs its three builds, and the
 * client order rotates from round to round. Per-step times come from the time
 * each output line arrived (classic: "Step N/M"; BuildKit: `--progress plain`,
 * its own per-vertex "DONE x.ys"). CPU per build is read from /proc for the
 * CLI (our reaped child) and the engine's daemons, so other load on a shared
 * host does not inflate it the way it inflates wall time; the header gives
 * the load average per round. The first round checks that all four clients
 * built the same image (RUN outputs, config, layer count).
 *
 * --wharf-cpu-prof DIR writes a V8 CPU profile of the wharf daemon there
 * (open it in Chrome DevTools); --clients narrows the run for such looks.
 *
 * Before anything starts it waits (up to --dockerd-wait-min) until no other
 * dockerd runs on the host, so a colleague's benchmark does not share the CPUs.
 *
 * Prints a table, writes JSON to .bench/build.json and the daemon logs to
 * .bench/build-{wharf,dockerd}.log.
 *
 * Cleanup (also on failure and Ctrl-C): our build CLIs are killed by PID, then
 * engine-sides' stop() on both sides (containers, daemons by PID, leftovers),
 * `umount -l` under the temp dir, the temp dir, new empty cgroup parents.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { FailedPreconditionError, InternalError } from "../src/lib/errors.js";
import { CgroupParents, DockerSide, dockerBin, type EngineSide, repoRoot, WharfSide, wharfBin } from "./engine-sides.js";
import { commandExists, median, pidsMentioning, sleep, unmountUnder, versionOf } from "./proc-tools.js";
import { cleanupOnSignals, hostVersions, runBench } from "./bench-main.js";

const execFileP = promisify(execFile);

const { values: opt } = parseArgs({
  options: {
    reps: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    files: { type: "string", default: "2000" },
    "wharf-log-level": { type: "string", default: "info" },
    "wharf-cpu-prof": { type: "string" },
    "dockerd-wait-min": { type: "string", default: "20" },
    "keep-node-extra-ca-certs": { type: "boolean", default: false },
    /** For looking into one side: a comma list of client ids (the table needs wharf and classic). */
    clients: { type: "string", default: "wharf,docker-cli-wharf,classic,buildkit" },
  },
});
const REPS = Number(opt.reps);
const WARMUP = Number(opt.warmup);
const FILES = Number(opt.files);
const DOCKERD_WAIT_MS = Number(opt["dockerd-wait-min"]) * 60_000;
const DROP_CA = !opt["keep-node-extra-ca-certs"] && process.env.NODE_EXTRA_CA_CERTS !== undefined;
const BUILD_TIMEOUT_MS = 900_000;
/** Debian's docker.io client: its BuildKit client is built in (no buildx plugin needed). */
const BUILDKIT_CLI = "/usr/bin/docker";

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

// ------------------------------------------------------------------ the context

const DIRS = ["src", "assets", "docs", "data"];
const SUBDIRS = 5;

/**
 * The Dockerfile: 12 classic-builder steps. The RUNs read every copied file
 * (find/wc/md5sum/cat/du/ls) and write small outputs, so a step's cost is the
 * engine's (container start, layer diff and commit) plus real file work.
 */
function dockerfileText(files: number): string {
  return [
    "FROM busybox",
    "ENV APP_HOME=/app BENCH=build",
    "WORKDIR /app",
    "COPY files/ /app/files/",
    `RUN find /app/files -type f | wc -l > /app/count.txt && test "$(cat /app/count.txt)" -eq ${files}`,
    "RUN find /app/files -type f -exec md5sum {} + | sort -k2 > /app/md5sums.txt",
    "RUN cat /app/files/*/*/* | wc -c > /app/bytes.txt",
    "RUN mkdir -p /app/out/logs /app/out/tmp && echo built > /app/out/status",
    "RUN du -sk /app/files > /app/out/du.txt && ls -lR /app/files | wc -l > /app/out/ls.txt",
    "LABEL org.example.bench=wharf-build org.example.files=" + files,
    "EXPOSE 8080/tcp",
    'CMD ["cat", "/app/out/status"]',
    "",
  ].join("\n");
}
const STEPS = 12;
/** Classic steps before the COPY (ENV, WORKDIR): the only cache hits after one file changed. */
const STEPS_BEFORE_COPY = 2;

/** xorshift32: deterministic bytes, so every run (and both sides) copies the same context. */
function pseudoRandomText(seed: number, size: number): Buffer {
  let x = seed >>> 0 || 0x9e3779b9;
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 \n";
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = alphabet.charCodeAt(x % alphabet.length);
  }
  return out;
}

interface ContextFile {
  rel: string;
  seed: number;
  size: number;
}

/** Sizes 2–20 KB, spread by a multiplicative hash of the index. */
function contextFiles(n: number): ContextFile[] {
  const perDir = Math.ceil(n / (DIRS.length * SUBDIRS));
  const out: ContextFile[] = [];
  for (let i = 0; i < n; i++) {
    const dir = DIRS[Math.floor(i / (perDir * SUBDIRS)) % DIRS.length]!;
    const sub = Math.floor(i / perDir) % SUBDIRS;
    const size = 2048 + (Math.imul(i + 1, 2654435761) >>> 0) % (18 * 1024);
    out.push({ rel: `files/${dir}/s${sub}/file-${String(i).padStart(4, "0")}.txt`, seed: i + 1, size });
  }
  return out;
}

async function writeContext(dir: string, files: ContextFile[]): Promise<number> {
  let bytes = 0;
  for (const d of DIRS) for (let s = 0; s < SUBDIRS; s++) await mkdir(join(dir, "files", d, `s${s}`), { recursive: true });
  for (const f of files) {
    await writeFile(join(dir, f.rel), pseudoRandomText(f.seed, f.size));
    bytes += f.size;
  }
  await writeFile(join(dir, "Dockerfile"), dockerfileText(files.length));
  return bytes;
}

// ------------------------------------------------------------------ clients and builds

type Phase = "cold" | "cached" | "changed";
const PHASES: Phase[] = ["cold", "cached", "changed"];
type ClientId = "wharf" | "docker-cli-wharf" | "classic" | "buildkit";

interface Client {
  id: ClientId;
  title: string;
  side: EngineSide;
  /** The engine's long-lived processes, whose CPU a build costs (see BuildSample.engineCpuMs). */
  enginePids: number[];
  output: "classic" | "buildkit";
  cmd: string;
  prefix: string[];
  env: NodeJS.ProcessEnv;
}

/** One line of build output and when it arrived (ms after spawn). */
interface Line {
  ms: number;
  text: string;
}

interface StepTime {
  /** "ctx" (spawn → first step), "1 FROM busybox" …, "end" (last step → exit); BuildKit: its vertex names. */
  name: string;
  ms: number;
  cached: boolean;
}

interface BuildSample {
  ms: number;
  /** CPU of the build CLI (it is our child: its time lands in our cutime/cstime once reaped). */
  cliCpuMs: number;
  /**
   * CPU of the engine's long-lived processes and the children they reaped:
   * wharf daemon (with runc, mount, … it waits for); dockerd + containerd.
   * Not the RUN commands themselves (under conmon / shims on both sides).
   * Unlike host-wide CPU, other users of the machine do not show up here.
   */
  engineCpuMs: number;
  steps: StepTime[];
  cacheHits: number;
}

function envFor(side: EngineSide, extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ["DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION", "BUILDKIT_PROGRESS", "NODE_OPTIONS"]) delete env[k];
  // The same DOCKER_HOST and DOCKER_CONFIG engine-sides gives the docker CLI for this side.
  return { ...env, DOCKER_HOST: side.host, DOCKER_CONFIG: join(side.dir, "docker-config") };
}

function wharfEnv(side: WharfSide): NodeJS.ProcessEnv {
  const env = envFor(side, { WHARF_HOST: side.host });
  delete env.DOCKER_HOST;
  if (DROP_CA) delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Build CLIs in flight, so Ctrl-C can stop them (by PID) before the daemons go. */
const running = new Set<ChildProcess>();
/** Set when cleanup begins: no new build CLI may start after that (as engine-sides' own CLIs). */
let stopping = false;

/** Runs a command, noting when each output line (stdout and stderr alike) arrived. Never rejects. */
function runLines(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; ms: number; lines: Line[] }> {
  if (stopping) return Promise.resolve({ code: -1, ms: 0, lines: [{ ms: 0, text: "benchmark is stopping" }] });
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const now = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    const lines: Line[] = [];
    const reader = () => {
      let partial = "";
      return (d: Buffer) => {
        const parts = (partial + d.toString()).split("\n");
        partial = parts.pop()!;
        const ms = now();
        for (const text of parts) lines.push({ ms, text });
      };
    };
    child.stdout.on("data", reader());
    child.stderr.on("data", reader());
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => lines.push({ ms: now(), text: String(err) }));
    child.on("close", (code) => {
      clearTimeout(timer);
      running.delete(child);
      done({ code: code ?? -1, ms: now(), lines });
    });
  });
}

/** Classic output: a step runs from its "Step N/M" line to the next one (the last to "Successfully built"). */
function classicSteps(lines: Line[], totalMs: number): StepTime[] {
  const steps: StepTime[] = [];
  let current: { name: string; start: number; cached: boolean } | undefined;
  let firstStep: number | undefined;
  let end = totalMs;
  const close = (at: number) => {
    if (current) steps.push({ name: current.name, ms: at - current.start, cached: current.cached });
    current = undefined;
  };
  for (const l of lines) {
    const m = /^Step (\d+)\/\d+ : (\S+)(.*)$/.exec(l.text);
    if (m) {
      close(l.ms);
      firstStep ??= l.ms;
      current = { name: `${m[1]} ${m[2]!.toUpperCase()}${m[3]!}`.slice(0, 40), start: l.ms, cached: false };
    } else if (current && l.text.includes("---> Using cache")) current.cached = true;
    else if (/^Successfully built /.test(l.text)) {
      close(l.ms);
      end = l.ms;
    }
  }
  close(end);
  return [{ name: "ctx", ms: firstStep ?? totalMs, cached: false }, ...steps, { name: "end", ms: totalMs - end, cached: false }];
}

/** BuildKit `--progress plain`: "#N <name>" opens a vertex, "#N DONE 1.2s" / "#N CACHED" close it. */
function buildkitSteps(lines: Line[]): StepTime[] {
  const names = new Map<string, string>();
  const out: StepTime[] = [];
  for (const l of lines) {
    const m = /^#(\d+) (.*)$/.exec(l.text);
    if (!m) continue;
    const [, id, rest] = m as unknown as [string, string, string];
    const done = /^DONE (\d+(?:\.\d+)?)s$/.exec(rest);
    if (done) out.push({ name: names.get(id) ?? `#${id}`, ms: Number(done[1]) * 1000, cached: false });
    else if (rest === "CACHED") out.push({ name: names.get(id) ?? `#${id}`, ms: 0, cached: true });
    else if (!names.has(id) && !/^\d+(\.\d+)? /.test(rest) && !/^(sha256|transferring|writing|naming|exporting layers)/.test(rest)) names.set(id, rest.slice(0, 60));
  }
  return out;
}

/**
 * CPU of the processes in ms, from /proc/<pid>/stat fields 14–17 (clock
 * ticks; USER_HZ is 100 on Linux): their own utime+stime, and cutime+cstime
 * of the children they have reaped.
 */
async function cpuMsOf(pids: (number | "self")[]): Promise<{ own: number; children: number }> {
  let own = 0;
  let children = 0;
  for (const pid of pids) {
    const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // comm may hold spaces: count from the last ")"; field 3 (state) is then index 0, utime (14) index 11.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ").map(Number);
    own += ((f[11] ?? 0) + (f[12] ?? 0)) * 10;
    children += ((f[13] ?? 0) + (f[14] ?? 0)) * 10;
  }
  return { own, children };
}

async function build(c: Client, tag: string, ctx: string, noCache: boolean): Promise<BuildSample> {
  const args = [...c.prefix, "build", "--network", "none", "-t", tag, ...(noCache ? ["--no-cache"] : []), ...(c.output === "buildkit" ? ["--progress", "plain"] : []), ctx];
  const [cli0, eng0] = [await cpuMsOf(["self"]), await cpuMsOf(c.enginePids)];
  const r = await runLines(c.cmd, args, c.env, BUILD_TIMEOUT_MS);
  const [cli1, eng1] = [await cpuMsOf(["self"]), await cpuMsOf(c.enginePids)];
  if (r.code !== 0) {
    throw new InternalError(`${c.title}: build exited ${r.code}:\n${r.lines.slice(-25).map((l) => l.text).join("\n")}`);
  }
  const steps = c.output === "classic" ? classicSteps(r.lines, r.ms) : buildkitSteps(r.lines);
  // The CLI is the only child we reap meanwhile, so our children's CPU delta is its CPU.
  const cliCpuMs = cli1.children - cli0.children;
  const engineCpuMs = eng1.own + eng1.children - (eng0.own + eng0.children);
  return { ms: r.ms, cliCpuMs, engineCpuMs, steps, cacheHits: steps.filter((s) => s.cached).length };
}

/** The cache hits each phase must show, so a timing never hides a wrong (un)cached build. */
function checkHits(c: Client, phase: Phase, s: BuildSample): string | undefined {
  if (c.output === "classic") {
    const want = phase === "cold" ? 0 : phase === "cached" ? STEPS - 1 : STEPS_BEFORE_COPY;
    return s.cacheHits === want ? undefined : `${c.title} ${phase}: ${s.cacheHits} cached steps, expected ${want}`;
  }
  // BuildKit runs only FROM/WORKDIR/COPY/RUN as vertices; metadata is folded into the image config.
  const execs = s.steps.filter((x) => /^\[\d+\/\d+\] (WORKDIR|COPY|RUN)/.test(x.name) || /^\[stage-\d+ \d+\/\d+\]/.test(x.name));
  const hits = execs.filter((x) => x.cached).length;
  const want = phase === "cold" ? 0 : phase === "cached" ? execs.length : 1;
  return execs.length === 0 || hits === want ? undefined : `${c.title} ${phase}: ${hits}/${execs.length} cached vertices, expected ${want}`;
}

// ------------------------------------------------------------------ resetting a side

/** Prunes the build cache and removes every image but busybox (the tags and every step image). */
async function reset(side: EngineSide, busyboxId: string): Promise<void> {
  const prune = await side.cli(["builder", "prune", "-af"], 300_000);
  if (prune.code !== 0) throw new InternalError(`${side.label}: builder prune -af exited ${prune.code}: ${prune.stderr.trim()}`);
  // A parent with a child cannot go first; untagged parents go with their child, so a few rounds suffice.
  for (let round = 0; round < 6; round++) {
    const left = await imagesBut(side, busyboxId);
    if (left.length === 0) break;
    await side.cli(["rmi", "-f", ...left], 300_000);
  }
  const left = await imagesBut(side, busyboxId);
  if (left.length > 0) throw new InternalError(`${side.label}: ${left.length} image(s) left after reset: ${left.join(" ")}`);
  const ctrs = await side.containerIds();
  if (ctrs.length > 0) throw new InternalError(`${side.label}: ${ctrs.length} container(s) left by a build: ${ctrs.join(" ")}`);
}

async function imagesBut(side: EngineSide, keep: string): Promise<string[]> {
  const r = await side.cli(["images", "-aq", "--no-trunc"]);
  if (r.code !== 0) throw new InternalError(`${side.label}: images -aq exited ${r.code}: ${r.stderr.trim()}`);
  return [...new Set(r.stdout.split("\n").map((s) => s.trim()).filter((s) => s && s !== keep))];
}

async function imageId(side: EngineSide, ref: string): Promise<string> {
  const r = await side.cli(["image", "inspect", "--format", "{{.Id}}", ref]);
  if (r.code !== 0) throw new InternalError(`${side.label}: image inspect ${ref} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

// ------------------------------------------------------------------ same image on every side?

const CHECK_SCRIPT = "cat /app/count.txt /app/bytes.txt /app/out/status /app/out/du.txt /app/out/ls.txt; md5sum /app/md5sums.txt; pwd; echo $APP_HOME $BENCH";

interface ImageFacts {
  run: string;
  config: Record<string, unknown>;
}

async function factsOf(side: EngineSide, tag: string): Promise<ImageFacts> {
  const run = await side.cli(["run", "--rm", "--network", "none", tag, "sh", "-c", CHECK_SCRIPT]);
  const ins = await side.cli(["image", "inspect", tag]);
  const image = ins.code === 0 ? ((JSON.parse(ins.stdout) as Record<string, unknown>[])[0] ?? {}) : {};
  const full = (image.Config ?? {}) as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  for (const k of ["Env", "WorkingDir", "Cmd", "Entrypoint", "Labels", "ExposedPorts", "User"]) config[k] = full[k] ?? null;
  // Every builder should give busybox's layer + WORKDIR + COPY + the five RUNs.
  config["RootFS.Layers (count)"] = ((image.RootFS as { Layers?: unknown[] } | undefined)?.Layers ?? []).length;
  return { run: run.code === 0 ? run.stdout : `exit ${run.code}: ${run.stderr.trim()}`, config };
}

function compareFacts(all: Map<ClientId, ImageFacts>, ref: ClientId): string[] {
  const base = all.get(ref);
  if (!base) return [];
  const diffs: string[] = [];
  for (const [id, f] of all) {
    if (id === ref) continue;
    if (f.run !== base.run) diffs.push(`${id}: files differ from ${ref}:\n  ${ref}: ${JSON.stringify(base.run)}\n  ${id}: ${JSON.stringify(f.run)}`);
    for (const k of Object.keys(base.config)) {
      const a = JSON.stringify(base.config[k]);
      const b = JSON.stringify(f.config[k]);
      if (a !== b) diffs.push(`${id}: Config.${k} ${b} ≠ ${ref}'s ${a}`);
    }
  }
  return diffs;
}

// ------------------------------------------------------------------ others' dockerd

/** The check the team uses before measuring: `ps -eo pid,args | grep -c '[d]ockerd'`. */
async function otherDockerds(): Promise<number> {
  const r = await execFileP("sh", ["-c", "ps -eo pid,args | grep -c '[d]ockerd' || true"]);
  return Number(r.stdout.trim());
}

async function waitForNoDockerd(): Promise<number> {
  const t0 = Date.now();
  let n = await otherDockerds();
  if (n > 0) log(`${n} dockerd process(es) running (someone else's benchmark?): waiting up to ${DOCKERD_WAIT_MS / 60_000} min`);
  while (n > 0) {
    if (Date.now() - t0 > DOCKERD_WAIT_MS) throw new FailedPreconditionError(`another dockerd still runs after ${DOCKERD_WAIT_MS / 60_000} min; not measuring on a shared machine`);
    await sleep(10_000);
    n = await otherDockerds();
  }
  return Date.now() - t0;
}

// ------------------------------------------------------------------ report

const s1 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function pad(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => "| " + r.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
  return [line(rows[0]!), "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|", ...rows.slice(1).map(line)];
}

/** Median per step name over the samples (classic: steps are named alike in every build). */
function stepMedians(samples: BuildSample[]): Map<string, { ms: number; cached: boolean }> {
  const by = new Map<string, { ms: number[]; cached: boolean }>();
  for (const s of samples) {
    for (const st of s.steps) {
      const e = by.get(st.name) ?? { ms: [], cached: st.cached };
      e.ms.push(st.ms);
      by.set(st.name, e);
    }
  }
  return new Map([...by].map(([k, v]) => [k, { ms: median(v.ms), cached: v.cached }]));
}

// ------------------------------------------------------------------ profiling

/**
 * A CommonJS preload that profiles the process it is loaded into (inspector
 * Profiler, 1 ms sampling) and writes `<dir>/<argv[2]>-<pid>.cpuprofile` at
 * exit (the daemon exits through process.exit after SIGTERM). The in-thread
 * inspector session answers synchronously, so this works in an exit hook.
 */
function cpuProfPreload(dir: string): string {
  return `"use strict";
const { Session } = require("node:inspector");
const { writeFileSync } = require("node:fs");
const session = new Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.setSamplingInterval", { interval: 1000 });
session.post("Profiler.start");
process.on("exit", () => {
  session.post("Profiler.stop", (err, res) => {
    if (!err) writeFileSync(${JSON.stringify(dir)} + "/" + (process.argv[2] || "node") + "-" + process.pid + ".cpuprofile", JSON.stringify(res.profile));
  });
});
`;
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new FailedPreconditionError("the build benchmark needs root (it starts dockerd and wharf daemon)");
  if (!(await commandExists("dockerd"))) throw new FailedPreconditionError("dockerd not found: run `node dist/bench/engine.js` once (it installs docker.io) or apt-get install docker.io");
  const waitedMs = await waitForNoDockerd();
  const root = await mkdtemp("/tmp/wharf-bench-");
  // BuildKit's RUNs go under docker/buildkit; deepest first, so docker/ can go after it when we made both.
  const cgroups = await CgroupParents.note(["docker/buildkit", "docker", "wharf"]);
  const wharf = new WharfSide(root, { logLevel: opt["wharf-log-level"]!, dropNodeExtraCaCerts: DROP_CA });
  const docker = new DockerSide(root);
  const notes: string[] = [];
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(" ");

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      log("cleaning up");
      stopping = true;
      for (const child of running) if (child.pid) child.kill("SIGKILL");
      while (running.size > 0) await sleep(50);
      const [wn, dn] = await Promise.all([wharf.stop(), docker.stop()]);
      notes.push(...wn, ...dn);
      const unmounted = await unmountUnder(root);
      if (unmounted > 0) notes.push(`unmounted ${unmounted} leftover mount(s) under ${root}`);
      await mkdir(join(repoRoot, ".bench"), { recursive: true });
      await copyFile(join(wharf.dir, "daemon.log"), join(repoRoot, ".bench/build-wharf.log")).catch(() => undefined);
      await copyFile(join(docker.dir, "daemon.log"), join(repoRoot, ".bench/build-dockerd.log")).catch(() => undefined);
      await rm(root, { recursive: true, force: true }).catch((err) => notes.push(`could not remove ${root}: ${String(err)}`));
      for (const p of await cgroups.removeNew()) notes.push(`removed empty cgroup ${p}`);
      // What is left of ours, for the report: processes naming the temp dir, mounts under it.
      const pids = await pidsMentioning(root);
      const mounts = (await readFile("/proc/self/mounts", "utf8")).split("\n").filter((l) => l.includes(root)).length;
      notes.push(`after cleanup: ${pids.length} process(es) and ${mounts} mount(s) mention ${root}; dir removed`);
      for (const n of notes) log(`cleanup: ${n}`);
    })());
  cleanupOnSignals(cleanup, log);

  try {
    const versions = {
      ...hostVersions(),
      dockerd: await versionOf("dockerd", ["--version"]),
      containerd: await versionOf("containerd", ["--version"]),
      runc: await versionOf("runc", ["--version"]),
      dockerCli: `${dockerBin}: ${await versionOf(dockerBin, ["--version"])}`,
      buildkitCli: `${BUILDKIT_CLI}: ${await versionOf(BUILDKIT_CLI, ["--version"])}`,
      wharfCommit: await versionOf("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"]),
    };
    log(`temp root ${root}${waitedMs > 1000 ? ` (waited ${(waitedMs / 1000).toFixed(0)} s for other dockerd to go)` : ""}`);
    const ctx = join(root, "ctx");
    const files = contextFiles(FILES);
    const bytes = await writeContext(ctx, files);
    log(`context: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${DIRS.length}×${SUBDIRS} dirs`);
    const changed = files[Math.floor(files.length / 3)]!;

    log("starting dockerd (with its own containerd) and loading busybox.tar");
    await docker.start();
    log(`dockerd pid ${docker.daemonPid}, containerd pid ${docker.containerdPid}`);
    log("starting wharf daemon and loading busybox.tar");
    const profDir = opt["wharf-cpu-prof"];
    if (profDir) {
      // Node 20 refuses --cpu-prof in NODE_OPTIONS and WharfSide takes no node flags, so a
      // preload starts the profiler. Only the daemon's spawn (and the busybox load) sees
      // NODE_OPTIONS: envFor() drops it for every CLI we run.
      await mkdir(profDir, { recursive: true });
      const preload = join(root, "cpu-prof-preload.cjs");
      await writeFile(preload, cpuProfPreload(resolve(profDir)));
      process.env.NODE_OPTIONS = `--require=${preload}`;
    }
    await wharf.start();
    delete process.env.NODE_OPTIONS;
    log(`wharf daemon pid ${wharf.daemonPid}`);
    const busybox = { wharf: await imageId(wharf, "busybox"), docker: await imageId(docker, "busybox") };

    const classicEnv = { DOCKER_BUILDKIT: "0" };
    const wharfPids = [wharf.daemonPid];
    const dockerPids = [docker.daemonPid, docker.containerdPid];
    const clients: Client[] = [
      { id: "wharf", title: "wharf CLI → wharf", side: wharf, enginePids: wharfPids, output: "classic", cmd: process.execPath, prefix: [wharfBin], env: wharfEnv(wharf) },
      { id: "docker-cli-wharf", title: "docker CLI (classic) → wharf", side: wharf, enginePids: wharfPids, output: "classic", cmd: dockerBin, prefix: [], env: envFor(wharf, classicEnv) },
      { id: "classic", title: "docker classic → dockerd", side: docker, enginePids: dockerPids, output: "classic", cmd: dockerBin, prefix: [], env: envFor(docker, classicEnv) },
      { id: "buildkit", title: "BuildKit → dockerd", side: docker, enginePids: dockerPids, output: "buildkit", cmd: BUILDKIT_CLI, prefix: [], env: envFor(docker, { DOCKER_BUILDKIT: "1" }) },
    ];

    const wanted = new Set(opt.clients!.split(",").map((s) => s.trim()));
    for (const c of [...clients]) if (!wanted.has(c.id)) clients.splice(clients.indexOf(c), 1);

    // Does the BuildKit client work here? One throwaway build tells.
    let buildkitNote = `BuildKit: ${versions.buildkitCli} with DOCKER_BUILDKIT=1 (its built-in client) against dockerd's BuildKit, --progress plain.`;
    {
      const probe = join(root, "probe");
      await mkdir(probe, { recursive: true });
      await writeFile(join(probe, "Dockerfile"), "FROM busybox\nRUN echo probe > /p\n");
      const bk = clients.find((c) => c.id === "buildkit");
      const r = bk ? await build(bk, "bench-probe:buildkit", probe, true).catch((err: unknown) => err as Error) : new InternalError("not asked for (--clients)");
      if (bk && r instanceof Error) {
        buildkitNote = `BuildKit left out: ${BUILDKIT_CLI} with DOCKER_BUILDKIT=1 failed: ${r.message.split("\n").slice(-3).join(" / ")}`;
        clients.splice(clients.indexOf(bk), 1);
      } else if (!bk) buildkitNote = "BuildKit left out: not in --clients.";
      log(buildkitNote);
      await reset(docker, busybox.docker);
    }

    const samples = new Map<ClientId, Record<Phase, BuildSample[]>>(clients.map((c) => [c.id, { cold: [], cached: [], changed: [] }]));
    const warnings: string[] = [];
    let factDiffs: string[] = [];
    const rounds = WARMUP + REPS;
    /** 1-minute load average at the start of each round: the host is shared, this says how much. */
    const roundLoad: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const measured = round >= WARMUP;
      // Rotate who goes first, so drift (page cache, CPU clock, other load) is shared.
      const order = clients.map((_, i) => clients[(i + round) % clients.length]!);
      roundLoad.push(loadavg()[0]!);
      log(`round ${round + 1}/${rounds}${measured ? "" : " (warm-up)"}: ${order.map((c) => c.id).join(", ")} (load ${roundLoad.at(-1)!.toFixed(2)})`);
      const facts = new Map<ClientId, ImageFacts>();
      for (const c of order) {
        const tag = `bench-build:${c.id}`;
        await reset(c.side, busybox[c.side.label]);
        const got: Partial<Record<Phase, BuildSample>> = {};
        got.cold = await build(c, tag, ctx, true);
        got.cached = await build(c, tag, ctx, false);
        if (round === 0) facts.set(c.id, await factsOf(c.side, tag));
        // A different content per round and client, same size: only this file's checksum changes.
        await writeFile(join(ctx, changed.rel), pseudoRandomText(changed.seed + 1_000_003 * (round + 1) + c.id.length, changed.size));
        try {
          got.changed = await build(c, tag, ctx, false);
        } finally {
          await writeFile(join(ctx, changed.rel), pseudoRandomText(changed.seed, changed.size));
        }
        for (const p of PHASES) {
          const w = checkHits(c, p, got[p]!);
          if (w) warnings.push(`round ${round + 1}: ${w}`);
        }
        log(`  ${c.id}: cold ${s1(got.cold.ms)}, cached ${s1(got.cached.ms)}, one file changed ${s1(got.changed.ms)}`);
        if (measured) for (const p of PHASES) samples.get(c.id)![p].push(got[p]!);
      }
      if (round === 0) factDiffs = compareFacts(facts, "classic");
    }
    for (const c of clients) await reset(c.side, busybox[c.side.label]);

    // ---------------------------------------------------------------- table
    const med = (id: ClientId, p: Phase) => (samples.has(id) ? median(samples.get(id)![p].map((s) => s.ms)) : Number.NaN);
    const targets: Record<Phase, number> = { cold: 1, cached: 0.5, changed: 1 };
    const phaseTitle: Record<Phase, string> = { cold: "cold (cache pruned, --no-cache)", cached: "rebuild, fully cached", changed: "rebuild, one file changed" };
    const hasBk = samples.has("buildkit");
    const ratioCell = (q: number, t: number) => (Number.isNaN(q) ? "n/a" : `${q.toFixed(2)} ${q <= t ? "(met)" : "(NOT met)"}`);
    const rows: string[][] = [
      ["build", "wharf CLI→wharf", "docker CLI→wharf", "classic→dockerd", "BuildKit→dockerd", "wharf/classic", "wharf/BuildKit", "target"],
      ...PHASES.map((p) => {
        const w = med("wharf", p);
        return [
          phaseTitle[p],
          s1(w),
          s1(med("docker-cli-wharf", p)),
          s1(med("classic", p)),
          hasBk ? s1(med("buildkit", p)) : "n/a",
          ratioCell(w / med("classic", p), targets[p]),
          hasBk ? ratioCell(w / med("buildkit", p), targets[p]) : "n/a",
          `≤ ${targets[p]}`,
        ];
      }),
    ];

    const header = [
      `Wharf build benchmark — ${new Date().toISOString()}`,
      `node ${versions.node}, kernel ${versions.kernel}, ${versions.cpus} CPUs; ${versions.dockerd}; ${versions.containerd}; ${versions.runc}; docker CLI ${versions.dockerCli}; wharf ${versions.wharfCommit}`,
      `Context: ${files.length} files (${(bytes / 1024 / 1024).toFixed(1)} MiB, 2–20 KB each) in ${DIRS.length}×${SUBDIRS} dirs; ${STEPS}-step Dockerfile on busybox; one-file change: ${changed.rel}.`,
      "Network: every build runs with --network none (dockerd has --bridge=none).",
      buildkitNote,
      DROP_CA ? "Node env: NODE_EXTRA_CA_CERTS removed for wharf's CLI and daemon (--keep-node-extra-ca-certs keeps it)." : "Node env: inherited as is.",
      `N: median of ${REPS} round(s) after ${WARMUP} warm-up round(s); each round runs cold → cached → one-file-changed per client, client order rotating; wall time spawn → exit. Load average at start: ${loadBefore}; 1-min load per round: ${roundLoad.map((x) => x.toFixed(1)).join(" ")}.`,
    ];

    const details: string[] = [];
    for (const p of PHASES) {
      details.push("", `Per-step medians, ${phaseTitle[p]} (classic clients; * = cache hit):`);
      const classicIds = clients.filter((c) => c.output === "classic").map((c) => c.id);
      const meds = classicIds.map((id) => stepMedians(samples.get(id)![p]));
      const names = [...meds[0]!.keys()];
      const grid = [["step", ...classicIds], ...names.map((n) => [n, ...meds.map((m) => (m.has(n) ? `${s1(m.get(n)!.ms)}${m.get(n)!.cached ? "*" : ""}` : "-"))])];
      details.push(...pad(grid));
      if (hasBk) {
        const bk = stepMedians(samples.get("buildkit")![p]);
        const top = [...bk].filter(([, v]) => v.ms >= 50 || v.cached).map(([k, v]) => `${k}: ${v.cached ? "CACHED" : s1(v.ms)}`);
        details.push(`BuildKit vertices (its own DONE times; ≥ 50 ms or cached): ${top.join("; ") || "none"}`);
      }
    }
    details.push("", "CPU per build (median): build CLI + engine (wharf daemon, or dockerd + containerd, with the children they reaped; not the RUN commands):");
    for (const c of clients) {
      const cpu = (p: Phase, f: (s: BuildSample) => number) => s1(median(samples.get(c.id)![p].map(f)));
      details.push(`  ${c.title}: ${PHASES.map((p) => `${p} CLI ${cpu(p, (s) => s.cliCpuMs)} + engine ${cpu(p, (s) => s.engineCpuMs)}`).join("; ")}`);
    }
    details.push("", "Spread (min–max):");
    for (const c of clients) {
      details.push(`  ${c.title}: ${PHASES.map((p) => {
        const xs = samples.get(c.id)![p].map((s) => s.ms);
        return `${p} ${s1(Math.min(...xs))}–${s1(Math.max(...xs))}`;
      }).join(", ")}`);
    }
    details.push("", factDiffs.length === 0 ? "Same image on every side (RUN outputs, Env/WorkingDir/Cmd/Entrypoint/Labels/ExposedPorts/User, layer count): yes." : "Images differ between clients:", ...factDiffs);
    if (warnings.length > 0) details.push("", "Cache-hit warnings:", ...warnings);

    process.stdout.write([...header, "", ...pad(rows), ...details].join("\n") + "\n");

    await mkdir(join(repoRoot, ".bench"), { recursive: true });
    const json = {
      date: new Date().toISOString(),
      versions,
      config: { reps: REPS, warmup: WARMUP, files: files.length, contextBytes: bytes, changedFile: changed.rel, droppedNodeExtraCaCerts: DROP_CA, wharfLogLevel: opt["wharf-log-level"], network: "none" },
      dockerfile: dockerfileText(files.length),
      buildkit: buildkitNote,
      clients: clients.map((c) => ({ id: c.id, title: c.title, cmd: [c.cmd, ...c.prefix, "build"].join(" ") })),
      medianMs: Object.fromEntries(clients.map((c) => [c.id, Object.fromEntries(PHASES.map((p) => [p, med(c.id, p)]))])),
      ratios: Object.fromEntries(
        PHASES.map((p) => [p, { wharfOverClassic: med("wharf", p) / med("classic", p), wharfOverBuildkit: hasBk ? med("wharf", p) / med("buildkit", p) : null, target: targets[p] }]),
      ),
      samples: Object.fromEntries(samples),
      imageDifferences: factDiffs,
      warnings,
      loadAverage: { start: loadBefore, perRound: roundLoad, end: loadavg() },
    };
    await writeFile(join(repoRoot, ".bench/build.json"), JSON.stringify(json, null, 2) + "\n");
    log("wrote .bench/build.json");
  } finally {
    await cleanup();
  }
}

runBench(main, log);
