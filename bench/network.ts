/**
 * Network benchmark: `wharf daemon` against a real `dockerd` (Debian's
 * docker.io 20.10, its own containerd), both with bridge networking on a
 * bridge, subnet and temp roots of this run's own, both fed the same
 * `.cache/busybox.tar`. All traffic goes to 127.0.0.1 or to container
 * addresses on the two bridges this run creates.
 *
 *   node dist/bench/network.js [--reps 11] [--warmup 2] [--poll-ms 3]
 *                              [--bytes 1073741824] [--xfer-reps 7] [--xfer-warmup 2]
 *                              [--only a|b] [--wait-others-s 3600] [--max-background-pct 15]
 *                              [--wharf-log-level info] [--keep-node-extra-ca-certs]
 *
 * Needs root and `scripts/setup.sh` done; installs docker.io when `dockerd`
 * is missing. Before it starts anything it waits (up to --wait-others-s)
 * while another dockerd or engine/network benchmark runs (dockerd's
 * iptables chains have fixed names) and while other programs keep more than
 * --max-background-pct of the CPUs busy (the header says how busy it was).
 *
 * Measures:
 *   (a) from spawning `run -d -p H:80 busybox httpd -f -p 80` (each side's own
 *       CLI: `node bin/wharf.js` / `docker`) until a GET to 127.0.0.1:H gets an
 *       HTTP answer, probing in two ways, each its own row:
 *         after-cli   probes start when the CLI has exited (`run -d … && until curl …`);
 *         from-spawn  probes start with the CLI (a health checker polling all along).
 *       A failed probe (refused, reset, closed) is followed by the next within
 *       --poll-ms; while one hangs, a fresh one goes out every 10 ms anyway, so
 *       the time is when a GET sent then is answered, not when a retransmit
 *       happens to land. (That matters for docker: docker-proxy accepts before
 *       its container can be reached and dials it at once; the SYN it sends
 *       then, and every dial queued behind the unresolved neighbour entry, wait
 *       about a second. Wharf has a shorter window of its own: its DNAT rule goes
 *       live before the container's veth is on the bridge; the details count
 *       the probes that stalled.) Where the time goes: bench/trace-start.ts.
 *       Median of --reps per side and mode after --warmup,
 *       sides and modes interleaved, the container removed (untimed) after each
 *       rep, a fresh host port each time.
 *   (b) GET of a --bytes sparse file from busybox httpd in a container (it
 *       answers with sendfile(2), so the source costs next to nothing), read
 *       by a Node socket on the host into one reused 4 MiB buffer: MB/s from
 *       sending the request to the last byte, the body length checked.
 *       Paths: wharf's published port on 127.0.0.1 (DNAT + route_localnet),
 *       docker's (docker-proxy, as stock Docker), and wharf's container
 *       address directly (no NAT, no proxy: the limit). Median of --xfer-reps
 *       after --xfer-warmup per path, path order rotated every rep. Docker's
 *       container address directly is measured too, for context.
 *       Why not `nc`: busybox nc copies through a small buffer with a select()
 *       per chunk and tops out near 320 MB/s on this host, below every path.
 *       Why container → host: the reader sees every byte arrive, so the time
 *       cannot end while data still sits in socket buffers.
 *
 * Prints a table, writes .bench/network.json (after cleanup, with the
 * cleanup check in it); daemon logs go to .bench/network-{wharf,dockerd}.log.
 *
 * Cleanup (also on failure and Ctrl-C): containers on both sides, both
 * daemons by PID, leftover conmon/shims/docker-proxy by PID, wharf's
 * bridge and chains (a manager opened on its state), docker's bridge, the
 * DOCKER* chains and rules this run's dockerd added (from an iptables-save
 * taken before: only what appeared since and names our chains, bridges or
 * subnets), mounts under the temp dir, the temp dir, new empty cgroups.
 * Then iptables-save, links, mounts and processes are compared with
 * before the run.
 */
import { writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FailedPreconditionError, InternalError, InvalidArgumentError, UnavailableError } from "../src/lib/errors.js";
import { dockerBin, ensureDockerd, repoRoot, subnetPrefixOf, type DockerSide, type EngineSide, type WharfSide } from "./engine-sides.js";
import { openNetRun, waitForOthers, waitForQuiet, type CleanupReport, type RunNet } from "./net-run.js";
import { hostBusyMs, median, sleep, versionOf } from "./proc-tools.js";
import { baselineRatioOf, metOf, printTable, ratioOf, type Row } from "./report.js";
import { hostVersions, runBench } from "./bench-main.js";

