import { InvalidArgumentError } from "../lib/errors.js";
import { parseDuration } from "../lib/go-duration.js";
import type {
  ArgInstruction,
  CommandForm,
  CopyInstruction,
  Dockerfile,
  FromInstruction,
  Heredoc,
  Instruction,
  KeyValue,
  Source,
  Stage,
} from "./dockerfile.js";
import { lexShell } from "./shell-words.js";

/**
 * Reads a Dockerfile into the shape of `./dockerfile.ts`, following the
 * Dockerfile reference (https://docs.docker.com/reference/dockerfile/) and,
 * where the reference is silent, what BuildKit's parser
 * (`frontend/dockerfile/parser`, `instructions`) accepts and rejects:
 *
 *   physical lines → parser directives (only at the very top) → comments and
 *   blank lines dropped → continuation lines joined → keyword, `--flags`,
 *   arguments → heredoc bodies read after the line → stages assembled.
 */

/** A malformed Dockerfile: the message starts with `file:line[:column]: `. */
export class DockerfileSyntaxError extends InvalidArgumentError {
  readonly fileName: string;
  /** 1-based; absent for whole-file errors ("file with no instructions"). */
  readonly line: number | undefined;
  /** 1-based, where the error points at a specific word (a flag, a stage name). */
  readonly column: number | undefined;
  /** The message without the location. */
  readonly reason: string;

  constructor(reason: string, at: { fileName: string; line?: number; column?: number }) {
    let where = at.fileName;
    if (at.line !== undefined) where += `:${at.line}`;
    if (at.line !== undefined && at.column !== undefined) where += `:${at.column}`;
    super(`${where}: ${reason}`);
    this.fileName = at.fileName;
    this.line = at.line;
    this.column = at.column;
    this.reason = reason;
  }
}

/**
 * Parse a Dockerfile. Pure: no I/O, no variable expansion (see
 * `expandWord`). Throws `DockerfileSyntaxError` for anything Docker would
 * refuse to build; `fileName` only labels the messages.
 */
export function parseDockerfile(text: string, fileName = "Dockerfile"): Dockerfile {
  return new Parser(text, fileName).parse();
}

type Keyword = Instruction["keyword"];
const keywords: ReadonlySet<string> = new Set<Keyword>([
  "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
  "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
]);
const isKeyword = (word: string): word is Keyword => keywords.has(word);

/** Flags each instruction takes; a bool flag may be given bare (`--link`). Everything else is refused. */
const flagSpecs: Partial<Record<Keyword, Record<string, "string" | "bool">>> = {
  FROM: { platform: "string" },
  COPY: { from: "string", chown: "string", chmod: "string", link: "bool" },
  ADD: { chown: "string", chmod: "string", checksum: "string", "keep-git-dir": "bool", link: "bool" },
  HEALTHCHECK: {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  },
};

/** `# syntax=…` and `# escape=…`; `check` is BuildKit's lint directive, known so it does not end the directives. */
const knownDirectives = new Set(["syntax", "escape", "check"]);
const directivePattern = /^#[ \t\f]*([a-zA-Z][a-zA-Z0-9]*)[ \t\f]*=[ \t\f]*(.+?)[ \t\f]*$/;
/** The whitespace Go's parser splits on (`[\t\v\f\r ]`), narrower than `\s`. */
const wordPattern = /[^\t\v\f\r ]+/g;
const heredocPattern = /^(\d*)<<(-?)\s*([^<]*)$/;
const stageNamePattern = /^[a-z][a-z0-9-_.]*$/;
const minimumHealthDuration = 1e6;

/** Where a piece of the joined instruction text came from, to point errors at the physical line. */
interface Segment {
  offset: number;
  line: number;
  column: number;
}

/** One instruction's text with its continuation lines joined. */
interface LogicalLine {
  text: string;
  segments: Segment[];
  line: number;
}

