import type { ContainerSpecInput, MountInput, NamespaceChoice, ProcessInput } from "./runtime.js";
import type { OciDeviceRule, OciMount, OciNamespace, OciProcess, OciSpec } from "./oci-types.js";
import { InvalidArgumentError } from "../lib/errors.js";
import { defaultSeccomp } from "./seccomp.js";

/** Docker's default capability set (moby `oci/caps/defaults.go`). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Paths hidden from the container, as Docker does (moby `oci/defaults.go`). */
export const MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

export const READONLY_PATHS: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/**
 * Device cgroup allowlist: deny all, then Docker's defaults. runc creates
 * the device nodes themselves (null, zero, full, random, urandom, tty,
 * ptmx → pts/ptmx) — the "default devices" of
 * https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config-linux.md#default-devices
 * — and adds its own allow rules for them.
 */
const DEVICE_RULES: OciDeviceRule[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // zero
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // null
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // urandom
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // random
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // full
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // tty
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" }, // console
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // ptmx
  { allow: true, type: "c", major: 136, access: "rwm" }, // pts/*
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // net/tun
  { allow: true, type: "c", access: "m" }, // mknod of any char device
  { allow: true, type: "b", access: "m" }, // mknod of any block device
];

/**
 * Build a runc `config.json` from Wharf's typed input, with Docker's
 * defaults: namespaces pid/mount/uts/ipc (+ network per `input.network`),
 * Docker's capabilities, masked and read-only /proc and /sys paths, the
 * standard /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys mounts, and
 * no rlimits (raising them fails with EPERM on this kernel).
 * https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config.md
 */
