/**
 * The build context as `docker build` sends it: a tar of the context
 * directory without what `.dockerignore` excludes (so big ignored trees are
 * never read or sent), plus the Dockerfile under a private name when it
 * lives outside the context (`-f ../Dockerfile`, `-f -`).
 * https://docs.docker.com/build/concepts/context/
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join, posix, relative, resolve, sep } from "node:path";
import type { Readable } from "node:stream";
import tar from "tar-stream";
import { DockerIgnore } from "../build/dockerignore.js";

export interface ContextTar {
  tar: Readable;
  /** The Dockerfile's name inside the tar (the `dockerfile` query parameter). */
  dockerfile: string;
  /** Bytes of file data the tar carries, for "Sending build context". */
  size: Promise<number>;
}

/**
 * `dir` is the context; `dockerfilePath` a host path (absolute or relative
 * to the working directory) or, with `dockerfileText`, the text itself.
 */
export async function packContext(dir: string, dockerfilePath: string | undefined, dockerfileText?: string): Promise<ContextTar> {
  const root = resolve(dir);
  const ignoreText = await readFile(join(root, ".dockerignore"), "utf8").catch(() => "");
  const ignore = DockerIgnore.parse(ignoreText);
  let dockerfile = "Dockerfile";
  let extra: { name: string; content: Buffer } | undefined;
  if (dockerfileText !== undefined) {
    dockerfile = `.dockerfile.${randomBytes(10).toString("hex")}`;
    extra = { name: dockerfile, content: Buffer.from(dockerfileText) };
  } else if (dockerfilePath !== undefined) {
    const abs = resolve(dockerfilePath);
    const rel = relative(root, abs);
    if (rel.startsWith("..") || rel.startsWith(sep)) {
      dockerfile = `.dockerfile.${randomBytes(10).toString("hex")}`;
      extra = { name: dockerfile, content: await readFile(abs) };
    } else dockerfile = rel.split(sep).join("/");
  }
  const keep = new Set([dockerfile, ".dockerignore"]);
  const pack = tar.pack();
  let total = 0;
  const size = (async () => {
    try {
      const add = async (rel: string): Promise<void> => {
        const names = (await readdir(join(root, rel))).sort();
        // Metadata and small files are read a batch at a time: one by one, the syscalls' latency dominates.
        for (let i = 0; i < names.length; i += 64) {
          const batch = names.slice(i, i + 64).map((name) => (rel ? `${rel}/${name}` : name));
          const stats = await Promise.all(batch.map((r) => lstat(join(root, r))));
          const bodies = await Promise.all(batch.map((r, j) => (stats[j]!.isFile() && stats[j]!.size <= smallFile ? readFile(join(root, r)) : undefined)));
          for (let j = 0; j < batch.length; j++) {
            const childRel = batch[j]!;
            const st = stats[j]!;
            const excluded = !keep.has(childRel) && ignore.excludes(childRel, st.isDirectory());
            if (excluded && !(st.isDirectory() && ignore.mayIncludeUnder(childRel))) continue;
            const header = { name: childRel, mode: st.mode & 0o7777, uid: 0, gid: 0, mtime: st.mtime };
            if (st.isDirectory()) {
              if (!excluded) await entry(pack, { ...header, type: "directory" });
              await add(childRel);
            } else if (st.isSymbolicLink()) {
              await entry(pack, { ...header, type: "symlink", linkname: await readlink(join(root, childRel)) });
            } else if (st.isFile()) {
              const body = bodies[j];
              total += body ? body.length : st.size;
              if (body) await entry(pack, { ...header, type: "file", size: body.length }, body);
              else {
                await new Promise<void>((res, rej) => {
                  const sink = pack.entry({ ...header, type: "file", size: st.size }, (err) => (err ? rej(err) : res()));
                  createReadStream(join(root, childRel)).on("error", rej).pipe(sink);
                });
              }
            }
          }
        }
      };
      await add("");
      if (extra) {
        total += extra.content.length;
        await entry(pack, { name: posix.normalize(extra.name), mode: 0o644, type: "file", size: extra.content.length, mtime: new Date() }, extra.content);
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
      throw err;
    }
    return total;
  })();
  size.catch(() => undefined);
  return { tar: pack as unknown as Readable, dockerfile, size };
}

type Header = Parameters<tar.Pack["entry"]>[0];

/** Files up to this size are read whole (batched); bigger ones are streamed. */
const smallFile = 1 << 20;

function entry(pack: tar.Pack, header: Header, body?: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    const cb = (err?: Error | null) => (err ? rej(err) : res());
    if (body !== undefined) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}
