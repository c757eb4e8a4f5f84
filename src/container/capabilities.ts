/**
 * `--cap-add`, `--cap-drop` and `--privileged`: the capability set a
 * container's processes get, computed the way the Docker Engine documents it
 * (https://docs.docker.com/engine/containers/run/#runtime-privilege-and-linux-capabilities):
 * privileged → every capability; `--cap-add ALL` → every one but those dropped;
 * `--cap-drop ALL` → only those added; otherwise Docker's default set, minus
 * the drops, plus the adds. Names are accepted with or without `CAP_`, in any case.
 */
import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../lib/errors.js";
import { DEFAULT_CAPABILITIES } from "../runtime/oci-spec.js";

/** Every capability Linux defines, in bit order (include/uapi/linux/capability.h). */
const LINUX_CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

let hostCapabilities: readonly string[] | undefined;

/**
 * The capabilities a container can be given here: those this kernel knows
 * (`/proc/sys/kernel/cap_last_cap`) that the daemon itself holds in its
 * bounding set (a sandbox may lack some; runc cannot grant what its parent
 * cannot). What "all" means for `--privileged` and `--cap-add ALL`.
 */
export function allCapabilities(): readonly string[] {
  if (!hostCapabilities) {
    let last = LINUX_CAPABILITIES.length - 1;
    let bounding = (1n << 64n) - 1n;
    try {
      last = Math.min(last, Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8").trim()));
      const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
      if (bnd) bounding = BigInt(`0x${bnd[1]}`);
    } catch {
      // No /proc: every capability we know of.
    }
    hostCapabilities = LINUX_CAPABILITIES.slice(0, last + 1).filter((_, bit) => (bounding >> BigInt(bit)) & 1n);
  }
  return hostCapabilities;
}

/**
 * Validates a `CapAdd`/`CapDrop` list as clients send it and returns it as
 * given (inspect shows what the user asked for); `InvalidArgumentError` for
 * anything but an array of known names or `ALL`.
 */
export function checkCapabilityList(value: unknown, field: "CapAdd" | "CapDrop"): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new InvalidArgumentError(`json: cannot unmarshal ${typeof value} into Go struct field HostConfig.${field} of type strslice.StrSlice`);
  }
  for (const name of value as string[]) canonical(name);
  return [...(value as string[])];
}

/** The capability set of the container's processes (and of its execs). */
export function effectiveCapabilities(opts: { privileged: boolean; capAdd?: readonly string[] | null; capDrop?: readonly string[] | null }): string[] {
  const all = allCapabilities();
  if (opts.privileged) return [...all];
  const adds = (opts.capAdd ?? []).map(canonical);
  const drops = (opts.capDrop ?? []).map(canonical);
  let caps: string[];
  if (adds.includes("ALL")) caps = all.filter((c) => !drops.includes(c));
  else if (drops.includes("ALL")) caps = adds;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c)), ...adds];
  return [...new Set(caps)];
}

/** `net_admin` → `CAP_NET_ADMIN`; `all` → `ALL`; unknown names are an `InvalidArgumentError`. */
function canonical(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === "ALL") return upper;
  const cap = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!(LINUX_CAPABILITIES as readonly string[]).includes(cap)) throw new InvalidArgumentError(`unknown capability: "${cap}"`);
  if (!allCapabilities().includes(cap)) throw new InvalidArgumentError(`capability not supported by your kernel or not available in the current environment: "${cap}"`);
  return cap;
}
