import { createHash, randomUUID, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { BlobInfo, Digest } from "../content/content-store.js";
import { fsyncDir, writeFileAtomic } from "../lib/atomic-file.js";
import { BatchedWriter, syncAheadBytes } from "../lib/batched-writer.js";
import { errnoCode } from "../lib/errors.js";
import { isUploadId } from "./names.js";
import { registryError } from "./registry-errors.js";
import type { RegistryBlobs, UploadSessions, UploadStatus } from "./registry-server.js";

interface SessionRecord {
  repository: string;
  started: string;
}

/** The running hash of a session's bytes, valid while `offset` equals the data file's size. */
interface RunningHash {
  hash: Hash;
  offset: number;
}

/**
 * Upload sessions in `<root>/uploads/<uuid>/` (`data`: the bytes so far;
 * `session.json`: the owning repository). The data file's size is the
 * session's offset, so whatever reached the file before a client vanished
 * or the server was killed is where the client resumes.
 *
 * The sha256 of the bytes is kept running in memory while the server lives,
 * so finishing an upload costs no re-read; after a restart it is rebuilt
 * from the file on the next append or at finish. Appends and finishes of
 * one session are serialized.
 */
export class FileUploadSessions implements UploadSessions {
  readonly #dir: string;
  readonly #blobs: RegistryBlobs;
  readonly #hashes = new Map<string, RunningHash>();
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(root: string, blobs: RegistryBlobs) {
    this.#dir = join(root, "uploads");
    this.#blobs = blobs;
  }

  /** Opens the sessions of `root`, dropping half-created and half-removed ones. */
  static async open(root: string, blobs: RegistryBlobs): Promise<FileUploadSessions> {
    const s = new FileUploadSessions(root, blobs);
    await mkdir(s.#dir, { recursive: true });
    for (const e of await readdir(s.#dir)) {
      if (!isUploadId(e)) await rm(join(s.#dir, e), { recursive: true, force: true });
    }
    return s;
  }

  /** Sessions of `root` without the cleanup of `open` (gc may look while a server runs). */
  static view(root: string, blobs: RegistryBlobs): FileUploadSessions {
    return new FileUploadSessions(root, blobs);
  }

  #serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.#locks.set(id, tail);
    void tail.then(() => {
      if (this.#locks.get(id) === tail) this.#locks.delete(id);
    });
    return next;
  }

  #data(id: string): string {
    return join(this.#dir, id, "data");
  }

  async start(repository: string): Promise<UploadStatus> {
    const id = randomUUID();
    // Built under a name `open` would drop, then renamed: a session exists whole or not at all.
    const tmp = join(this.#dir, `.new-${id}`);
    await mkdir(tmp, { recursive: true });
    await writeFileAtomic(join(tmp, "session.json"), JSON.stringify({ repository, started: new Date().toISOString() } satisfies SessionRecord));
    const fh = await open(join(tmp, "data"), "wx", 0o600);
    await fh.close();
    await rename(tmp, join(this.#dir, id));
    await fsyncDir(this.#dir);
    this.#hashes.set(id, { hash: createHash("sha256"), offset: 0 });
    return { id, repository, offset: 0 };
  }

  async status(repository: string, id: string): Promise<UploadStatus | undefined> {
    if (!isUploadId(id)) return undefined;
    let record: SessionRecord;
    let size: number;
    try {
      record = JSON.parse(await readFile(join(this.#dir, id, "session.json"), "utf8")) as SessionRecord;
      size = (await stat(this.#data(id))).size;
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return undefined;
      throw err;
    }
    if (record.repository !== repository) return undefined;
    return { id, repository, offset: size };
  }

  async #require(repository: string, id: string): Promise<UploadStatus> {
    const st = await this.status(repository, id);
    if (!st) throw registryError("BLOB_UPLOAD_UNKNOWN", `blob upload unknown to registry: ${id}`, { detail: { uuid: id } });
    return st;
  }

  /** The running hash at `offset`, rebuilt from the file when the server lost it (restart) or it drifted. */
  async #runningHash(id: string, offset: number): Promise<RunningHash> {
    const known = this.#hashes.get(id);
    if (known && known.offset === offset) return known;
    const hash = createHash("sha256");
    if (offset > 0) {
      for await (const chunk of createReadStream(this.#data(id), { start: 0, end: offset - 1 })) hash.update(chunk as Buffer);
    }
    const rebuilt = { hash, offset };
    this.#hashes.set(id, rebuilt);
    return rebuilt;
  }

  append(
    repository: string,
    id: string,
    body: AsyncIterable<Uint8Array>,
    opts: { at?: number; limit?: number } = {},
  ): Promise<UploadStatus> {
    return this.#serial(id, async () => {
      const st = await this.#require(repository, id);
      if (opts.at !== undefined && opts.at !== st.offset) {
        throw registryError("RANGE_INVALID", `chunk starts at ${opts.at}, upload is at ${st.offset}`);
      }
      const running = await this.#runningHash(id, st.offset);
      const fh = await open(this.#data(id), "a");
      // commitFile's fsync at finish then finds most of a large upload written back already.
      const out = new BatchedWriter(fh, { syncEveryBytes: syncAheadBytes });
      let taken = 0;
      let overflow = false;
      try {
        for await (const chunk of body) {
          let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
          if (opts.limit !== undefined && taken + buf.length > opts.limit) {
            // Keep reading (and dropping) the rest: breaking out would destroy the socket before we can answer.
            overflow = true;
            buf = buf.subarray(0, Math.max(0, opts.limit - taken));
          }
          if (buf.length === 0) continue;
          running.hash.update(buf);
          running.offset += buf.length;
          taken += buf.length;
          await out.write(buf);
        }
      } finally {
        // What arrived before a stream error stays appended: the client resumes after it.
        try {
          await out.flush();
        } catch (err) {
          // The file may hold part of a batch: the next append rebuilds the hash from it.
          this.#hashes.delete(id);
          throw err;
        } finally {
          await fh.close();
        }
      }
      if (overflow) {
        throw registryError("BLOB_UPLOAD_INVALID", `the chunk is longer than its Content-Range (${opts.limit} bytes); ${opts.limit} kept`);
      }
      return { id, repository, offset: st.offset + taken };
    });
  }

  finish(repository: string, id: string, digest: Digest): Promise<BlobInfo> {
    return this.#serial(id, async () => {
      const st = await this.#require(repository, id);
      const running = await this.#runningHash(id, st.offset);
      this.#hashes.delete(id);
      const actual = `sha256:${running.hash.digest("hex")}`;
      if (actual !== digest) {
        await this.#remove(id);
        throw registryError("DIGEST_INVALID", `provided digest did not match uploaded content: got ${actual}, expected ${digest}`, {
          detail: { digest },
        });
      }
      const info = await this.#blobs.commitFile(this.#data(id), digest);
      await this.#remove(id);
      return info;
    });
  }

  cancel(repository: string, id: string): Promise<boolean> {
    return this.#serial(id, async () => {
      if (!(await this.status(repository, id))) return false;
      await this.#remove(id);
      return true;
    });
  }

  /** Rename first, so a crash mid-removal leaves something `open` drops, never a session without its data. */
  async #remove(id: string): Promise<void> {
    this.#hashes.delete(id);
    const trash = join(this.#dir, `.trash-${id}`);
    try {
      await rename(join(this.#dir, id), trash);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return;
      throw err;
    }
    await rm(trash, { recursive: true, force: true });
  }

  async list(): Promise<Array<{ id: string; modified: Date }>> {
    const out: Array<{ id: string; modified: Date }> = [];
    let entries: string[];
    try {
      entries = await readdir(this.#dir);
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return out;
      throw err;
    }
    for (const id of entries) {
      if (!isUploadId(id)) continue;
      try {
        out.push({ id, modified: (await stat(this.#data(id))).mtime });
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw err;
        out.push({ id, modified: new Date(0) });
      }
    }
    return out;
  }

  /** Removes a session whatever its repository (gc). */
  async purge(id: string): Promise<void> {
    if (isUploadId(id)) await this.#remove(id);
  }
}
