/**
 * Cgroup resource limits of a container (`-m`, `--memory-swap`,
 * `--memory-reservation`, `--cpus`, `--cpu-shares`, `--cpu-period`,
 * `--cpu-quota`, `--cpuset-cpus`, `--cpuset-mems`, `--pids-limit`,
 * `--blkio-weight`, …): the HostConfig fields of the Docker Engine API
 * (https://docs.docker.com/reference/api/engine/version/v1.45/#tag/Container/operation/ContainerCreate),
 * validated with dockerd's rules and messages, and turned into the OCI
 * `linux.resources` that runc writes into the container's cgroups
 * (https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config-linux.md#control-groups).
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { InvalidArgumentError } from "../lib/errors.js";
import type { OciResources } from "../runtime/oci-types.js";

/** The limits as stored on the container and shown by inspect (0 / "" / null: none). */
export interface ResourceLimits {
  Memory: number;
  MemorySwap: number;
  MemoryReservation: number;
  MemorySwappiness: number | null;
  OomKillDisable: boolean;
  NanoCpus: number;
  CpuShares: number;
  CpuPeriod: number;
  CpuQuota: number;
  CpusetCpus: string;
  CpusetMems: string;
  PidsLimit: number | null;
  BlkioWeight: number;
}

const minMemory = 6 * 1024 * 1024;
/** The CFS period `--cpus` uses (dockerd's). */
const cfsPeriodUs = 100_000;

/**
 * The limit fields of a stored HostConfig, with dockerd's zero values for
 * those it lacks (records written before limits existed); no rules checked.
 */
export function readResourceLimits(h: Record<string, unknown>): ResourceLimits {
  return {
    Memory: int64(h, "Memory"),
    MemorySwap: int64(h, "MemorySwap"),
    MemoryReservation: int64(h, "MemoryReservation"),
    MemorySwappiness: h.MemorySwappiness == null ? null : int64(h, "MemorySwappiness"),
    OomKillDisable: h.OomKillDisable == null ? false : bool(h, "OomKillDisable"),
    NanoCpus: int64(h, "NanoCpus"),
    CpuShares: int64(h, "CpuShares"),
    CpuPeriod: int64(h, "CpuPeriod"),
    CpuQuota: int64(h, "CpuQuota"),
    CpusetCpus: str(h, "CpusetCpus"),
    CpusetMems: str(h, "CpusetMems"),
    PidsLimit: h.PidsLimit == null ? null : int64(h, "PidsLimit"),
    BlkioWeight: int64(h, "BlkioWeight"),
  };
}