const { values: opt } = parseArgs({
  options: {
    reps: { type: "string", default: "11" },
    warmup: { type: "string", default: "2" },
    "poll-ms": { type: "string", default: "3" },
    bytes: { type: "string", default: String(1 << 30) },
    "xfer-reps": { type: "string", default: "7" },
    "xfer-warmup": { type: "string", default: "2" },
    only: { type: "string", default: "" },
    "wait-others-s": { type: "string", default: "3600" },
    "max-background-pct": { type: "string", default: "15" },
    "wharf-log-level": { type: "string", default: "info" },
    "keep-node-extra-ca-certs": { type: "boolean", default: false },
  },
});
const REPS = Number(opt.reps);
const WARMUP = Number(opt.warmup);
const POLL_MS = Number(opt["poll-ms"]);
const BYTES = Number(opt.bytes);
const XFER_REPS = Number(opt["xfer-reps"]);
const XFER_WARMUP = Number(opt["xfer-warmup"]);
const WAIT_OTHERS_S = Number(opt["wait-others-s"]);
const MAX_BACKGROUND_PCT = Number(opt["max-background-pct"]);
const ONLY = opt.only as "" | "a" | "b";
if (!["", "a", "b"].includes(ONLY)) throw new InvalidArgumentError(`--only must be a or b, not ${ONLY}`);
const DROP_CA = !opt["keep-node-extra-ca-certs"] && process.env.NODE_EXTRA_CA_CERTS !== undefined;

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// ---------------------------------------------------------------------------
// Probing and transfers

type ProbeOutcome = "answer" | "refused" | "reset" | "closed" | "timeout" | "other";

/**
 * One GET on a fresh connection: did an HTTP status line come back?
 * `onConnect` runs when the port accepts (for docker: docker-proxy accepted,
 * whatever happens behind it).
 */
function probeOnce(host: string, port: number, timeoutMs: number, onConnect: () => void): Promise<ProbeOutcome> {
  return new Promise((done) => {
    const s = connect({ host, port });
    let got = "";
    let over = false;
    const finish = (outcome: ProbeOutcome) => {
      if (over) return;
      over = true;
      s.destroy();
      done(outcome);
    };
    s.setTimeout(timeoutMs, () => finish("timeout"));
    s.once("connect", () => {
      onConnect();
      s.write("GET / HTTP/1.0\r\n\r\n");
    });
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (got.length >= 5) finish(got.startsWith("HTTP/") ? "answer" : "other");
    });
    s.once("error", (e: NodeJS.ErrnoException) => finish(e.code === "ECONNREFUSED" ? "refused" : e.code === "ECONNRESET" ? "reset" : "other"));
    s.once("close", () => finish("closed"));
  });
}

/** How the probing of one start went. */
interface ProbeTrace {
  /** ms after t0 of the first answer. */
  answerMs: number;
  /** ms after t0 at which the answering probe was sent (much earlier than answerMs: it hung). */
  answeringProbeSentMs: number;
  /** ms after t0 at which the first probe the port accepted (answered or not) was sent. */
  firstAcceptMs: number | null;
  probes: number;
  outcomes: Partial<Record<ProbeOutcome, number>>;
  /**
   * Probes still waiting at the answer that had been sent > 100 ms before it:
   * connections that stalled (a SYN lost on the way to the container, resent
   * only after 1 s) while later ones got through.
   */
  stalled: number;
}

/**
 * Probes 127.0.0.1:port until a GET gets an answer. A probe that fails
 * (refused, reset, closed) is followed by the next within POLL_MS; while
 * probes hang (a SYN lost before the path is up is only resent after 1 s,
 * by us or by docker-proxy), a fresh one goes out every HANG_MS anyway, so
 * the answer is seen within HANG_MS of the path working, not after a
 * retransmit. Rejects when `failed()` says no container will come, or after
 * `timeoutMs`.
 */
