import { PassThrough } from "node:stream";
import { openSync, closeSync, constants as fsConstants } from "node:fs";
import { basename, dirname } from "node:path";
import type { SeqpacketSocket } from "node-unix-socket";
import type { AttachSession } from "./runtime.js";
import { FailedPreconditionError, errnoCode } from "../lib/errors.js";

/**
 * conmon tags each packet on the attach socket with the stream it came from:
 * its `stdpipe_t` (conmon `src/utils.h`): 1 stdin (never sent), 2 stdout,
 * 3 stderr. The rest of the packet is the data.
 */
const STDOUT_PIPE = 2;
const STDERR_PIPE = 3;

/**
 * conmon reads each packet we send into a 32 KiB buffer (CONN_SOCK_BUF_SIZE
 * in conmon `src/config.h`) and a SOCK_SEQPACKET read truncates what does
 * not fit, so stdin goes in packets well under that.
 */
const STDIN_PACKET = 8192;

/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

let seqpacket: Promise<typeof import("node-unix-socket")> | undefined;

/**
 * Connect to conmon's attach socket. The native module is loaded on first
 * use only, to keep the daemon's and CLI's start-up lean.
 * Throws `FailedPreconditionError` when nobody listens (conmon is gone).
 */
export async function connectAttachSocket(socketPath: string): Promise<AttachSession> {
  seqpacket ??= import("node-unix-socket");
  const { SeqpacketSocket } = await seqpacket;
  // Paths longer than sun_path go through the directory's /proc/self/fd
  // entry, as conmon itself does when it binds.
  let dirFd: number | null = null;
  let address = socketPath;
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    dirFd = openSync(dirname(socketPath), fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    address = `/proc/self/fd/${dirFd}/${basename(socketPath)}`;
  }
  const socket = new SeqpacketSocket();
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      try {
        socket.connect(address, () => {
          socket.off("error", reject);
          resolve();
        });
      } catch (err) {
        reject(err);
      }
    });
  } catch (err) {
    socket.destroy();
    throw new FailedPreconditionError(`cannot attach: ${describe(err)} (${socketPath})`, { cause: err });
  } finally {
    if (dirFd !== null) closeSync(dirFd);
  }
  return new ConmonAttachSession(socket);
}

function describe(err: unknown): string {
  const code = errnoCode(err);
  if (code === "ENOENT" || code === "ECONNREFUSED" || /ENOENT|ECONNREFUSED|No such file|refused/i.test(String(err))) {
    return "the container's monitor is not running";
  }
  return err instanceof Error ? err.message : String(err);
}

class ConmonAttachSession implements AttachSession {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly done: Promise<void>;
  #socket: SeqpacketSocket;
  #ended = false;
  #stdinClosed = false;
  #resolveDone!: () => void;

  constructor(socket: SeqpacketSocket) {
    this.#socket = socket;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    socket.on("data", (packet: Buffer) => {
      if (packet.length < 1) return;
      const data = packet.subarray(1);
      if (packet[0] === STDOUT_PIPE) this.stdout.write(data);
      else if (packet[0] === STDERR_PIPE) this.stderr.write(data);
    });
    // conmon closes every attach connection once the container has exited
    // and its output is drained, so 'end' is the end of the output.
    socket.on("end", () => this.#finish());
    socket.on("close", () => this.#finish());
    socket.on("error", () => this.#finish());
  }

  write(data: Uint8Array | string): Promise<void> {
    if (this.#ended || this.#stdinClosed) {
      return Promise.reject(new FailedPreconditionError("stdin of this attach session is closed"));
    }
    const buf = typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      try {
        for (let off = 0; off < buf.length; off += STDIN_PACKET) {
          const len = Math.min(STDIN_PACKET, buf.length - off);
          const last = off + len >= buf.length;
          this.#socket.write(buf, off, len, last ? resolve : undefined);
        }
      } catch (err) {
        reject(new FailedPreconditionError(`cannot write to the container's stdin: ${describe(err)}`, { cause: err }));
      }
    });
  }

  closeStdin(): void {
    if (this.#ended || this.#stdinClosed) return;
    this.#stdinClosed = true;
    try {
      // A FIN: conmon reads 0 bytes and, unless started with
      // --leave-stdin-open, closes the container's stdin. Output keeps coming.
      this.#socket.end();
    } catch {
      this.#finish();
    }
  }

  close(): void {
    if (this.#ended) return;
    try {
      this.#socket.destroy();
    } catch {
      // already gone
    }
    this.#finish();
  }

  #finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.stdout.end();
    this.stderr.end();
    try {
      this.#socket.destroy();
    } catch {
      // already gone
    }
    this.#resolveDone();
  }
}
