/**
 * The filters Docker's prune endpoints share: `until=<time>` (created before
 * it), `label=k` / `label=k=v` (every one must match) and `label!=…` (none
 * may). Each endpoint names the keys it takes; any other key is a 400
 * (`invalid filter 'x'`), as dockerd answers, so a filter we would not apply
 * never turns into "prune everything".
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerPrune
 */
import { InvalidArgumentError } from "../lib/errors.js";
import { parseDuration } from "../lib/go-duration.js";

export interface Prunable {
  /** Creation time, ms since the epoch. */
  created: number;
  labels: Record<string, string> | null | undefined;
}

/**
 * A predicate over what a prune may remove. `accepted` lists the keys the
 * endpoint takes; the keys other than until/label/label! are the caller's
 * to apply (`dangling`, `all`).
 */
export function pruneMatcher(filters: Map<string, string[]>, accepted: readonly string[]): (p: Prunable) => boolean {
  for (const key of filters.keys()) if (!accepted.includes(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
  const untilValues = filters.get("until") ?? [];
  if (untilValues.length > 1) throw new InvalidArgumentError("more than one until filter specified");
  const until = untilValues.length === 1 ? untilTime(untilValues[0]!) : undefined;
  const wanted = filters.get("label") ?? [];
  const unwanted = filters.get("label!") ?? [];
  return (p) => {
    if (until !== undefined && !(p.created < until)) return false;
    const labels = p.labels ?? {};
    return wanted.every((l) => hasLabel(labels, l)) && !unwanted.some((l) => hasLabel(labels, l));
  };
}

function hasLabel(labels: Record<string, string>, filter: string): boolean {
  const i = filter.indexOf("=");
  return i < 0 ? Object.hasOwn(labels, filter) : labels[filter.slice(0, i)] === filter.slice(i + 1);
}

/**
 * An `until` value as Docker reads it (its `timetypes.GetTimestamp`): a Go
 * duration before now (`24h`, `1h30m`), Unix seconds (`1700000000`,
 * `1700000000.5`) or an RFC 3339 date or time. In ms since the epoch.
 */
export function untilTime(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  try {
    return now - parseDuration(value) / 1e6;
  } catch {
    // not a duration: a date
  }
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid filter 'until=${value}': not a duration, Unix timestamp or RFC 3339 time`);
  return t;
}