function firstAnswer(host: string, port: number, t0: number, failed: () => string | undefined, timeoutMs = 60_000): Promise<ProbeTrace> {
  const HANG_MS = 10;
  const MAX_IN_FLIGHT = 200;
  return new Promise((resolve, reject) => {
    let inFlight = 0;
    let lastLaunch = 0;
    let over = false;
    const pending = new Set<number>();
    const trace: ProbeTrace = { answerMs: 0, answeringProbeSentMs: 0, firstAcceptMs: null, probes: 0, outcomes: {}, stalled: 0 };
    const end = (f: () => void) => {
      if (over) return;
      over = true;
      clearInterval(tick);
      f();
    };
    const launch = () => {
      inFlight++;
      trace.probes++;
      const sent = (lastLaunch = nowMs()) - t0;
      pending.add(sent);
      const accepted = () => {
        if (!over && (trace.firstAcceptMs === null || sent < trace.firstAcceptMs)) trace.firstAcceptMs = sent;
      };
      void probeOnce(host, port, 5000, accepted).then((outcome) => {
        inFlight--;
        pending.delete(sent);
        const at = nowMs() - t0;
        if (over) return;
        trace.outcomes[outcome] = (trace.outcomes[outcome] ?? 0) + 1;
        if (outcome === "answer") {
          const stalled = [...pending].filter((x) => at - x > 100).length;
          end(() => resolve({ ...trace, answerMs: at, answeringProbeSentMs: sent, stalled }));
        }
      });
    };
    const tick = setInterval(() => {
      if (over) return;
      const why = failed();
      if (why !== undefined) return end(() => reject(new InternalError(`no answer on ${host}:${port}: ${why}`)));
      if (nowMs() - t0 > timeoutMs) return end(() => reject(new InternalError(`no answer on ${host}:${port} after ${timeoutMs} ms (${trace.probes} probes)`)));
      if (inFlight === 0 || (nowMs() - lastLaunch >= HANG_MS && inFlight < MAX_IN_FLIGHT)) launch();
    }, POLL_MS);
    launch();
  });
}

interface Transfer {
  bytes: number;
  /** Request sent → last byte. */
  ms: number;
  /** Request sent → first body byte. */
  firstByteMs: number;
  mbps: number;
  /** Host CPU (all CPUs) spent during the transfer, ms. */
  cpuMs: number;
}

/** GET /big over one connection, into a reused 4 MiB buffer; checks the body length. */
async function transfer(host: string, port: number): Promise<Transfer> {
  const c0 = await hostBusyMs();
  const r = await new Promise<Omit<Transfer, "cpuMs" | "mbps">>((resolve, reject) => {
    let t0 = 0;
    let firstByte = 0;
    let head: Buffer | null = Buffer.alloc(0);
    let body = 0;
    let expected = -1;
    const s = connect({
      host,
      port,
      onread: {
        buffer: Buffer.allocUnsafe(4 << 20),
        callback: (n, buf) => {
          if (head === null) {
            body += n;
            return true;
          }
          // Only the first chunk(s) are looked at: the header, then counting.
          head = Buffer.concat([head, buf.subarray(0, n)]);
          const i = head.indexOf("\r\n\r\n");
          if (i < 0) return true;
          const text = head.subarray(0, i).toString("latin1");
          if (!/^HTTP\/1\.\d 200/.test(text)) {
            s.destroy();
            reject(new InternalError(`GET /big on ${host}:${port}: ${text.split("\r\n")[0]}`));
            return false;
          }
          expected = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? -1);
          body = head.length - i - 4;
          head = null;
          firstByte = nowMs();
          return true;
        },
      },
    });
    s.setTimeout(120_000, () => s.destroy(new InternalError(`GET /big on ${host}:${port}: timed out`)));
    s.once("connect", () => {
      t0 = nowMs();
      s.write("GET /big HTTP/1.0\r\n\r\n");
    });
    s.once("error", reject);
    s.once("end", () => {
      const t1 = nowMs();
      s.destroy();
      if (body !== BYTES || expected !== BYTES) reject(new InternalError(`GET /big on ${host}:${port}: ${body} body bytes, Content-Length ${expected}, want ${BYTES}`));
      else resolve({ bytes: body, ms: t1 - t0, firstByteMs: firstByte - t0 });
    });
  });
  const cpuMs = (await hostBusyMs()) - c0;
  return { ...r, mbps: r.bytes / 1e6 / (r.ms / 1000), cpuMs };
}

