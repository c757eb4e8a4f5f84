import { InvalidArgumentError } from "../lib/errors.js";

/**
 * `.dockerignore`: which paths of the build context are not sent
 * (https://docs.docker.com/build/concepts/context/#dockerignore-files), with
 * the behaviour of moby's `patternmatcher` and `patternmatcher/ignorefile`:
 *
 * - a line starting with `#` is a comment (only in column 1: `  #x` is a
 *   pattern); blank lines are skipped; surrounding whitespace is trimmed;
 * - patterns are cleaned like Go's `filepath.Clean` and made relative (`/a`,
 *   `./a` and `a/` all mean `a`);
 * - `*`, `?`, `[a-z]`, `[^a-z]` and `\` escapes as in Go's `filepath.Match`
 *   (none of them crosses a `/`), plus `**` for any number of directories
 *   (`**\/*.go`, `dir/**`); a pattern starting with `**` and otherwise literal
 *   is a plain suffix test, so `**.txt` matches `a.txt` and `d/b.txt`;
 * - `!pattern` re-includes; the last pattern that matches decides;
 * - a pattern that matches a directory matches everything below it.
 *
 * The context root (`.` or "") is never excluded.
 */
export class DockerIgnore {
  readonly #patterns: readonly Pattern[];
  readonly #hasExceptions: boolean;

  private constructor(patterns: Pattern[]) {
    this.#patterns = patterns;
    this.#hasExceptions = patterns.some((p) => p.exclusion);
  }

  /**
   * Parse the text of a `.dockerignore`. Throws `InvalidArgumentError` naming
   * the line for a malformed pattern (`[a`, a trailing `\`) or a lone `!`.
   * An empty text excludes nothing.
   */
  static parse(text: string): DockerIgnore {
    const patterns: Pattern[] = [];
    const lines = text.replace(/^\uFEFF/, "").split("\n");
    for (const [index, rawLine] of lines.entries()) {
      const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
      if (line.startsWith("#")) continue;
      let pattern = line.trim();
      if (pattern === "") continue;
      const exclusion = pattern.startsWith("!");
      if (exclusion) pattern = pattern.slice(1).trim();
      const where = `.dockerignore:${index + 1}`;
      if (pattern === "") throw new InvalidArgumentError(`${where}: illegal exclusion pattern: "!"`);
      pattern = relative(cleanPath(pattern));
      patterns.push(compilePattern(pattern, exclusion, where));
    }
    return new DockerIgnore(patterns);
  }

  /** The cleaned patterns in file order, exceptions with their `!`. */
  get patterns(): string[] {
    return this.#patterns.map((p) => (p.exclusion ? "!" : "") + p.text);
  }

