import { posix } from "node:path";
import type { ContainerConfig } from "../image/index.js";
import { parsePortKeys } from "../container/ports.js";
import { InvalidArgumentError } from "../lib/errors.js";
import { parseGoDuration } from "../lib/humanize.js";
import type { CommandForm, Instruction } from "./dockerfile.js";
import { expandWord, expandWords } from "./shell-words.js";

/**
 * What a stage knows between steps: its image so far, the runtime config
 * that image carries, and the ARGs in scope. The metadata instructions
 * (everything but FROM, RUN, COPY, ADD) are pure changes of this state,
 * applied here without I/O so they can be tested without a daemon.
 */
export interface StageState {
  /** The image the stage is at (null only before FROM is resolved). */
  imageId: string | null;
  config: ContainerConfig;
  /** ARGs declared in this stage (value undefined: declared, no value). */
  args: Map<string, string | undefined>;
  /** CMD was set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  escapeChar: "\\" | "`";
}

export const defaultShell = ["/bin/sh", "-c"];

export function shellOf(state: StageState): string[] {
  return state.config.Shell && state.config.Shell.length > 0 ? state.config.Shell : defaultShell;
}

/** Looks a name up as Docker's builder does: ENV first, then the stage's ARGs. */
export function lookupIn(state: StageState): (name: string) => string | undefined {
  return (name) => envValue(state.config.Env ?? [], name) ?? state.args.get(name);
}

export function envValue(env: string[], name: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]!;
    if (e.startsWith(`${name}=`)) return e.slice(name.length + 1);
    if (e === name) return "";
  }
  return undefined;
}

export function setEnv(env: string[], name: string, value: string): string[] {
  return [...env.filter((e) => e !== name && !e.startsWith(`${name}=`)), `${name}=${value}`];
}

/** The argv of a RUN/CMD/ENTRYPOINT: exec form as is, shell form through the stage's SHELL. */
export function argvOf(state: StageState, form: CommandForm): string[] {
  return form.kind === "exec" ? form.args : [...shellOf(state), form.command];
}

/** Build args in scope that ENV does not shadow, as `k=v` (the RUN environment Docker adds). */
export function argEnv(state: StageState): string[] {
  const env = state.config.Env ?? [];
  const out: string[] = [];
  for (const [k, v] of [...state.args].sort(([a], [b]) => a.localeCompare(b))) {
    if (v !== undefined && envValue(env, k) === undefined) out.push(`${k}=${v}`);
  }
  return out;
}

/**
 * Applies a metadata instruction to `state` and returns the history line
 * Docker's classic builder writes for it (`/bin/sh -c #(nop)  CMD ["sh"]`).
 * `InvalidArgumentError` for bad values (ports, durations).
 */
