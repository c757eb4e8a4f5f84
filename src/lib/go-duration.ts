/**
 * Go's `time.ParseDuration` syntax, which Docker's flags and filters take
 * (HEALTHCHECK `--interval`, prune `until=`).
 */
import { InvalidArgumentError } from "./errors.js";

/**
 * A Go `time.ParseDuration` string (`30s`, `1m30s`, `1.5h`, `250ms`, `0`) in
 * nanoseconds, as HEALTHCHECK's `--interval` & co. take; the image config
 * stores nanoseconds. Throws `InvalidArgumentError` for anything else.
 */
export function parseDuration(text: string): number {
  const invalid = (): never => {
    throw new InvalidArgumentError(`time: invalid duration ${JSON.stringify(text)}`);
  };
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    if (rest.startsWith("-")) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") invalid();
  let total = 0;
  while (rest !== "") {
    // µ as \u00b5, μ as \u03bc: keeps the CLI bundle ASCII, which bin/wharf.js reads faster.
    const m = /^(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/.exec(rest);
    if (!m || (m[1] === "" && !m[2])) return invalid();
    total += Number(`${m[1] || "0"}.${m[2] || "0"}`) * nanosPerUnit[m[3]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * Math.round(total);
}

const nanosPerUnit: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
