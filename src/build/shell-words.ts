import { InvalidArgumentError } from "../lib/errors.js";

/**
 * Variable substitution and word splitting for Dockerfile instructions, the
 * way Docker's builder does it
 * (https://docs.docker.com/reference/dockerfile/#environment-replacement;
 * behaviour of BuildKit's `frontend/dockerfile/shell` lexer):
 *
 *   `$VAR` `${VAR}`                 value, or "" when unset
 *   `${VAR:-w}` `${VAR-w}`          w when unset (`:`: or empty)
 *   `${VAR:+w}` `${VAR+w}`          w when set (`:`: and not empty), else ""
 *   `${VAR:?msg}` `${VAR?msg}`      error when unset (`:`: or empty)
 *   `${VAR#p}` `${VAR##p}`          strip shortest / longest prefix matching glob p
 *   `${VAR%p}` `${VAR%%p}`          strip shortest / longest suffix matching glob p
 *   `${VAR/p/r}` `${VAR//p/r}`      replace first / every match of glob p
 *
 * Single quotes are literal, double quotes still expand `$`, and the escape
 * character (`\`, or `` ` `` under `# escape=`` ` ``) makes the next
 * character literal. Quotes and escapes are removed from the result. This is
 * not a shell: no command substitution, no globbing of file names.
 *
 * Every failure is an `InvalidArgumentError` whose message names the word,
 * e.g. `failed to process "${X:?}": X: is not allowed to be unset`.
 */

/** Looks a variable up; `undefined` means unset (distinct from ""). */
export type EnvLookup = (name: string) => string | undefined;
export type EscapeChar = "\\" | "`";

/**
 * Expand one word: quotes removed, variables substituted, whitespace kept.
 * Used for ENV/LABEL values, WORKDIR, USER, FROM, … .
 */
export function expandWord(word: string, lookup: EnvLookup, escapeChar: EscapeChar = "\\"): string {
  return lexShell(word, lookup, { escapeChar }).word;
}

/**
 * Expand and split into words on unquoted whitespace; whitespace that a
 * variable's value brings in splits too (`$X` with X="a b" gives two words),
 * quoted whitespace does not. Empty words (`""`) are dropped, as Docker does.
 * Used for EXPOSE, VOLUME and COPY/ADD sources.
 */
export function expandWords(text: string, lookup: EnvLookup, escapeChar: EscapeChar = "\\"): string[] {
  return lexShell(text, lookup, { escapeChar }).words;
}

/**
 * Expand a heredoc body (a `Heredoc` whose `expand` is true): `$` forms are
 * substituted but quotes are ordinary characters, because the body is a
 * script or a file, not Dockerfile syntax. As in BuildKit, `\` still escapes
 * the next character (so `\$HOME` stays literal, and a lone `\n` loses its
 * backslash), whatever the `# escape=` directive says.
 */
export function expandRaw(text: string, lookup: EnvLookup): string {
  return lexShell(text, lookup, { skipQuotes: true }).word;
}

export interface LexOptions {
  escapeChar?: EscapeChar;
  /** Keep quote characters in the result (they still group words). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Leave a reference to an unset variable as written instead of "". */
  skipUnset?: boolean;
  /** Quotes are ordinary characters. */
  skipQuotes?: boolean;
  /** `<<` swallows the whitespace after it, so `<< EOF` stays one word (heredoc detection). */
  heredocs?: boolean;
}

export interface LexResult {
  /** The whole input, expanded, whitespace kept. */
  word: string;
  /** The input split on unquoted whitespace, expanded. */
  words: string[];
}

