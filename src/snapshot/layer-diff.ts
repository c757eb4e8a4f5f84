import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { Header } from "tar-stream";
import { run } from "./exec.js";

/**
 * The changes in an overlayfs upper directory as an OCI layer tar
 * (https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts):
 * an overlay whiteout (char device 0:0) becomes an empty `.wh.<name>` file, a
 * directory with `trusted.overlay.opaque=y` is followed by
 * `<dir>/.wh..wh..opq`. Entries come in depth-first, name-sorted order, a
 * directory before its contents; hardlinks within the upper dir stay
 * hardlinks. Names are relative (`etc/passwd`, directories end in `/`).
 *
 * The upper dir should not change while the tar is read (Docker pauses the
 * container for a commit); a file that changes size fails the stream.
 */
export async function diffUpperDir(upper: string): Promise<Readable> {
  const opaque = await opaqueDirs(upper);
  const pack = tar.pack();
  const out = Readable.from(pack as unknown as AsyncIterable<Buffer>);
  out.on("close", () => pack.destroy());
  const add = (header: Partial<Header> & { name: string }, body?: Readable) =>
    body === undefined
      ? new Promise<void>((resolve, reject) => {
          const cb = (err?: Error | null) => (err ? reject(err) : resolve());
          // A file entry without a buffer waits for data to be written; whiteouts have none.
          if (header.type === "file") pack.entry(header, Buffer.alloc(0), cb);
          else pack.entry(header, cb);
        })
      : pipeline(body, pack.entry(header) as unknown as NodeJS.WritableStream);
  const seen = new Map<string, string>(); // dev:ino → first path, for hardlinks

  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const n of names) {
      const abs = join(dir, n);
      const name = rel === "" ? n : `${rel}/${n}`;
      const st = await lstat(abs);
      const common = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isCharacterDevice() && st.rdev === 0) {
        await add({ name: whiteoutName(rel, n), type: "file", size: 0, ...common, mode: 0o600 });
      } else if (st.isDirectory()) {
        await add({ name: `${name}/`, type: "directory", ...common });
        if (opaque.has(abs)) await add({ name: `${name}/.wh..wh..opq`, type: "file", size: 0, ...common, mode: common.mode & 0o777 });
        await walk(abs, name);
      } else if (st.nlink > 1 && !st.isDirectory() && seen.has(`${st.dev}:${st.ino}`)) {
        await add({ name, type: "link", linkname: seen.get(`${st.dev}:${st.ino}`)!, ...common });
      } else {
        if (st.nlink > 1) seen.set(`${st.dev}:${st.ino}`, name);
        if (st.isFile()) {
          await add({ name, type: "file", size: st.size, ...common }, createReadStream(abs));
        } else if (st.isSymbolicLink()) {
          await add({ name, type: "symlink", linkname: await readlink(abs), ...common });
        } else if (st.isCharacterDevice() || st.isBlockDevice()) {
          await add({ name, type: st.isCharacterDevice() ? "character-device" : "block-device", devmajor: major(st.rdev), devminor: minor(st.rdev), ...common });
        } else if (st.isFIFO()) {
          await add({ name, type: "fifo", ...common });
        }
        // Sockets cannot be archived (Docker skips them too).
      }
    }
  };
  walk(upper, "")
    .then(() => pack.finalize())
    .catch((err: unknown) => {
      pack.destroy(err as Error);
      out.destroy(err as Error);
    });
  return out;
}

function whiteoutName(rel: string, n: string): string {
  return rel === "" ? `.wh.${n}` : `${rel}/.wh.${n}`;
}

/** Linux's dev_t encoding (glibc `gnu_dev_major`/`gnu_dev_minor`). */
export function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
export function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

/**
 * Directories under `root` marked opaque. One `getfattr -R` for the whole
 * tree (Node cannot read xattrs); it reports only files that have the
 * attribute, escaping odd bytes in names as `\ooo` octal.
 */
export async function opaqueDirs(root: string): Promise<Set<string>> {
  const { stdout } = await run("getfattr", ["-R", "-P", "--absolute-names", "-n", "trusted.overlay.opaque", "-e", "text", "--", root], { allowFailure: true });
  const out = new Set<string>();
  let current: string | null = null;
  for (const line of stdout.split("\n")) {
    if (line.startsWith("# file: ")) current = unescapeGetfattr(line.slice("# file: ".length));
    else if (current !== null && line === 'trusted.overlay.opaque="y"') out.add(current);
  }
  return out;
}

function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(s, "utf8");
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString("latin1"))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString("latin1"), 8));
      i += 3;
    } else {
      bytes.push(raw[i]!);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
