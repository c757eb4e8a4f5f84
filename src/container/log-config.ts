/**
 * `--log-driver` and `--log-opt` (HostConfig.LogConfig). conmon writes each
 * container's log file, so the drivers are those a file can be:
 * `json-file` (the default; `local` is taken as the same, since `docker
 * logs` reads both alike) and `none` (no log kept, `logs` refuses).
 * Options: `max-size` (conmon truncates the file there, which is json-file's
 * behaviour with its default `max-file=1`) and `max-file=1`. Anything else is
 * refused with dockerd's message rather than silently not done.
 * https://docs.docker.com/engine/logging/drivers/json-file/
 */
import { FailedPreconditionError, InvalidArgumentError } from "../lib/errors.js";
import { ramInBytes } from "../lib/humanize.js";

export interface LogConfig {
  Type: "json-file" | "local" | "none";
  Config: Record<string, string>;
}

export function normalizeLogConfig(value: unknown): LogConfig {
  if (value === undefined || value === null) return { Type: "json-file", Config: {} };
  if (typeof value !== "object" || Array.isArray(value)) throw new InvalidArgumentError("json: cannot unmarshal into Go struct field HostConfig.LogConfig of type container.LogConfig");
  const { Type, Config } = value as { Type?: unknown; Config?: unknown };
  const type = Type === undefined || Type === null || Type === "" ? "json-file" : Type;
  if (type !== "json-file" && type !== "local" && type !== "none") {
    throw new InvalidArgumentError(`logger: no log driver named '${String(type)}' is registered (this daemon has json-file, local and none)`);
  }
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries((Config ?? {}) as Record<string, unknown>)) {
    if (typeof v !== "string") throw new InvalidArgumentError(`json: cannot unmarshal into Go struct field LogConfig.Config of type string (log opt '${k}')`);
    config[k] = v;
  }
  for (const [k, v] of Object.entries(config)) {
    if (type === "none") throw new InvalidArgumentError(`unknown log opt '${k}' for none log driver`);
    if (k === "max-size") {
      try {
        if (ramInBytes(v) <= 0) throw new InvalidArgumentError("not positive");
      } catch {
        throw new InvalidArgumentError(`invalid max-size for log driver ${type}: ${v}`);
      }
    } else if (k === "max-file") {
      if (v !== "1") throw new InvalidArgumentError(`log opt max-file=${v}: this daemon keeps one log file per container (max-file=1)`);
    } else {
      throw new InvalidArgumentError(`unknown log opt '${k}' for ${type} log driver`);
    }
  }
  return { Type: type, Config: config };
}

/** The size at which the log file is cut, if the user set one. */
export function logSizeMax(c: LogConfig | undefined): number | undefined {
  const v = c?.Config["max-size"];
  return v === undefined ? undefined : ramInBytes(v);
}

/** `docker logs` of a container that keeps no log, in dockerd's words. */
export function checkLogsReadable(c: LogConfig | undefined): void {
  if (c?.Type === "none") throw new FailedPreconditionError("configured logging driver does not support reading");
}
