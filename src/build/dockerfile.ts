/**
 * The Dockerfile as the builder sees it: a list of stages, each a `FROM`
 * followed by its instructions, plus the `ARG`s declared before the first
 * `FROM` (https://docs.docker.com/reference/dockerfile/).
 *
 * The parser (`parseDockerfile`) only reads the text: it joins continuation
 * lines, reads parser directives and heredocs, splits each instruction into
 * its flags and arguments, and checks the shape of each instruction. It does
 * no variable substitution: which variables are in scope is known only while
 * building, so the builder expands words with `expandWord` / `expandWords`
 * for the instructions where Docker does (ADD, COPY, ENV, EXPOSE, FROM,
 * LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG defaults, ONBUILD excluded),
 * and heredoc bodies with `expandRaw` (quotes in a body are not syntax).
 *
 * Errors: `DockerfileSyntaxError` (an `InvalidArgumentError`) that names the
 * line (and column where known), e.g. `Dockerfile:3: unknown instruction: RUNN`.
 */

/** Where an instruction came from, for error messages and `Step n/m : …` lines. */
export interface Source {
  /** 1-based line of the instruction's first line. */
  line: number;
  /** 1-based line of its last line (continuations and heredoc bodies included). */
  endLine: number;
  /**
   * The instruction as Docker's classic builder prints it in `Step n/m : …`:
   * continuation lines joined (the backslash-newline removed), the keyword
   * upper-cased, surrounding whitespace trimmed; heredoc bodies are not
   * included. (Docker itself prints the keyword as written.)
   */
  text: string;
}

/** A heredoc attached to RUN / COPY / ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`). */
export interface Heredoc {
  /** The delimiter word as written after `<<` without quotes or `-` (`EOF`). */
  name: string;
  /** The body lines joined with "\n", with a trailing "\n"; `<<-` strips leading tabs. */
  content: string;
  /**
   * False when any part of the delimiter was quoted: no variable expansion in
   * the body. When true, expand with `expandRaw`, not `expandWord`.
   */
  expand: boolean;
  /** `<<-`: leading tabs were stripped. */
  chomp: boolean;
}

/** `CMD`, `ENTRYPOINT`, `RUN`, `SHELL` and `HEALTHCHECK CMD` arguments. */
export type CommandForm =
  /** JSON array form: run as is, no shell. A JSON array holding non-strings is a syntax error, not shell form. */
  | { kind: "exec"; args: string[] }
  /** Shell form: the rest of the line, run by the stage's `SHELL` (default `/bin/sh -c`). */
  | { kind: "shell"; command: string };

export interface KeyValue {
  key: string;
  /** Raw: quotes and `$VAR` still in place; the builder runs `expandWord` on it. */
  value: string;
}

interface Base {
  source: Source;
  /**
   * `--name=value` flags before the arguments (`--from=build`, `--chown=1:1`,
   * `--platform=…`, `--interval=5s`), name without the dashes. A flag without
   * `=value` maps to "true". Unknown flags for an instruction are a syntax error.
   */
  flags: Record<string, string>;
}

export interface FromInstruction extends Base {
  keyword: "FROM";
  /** Raw image reference (may hold `$ARG`s declared before the first FROM), or `scratch`. */
  image: string;
  /** `AS name`, lower-cased as Docker does. */
  stageName?: string;
}
export interface RunInstruction extends Base {
  /** No flags: `--mount`, `--network`, `--security` are refused as unknown. */
  keyword: "RUN";
  command: CommandForm;
  heredocs: Heredoc[];
}
export interface CmdInstruction extends Base {
  keyword: "CMD" | "ENTRYPOINT";
  command: CommandForm;
}
export interface ShellInstruction extends Base {
  keyword: "SHELL";
  /** Must be JSON form; a syntax error otherwise. */
  args: string[];
}
export interface KeyValueInstruction extends Base {
  /** `ENV k v`, `ENV k=v …`, `LABEL k=v …` (both ENV forms become pairs). */
  keyword: "ENV" | "LABEL";
  pairs: KeyValue[];
}
export interface ArgInstruction extends Base {
  keyword: "ARG";
  /** `ARG a b=c`: one entry per name; `defaultValue` raw (unexpanded) when given. */
  args: Array<{ name: string; defaultValue?: string }>;
}
export interface WordsInstruction extends Base {
  /**
   * Raw words: EXPOSE `80/tcp 443`; VOLUME (JSON array or space-separated);
   * WORKDIR, USER, STOPSIGNAL and MAINTAINER have exactly one (the rest of
   * the line, trimmed).
   */
  keyword: "EXPOSE" | "VOLUME" | "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER";
  words: string[];
}
export interface CopyInstruction extends Base {
  /** Flags: COPY `--from`, `--chown`, `--chmod`, `--link`; ADD `--chown`, `--chmod`, `--checksum`, `--keep-git-dir`, `--link`. */
  keyword: "COPY" | "ADD";
  /**
   * Raw sources (JSON form or space-separated); at least one. A heredoc
   * source (`<<EOF`) is named by its delimiter (`EOF`) and listed in
   * `heredocs`; look a source up there before treating it as a path.
   */
  sources: string[];
  /** Raw destination (the last word). */
  dest: string;
  heredocs: Heredoc[];
}
export interface HealthcheckInstruction extends Base {
  /** Flags: `--interval`, `--timeout`, `--start-period`, `--start-interval`, `--retries`. */
  keyword: "HEALTHCHECK";
  /** `HEALTHCHECK NONE` → null. */
  command: CommandForm | null;
}
export interface OnbuildInstruction extends Base {
  keyword: "ONBUILD";
  /**
   * The trigger as written (`RUN echo hi`), stored in the image's `OnBuild`
   * and parsed again by a child build; a heredoc trigger carries its bodies
   * and delimiters. Checked when parsed, like any instruction.
   */
  trigger: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | ShellInstruction
  | KeyValueInstruction
  | ArgInstruction
  | WordsInstruction
  | CopyInstruction
  | HealthcheckInstruction
  | OnbuildInstruction;

export interface Stage {
  from: FromInstruction;
  /** The instructions after `FROM`, in order. */
  instructions: Instruction[];
}

export interface Dockerfile {
  /** `# escape=` directive: "\\" (default) or "`". */
  escapeChar: "\\" | "`";
  /** `# syntax=` directive when present (recorded; Wharf always uses its own frontend). */
  syntax?: string;
  /** `ARG`s before the first FROM: usable only in FROM lines (and re-declared inside a stage). */
  globalArgs: ArgInstruction[];
  stages: Stage[];
}
