/**
 * `wharf cp` between a container and the local filesystem through
 * `/containers/{id}/archive`: HEAD to stat the container path, GET for a tar
 * of it (stat in the X-Docker-Container-Path-Stat header), PUT to extract a
 * tar into a container directory. `-` means a tar on stdin/stdout.
 * Destination rules follow `docker cp` (copy into an existing directory,
 * rename when the target does not exist, `SRC/.` copies the contents).
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerArchive
 */
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, link, lstat, mkdir, readdir, readlink, rm, stat, symlink, utimes } from "node:fs/promises";
import { basename, dirname, join, posix, resolve, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { InvalidArgumentError, NotFoundError } from "../../lib/errors.js";
import { isDirMode, isSymlinkMode, type PathStat } from "../../lib/path-stat.js";
import { newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";

export interface CpArg {
  container?: string;
  path: string;
}

/** "ctr:/path" → container + path; local paths (absolute, ./relative, or without a colon) have no container. */
export function splitCpArg(arg: string): CpArg {
  if (arg.startsWith("/") || arg.startsWith(".") || arg === "-") return { path: arg };
  const colon = arg.indexOf(":");
  if (colon <= 0) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

function decodeStat(header: string | string[] | undefined): PathStat | undefined {
  if (typeof header !== "string" || header === "") return undefined;
  return JSON.parse(Buffer.from(header, "base64").toString("utf8")) as PathStat;
}

async function statContainerPath(io: CliIo, container: string, path: string): Promise<PathStat | undefined> {
  const res = await io.client.raw("HEAD", `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
  res.resume();
  if (res.statusCode === 404) {
    // A missing container and a missing path are both 404; only the path case means "does not exist yet".
    const probe = await io.client.raw("GET", `/containers/${encodeURIComponent(container)}/json`);
    probe.resume();
    if (probe.statusCode === 404) throw new NotFoundError(`Error response from daemon: No such container: ${container}`);
    return undefined;
  }
  if ((res.statusCode ?? 500) >= 400) {
    throw new InvalidArgumentError(`Error response from daemon: stat ${path}: status ${res.statusCode}`);
  }
  return decodeStat(res.headers["x-docker-container-path-stat"]);
}

async function localStat(p: string) {
  try {
    return await lstat(p);
  } catch {
    return undefined;
  }
}

/** Renames the first path component of an archive entry (`from` → `to`; `to` empty drops it). */
export function rebaseEntry(name: string, from: string, to: string): string | undefined {
  const clean = name.replace(/^\.\//, "").replace(/\/+$/, "");
  const parts = clean === "" || clean === "." ? [] : clean.split("/");
  if (parts[0] === from) parts.shift();
  else if (from !== "." && parts.length > 0) return clean;
  const out = to === "" ? parts : [to, ...parts];
  return out.length > 0 ? out.join("/") : undefined;
}

/** Extracts a tar into `dir`, renaming its top entry; refuses entries that would land outside `dir`. */
async function extractTo(source: Readable, dir: string, from: string, to: string): Promise<void> {
  const ex = tar.extract();
  const root = resolve(dir);
  const dirTimes: Array<[string, Date]> = [];
  source.on("error", (err) => ex.destroy(err));
  source.pipe(ex as unknown as NodeJS.WritableStream);
  for await (const entry of ex) {
    const h = entry.header;
    const rel = rebaseEntry(h.name, from, to);
    if (rel === undefined) {
      if (h.type === "directory" && h.mtime) dirTimes.push([root, h.mtime]);
      entry.resume();
      continue;
    }
    const target = resolve(root, rel);
    if (target !== root && !target.startsWith(root + sep)) {
      entry.resume();
      throw new InvalidArgumentError(`invalid archive entry: ${h.name}`);
    }
    await mkdir(dirname(target), { recursive: true });
    const mode = (h.mode ?? 0o644) & 0o7777;
    switch (h.type) {
      case "directory":
        await mkdir(target, { recursive: true });
        await chmod(target, mode);
        if (h.mtime) dirTimes.push([target, h.mtime]);
        entry.resume();
        break;
      case "symlink":
        await rm(target, { force: true });
        await symlink(h.linkname ?? "", target);
        entry.resume();
        break;
      case "link": {
        const linked = rebaseEntry(h.linkname ?? "", from, to);
        await rm(target, { force: true });
        if (linked !== undefined) await link(resolve(root, linked), target);
        entry.resume();
        break;
      }
      case "file":
      case "contiguous-file":
      case undefined:
      case null: {
        const existing = await localStat(target);
        if (existing?.isDirectory()) throw new InvalidArgumentError(`cannot overwrite directory "${target}" with non-directory`);
        await pipeline(Readable.from(entry), createWriteStream(target, { mode }));
        await chmod(target, mode);
        if (h.mtime) await utimes(target, h.mtime, h.mtime);
        break;
      }
      default:
        // Devices and fifos need privileges a copy should not assume; docker skips them without root too.
        entry.resume();
    }
  }
  // Directory times last: writing into a directory changes its mtime.
  for (const [d, t] of dirTimes.reverse()) await utimes(d, t, t).catch(() => {});
}

/** Streams `src` (file, directory or symlink) as a tar whose top entry is named `name` ("" = contents only). */
function packPath(src: string, name: string, archive: boolean): Readable {
  const pack = tar.pack();
  const add = async (abs: string, rel: string): Promise<void> => {
    const st = await lstat(abs);
    const base = {
      name: rel,
      mode: st.mode & 0o7777,
      mtime: st.mtime,
      uid: archive ? st.uid : 0,
      gid: archive ? st.gid : 0,
    };
    if (st.isDirectory()) {
      if (rel !== "") await entry(pack, { ...base, name: `${rel}/`, type: "directory" });
      for (const child of (await readdir(abs)).sort()) await add(join(abs, child), rel ? `${rel}/${child}` : child);
    } else if (st.isSymbolicLink()) {
      await entry(pack, { ...base, type: "symlink", linkname: await readlink(abs) });
    } else if (st.isFile()) {
      await new Promise<void>((ok, fail) => {
        const w = pack.entry({ ...base, type: "file", size: st.size }, (err) => (err ? fail(err) : ok()));
        createReadStream(abs).on("error", fail).pipe(w);
      });
    }
  };
  add(src, name).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );
  return Readable.from(pack);
}

function entry(pack: tar.Pack, h: Partial<tar.Header> & { name: string }): Promise<void> {
  return new Promise((ok, fail) => {
    pack.entry(h, (err) => (err ? fail(err) : ok()));
  });
}

async function copyFromContainer(io: CliIo, container: string, srcPath: string, dest: string, followLink: boolean): Promise<void> {
  let path = srcPath;
  let rebaseName: string | undefined;
  if (followLink) {
    const st = await statContainerPath(io, container, srcPath);
    if (st && isSymlinkMode(st.mode) && st.linkTarget) {
      path = st.linkTarget;
      rebaseName = posix.basename(srcPath);
    }
  }
  const res = await io.client.stream("GET", `/containers/${encodeURIComponent(container)}/archive`, { query: { path } });
  if (dest === "-") {
    await pipeline(res, io.stdout, { end: false });
    return;
  }
  const st = decodeStat(res.headers["x-docker-container-path-stat"]);
  const srcName = st?.name ?? posix.basename(path);
  const srcIsDir = st ? isDirMode(st.mode) : false;
  const contentsOnly = srcPath.endsWith("/.") || srcPath === ".";
  const d = await localStat(dest);
  if (d && (d.isDirectory() || (d.isSymbolicLink() && (await stat(dest).catch(() => undefined))?.isDirectory()))) {
    if (srcIsDir && contentsOnly) await extractTo(res, dest, srcName, "");
    else await extractTo(res, dest, srcName, rebaseName ?? srcName);
    return;
  }
  if (d) {
    if (srcIsDir) {
      res.resume();
      throw new InvalidArgumentError(`cannot overwrite non-directory "${dest}" with directory "${srcPath}"`);
    }
    await extractTo(res, dirname(dest), srcName, basename(dest));
    return;
  }
  if (dest.endsWith("/") && !srcIsDir) {
    res.resume();
    throw new InvalidArgumentError(`destination directory "${dest}" does not exist`);
  }
  const parent = await localStat(dirname(resolve(dest)));
  if (!parent?.isDirectory()) {
    res.resume();
    throw new InvalidArgumentError(`lstat ${dirname(resolve(dest))}: no such file or directory`);
  }
  await extractTo(res, dirname(resolve(dest)), srcName, basename(resolve(dest)));
}

async function copyToContainer(io: CliIo, src: string, container: string, destPath: string, archive: boolean, followLink: boolean): Promise<void> {
  const put = (dir: string, body: Readable) =>
    io.client.call("PUT", `/containers/${encodeURIComponent(container)}/archive`, {
      query: { path: dir, noOverwriteDirNonDir: true, copyUIDGID: archive || undefined },
      body,
      contentType: "application/x-tar",
    });
  const d = await statContainerPath(io, container, destPath);
  if (src === "-") {
    if (d && !isDirMode(d.mode)) throw new InvalidArgumentError(`destination "${container}:${destPath}" must be a directory`);
    await put(destPath, io.stdin);
    return;
  }
  let srcPath = src;
  let st = await localStat(srcPath);
  if (!st) throw new InvalidArgumentError(`lstat ${resolve(src)}: no such file or directory`);
  if (followLink && st.isSymbolicLink()) {
    srcPath = resolve(dirname(src), await readlink(src));
    st = await stat(srcPath);
  }
  const contentsOnly = src.endsWith("/.") || src === ".";
  const srcIsDir = st.isDirectory();
  if (d && isDirMode(d.mode)) {
    await put(destPath, packPath(srcPath, srcIsDir && contentsOnly ? "" : basename(resolve(src)), archive));
    return;
  }
  if (d) {
    if (srcIsDir) throw new InvalidArgumentError(`cannot overwrite non-directory "${destPath}" with directory "${src}"`);
    await put(posix.dirname(destPath), packPath(srcPath, posix.basename(destPath), archive));
    return;
  }
  if (destPath.endsWith("/") && !srcIsDir) {
    throw new InvalidArgumentError(`destination "${container}:${destPath}" must be a directory`);
  }
  const trimmed = destPath.replace(/\/+$/, "") || "/";
  await put(posix.dirname(trimmed), packPath(srcPath, posix.basename(trimmed), archive));
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand(
    "cp",
    "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\twharf cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    "Copy files/folders between a container and the local filesystem",
    io.stdout,
  )
    .option("-a, --archive", "Archive mode (copy all uid/gid information)")
    .option("-L, --follow-link", "Always follow symbol link in SRC_PATH")
    .option("-q, --quiet", "Suppress progress output during copy");
  const { options: o, args } = parseArgs(cmd, "cp", argv);
  requireArgs("cp", args, { exact: 2 });
  const src = splitCpArg(args[0]!);
  const dst = splitCpArg(args[1]!);
  if (src.container === undefined && dst.container === undefined) {
    throw new UsageError("cp", "must specify at least one container source");
  }
  if (src.container !== undefined && dst.container !== undefined) {
    throw new UsageError("cp", "copying between containers is not supported");
  }
  if (src.container !== undefined) {
    if (src.path === "") throw new UsageError("cp", "source path can not be empty");
    await copyFromContainer(io, src.container, src.path, dst.path, !!o.followLink);
  } else {
    if (dst.path === "") throw new UsageError("cp", "destination path can not be empty");
    await copyToContainer(io, src.path, dst.container!, dst.path, !!o.archive, !!o.followLink);
  }
  return 0;
}