/** The lexer behind `expandWord` / `expandWords`, with the knobs the Dockerfile parser needs. */
export function lexShell(text: string, lookup: EnvLookup, options: LexOptions = {}): LexResult {
  try {
    return new Lexer(text, lookup, options).run();
  } catch (err) {
    if (err instanceof LexError) {
      throw new InvalidArgumentError(`failed to process ${JSON.stringify(text)}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Internal: carries the bare reason up to `lexShell`, which adds the word. */
class LexError extends Error {}

const isSpace = (ch: string): boolean => /^\s$/u.test(ch);
const isLetter = (ch: string): boolean => /^\p{L}$/u.test(ch);
const isDigit = (ch: string): boolean => /^\p{Nd}$/u.test(ch);
/** POSIX special parameters (`$@`, `$?`, …): a name of one character. */
const specialParams = new Set(["@", "*", "#", "?", "-", "$", "!", "0"]);

/** Accumulates words: characters that came from quotes or escapes never split. */
class Words {
  readonly #list: string[] = [];
  #word = "";
  #inWord = false;

  addChar(ch: string): void {
    if (!isSpace(ch)) {
      this.addRaw(ch);
    } else if (this.#inWord && this.#word !== "") {
      this.#list.push(this.#word);
      this.#word = "";
      this.#inWord = false;
    }
  }

  addRaw(s: string): void {
    this.#word += s;
    this.#inWord = true;
  }

  /** Unquoted text (a variable's value): its whitespace splits words. */
  addSplitting(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  finish(): string[] {
    if (this.#word !== "") {
      this.#list.push(this.#word);
      this.#word = "";
      this.#inWord = false;
    }
    return this.#list;
  }
}

class Lexer {
  readonly #chars: string[];
  #pos = 0;
  readonly #lookup: EnvLookup;
  readonly #escape: string;
  readonly #opts: LexOptions;
  #rawEscapes: boolean;

  constructor(text: string, lookup: EnvLookup, opts: LexOptions) {
    // Code points, so a name or a `?` never splits a surrogate pair.
    this.#chars = Array.from(text);
    this.#lookup = lookup;
    this.#escape = opts.escapeChar ?? "\\";
    this.#opts = opts;
    this.#rawEscapes = opts.rawEscapes ?? false;
  }

  run(): LexResult {
    return this.#until(undefined, this.#rawEscapes);
  }

  #peek(): string | undefined {
    return this.#chars[this.#pos];
  }

  #next(): string | undefined {
    return this.#chars[this.#pos++];
  }

  /**
   * Read up to `stop` (consumed) or the end of input. Inside `${…}` the
   * pattern operators keep their escapes so the glob can tell `\*` from `*`.
   */
  #until(stop: string | undefined, rawEscapes: boolean): { word: string; words: string[] } {
    const saved = this.#rawEscapes;
    this.#rawEscapes = rawEscapes;
    try {
      let result = "";
      const words = new Words();
      for (let ch = this.#peek(); ch !== undefined; ch = this.#peek()) {
        if (stop !== undefined && ch === stop) {
          this.#next();
          return { word: result, words: words.finish() };
        }
        if (ch === "$") {
          const value = this.#dollar();
          result += value;
          words.addSplitting(value);
        } else if (!this.#opts.skipQuotes && (ch === "'" || ch === '"')) {
          const value = ch === "'" ? this.#singleQuoted() : this.#doubleQuoted();
          result += value;
          words.addRaw(value);
        } else if (this.#opts.heredocs && ch === "<") {
          const value = this.#possibleHeredoc();
          result += value;
          words.addRaw(value);
        } else {
          this.#next();
          if (ch === this.#escape) {
            if (this.#rawEscapes) {
              words.addRaw(ch);
              result += ch;
            }
            const escaped = this.#next();
            // An escape at the very end escapes nothing and is dropped.
            if (escaped === undefined) break;
            words.addRaw(escaped);
            result += escaped;
          } else {
            words.addChar(ch);
            result += ch;
          }
        }
      }
      if (stop !== undefined) {
        throw new LexError(`unexpected end of statement while looking for matching ${stop}`);
      }
      return { word: result, words: words.finish() };
    } finally {
      this.#rawEscapes = saved;
    }
  }

  #singleQuoted(): string {
    const open = this.#next()!;
    let result = this.#opts.rawQuotes ? open : "";
    for (;;) {
      const ch = this.#next();
      if (ch === undefined) throw new LexError("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") return this.#opts.rawQuotes ? result + ch : result;
      result += ch;
    }
  }

  /** Like sh: `$` expands, and the escape character only escapes `"`, `$` and itself. */
  #doubleQuoted(): string {
    const open = this.#next()!;
    let result = this.#opts.rawQuotes ? open : "";
    for (;;) {
      const ch = this.#peek();
      if (ch === undefined) throw new LexError("unexpected end of statement while looking for matching double-quote");
      if (ch === '"') {
        this.#next();
        return this.#opts.rawQuotes ? result + ch : result;
      }
      if (ch === "$") {
        result += this.#dollar();
        continue;
      }
      this.#next();
      if (ch === this.#escape) {
        const after = this.#peek();
        if (after === undefined) continue;
        if (after === '"' || after === "$" || after === this.#escape) {
          if (this.#rawEscapes) result += ch;
          result += this.#next()!;
          continue;
        }
      }
      result += ch;
    }
  }

  #possibleHeredoc(): string {
    this.#next();
    if (this.#peek() !== "<") return "<";
    this.#next();
    let space = "";
    for (let ch = this.#peek(); ch === " " || ch === "\t"; ch = this.#peek()) {
      space += ch;
      this.#next();
    }
    return "<<" + space;
  }

  #name(): string {
    let name = "";
    for (let ch = this.#peek(); ch !== undefined; ch = this.#peek()) {
      if (name === "" && isDigit(ch)) {
        // Positional parameters: all the digits, nothing else.
        while (this.#peek() !== undefined && isDigit(this.#peek()!)) name += this.#next();
        return name;
      }
      if (name === "" && specialParams.has(ch)) return this.#next()!;
      if (!isLetter(ch) && !isDigit(ch) && ch !== "_") break;
      name += this.#next();
    }
    return name;
  }

  #dollar(): string {
    this.#next();
    if (this.#peek() !== "{") {
      const name = this.#name();
      if (name === "") return "$";
      const value = this.#lookup(name);
      if (value === undefined && this.#opts.skipUnset) return "$" + name;
      return value ?? "";
    }
    this.#next();
    const first = this.#peek();
    if (first === undefined) throw new LexError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") throw new LexError("syntax error: bad substitution");
    const name = this.#name();
    let op = this.#next();
    if (op === undefined) throw new LexError("syntax error: missing '}'");
    if (op === "}") {
      const value = this.#lookup(name);
      if (value === undefined && this.#opts.skipUnset) return "${" + name + "}";
      return value ?? "";
    }
    if (op === "/") return this.#replace(name);

    let modifier = op;
    // With ":", an empty value counts as unset.
    const emptyIsUnset = op === ":";
    if (emptyIsUnset) {
      const m = this.#next();
      if (m === undefined) throw new LexError("syntax error: missing '}'");
      modifier = m;
      op += m;
    }
    if (!["+", "-", "?", "#", "%"].includes(modifier)) {
      throw new LexError(`unsupported modifier (${op}) in substitution`);
    }
    const word = this.#argument(modifier === "#" || modifier === "%");
    const value = this.#lookup(name);
    if (value === undefined && this.#opts.skipUnset) return "${" + name + op + word + "}";
    const unset = value === undefined || (emptyIsUnset && value === "");
    switch (modifier) {
      case "-":
        return unset ? word : value!;
      case "+":
        return unset ? "" : word;
      case "?":
        if (value === undefined) throw new LexError(`${name}: ${word || "is not allowed to be unset"}`);
        if (unset) throw new LexError(`${name}: ${word || "is not allowed to be empty"}`);
        return value;
      default: {
        // `#`/`%` strip the shortest match, `##`/`%%` the longest.
        const greedy = word.startsWith(modifier);
        const pattern = greedy ? word.slice(1) : word;
        return modifier === "#" ? trimPrefix(value ?? "", pattern, greedy) : trimSuffix(value ?? "", pattern, greedy);
      }
    }
  }

  /** The word after a `${name<op>` up to the closing brace. */
  #argument(rawEscapes: boolean): string {
    try {
      return this.#until("}", rawEscapes).word;
    } catch (err) {
      if (err instanceof LexError && this.#peek() === undefined) throw new LexError("syntax error: missing '}'");
      throw err;
    }
  }

  #replace(name: string): string {
    const all = this.#peek() === "/";
    if (all) this.#next();
    let pattern: string;
    try {
      pattern = this.#until("/", true).word;
    } catch (err) {
      if (err instanceof LexError && this.#peek() === undefined) throw new LexError("syntax error: missing '/' in ${}");
      throw err;
    }
    const replacement = this.#argument(true);
    const value = this.#lookup(name);
    if (value === undefined && this.#opts.skipUnset) return "${" + name + "/" + pattern + "/" + replacement + "}";
    const re = globToRegExp(pattern, true, false, all);
    // A function keeps `$&`-style sequences in the replacement literal.
    return (value ?? "").replace(re, () => replacement);
  }
}

/**
 * Split a `${…}` glob into tokens, keeping each escape with the character it
 * escapes (so the pattern can be reversed for suffix matching).
 */
function globTokens(pattern: string): string[] {
  const chars = Array.from(pattern);
  const tokens: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch !== "\\") {
      tokens.push(ch);
      continue;
    }
    const next = chars[i + 1];
    // `\}` and `\/` were only there to get past the `${…}` syntax.
    if (next === "}" || next === "/") continue;
    if (next !== "*" && next !== "?" && next !== "\\") {
      throw new LexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${next ?? ""}'`);
    }
    tokens.push(ch + next);
    i++;
  }
  return tokens;
}

function tokensToRegExp(tokens: string[], greedy: boolean, anchored: boolean, global: boolean): RegExp {
  let src = anchored ? "^" : "";
  for (const t of tokens) {
    if (t === "*") src += greedy ? "[\\s\\S]*" : "[\\s\\S]*?";
    else if (t === "?") src += "[\\s\\S]";
    else src += escapeRegExp(t.length === 2 ? t[1]! : t);
  }
  return new RegExp(src, global ? "gu" : "u");
}

/** `${…}` patterns: `*` and `?` only, `\` escapes them (no bracket expressions, like BuildKit). */
function globToRegExp(pattern: string, greedy: boolean, anchored: boolean, global: boolean): RegExp {
  return tokensToRegExp(globTokens(pattern), greedy, anchored, global);
}

function trimPrefix(value: string, pattern: string, greedy: boolean): string {
  const m = globToRegExp(pattern, greedy, true, false).exec(value);
  return m ? value.slice(m[0].length) : value;
}

/** Suffix matching is prefix matching on the reversed value with the reversed pattern. */
function trimSuffix(value: string, pattern: string, greedy: boolean): string {
  const reversedValue = Array.from(value).reverse().join("");
  const re = tokensToRegExp(globTokens(pattern).reverse(), greedy, true, false);
  const m = re.exec(reversedValue);
  return m ? Array.from(reversedValue.slice(m[0].length)).reverse().join("") : value;
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}
