/**
 * Demultiplexes Docker's stdcopy framing, used on attach/logs/exec streams of
 * containers without a tty: each frame is an 8-byte header — stream type
 * (0 stdin, 1 stdout, 2 stderr, 3 system error), three zero bytes, uint32
 * big-endian payload length — followed by the payload.
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerAttach
 */
import type { Readable, Writable } from "node:stream";
import { InternalError } from "../lib/errors.js";

export type StdStream = "stdin" | "stdout" | "stderr" | "system";

const streamOfType: readonly StdStream[] = ["stdin", "stdout", "stderr", "system"];

/** Incremental parser: feed it chunks in any split, get whole frames out. */
export class StdcopyParser {
  #pending: Buffer = Buffer.alloc(0);

  /** Returns the frames completed by this chunk (payloads may be split across calls; frames never are). */
  push(chunk: Buffer): Array<{ stream: StdStream; payload: Buffer }> {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: Array<{ stream: StdStream; payload: Buffer }> = [];
    let off = 0;
    while (this.#pending.length - off >= 8) {
      const type = this.#pending[off]!;
      const stream = streamOfType[type];
      if (stream === undefined) {
        throw new InternalError(`unrecognized input header: ${type}`);
      }
      const len = this.#pending.readUInt32BE(off + 4);
      if (this.#pending.length - off - 8 < len) break;
      frames.push({ stream, payload: this.#pending.subarray(off + 8, off + 8 + len) });
      off += 8 + len;
    }
    this.#pending = this.#pending.subarray(off);
    return frames;
  }

  /** Bytes of an incomplete frame still waiting for the rest. */
  get pendingBytes(): number {
    return this.#pending.length;
  }
}

/** Encodes one frame (for tests and for servers). */
export function encodeFrame(stream: 0 | 1 | 2 | 3, payload: Buffer | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Writes and waits for `drain` when the destination is full, so a slow reader slows the daemon. */
export function writeAsync(dest: Writable, data: Buffer | string): Promise<void> | undefined {
  if (dest.write(data)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      dest.off("drain", done);
      dest.off("close", done);
      dest.off("error", done);
      resolve();
    };
    dest.on("drain", done);
    dest.on("close", done);
    dest.on("error", done);
  });
}

/**
 * Copies a multiplexed stream to stdout/stderr until it ends. A system-error
 * frame (type 3) ends the copy with that message as an error, as docker's
 * stdcopy does.
 */
export async function demuxStream(source: Readable, stdout: Writable, stderr: Writable): Promise<void> {
  const parser = new StdcopyParser();
  for await (const chunk of source) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    for (const f of parser.push(buf)) {
      if (f.stream === "system") throw new InternalError(f.payload.toString("utf8"));
      const p = writeAsync(f.stream === "stderr" ? stderr : stdout, f.payload);
      if (p) await p;
    }
  }
}

/** Copies a raw (tty) stream to `dest` until it ends. */
export async function copyStream(source: Readable, dest: Writable): Promise<void> {
  for await (const chunk of source) {
    const p = writeAsync(dest, chunk as Buffer);
    if (p) await p;
  }
}
