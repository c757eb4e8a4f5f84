/**
 * The CLI's own error signals and the daemon-status tag on errors, kept
 * apart from commander and node:http so `main` can load them for free.
 */
import { InvalidArgumentError } from "../lib/errors.js";

const daemonStatus = new WeakMap<Error, number>();

/** Marks an error as the daemon's answer with this HTTP status. */
export function tagDaemonStatus<E extends Error>(err: E, status: number): E {
  daemonStatus.set(err, status);
  return err;
}

/** The HTTP status the daemon answered with, for errors that came from the daemon. */
export function daemonStatusOf(err: unknown): number | undefined {
  return err instanceof Error ? daemonStatus.get(err) : undefined;
}

/** A flag or argument mistake: printed with "See 'wharf <verb> --help'." and exit 125. */
export class UsageError extends InvalidArgumentError {
  readonly verb: string;
  constructor(verb: string, message: string) {
    super(message);
    this.verb = verb;
  }
}

/** Thrown after `--help` printed the usage: exit 0. */
export class HelpShown extends Error {}

/** An action's result when it must exit with a given code after printing its own error. */
export class ExitCode extends Error {
  readonly code: number;
  constructor(code: number, message = "") {
    super(message);
    this.code = code;
  }
}

/** Errors that are programming faults rather than conditions (so they keep their stack). */
export function isBug(err: Error): boolean {
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError;
}

/** The one line docker prints for an error: daemon errors get "Error response from daemon: ". */
export function describeError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return daemonStatusOf(err) !== undefined ? `Error response from daemon: ${msg}` : msg;
}