  /**
   * Whether `relPath` (relative to the context root, `/`-separated) is left
   * out of the context. `isDir` is accepted because walkers know it, but
   * Docker's rules do not depend on it: a trailing `/` in a pattern is
   * cleaned away, so `build/` also matches a file named `build`.
   */
  excludes(relPath: string, _isDir: boolean): boolean {
    const file = relative(cleanPath(relPath));
    if (file === ".") return false;
    const slash = file.lastIndexOf("/");
    const parents = slash < 0 ? [] : file.slice(0, slash).split("/");
    let matched = false;
    for (const p of this.#patterns) {
      // An include can only flip an unmatched path, an exception a matched one.
      if (p.exclusion !== matched) continue;
      let hit = p.match(file);
      for (let i = 1; !hit && i <= parents.length; i++) {
        hit = p.match(parents.slice(0, i).join("/"));
      }
      if (hit) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * True when some `!` pattern could re-include something under this
   * directory, so a walker must descend into an excluded directory instead
   * of skipping it (and then ask `excludes` for each entry). False means
   * nothing below it can be included. It may say true when nothing turns out
   * to be re-included, never false when something would be.
   */
  mayIncludeUnder(dirRelPath: string): boolean {
    if (!this.#hasExceptions) return false;
    const dir = relative(cleanPath(dirRelPath));
    if (dir === ".") return true;
    const dirParts = dir.split("/");
    return this.#patterns.some((p) => p.exclusion && p.mayMatchUnder(dir, dirParts));
  }
}

type MatchKind = "exact" | "prefix" | "suffix" | "regexp";

interface Pattern {
  /** Cleaned, without the `!`. */
  readonly text: string;
  readonly exclusion: boolean;
  match(path: string): boolean;
  /** Whether this pattern could match `dir`, one of its ancestors, or something below it. */
  mayMatchUnder(dir: string, dirParts: string[]): boolean;
}

function compilePattern(text: string, exclusion: boolean, where: string): Pattern {
  const matcher = compileMatcher(text, where);
  // Only `**` crosses a `/`, so the pattern can be followed component by
  // component; undefined stands for a component that may match anything
  // (`**`, or a piece like `[` cut out of `a[/]b`).
  const parts =
    matcher.kind === "regexp"
      ? text.split("/").map((part) => {
          if (part.includes("**")) return undefined;
          try {
            return compileMatcher(part, where).match;
          } catch (err) {
            if (err instanceof InvalidArgumentError) return undefined;
            throw err;
          }
        })
      : [];
  return {
    text,
    exclusion,
    match: matcher.match,
    mayMatchUnder(dir, dirParts) {
      switch (matcher.kind) {
        case "exact":
          return text === dir || text.startsWith(dir + "/") || dir.startsWith(text + "/");
        case "prefix": {
          const prefix = text.slice(0, -2);
          return (dir + "/").startsWith(prefix) || prefix.startsWith(dir + "/");
        }
        case "suffix":
          return true;
        case "regexp":
          for (let i = 0; i < dirParts.length; i++) {
            // Past the pattern's end it matched an ancestor, which re-includes all below.
            if (i >= parts.length) return true;
            const part = parts[i];
            if (part === undefined) return true;
            if (!part(dirParts[i]!)) return false;
          }
          return true;
      }
    },
  };
}

/**
 * Turn a cleaned pattern into a test. Literal patterns and the two common
 * `**` shapes skip the regular expression, as moby does; the shapes matter
 * because `**x` (a suffix test) is looser than `**\/x`.
 */
function compileMatcher(text: string, where: string): { kind: MatchKind; match: (path: string) => boolean } {
  const bad = (): never => {
    throw new InvalidArgumentError(`${where}: syntax error in pattern ${JSON.stringify(text)}`);
  };
  const chars = Array.from(text);
  let kind: MatchKind = "exact";
  let re = "^";
  for (let i = 0; i < chars.length; i++) {
    const start = i;
    const ch = chars[i]!;
    if (ch === "*" && chars[i + 1] === "*") {
      i++;
      if (chars[i + 1] === "/") i++;
      if (i + 1 >= chars.length) {
        // A trailing `**` takes everything, like .gitignore's `dir/**`.
        if (kind === "exact") {
          kind = "prefix";
        } else {
          re += "[\\s\\S]*";
          kind = "regexp";
        }
      } else {
        re += "(?:[\\s\\S]*/)?";
        kind = "regexp";
      }
      if (start === 0) kind = "suffix";
    } else if (ch === "*") {
      re += "[^/]*";
      kind = "regexp";
    } else if (ch === "?") {
      re += "[^/]";
      kind = "regexp";
    } else if (ch === "\\") {
      const escaped = chars[++i];
      if (escaped === undefined) bad();
      re += escapeOutsideClass(escaped!);
      kind = "regexp";
    } else if (ch === "[") {
      const cls = readClass(chars, i);
      if (cls === undefined) bad();
      re += cls!.source;
      i = cls!.end;
      kind = "regexp";
    } else {
      re += escapeOutsideClass(ch);
    }
  }
  switch (kind) {
    case "exact":
      return { kind, match: (path) => path === text };
    case "prefix": {
      const prefix = text.slice(0, -2);
      return { kind, match: (path) => path.startsWith(prefix) };
    }
    case "suffix": {
      const suffix = text.slice(2);
      return { kind, match: (path) => path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1)) };
    }
    case "regexp": {
      const regexp = new RegExp(re + "$", "u");
      return { kind, match: (path) => regexp.test(path) };
    }
  }
}

/**
 * A `filepath.Match` character class starting at `chars[open] === "["`:
 * optional `^`, then one or more characters or `lo-hi` ranges, each possibly
 * `\`-escaped. Returns undefined where Go reports `ErrBadPattern`. Like `?`,
 * a class never matches `/`, which keeps patterns component-wise.
 */
function readClass(chars: string[], open: number): { source: string; end: number } | undefined {
  let i = open + 1;
  let negated = false;
  if (chars[i] === "^") {
    negated = true;
    i++;
  }
  const one = (): string | undefined => {
    let ch = chars[i];
    if (ch === undefined || ch === "-" || ch === "]") return undefined;
    if (ch === "\\") {
      ch = chars[++i];
      if (ch === undefined) return undefined;
    }
    i++;
    // The class must still be closed after this character.
    return i < chars.length ? ch : undefined;
  };
  let body = "";
  for (let count = 0; ; count++) {
    if (chars[i] === "]" && count > 0) break;
    const lo = one();
    if (lo === undefined) return undefined;
    let hi = lo;
    if (chars[i] === "-") {
      i++;
      const h = one();
      if (h === undefined) return undefined;
      hi = h;
    }
    // Go accepts a reversed range and matches nothing with it; a RegExp would throw.
    if (lo.codePointAt(0)! > hi.codePointAt(0)!) continue;
    body += lo === hi ? escapeInClass(lo) : `${escapeInClass(lo)}-${escapeInClass(hi)}`;
  }
  return { source: `(?!/)[${negated ? "^" : ""}${body}]`, end: i };
}

function escapeOutsideClass(ch: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(ch) ? "\\" + ch : ch;
}

function escapeInClass(ch: string): string {
  return /[\\\]^[-]/.test(ch) ? "\\" + ch : ch;
}

/** `filepath.Clean` for `/`-separated paths. */
function cleanPath(path: string): string {
  const rooted = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/** Context paths are relative: `/a` is `a`, `/` is the root. */
function relative(cleaned: string): string {
  if (cleaned === "/") return ".";
  return cleaned.startsWith("/") ? cleaned.slice(1) : cleaned;
}
