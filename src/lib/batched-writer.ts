import type { FileHandle } from "node:fs/promises";

/** Bytes gathered before one write: large enough to amortize a syscall and a promise round trip per 16–64 KiB socket chunk. */
export const defaultBatchBytes = 1 << 20;

/** For `syncEveryBytes` of files that get an fsync at the end: large enough that the syncs cost little, small enough that the last one has little to wait for. */
export const syncAheadBytes = 16 << 20;

/**
 * A partial batch waits at most this long: what a slow or stalled sender
 * sent reaches the file soon (an upload session's offset is its file's
 * size, and a resumed upload starts there).
 */
const idleFlushMs = 20;

/**
 * Appends many small chunks to a file in few large `writev` calls, with one
 * batch on its way to the disk while the next one gathers, so the producer
 * (a socket, a gunzip) is not paused for every write.
 *
 * A partial batch is written after a short pause too (see idleFlushMs).
 *
 * With `syncEveryBytes`, an `fdatasync` starts in the background each time
 * that many bytes were written (one at a time), so the disk writes a large
 * file back while it arrives and the caller's final `fsync` before its
 * rename finds little left to do: that fsync is still what makes the file
 * durable. A failed background sync is thrown like a failed write (Linux
 * reports a writeback error to one fsync only, so it must not be dropped).
 *
 * `write` keeps the buffers it is given (no copy) until they are written:
 * callers must not reuse them, which chunks read off a stream never are (a
 * readable may not touch a chunk it pushed: its consumer may buffer it).
 * `flush` writes what is pending and waits for it; call it before `sync` or
 * `close`. After a failed write every later
 * `write` and `flush` throws that error; `written` counts only bytes that
 * reached the file.
 */
export class BatchedWriter {
  readonly #fh: FileHandle;
  readonly #batchBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #inFlight: Promise<void> | undefined;
  #error: unknown;
  #written = 0;
  #timer: NodeJS.Timeout | undefined;

  readonly #syncEveryBytes: number;
  #sinceSync = 0;
  #syncing: Promise<void> | undefined;

  constructor(fh: FileHandle, opts: { batchBytes?: number; syncEveryBytes?: number } = {}) {
    this.#fh = fh;
    this.#batchBytes = opts.batchBytes ?? defaultBatchBytes;
    this.#syncEveryBytes = opts.syncEveryBytes ?? 0;
  }

  /** Bytes known to be in the file (written, not necessarily synced). */
  get written(): number {
    return this.#written;
  }

  /** Queues `chunk`; waits only when a full batch must go while the previous one is still being written. */
  async write(chunk: Buffer): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (chunk.length === 0) return;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes < this.#batchBytes) {
      this.#timer ??= setTimeout(() => this.#idle(), idleFlushMs).unref();
      return;
    }
    await this.#settle();
    this.#inFlight = this.#send();
  }

  /** Writes everything queued and waits for it (and for a background sync). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#settle();
    if (this.#pendingBytes > 0) {
      this.#inFlight = this.#send();
      await this.#settle();
    }
    await this.#syncing;
    if (this.#error !== undefined) throw this.#error;
  }

  /** Waits until no batch is on its way. #inFlight stays set meanwhile, so the idle timer cannot start a second, out-of-order write. */
  async #settle(): Promise<void> {
    while (this.#inFlight) {
      const p = this.#inFlight;
      await p;
      if (this.#inFlight === p) this.#inFlight = undefined;
    }
    if (this.#error !== undefined) throw this.#error;
  }

  #idle(): void {
    this.#timer = undefined;
    if (this.#pendingBytes === 0 || this.#error !== undefined) return;
    // A batch still on its way: look again later rather than queue behind it.
    if (this.#inFlight) this.#timer = setTimeout(() => this.#idle(), idleFlushMs).unref();
    else this.#inFlight = this.#send();
  }

  /** Never rejects: a failure is kept in #error for the next caller to throw. */
  async #send(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    let bufs = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      // writev may write less than asked (a full disk, a signal): go on from where it stopped.
      while (bufs.length > 0) {
        let n = (await this.#fh.writev(bufs)).bytesWritten;
        this.#written += n;
        this.#sinceSync += n;
        while (bufs.length > 0 && n >= bufs[0]!.length) n -= bufs.shift()!.length;
        if (n > 0) bufs = [bufs[0]!.subarray(n), ...bufs.slice(1)];
      }
      if (this.#syncEveryBytes > 0 && this.#sinceSync >= this.#syncEveryBytes && !this.#syncing) {
        this.#sinceSync = 0;
        this.#syncing = this.#fh.datasync().then(
          () => void (this.#syncing = undefined),
          (err: unknown) => {
            this.#error ??= err;
            this.#syncing = undefined;
          },
        );
      }
    } catch (err) {
      this.#error ??= err;
    }
  }
}