/** Reads the limit fields of a HostConfig as a client sent them; `InvalidArgumentError` with dockerd's message for bad ones. */
export function normalizeResourceLimits(h: Record<string, unknown>): ResourceLimits {
  const r = readResourceLimits(h);
  if (r.Memory > 0 && r.Memory < minMemory) bad("Minimum memory limit allowed is 6MB");
  if (r.MemorySwap > 0 && r.Memory === 0) bad("You should always set the Memory limit when using Memoryswap limit, see usage");
  if (r.Memory > 0 && r.MemorySwap > 0 && r.MemorySwap < r.Memory) bad("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (r.MemoryReservation > 0 && r.MemoryReservation < minMemory) bad("Minimum memory reservation allowed is 6MB");
  if (r.Memory > 0 && r.MemoryReservation > r.Memory) bad("Minimum memory limit can not be less than memory reservation limit, see usage");
  if (r.MemorySwappiness !== null && r.MemorySwappiness !== -1 && (r.MemorySwappiness < 0 || r.MemorySwappiness > 100)) {
    bad(`Invalid value: ${r.MemorySwappiness}, valid memory swappiness range is 0-100`);
  }
  const cpus = availableParallelism();
  if (r.NanoCpus > 0 && r.CpuPeriod > 0) bad("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (r.NanoCpus > 0 && r.CpuQuota > 0) bad("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  if (r.NanoCpus < 0 || r.NanoCpus > cpus * 1e9) bad(`Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`);
  if (r.CpuPeriod !== 0 && (r.CpuPeriod < 1000 || r.CpuPeriod > 1_000_000)) {
    bad("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)");
  }
  if (r.CpuQuota > 0 && r.CpuQuota < 1000) bad("CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (r.CpuShares < 0) bad(`invalid CPU shares (${r.CpuShares}): value must be a positive integer`);
  checkCpuset(r.CpusetCpus, "cpus", cpus);
  checkCpuset(r.CpusetMems, "mems");
  if (r.BlkioWeight > 0 && (r.BlkioWeight < 10 || r.BlkioWeight > 1000)) bad("Range of blkio weight is from 10 to 1000");
  // dockerd stores 0 and negative pids limits as "unlimited", and a memory limit without a swap
  // limit as one allowing as much swap again.
  if (r.PidsLimit !== null && r.PidsLimit <= 0) r.PidsLimit = null;
  if (r.Memory > 0 && r.MemorySwap === 0) r.MemorySwap = r.Memory * 2;
  return r;
}

/**
 * The OCI resources for these limits. Where the kernel does not account swap
 * (no `memory.memsw.*`), the swap limit is left out, as dockerd does.
 */
export function ociResources(r: ResourceLimits): Omit<OciResources, "devices"> {
  const out: Omit<OciResources, "devices"> = {};
  const memory: NonNullable<OciResources["memory"]> = {};
  if (r.Memory > 0) {
    memory.limit = r.Memory;
    if (swapAccounted() && r.MemorySwap !== 0) memory.swap = r.MemorySwap;
  }
  if (r.MemoryReservation > 0) memory.reservation = r.MemoryReservation;
  if (r.MemorySwappiness !== null && r.MemorySwappiness >= 0) memory.swappiness = r.MemorySwappiness;
  if (r.OomKillDisable) memory.disableOOMKiller = true;
  if (Object.keys(memory).length > 0) out.memory = memory;

  const cpu: NonNullable<OciResources["cpu"]> = {};
  if (r.CpuShares > 0) cpu.shares = r.CpuShares;
  if (r.NanoCpus > 0) {
    cpu.period = cfsPeriodUs;
    cpu.quota = Math.max(1000, Math.round((r.NanoCpus * cfsPeriodUs) / 1e9));
  } else {
    if (r.CpuPeriod > 0) cpu.period = r.CpuPeriod;
    if (r.CpuQuota !== 0) cpu.quota = r.CpuQuota;
  }
  if (r.CpusetCpus) cpu.cpus = r.CpusetCpus;
  if (r.CpusetMems) cpu.mems = r.CpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (r.PidsLimit !== null) out.pids = { limit: r.PidsLimit };
  if (r.BlkioWeight > 0) out.blockIO = { weight: r.BlkioWeight };
  return out;
}

let swapAccounting: boolean | undefined;

/** cgroup v1 with swap accounting (`swapaccount=1`), or cgroup v2 (always). */
function swapAccounted(): boolean {
  swapAccounting ??= existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") || existsSync("/sys/fs/cgroup/cgroup.controllers");
  return swapAccounting;
}

/** `0-2,4`: a list of CPU or memory-node numbers and ranges; CPUs beyond the machine's are refused. */
function checkCpuset(value: string, what: "cpus" | "mems", available?: number): void {
  if (value === "") return;
  const ids: number[] = [];
  for (const part of value.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) bad(`Invalid value ${value} for cpuset ${what}`);
    for (let i = Number(m![1]); i <= Number(m![2] ?? m![1]); i++) ids.push(i);
  }
  const limit = available ?? onlineMemoryNodes();
  if (limit !== undefined && ids.some((i) => i >= limit)) {
    bad(`Requested ${what === "cpus" ? "CPUs" : "memory nodes"} are not available - requested ${value}, available: 0-${limit - 1}`);
  }
}

function onlineMemoryNodes(): number | undefined {
  try {
    const online = readFileSync("/sys/devices/system/node/online", "utf8").trim();
    return Number(online.split(/[-,]/).pop()) + 1;
  } catch {
    return undefined;
  }
}

function int64(h: Record<string, unknown>, field: string): number {
  const v = h[field];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new InvalidArgumentError(`json: cannot unmarshal ${typeof v === "number" ? "number" : typeof v} into Go struct field HostConfig.${field} of type int64`);
  }
  return v;
}

function bool(h: Record<string, unknown>, field: string): boolean {
  const v = h[field];
  if (typeof v !== "boolean") throw new InvalidArgumentError(`json: cannot unmarshal ${typeof v} into Go struct field HostConfig.${field} of type bool`);
  return v;
}

function str(h: Record<string, unknown>, field: string): string {
  const v = h[field];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new InvalidArgumentError(`json: cannot unmarshal ${typeof v} into Go struct field HostConfig.${field} of type string`);
  return v;
}

function bad(message: string): never {
  throw new InvalidArgumentError(message);
}