interface RawFlag {
  /** As written after quote removal, `--` included. */
  word: string;
  offset: number;
}

/** An instruction split into keyword, flags and arguments; offsets index `LogicalLine.text`. */
interface Head {
  /** The keyword as written. */
  name: string;
  keyword: string;
  flags: RawFlag[];
  /** Trimmed. */
  args: string;
  argsOffset: number;
}

interface Word {
  word: string;
  offset: number;
}

class Parser {
  readonly #fileName: string;
  readonly #lines: string[];
  /** Index of the next physical line to read. */
  #next = 0;
  #escapeChar: "\\" | "`" = "\\";
  #continuation = /\\[ \t]*$/;
  #syntax: string | undefined;
  #directivesDone = false;
  readonly #directivesSeen = new Set<string>();

  constructor(text: string, fileName: string) {
    this.#fileName = fileName;
    const lines = text.replace(/^\uFEFF/, "").split("\n");
    if (lines.at(-1) === "") lines.pop();
    // Like Go's line scanner: a CR before the LF belongs to the line break.
    this.#lines = lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  }

  parse(): Dockerfile {
    const instructions: Instruction[] = [];
    while (this.#next < this.#lines.length) {
      const logical = this.#readLogicalLine();
      if (logical) instructions.push(this.#instruction(logical));
    }
    if (instructions.length === 0) throw this.#fileError("file with no instructions");

    const globalArgs: ArgInstruction[] = [];
    const stages: Stage[] = [];
    const stageNames = new Set<string>();
    for (const ins of instructions) {
      if (ins.keyword === "FROM") {
        if (ins.stageName !== undefined) {
          if (stageNames.has(ins.stageName)) {
            throw this.#lineError(`duplicate stage name ${JSON.stringify(ins.stageName)}`, ins.source.line);
          }
          stageNames.add(ins.stageName);
        }
        stages.push({ from: ins, instructions: [] });
        continue;
      }
      const stage = stages.at(-1);
      if (stage) {
        stage.instructions.push(ins);
      } else if (ins.keyword === "ARG") {
        globalArgs.push(ins);
      } else {
        throw this.#lineError(`no build stage in current context (${ins.keyword} before the first FROM)`, ins.source.line);
      }
    }
    if (stages.length === 0) throw this.#fileError("dockerfile contains no stages to build (no FROM instruction)");

    const result: Dockerfile = { escapeChar: this.#escapeChar, globalArgs, stages };
    if (this.#syntax !== undefined) result.syntax = this.#syntax;
    return result;
  }

  // ---- lines ----

  #readLogicalLine(): LogicalLine | undefined {
    const index = this.#next++;
    const raw = this.#lines[index]!;
    const first = trimLeft(raw);
    this.#directive(first, index + 1);
    if (first === "" || first.startsWith("#")) return undefined;

    let { text, more } = this.#trimContinuation(first);
    const segments: Segment[] = [{ offset: 0, line: index + 1, column: raw.length - first.length + 1 }];
    while (more && this.#next < this.#lines.length) {
      const i = this.#next++;
      const line = this.#lines[i]!;
      // Comment and blank lines inside a continuation are dropped, the continuation goes on.
      const left = trimLeft(line);
      if (left === "" || left.startsWith("#")) continue;
      const piece = this.#trimContinuation(line);
      segments.push({ offset: text.length, line: i + 1, column: 1 });
      text += piece.text;
      more = piece.more;
    }
    if (text.trim() === "") return undefined;
    return { text, segments, line: index + 1 };
  }

  /** Directives count only until the first line that is not one (comment, blank or instruction). */
  #directive(line: string, lineNumber: number): void {
    if (this.#directivesDone) return;
    const m = directivePattern.exec(line);
    const key = m ? m[1]!.toLowerCase() : "";
    if (!knownDirectives.has(key)) {
      this.#directivesDone = true;
      return;
    }
    if (this.#directivesSeen.has(key)) throw this.#lineError(`only one ${key} parser directive can be used`, lineNumber);
    this.#directivesSeen.add(key);
    const value = m![2]!;
    if (key === "escape") {
      if (value !== "\\" && value !== "`") {
        throw this.#lineError(`invalid escape token '${value}' does not match \` or \\`, lineNumber);
      }
      this.#escapeChar = value;
      this.#continuation = value === "\\" ? /\\[ \t]*$/ : /`[ \t]*$/;
    } else if (key === "syntax") {
      this.#syntax = value;
    }
  }

  /** BuildKit tolerates blanks after the escape character that ends a line. */
  #trimContinuation(line: string): { text: string; more: boolean } {
    const m = this.#continuation.exec(line);
    return m ? { text: line.slice(0, m.index), more: true } : { text: line, more: false };
  }

  // ---- instructions ----

  #instruction(logical: LogicalLine): Instruction {
    const head = splitHead(logical.text, 0);
    if (!isKeyword(head.keyword)) throw this.#lineError(`unknown instruction: ${head.keyword}`, logical.line);

    // ONBUILD RUN <<EOF has a body too; what matters is the trigger's keyword.
    const target = head.keyword === "ONBUILD" && head.args !== "" ? splitHead(logical.text, head.argsOffset) : head;
    let heredocs: Heredoc[] = [];
    if (
      (target.keyword === "RUN" || target.keyword === "COPY" || target.keyword === "ADD") &&
      readJsonArray(target.args) === undefined &&
      logical.text.includes("<<")
    ) {
      heredocs = this.#readHeredocs(logical);
    }

    const trimmed = logical.text.trim();
    const source: Source = {
      line: logical.line,
      endLine: this.#next,
      text: head.keyword + trimmed.slice(head.name.length),
    };
    return this.#build(head, logical, heredocs, source);
  }

  #readHeredocs(logical: LogicalLine): Heredoc[] {
    const heredocs: Heredoc[] = [];
    for (const word of heredocWords(logical.text)) {
      const doc = parseHeredocWord(word);
      if (!doc) continue;
      const body: string[] = [];
      let terminated = false;
      while (this.#next < this.#lines.length) {
        const line = this.#lines[this.#next++]!;
        const unindented = doc.chomp ? line.replace(/^\t+/, "") : line;
        if (unindented === doc.name) {
          terminated = true;
          break;
        }
        body.push(unindented);
      }
      if (!terminated) throw this.#lineError(`unterminated heredoc ${JSON.stringify(doc.name)}`, logical.line);
      heredocs.push({ ...doc, content: body.map((l) => l + "\n").join("") });
    }
    return heredocs;
  }

  #build(head: Head, logical: LogicalLine, heredocs: Heredoc[], source: Source): Instruction {
    const keyword = head.keyword as Keyword;
    const flags = this.#flags(keyword, head.flags, logical);
    const { args, argsOffset } = head;
    const fail = (reason: string, offset?: number): never => {
      throw this.#error(reason, logical, offset);
    };
    const base = { source, flags };

    switch (keyword) {
      case "FROM": {
        const words = splitWords(args, argsOffset);
        const from: FromInstruction = { keyword, ...base, image: words[0]?.word ?? "" };
        if (words.length === 3 && words[1]!.word.toLowerCase() === "as") {
          const name = words[2]!.word.toLowerCase();
          if (!stageNamePattern.test(name)) {
            fail(
              `invalid name for build stage: ${JSON.stringify(words[2]!.word)}, name can't start with a number or contain symbols`,
              words[2]!.offset,
            );
          }
          from.stageName = name;
        } else if (words.length !== 1) {
          fail("FROM requires either one or three arguments");
        }
        return from;
      }
      case "RUN": {
        const command = this.#command(args, argsOffset, logical);
        if (args === "" || (command.kind === "exec" && command.args.length === 0)) {
          fail("RUN requires at least one argument");
        }
        return { keyword, ...base, command, heredocs };
      }
      case "CMD":
      case "ENTRYPOINT":
        // `CMD []` is allowed: it clears what the base image set.
        if (args === "") fail(`${keyword} requires at least one argument`);
        return { keyword, ...base, command: this.#command(args, argsOffset, logical) };
      case "SHELL": {
        if (args === "") fail("SHELL requires at least one argument");
        const json = this.#jsonStrings(args, argsOffset, logical);
        if (json === undefined) fail("SHELL requires the arguments to be in JSON form", argsOffset);
        if (json!.length === 0) fail("SHELL requires at least one argument");
        return { keyword, ...base, args: json! };
      }
      case "ENV":
      case "LABEL":
        return { keyword, ...base, pairs: this.#pairs(keyword, args, fail) };
      case "ARG": {
        const words = parseWords(args, this.#escapeChar);
        if (words.length === 0) fail("ARG requires at least one argument");
        const list = words.map((word) => {
          const eq = word.indexOf("=");
          const name = eq < 0 ? word : word.slice(0, eq);
          if (name === "") fail("ARG names can not be blank");
          return eq < 0 ? { name } : { name, defaultValue: word.slice(eq + 1) };
        });
        return { keyword, ...base, args: list };
      }
      case "EXPOSE": {
        const words = splitWords(args, argsOffset).map((w) => w.word);
        if (words.length === 0) fail("EXPOSE requires at least one argument");
        return { keyword, ...base, words };
      }
      case "VOLUME": {
        const words = this.#jsonStrings(args, argsOffset, logical) ?? splitWords(args, argsOffset).map((w) => w.word);
        if (words.length === 0) fail("VOLUME requires at least one argument");
        if (words.some((w) => w.trim() === "")) fail("VOLUME specified can not be an empty string");
        return { keyword, ...base, words };
      }
      case "WORKDIR":
      case "USER":
      case "STOPSIGNAL":
      case "MAINTAINER":
        if (args === "") fail(`${keyword} requires exactly one argument`);
        return { keyword, ...base, words: [args] };
      case "COPY":
      case "ADD":
        return this.#copy(keyword, args, argsOffset, logical, base, heredocs);
      case "HEALTHCHECK": {
        if (args === "") fail("HEALTHCHECK requires at least one argument");
        this.#checkHealthFlags(head.flags, flags, logical);
        const m = /^(\S+)\s*/.exec(args)!;
        const type = m[1]!.toUpperCase();
        const rest = args.slice(m[0].length);
        if (type === "NONE") {
          if (rest !== "") fail("HEALTHCHECK NONE takes no arguments");
          return { keyword, ...base, command: null };
        }
        if (type !== "CMD") fail(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`, argsOffset);
        const command = this.#command(rest, argsOffset + m[0].length, logical);
        if (rest === "" || (command.kind === "exec" && command.args.length === 0)) {
          fail("Missing command after HEALTHCHECK CMD");
        }
        return { keyword, ...base, command };
      }
      case "ONBUILD": {
        if (args === "") fail("ONBUILD requires at least one argument");
        const inner = splitHead(logical.text, argsOffset);
        if (inner.keyword === "ONBUILD") fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", argsOffset);
        if (inner.keyword === "FROM" || inner.keyword === "MAINTAINER") {
          fail(`${inner.keyword} isn't allowed as an ONBUILD trigger`, argsOffset);
        }
        if (!isKeyword(inner.keyword)) fail(`unknown instruction: ${inner.keyword}`, argsOffset);
        // Checked now so the mistake is reported here, not in every image built FROM this one.
        this.#build(inner, logical, heredocs, source);
        // The child build parses the trigger again, bodies and delimiters included.
        const trigger = logical.text.slice(argsOffset).trim() + heredocs.map((h) => `\n${h.content}${h.name}`).join("");
        return { keyword, ...base, trigger };
      }
    }
  }

  #copy(
    keyword: "COPY" | "ADD",
    args: string,
    argsOffset: number,
    logical: LogicalLine,
    base: Pick<CopyInstruction, "source" | "flags">,
    heredocs: Heredoc[],
  ): CopyInstruction {
    const json = this.#jsonStrings(args, argsOffset, logical);
    const words = json ?? splitWords(args, argsOffset).map((w) => w.word);
    if (words.length < 2) {
      throw this.#error(
        words.length === 0
          ? `${keyword} requires at least two arguments`
          : `${keyword} requires at least two arguments, but only one was provided. Destination could not be determined`,
        logical,
      );
    }
    const dest = words.at(-1)!;
    if (json === undefined && parseHeredocWord(dest)) {
      throw this.#error(`${keyword} cannot accept a heredoc as a destination`, logical);
    }
    // A heredoc source is named by its delimiter; its body is in `heredocs`.
    const sources = words.slice(0, -1).map((w) => (json === undefined ? (parseHeredocWord(w)?.name ?? w) : w));
    return { keyword, ...base, sources, dest, heredocs: json === undefined ? heredocs : [] };
  }

  /** ENV and LABEL: `key value…` (one pair, the rest of the line) or `k=v k2="v 2"` (quotes kept). */
  #pairs(keyword: "ENV" | "LABEL", args: string, fail: (reason: string) => never): KeyValue[] {
    const words = parseWords(args, this.#escapeChar);
    if (words.length === 0) fail(`${keyword} requires at least one argument`);
    if (!words[0]!.includes("=")) {
      const m = /^([^\t\v\f\r ]+)[\t\v\f\r ]+([\s\S]*)$/.exec(args);
      if (!m) fail(`${keyword} must have two arguments`);
      return [{ key: m![1]!, value: m![2]! }];
    }
    return words.map((word) => {
      const eq = word.indexOf("=");
      if (eq < 0) fail(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
      if (eq === 0) fail(`${keyword} names can not be blank`);
      return { key: word.slice(0, eq), value: word.slice(eq + 1) };
    });
  }

  #command(args: string, argsOffset: number, logical: LogicalLine): CommandForm {
    const json = this.#jsonStrings(args, argsOffset, logical);
    return json === undefined ? { kind: "shell", command: args } : { kind: "exec", args: json };
  }

  /**
   * The exec-form array, or undefined when `args` is not a JSON array (then
   * it is shell form, as in Docker). A JSON array holding anything but
   * strings is an error rather than shell form, as in BuildKit.
   */
  #jsonStrings(args: string, argsOffset: number, logical: LogicalLine): string[] | undefined {
    const values = readJsonArray(args);
    if (values === undefined) return undefined;
    if (!values.every((v): v is string => typeof v === "string")) {
      throw this.#error("when using JSON array syntax, arrays must be comprised of strings only", logical, argsOffset);
    }
    return values;
  }

