import { InvalidArgumentError } from "../lib/errors.js";
import type { RestartPolicy } from "./types.js";

const names = new Set(["", "no", "always", "unless-stopped", "on-failure"]);

/** Validates a client's RestartPolicy (Docker's rules and messages). */
export function parseRestartPolicy(p: Partial<RestartPolicy> | undefined): RestartPolicy {
  const name = (p?.Name ?? "") as RestartPolicy["Name"];
  if (!names.has(name)) throw new InvalidArgumentError(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  const max = p?.MaximumRetryCount ?? 0;
  if (!Number.isInteger(max) || max < 0) throw new InvalidArgumentError(`invalid restart policy: maximum retry count must be a positive integer`);
  if (max > 0 && name !== "on-failure") throw new InvalidArgumentError(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  return { Name: name, MaximumRetryCount: max };
}

/** Whether a container that exited with `code` (not stopped by a user) starts again. */
export function shouldRestart(policy: RestartPolicy, code: number, restartCount: number): boolean {
  switch (policy.Name) {
    case "always":
    case "unless-stopped":
      return true;
    case "on-failure":
      return code !== 0 && (policy.MaximumRetryCount === 0 || restartCount < policy.MaximumRetryCount);
    default:
      return false;
  }
}

/**
 * Docker's back-off: 100 ms doubling per consecutive restart, capped at one
 * minute, and back to 100 ms once a run lasted 10 seconds.
 */
export function restartDelayMs(restartCount: number, startedAt: string, now = Date.now()): number {
  const ranFor = now - Date.parse(startedAt);
  if (ranFor >= 10_000) return 100;
  return Math.min(100 * 2 ** Math.min(restartCount, 10), 60_000);
}
