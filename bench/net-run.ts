/**
 * One networked benchmark run: `wharf daemon` and `dockerd`, each with bridge
 * networking on a bridge and subnet of this run's own, on private temp
 * roots, and the cleanup that puts the host back as it was.
 *
 * waitForOthers → waitForQuiet → openNetRun (checks the host, notes
 * iptables, links, mounts and sysctls) → start the sides → measure →
 * cleanup() (also on Ctrl-C; safe to call twice) → its report says whether
 * iptables, links, mounts and processes match the state before the run.
 */
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { FailedPreconditionError, UnavailableError } from "../src/lib/errors.js";
import { CgroupParents, DockerSide, repoRoot, subnetPrefixOf, WharfSide, type DockerNetwork, type WharfNetwork } from "./engine-sides.js";
import { diffSnapshots, takeSnapshot, undoSince, type Snapshot } from "./iptables-snapshot.js";
import { commandLine, hostBusyMs, pidsMentioning, sleep, unmountUnder } from "./proc-tools.js";
import { cleanupOnSignals } from "./bench-main.js";

const execFileP = promisify(execFile);

export interface RunNet {
  wharf: WharfNetwork;
  docker: DockerNetwork;
}

/**
 * A random tag keeps names and subnets apart from a dev daemon (wharf0
 * 10.213/16, pool 10.214/16), Docker's defaults (docker0 172.17/16), the test
 * suites (10.196-199, 10.200-253) and another run. /24s: see subnetPrefixOf.
 */
export function pickNetworks(): RunNet {
  const tag = randomBytes(2).toString("hex");
  const c = parseInt(tag.slice(0, 2), 16);
  return {
    wharf: { bridge: `wnb${tag}0`, bip: `10.191.${c}.1/24`, pool: "10.192.0.0/16", chainPrefix: `WHARF-NB${tag}` },
    docker: { bridge: `dnb${tag}0`, bip: `10.193.${c}.1/24`, pool: "10.194.0.0/16" },
  };
}

const ipNum = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);

function cidrOverlaps(a: string, b: string): boolean {
  const [ia, la] = a.split("/");
  const [ib, lb] = b.split("/");
  // Two blocks overlap when they agree on the shorter prefix.
  const block = 2 ** (32 - Math.min(Number(la ?? 32), Number(lb ?? 32)));
  return Math.floor(ipNum(ia!) / block) === Math.floor(ipNum(ib!) / block);
}

async function checkHost(net: RunNet, before: Snapshot): Promise<void> {
  const docker = [...before.tables].flatMap(([t, d]) => [...d.chains.keys()].filter((c) => c.startsWith("DOCKER")).map((c) => `${t}/${c}`));
  if (docker.length > 0) {
    // dockerd removes and re-creates these chains at start: it would take over another dockerd's rules.
    throw new FailedPreconditionError(
      `iptables already has Docker chains (${docker.join(", ")}): another dockerd with iptables runs, or a crashed run left them. ` +
        "Stop it / remove them (iptables-save | grep DOCKER) and retry.",
    );
  }
  const links = await linkNames();
  for (const b of [net.wharf.bridge, net.docker.bridge]) if (links.includes(b)) throw new FailedPreconditionError(`link ${b} already exists`);
  const routes = JSON.parse((await execFileP("ip", ["-j", "-4", "route", "show"])).stdout) as Array<{ dst: string }>;
  for (const cidr of [net.wharf.bip, net.wharf.pool, net.docker.bip, net.docker.pool]) {
    const hit = routes.find((r) => r.dst !== "default" && cidrOverlaps(r.dst.includes("/") ? r.dst : `${r.dst}/32`, cidr));
    if (hit) throw new FailedPreconditionError(`${cidr} overlaps the host route ${hit.dst}; run again (subnets are picked at random)`);
  }
}

interface Link {
  ifname: string;
  master?: string;
  kind?: string;
}

