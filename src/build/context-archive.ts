import { createHash, randomBytes } from "node:crypto";
import { open, rm, type FileHandle } from "node:fs/promises";
import { join, posix } from "node:path";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { decompressed } from "../content/compression.js";
import { tarEntries } from "../content/tar-entries.js";
import { InvalidArgumentError } from "../lib/errors.js";
import { cleanEntryPath } from "../snapshot/index.js";
import { DockerIgnore } from "./dockerignore.js";
import type { SourceTree, TreeNode } from "./source-tree.js";

interface Entry extends TreeNode {
  /** Where the file's bytes sit in the data file. */
  offset: number;
  /** sha256 hex of the content (files only). */
  digest: string;
}

/** Linux gives up after 40 links in one lookup (MAXSYMLINKS). */
const maxSymlinks = 40;

/**
 * The build context as received: never unpacked. While the tar streams in,
 * each file's bytes are appended to one private data file and hashed, and
 * an index keeps its metadata, offset and digest. So the cache check of a
 * COPY is a walk over the index (no file is read twice), and only a step
 * that really runs copies bytes, straight from the data file into the
 * step's root. Entry names are cleaned; one that climbs out of the root
 * refuses the context. Hard links become copies; devices and fifos are
 * dropped, as Docker does for COPY.
 *
 * Lifecycle: `receive` → lookups and copies → `close` (removes the data file).
 */
export class ContextArchive implements SourceTree {
  readonly #entries = new Map<string, Entry>();
  readonly #children = new Map<string, Set<string>>();
  readonly #dataPath: string;
  readonly #data: FileHandle;

  private constructor(dataPath: string, data: FileHandle) {
    this.#dataPath = dataPath;
    this.#data = data;
    this.#entries.set("", dirEntry(0o755));
    this.#children.set("", new Set());
  }

  static async receive(input: Readable, scratchDir: string): Promise<ContextArchive> {
    const dataPath = join(scratchDir, `context-${randomBytes(8).toString("hex")}.data`);
    const data = await open(dataPath, "w+", 0o600);
    const ctx = new ContextArchive(dataPath, data);
    try {
      await ctx.#ingest(input);
      return ctx;
    } catch (err) {
      await ctx.close();
      throw err;
    }
  }

