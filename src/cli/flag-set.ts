/**
 * A verb's flags, declared with commander's `.option()` arguments, and a
 * small parser for the argv shapes a script or a benchmark sends a hundred
 * times a second (`run -d --name x -e A=1 image cmd`, `rm -f id…`).
 *
 * Loading commander and building its ~90 `run` options costs ~15 ms of CPU
 * per CLI call, more than the rest of the client together. So the fast
 * parser goes first; it produces exactly what commander's `opts()`/`args`
 * would (same attribute names, defaults, value order), and it gives up —
 * returning undefined — on anything it is not sure about: `--help`, an
 * unknown flag, `--`, `--bool=value`, a missing value. Then the same
 * declarations are replayed into a commander `Command`, which parses,
 * prints help and words the errors as before. `flag-set.test.ts` checks the
 * two agree.
 */
import type { Command } from "commander";

type ParseFn = (value: string, previous: unknown) => unknown;

/** One `.option()` call, plus what the fast parser derives from its flags (as commander does). */
interface FlagSpec {
  /** The call's arguments, replayed verbatim into commander. */
  call: [flags: string, description: string | undefined, parseOrDefault: unknown, defaultValue: unknown];
  short: string | undefined;
  long: string | undefined;
  takesValue: boolean;
  negate: boolean;
  attribute: string;
  parse: ParseFn | undefined;
  defaultValue: unknown;
}

/** commander's `camelcase`: `env-file` → `envFile`. */
function camelcase(s: string): string {
  return s.split("-").reduce((acc, word) => acc + word[0]!.toUpperCase() + word.slice(1));
}

export interface ParsedFlags {
  options: Record<string, unknown>;
  args: string[];
}

export class FlagSet {
  readonly #name: string;
  readonly #usage: string;
  readonly #description: string;
  readonly #writeOut: (s: string) => void;
  readonly #specs: FlagSpec[] = [];
  readonly #byShort = new Map<string, FlagSpec>();
  readonly #byLong = new Map<string, FlagSpec>();
  /** False once a declaration uses something the fast parser does not model (`[optional]`, `...`). */
  #fast = true;
  #passThrough = false;

  constructor(name: string, usage: string, description: string, writeOut: (s: string) => void) {
    this.#name = name;
    this.#usage = usage;
    this.#description = description;
    this.#writeOut = writeOut;
  }

  name(): string {
    return this.#name;
  }

  /** Same arguments as commander's: `(flags, description, default)` or `(flags, description, parse, default)`. */
  option(flags: string, description?: string, parseOrDefault?: unknown, defaultValue?: unknown): this {
    // commander's splitOptionFlags: an optional short flag, then an optional long one.
    const parts = flags.split(/[ |,]+/);
    const short = /^-[^-]$/.test(parts[0] ?? "") ? parts.shift() : undefined;
    const long = /^--[^-]/.test(parts[0] ?? "") ? parts.shift() : undefined;
    if (flags.includes("[") || flags.includes("...") || (short === undefined && long === undefined)) this.#fast = false;
    const negate = long?.startsWith("--no-") ?? false;
    const base = long ? long.slice(2) : (short ?? "-").slice(1);
    const spec: FlagSpec = {
      call: [flags, description, parseOrDefault, defaultValue],
      short,
      long,
      takesValue: flags.includes("<"),
      negate,
      attribute: camelcase(negate ? base.slice(3) : base),
      parse: typeof parseOrDefault === "function" ? (parseOrDefault as ParseFn) : undefined,
      defaultValue: typeof parseOrDefault === "function" ? defaultValue : parseOrDefault,
    };
    // A flag declared twice (it never is) is left to commander's rules.
    if ((short && this.#byShort.has(short)) || (long && this.#byLong.has(long))) this.#fast = false;
    this.#specs.push(spec);
    if (short) this.#byShort.set(short, spec);
    if (long) this.#byLong.set(long, spec);
    return this;
  }

  /** Options only before the first operand; the rest (the container's command) is passed through. */
  passThroughOptions(): this {
    this.#passThrough = true;
    return this;
  }

  /** The declared flags in declaration order, as commander's `Option`s would report them. */
  get flags(): ReadonlyArray<{ short?: string; long?: string; takesValue: boolean }> {
    return this.#specs.map((s) => ({ short: s.short, long: s.long, takesValue: s.takesValue }));
  }

  /**
   * The fast path: options and operands, exactly as commander's `opts()`
   * and `args` after `parse(argv, { from: "user" })`, or undefined when
   * commander has to decide (help, errors, rare spellings).
   */
  tryParse(argv: readonly string[]): ParsedFlags | undefined {
    if (!this.#fast) return undefined;
    const values: Record<string, unknown> = {};
    // Defaults, as commander's addOption stores them (in declaration order).
    const declared = new Set<string>();
    for (const s of this.#specs) {
      if (s.negate) {
        // `--no-foo` defaults foo to true unless a `--foo` was declared before it.
        if (!declared.has(`--${s.long!.slice(5)}`)) values[s.attribute] = s.defaultValue === undefined ? true : s.defaultValue;
      } else if (s.defaultValue !== undefined) {
        values[s.attribute] = s.defaultValue;
      }
      if (s.long) declared.add(s.long);
    }
    const set = (s: FlagSpec, raw: string | undefined): void => {
      let value: unknown = raw;
      // Like commander, the parser also sees a boolean's `undefined`.
      if (s.parse) value = s.parse(raw as string, values[s.attribute]);
      if (value === undefined || value === null) value = s.negate ? false : true;
      values[s.attribute] = value;
    };
    const args: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--") return undefined;
      if (a.length > 1 && a[0] === "-") {
        if (a[1] === "-") {
          const eq = a.indexOf("=");
          const s = this.#byLong.get(eq >= 0 ? a.slice(0, eq) : a);
          if (!s) return undefined;
          if (eq >= 0) {
            if (!s.takesValue) return undefined;
            set(s, a.slice(eq + 1));
          } else if (s.takesValue) {
            if (i + 1 >= argv.length) return undefined;
            set(s, argv[++i]);
          } else {
            set(s, undefined);
          }
          continue;
        }
        // `-x`, `-xvalue`, `-abc` (booleans, the last one may take a value).
        for (let j = 1; j < a.length; j++) {
          const s = this.#byShort.get(`-${a[j]}`);
          if (!s) return undefined;
          if (!s.takesValue) {
            set(s, undefined);
            continue;
          }
          if (j + 1 < a.length) set(s, a.slice(j + 1));
          else if (i + 1 < argv.length) set(s, argv[++i]);
          else return undefined;
          break;
        }
        continue;
      }
      args.push(a);
      if (this.#passThrough) {
        args.push(...argv.slice(i + 1));
        break;
      }
    }
    return { options: values, args };
  }

  /** The same flags as a commander `Command` (loads commander): help, errors, the spellings tryParse leaves alone. */
  toCommander(commander: typeof import("commander")): Command {
    const cmd = new commander.Command(this.#name)
      .usage(this.#usage)
      .description(this.#description)
      .helpOption("--help", "Print usage")
      .allowExcessArguments(true)
      .exitOverride()
      .configureOutput({
        writeOut: this.#writeOut,
        writeErr: () => {},
      });
    for (const { call } of this.#specs) {
      const [flags, description, parseOrDefault, defaultValue] = call;
      if (typeof parseOrDefault === "function") cmd.option(flags, description ?? "", parseOrDefault as ParseFn, defaultValue);
      else cmd.option(flags, description, parseOrDefault as string | boolean | string[] | undefined);
    }
    if (this.#passThrough) cmd.passThroughOptions();
    return cmd;
  }
}