async function links(): Promise<Link[]> {
  const parsed = JSON.parse((await execFileP("ip", ["-j", "-d", "link", "show"])).stdout) as Array<{ ifname: string; master?: string; linkinfo?: { info_kind?: string } }>;
  return parsed.map((l) => ({ ifname: l.ifname, ...(l.master ? { master: l.master } : {}), ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}) }));
}

async function linkNames(): Promise<string[]> {
  return (await links()).map((l) => l.ifname);
}

async function mountPoints(): Promise<string[]> {
  return (await readFile("/proc/self/mounts", "utf8")).split("\n").map((l) => l.split(" ")[1] ?? "").filter(Boolean);
}

/** Another dockerd or engine/network benchmark (not us, not our ancestors): to wait for, never to touch. */
async function othersRunning(): Promise<string[]> {
  // Our ancestors (`timeout … node dist/bench/network.js`) name this script too.
  const mine = new Set<number>();
  for (let p = process.pid; p > 1 && !mine.has(p); ) {
    mine.add(p);
    const stat = await readFile(`/proc/${p}/stat`, "utf8").catch(() => "");
    p = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? 0);
  }
  const out: string[] = [];
  for (const n of await readdir("/proc")) {
    if (!/^\d+$/.test(n) || mine.has(Number(n))) continue;
    const cmd = await commandLine(Number(n));
    const argv0 = cmd.split(" ")[0] ?? "";
    if (argv0.endsWith("/dockerd") || argv0 === "dockerd" || /bench\/(engine|network|trace-start)\.js/.test(cmd)) out.push(`${n} ${cmd.slice(0, 100)}`);
  }
  return out;
}

/** Waits until no other dockerd or benchmark runs; throws at `deadline` (ms since the epoch). */
export async function waitForOthers(deadline: number, log: (s: string) => void): Promise<void> {
  let last = "";
  for (;;) {
    const others = await othersRunning();
    if (others.length === 0) return;
    const now = others.join("; ");
    if (now !== last) log(`waiting for: ${now}`);
    last = now;
    if (Date.now() > deadline) throw new UnavailableError(`still running: ${now}`);
    await sleep(10_000);
  }
}

/** Share (%) of all the host's CPUs busy over the next `ms`. */
export async function busyPct(ms: number): Promise<number> {
  const c0 = await hostBusyMs();
  const t0 = performance.now();
  await sleep(ms);
  return (100 * ((await hostBusyMs()) - c0)) / ((performance.now() - t0) * availableParallelism());
}

/**
 * Waits (until `deadline`) for other programs to leave the CPUs mostly idle:
 * on a shared 2-CPU host a test suite next door moves every number. Returns
 * the last reading; goes on, with a warning, when it never settles.
 */
export async function waitForQuiet(maxPct: number, deadline: number, log: (s: string) => void): Promise<number> {
  for (;;) {
    const pct = await busyPct(3000);
    if (pct <= maxPct) return pct;
    if (Date.now() > deadline) {
      log(`warning: the host stays ${pct.toFixed(0)}% busy without us; measuring anyway`);
      return pct;
    }
    log(`host ${pct.toFixed(0)}% busy without us (> ${maxPct}%): waiting`);
    await sleep(7000);
  }
}

export interface CleanupReport {
  /** iptables-save after cleanup vs before the run: every difference … */
  iptablesDiff: string[];
  /** … and those that are this run's (DOCKER*, our chains, bridges, subnets); the rest is another program's doing. */
  iptablesDiffOurs: string[];
  ip6tablesDiff: string[];
  /** Links that appeared during the run and are, or may be, ours: our bridges, veths on no bridge. */
  newLinks: string[];
  /** Mounts that appeared during the run under our temp dir. */
  newMounts: string[];
  /** Links and mounts another program made meanwhile (a veth on someone else's bridge, a mount outside our dir). */
  foreignLinks: string[];
  foreignMounts: string[];
  leftoverPids: string[];
  /** The DOCKER* chains and rules removed for dockerd (and any wharf left). */
  undone: string[];
  /** iptables lines that appeared during the run but are not ours: left alone. */
  foreign: string[];
  notes: string[];
  tempDirRemoved: boolean;
  /** Nothing of ours is left (other programs' iptables changes aside). */
  clean: boolean;
}