export function buildOciSpec(input: ContainerSpecInput): OciSpec {
  if (!input.rootfs.startsWith("/")) throw new InvalidArgumentError(`rootfs must be an absolute path: ${input.rootfs}`);
  if (input.args.length === 0) throw new InvalidArgumentError("no command specified");
  if (!input.cgroupsPath.startsWith("/")) {
    throw new InvalidArgumentError(`cgroupsPath must be absolute (cgroupfs driver): ${input.cgroupsPath}`);
  }
  const caps = input.capabilities ? input.capabilities.map(normalizeCapability) : [...DEFAULT_CAPABILITIES];
  const shmSize = input.shmSize ?? DEFAULT_SHM_SIZE;
  const privileged = input.privileged ?? false;

  // A namespace without a path is a new one (for the network: runc brings up its `lo`); with a
  // path runc joins it as is; the host's is no entry at all.
  const namespaces: OciNamespace[] = [];
  const join = (type: OciNamespace["type"], ns: NamespaceChoice | undefined) => {
    if (!ns || ns.kind === "new") namespaces.push({ type });
    else if (ns.kind === "path") namespaces.push({ type, path: ns.path });
  };
  join("pid", input.pidNamespace);
  join("ipc", input.ipcNamespace);
  const ownUts = input.utsNamespace !== "host";
  if (ownUts) namespaces.push({ type: "uts" });
  namespaces.push({ type: "mount" });
  join("network", input.network);
  if (input.cgroupNamespace) namespaces.push({ type: "cgroup" });

  const mounts: OciMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", privileged ? "rw" : "ro"] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: [privileged || input.writableCgroups ? "rw" : "ro", "nosuid", "noexec", "nodev"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  ];
  if (!input.noShm) {
    mounts.push({ destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${shmSize}`] });
  }
  const etc = input.etcFiles ?? {};
  for (const [destination, source] of [
    ["/etc/resolv.conf", etc.resolvConf],
    ["/etc/hostname", etc.hostname],
    ["/etc/hosts", etc.hosts],
  ] as const) {
    if (source) mounts.push({ destination, type: "bind", source, options: ["rbind", "rprivate"] });
  }
  mounts.push(...sortMounts(input.mounts ?? []).map(toOciMount));

  const spec: OciSpec = {
    ociVersion: "1.0.2",
    process: {
      terminal: input.terminal,
      // The tty has the client's size from the first byte (Docker's ConsoleSize), not 0x0 until a resize.
      ...(input.terminal && input.consoleSize ? { consoleSize: { ...input.consoleSize } } : {}),
      user: userOf(input.user),
      args: [...input.args],
      env: [...input.env],
      cwd: input.cwd || "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: input.noNewPrivileges ?? false,
    },
    root: { path: input.rootfs, readonly: input.readonlyRootfs ?? false },
    // runc can set a hostname only in a UTS namespace of the container's own.
    ...(ownUts ? { hostname: input.hostname } : {}),
    mounts,
    linux: {
      namespaces,
      cgroupsPath: input.cgroupsPath,
      resources: {
        ...input.resources,
        devices: privileged ? [{ allow: true, access: "rwm" }] : [...DEVICE_RULES, ...(input.deviceRules ?? [])].map((r) => ({ ...r })),
      },
      maskedPaths: privileged ? [] : [...(input.maskedPaths ?? MASKED_PATHS)],
      readonlyPaths: privileged ? [] : [...(input.readonlyPaths ?? READONLY_PATHS)],
    },
  };
  if (input.devices?.length) spec.linux.devices = input.devices.map((d) => ({ ...d }));
  if (input.apparmorProfile) spec.process.apparmorProfile = input.apparmorProfile;
  const seccomp = input.seccomp ?? "default";
  if (!privileged && seccomp !== "unconfined") spec.linux.seccomp = seccomp === "default" ? defaultSeccomp(caps) : seccomp;
  if (input.rlimits?.length) spec.process.rlimits = input.rlimits.map((r) => ({ ...r }));
  if (input.oomScoreAdj) spec.process.oomScoreAdj = input.oomScoreAdj;
  if (input.domainname && ownUts) spec.domainname = input.domainname;
  if (input.sysctl && Object.keys(input.sysctl).length > 0) spec.linux.sysctl = { ...input.sysctl };
  if (input.annotations) spec.annotations = { ...input.annotations };
  return spec;
}

/**
 * The process of an `exec`: the caller's command, environment, user and
 * tty, with the container's security settings (capabilities, no-new-privs,
 * AppArmor…) so an exec is never more privileged than the container —
 * unless the caller gives it capabilities of its own (`exec --privileged`).
 */
export function buildExecProcess(container: OciProcess, input: ProcessInput): OciProcess {
  if (input.args.length === 0) throw new InvalidArgumentError("no command specified");
  const process: OciProcess = {
    ...container,
    terminal: input.terminal,
    user: userOf(input.user),
    args: [...input.args],
    env: [...input.env],
    cwd: input.cwd || container.cwd || "/",
  };
  delete process.consoleSize;
  if (input.terminal && input.consoleSize) process.consoleSize = { ...input.consoleSize };
  if (input.capabilities) {
    const caps = input.capabilities.map(normalizeCapability);
    process.capabilities = { bounding: caps, effective: caps, permitted: caps };
  }
  return process;
}

/** `chown` → `CAP_CHOWN`, `CAP_KILL` → `CAP_KILL`. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (!/^[A-Z_]+$/.test(upper)) throw new InvalidArgumentError(`invalid capability: ${name}`);
  return upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
}

function userOf(u: ContainerSpecInput["user"]): OciProcess["user"] {
  const user: OciProcess["user"] = { uid: u.uid, gid: u.gid };
  if (u.additionalGids.length > 0) user.additionalGids = [...new Set(u.additionalGids)];
  return user;
}

/** Parents before children, so `/data` is mounted before `/data/sub` (what Docker does). */
function sortMounts(mounts: MountInput[]): MountInput[] {
  const depth = (p: string) => p.split("/").filter(Boolean).length;
  return [...mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
}

function toOciMount(m: MountInput): OciMount {
  if (!m.destination.startsWith("/")) {
    throw new InvalidArgumentError(`mount destination must be absolute: ${m.destination}`);
  }
  if (m.type !== "tmpfs") {
    if (!m.source.startsWith("/")) throw new InvalidArgumentError(`bind source must be absolute: ${m.source}`);
    return {
      destination: m.destination,
      type: "bind",
      source: m.source,
      options: ["rbind", m.propagation ?? "rprivate", m.readOnly ? "ro" : "rw"],
    };
  }
  const options = [...(m.options ?? [])];
  // Docker mounts tmpfs noexec,nosuid,nodev unless told otherwise.
  for (const [flag, opposite] of [
    ["nosuid", "suid"],
    ["nodev", "dev"],
    ["noexec", "exec"],
  ] as const) {
    if (!options.includes(flag) && !options.includes(opposite)) options.push(flag);
  }
  return { destination: m.destination, type: "tmpfs", source: "tmpfs", options };
}
