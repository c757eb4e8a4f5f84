import { constants } from "node:os";
import { InvalidArgumentError } from "../lib/errors.js";

const byName = constants.signals as Record<string, number>;

/**
 * `"SIGTERM"`, `"term"`, `"15"`, `15` → 15. Accepts what `docker kill -s`
 * accepts (including `SIGRTMIN+n`). Throws `InvalidArgumentError` otherwise.
 */
export function parseSignal(signal: string | number): number {
  if (typeof signal === "number" || /^\d+$/.test(signal)) {
    const n = Number(signal);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError(`invalid signal: ${signal}`);
    return n;
  }
  const upper = signal.trim().toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  const rt = /^SIGRTM(IN|AX)([+-]\d+)?$/.exec(name);
  if (rt) {
    // Linux/glibc: SIGRTMIN is 34, SIGRTMAX 64.
    const n = (rt[1] === "IN" ? 34 : 64) + Number(rt[2] ?? 0);
    if (n >= 34 && n <= 64) return n;
  }
  const n = byName[name];
  if (n === undefined) throw new InvalidArgumentError(`invalid signal: ${signal}`);
  return n;
}