export interface NetRun {
  root: string;
  net: RunNet;
  wharf: WharfSide;
  docker: DockerSide;
  /** Runs `fn` first thing in cleanup (for what the caller set up on the host itself). */
  defer(fn: () => Promise<void>): void;
  cleanup(): Promise<CleanupReport>;
}

export interface NetRunOptions {
  wharfLogLevel: string;
  dropNodeExtraCaCerts: boolean;
  /** Daemon logs are copied to .bench/<name>-{wharf,dockerd}.log. */
  name: string;
  log: (s: string) => void;
}

/** Notes the host's state and makes the two sides (not started). Ctrl-C from here on cleans up. */
export async function openNetRun(o: NetRunOptions): Promise<NetRun> {
  const { log } = o;
  const net = pickNetworks();
  const ipt0 = await takeSnapshot();
  const ip6t0 = await takeSnapshot("ip6tables-save");
  await checkHost(net, ipt0);
  const links0 = new Set(await linkNames());
  const mounts0 = new Set(await mountPoints());
  const sysctls = ["net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables"];
  const sysctl0 = new Map(await Promise.all(sysctls.map(async (k) => [k, (await readFile(`/proc/sys/${k}`, "utf8").catch(() => "")).trim()] as const)));

  const root = await mkdtemp("/tmp/wharf-netbench-");
  const cgroups = await CgroupParents.note(["docker", "wharf"]);
  const wharf = new WharfSide(root, { logLevel: o.wharfLogLevel, dropNodeExtraCaCerts: o.dropNodeExtraCaCerts, network: net.wharf });
  const docker = new DockerSide(root, { network: net.docker });
  const deferred: Array<() => Promise<void>> = [];
  const ours = [net.wharf.bridge, net.docker.bridge, net.wharf.chainPrefix, subnetPrefixOf(net.wharf.bip), subnetPrefixOf(net.docker.bip)];

  const cleanupOnce = async (): Promise<CleanupReport> => {
    log("cleaning up");
    const r: CleanupReport = {
      iptablesDiff: [], iptablesDiffOurs: [], ip6tablesDiff: [], newLinks: [], newMounts: [], foreignLinks: [], foreignMounts: [], leftoverPids: [],
      undone: [], foreign: [], notes: [], tempDirRemoved: false, clean: false,
    };
    for (const fn of deferred.reverse()) await fn().catch((err: unknown) => r.notes.push(`deferred cleanup failed: ${String(err)}`));
    // One after the other: both rewrite iptables while stopping.
    r.notes.push(...(await docker.stop()));
    r.notes.push(...(await wharf.stop()));
    try {
      const undo = await undoSince(ipt0, {
        chain: (_t, c) => c.startsWith("DOCKER") || c.startsWith(net.wharf.chainPrefix),
        rule: (_t, line) => ours.some((n) => line.includes(n)),
      });
      r.undone = undo.removed;
      r.foreign = undo.foreign;
      const wharfLeft = undo.removed.filter((l) => l.includes(net.wharf.chainPrefix) || l.includes(net.wharf.bridge) || l.includes(subnetPrefixOf(net.wharf.bip)));
      if (wharfLeft.length > 0) r.notes.push(`wharf's teardown left ${wharfLeft.length} iptables line(s), removed here: ${wharfLeft.join("; ")}`);
    } catch (err) {
      r.notes.push(`undoing iptables changes failed: ${String(err)}`);
    }
    for (const [k, v] of sysctl0) {
      const now = (await readFile(`/proc/sys/${k}`, "utf8").catch(() => "")).trim();
      if (v !== "" && now !== v) {
        await writeFile(`/proc/sys/${k}`, v).catch(() => undefined);
        r.notes.push(`sysctl ${k} was ${v}, became ${now}: put back`);
      }
    }
    const unmounted = await unmountUnder(root);
    if (unmounted > 0) r.notes.push(`unmounted ${unmounted} leftover mount(s) under ${root}`);
    await mkdir(join(repoRoot, ".bench"), { recursive: true });
    await copyFile(join(wharf.dir, "daemon.log"), join(repoRoot, `.bench/${o.name}-wharf.log`)).catch(() => undefined);
    await copyFile(join(docker.dir, "daemon.log"), join(repoRoot, `.bench/${o.name}-dockerd.log`)).catch(() => undefined);
    await rm(root, { recursive: true, force: true }).catch((err) => r.notes.push(`could not remove ${root}: ${String(err)}`));
    for (const p of await cgroups.removeNew()) r.notes.push(`removed empty cgroup ${p}`);

    // The check: everything as before the run.
    r.iptablesDiff = diffSnapshots(ipt0, await takeSnapshot());
    r.iptablesDiffOurs = r.iptablesDiff.filter((l) => l.includes("DOCKER") || ours.some((n) => l.includes(n)));
    r.ip6tablesDiff = diffSnapshots(ip6t0, await takeSnapshot("ip6tables-save"));
    const ourBridges = [net.wharf.bridge, net.docker.bridge];
    for (const l of (await links()).filter((l) => !links0.has(l.ifname))) {
      const mine = ourBridges.includes(l.ifname) || (l.kind === "veth" && (l.master === undefined || ourBridges.includes(l.master)));
      (mine ? r.newLinks : r.foreignLinks).push(l.master ? `${l.ifname} (on ${l.master})` : l.ifname);
    }
    for (const m of (await mountPoints()).filter((m) => !mounts0.has(m))) (m.startsWith(root + "/") ? r.newMounts : r.foreignMounts).push(m);
    for (const needle of [root, `-container-ip ${subnetPrefixOf(net.docker.bip)}`]) {
      for (const pid of await pidsMentioning(needle)) r.leftoverPids.push(`${pid} ${(await commandLine(pid)).slice(0, 100)}`);
    }
    r.tempDirRemoved = await readdir(root).then(() => false, () => true);
    r.clean = r.tempDirRemoved && [r.iptablesDiffOurs, r.ip6tablesDiff, r.newLinks, r.newMounts, r.leftoverPids].every((x) => x.length === 0);

    for (const n of r.notes) log(`cleanup: ${n}`);
    for (const l of r.undone) log(`cleanup: removed ${l}`);
    for (const l of r.foreign) log(`cleanup: appeared during the run but not ours, left alone: ${l}`);
    log(`cleanup check: iptables-save diff ${r.iptablesDiff.length ? r.iptablesDiff.join(" | ") : "empty"}`);
    if (r.iptablesDiff.length > r.iptablesDiffOurs.length) {
      log(`cleanup check: of which ours: ${r.iptablesDiffOurs.join(" | ") || "none"} (the rest is another program's, made during the run)`);
    }
    log(`cleanup check: ip6tables-save diff ${r.ip6tablesDiff.length ? r.ip6tablesDiff.join(" | ") : "empty"}`);
    log(
      `cleanup check: new links ${r.newLinks.join(", ") || "none"}; new mounts ${r.newMounts.join(", ") || "none"}; ` +
        `leftover processes ${r.leftoverPids.join(", ") || "none"}; ${root} ${r.tempDirRemoved ? "removed" : "STILL THERE"}`,
    );
    if (r.foreignLinks.length + r.foreignMounts.length > 0) {
      log(`cleanup check: not ours, made by another program during the run: ${[...r.foreignLinks, ...r.foreignMounts].join(", ")}`);
    }
    return r;
  };
  let cleaning: Promise<CleanupReport> | undefined;
  const cleanup = () => (cleaning ??= cleanupOnce());
  cleanupOnSignals(cleanup, log);
  return { root, net, wharf, docker, defer: (fn) => void deferred.push(fn), cleanup };
}
