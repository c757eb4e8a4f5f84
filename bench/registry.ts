/**
 * Registry benchmark (issue 5, item 5): push and pull of one image — one
 * --big-mib random layer and --small-layers small ones (4 KiB … 1 MiB) —
 * by each client against each registry, all on loopback:
 *
 *   clients:    `wharf daemon` driven by the wharf CLI, and a real `dockerd`
 *               (Debian's docker.io, with its own containerd) driven by the docker CLI;
 *   registries: `wharf registry` and Debian's `docker-registry` (Distribution 2.8).
 *
 *   node dist/bench/registry.js [--reps 3] [--big-mib 512] [--small-layers 20]
 *                               [--clients wharf,docker] [--registries wharf,docker-registry]
 *                               [--quiet-pct 25] [--wharf-log-level info] [--keep-node-extra-ca-certs]
 *
 * Run it as `flock -o /tmp/wharf-bench.lock node dist/bench/registry.js …`
 * (other benchmarks take the same lock). Needs root, dockerd (installed with
 * `apt-get install docker.io` when missing) and /usr/bin/docker-registry
 * (scripts/test.sh installs it).
 *
 * The image is generated once as a `docker save` archive and loaded into
 * both daemons, so both push the same image (same image ID). Per rep and
 * pair (pairs interleaved, their order alternating between reps): the
 * registry restarts on an empty storage directory and the push goes to a
 * fresh repository `bench/img-<client>-<rep>` (so no blob can be skipped or
 * mounted from another repository; a push whose output says "Mounted from"
 * or "already exists" fails the run); then the image is removed from the
 * client daemon (`rmi -f` + `image prune -af`, which drop its layers) and
 * pulled back. Before each timed command: `sync`, then a wait until the host
 * is below --quiet-pct busy. Timed: the CLI command's wall time. MB/s =
 * the image's layer tars + config (10^6 bytes) / seconds, whatever the wire
 * carried (the docker client gzips on push: random data does not shrink).
 * Result: the median of --reps. CPU per operation, from /proc/<pid>/stat:
 * the client daemon's process tree (dockerd + containerd + what they spawn),
 * the registry process, and the whole host.
 *
 * NODE_EXTRA_CA_CERTS, when set (this sandbox sets it for its proxy), is
 * removed from the environment of wharf's Node processes (CLI, daemon,
 * registry) unless --keep-node-extra-ca-certs: Node 20 parses that bundle
 * at every start, which is not the registry's cost.
 *
 * Prints a table and writes it as JSON to .bench/registry.json; logs go to
 * .bench/registry-{wharf,dockerd,wharf-registry,docker-registry}.log.
 *
 * Cleanup (also on failure and Ctrl-C): both registries, then both daemons
 * (their containers, dockerd's containerd and leftovers naming our temp
 * dir), each stopped by the PID we started; `umount -l` under the temp dir;
 * the temp dir (image archive, registry storage, daemon roots) goes.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { FailedPreconditionError, InternalError, InvalidArgumentError } from "../src/lib/errors.js";
import { CgroupParents, DockerSide, dockerBin, ensureDockerd, repoRoot, WharfSide, type EngineSide } from "./engine-sides.js";
import { waitForQuiet } from "./net-run.js";
import { hostBusyMs, median, treeCpuMs, unmountUnder, versionOf } from "./proc-tools.js";
import { buildBenchImage, type BenchImage } from "./registry-image.js";
import { DockerRegistryProcess, dockerRegistryBin, freePort, WharfRegistryProcess, type RegistryServerProcess } from "./registry-servers.js";
import { metOf, printTable, ratioOf, type Row } from "./report.js";
import { cleanupOnSignals, hostVersions, runBench } from "./bench-main.js";

const execFileP = promisify(execFile);

const { values: opt } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    "big-mib": { type: "string", default: "512" },
    "small-layers": { type: "string", default: "20" },
    clients: { type: "string", default: "wharf,docker" },
    registries: { type: "string", default: "wharf,docker-registry" },
    "quiet-pct": { type: "string", default: "25" },
    "wharf-log-level": { type: "string", default: "info" },
    "keep-node-extra-ca-certs": { type: "boolean", default: false },
  },
});
const REPS = Number(opt.reps);
const BIG_MIB = Number(opt["big-mib"]);
const SMALL = Number(opt["small-layers"]);
const QUIET_PCT = Number(opt["quiet-pct"]);
const DROP_CA = !opt["keep-node-extra-ca-certs"] && process.env.NODE_EXTRA_CA_CERTS !== undefined;

type ClientName = "wharf" | "docker";
type RegistryName = "wharf" | "docker-registry";
type Direction = "push" | "pull";

function listOpt<T extends string>(raw: string, allowed: readonly T[], what: string): T[] {
  const xs = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const x of xs) if (!allowed.includes(x as T)) throw new InvalidArgumentError(`--${what}: unknown ${JSON.stringify(x)} (want ${allowed.join(",")})`);
  return xs as T[];
}
const CLIENTS = listOpt<ClientName>(opt.clients!, ["wharf", "docker"], "clients");
const REGISTRIES = listOpt<RegistryName>(opt.registries!, ["wharf", "docker-registry"], "registries");

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** One timed operation. CPU figures are ms of CPU time spent during it. */
interface Sample {
  seconds: number;
  mbps: number;
  clientCpuMs: number;
  registryCpuMs: number;
  hostCpuMs: number;
  /** Host busy share (%) measured just before, without us. */
  quietPct: number;
}

