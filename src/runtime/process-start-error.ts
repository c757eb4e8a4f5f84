import { InvalidArgumentError } from "../lib/errors.js";

/**
 * The container's command could not be started. `exitCode` is what Docker
 * reports for it: 127 when the executable (or the working directory) does
 * not exist, 126 when it exists but cannot be invoked.
 */
export class ProcessStartError extends InvalidArgumentError {
  readonly exitCode: 126 | 127;
  constructor(message: string, exitCode: 126 | 127) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Classify runc's message the way dockerd does when a start fails
 * (moby `daemon/start.go`, translateContainerdStartErr): a missing
 * executable is 127, one that cannot be invoked is 126. Null when the
 * message is about something else.
 */
export function processStartErrorFrom(message: string): ProcessStartError | null {
  if (/exec: .*(executable file not found|no such file or directory)/.test(message)) {
    return new ProcessStartError(message, 127);
  }
  if (/permission denied/.test(message)) return new ProcessStartError(message, 126);
  if (/not a directory/.test(message)) {
    return new ProcessStartError(
      `${message}: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type`,
      127,
    );
  }
  return null;
}
