/**
 * Host ports held for published container ports. The daemon keeps a bound
 * socket on each one (a listening TCP socket, a bound UDP socket) for as
 * long as the mapping lives, so no other program, and no second container,
 * can take the port — the kernel enforces it, as docker-proxy's listening
 * socket does for Docker. Traffic never reaches these sockets: the DNAT
 * rules redirect it before local delivery.
 */
import { createServer, type Server } from "node:net";
import { createSocket, type Socket } from "node:dgram";
import { ConflictError, InvalidArgumentError, errnoCode } from "../lib/errors.js";

export interface HostPort {
  protocol: "tcp" | "udp";
  /** `""` = 0.0.0.0 */
  hostIp: string;
  /** 0 = let the kernel pick from its ephemeral range. */
  hostPort: number;
}

/** Thrown when the port is taken; the manager turns it into Docker's message. */
export class PortInUseError extends ConflictError {
  readonly binding: string;
  constructor(binding: string) {
    super(`Bind for ${binding} failed: port is already allocated`);
    this.binding = binding;
  }
}

const keyOf = (protocol: string, ip: string, port: number) => `${protocol}/${ip || "0.0.0.0"}:${port}`;

export class PortReservations {
  readonly #held = new Map<string, Server | Socket>();

  /** Bind the port; resolves with the port number actually bound. */
  async reserve(p: HostPort): Promise<number> {
    const host = p.hostIp || "0.0.0.0";
    try {
      const { handle, port } = p.protocol === "tcp" ? await listenTcp(host, p.hostPort) : await bindUdp(host, p.hostPort);
      this.#held.set(keyOf(p.protocol, p.hostIp, port), handle);
      return port;
    } catch (err) {
      const code = errnoCode(err);
      if (code === "EADDRINUSE" || code === "EACCES") throw new PortInUseError(`${host}:${p.hostPort}`);
      if (code === "EADDRNOTAVAIL" || code === "EINVAL") {
        throw new InvalidArgumentError(`listen ${p.protocol}4 ${host}:${p.hostPort}: bind: cannot assign requested address`);
      }
      throw err;
    }
  }

  isHeld(p: HostPort): boolean {
    return this.#held.has(keyOf(p.protocol, p.hostIp, p.hostPort));
  }

  /** Let the port go. Safe for a port that is not held. */
  release(p: HostPort): void {
    const key = keyOf(p.protocol, p.hostIp, p.hostPort);
    const h = this.#held.get(key);
    if (!h) return;
    this.#held.delete(key);
    h.close();
  }

  releaseAll(): void {
    for (const h of this.#held.values()) h.close();
    this.#held.clear();
  }
}

function listenTcp(host: string, port: number): Promise<{ handle: Server; port: number }> {
  return new Promise((resolve, reject) => {
    // Should a connection slip past the DNAT rules (e.g. while they are rewritten), refuse it rather than hang.
    const server = createServer((s) => s.destroy());
    server.once("error", reject);
    server.listen({ host, port, exclusive: true, backlog: 1 }, () => {
      server.off("error", reject);
      // The daemon lives on its API server; held ports must not keep a test process alive.
      server.unref();
      const addr = server.address();
      resolve({ handle: server, port: typeof addr === "object" && addr ? addr.port : port });
    });
  });
}

function bindUdp(host: string, port: number): Promise<{ handle: Socket; port: number }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: "udp4" });
    socket.once("error", reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off("error", reject);
      socket.on("message", () => {});
      socket.unref();
      resolve({ handle: socket, port: socket.address().port });
    });
  });
}