  async #ingest(input: Readable): Promise<void> {
    const { stream } = await decompressed(input);
    let offset = 0;
    // Writes are batched: thousands of small files would otherwise cost a syscall each.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let pendingAt = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      await this.#data.write(Buffer.concat(pending, pendingBytes), 0, pendingBytes, pendingAt);
      pendingAt += pendingBytes;
      pending = [];
      pendingBytes = 0;
    };
    for await (const { header, stream: body } of tarEntries(stream)) {
      const parts = cleanEntryPath(header.name);
      const rel = parts.join("/");
      if (rel === "") {
        body.resume();
        continue;
      }
      const base = { mode: (header.mode ?? 0o644) & 0o7777, uid: header.uid ?? 0, gid: header.gid ?? 0, mtime: header.mtime ?? new Date(0), linkname: "", offset: 0, digest: "" };
      let entry: Entry;
      if (header.type === "directory") {
        body.resume();
        entry = { ...base, type: "dir", size: 0 };
      } else if (header.type === "symlink") {
        body.resume();
        entry = { ...base, type: "symlink", size: 0, linkname: header.linkname ?? "" };
      } else if (header.type === "link") {
        body.resume();
        const target = this.#entries.get(cleanEntryPath(header.linkname ?? "").join("/"));
        if (target?.type !== "file") throw new InvalidArgumentError(`invalid context: hard link ${rel} to a missing file`);
        entry = { ...target, mode: base.mode, mtime: base.mtime };
      } else if (header.type === "file" || header.type === "contiguous-file") {
        const hash = createHash("sha256");
        const start = offset;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          hash.update(chunk);
          pending.push(chunk);
          pendingBytes += chunk.length;
          offset += chunk.length;
          if (pendingBytes >= 1 << 20) await flush();
        }
        entry = { ...base, type: "file", size: offset - start, offset: start, digest: hash.digest("hex") };
      } else {
        body.resume();
        continue;
      }
      this.#add(parts, entry);
    }
    await flush();
  }

  #add(parts: string[], entry: Entry): void {
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      const existing = this.#entries.get(dir);
      if (existing?.type === "dir") continue;
      // A parent the tar never listed (or listed as a file, then as a dir's parent: the dir wins).
      this.#entries.set(dir, dirEntry(0o755));
      this.#link(parts.slice(0, i));
    }
    const rel = parts.join("/");
    const previous = this.#entries.get(rel);
    if (previous?.type === "dir" && entry.type === "dir") {
      // A directory listed after its contents keeps them; only its metadata changes.
      this.#entries.set(rel, entry);
      return;
    }
    if (previous) this.#drop(rel);
    this.#entries.set(rel, entry);
    this.#link(parts);
  }

  #link(parts: string[]): void {
    const rel = parts.join("/");
    const parent = parts.slice(0, -1).join("/");
    let set = this.#children.get(parent);
    if (!set) this.#children.set(parent, (set = new Set()));
    set.add(parts.at(-1)!);
    if (this.#entries.get(rel)?.type === "dir" && !this.#children.has(rel)) this.#children.set(rel, new Set());
  }

  #drop(rel: string): void {
    for (const name of this.#children.get(rel) ?? []) this.#drop(rel ? `${rel}/${name}` : name);
    this.#children.delete(rel);
    this.#entries.delete(rel);
    const parent = posix.dirname(rel) === "." ? "" : posix.dirname(rel);
    this.#children.get(parent)?.delete(posix.basename(rel));
  }

  /** Drops what `.dockerignore` excludes; `keep` (the Dockerfile, `.dockerignore`) stays readable. */
  applyIgnore(ignore: DockerIgnore, keep: string[]): void {
    for (const rel of [...this.#entries.keys()].sort()) {
      if (rel === "" || keep.includes(rel) || !this.#entries.has(rel)) continue;
      const entry = this.#entries.get(rel)!;
      if (!ignore.excludes(rel, entry.type === "dir")) continue;
      if (entry.type === "dir" && ignore.mayIncludeUnder(rel)) continue;
      this.#drop(rel);
    }
  }

  /** The text of a file (the Dockerfile, `.dockerignore`), or undefined when missing. */
  async readText(rel: string): Promise<string | undefined> {
    const resolved = await this.resolve(posix.normalize(rel));
    const e = this.#entries.get(resolved);
    if (e?.type !== "file") return undefined;
    return (await this.#read(e)).toString("utf8");
  }

  async #read(e: Entry): Promise<Buffer> {
    const buf = Buffer.alloc(e.size);
    let done = 0;
    while (done < e.size) {
      const { bytesRead } = await this.#data.read(buf, done, e.size - done, e.offset + done);
      if (bytesRead === 0) throw new InvalidArgumentError("context data ended early");
      done += bytesRead;
    }
    return buf;
  }

  async stat(rel: string): Promise<TreeNode | undefined> {
    const e = this.#entries.get(rel);
    return e ? { ...e } : undefined;
  }

  async children(rel: string): Promise<string[]> {
    return [...(this.#children.get(rel) ?? [])].sort();
  }

  async resolve(rel: string): Promise<string> {
    const pending = rel.split("/").filter((p) => p !== "" && p !== ".");
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === "..") {
        done.pop();
        continue;
      }
      const candidate = [...done, part].join("/");
      const e = this.#entries.get(candidate);
      if (e?.type !== "symlink") {
        done.push(part);
        continue;
      }
      if (++links > maxSymlinks) throw new InvalidArgumentError(`too many levels of symbolic links: ${rel}`);
      const target = e.linkname.split("/").filter((p) => p !== "" && p !== ".");
      if (e.linkname.startsWith("/")) done.length = 0;
      pending.unshift(...target);
    }
    return done.join("/");
  }

  async copyFileTo(rel: string, hostPath: string): Promise<void> {
    const e = this.#entries.get(rel);
    if (e?.type !== "file") throw new InvalidArgumentError(`not a file in the build context: ${rel}`);
    const out = await open(hostPath, "w", 0o600);
    try {
      // Big files go through in slices; most context files are one read and one write.
      const slice = 4 << 20;
      for (let done = 0; done < e.size; ) {
        const n = Math.min(slice, e.size - done);
        const buf = await this.#read({ ...e, offset: e.offset + done, size: n });
        await out.write(buf, 0, n);
        done += n;
      }
    } finally {
      await out.close();
    }
  }

  openRead(rel: string): Readable {
    const e = this.#entries.get(rel);
    if (e?.type !== "file") throw new InvalidArgumentError(`not a file in the build context: ${rel}`);
    // An empty range would read to the end of the file: an empty file is an empty stream.
    if (e.size === 0) return Readable.from([]);
    return createReadStream(this.#dataPath, { start: e.offset, end: e.offset + e.size - 1 });
  }

  async fileDigest(rel: string): Promise<string> {
    return this.#entries.get(rel)?.digest ?? "";
  }

  async close(): Promise<void> {
    await this.#data.close().catch(() => undefined);
    await rm(this.#dataPath, { force: true });
  }
}

function dirEntry(mode: number): Entry {
  return { type: "dir", mode, uid: 0, gid: 0, mtime: new Date(0), size: 0, linkname: "", offset: 0, digest: "" };
}
