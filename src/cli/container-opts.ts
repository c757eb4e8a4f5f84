/**
 * `run`/`create` flags (docker's names) → the `POST /containers/create` body.
 * Validation that the docker CLI does client-side (ports, restart policy,
 * env files, conflicting flags) happens here with docker's wording; the rest
 * is left to the daemon.
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerCreate
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../lib/errors.js";
import { parseDuration } from "../lib/go-duration.js";
import { collect, intFlag, UsageError, type FlagSet } from "./command-kit.js";
import { ramInBytes } from "../lib/humanize.js";

// ---------- ports (nat.ParsePortSpec) ----------

export interface PortMapping {
  /** "80/tcp" */
  port: string;
  binding: { HostIp: string; HostPort: string };
}

function parsePortRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}

function isIp(s: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s)) return s.split(".").every((p) => Number(p) <= 255);
  return /^[0-9a-fA-F:.]+$/.test(s) && s.includes(":");
}

/** Parses one `-p` value: `80`, `8080:80`, `127.0.0.1:8080:80/udp`, `[::1]::80`, `8000-8001:80-81`. */
export function parsePortSpec(raw: string): PortMapping[] {
  const parts = raw.split(":");
  const n = parts.length;
  let containerPart = parts[n - 1]!;
  let hostPort = "";
  let ip = "";
  if (n === 2) hostPort = parts[0]!;
  else if (n === 3) {
    ip = parts[0]!;
    hostPort = parts[1]!;
  } else if (n > 3) {
    ip = parts.slice(0, n - 2).join(":");
    hostPort = parts[n - 2]!;
  }
  let proto = "tcp";
  const slash = containerPart.indexOf("/");
  if (slash >= 0) {
    proto = containerPart.slice(slash + 1);
    containerPart = containerPart.slice(0, slash);
  }
  if (ip.startsWith("[")) {
    if (!ip.endsWith("]")) throw new InvalidArgumentError(`invalid IP address ${ip}: missing ']' in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== "" && !isIp(ip)) throw new InvalidArgumentError(`invalid IP address: ${ip}`);
  if (containerPart === "") throw new InvalidArgumentError(`no port specified: ${raw}<empty>`);
  const cRange = parsePortRange(containerPart);
  if (!cRange) throw new InvalidArgumentError(`invalid containerPort: ${containerPart}`);
  let hRange: [number, number] | undefined;
  if (hostPort !== "") {
    hRange = parsePortRange(hostPort);
    if (!hRange) throw new InvalidArgumentError(`invalid hostPort: ${hostPort}`);
    if (hRange[1] - hRange[0] !== cRange[1] - cRange[0] && cRange[0] !== cRange[1]) {
      throw new InvalidArgumentError(
        `invalid ranges specified for container and host Ports: ${containerPart} and ${hostPort}`,
      );
    }
  }
  const p = proto.toLowerCase();
  if (!["tcp", "udp", "sctp"].includes(p)) throw new InvalidArgumentError(`invalid proto: ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= cRange[1] - cRange[0]; i++) {
    let hp = "";
    if (hRange) {
      // A single container port with a host range lets the daemon pick within the range.
      hp =
        cRange[0] === cRange[1] && hRange[0] !== hRange[1]
          ? `${hRange[0]}-${hRange[1]}`
          : String(hRange[0] + i);
    }
    out.push({ port: `${cRange[0] + i}/${p}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** All `-p` values → ExposedPorts + PortBindings. */
export function portBindings(specs: string[]): {
  exposed: Record<string, object>;
  bindings: Record<string, Array<{ HostIp: string; HostPort: string }>>;
} {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const spec of specs) {
    for (const m of parsePortSpec(spec)) {
      exposed[m.port] = {};
      (bindings[m.port] ??= []).push(m.binding);
    }
  }
  return { exposed, bindings };
}

/** `--expose 80`, `--expose 7000-7010/udp` → port keys. */
export function parseExpose(spec: string): string[] {
  const [range = "", proto = "tcp"] = spec.split("/");
  const r = parsePortRange(range);
  if (!r) throw new InvalidArgumentError(`invalid range format for --expose: ${spec}, error: invalid syntax`);
  const out: string[] = [];
  for (let p = r[0]; p <= r[1]; p++) out.push(`${p}/${proto}`);
  return out;
}

// ---------- restart policy ----------

export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

/** docker's opts.ParseRestartPolicy + ValidateRestartPolicy, with their messages. */
export function parseRestartPolicy(policy: string): RestartPolicy {
  if (policy === "") return { Name: "no", MaximumRetryCount: 0 };
  const colon = policy.indexOf(":");
  const name = colon >= 0 ? policy.slice(0, colon) : policy;
  const value = colon >= 0 ? policy.slice(colon + 1) : "";
  if (name === "") throw new InvalidArgumentError("invalid restart policy format: no policy provided before colon");
  let count = 0;
  if (value !== "") {
    if (!/^[-+]?\d+$/.test(value)) {
      throw new InvalidArgumentError("invalid restart policy format: maximum retry count must be an integer");
    }
    count = Number(value);
  }
  if (!["no", "always", "unless-stopped", "on-failure"].includes(name)) {
    throw new InvalidArgumentError(
      `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  }
  if (count !== 0 && name !== "on-failure") {
    throw new InvalidArgumentError("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  }
  if (count < 0) throw new InvalidArgumentError("invalid restart policy: maximum retry count cannot be negative");
  return { Name: name, MaximumRetryCount: count };
}

// ---------- env, labels ----------

/** `-e K=V` as is; `-e K` takes K from our environment, and is dropped when unset there. */
export function resolveEnv(spec: string, env: Record<string, string | undefined>): string | undefined {
  if (spec.includes("=")) {
    if (spec.startsWith("=")) throw new InvalidArgumentError(`invalid environment variable: ${spec}`);
    return spec;
  }
  const v = env[spec];
  return v === undefined ? undefined : `${spec}=${v}`;
}

/** docker's ParseEnvFile: `K=V` lines, `#` comments, bare `K` from our environment. */
export function parseEnvFile(text: string, file: string, env: Record<string, string | undefined>): string[] {
  const out: string[] = [];
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const name = eq >= 0 ? line.slice(0, eq) : line.replace(/\s+$/, "");
    if (name === "") throw new InvalidArgumentError(`no variable name on line '${rawLine}' (${file}:${i + 1})`);
    if (/\s/.test(name)) throw new InvalidArgumentError(`variable '${name}' contains whitespaces`);
    if (eq >= 0) out.push(line);
    else if (env[name] !== undefined) out.push(`${name}=${env[name]}`);
  });
  return out;
}

export function parseLabels(specs: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const s of specs) {
    const eq = s.indexOf("=");
    if (eq === 0) throw new InvalidArgumentError(`invalid label format: "${s}"`);
    if (eq < 0) labels[s] = "";
    else labels[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return labels;
}

/** `--mount type=bind,source=/a,target=/b,readonly` → a HostConfig.Mounts entry. */
export function parseMount(spec: string): Record<string, unknown> {
  const m: Record<string, unknown> = { Type: "volume" };
  for (const field of spec.split(",")) {
    const eq = field.indexOf("=");
    const key = (eq >= 0 ? field.slice(0, eq) : field).trim().toLowerCase();
    const val = eq >= 0 ? field.slice(eq + 1) : undefined;
    switch (key) {
      case "type":
        m.Type = val;
        break;
      case "source":
      case "src":
        m.Source = val;
        break;
      case "target":
      case "destination":
      case "dst":
        m.Target = val;
        break;
      case "readonly":
      case "ro":
        m.ReadOnly = val === undefined || val === "true" || val === "1";
        break;
      case "bind-propagation":
        m.BindOptions = { Propagation: val };
        break;
      case "tmpfs-size":
        m.TmpfsOptions = { ...(m.TmpfsOptions as object), SizeBytes: ramInBytes(val ?? "") };
        break;
      case "volume-nocopy":
        m.VolumeOptions = { NoCopy: val === undefined || val === "true" };
        break;
      default:
        if (key) throw new InvalidArgumentError(`invalid field '${key}' must be a key=value pair`);
    }
  }
  if (!m.Target) throw new InvalidArgumentError("target is required");
  return m;
}

// ---------- the flags ----------

/** Adds run/create's flags; `run` also gets -d, --sig-proxy, --detach-keys. */
export function addContainerFlags(cmd: FlagSet, forRun: boolean): FlagSet {
  cmd
    .option("-a, --attach <stream>", "Attach to STDIN, STDOUT or STDERR", collect, [])
    .option("-i, --interactive", "Keep STDIN open even if not attached")
    .option("-t, --tty", "Allocate a pseudo-TTY")
    .option("--rm", "Automatically remove the container and its associated anonymous volumes when it exits")
    .option("--name <string>", "Assign a name to the container")
    .option("-e, --env <list>", "Set environment variables", collect, [])
    .option("--env-file <list>", "Read in a file of environment variables", collect, [])
    .option("-v, --volume <list>", "Bind mount a volume", collect, [])
    .option("--mount <mount>", "Attach a filesystem mount to the container", collect, [])
    .option("--tmpfs <list>", "Mount a tmpfs directory", collect, [])
    .option("-w, --workdir <string>", "Working directory inside the container")
    .option("-u, --user <string>", "Username or UID (format: <name|uid>[:<group|gid>])")
    .option("--entrypoint <string>", "Overwrite the default ENTRYPOINT of the image")
    .option("-h, --hostname <string>", "Container host name")
    .option("--domainname <string>", "Container NIS domain name")
    .option("-l, --label <list>", "Set meta data on a container", collect, [])
    .option("--restart <string>", "Restart policy to apply when a container exits", "no")
    .option("-p, --publish <list>", "Publish a container's port(s) to the host", collect, [])
    .option("-P, --publish-all", "Publish all exposed ports to random ports")
    .option("--expose <list>", "Expose a port or a range of ports", collect, [])
    .option("--network <network>", "Connect a container to a network")
    .option("--net <network>", "Connect a container to a network (alias of --network)")
    .option("--network-alias <list>", "Add network-scoped alias for the container", collect, [])
    .option("--ip <string>", "IPv4 address (e.g., 172.30.100.104)")
    .option("--mac-address <string>", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
    .option("--link <list>", "Add link to another container", collect, [])
    .option("--add-host <list>", "Add a custom host-to-IP mapping (host:ip)", collect, [])
    .option("--dns <list>", "Set custom DNS servers", collect, [])
    .option("--dns-search <list>", "Set custom DNS search domains", collect, [])
    .option("--dns-option <list>", "Set DNS options", collect, [])
    .option("--volumes-from <list>", "Mount volumes from the specified container(s)", collect, [])
    .option("--device <list>", "Add a host device to the container", collect, [])
    .option("--device-cgroup-rule <list>", "Add a rule to the cgroup allowed devices list", collect, [])
    .option("--ulimit <ulimit>", "Ulimit options", collect, [])
    .option("--oom-score-adj <int>", "Tune host's OOM preferences (-1000 to 1000)")
    .option("--cgroup-parent <string>", "Optional parent cgroup for the container")
    .option("--cgroupns <string>", "Cgroup namespace to use (host|private)")
    .option("--health-cmd <string>", "Command to run to check health")
    .option("--health-interval <duration>", "Time between running the check (ms|s|m|h)")
    .option("--health-timeout <duration>", "Maximum time to allow one check to run (ms|s|m|h)")
    .option("--health-start-period <duration>", "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)")
    .option("--health-start-interval <duration>", "Time between running the check during the start period (ms|s|m|h)")
    .option("--health-retries <int>", "Consecutive failures needed to report unhealthy")
    .option("--no-healthcheck", "Disable any container-specified HEALTHCHECK")
    .option("--privileged", "Give extended privileges to this container")
    .option("--read-only", "Mount the container's root filesystem as read only")
    .option("--cap-add <list>", "Add Linux capabilities", collect, [])
    .option("--cap-drop <list>", "Drop Linux capabilities", collect, [])
    .option("--security-opt <list>", "Security Options", collect, [])
    .option("--sysctl <list>", "Sysctl options", collect, [])
    .option("--group-add <list>", "Add additional groups to join", collect, [])
    .option("--runtime <string>", "Runtime to use for this container")
    .option("--init", "Run an init inside the container that forwards signals and reaps processes")
    .option("--stop-signal <string>", "Signal to stop the container")
    .option("--stop-timeout <int>", "Timeout (in seconds) to stop a container")
    .option("-m, --memory <bytes>", "Memory limit")
    .option("--memory-swap <bytes>", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    .option("--memory-reservation <bytes>", "Memory soft limit")
    .option("--memory-swappiness <int>", "Tune container memory swappiness (0 to 100)")
    .option("--oom-kill-disable", "Disable OOM Killer")
    .option("--cpus <decimal>", "Number of CPUs")
    .option("-c, --cpu-shares <int>", "CPU shares (relative weight)")
    .option("--cpu-period <int>", "Limit CPU CFS (Completely Fair Scheduler) period")
    .option("--cpu-quota <int>", "Limit CPU CFS (Completely Fair Scheduler) quota")
    .option("--cpuset-cpus <string>", "CPUs in which to allow execution (0-3, 0,1)")
    .option("--cpuset-mems <string>", "MEMs in which to allow execution (0-3, 0,1)")
    .option("--blkio-weight <int>", "Block IO (relative weight), between 10 and 1000, or 0 to disable")
    .option("--pids-limit <int>", "Tune container pids limit (set -1 for unlimited)")
    .option("--shm-size <bytes>", "Size of /dev/shm")
    .option("--pid <string>", "PID namespace to use")
    .option("--ipc <string>", "IPC mode to use")
    .option("--uts <string>", "UTS namespace to use")
    .option("--log-driver <string>", "Logging driver for the container")
    .option("--log-opt <list>", "Log driver options", collect, [])
    .option("--platform <string>", "Set platform if server is multi-platform capable")
    .option("--pull <string>", 'Pull image before running ("always", "missing", "never")', "missing")
    .option("-q, --quiet", "Suppress the pull output");
  if (forRun) {
    cmd
      .option("-d, --detach", "Run container in background and print container ID")
      .option("--sig-proxy", "Proxy received signals to the process", true)
      .option("--no-sig-proxy", "Do not proxy received signals")
      .option("--detach-keys <string>", "Override the key sequence for detaching a container");
  }
  return cmd;
}

export interface CreateRequest {
  name?: string;
  platform?: string;
  image: string;
  body: Record<string, unknown>;
  /** Client-side behavior of run/create that is not in the body. */
  detach: boolean;
  sigProxy: boolean;
  detachKeys?: string;
  pull: string;
  quiet: boolean;
}

/** Flags + positionals → the create request, with docker's client-side validation. */
export function buildCreateRequest(
  verb: string,
  o: Record<string, unknown>,
  args: string[],
  env: Record<string, string | undefined>,
  consoleSize?: { rows: number; cols: number },
): CreateRequest {
  const [image, ...cmdArgs] = args;
  if (image === undefined) throw new UsageError(verb, `"wharf ${verb}" requires at least 1 argument.`);
  const bad = (e: unknown): never => {
    throw new UsageError(verb, e instanceof Error ? e.message : String(e));
  };
  const list = (k: string) => (o[k] as string[] | undefined) ?? [];
  const detach = !!o.detach;
  const attach = list("attach").map((s) => s.toLowerCase());
  for (const a of attach) {
    if (!["stdin", "stdout", "stderr"].includes(a)) bad(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  }
  if (detach && attach.length > 0) bad("Conflicting options: -a and -d");
  const interactive = !!o.interactive;
  let attachStdin = attach.includes("stdin");
  let attachStdout = attach.includes("stdout");
  let attachStderr = attach.includes("stderr");
  if (attach.length === 0 && !detach) {
    attachStdout = true;
    attachStderr = true;
    attachStdin = interactive;
  }

  let restart: RestartPolicy = { Name: "no", MaximumRetryCount: 0 };
  try {
    restart = parseRestartPolicy(String(o.restart ?? "no"));
  } catch (e) {
    bad(e);
  }
  if (o.rm && restart.Name !== "no" && restart.Name !== "") bad("Conflicting options: --restart and --rm");

  const envList: string[] = [];
  try {
    for (const f of list("envFile")) {
      let text: string;
      try {
        text = readFileSync(f, "utf8");
      } catch {
        throw new InvalidArgumentError(`open ${f}: no such file or directory`);
      }
      envList.push(...parseEnvFile(text, f, env));
    }
    for (const e of list("env")) {
      const v = resolveEnv(e, env);
      if (v !== undefined) envList.push(v);
    }
  } catch (e) {
    bad(e);
  }

  let ports: ReturnType<typeof portBindings> = { exposed: {}, bindings: {} };
  const exposed: Record<string, object> = {};
  try {
    ports = portBindings(list("publish"));
    for (const e of list("expose")) for (const p of parseExpose(e)) exposed[p] = {};
  } catch (e) {
    bad(e);
  }
  Object.assign(exposed, ports.exposed);

  const binds: string[] = [];
  const volumes: Record<string, object> = {};
  for (const v of list("volume")) {
    if (v.trim() === "") bad("invalid empty volume spec");
    if (v.split(":").length >= 2) binds.push(v);
    else volumes[v] = {};
  }
  let mounts: Array<Record<string, unknown>> = [];
  try {
    mounts = list("mount").map(parseMount);
  } catch (e) {
    bad(e);
  }
  const tmpfs: Record<string, string> = {};
  for (const t of list("tmpfs")) {
    const c = t.indexOf(":");
    tmpfs[c >= 0 ? t.slice(0, c) : t] = c >= 0 ? t.slice(c + 1) : "";
  }
  const sysctls: Record<string, string> = {};
  for (const s of list("sysctl")) {
    const eq = s.indexOf("=");
    if (eq <= 0) bad(`invalid argument "${s}" for "--sysctl" flag: sysctl '${s}' is not allowed`);
    sysctls[s.slice(0, eq)] = s.slice(eq + 1);
  }
  const logOpts: Record<string, string> = {};
  for (const s of list("logOpt")) {
    const eq = s.indexOf("=");
    if (eq <= 0) bad(`invalid key value pair format in log-opt: ${s}`);
    logOpts[s.slice(0, eq)] = s.slice(eq + 1);
  }
  for (const h of list("addHost")) {
    if (!/^[^:]+:.+$/.test(h)) bad(`invalid argument "${h}" for "--add-host" flag: bad format for add-host: "${h}"`);
  }
  let labels: Record<string, string> = {};
  try {
    labels = parseLabels(list("label"));
  } catch (e) {
    bad(e);
  }

  const network = (o.network as string | undefined) ?? (o.net as string | undefined);
  const aliases = list("networkAlias");
  const endpoints: Record<string, unknown> = {};
  if (network && (aliases.length > 0 || o.ip)) {
    endpoints[network] = {
      ...(aliases.length > 0 ? { Aliases: aliases } : {}),
      ...(o.ip ? { IPAMConfig: { IPv4Address: o.ip } } : {}),
    };
  } else if (aliases.length > 0 || o.ip) {
    bad("network-scoped aliases are only supported for user-defined networks");
  }

  let entrypoint: string[] | undefined;
  if (o.entrypoint !== undefined) entrypoint = [String(o.entrypoint)];

  const stopTimeout = intFlag(verb, "--stop-timeout", o.stopTimeout);
  const cpuShares = intFlag(verb, "-c, --cpu-shares", o.cpuShares);
  const pidsLimit = intFlag(verb, "--pids-limit", o.pidsLimit);
  const bytes = (flag: string, v: unknown, unlimited = false): number | undefined => {
    if (v === undefined) return undefined;
    // `--memory-swap -1`: unlimited swap.
    if (unlimited && String(v) === "-1") return -1;
    try {
      return ramInBytes(String(v));
    } catch (e) {
      return bad(`invalid argument "${String(v)}" for "${flag}" flag: ${(e as Error).message}`);
    }
  };
  // Like the docker CLI: a seccomp profile is read here and sent as its JSON.
  const securityOpt = list("securityOpt").map((opt) => {
    const m = /^seccomp[=:](.+)$/.exec(opt);
    if (!m || m[1] === "unconfined" || m[1] === "builtin") return opt;
    try {
      return `seccomp=${readFileSync(m[1]!, "utf8")}`;
    } catch (e) {
      return bad(`opening seccomp profile (${m[1]}) failed: ${(e as Error).message}`);
    }
  });
  const oomScoreAdj = intFlag(verb, "--oom-score-adj", o.oomScoreAdj);
  const devices = list("device").map((d) => parseDeviceFlag(d, bad));
  const ulimits = list("ulimit").map((u) => parseUlimitFlag(u, bad));
  const memory = bytes("-m, --memory", o.memory);
  const memorySwap = bytes("--memory-swap", o.memorySwap, true);
  const memoryReservation = bytes("--memory-reservation", o.memoryReservation);
  const shmSize = bytes("--shm-size", o.shmSize);
  const cpuPeriod = intFlag(verb, "--cpu-period", o.cpuPeriod);
  const cpuQuota = intFlag(verb, "--cpu-quota", o.cpuQuota);
  const blkioWeight = intFlag(verb, "--blkio-weight", o.blkioWeight);
  const memorySwappiness = intFlag(verb, "--memory-swappiness", o.memorySwappiness);
  let nanoCpus: number | undefined;
  if (o.cpus !== undefined) {
    const c = Number(o.cpus);
    if (!Number.isFinite(c) || c < 0) bad(`invalid argument "${String(o.cpus)}" for "--cpus" flag: failed to parse ${String(o.cpus)} as a rational number`);
    nanoCpus = Math.round(c * 1e9);
  }
  const pull = String(o.pull ?? "missing");
  if (!["always", "missing", "never"].includes(pull)) {
    bad(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`);
  }
  const tty = !!o.tty;

  const hostConfig: Record<string, unknown> = {
    Binds: binds.length > 0 ? binds : null,
    NetworkMode: network ?? "default",
    PortBindings: ports.bindings,
    RestartPolicy: restart,
    AutoRemove: !!o.rm,
    PublishAllPorts: !!o.publishAll,
    Privileged: !!o.privileged,
    ReadonlyRootfs: !!o.readOnly,
  };
  const set = (k: string, v: unknown, when: boolean) => {
    if (when) hostConfig[k] = v;
  };
  set("Mounts", mounts, mounts.length > 0);
  set("Tmpfs", tmpfs, Object.keys(tmpfs).length > 0);
  set("Links", list("link"), list("link").length > 0);
  set("ExtraHosts", list("addHost"), list("addHost").length > 0);
  set("Dns", list("dns"), list("dns").length > 0);
  set("DnsSearch", list("dnsSearch"), list("dnsSearch").length > 0);
  set("DnsOptions", list("dnsOption"), list("dnsOption").length > 0);
  set("CapAdd", list("capAdd"), list("capAdd").length > 0);
  set("CapDrop", list("capDrop"), list("capDrop").length > 0);
  set("SecurityOpt", securityOpt, securityOpt.length > 0);
  set("Sysctls", sysctls, Object.keys(sysctls).length > 0);
  set("GroupAdd", list("groupAdd"), list("groupAdd").length > 0);
  set("Runtime", o.runtime, o.runtime !== undefined);
  set("Init", true, !!o.init);
  set("VolumesFrom", list("volumesFrom"), list("volumesFrom").length > 0);
  set("Devices", devices, devices.length > 0);
  set("DeviceCgroupRules", list("deviceCgroupRule"), list("deviceCgroupRule").length > 0);
  set("Ulimits", ulimits, ulimits.length > 0);
  set("OomScoreAdj", oomScoreAdj, oomScoreAdj !== undefined);
  set("CgroupParent", o.cgroupParent, o.cgroupParent !== undefined);
  set("CgroupnsMode", o.cgroupns, o.cgroupns !== undefined);
  set("Memory", memory, memory !== undefined);
  set("MemorySwap", memorySwap, memorySwap !== undefined);
  set("MemoryReservation", memoryReservation, memoryReservation !== undefined);
  set("MemorySwappiness", memorySwappiness, memorySwappiness !== undefined);
  set("OomKillDisable", true, !!o.oomKillDisable);
  set("CpuPeriod", cpuPeriod, cpuPeriod !== undefined);
  set("CpuQuota", cpuQuota, cpuQuota !== undefined);
  set("CpusetCpus", o.cpusetCpus, o.cpusetCpus !== undefined);
  set("CpusetMems", o.cpusetMems, o.cpusetMems !== undefined);
  set("BlkioWeight", blkioWeight, blkioWeight !== undefined);
  set("NanoCpus", nanoCpus, nanoCpus !== undefined);
  set("CpuShares", cpuShares, cpuShares !== undefined);
  set("PidsLimit", pidsLimit, pidsLimit !== undefined);
  set("ShmSize", shmSize, shmSize !== undefined);
  set("PidMode", o.pid, o.pid !== undefined);
  set("IpcMode", o.ipc, o.ipc !== undefined);
  set("UTSMode", o.uts, o.uts !== undefined);
  if (o.logDriver !== undefined || Object.keys(logOpts).length > 0) {
    hostConfig.LogConfig = { Type: o.logDriver ?? "", Config: logOpts };
  }
  // The initial tty size (API 1.42+), so the first screen is right before the first resize.
  if (tty && consoleSize) hostConfig.ConsoleSize = [consoleSize.rows, consoleSize.cols];

  const body: Record<string, unknown> = {
    Hostname: o.hostname ?? "",
    Domainname: o.domainname ?? "",
    User: o.user ?? "",
    AttachStdin: attachStdin,
    AttachStdout: attachStdout,
    AttachStderr: attachStderr,
    Tty: tty,
    OpenStdin: interactive,
    StdinOnce: interactive && attachStdin && !detach,
    Env: envList,
    Image: image,
    WorkingDir: o.workdir ?? "",
    Labels: labels,
    HostConfig: hostConfig,
  };
  if (Object.keys(exposed).length > 0) body.ExposedPorts = exposed;
  if (cmdArgs.length > 0) body.Cmd = cmdArgs;
  if (Object.keys(volumes).length > 0) body.Volumes = volumes;
  if (entrypoint) body.Entrypoint = entrypoint;
  if (o.macAddress !== undefined) body.MacAddress = o.macAddress;
  if (o.stopSignal !== undefined) body.StopSignal = o.stopSignal;
  if (stopTimeout !== undefined) body.StopTimeout = stopTimeout;
  if (Object.keys(endpoints).length > 0) body.NetworkingConfig = { EndpointsConfig: endpoints };
  const healthcheck = healthcheckOf(verb, o, bad);
  if (healthcheck) body.Healthcheck = healthcheck;

  return {
    name: o.name as string | undefined,
    platform: o.platform as string | undefined,
    image,
    body,
    detach,
    sigProxy: o.sigProxy !== false,
    detachKeys: o.detachKeys as string | undefined,
    pull,
    quiet: !!o.quiet,
  };
}

/** `busybox` → `busybox:latest` (docker's TagNameOnly, for messages). */
export function withDefaultTag(ref: string): string {
  if (ref.includes("@")) return ref;
  const lastSlash = ref.lastIndexOf("/");
  return ref.slice(lastSlash + 1).includes(":") ? ref : `${ref}:latest`;
}

/** `--device HOST[:CONTAINER][:PERMS]`, as the docker CLI reads it. */
function parseDeviceFlag(spec: string, bad: (msg: string) => never): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = spec.split(":");
  const isMode = (s: string) => /^[rwm]{1,3}$/.test(s);
  let [host, container, perms] = [parts[0] ?? "", "", "rwm"];
  if (parts.length === 2) {
    if (isMode(parts[1]!)) perms = parts[1]!;
    else container = parts[1]!;
  } else if (parts.length === 3) {
    container = parts[1]!;
    perms = parts[2]!;
  } else if (parts.length > 3) {
    bad(`invalid argument "${spec}" for "--device" flag: invalid device specification: ${spec}`);
  }
  if (!host.startsWith("/") || (container !== "" && !container.startsWith("/")) || !isMode(perms)) {
    bad(`invalid argument "${spec}" for "--device" flag: invalid device specification: ${spec}`);
  }
  return { PathOnHost: host, PathInContainer: container || host, CgroupPermissions: perms };
}

/** `--ulimit NAME=SOFT[:HARD]`. */
function parseUlimitFlag(spec: string, bad: (msg: string) => never): { Name: string; Soft: number; Hard: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(spec);
  if (!m) return bad(`invalid argument "${spec}" for "--ulimit" flag: invalid ulimit argument: ${spec}`);
  const soft = Number(m[2]);
  return { Name: m[1]!, Soft: soft, Hard: m[3] === undefined ? soft : Number(m[3]) };
}

/** `--health-*` and `--no-healthcheck` as the Healthcheck of the create body (durations in ns). */
function healthcheckOf(verb: string, o: Record<string, unknown>, bad: (msg: string) => never): Record<string, unknown> | undefined {
  const durations: Array<[string, string, unknown]> = [
    ["Interval", "--health-interval", o.healthInterval],
    ["Timeout", "--health-timeout", o.healthTimeout],
    ["StartPeriod", "--health-start-period", o.healthStartPeriod],
    ["StartInterval", "--health-start-interval", o.healthStartInterval],
  ];
  const retries = intFlag(verb, "--health-retries", o.healthRetries);
  const any = o.healthCmd !== undefined || retries !== undefined || durations.some(([, , v]) => v !== undefined);
  // commander's --no-healthcheck sets healthcheck=false.
  if (o.healthcheck === false) {
    if (any) bad("--no-healthcheck conflicts with --health-* options");
    return { Test: ["NONE"] };
  }
  if (!any) return undefined;
  const hc: Record<string, unknown> = {};
  if (o.healthCmd !== undefined) hc.Test = ["CMD-SHELL", String(o.healthCmd)];
  for (const [field, flag, v] of durations) {
    if (v === undefined) continue;
    try {
      const n = parseDuration(String(v));
      if (n < 0) bad(`${flag} cannot be negative`);
      hc[field] = n;
    } catch (e) {
      bad(`invalid argument "${String(v)}" for "${flag}" flag: ${(e as Error).message}`);
    }
  }
  if (retries !== undefined) hc.Retries = retries;
  return hc;
}
