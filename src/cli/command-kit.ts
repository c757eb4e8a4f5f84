/**
 * What every verb shares: the injected I/O (`CliIo`), docker-style flag
 * parsing (pflag's messages, `--flag=false`, `--help` only — `-h` is
 * `--hostname` for run): a `FlagSet` parses the usual argv itself and hands
 * anything else to commander, loaded only then; and the usage error that
 * exits 125.
 */
import { createRequire } from "node:module";
import type { Command } from "commander";
import type { Readable, Writable } from "node:stream";
import type { EngineClient } from "./client.js";
import { describeError, HelpShown, isBug, UsageError } from "./cli-errors.js";
import { FlagSet } from "./flag-set.js";

export { describeError, ExitCode, HelpShown, isBug, UsageError } from "./cli-errors.js";
export { FlagSet } from "./flag-set.js";

// require() rather than import: importing CommonJS from ESM runs Node's export
// lexer over commander's source. Loaded on first need (help, an error, a rare spelling).
let commanderModule: typeof import("commander") | undefined;
const commander = () => (commanderModule ??= createRequire(import.meta.url)("commander") as typeof import("commander"));

/** The terminal, injected so actions run in tests without one. */
export interface Terminal {
  readonly stdinIsTty: boolean;
  readonly stdoutIsTty: boolean;
  /** Raw mode on the input terminal (no-op when stdin is not a tty). */
  setRawMode(on: boolean): void;
  /** The output terminal's size, or undefined when stdout is not a tty. */
  size(): { rows: number; cols: number } | undefined;
  /** Calls `cb` on window resize; returns the unsubscribe function. */
  onResize(cb: () => void): () => void;
  /** Calls `cb` with the signal name for signals the CLI forwards (INT, TERM, …); returns unsubscribe. */
  onSignal(cb: (signal: string) => void): () => void;
}

export interface CliIo {
  client: EngineClient;
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  terminal: Terminal;
  env: Record<string, string | undefined>;
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** A docker-like command: `wharf <verb>` usage, `--help` only, errors thrown (never process.exit). */
export function newCommand(verb: string, usage: string, description: string, out: Writable): FlagSet {
  return new FlagSet(`wharf ${verb}`, usage, description, (s) => void out.write(s));
}

type OptionLike = { short?: string; long?: string; required: boolean; optional: boolean };

/**
 * Rewrites pflag-only spellings commander lacks: `--rm=true` / `--rm=false`
 * for boolean flags. Stops at `--` and, for pass-through commands, at the
 * first positional.
 */
export function normalizeBoolFlags(cmd: Command, argv: string[], stopAtPositional: boolean): string[] {
  const opts = cmd.options as unknown as OptionLike[];
  const takesValue = (o: OptionLike | undefined) => !!o && (o.required || o.optional);
  const out: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq >= 0 ? a.slice(0, eq) : a;
      const o = opts.find((x) => x.long === name);
      if (o && !takesValue(o) && eq >= 0) {
        const v = a.slice(eq + 1).toLowerCase();
        if (v === "true" || v === "1") out.push(name);
        else if (v === "false" || v === "0") {
          // `--sig-proxy=false` for a flag that defaults to true, spelled `--no-sig-proxy` in commander.
          if (opts.some((x) => x.long === `--no-${name.slice(2)}`)) out.push(`--no-${name.slice(2)}`);
        } else {
          throw new UsageError(
            cmd.name().replace(/^wharf /, ""),
            `invalid argument "${a.slice(eq + 1)}" for "${name}" flag: strconv.ParseBool: parsing "${a.slice(eq + 1)}": invalid syntax`,
          );
        }
        continue;
      }
      out.push(a);
      if (o && takesValue(o) && eq < 0 && o.required && i + 1 < argv.length) out.push(argv[++i]!);
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      out.push(a);
      // A short cluster whose last flag takes a value consumes the next word.
      for (let j = 1; j < a.length; j++) {
        const o = opts.find((x) => x.short === `-${a[j]}`);
        if (takesValue(o)) {
          if (j === a.length - 1 && o!.required && i + 1 < argv.length) out.push(argv[++i]!);
          break;
        }
      }
      continue;
    }
    out.push(a);
    if (stopAtPositional) {
      i++;
      break;
    }
  }
  return out.concat(argv.slice(i));
}

function flagNameFrom(message: string): string {
  const m = /'(-\w)?,? ?(--[\w-]+)?/.exec(message);
  return m?.[2] ?? m?.[1] ?? "";
}

/** Parses argv (commander's way, see `FlagSet`) and turns commander's errors into docker's (pflag's) wording. */
export function parseArgs(
  flags: FlagSet,
  verb: string,
  argv: string[],
  opts: { passThrough?: boolean } = {},
): { options: Record<string, unknown>; args: string[] } {
  if (opts.passThrough) flags.passThroughOptions();
  return flags.tryParse(argv) ?? parseWithCommander(flags, verb, argv, opts);
}

