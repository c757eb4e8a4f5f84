import type { FileHandle } from "node:fs/promises";

/** Bytes gathered before one write: large enough to amortize a syscall and a promise round trip per 16–64 KiB socket chunk. */
export const defaultBatchBytes = 1 << 20;

/**
 * Appends many small chunks to a file in few large `writev` calls, with one
 * batch on its way to the disk while the next one gathers, so the producer
 * (a socket, a gunzip) is not paused for every write.
 *
 * `write` keeps the buffers it is given (no copy) until they are written:
 * callers must not reuse them, which chunks read off a stream never are
 * (a readable may not touch a chunk it pushed: its consumer may buffer it). `flush` writes what is pending and waits for
 * it; call it before `sync` or `close`. After a failed write every later
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

  constructor(fh: FileHandle, batchBytes = defaultBatchBytes) {
    this.#fh = fh;
    this.#batchBytes = batchBytes;
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
    if (this.#pendingBytes < this.#batchBytes) return;
    await this.#settle();
    this.#inFlight = this.#send();
  }

  /** Writes everything queued and waits for it. */
  async flush(): Promise<void> {
    await this.#settle();
    if (this.#pendingBytes > 0) {
      this.#inFlight = this.#send();
      await this.#settle();
    }
  }

  async #settle(): Promise<void> {
    const p = this.#inFlight;
    this.#inFlight = undefined;
    if (p) await p;
    if (this.#error !== undefined) throw this.#error;
  }

  /** Never rejects: a failure is kept in #error for the next caller to throw. */
  async #send(): Promise<void> {
    let bufs = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      // writev may write less than asked (a full disk, a signal): go on from where it stopped.
      while (bufs.length > 0) {
        let n = (await this.#fh.writev(bufs)).bytesWritten;
        this.#written += n;
        while (bufs.length > 0 && n >= bufs[0]!.length) n -= bufs.shift()!.length;
        if (n > 0) bufs = [bufs[0]!.subarray(n), ...bufs.slice(1)];
      }
    } catch (err) {
      this.#error = err;
    }
  }
}
