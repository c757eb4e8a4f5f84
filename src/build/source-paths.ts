import { createHash } from "node:crypto";
import { posix } from "node:path";
import { InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import type { SourceTree } from "./source-tree.js";

/**
 * What the builder asks of a COPY/ADD source tree (the context, or another
 * stage's root): which paths a source names (globs included), and a
 * checksum of their contents for the cache.
 */

/** One source of a COPY/ADD, resolved inside its tree. */
export interface ResolvedSource {
  /** Path relative to the tree's root with symlinks resolved, `/`-separated, "" for the root itself. */
  rel: string;
  isDir: boolean;
}

const globChars = /[*?[]/;

/**
 * Resolves COPY/ADD sources in `tree`. Sources are relative to the root
 * whatever they start with; one that climbs out (`../x`) is refused;
 * symlinks are followed but stay inside. Wildcards follow Go's
 * `filepath.Match`, per path segment, as Docker's do. `NotFoundError` when
 * nothing matches.
 */
export async function resolveSources(tree: SourceTree, patterns: string[], what = "build context"): Promise<ResolvedSource[]> {
  const out: ResolvedSource[] = [];
  for (const pattern of patterns) {
    const normalized = posix.normalize(pattern.replaceAll("\\", "/"));
    if (normalized === ".." || normalized.startsWith("../")) throw new InvalidArgumentError(`forbidden path outside the build context: ${pattern}`);
    const cleaned = posix.normalize("/" + normalized).slice(1).replace(/\/$/, "");
    const matches = globChars.test(cleaned) ? await expandGlob(tree, cleaned) : [cleaned];
    let found = 0;
    for (const rel of matches) {
      const resolved = await tree.resolve(rel);
      const node = await tree.stat(resolved);
      if (!node) continue;
      out.push({ rel: resolved, isDir: node.type === "dir" });
      found++;
    }
    if (found === 0) {
      throw new NotFoundError(`file not found in ${what} or excluded by .dockerignore: stat ${pattern}: file does not exist`);
    }
  }
  return out;
}

async function expandGlob(tree: SourceTree, pattern: string): Promise<string[]> {
  let candidates = [""];
  for (const segment of pattern.split("/").filter(Boolean)) {
    const next: string[] = [];
    for (const base of candidates) {
      if (!globChars.test(segment)) {
        next.push(base ? `${base}/${segment}` : segment);
        continue;
      }
      const re = segmentRegExp(segment);
      const dir = await tree.resolve(base);
      if ((await tree.stat(dir))?.type !== "dir") continue;
      for (const name of await tree.children(dir)) if (re.test(name)) next.push(base ? `${base}/${name}` : name);
    }
    candidates = next;
  }
  return candidates;
}

/** Go's `filepath.Match` for one segment: `*`, `?`, `[...]` (with `^`/`!` negation), `\` escapes. */
function segmentRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "\\" && i + 1 < segment.length) re += escapeRe(segment[++i]!);
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) throw new InvalidArgumentError(`syntax error in pattern: ${segment}`);
      let body = segment.slice(i + 1, end);
      if (body.startsWith("!") || body.startsWith("^")) body = "^" + body.slice(1);
      re += `[${body.replace(/\\(?!])/g, "\\\\")}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");
}

/**
 * A digest of the sources' trees: names, types, modes, link targets and file
 * contents, never times, so touching a file without changing it keeps the
 * cache (https://docs.docker.com/reference/dockerfile/#copy: "the last-modified
 * and last-accessed times of the file(s) aren't considered").
 */
export async function checksumSources(tree: SourceTree, sources: ResolvedSource[]): Promise<string> {
  const hash = createHash("sha256");
  const visit = async (rel: string, shown: string): Promise<void> => {
    const node = (await tree.stat(rel))!;
    hash.update(`${shown}\0${node.type}\0${node.mode.toString(8)}\0`);
    if (node.type === "dir") {
      for (const name of await tree.children(rel)) await visit(rel ? `${rel}/${name}` : name, `${shown}/${name}`);
    } else if (node.type === "symlink") {
      hash.update(`->${node.linkname}\0`);
    } else if (node.type === "file") {
      hash.update(`${node.size}\0${await tree.fileDigest(rel)}\0`);
    }
  };
  for (const s of sources) {
    hash.update(`source ${s.rel}\0`);
    await visit(s.rel, "");
  }
  return hash.digest("hex");
}