export function applyMetadata(state: StageState, ins: Instruction, buildArgs: Map<string, string | undefined>, globalArgs: Map<string, string | undefined>, consumed: Set<string>): string {
  const lookup = lookupIn(state);
  const word = (w: string) => expandWord(w, lookup, state.escapeChar);
  const words = (ws: string[]) => ws.flatMap((w) => expandWords(w, lookup, state.escapeChar));
  const c = { ...state.config };
  let shown: string;
  switch (ins.keyword) {
    case "ENV": {
      // All values of one ENV line see the environment from before the line.
      const values = ins.pairs.map((p) => [word(p.key), word(p.value)] as const);
      let env = c.Env ?? [];
      for (const [k, v] of values) env = setEnv(env, k, v);
      c.Env = env;
      shown = `ENV ${values.map(([k, v]) => `${k}=${v}`).join(" ")}`;
      break;
    }
    case "LABEL": {
      const labels = { ...(c.Labels ?? {}) };
      const values = ins.pairs.map((p) => [word(p.key), word(p.value)] as const);
      for (const [k, v] of values) labels[k] = v;
      c.Labels = labels;
      shown = `LABEL ${values.map(([k, v]) => `${k}=${v}`).join(" ")}`;
      break;
    }
    case "ARG": {
      for (const a of ins.args) {
        consumed.add(a.name);
        let value: string | undefined;
        if (buildArgs.has(a.name) && buildArgs.get(a.name) !== undefined) value = buildArgs.get(a.name);
        else if (a.defaultValue !== undefined) value = word(a.defaultValue);
        else value = globalArgs.get(a.name);
        state.args.set(a.name, value);
      }
      shown = `ARG ${ins.args.map((a) => (a.defaultValue !== undefined ? `${a.name}=${a.defaultValue}` : a.name)).join(" ")}`;
      break;
    }
    case "CMD": {
      c.Cmd = argvOf(state, ins.command);
      state.cmdSet = true;
      shown = `CMD ${JSON.stringify(c.Cmd)}`;
      break;
    }
    case "ENTRYPOINT": {
      c.Entrypoint = argvOf(state, ins.command);
      // An inherited CMD would become arguments nobody asked for: Docker drops it.
      if (!state.cmdSet) c.Cmd = null;
      shown = `ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`;
      break;
    }
    case "SHELL":
      c.Shell = ins.args;
      shown = `SHELL ${JSON.stringify(ins.args)}`;
      break;
    case "EXPOSE": {
      const ports = { ...(c.ExposedPorts ?? {}) };
      const keys = words(ins.words);
      for (const k of keys) for (const p of parsePortKeys(k)) ports[`${p.port}/${p.protocol}`] = {};
      c.ExposedPorts = ports;
      shown = `EXPOSE ${keys.map((k) => (k.includes("/") ? k : `${k}/tcp`)).join(" ")}`;
      break;
    }
    case "VOLUME": {
      const vols = { ...(c.Volumes ?? {}) };
      const paths = words(ins.words);
      if (paths.length === 0 || paths.some((p) => p.trim() === "")) throw new InvalidArgumentError("VOLUME specified can not be an empty string");
      for (const p of paths) vols[p] = {};
      c.Volumes = vols;
      shown = `VOLUME ${JSON.stringify(paths)}`;
      break;
    }
    case "WORKDIR": {
      c.WorkingDir = posix.resolve(c.WorkingDir || "/", word(ins.words[0]!));
      shown = `WORKDIR ${c.WorkingDir}`;
      break;
    }
    case "USER":
      c.User = word(ins.words[0]!);
      shown = `USER ${c.User}`;
      break;
    case "STOPSIGNAL":
      c.StopSignal = word(ins.words[0]!);
      shown = `STOPSIGNAL ${c.StopSignal}`;
      break;
    case "MAINTAINER":
      shown = `MAINTAINER ${ins.words[0]!}`;
      break;
    case "HEALTHCHECK":
      c.Healthcheck = healthcheckOf(ins.command, ins.flags);
      shown = `HEALTHCHECK &{${JSON.stringify(c.Healthcheck.Test)}}`;
      break;
    case "ONBUILD":
      c.OnBuild = [...(c.OnBuild ?? []), ins.trigger];
      shown = `ONBUILD ${ins.trigger}`;
      break;
    default:
      throw new InvalidArgumentError(`${ins.keyword} is not a metadata instruction`);
  }
  state.config = c;
  return `/bin/sh -c #(nop)  ${shown}`;
}

function healthcheckOf(command: CommandForm | null, flags: Record<string, string>): NonNullable<ContainerConfig["Healthcheck"]> {
  if (command === null) return { Test: ["NONE"] };
  const out: NonNullable<ContainerConfig["Healthcheck"]> = {
    Test: command.kind === "exec" ? ["CMD", ...command.args] : ["CMD-SHELL", command.command],
  };
  const duration = (name: string): number | undefined => {
    const v = flags[name];
    if (v === undefined) return undefined;
    const ms = parseGoDuration(v);
    if (ms === undefined || ms < 0) throw new InvalidArgumentError(`invalid --${name} value: ${v}`);
    return Math.round(ms * 1e6); // the image config counts nanoseconds
  };
  const interval = duration("interval");
  const timeout = duration("timeout");
  const startPeriod = duration("start-period");
  const startInterval = duration("start-interval");
  if (interval !== undefined) out.Interval = interval;
  if (timeout !== undefined) out.Timeout = timeout;
  if (startPeriod !== undefined) out.StartPeriod = startPeriod;
  if (startInterval !== undefined) out.StartInterval = startInterval;
  if (flags.retries !== undefined) {
    const n = Number(flags.retries);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`invalid --retries value: ${flags.retries}`);
    out.Retries = n;
  }
  return out;
}