/** `parseArgs` without the fast path: commander parses (exported for the test that holds the two to the same answers). */
export function parseWithCommander(
  flags: FlagSet,
  verb: string,
  argv: string[],
  opts: { passThrough?: boolean } = {},
): { options: Record<string, unknown>; args: string[] } {
  if (opts.passThrough) flags.passThroughOptions();
  const cmd = flags.toCommander(commander());
  try {
    cmd.parse(normalizeBoolFlags(cmd, argv, !!opts.passThrough), { from: "user" });
  } catch (err) {
    if (err instanceof commander().CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.help") throw new HelpShown();
      if (err.code === "commander.unknownOption") {
        const flag = /'([^']+)'/.exec(err.message)?.[1] ?? "";
        const msg = flag.startsWith("--")
          ? `unknown flag: ${flag}`
          : `unknown shorthand flag: '${flag.slice(1, 2)}' in ${flag}`;
        throw new UsageError(verb, msg);
      }
      if (err.code === "commander.optionMissingArgument") {
        throw new UsageError(verb, `flag needs an argument: ${flagNameFrom(err.message)}`);
      }
      throw new UsageError(verb, err.message.replace(/^error: /, ""));
    }
    throw err;
  }
  return { options: cmd.opts(), args: cmd.args };
}

/** docker's argument-count checks ("requires at least 1 argument."). */
export function requireArgs(
  verb: string,
  args: string[],
  rule: { min?: number; max?: number; exact?: number },
): void {
  const n = args.length;
  const plural = (k: number) => (k === 1 ? "argument" : "arguments");
  if (rule.exact !== undefined && n !== rule.exact) {
    throw new UsageError(verb, `"wharf ${verb}" requires exactly ${rule.exact} ${plural(rule.exact)}.`);
  }
  if (rule.min !== undefined && n < rule.min) {
    throw new UsageError(verb, `"wharf ${verb}" requires at least ${rule.min} ${plural(rule.min)}.`);
  }
  if (rule.max !== undefined && n > rule.max) {
    if (rule.max === 0) throw new UsageError(verb, `"wharf ${verb}" accepts no arguments.`);
    throw new UsageError(verb, `"wharf ${verb}" requires at most ${rule.max} ${plural(rule.max)}.`);
  }
}

/** pflag-style integer flag value. */
export function intFlag(verb: string, flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (!/^[-+]?\d+$/.test(s)) {
    throw new UsageError(verb, `invalid argument "${s}" for "${flag}" flag: strconv.ParseInt: parsing "${s}": invalid syntax`);
  }
  return Number(s);
}

/** Writes a line (adds the newline). */
export function println(out: Writable, line = ""): void {
  out.write(`${line}\n`);
}

/**
 * `forEachTarget` with up to 50 targets in flight at once, as the docker CLI
 * runs rm, stop, kill, pause and unpause (its `parallelOperation`). Lines
 * and errors are printed in the targets' order, each as soon as it and
 * those before it are done, so the output is the same as one at a time.
 */
export async function forEachTargetConcurrently(
  io: CliIo,
  targets: string[],
  fn: (target: string) => Promise<string | undefined>,
  limit = 50,
): Promise<number> {
  type Outcome = { ok: true; line: string | undefined } | { ok: false; error: unknown };
  const outcomes = targets.map(() => {
    let settle!: (o: Promise<Outcome>) => void;
    const promise = new Promise<Outcome>((r) => (settle = r));
    return { promise, settle };
  });
  // A target named twice waits for its first turn to finish, as it would one at a time (`rm a a`: the second finds none).
  const last = new Map<string, Promise<unknown>>();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < targets.length; i = next++) {
      const t = targets[i]!;
      const outcome = (last.get(t) ?? Promise.resolve()).then(() => fn(t)).then(
        (line): Outcome => ({ ok: true, line }),
        (error: unknown): Outcome => ({ ok: false, error }),
      );
      last.set(t, outcome);
      outcomes[i]!.settle(outcome);
      await outcome;
    }
  };
  for (let k = 0; k < Math.min(limit, targets.length); k++) void worker();
  let i = 0;
  return forEachTarget(io, targets, async () => {
    const o = await outcomes[i++]!.promise;
    if (!o.ok) throw o.error;
    return o.line;
  });
}

/**
 * Runs `fn` for each target, printing per-target errors like the docker CLI
 * (`Error response from daemon: …`) and returning exit 1 if any failed.
 */
export async function forEachTarget(
  io: CliIo,
  targets: string[],
  fn: (target: string) => Promise<string | undefined>,
): Promise<number> {
  let failed = false;
  for (const t of targets) {
    try {
      const line = await fn(t);
      if (line !== undefined) println(io.stdout, line);
    } catch (err) {
      if (!(err instanceof Error) || isBug(err)) throw err;
      failed = true;
      println(io.stderr, describeError(err));
    }
  }
  return failed ? 1 : 0;
}