  #flags(keyword: Keyword, raw: RawFlag[], logical: LogicalLine): Record<string, string> {
    const spec = flagSpecs[keyword] ?? {};
    const flags: Record<string, string> = {};
    for (const { word, offset } of raw) {
      const body = word.slice(2);
      const eq = body.indexOf("=");
      const name = eq < 0 ? body : body.slice(0, eq);
      const value = eq < 0 ? undefined : body.slice(eq + 1);
      const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
      if (kind === undefined) {
        const known = Object.keys(spec).map((n) => `--${n}`);
        const hint = known.length === 0 ? `${keyword} takes no flags` : `${keyword} takes ${known.join(", ")}`;
        throw this.#error(`unknown flag: --${name} (${hint})`, logical, offset);
      }
      if (Object.hasOwn(flags, name)) throw this.#error(`duplicate flag specified: --${name}`, logical, offset);
      if (kind === "bool") {
        if (value === undefined) {
          flags[name] = "true";
        } else if (/^(true|false)$/i.test(value)) {
          flags[name] = value.toLowerCase();
        } else if (value === "") {
          throw this.#error(`missing a value on flag: --${name}`, logical, offset);
        } else {
          throw this.#error(`expecting boolean value for flag --${name}, not: ${value}`, logical, offset);
        }
      } else {
        if (value === undefined) throw this.#error(`missing a value on flag: --${name}`, logical, offset);
        flags[name] = value;
      }
    }
    return flags;
  }

  #checkHealthFlags(raw: RawFlag[], flags: Record<string, string>, logical: LogicalLine): void {
    const offsetOf = (name: string): number | undefined =>
      raw.find((f) => f.word === `--${name}` || f.word.startsWith(`--${name}=`))?.offset;
    for (const name of ["interval", "timeout", "start-period", "start-interval"]) {
      const value = flags[name];
      if (value === undefined || value === "") continue;
      let nanos: number;
      try {
        nanos = parseDuration(value);
      } catch (err) {
        if (!(err instanceof InvalidArgumentError)) throw err;
        throw this.#error(`invalid duration ${JSON.stringify(value)} for --${name}`, logical, offsetOf(name));
      }
      // 0 means "inherit the default"; anything else below 1ms is a mistake.
      if (nanos !== 0 && nanos < minimumHealthDuration) {
        throw this.#error(`--${name} cannot be less than 1ms (got ${JSON.stringify(value)})`, logical, offsetOf(name));
      }
    }
    const retries = flags["retries"];
    if (retries !== undefined && retries !== "") {
      const n = /^[+-]?\d+$/.test(retries) ? Number(retries) : Number.NaN;
      if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1) {
        throw this.#error(`--retries must be an integer, not ${JSON.stringify(retries)}`, logical, offsetOf("retries"));
      }
      if (n < 0) throw this.#error(`--retries cannot be negative (${n})`, logical, offsetOf("retries"));
    }
  }

  // ---- errors ----

  #error(reason: string, logical: LogicalLine, offset?: number): DockerfileSyntaxError {
    if (offset === undefined) return this.#lineError(reason, logical.line);
    let seg = logical.segments[0]!;
    for (const s of logical.segments) if (s.offset <= offset) seg = s;
    return new DockerfileSyntaxError(reason, {
      fileName: this.#fileName,
      line: seg.line,
      column: seg.column + offset - seg.offset,
    });
  }

  #lineError(reason: string, line: number): DockerfileSyntaxError {
    return new DockerfileSyntaxError(reason, { fileName: this.#fileName, line });
  }

  #fileError(reason: string): DockerfileSyntaxError {
    return new DockerfileSyntaxError(reason, { fileName: this.#fileName });
  }
}

function trimLeft(s: string): string {
  return s.replace(/^\s+/, "");
}

const isBlank = (ch: string): boolean => /^\s$/.test(ch);

/**
 * Keyword, then the leading `--flags` (quotes removed, `\` escapes, `--`
 * ends them), then the trimmed arguments, reading `text` from `from`.
 */
function splitHead(text: string, from: number): Head {
  let pos = from;
  while (pos < text.length && isBlank(text[pos]!)) pos++;
  const start = pos;
  while (pos < text.length && !/[\t\v\f\r ]/.test(text[pos]!)) pos++;
  const name = text.slice(start, pos);
  const flags: RawFlag[] = [];
  for (;;) {
    while (pos < text.length && isBlank(text[pos]!)) pos++;
    if (!text.startsWith("--", pos)) break;
    const offset = pos;
    let word = "";
    let quote: string | undefined;
    let quoted = false;
    for (; pos < text.length; pos++) {
      const ch = text[pos]!;
      if (quote === undefined && isBlank(ch)) break;
      if (quote === undefined && (ch === "'" || ch === '"')) {
        quote = ch;
        quoted = true;
      } else if (ch === quote) {
        quote = undefined;
      } else if (ch === "\\") {
        if (pos + 1 < text.length) word += text[++pos];
      } else {
        word += ch;
      }
    }
    if (word === "--") break;
    if (quoted || word !== "") flags.push({ word, offset });
  }
  const rest = text.slice(pos);
  const args = rest.trim();
  return {
    name,
    keyword: name.toUpperCase(),
    flags,
    args,
    argsOffset: pos + (rest.length - rest.trimStart().length),
  };
}

/** Whitespace-separated words with their offsets; quotes mean nothing here (FROM, EXPOSE, COPY). */
function splitWords(args: string, argsOffset: number): Word[] {
  return Array.from(args.matchAll(wordPattern), (m) => ({ word: m[0], offset: argsOffset + m.index! }));
}

/**
 * Words for ENV, LABEL and ARG: split on whitespace outside quotes; quotes
 * and escapes stay in the words for `expandWord` to remove later.
 */
function parseWords(rest: string, escapeChar: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let word = "";
  let inWord = false;
  let quoted = false;
  let quote: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (quote === undefined) {
      if (isBlank(ch)) {
        if (inWord && (quoted || word !== "")) words.push(word);
        word = "";
        inWord = false;
        quoted = false;
        continue;
      }
      inWord = true;
      if (ch === "'" || ch === '"') {
        quote = ch;
        quoted = true;
      } else if (ch === escapeChar) {
        // An escape at the very end escapes nothing; otherwise it is kept with what it escapes.
        if (i + 1 === chars.length) continue;
        word += ch;
        i++;
        word += chars[i]!;
        continue;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      quote = undefined;
    } else if (ch === escapeChar && quote !== "'") {
      if (i + 1 === chars.length) continue;
      word += ch;
      i++;
      word += chars[i]!;
      continue;
    }
    word += ch;
  }
  if (inWord && (quoted || word !== "")) words.push(word);
  return words;
}

/**
 * The JSON array at the start of `args`, or undefined when there is none.
 * Like Go's `json.Decoder` in Docker's parser, whatever follows the closing
 * bracket is ignored.
 */
function readJsonArray(args: string): unknown[] | undefined {
  const text = args.trimStart();
  if (!text.startsWith("[")) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
    } else if (ch === "[" || ch === "{") {
      depth++;
    } else if ((ch === "]" || ch === "}") && --depth === 0) {
      try {
        const value: unknown = JSON.parse(text.slice(0, i + 1));
        return Array.isArray(value) ? value : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The words of an instruction line, quotes and escapes kept, the way heredoc markers are looked for. */
function heredocWords(line: string): string[] {
  try {
    return lexShell(line, () => undefined, { rawQuotes: true, rawEscapes: true, skipUnset: true, heredocs: true }).words;
  } catch (err) {
    // An unbalanced quote: Docker then sees no heredoc on the line.
    if (err instanceof InvalidArgumentError) return [];
    throw err;
  }
}

/**
 * `<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF` → the heredoc it opens. Quoting any
 * part of the delimiter turns expansion off, as in sh: BuildKit finds out by
 * lexing it with and without quote removal and comparing the quote counts.
 */
function parseHeredocWord(word: string): Omit<Heredoc, "content"> | undefined {
  const m = heredocPattern.exec(word);
  if (!m || m[3] === "") return undefined;
  try {
    const plain = lexShell(m[3]!, () => undefined, { skipUnset: true }).words;
    if (plain.length !== 1) return undefined;
    const raw = lexShell(m[3]!, () => undefined, { skipUnset: true, rawQuotes: true }).words;
    const quotes = (s: string): number => s.replace(/[^'"]/g, "").length;
    return { name: plain[0]!, expand: quotes(plain[0]!) === quotes(raw[0] ?? ""), chomp: m[2] === "-" };
  } catch (err) {
    if (err instanceof InvalidArgumentError) return undefined;
    throw err;
  }
}