// ---------------------------------------------------------------------------
// Ports

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once("error", () => done(false));
    srv.listen({ host: "0.0.0.0", port, exclusive: true }, () => srv.close(() => done(true)));
  });
}

/** Hands out host ports from `base` up, each one free when handed out, never the same twice. */
class Ports {
  #next: number;
  constructor(base: number) {
    this.#next = base;
  }
  async take(): Promise<number> {
    for (let i = 0; i < 500; i++) {
      const p = this.#next++;
      if (await portFree(p)) return p;
    }
    throw new UnavailableError(`no free host port near ${this.#next}`);
  }
}

// ---------------------------------------------------------------------------
// (a)

/**
 * When the probing starts: `after-cli` is `docker run -d … && until curl …`
 * (the client waits for the CLI); `from-spawn` is a health checker that polls
 * from the moment `run` is issued.
 */
type ProbeMode = "after-cli" | "from-spawn";
const MODES: readonly ProbeMode[] = ["after-cli", "from-spawn"];

interface StartSample {
  mode: ProbeMode;
  /** Spawn of `run -d` → first HTTP answer on 127.0.0.1. */
  answerMs: number;
  probe: ProbeTrace;
  /** Spawn of `run -d` → the CLI exited. */
  cliMs: number;
  /** Host CPU (all CPUs) from the spawn to the answer, ms. */
  cpuMs: number;
}

async function startToAnswer(side: EngineSide, ports: Ports, mode: ProbeMode): Promise<StartSample> {
  const port = await ports.take();
  const c0 = await hostBusyMs();
  const t0 = nowMs();
  let cliDone: { code: number; stderr: string } | undefined;
  const run = side.cli(["run", "-d", "-p", `${port}:80`, "busybox", "httpd", "-f", "-p", "80"]);
  void run.then((r) => (cliDone = r));
  let probe: ProbeTrace;
  try {
    if (mode === "after-cli") await run;
    probe = await firstAnswer("127.0.0.1", port, t0, () =>
      cliDone && cliDone.code !== 0 ? `${side.label} run -d exited ${cliDone.code}: ${cliDone.stderr.trim()}` : undefined,
    );
  } finally {
    // The CLI must be done before the container can be removed (its id is on stdout).
    const r = await run;
    const id = r.stdout.trim();
    if (r.code === 0 && id) {
      const rm = await side.cli(["rm", "-f", id]);
      if (rm.code !== 0) log(`warning: ${side.label} rm -f ${id.slice(0, 12)}: ${rm.stderr.trim()}`);
    }
  }
  const cpuMs = (await hostBusyMs()) - c0;
  return { mode, answerMs: probe.answerMs, probe, cliMs: (await run).ms, cpuMs };
}

type StartSamples = Record<"wharf" | "docker", Record<ProbeMode, StartSample[]>>;

