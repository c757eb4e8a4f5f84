/**
 * `--ulimit NAME=SOFT[:HARD]` (HostConfig.Ulimits) as OCI `process.rlimits`.
 * Wharf sets none unless asked (Docker's defaults would raise limits, which
 * fails with EPERM where the daemon lacks CAP_SYS_RESOURCE); a limit asked
 * above what the daemon may grant makes the start fail with runc's message.
 * https://docs.docker.com/reference/cli/docker/container/run/#ulimit
 */
import { InvalidArgumentError } from "../lib/errors.js";

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

const names = new Set(["as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"]);

export function normalizeUlimits(value: unknown): Ulimit[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new InvalidArgumentError("json: cannot unmarshal into Go struct field HostConfig.Ulimits of type []*units.Ulimit");
  return value.map((u: Partial<Ulimit>) => {
    if (typeof u?.Name !== "string" || !names.has(u.Name)) throw new InvalidArgumentError(`invalid ulimit type: ${String(u?.Name)}`);
    const soft = u.Soft ?? 0;
    const hard = u.Hard ?? soft;
    // -1 (unlimited) would be RLIM_INFINITY, 2^64-1, which a JSON number from here cannot carry exactly.
    if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard) || soft < 0 || hard < 0) {
      throw new InvalidArgumentError(`invalid ulimit ${u.Name}: soft and hard must be integers from 0 to 2^53-1 (unlimited is not supported)`);
    }
    if (soft > hard) throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    return { Name: u.Name, Soft: soft, Hard: hard };
  });
}

export function ociRlimits(ulimits: readonly Ulimit[]): { type: string; soft: number; hard: number }[] {
  return ulimits.map((u) => ({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard }));
}
