/**
 * Wharf's default seccomp filter: every system call allowed but those Docker's
 * default profile documents as blocked for containers
 * (https://docs.docker.com/engine/security/seccomp/#significant-syscalls-blocked-by-the-default-profile),
 * each answered with EPERM — unless the container holds the capability that
 * gates it (a container given CAP_SYS_ADMIN may mount; CAP_SYS_TIME may set
 * the clock), as Docker's profile does. Docker's is an allowlist; this is the
 * same list of refusals written as a denylist, which is shorter and leaves
 * newer system calls usable (with its own risk: a new dangerous call is open
 * until it is listed here).
 *
 * Beyond whole calls: `clone` with CLONE_NEWUSER is refused (user namespaces
 * need no capability, the others the kernel already guards), and `clone3`
 * answers ENOSYS, whose flags sit in memory a filter cannot read, so that
 * libcs fall back to `clone`.
 * https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config-linux.md#seccomp
 */
import { InvalidArgumentError } from "../lib/errors.js";
import type { OciSeccomp } from "./oci-types.js";

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;

/** Calls refused unless the container has the capability named; `null`: refused always. */
const gated: Array<[string | null, string[]]> = [
  [null, ["add_key", "keyctl", "request_key", "get_kernel_syms", "nfsservctl", "sysfs", "_sysctl", "uselib", "ustat", "io_uring_setup", "io_uring_enter", "io_uring_register"]],
  ["CAP_SYS_ADMIN", ["bpf", "lookup_dcookie", "mount", "umount", "umount2", "pivot_root", "quotactl", "setns", "unshare", "swapon", "swapoff", "vm86", "vm86old", "perf_event_open", "fanotify_init", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick"]],
  ["CAP_SYS_MODULE", ["create_module", "delete_module", "finit_module", "init_module", "query_module"]],
  ["CAP_SYS_BOOT", ["reboot", "kexec_load", "kexec_file_load"]],
  ["CAP_SYS_TIME", ["clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64", "settimeofday", "stime", "adjtimex"]],
  ["CAP_SYS_PACCT", ["acct"]],
  ["CAP_SYS_RAWIO", ["ioperm", "iopl"]],
  ["CAP_SYS_NICE", ["get_mempolicy", "set_mempolicy", "mbind", "move_pages"]],
  ["CAP_SYS_PTRACE", ["kcmp", "process_vm_readv", "process_vm_writev", "userfaultfd", "pidfd_getfd"]],
  ["CAP_DAC_READ_SEARCH", ["open_by_handle_at"]],
];

/** The seccomp architectures of this machine: the native one and those its kernel also runs. */
const architectures: Record<string, string[]> = {
  x64: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  arm64: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
  arm: ["SCMP_ARCH_ARM"],
  ia32: ["SCMP_ARCH_X86"],
  ppc64: ["SCMP_ARCH_PPC64LE"],
  s390x: ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"],
};

/** Go's names for Node's architectures: profiles' `includes.arches` use them. */
const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" };

/** The default filter for a container with these (`CAP_`-prefixed) capabilities. */
export function defaultSeccomp(capabilities: readonly string[], arch: string = process.arch): OciSeccomp {
  const caps = new Set(capabilities);
  const refused = gated.filter(([cap]) => cap === null || !caps.has(cap)).flatMap(([, names]) => names);
  const syscalls: OciSeccomp["syscalls"] = [{ names: refused, action: "SCMP_ACT_ERRNO", errnoRet: EPERM }];
  if (!caps.has("CAP_SYS_ADMIN")) {
    syscalls.push(
      // x86-64, arm64 and most others: flags are clone's first argument (s390 has them second).
      { names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: EPERM, args: [{ index: arch === "s390x" ? 1 : 0, value: CLONE_NEWUSER, valueTwo: CLONE_NEWUSER, op: "SCMP_CMP_MASKED_EQ" }] },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    );
  }
  return { defaultAction: "SCMP_ACT_ALLOW", architectures: architectures[arch] ?? [], syscalls };
}

/** A seccomp profile in Docker's format, as `--security-opt seccomp=FILE` sends it (the docker CLI inlines the file). */
interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: Array<{ architecture: string; subArchitectures?: string[] }>;
  syscalls?: Array<{
    names?: string[];
    name?: string;
    action: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
    includes?: { caps?: string[]; arches?: string[] };
    excludes?: { caps?: string[]; arches?: string[] };
  }>;
}

/**
 * Docker's profile format into the OCI filter, for a container with these
 * capabilities: `includes`/`excludes` on capabilities and architectures are
 * resolved here (as dockerd does), `archMap` picks this machine's entry.
 * `InvalidArgumentError` with what is wrong for a profile that is not one.
 */
export function seccompFromDockerProfile(json: string, capabilities: readonly string[], arch: string = process.arch): OciSeccomp {
  let p: DockerSeccompProfile;
  try {
    p = JSON.parse(json) as DockerSeccompProfile;
  } catch (err) {
    throw new InvalidArgumentError(`decoding seccomp profile failed: ${(err as Error).message}`);
  }
  if (typeof p !== "object" || p === null || typeof p.defaultAction !== "string") throw new InvalidArgumentError("decoding seccomp profile failed: no defaultAction");
  const native = architectures[arch] ?? [];
  const mapped = p.archMap?.find((a) => a.architecture === native[0]);
  const caps = new Set(capabilities);
  const isHere = (a: string) => a === goArch[arch] || native.includes(a);
  // A rule applies when the container has every capability and this machine an architecture it
  // `includes`, and none of those it `excludes`.
  const applies = (s: NonNullable<DockerSeccompProfile["syscalls"]>[number]) =>
    (s.includes?.caps ?? []).every((c) => caps.has(c)) &&
    ((s.includes?.arches ?? []).length === 0 || s.includes!.arches!.some(isHere)) &&
    !(s.excludes?.caps ?? []).some((c) => caps.has(c)) &&
    !(s.excludes?.arches ?? []).some(isHere);
  const syscalls: NonNullable<OciSeccomp["syscalls"]> = [];
  for (const s of p.syscalls ?? []) {
    if (typeof s?.action !== "string") throw new InvalidArgumentError("decoding seccomp profile failed: a syscall rule without an action");
    if (!applies(s)) continue;
    const names = s.names ?? (s.name ? [s.name] : []);
    if (names.length === 0) continue;
    syscalls.push({ names, action: s.action, ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}), ...(s.args?.length ? { args: s.args } : {}) });
  }
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    architectures: p.architectures ?? (mapped ? [mapped.architecture, ...(mapped.subArchitectures ?? [])] : native),
    syscalls,
  };
}
