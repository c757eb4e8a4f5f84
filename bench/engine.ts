/**
 * Engine benchmark: `wharf daemon` against a real `dockerd` (Debian's
 * docker.io: dockerd 20.10 starting its own containerd 1.6 + runc), both
 * started here on private temp roots under /tmp/wharf-bench-XXXXXX, both fed
 * the same `.cache/busybox.tar` (nothing is pulled: no network beyond loopback).
 *
 *   node dist/bench/engine.js [--reps 15] [--warmup 3] [--batch 50]
 *                             [--batch-reps 3] [--settle-ms 5000]
 *                             [--wharf-log-level info] [--keep-node-extra-ca-certs]
 *                             [--network bridge|none]
 *
 * Needs root, `scripts/setup.sh` done, and `dockerd`: when it is missing this
 * script runs `apt-get install -y docker.io` itself (with RUNLEVEL=1 so the
 * package's init script does not start a system dockerd).
 *
 * Measures (medians of --reps runs after --warmup runs, sides interleaved):
 *   (a) `wharf run --rm busybox true` vs `docker run --rm busybox true`, each CLI → its daemon;
 *   (b) the real docker CLI → wharf vs → dockerd: `run --rm busybox true` and `ps`;
 *   (c) --batch concurrent `run -d busybox sleep 60` (own CLI each), then one
 *       `rm -f` of all of them: containers/second, median of --batch-reps batches
 *       after one warm-up batch;
 *   (d) idle RSS (no containers, after --settle-ms): wharf daemon vs
 *       dockerd + containerd (+ shims), from /proc/<pid>/status VmRSS.
 * NODE_EXTRA_CA_CERTS, when set (this sandbox sets it for its proxy), is
 * removed from the environment of wharf's Node processes unless
 * --keep-node-extra-ca-certs: Node 20 parses that bundle at every start,
 * which is not the engine's cost; the header says which way it ran.
 *
 * --network bridge (default): both run bridge networking as out of the box
 * (veth, IPAM, iptables) — what `docker run` gives a container — on a bridge
 * and subnet of this run's own (net-run.ts), and the host's iptables, links
 * and mounts are checked to be as before after the run. --network none:
 * containers on both sides get a loopback-only network namespace (dockerd
 * --bridge=none --iptables=false, wharf --bridge none).
 *
 * Prints a table and writes it as JSON to .bench/engine.json; daemon logs go
 * to .bench/engine-{wharf,dockerd}.log.
 *
 * Cleanup (also on failure and Ctrl-C): rm -f every container on both sides,
 * stop both daemons by PID (SIGTERM, SIGKILL after a grace period), then
 * containerd by the PID noted as dockerd's child if it outlived dockerd, then
 * any process still naming our temp dir, runc leftovers in our runc roots,
 * `umount -l` under the temp dir deepest first, and the temp dir itself.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FailedPreconditionError, InternalError, InvalidArgumentError } from "../src/lib/errors.js";
import { CgroupParents, DockerSide, dockerBin, EngineSide, ensureDockerd, repoRoot, WharfSide, wharfCliStartup } from "./engine-sides.js";
import { openNetRun } from "./net-run.js";
import { hostBusyMs, median, sleep, unmountUnder, versionOf, vmRssKb } from "./proc-tools.js";
import { metOf, printTable, ratioOf, type Row } from "./report.js";
import { cleanupOnSignals, hostVersions, runBench } from "./bench-main.js";

const { values: opt } = parseArgs({
  options: {
    reps: { type: "string", default: "15" },
    warmup: { type: "string", default: "3" },
    batch: { type: "string", default: "50" },
    "batch-reps": { type: "string", default: "3" },
    "settle-ms": { type: "string", default: "5000" },
    "wharf-log-level": { type: "string", default: "info" },
    "keep-node-extra-ca-certs": { type: "boolean", default: false },
    network: { type: "string", default: "bridge" },
  },
});
if (opt.network !== "none" && opt.network !== "bridge") throw new InvalidArgumentError(`--network: want bridge or none, got ${opt.network}`);
const BRIDGE = opt.network === "bridge";
const REPS = Number(opt.reps);
const WARMUP = Number(opt.warmup);
const BATCH = Number(opt.batch);
const BATCH_REPS = Number(opt["batch-reps"]);
const SETTLE_MS = Number(opt["settle-ms"]);
const DROP_CA = !opt["keep-node-extra-ca-certs"] && process.env.NODE_EXTRA_CA_CERTS !== undefined;

const NETWORK_NOTE = BRIDGE
  ? "Network: both sides run containers on bridge networking (veth, IPAM, iptables), each on a bridge and subnet of this run's own."
  : "Network: both sides run containers with a loopback-only network namespace (dockerd --bridge=none --iptables=false --ip-masq=false; wharf --bridge none).";

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** One timed CLI call that must succeed. */
async function timed(side: EngineSide, how: "own" | "docker", args: string[]): Promise<number> {
  const r = how === "own" ? await side.cli(args) : await side.dockerCli(args);
  if (r.code !== 0) throw new InternalError(`${side.label} (${how} CLI) ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.ms;
}

/** Host CPU (ms) spent per operation, by side: summed over the timed runs, divided by their count. */
const cpuPerOp = new Map<string, { wharf: number; docker: number }>();

/** Warm-up then REPS alternating runs; returns each side's samples (ms). */
async function compare(what: string, sides: [EngineSide, EngineSide], how: "own" | "docker", args: string[]): Promise<Map<string, number[]>> {
  log(`${what}: ${WARMUP} warm-up + ${REPS} runs per side`);
  for (let i = 0; i < WARMUP; i++) for (const s of sides) await timed(s, how, args);
  const samples = new Map<string, number[]>(sides.map((s) => [s.label, []]));
  const cpu = { wharf: 0, docker: 0 };
  for (let i = 0; i < REPS; i++) {
    // Alternate who goes first, so drift (page cache, CPU clock) hits both alike.
    const order = i % 2 ? [sides[1], sides[0]] : sides;
    for (const s of order) {
      const c0 = await hostBusyMs();
      samples.get(s.label)!.push(await timed(s, how, args));
      cpu[s.label] += (await hostBusyMs()) - c0;
    }
  }
  cpuPerOp.set(what, { wharf: cpu.wharf / REPS, docker: cpu.docker / REPS });
  return samples;
}

interface BatchResult {
  startMs: number;
  rmMs: number;
  /** Host CPU (ms) for the whole batch start, and for the rm -f. */
  startCpuMs: number;
  rmCpuMs: number;
}

/** BATCH concurrent `run -d … sleep 60` with the side's own CLI, then one `rm -f` of them all. */
async function batch(side: EngineSide): Promise<BatchResult> {
  const c0 = await hostBusyMs();
  const t0 = process.hrtime.bigint();
  const runs = await Promise.all(Array.from({ length: BATCH }, () => side.cli(["run", "-d", "busybox", "sleep", "60"], 300_000)));
  const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const startCpuMs = (await hostBusyMs()) - c0;
  const ids = runs.filter((r) => r.code === 0).map((r) => r.stdout.trim());
  const failed = runs.filter((r) => r.code !== 0);
  if (failed.length > 0) {
    if (ids.length > 0) await side.cli(["rm", "-f", ...ids], 300_000);
    throw new InternalError(`${side.label}: ${failed.length}/${BATCH} concurrent runs failed, e.g.: ${failed[0]!.stderr.trim()}`);
  }
  const running = (await side.cli(["ps", "-q", "--no-trunc"])).stdout.split("\n").filter(Boolean).length;
  if (running !== BATCH) log(`warning: ${side.label}: ${running} of ${BATCH} containers running after the batch`);
  const c1 = await hostBusyMs();
  const rmRes = await side.cli(["rm", "-f", ...ids], 300_000);
  const rmCpuMs = (await hostBusyMs()) - c1;
  if (rmRes.code !== 0) throw new InternalError(`${side.label}: rm -f of the batch exited ${rmRes.code}: ${rmRes.stderr.trim()}`);
  const left = (await side.containerIds()).length;
  if (left !== 0) throw new InternalError(`${side.label}: ${left} containers left after rm -f`);
  return { startMs, rmMs: rmRes.ms, startCpuMs, rmCpuMs };
}

async function idleRss(side: EngineSide): Promise<{ kb: number; parts: string[] }> {
  // Median of a few samples: RSS moves a little as the GC/scavenger runs.
  const samples: number[] = [];
  let parts: string[] = [];
  for (let i = 0; i < 5; i++) {
    const procs = await side.rssParts();
    let sum = 0;
    parts = [];
    for (const p of procs) {
      const kb = await vmRssKb(p.pid);
      sum += kb;
      parts.push(`${p.role} ${p.pid}: ${(kb / 1024).toFixed(1)} MiB`);
    }
    samples.push(sum);
    await sleep(200);
  }
  return { kb: median(samples), parts };
}

const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ms`;

interface Run {
  root: string;
  wharf: WharfSide;
  docker: DockerSide;
  /** Safe to call twice; also runs on Ctrl-C. */
  cleanup(): Promise<void>;
}

/** No bridge on either side: temp root, both sides, and the cleanup that removes them. */
async function isolatedRun(): Promise<Run> {
  const root = await mkdtemp("/tmp/wharf-bench-");
  const cgroups = await CgroupParents.note(["docker", "wharf"]);
  const wharf = new WharfSide(root, { logLevel: opt["wharf-log-level"]!, dropNodeExtraCaCerts: DROP_CA });
  const docker = new DockerSide(root);
  const notes: string[] = [];

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      log("cleaning up");
      const [wn, dn] = await Promise.all([wharf.stop(), docker.stop()]);
      notes.push(...wn, ...dn);
      const unmounted = await unmountUnder(root);
      if (unmounted > 0) notes.push(`unmounted ${unmounted} leftover mount(s) under ${root}`);
      await mkdir(join(repoRoot, ".bench"), { recursive: true });
      await copyFile(join(wharf.dir, "daemon.log"), join(repoRoot, ".bench/engine-wharf.log")).catch(() => undefined);
      await copyFile(join(docker.dir, "daemon.log"), join(repoRoot, ".bench/engine-dockerd.log")).catch(() => undefined);
      await rm(root, { recursive: true, force: true }).catch((err) => notes.push(`could not remove ${root}: ${String(err)}`));
      for (const p of await cgroups.removeNew()) notes.push(`removed empty cgroup ${p}`);
      for (const n of notes) log(`cleanup: ${n}`);
    })());
  cleanupOnSignals(cleanup, log);

  return { root, wharf, docker, cleanup };
}