async function measureStart(sides: [EngineSide, EngineSide], ports: Record<"wharf" | "docker", Ports>): Promise<StartSamples> {
  log(`(a) run -d -p … httpd until it answers, probing ${MODES.join(" / ")}: ${WARMUP} warm-up + ${REPS} runs per side and mode`);
  for (let i = 0; i < WARMUP; i++) for (const s of sides) for (const m of MODES) await startToAnswer(s, ports[s.label], m);
  const out: StartSamples = { wharf: { "after-cli": [], "from-spawn": [] }, docker: { "after-cli": [], "from-spawn": [] } };
  for (let i = 0; i < REPS; i++) {
    // Alternate who goes first and which mode, so drift (page cache, other load) hits both alike.
    for (const s of i % 2 ? [sides[1], sides[0]] : sides) {
      for (const m of i % 4 < 2 ? MODES : [...MODES].reverse()) {
        await sleep(300);
        const x = await startToAnswer(s, ports[s.label], m);
        out[s.label][m].push(x);
        log(
          `(a) ${s.label} ${m} #${i + 1}: answer ${x.answerMs.toFixed(0)} ms (by a probe sent at ${x.probe.answeringProbeSentMs.toFixed(0)}), ` +
            `CLI exit ${x.cliMs.toFixed(0)} ms, port first accepted at ${x.probe.firstAcceptMs?.toFixed(0) ?? "–"} ms, ${x.probe.probes} probes ${JSON.stringify(x.probe.outcomes)}, ${x.probe.stalled} stalled`,
        );
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// (b)

interface Source {
  id: string;
  port: number;
  ip: string;
}

async function startSource(side: EngineSide, ports: Ports): Promise<Source> {
  const port = await ports.take();
  // A sparse file: httpd sendfile()s page-cache pages (zeroes), no disk and no copy in the container.
  const script = `mkdir -p /www && truncate -s ${BYTES} /www/big && exec httpd -f -p 80 -h /www`;
  const t0 = nowMs();
  const r = await side.cli(["run", "-d", "-p", `${port}:80`, "busybox", "sh", "-c", script]);
  if (r.code !== 0) throw new InternalError(`${side.label}: starting the source container: ${r.stderr.trim()}`);
  const id = r.stdout.trim();
  await firstAnswer("127.0.0.1", port, t0, () => undefined, 30_000);
  const inspect = await side.cli(["inspect", id]);
  if (inspect.code !== 0) throw new InternalError(`${side.label}: inspect ${id}: ${inspect.stderr.trim()}`);
  const ns = (JSON.parse(inspect.stdout) as Array<{ NetworkSettings?: { IPAddress?: string; Networks?: Record<string, { IPAddress?: string }> } }>)[0]?.NetworkSettings;
  const ip = ns?.IPAddress || Object.values(ns?.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress || "";
  if (!ip) throw new InternalError(`${side.label}: container ${id.slice(0, 12)} has no IP address in inspect`);
  return { id, port, ip };
}

type PathKey = "wharf" | "docker" | "direct" | "dockerDirect";

interface Path {
  key: PathKey;
  what: string;
  host: string;
  port: number;
}

interface Throughput {
  paths: Path[];
  samples: Record<PathKey, Transfer[]>;
}

async function measureThroughput(wharf: WharfSide, docker: DockerSide, ports: Record<"wharf" | "docker", Ports>, net: RunNet): Promise<Throughput> {
  log(`(b) ${BYTES} bytes per GET: ${XFER_WARMUP} warm-up + ${XFER_REPS} per path`);
  const started: Array<[EngineSide, Source]> = [];
  try {
    const ws = await startSource(wharf, ports.wharf);
    started.push([wharf, ws]);
    const ds = await startSource(docker, ports.docker);
    started.push([docker, ds]);
    // The rule: traffic only to 127.0.0.1 or inside the bridges this run made.
    const want = [subnetPrefixOf(net.wharf.bip), subnetPrefixOf(net.docker.bip)] as const;
    if (!ws.ip.startsWith(want[0]) || !ds.ip.startsWith(want[1])) {
      throw new InternalError(`container addresses ${ws.ip}, ${ds.ip} are not on this run's bridges (${want.join(", ")})`);
    }
    const paths: Path[] = [
      { key: "wharf", what: `wharf 127.0.0.1:${ws.port}`, host: "127.0.0.1", port: ws.port },
      { key: "docker", what: `docker 127.0.0.1:${ds.port} (docker-proxy)`, host: "127.0.0.1", port: ds.port },
      { key: "direct", what: `wharf container ${ws.ip}:80`, host: ws.ip, port: 80 },
      { key: "dockerDirect", what: `docker container ${ds.ip}:80`, host: ds.ip, port: 80 },
    ];
    // The first GET of each file also fills the page cache with its (zero) pages: warm-up.
    for (let i = 0; i < XFER_WARMUP; i++) for (const p of paths) await transfer(p.host, p.port);
    const samples = { wharf: [], docker: [], direct: [], dockerDirect: [] } as Record<PathKey, Transfer[]>;
    for (let i = 0; i < XFER_REPS; i++) {
      const order = [...paths.slice(i % paths.length), ...paths.slice(0, i % paths.length)];
      for (const p of order) {
        await sleep(200);
        const t = await transfer(p.host, p.port);
        samples[p.key].push(t);
        log(`(b) ${p.what} #${i + 1}: ${t.mbps.toFixed(0)} MB/s (${t.ms.toFixed(0)} ms, host CPU ${t.cpuMs.toFixed(0)} ms)`);
      }
    }
    return { paths, samples };
  } finally {
    for (const [side, src] of started) await side.cli(["rm", "-f", src.id]);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new FailedPreconditionError("the network benchmark needs root (it starts dockerd and wharf daemon)");
  await ensureDockerd(log);
  const deadline = Date.now() + WAIT_OTHERS_S * 1000;
  await waitForOthers(deadline, log);
  const idle = await waitForQuiet(MAX_BACKGROUND_PCT, deadline, log);

  const run = await openNetRun({ wharfLogLevel: opt["wharf-log-level"]!, dropNodeExtraCaCerts: DROP_CA, name: "network", log });
  const { root, net, wharf, docker } = run;

  let result: Record<string, unknown> | undefined;
  let report: CleanupReport;
  try {
    const versions = {
      ...hostVersions(),
      dockerd: await versionOf("dockerd", ["--version"]),
      dockerProxy: await versionOf("docker-proxy", ["--version"]),
      containerd: await versionOf("containerd", ["--version"]),
      runc: await versionOf("runc", ["--version"]),
      conmon: await versionOf("conmon", ["--version"]),
      iptables: await versionOf("iptables", ["--version"]),
      dockerCli: `${dockerBin}: ${await versionOf(dockerBin, ["--version"])}`,
      wharfCommit: await versionOf("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"]),
    };
    log(`temp root ${root}; wharf ${net.wharf.bridge} ${net.wharf.bip} chains ${net.wharf.chainPrefix}*; docker ${net.docker.bridge} ${net.docker.bip}`);
    log("starting dockerd (bridge, iptables, docker-proxy) and loading busybox.tar");
    await docker.start();
    log(`dockerd pid ${docker.daemonPid}, containerd pid ${docker.containerdPid}`);
    log("starting wharf daemon and loading busybox.tar");
    await wharf.start();
    log(`wharf daemon pid ${wharf.daemonPid}`);
    await sleep(1000);

    const sides: [EngineSide, EngineSide] = [wharf, docker];
    const ports = { wharf: new Ports(28_100), docker: new Ports(29_100) };
    const a = ONLY === "b" ? undefined : await measureStart(sides, ports);
    const b = ONLY === "a" ? undefined : await measureThroughput(wharf, docker, ports, net);

    const rows: Row[] = [];
    const details: string[] = [];
    const spread = (xs: number[], unit: string) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ${unit}`;
    if (a) {
      const med = (k: "wharf" | "docker", m: ProbeMode, f: (x: StartSample) => number = (x) => x.answerMs) => median(a[k][m].map(f));
      const what: Record<ProbeMode, string> = {
        "after-cli": "(a) run -d -p H:80 busybox httpd, then GET 127.0.0.1:H until answered",
        "from-spawn": "(a′) same, GET probes from the moment run is issued",
      };
      for (const m of MODES) {
        rows.push({ id: `a-${m}`, measurement: what[m], unit: "ms", wharf: med("wharf", m), docker: med("docker", m), better: "lower", target: 0.5 });
      }
      for (const m of MODES) {
        const hung = (k: "wharf" | "docker") => a[k][m].filter((x) => x.answerMs - x.probe.answeringProbeSentMs > 100).length;
        const stalled = (k: "wharf" | "docker") => a[k][m].reduce((n, x) => n + x.probe.stalled, 0);
        details.push(
          `(a) ${m}: spread wharf ${spread(a.wharf[m].map((x) => x.answerMs), "ms")}, docker ${spread(a.docker[m].map((x) => x.answerMs), "ms")}; ` +
            `CLI exit (median) wharf ${med("wharf", m, (x) => x.cliMs).toFixed(0)} ms, docker ${med("docker", m, (x) => x.cliMs).toFixed(0)} ms; ` +
            `answer − CLI exit (median) wharf ${med("wharf", m, (x) => x.answerMs - x.cliMs).toFixed(0)} ms, docker ${med("docker", m, (x) => x.answerMs - x.cliMs).toFixed(0)} ms`,
          `(a) ${m}: port first accepts (median) wharf ${med("wharf", m, (x) => x.probe.firstAcceptMs ?? Number.NaN).toFixed(0)} ms, docker ${med("docker", m, (x) => x.probe.firstAcceptMs ?? Number.NaN).toFixed(0)} ms; ` +
            `probes (median) wharf ${med("wharf", m, (x) => x.probe.probes)}, docker ${med("docker", m, (x) => x.probe.probes)}; ` +
            `answered by a probe that had hung > 100 ms: wharf ${hung("wharf")}/${REPS}, docker ${hung("docker")}/${REPS}; ` +
            `probes stalled > 100 ms while a later one got the answer (total): wharf ${stalled("wharf")}, docker ${stalled("docker")}; ` +
            `host CPU spawn → answer (median) wharf ${med("wharf", m, (x) => x.cpuMs).toFixed(0)} ms, docker ${med("docker", m, (x) => x.cpuMs).toFixed(0)} ms`,
        );
      }
    }
    if (b) {
      const med = (k: PathKey, f: (x: Transfer) => number = (x) => x.mbps) => median(b.samples[k].map(f));
      const gib = BYTES / 2 ** 30;
      rows.push({
        id: "b",
        measurement: `(b) ${gib === 1 ? "1 GiB" : `${BYTES} B`} container → 127.0.0.1 via published port`,
        unit: "MB/s",
        wharf: med("wharf"),
        docker: med("docker"),
        better: "higher",
        target: 1,
        baseline: { label: "direct", value: med("direct"), target: 0.7 },
      });
      for (const p of b.paths) {
        details.push(
          `(b) ${p.what}: ${med(p.key).toFixed(0)} MB/s (spread ${spread(b.samples[p.key].map((x) => x.mbps), "MB/s")}), ` +
            `host CPU ${(med(p.key, (x) => x.cpuMs) / gib).toFixed(0)} ms/GiB, first byte after ${med(p.key, (x) => x.firstByteMs).toFixed(1)} ms`,
        );
      }
      details.push(`(b) docker-proxy vs docker's own container address: ${(med("docker") / med("dockerDirect")).toFixed(2)}×; wharf's direct vs docker's direct: ${(med("direct") / med("dockerDirect")).toFixed(2)}×`);
    }
    const header = [
      `Wharf network benchmark — ${new Date().toISOString()}`,
      `node ${versions.node}, kernel ${versions.kernel}, ${versions.cpus} CPUs; ${versions.dockerd}; ${versions.containerd}; ${versions.runc}; ${versions.conmon}; ${versions.iptables}; docker CLI ${versions.dockerCli}; wharf ${versions.wharfCommit}`,
      `Networks: wharf bridge ${net.wharf.bridge} ${net.wharf.bip} (DNAT in its ${net.wharf.chainPrefix}* chains, route_localnet, no proxy); ` +
        `dockerd bridge ${net.docker.bridge} ${net.docker.bip}, --iptables=true, userland proxy on (docker-proxy serves 127.0.0.1).`,
      DROP_CA
        ? "Node env: NODE_EXTRA_CA_CERTS (set in this environment) is removed for wharf's CLI and daemon: Node 20 parses that bundle at every process start (--keep-node-extra-ca-certs keeps it)."
        : "Node env: inherited as is.",
      "N: " +
        [
          ...(a ? [`(a) median of ${REPS} per side and mode after ${WARMUP} warm-up(s), sides and modes interleaved, a failed probe followed within ${POLL_MS} ms`] : []),
          ...(b ? [`(b) median of ${XFER_REPS} per path after ${XFER_WARMUP} warm-up(s), path order rotated, MB/s = 10^6 bytes/s`] : []),
        ].join("; ") +
        ".",
      `Background load before the run: ${idle.toFixed(0)}% of the host's CPUs busy (other programs).`,
    ];
    printTable(header, rows, details);
    result = {
      date: new Date().toISOString(),
      versions,
      networks: net,
      backgroundBusyPct: idle,
      config: { reps: REPS, warmup: WARMUP, pollMs: POLL_MS, bytes: BYTES, xferReps: XFER_REPS, xferWarmup: XFER_WARMUP, only: ONLY, wharfLogLevel: opt["wharf-log-level"], droppedNodeExtraCaCerts: DROP_CA },
      rows: rows.map((r) => ({ ...r, ratio: ratioOf(r), baselineRatio: baselineRatioOf(r), met: metOf(r) })),
      samples: { a, b },
    };
  } finally {
    report = await run.cleanup();
  }
  await writeFile(join(repoRoot, ".bench/network.json"), JSON.stringify({ ...result, cleanup: report }, null, 2) + "\n");
  log(`wrote .bench/network.json (cleanup ${report.clean ? "complete" : "INCOMPLETE"})`);
  if (!report.clean) process.exitCode = 2;
}

runBench(main, log);
