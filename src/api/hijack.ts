import type { Duplex } from "node:stream";
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
    // `head` is what the client sent after its request body: already stdin.
    if (head.length > 0) socket.unshift(head);
    const closed = new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.once("error", () => resolve());
    });
    return {
      write: (data) => {
        if (!socket.destroyed) socket.write(data);
      },
      input: socket,
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

