import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errnoCode, InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import { resolveInRoot } from "../lib/scoped-path.js";
import { unpackLayer } from "../snapshot/index.js";
import { DockerIgnore } from "./dockerignore.js";

/**
 * The build context on the daemon's side: a directory the context tar was
 * unpacked into (private to one build), and the questions the builder asks
 * of it: which files a COPY source names (globs included), and a checksum of
 * their contents for the cache.
 */

/** One source of a COPY/ADD, resolved inside the context (or another image's root). */
export interface ResolvedSource {
  /** Path relative to the root, `/`-separated, "" for the root itself. */
  rel: string;
  /** Where it is on the host (already resolved; never outside the root). */
  hostPath: string;
  isDir: boolean;
}

/**
 * Unpacks a context tar (plain or gzip'd, as `docker build` sends it) into a
 * new directory under `scratchDir`, through the layer unpacker, so no entry
 * lands outside it, then drops what `.dockerignore` excludes. The caller
 * removes the directory (`rm -r`) when the build ends.
 */
export async function unpackContext(input: Readable, scratchDir: string, dockerfile: string): Promise<string> {
  const dir = await mkdtemp(join(scratchDir, "context-"));
  try {
    await unpackLayer(input, dir);
    const ignoreText = await readFile(join(dir, ".dockerignore"), "utf8").catch(() => undefined);
    if (ignoreText !== undefined) await applyDockerIgnore(dir, DockerIgnore.parse(ignoreText), [posix.normalize(dockerfile), ".dockerignore"]);
    return dir;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Deletes what `.dockerignore` excludes, for clients (dockerode, curl) that
 * send the whole directory. The Dockerfile and `.dockerignore` themselves
 * stay readable even when listed, as in Docker.
 */
export async function applyDockerIgnore(root: string, ignore: DockerIgnore, keep: string[]): Promise<void> {
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(root, rel))) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (keep.includes(childRel)) continue;
      const st = await lstat(join(root, childRel));
      if (ignore.excludes(childRel, st.isDirectory())) {
        if (!st.isDirectory() || !ignore.mayIncludeUnder(childRel)) {
          await rm(join(root, childRel), { recursive: true, force: true });
          continue;
        }
      }
      if (st.isDirectory()) await walk(childRel);
    }
  };
  await walk("");
}

const globChars = /[*?[]/;

/**
 * Resolves COPY/ADD sources in `root` (the context, or a stage's root
 * filesystem for `--from`). Sources are relative to the root whatever they
 * start with; one that climbs out (`../x`) is refused; symlinks are followed
 * but stay inside. Wildcards follow Go's `filepath.Match`, per path segment,
 * as Docker's do. `NotFoundError` when nothing matches.
 */
export async function resolveSources(root: string, patterns: string[], what = "build context"): Promise<ResolvedSource[]> {
  const out: ResolvedSource[] = [];
  for (const pattern of patterns) {
    const cleaned = posix.normalize("/" + pattern.replaceAll("\\", "/")).slice(1);
    if (posix.normalize(pattern).startsWith("../") || posix.normalize(pattern) === "..") {
      throw new InvalidArgumentError(`forbidden path outside the build context: ${pattern}`);
    }
    const matches = globChars.test(cleaned) ? await expandGlob(root, cleaned) : [cleaned.replace(/\/$/, "")];
    let found = 0;
    for (const rel of matches) {
      const hostPath = await resolveInRoot(root, rel);
      const st = await lstat(hostPath).catch((err: unknown) => {
        if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
        throw err;
      });
      if (!st) continue;
      out.push({ rel, hostPath, isDir: st.isDirectory() });
      found++;
    }
    if (found === 0) {
      throw new NotFoundError(`file not found in ${what} or excluded by .dockerignore: stat ${pattern}: file does not exist`);
    }
  }
  return out;
}

async function expandGlob(root: string, pattern: string): Promise<string[]> {
  let candidates = [""];
  for (const segment of pattern.split("/").filter(Boolean)) {
    const next: string[] = [];
    for (const base of candidates) {
      if (!globChars.test(segment)) {
        next.push(base ? `${base}/${segment}` : segment);
        continue;
      }
      const re = segmentRegExp(segment);
      const dir = await resolveInRoot(root, base);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) if (re.test(name)) next.push(base ? `${base}/${name}` : name);
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
export async function checksumSources(sources: ResolvedSource[]): Promise<string> {
  const hash = createHash("sha256");
  const visit = async (hostPath: string, rel: string): Promise<void> => {
    const st = await lstat(hostPath);
    hash.update(`${rel}\0${st.mode.toString(8)}\0`);
    if (st.isDirectory()) {
      for (const name of (await readdir(hostPath)).sort()) await visit(join(hostPath, name), `${rel}/${name}`);
    } else if (st.isSymbolicLink()) {
      hash.update(`->${await readlink(hostPath)}\0`);
    } else if (st.isFile()) {
      hash.update(`${st.size}\0`);
      await pipeline(createReadStream(hostPath), async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) hash.update(chunk);
      });
    }
  };
  for (const s of sources) {
    hash.update(`source ${s.rel}\0`);
    await visit(s.hostPath, "");
  }
  return hash.digest("hex");
}
