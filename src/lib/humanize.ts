/**
 * Human-readable durations, sizes and times exactly as the docker CLI prints
 * them (github.com/docker/go-units: HumanDuration, HumanSizeWithPrecision,
 * BytesSize, RAMInBytes), so scripts that parse `docker ps` keep working.
 * Shared by the CLI (ps, images) and the daemon (the `Status` field of
 * `GET /containers/json`).
 */
import { InvalidArgumentError } from "./errors.js";

/** go-units HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(ms / 3_600_000) / 24 / 365)} years`;
}

/** "2 minutes ago" for a time (ms since epoch, or a date string), as ps/images CREATED. */
export function timeAgo(when: number | string, now: number = Date.now()): string {
  const t = typeof when === "string" ? Date.parse(when) : when;
  if (Number.isNaN(t)) return "";
  return `${humanDuration(now - t)} ago`;
}

/** Go's `%.<prec>g`: at most `prec` significant digits, no trailing zeros, e+NN exponents. */
export function formatG(x: number, prec: number): string {
  if (x === 0) return "0";
  if (!Number.isFinite(x)) return x > 0 ? "+Inf" : x < 0 ? "-Inf" : "NaN";
  const rounded = Number(x.toPrecision(prec));
  const [mant, expStr] = rounded.toExponential().split("e");
  const exp = Number(expStr);
  if (exp < -4 || exp >= prec) {
    const sign = exp < 0 ? "-" : "+";
    const digits = String(Math.abs(exp)).padStart(2, "0");
    return `${mant}e${sign}${digits}`;
  }
  return String(rounded);
}

const decimalUnits = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const binaryUnits = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

function customSize(size: number, prec: number, base: number, units: string[]): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${formatG(size, prec)}${units[i]}`;
}

/** go-units HumanSizeWithPrecision (decimal units): 4.26MB, 755kB, 0B. */
export function humanSizeWithPrecision(size: number, prec: number): string {
  return customSize(size, prec, 1000, decimalUnits);
}

/** go-units HumanSize: precision 4. */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units BytesSize (binary units): 1.5GiB. */
export function bytesSize(size: number): string {
  return customSize(size, 4, 1024, binaryUnits);
}

/** go-units RAMInBytes: "512m", "1g", "1.5GB", "100" → bytes (binary multiples). */
export function ramInBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new InvalidArgumentError(`invalid size: '${s}'`);
  const n = Number(m[1]);
  if (Number.isNaN(n)) throw new InvalidArgumentError(`invalid size: '${s}'`);
  const mult: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
  return Math.trunc(n * (m[2] ? mult[m[2].toLowerCase()]! : 1));
}

/** Shortens to `max` characters with a trailing "…", as docker's formatter.Ellipsis. */
export function ellipsis(s: string, max: number): string {
  const chars = [...s];
  if (max <= 0) return "";
  if (chars.length <= max) return s;
  if (max === 1) return chars[0]!;
  return `${chars.slice(0, max - 1).join("")}…`;
}

/** The 12-hex short ID, without any `sha256:` prefix (docker's stringid.TruncateID). */
export function truncateId(id: string): string {
  const i = id.indexOf(":");
  const bare = i >= 0 ? id.slice(i + 1) : id;
  return bare.length > 12 ? bare.slice(0, 12) : bare;
}

/** Docker container states for the human status line. */
export interface StateForStatus {
  Running?: boolean;
  Paused?: boolean;
  Restarting?: boolean;
  Dead?: boolean;
  RemovalInProgress?: boolean;
  ExitCode?: number;
  StartedAt?: string;
  FinishedAt?: string;
  Health?: { Status?: string } | null;
}

function isZeroTime(t: string | undefined): boolean {
  return !t || t.startsWith("0001-01-01") || Number.isNaN(Date.parse(t));
}

/** The human `Status` docker shows in ps: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created". */
export function containerStatusText(s: StateForStatus, now: number = Date.now()): string {
  const since = (t: string | undefined) => humanDuration(now - Date.parse(t ?? ""));
  if (s.Running) {
    if (s.Paused) return `Up ${since(s.StartedAt)} (Paused)`;
    if (s.Restarting) return `Restarting (${s.ExitCode ?? 0}) ${since(s.FinishedAt)} ago`;
    const health = s.Health?.Status;
    if (health && health !== "none") {
      return `Up ${since(s.StartedAt)} (${health === "starting" ? "health: starting" : health})`;
    }
    return `Up ${since(s.StartedAt)}`;
  }
  if (s.RemovalInProgress) return "Removal In Progress";
  if (s.Dead) return "Dead";
  if (isZeroTime(s.StartedAt)) return "Created";
  if (isZeroTime(s.FinishedAt)) return "";
  return `Exited (${s.ExitCode ?? 0}) ${since(s.FinishedAt)} ago`;
}

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration ("1h30m", "10s", "1.5h") in milliseconds; undefined if it is not one. */
export function parseGoDuration(s: string): number | undefined {
  // µ as \u00b5: keeps the CLI bundle ASCII, which bin/wharf.js reads faster.
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|ms|s|m|h))+$/.exec(s);
  if (!m) return s === "0" ? 0 : undefined;
  let total = 0;
  for (const part of s.replace(/^[-+]/, "").matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)/g)) {
    total += Number(part[1]) * durationUnits[part[2]!]!;
  }
  return m[1] === "-" ? -total : total;
}

/**
 * docker's timetypes.GetTimestamp for `--since`/`--until`: a Go duration is
 * relative to now, a Unix timestamp passes through, an RFC 3339 date or date
 * prefix becomes seconds.nanoseconds.
 */
export function apiTimestamp(value: string, now: number = Date.now()): string {
  const d = parseGoDuration(value);
  if (d !== undefined) return secondsString(now - d);
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid value for "since"/"until": ${value}`);
  return secondsString(t);
}

function secondsString(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const nanos = Math.round((ms - sec * 1000) * 1e6);
  return `${sec}.${String(nanos).padStart(9, "0")}`;
}
