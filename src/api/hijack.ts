import { PassThrough, type Duplex } from "node:stream";
import type { RouteContext } from "./router.js";

/**
 * Takes over the connection for attach and exec start. With `Upgrade: tcp`
 * (docker CLI, dockerode with hijack) we answer `101 UPGRADED` and the socket
 * becomes a raw duplex: the client's writes are the container's stdin.
 * Without it (plain streaming clients) we stream output over the response and
 * there is no stdin.
 */
export interface HijackedStream {
  /** Writable towards the client. */
  write(data: Buffer): void;
  /** The client's bytes (stdin), or undefined for non-upgraded requests. */
  input: Duplex | undefined;
  end(): void;
  /** Resolves when the client goes away. */
  closed: Promise<void>;
}

export function hijack(ctx: RouteContext, contentType: string): HijackedStream {
  if (ctx.upgrade) {
    const { socket, head } = ctx.upgrade;
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    // A request body (dockerode sends its options as JSON) is not stdin: skip it, as Docker does.
    const bodyLength = Number(ctx.req.headers["content-length"] ?? 0) || 0;
    const rest = head.subarray(Math.min(bodyLength, head.length));
    if (rest.length > 0) socket.unshift(rest);
    const input = bodyLength > head.length ? skipBytes(socket, bodyLength - head.length) : socket;
    const closed = new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.once("error", () => resolve());
    });
    return {
      write: (data) => {
        if (!socket.destroyed) socket.write(data);
      },
      input,
      end: () => {
        if (!socket.destroyed) socket.end();
      },
      closed,
    };
  }
  const res = ctx.res!;
  res.writeHead(200, { "Content-Type": contentType });
  res.flushHeaders();
  const closed = new Promise<void>((resolve) => res.once("close", () => resolve()));
  return {
    write: (data) => {
      if (!res.writableEnded) res.write(data);
    },
    input: undefined,
    end: () => {
      if (!res.writableEnded) res.end();
    },
    closed,
  };
}

/** The socket's data after the first `n` bytes, as a stream that also ends when the socket does. */
function skipBytes(socket: Duplex, n: number): Duplex {
  let remaining = n;
  const out = new PassThrough();
  socket.on("data", (chunk: Buffer) => {
    if (remaining >= chunk.length) {
      remaining -= chunk.length;
      return;
    }
    out.write(chunk.subarray(remaining));
    remaining = 0;
  });
  socket.once("end", () => out.end());
  return out;
}
