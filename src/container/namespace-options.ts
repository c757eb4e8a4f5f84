/**
 * `--pid`, `--ipc`, `--uts` and `--sysctl`: which namespaces a container
 * shares, and the namespaced kernel parameters it may set in its own
 * (https://docs.docker.com/reference/cli/docker/container/run/#sysctl).
 * Validated at create with dockerd's rules; `container:<name|id>` is
 * resolved at each start, since the other container's process changes.
 */
import { InvalidArgumentError } from "../lib/errors.js";

export interface NamespaceModes {
  /** "" (own), "host" or "container:<ref>". */
  PidMode: string;
  /**
   * "private" (own; also for "" and "shareable"), "none" (own, no /dev/shm), "host" (with the host's
   * /dev/shm) or "container:<ref>" (its System V IPC; /dev/shm stays the container's own).
   */
  IpcMode: string;
  /** "" (own) or "host". */
  UTSMode: string;
}

/** Sysctls of the IPC namespace that may be set (all of `fs.mqueue.*` too). */
const ipcSysctls = new Set(["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"]);

export function normalizeNamespaceModes(h: Record<string, unknown>): NamespaceModes {
  const pid = mode(h, "PidMode");
  if (pid !== "" && pid !== "host" && !isContainerRef(pid)) throw new InvalidArgumentError(`invalid --pid: "${pid}"`);
  let ipc = mode(h, "IpcMode");
  if (ipc === "" || ipc === "shareable") ipc = "private";
  if (!["private", "none", "host"].includes(ipc) && !isContainerRef(ipc)) throw new InvalidArgumentError(`invalid IPC mode: ${ipc}`);
  const uts = mode(h, "UTSMode");
  if (uts !== "" && uts !== "host") throw new InvalidArgumentError(`invalid UTS mode: ${uts}`);
  return { PidMode: pid, IpcMode: ipc, UTSMode: uts };
}

/** The container a `container:<ref>` mode names, or undefined for any other mode. */
export function containerRefOf(mode: string): string | undefined {
  return isContainerRef(mode) ? mode.slice("container:".length) : undefined;
}

/**
 * Validates HostConfig.Sysctls against the namespaces the container has of
 * its own: IPC ones not with `--ipc host`, `net.*` not with `--network host`
 * (nor when it shares another container's network), nothing else.
 */
export function checkSysctls(value: unknown, modes: NamespaceModes & { NetworkMode: string }): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value) || Object.values(value).some((v) => typeof v !== "string")) {
    throw new InvalidArgumentError("json: cannot unmarshal into Go struct field HostConfig.Sysctls of type map[string]string");
  }
  const sysctls = value as Record<string, string>;
  for (const key of Object.keys(sysctls)) {
    if (ipcSysctls.has(key) || key.startsWith("fs.mqueue.")) {
      if (modes.IpcMode === "host" || isContainerRef(modes.IpcMode)) {
        throw new InvalidArgumentError(`sysctl '${key}' not allowed: the container shares an IPC namespace (--ipc ${modes.IpcMode})`);
      }
    } else if (key.startsWith("net.")) {
      if (modes.NetworkMode === "host" || isContainerRef(modes.NetworkMode)) {
        throw new InvalidArgumentError(`sysctl '${key}' not allowed: the container shares a network namespace (--network ${modes.NetworkMode})`);
      }
    } else {
      throw new InvalidArgumentError(`sysctl '${key}' is not whitelisted: only namespaced ones (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, net.*) can be set`);
    }
  }
  return { ...sysctls };
}

function isContainerRef(mode: string): boolean {
  return mode.startsWith("container:") && mode.length > "container:".length;
}

function mode(h: Record<string, unknown>, field: string): string {
  const v = h[field];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new InvalidArgumentError(`json: cannot unmarshal ${typeof v} into Go struct field HostConfig.${field} of type container.${field}`);
  return v;
}