const pairKey = (c: ClientName, r: RegistryName, d: Direction) => `${c}→${r}:${d}`;

async function must(side: EngineSide, args: string[], timeoutMs = 600_000): Promise<string> {
  const r = await side.cli(args, timeoutMs);
  if (r.code !== 0) throw new InternalError(`${side.label} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** `sync`, wait for a quiet host, then run the command and note time and CPU. */
async function timedOp(side: EngineSide, registry: RegistryServerProcess, args: string[], bytes: number): Promise<{ sample: Sample; stdout: string }> {
  await execFileP("sync");
  const quietPct = await waitForQuiet(QUIET_PCT, Date.now() + 90_000, log);
  const c0 = { client: await treeCpuMs(side.daemonPid), registry: await treeCpuMs(registry.pid), host: await hostBusyMs() };
  const r = await side.cli(args, 30 * 60_000);
  const c1 = { client: await treeCpuMs(side.daemonPid), registry: await treeCpuMs(registry.pid), host: await hostBusyMs() };
  if (r.code !== 0) throw new InternalError(`${side.label} ${args.join(" ")} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  const seconds = r.ms / 1000;
  return {
    sample: {
      seconds,
      mbps: bytes / 1e6 / seconds,
      clientCpuMs: c1.client - c0.client,
      registryCpuMs: c1.registry - c0.registry,
      hostCpuMs: c1.host - c0.host,
      quietPct,
    },
    stdout: r.stdout,
  };
}

/** Removes the image and its layers from the client daemon, so the next pull downloads everything. */
async function removeImage(side: EngineSide, image: BenchImage): Promise<void> {
  await must(side, ["rmi", "-f", image.id]);
  await must(side, ["image", "prune", "-af"]);
  const left = (await must(side, ["images", "-q", "--no-trunc"])).split("\n").filter((l) => l.trim() === image.id);
  if (left.length > 0) throw new InternalError(`${side.label}: image ${image.id} still there after rmi -f`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new FailedPreconditionError("the registry benchmark needs root (it starts dockerd and wharf daemon)");
  if (CLIENTS.includes("docker")) await ensureDockerd(log);
  if (REGISTRIES.includes("docker-registry") && (await versionOf(dockerRegistryBin, ["--version"])) === "?") {
    throw new FailedPreconditionError(`${dockerRegistryBin} missing: apt-get install docker-registry (scripts/test.sh does, without starting its service)`);
  }
  const root = await mkdtemp("/tmp/wharf-regbench-");
  const cgroups = await CgroupParents.note(["docker", "wharf"]);
  const nodeEnv = { ...process.env };
  if (DROP_CA) delete nodeEnv.NODE_EXTRA_CA_CERTS;

  const registries = new Map<RegistryName, RegistryServerProcess>();
  if (REGISTRIES.includes("wharf")) registries.set("wharf", new WharfRegistryProcess(join(root, "wharf-registry"), await freePort(), nodeEnv));
  if (REGISTRIES.includes("docker-registry")) registries.set("docker-registry", new DockerRegistryProcess(join(root, "docker-registry"), await freePort()));
  const addrs = [...registries.values()].map((r) => r.addr);
  const clients = new Map<ClientName, EngineSide>();
  if (CLIENTS.includes("wharf")) {
    clients.set("wharf", new WharfSide(root, {
      logLevel: opt["wharf-log-level"]!,
      dropNodeExtraCaCerts: DROP_CA,
      // No network option: WharfSide runs the daemon with --bridge none and chains of its own.
      args: addrs.flatMap((a) => ["--insecure-registry", a]),
    }));
  }
  if (CLIENTS.includes("docker")) clients.set("docker", new DockerSide(root, { args: addrs.map((a) => `--insecure-registry=${a}`) }));
  const notes: string[] = [];

  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      log("cleaning up");
      for (const r of registries.values()) await r.stop();
      for (const n of await Promise.all([...clients.values()].map((c) => c.stop()))) notes.push(...n);
      const unmounted = await unmountUnder(root);
      if (unmounted > 0) notes.push(`unmounted ${unmounted} leftover mount(s) under ${root}`);
      await mkdir(join(repoRoot, ".bench"), { recursive: true });
      const logs: Array<[string, string]> = [
        [join(root, "wharf", "daemon.log"), "registry-wharf.log"],
        [join(root, "docker", "daemon.log"), "registry-dockerd.log"],
        ...[...registries].map(([k, r]): [string, string] => [r.logFile, `registry-${k === "wharf" ? "wharf-registry" : k}.log`]),
      ];
      for (const [from, to] of logs) await copyFile(from, join(repoRoot, ".bench", to)).catch(() => undefined);
      await rm(root, { recursive: true, force: true }).catch((err) => notes.push(`could not remove ${root}: ${String(err)}`));
      for (const p of await cgroups.removeNew()) notes.push(`removed empty cgroup ${p}`);
      for (const n of notes) log(`cleanup: ${n}`);
    })());
  cleanupOnSignals(cleanup, log);

  try {
    const versions = {
      ...hostVersions(),
      dockerd: CLIENTS.includes("docker") ? await versionOf("dockerd", ["--version"]) : "-",
      containerd: CLIENTS.includes("docker") ? await versionOf("containerd", ["--version"]) : "-",
      dockerCli: CLIENTS.includes("docker") ? `${dockerBin}: ${await versionOf(dockerBin, ["--version"])}` : "-",
      dockerRegistry: REGISTRIES.includes("docker-registry") ? await versionOf(dockerRegistryBin, ["--version"]) : "-",
      wharfCommit: await versionOf("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"]),
    };
    log(`temp root ${root}`);
    log(`generating the image: ${BIG_MIB} MiB random layer + ${SMALL} small layers`);
    const image = await buildBenchImage(root, BIG_MIB * 1024 * 1024, SMALL, "bench/img:latest");
    log(`image ${image.id.slice(7, 19)}: ${(image.bytes / 1e6).toFixed(1)} MB`);
    for (const [name, side] of clients) {
      log(`starting ${name} daemon and loading the image`);
      await side.start();
      await must(side, ["load", "-i", image.tar]);
      await must(side, ["image", "inspect", image.id]);
    }
    await rm(image.tar, { force: true });

    const samples = new Map<string, Sample[]>();
    const add = (k: string, s: Sample) => samples.set(k, [...(samples.get(k) ?? []), s]);
    const regOrder = [...registries.keys()];
    const clientOrder = [...clients.keys()];
    for (let rep = 0; rep < REPS; rep++) {
      // Alternate who goes first, so drift (page cache, CPU clock) hits both alike.
      const regs = rep % 2 ? [...regOrder].reverse() : regOrder;
      const cls = rep % 2 ? [...clientOrder].reverse() : clientOrder;
      for (const rn of regs) {
        for (const cn of cls) {
          const reg = registries.get(rn)!;
          const side = clients.get(cn)!;
          await reg.start();
          const ref = `${reg.addr}/bench/img-${cn}-${rep}:latest`;
          await must(side, ["tag", image.id, ref]);
          const push = await timedOp(side, reg, ["push", ref], image.bytes);
          if (/Mounted from|already exists/i.test(push.stdout)) {
            throw new InternalError(`${cn} push to an empty ${reg.label} skipped layers:\n${push.stdout}`);
          }
          add(pairKey(cn, rn, "push"), push.sample);
          log(`rep ${rep + 1}/${REPS} ${cn} → ${reg.label} push: ${push.sample.mbps.toFixed(1)} MB/s`);
          await removeImage(side, image);
          const pull = await timedOp(side, reg, ["pull", ref], image.bytes);
          const id = (await must(side, ["image", "inspect", "--format", "{{.Id}}", ref])).trim();
          if (id !== image.id) throw new InternalError(`${cn} pulled ${id}, pushed ${image.id}`);
          add(pairKey(cn, rn, "pull"), pull.sample);
          log(`rep ${rep + 1}/${REPS} ${cn} ← ${reg.label} pull: ${pull.sample.mbps.toFixed(1)} MB/s`);
          await reg.stop();
        }
      }
    }

    const med = (k: string, f: (s: Sample) => number) => median((samples.get(k) ?? []).map(f));
    const mbps = (c: ClientName, r: RegistryName, d: Direction) => med(pairKey(c, r, d), (s) => s.mbps);
    const regLabel = (r: RegistryName) => (r === "wharf" ? "wharf registry" : "docker-registry");
    const rows: Row[] = [];
    for (const d of ["push", "pull"] as const) {
      if (clients.size === 2) {
        for (const r of registries.keys()) {
          rows.push({ id: `client-${d}-${r}`, measurement: `${d} ${d === "push" ? "to" : "from"} ${regLabel(r)}: wharf client vs docker client`, unit: "MB/s", wharf: mbps("wharf", r, d), docker: mbps("docker", r, d), better: "higher", target: 1 });
        }
      }
      if (registries.size === 2) {
        for (const c of clients.keys()) {
          rows.push({ id: `registry-${d}-${c}`, measurement: `${d} by ${c} client: wharf registry vs docker-registry`, unit: "MB/s", wharf: mbps(c, "wharf", d), docker: mbps(c, "docker-registry", d), better: "higher", target: 1 });
        }
      }
    }
    const fmtS = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" / ");
    const pairs: string[] = [];
    for (const c of clients.keys()) {
      for (const r of registries.keys()) {
        for (const d of ["push", "pull"] as const) {
          const k = pairKey(c, r, d);
          const ss = samples.get(k) ?? [];
          pairs.push(
            `${`${c} client ${d === "push" ? "→" : "←"} ${regLabel(r)}`.padEnd(34)} ${d}: ${med(k, (s) => s.mbps).toFixed(1).padStart(6)} MB/s ` +
              `(runs ${fmtS(ss.map((s) => s.mbps))}); CPU per op (median): client daemon ${(med(k, (s) => s.clientCpuMs) / 1000).toFixed(2)} s, ` +
              `registry ${(med(k, (s) => s.registryCpuMs) / 1000).toFixed(2)} s, host ${(med(k, (s) => s.hostCpuMs) / 1000).toFixed(2)} s ` +
              `of ${med(k, (s) => s.seconds).toFixed(2)} s wall`,
          );
        }
      }
    }
    const header = [
      `Wharf registry benchmark — ${new Date().toISOString()}`,
      `node ${versions.node}, kernel ${versions.kernel}, ${versions.cpus} CPUs; ${versions.dockerd}; ${versions.containerd}; docker CLI ${versions.dockerCli}; docker-registry ${versions.dockerRegistry}; wharf ${versions.wharfCommit}`,
      `Image: one ${BIG_MIB} MiB random layer + ${SMALL} layers of 4 KiB–1 MiB, ${(image.bytes / 1e6).toFixed(1)} MB in all; MB/s = those bytes / wall time of the CLI command (1 MB = 10^6 bytes).`,
      `Each row compares two (client, registry) pairs: the "wharf" column is the Wharf side of the comparison (the wharf client, or wharf registry), "docker" the other.`,
      DROP_CA
        ? "Node env: NODE_EXTRA_CA_CERTS (set in this environment) is removed for wharf's CLI, daemon and registry: Node 20 parses that bundle at every process start (--keep-node-extra-ca-certs keeps it)."
        : "Node env: inherited as is.",
      `N: median of ${REPS} rep(s) per pair; pairs interleaved; each push to an empty registry, each pull into a daemon without the image; sync and a host below ${QUIET_PCT}% busy before each.`,
    ];
    printTable(header, rows, ["Per pair (client daemon CPU: wharf daemon, or dockerd + containerd + children):", ...pairs]);

    await mkdir(join(repoRoot, ".bench"), { recursive: true });
    const json = {
      date: new Date().toISOString(),
      versions,
      config: { reps: REPS, bigMib: BIG_MIB, smallLayers: SMALL, clients: CLIENTS, registries: REGISTRIES, quietPct: QUIET_PCT, droppedNodeExtraCaCerts: DROP_CA },
      image: { id: image.id, bytes: image.bytes, layerSizes: image.layerSizes },
      rows: rows.map((r) => ({ ...r, ratio: ratioOf(r), met: metOf(r) })),
      samples: Object.fromEntries(samples),
    };
    await writeFile(join(repoRoot, ".bench/registry.json"), JSON.stringify(json, null, 2) + "\n");
    log("wrote .bench/registry.json");
  } finally {
    await cleanup();
  }
}

runBench(main, log);