/** Bridge networking on both sides (net-run.ts), with its check that the host is left as it was. */
async function bridgedRun(): Promise<Run> {
  const run = await openNetRun({ wharfLogLevel: opt["wharf-log-level"]!, dropNodeExtraCaCerts: DROP_CA, name: "engine", log });
  const cleanup = async () => {
    const r = await run.cleanup();
    if (!r.clean) log("cleanup: WARNING: the host is not as before the run (see the cleanup check above)");
  };
  return { root: run.root, wharf: run.wharf, docker: run.docker, cleanup };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new FailedPreconditionError("the engine benchmark needs root (it starts dockerd and wharf daemon)");
  await ensureDockerd(log);
  const { root, wharf, docker, cleanup } = BRIDGE ? await bridgedRun() : await isolatedRun();

  try {
    const versions = {
      ...hostVersions(),
      dockerd: await versionOf("dockerd", ["--version"]),
      containerd: await versionOf("containerd", ["--version"]),
      runc: await versionOf("runc", ["--version"]),
      conmon: await versionOf("conmon", ["--version"]),
      dockerCli: `${dockerBin}: ${await versionOf(dockerBin, ["--version"])}`,
      wharfCommit: await versionOf("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"]),
      wharfCliStart: await wharfCliStartup(),
    };
    log(`temp root ${root}`);
    log("starting dockerd (with its own containerd) and loading busybox.tar");
    await docker.start();
    log(`dockerd pid ${docker.daemonPid}, containerd pid ${docker.containerdPid}`);
    log("starting wharf daemon and loading busybox.tar");
    await wharf.start();
    log(`wharf daemon pid ${wharf.daemonPid}`);
    await sleep(1000);
    const rssBefore = { wharf: await idleRss(wharf), docker: await idleRss(docker) };

    const sides: [EngineSide, EngineSide] = [wharf, docker];
    const runArgs = ["run", "--rm", "busybox", "true"];
    const a = await compare("(a) run --rm, own CLI", sides, "own", runArgs);
    const bRun = await compare("(b) docker CLI: run --rm", sides, "docker", runArgs);
    const bPs = await compare("(b) docker CLI: ps", sides, "docker", ["ps"]);

    log(`(c) ${BATCH} concurrent run -d, then rm -f: 1 warm-up batch + ${BATCH_REPS} per side`);
    for (const s of sides) await batch(s);
    const c = new Map<string, BatchResult[]>(sides.map((s) => [s.label, []]));
    for (let i = 0; i < BATCH_REPS; i++) {
      for (const s of i % 2 ? [docker, wharf] : sides) {
        await sleep(1000);
        c.get(s.label)!.push(await batch(s));
      }
    }

    log(`(d) settling ${SETTLE_MS} ms, then idle RSS`);
    await sleep(SETTLE_MS);
    const d = { wharf: await idleRss(wharf), docker: await idleRss(docker) };

    const med = (m: Map<string, number[]>, k: string) => median(m.get(k)!);
    const rate = (k: string, f: (b: BatchResult) => number) => BATCH / (median(c.get(k)!.map(f)) / 1000);
    const rows: Row[] = [
      { id: "a", measurement: "(a) run --rm busybox true, own CLI → own daemon", unit: "ms", wharf: med(a, "wharf"), docker: med(a, "docker"), better: "lower", target: 0.5 },
      { id: "b-run", measurement: "(b) docker CLI: run --rm busybox true", unit: "ms", wharf: med(bRun, "wharf"), docker: med(bRun, "docker"), better: "lower", target: 0.35 },
      { id: "b-ps", measurement: "(b) docker CLI: ps", unit: "ms", wharf: med(bPs, "wharf"), docker: med(bPs, "docker"), better: "lower", target: 0.35 },
      { id: "c-start", measurement: `(c) ${BATCH}× concurrent run -d (start rate)`, unit: "ctr/s", wharf: rate("wharf", (b) => b.startMs), docker: rate("docker", (b) => b.startMs), better: "higher", target: 2 },
      { id: "c-rm", measurement: `(c) rm -f of ${BATCH} (removal rate)`, unit: "ctr/s", wharf: rate("wharf", (b) => b.rmMs), docker: rate("docker", (b) => b.rmMs), better: "higher", target: 2 },
      { id: "d", measurement: "(d) idle RSS, engine processes", unit: "MiB", wharf: d.wharf.kb / 1024, docker: d.docker.kb / 1024, better: "lower", target: 1 },
    ];

    const header = [
      `Wharf engine benchmark — ${new Date().toISOString()}`,
      `node ${versions.node}, kernel ${versions.kernel}, ${versions.cpus} CPUs; ${versions.dockerd}; ${versions.containerd}; ${versions.runc}; ${versions.conmon}; docker CLI ${versions.dockerCli}; wharf ${versions.wharfCommit} (CLI from the ${versions.wharfCliStart})`,
      NETWORK_NOTE,
      DROP_CA
        ? "Node env: NODE_EXTRA_CA_CERTS (set in this environment) is removed for wharf's CLI and daemon: Node 20 parses that bundle at every process start (--keep-node-extra-ca-certs keeps it)."
        : "Node env: inherited as is.",
      `N: (a)(b) median of ${REPS} runs per side after ${WARMUP} warm-up run(s), sides interleaved; ` +
        `(c) median of ${BATCH_REPS} batch(es) of ${BATCH} after 1 warm-up batch; (d) median of 5 samples after ${SETTLE_MS} ms idle.`,
    ];
    const details = [
      `(a) spread: wharf ${spread(a.get("wharf")!)}, docker ${spread(a.get("docker")!)}`,
      `(b) run spread: wharf ${spread(bRun.get("wharf")!)}, docker ${spread(bRun.get("docker")!)}; ps spread: wharf ${spread(bPs.get("wharf")!)}, docker ${spread(bPs.get("docker")!)}`,
      ...[...cpuPerOp].map(([what, v]) => `${what}: host CPU per run: wharf ${v.wharf.toFixed(0)} ms, docker ${v.docker.toFixed(0)} ms`),
      ...sides.map(
        (s) =>
          `(c) ${s.label} batches: ` +
          c.get(s.label)!.map((b) => `start ${b.startMs.toFixed(0)} ms (host CPU ${b.startCpuMs.toFixed(0)} ms) / rm ${b.rmMs.toFixed(0)} ms (CPU ${b.rmCpuMs.toFixed(0)} ms)`).join(", "),
      ),
      `(d) wharf: ${d.wharf.parts.join(", ")}`,
      `(d) docker: ${d.docker.parts.join(", ")}`,
      `(d) before any run: wharf ${(rssBefore.wharf.kb / 1024).toFixed(1)} MiB, docker ${(rssBefore.docker.kb / 1024).toFixed(1)} MiB`,
    ];
    printTable(header, rows, details);

    await mkdir(join(repoRoot, ".bench"), { recursive: true });
    const json = {
      date: new Date().toISOString(),
      versions,
      network: NETWORK_NOTE,
      config: { reps: REPS, warmup: WARMUP, batch: BATCH, batchReps: BATCH_REPS, settleMs: SETTLE_MS, wharfLogLevel: opt["wharf-log-level"], droppedNodeExtraCaCerts: DROP_CA },
      rows: rows.map((r) => ({ ...r, ratio: ratioOf(r), met: metOf(r) })),
      samples: {
        a: Object.fromEntries(a),
        bRun: Object.fromEntries(bRun),
        bPs: Object.fromEntries(bPs),
        c: Object.fromEntries(c),
        hostCpuPerOp: Object.fromEntries(cpuPerOp),
        d: { wharf: d.wharf, docker: d.docker },
        rssBefore,
      },
    };
    await writeFile(join(repoRoot, ".bench/engine.json"), JSON.stringify(json, null, 2) + "\n");
    log("wrote .bench/engine.json");
  } finally {
    await cleanup();
  }
}

runBench(main, log);
