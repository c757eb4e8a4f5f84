/**
 * `--security-opt`: HostConfig.SecurityOpt entries, `key=value` (or the old
 * `key:value`), read with dockerd's rules and error messages
 * (https://docs.docker.com/reference/cli/docker/container/run/#security-opt).
 *
 * - `no-new-privileges[=true|false]`: the process cannot gain privileges (setuid, file caps).
 * - `seccomp=unconfined`: no seccomp filter; `seccomp=<profile JSON>` (the docker CLI reads the
 *   file and sends its content): that profile, in Docker's format; otherwise Wharf's default
 *   filter (runtime/seccomp.ts).
 * - `systempaths=unconfined`: /proc and /sys paths are neither masked nor read-only (the docker
 *   CLI sends this as empty HostConfig.MaskedPaths and ReadonlyPaths instead).
 * - `writable-cgroups[=true|false]`: /sys/fs/cgroup is mounted read-write.
 * - `apparmor=PROFILE`: applied where the host has AppArmor; on a host
 *   without it, ignored, as dockerd does.
 * - `label=…` (SELinux): ignored on a host without SELinux, as dockerd does;
 *   refused on one with it (not supported yet).
 */
import { existsSync, readFileSync } from "node:fs";
import { InvalidArgumentError } from "../lib/errors.js";
import { seccompFromDockerProfile } from "../runtime/index.js";

export interface SecurityOptions {
  /** "default" (Wharf's filter, runtime/seccomp.ts), "unconfined", or a Docker-format profile's JSON. */
  seccomp: string;
  noNewPrivileges: boolean;
  unmaskedSystemPaths: boolean;
  writableCgroups: boolean;
  /** The AppArmor profile to apply; undefined for none (or a host without AppArmor). */
  apparmorProfile?: string;
}

/** Parses a SecurityOpt list; `InvalidArgumentError` for anything dockerd would refuse or Wharf cannot honour. */
export function parseSecurityOptions(list: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { seccomp: "default", noNewPrivileges: false, unmaskedSystemPaths: false, writableCgroups: false };
  for (const opt of list ?? []) {
    // `no-new-privileges` alone is the one option without a value.
    if (opt === "no-new-privileges") {
      out.noNewPrivileges = true;
      continue;
    }
    const eq = opt.indexOf("=");
    const colon = opt.indexOf(":");
    const at = eq >= 0 ? eq : colon;
    if (at < 0) throw new InvalidArgumentError(`invalid --security-opt 1: "${opt}"`);
    const key = opt.slice(0, at);
    const value = opt.slice(at + 1);
    switch (key) {
      case "no-new-privileges":
        out.noNewPrivileges = parseBool(opt, value);
        break;
      case "writable-cgroups":
        out.writableCgroups = parseBool(opt, value);
        break;
      case "systempaths":
        if (value !== "unconfined") throw new InvalidArgumentError(`invalid --security-opt 2: "${opt}"`);
        out.unmaskedSystemPaths = true;
        break;
      case "seccomp":
        if (value === "unconfined") out.seccomp = "unconfined";
        else if (value === "builtin") out.seccomp = "default";
        else if (value.trimStart().startsWith("{")) {
          seccompFromDockerProfile(value, []); // refused now if it is no profile
          out.seccomp = value;
        } else {
          throw new InvalidArgumentError(`seccomp=${value}: the client sends the profile itself (its JSON), or "unconfined"`);
        }
        break;
      case "apparmor":
        if (hostHasAppArmor()) out.apparmorProfile = value;
        break;
      case "label":
        if (hostHasSelinux()) throw new InvalidArgumentError("SELinux labels (--security-opt label=…) are not supported by this daemon");
        break;
      default:
        throw new InvalidArgumentError(`invalid --security-opt 2: "${opt}"`);
    }
  }
  return out;
}

/** Go's strconv.ParseBool, which dockerd uses for these values. */
function parseBool(opt: string, value: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new InvalidArgumentError(`invalid --security-opt 2: "${opt}"`);
}

function hostHasAppArmor(): boolean {
  try {
    return readFileSync("/sys/module/apparmor/parameters/enabled", "utf8").trim() === "Y";
  } catch {
    return false;
  }
}

function hostHasSelinux(): boolean {
  return existsSync("/sys/fs/selinux/enforce");
}
