/**
 * Health checks (Dockerfile `HEALTHCHECK`, `docker run --health-*`): a probe
 * command run in the container every interval, whose exit code makes the
 * container `healthy` or, after `Retries` failures in a row, `unhealthy`.
 * Docker's rules (https://docs.docker.com/reference/dockerfile/#healthcheck):
 * - the first probe runs one interval after the start (`StartInterval` while
 *   in the start period), the next one interval after the previous ended;
 * - exit 0 is healthy; anything else, or running past `Timeout` (the probe is
 *   killed, exit -1), is a failure; failures within `StartPeriod` of the start
 *   do not count, but a success there ends the start period;
 * - the last 5 results are kept, each probe's output cut at 4096 bytes.
 * Durations are nanoseconds, as in the API; 0 means the default.
 *
 * Lifecycle: `new HealthMonitor(…)` → `start()` at container start → results
 * through `onResult` → `stop()` at exit or removal (safe twice; a probe in
 * flight is killed and its result dropped).
 */
import { InvalidArgumentError } from "../lib/errors.js";

export interface HealthConfig {
  /** `[]` inherit, `["NONE"]` off, `["CMD", args…]`, `["CMD-SHELL", command]`. */
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: "starting" | "healthy" | "unhealthy";
  FailingStreak: number;
  Log: HealthResult[];
}

/** One probe: the command run in the container; `timedOut` when it was killed at the timeout. */
export type ProbeRunner = (cmd: string[], timeoutMs: number) => Promise<{ exitCode: number; output: string; timedOut: boolean }>;

const ns = 1_000_000;
const defaults = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 };
const keptResults = 5;
const maxOutput = 4096;

/** Validates a Healthcheck as clients send it (dockerd's messages); null/undefined pass. */
export function checkHealthConfig(h: HealthConfig | null | undefined): void {
  if (h === undefined || h === null) return;
  if (h.Test != null && (!Array.isArray(h.Test) || h.Test.some((t) => typeof t !== "string"))) {
    throw new InvalidArgumentError("json: cannot unmarshal into Go struct field HealthConfig.Healthcheck.Test of type []string");
  }
  const kind = h.Test?.[0];
  if (kind !== undefined && !["NONE", "CMD", "CMD-SHELL"].includes(kind)) throw new InvalidArgumentError(`unknown health check type ${kind}: want NONE, CMD or CMD-SHELL`);
  if ((kind === "CMD" || kind === "CMD-SHELL") && h.Test!.length < 2) throw new InvalidArgumentError(`health check ${kind} needs a command`);
  for (const [field, v] of [["Interval", h.Interval], ["Timeout", h.Timeout], ["StartPeriod", h.StartPeriod], ["StartInterval", h.StartInterval]] as Array<[string, number | null | undefined]>) {
    // Clients send null for what the user did not set (docker-py, hence compose, does).
    if (v === undefined || v === null || v === 0) continue;
    if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`${field} in Healthcheck cannot be negative`);
    if (v < ns) throw new InvalidArgumentError(`${field} in Healthcheck cannot be less than 1ms`);
  }
  if (h.Retries != null && (!Number.isInteger(h.Retries) || h.Retries < 0)) throw new InvalidArgumentError("Retries in Healthcheck cannot be negative");
}

/**
 * The container's Healthcheck: the client's fields over the image's, field by
 * field (an empty Test inherits the image's), as dockerd merges them.
 */
export function mergeHealthConfig(own: HealthConfig | null | undefined, image: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!own && !image) return undefined;
  const merged: HealthConfig = { ...(image ?? {}) };
  for (const [k, v] of Object.entries(own ?? {}) as Array<[keyof HealthConfig, unknown]>) {
    if (k === "Test" ? Array.isArray(v) && v.length > 0 : v != null && v !== 0) (merged as Record<string, unknown>)[k] = v;
  }
  return merged;
}

/** The probe's argv, or null when the container has no health check. */
export function probeCommand(h: HealthConfig | null | undefined): string[] | null {
  const test = h?.Test;
  if (!test || test.length < 2 || test[0] === "NONE") return null;
  return test[0] === "CMD-SHELL" ? ["/bin/sh", "-c", test[1]!] : test.slice(1);
}

export class HealthMonitor {
  readonly #cmd: string[];
  readonly #config: Required<Omit<HealthConfig, "Test">>;
  readonly #run: ProbeRunner;
  readonly #onResult: (state: HealthState, changed: boolean) => void;
  readonly #startedAt = Date.now();
  #state: HealthState = { Status: "starting", FailingStreak: 0, Log: [] };
  #inStartPeriod = true;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(cmd: string[], config: HealthConfig, run: ProbeRunner, onResult: (state: HealthState, changed: boolean) => void) {
    this.#cmd = cmd;
    const ms = (v: number | undefined, d: number) => (v ? Math.round(v / ns) : d);
    this.#config = {
      Interval: ms(config.Interval, defaults.interval),
      Timeout: ms(config.Timeout, defaults.timeout),
      StartPeriod: ms(config.StartPeriod, defaults.startPeriod),
      StartInterval: ms(config.StartInterval, defaults.startInterval),
      Retries: config.Retries || defaults.retries,
    };
    this.#run = run;
    this.#onResult = onResult;
  }

  get state(): HealthState {
    return this.#state;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    const { Interval, StartInterval, StartPeriod } = this.#config;
    const starting = this.#inStartPeriod && Date.now() - this.#startedAt < StartPeriod;
    // A start interval only applies when a start period is set (Docker's rule).
    this.#timer = setTimeout(() => void this.#probe(), starting && StartPeriod > 0 ? Math.min(StartInterval, Interval) : Interval);
    // A container's health checks never keep the daemon alive.
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    const start = new Date();
    let result: { exitCode: number; output: string; timedOut: boolean };
    try {
      result = await this.#run(this.#cmd, this.#config.Timeout);
    } catch (err) {
      result = { exitCode: -1, output: err instanceof Error ? err.message : String(err), timedOut: false };
    }
    if (this.#stopped) return;
    const end = new Date();
    const output = result.timedOut ? `Health check exceeded timeout (${this.#config.Timeout / 1000}s)` : result.output.slice(0, maxOutput);
    const exitCode = result.timedOut ? -1 : result.exitCode;
    const before = this.#state.Status;
    const log = [...this.#state.Log, { Start: start.toISOString(), End: end.toISOString(), ExitCode: exitCode, Output: output }].slice(-keptResults);
    let { Status: status, FailingStreak: streak } = this.#state;
    if (exitCode === 0) {
      status = "healthy";
      streak = 0;
      this.#inStartPeriod = false;
    } else if (!(this.#inStartPeriod && start.getTime() - this.#startedAt < this.#config.StartPeriod)) {
      streak++;
      if (streak >= this.#config.Retries) status = "unhealthy";
    }
    this.#state = { Status: status, FailingStreak: streak, Log: log };
    this.#onResult(this.#state, status !== before);
    this.#schedule();
  }
}
