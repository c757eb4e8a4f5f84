/**
 * The embedded DNS server of a user-defined network.
 *
 * Placement: the daemon listens on the network's gateway address, port 53
 * (UDP and TCP), and the containers' resolv.conf names that address. Docker
 * instead answers on 127.0.0.11 inside every container's namespace, which
 * needs a socket opened in each netns (Docker's Go code does a setns per
 * thread; Node cannot) or an extra process per container. The gateway is
 * reachable from every container of the network, the daemon is in the
 * host's namespace already, and forwarding from there can use the host's
 * own resolvers, loopback ones (127.0.0.53) included. Only clients inside
 * the network's subnet (and the host itself) get answers: the server is no
 * open resolver for whoever routes to the gateway.
 *
 * Names the network knows (container names, aliases, short IDs) get A
 * records (TTL 600, like Docker); AAAA for them is an empty NOERROR so
 * resolvers don't go on to the upstreams; PTR for their addresses too.
 * Everything else is relayed byte for byte to the client's upstreams
 * (`--dns` or the host's), UDP over UDP and TCP over TCP.
 *
 * Packets are parsed with `dns-packet` (mafintosh; the de-facto standard
 * codec, used by multicast-dns and bonjour): name compression, EDNS OPT
 * records and malformed input are its job, not ours.
 * https://datatracker.ietf.org/doc/html/rfc1035#section-4
 */
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from "node:dgram";
import { createServer, connect, type Server, type Socket } from "node:net";
import * as dnsPacket from "dns-packet";
import type { Logger } from "../lib/logger.js";

export interface DnsResolver {
  /** Whether `client` may ask (it is inside the network's subnet). */
  allowed(client: string): boolean;
  /** Addresses for `name` (lower-case, no trailing dot) as seen by `client`, or null when the name is not ours. */
  lookup(client: string, name: string): string[] | null;
  /** The name for an address of ours, or null. */
  reverse(client: string, ip: string): string | null;
  /** `host` or `host:port` / `[v6]:port` servers to forward to, in order. */
  upstreams(client: string): string[];
}

export interface DnsServerOptions {
  address: string;
  /** Default 53. */
  port?: number;
  resolver: DnsResolver;
  log: Logger;
  /** Per-upstream timeout. Default 2000 ms. */
  timeoutMs?: number;
}

const RCODE_SERVFAIL = 2;
const RCODE_REFUSED = 5;
const TTL = 600;

export class DnsServer {
  readonly address: string;
  readonly port: number;
  readonly #udp: UdpSocket;
  readonly #tcp: Server;
  readonly #opts: DnsServerOptions;
  readonly #conns = new Set<Socket>();

  private constructor(opts: DnsServerOptions, udp: UdpSocket, tcp: Server, port: number) {
    this.#opts = opts;
    this.address = opts.address;
    this.port = port;
    this.#udp = udp;
    this.#tcp = tcp;
  }

  /** Bind UDP and TCP on `address:port`. Rejects (with the socket error) when either cannot be bound. */
  static async start(opts: DnsServerOptions): Promise<DnsServer> {
    const udp = createSocket({ type: "udp4" });
    const port = await new Promise<number>((resolve, reject) => {
      udp.once("error", reject);
      udp.bind({ address: opts.address, port: opts.port ?? 53, exclusive: true }, () => {
        udp.off("error", reject);
        resolve(udp.address().port);
      });
    });
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen({ host: opts.address, port, exclusive: true }, () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    const server = new DnsServer(opts, udp, tcp, port);
    udp.on("message", (msg, rinfo) => server.#onUdp(msg, rinfo));
    udp.on("error", (err) => opts.log.warn(`dns ${opts.address}: udp: ${err.message}`));
    tcp.on("connection", (s) => server.#onTcp(s));
    udp.unref();
    tcp.unref();
    return server;
  }

  async close(): Promise<void> {
    for (const s of this.#conns) s.destroy();
    await Promise.all([
      new Promise<void>((r) => this.#udp.close(() => r())),
      new Promise<void>((r) => this.#tcp.close(() => r())),
    ]);
  }

  #onUdp(msg: Buffer, rinfo: RemoteInfo): void {
    this.#answer(msg, rinfo.address, "udp").then(
      (reply) => {
        if (reply) this.#udp.send(reply, rinfo.port, rinfo.address);
      },
      (err: unknown) => this.#opts.log.warn(`dns ${this.address}: ${String(err)}`),
    );
  }

  #onTcp(socket: Socket): void {
    this.#conns.add(socket);
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on("close", () => this.#conns.delete(socket));
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    const client = (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        this.#answer(Buffer.from(msg), client, "tcp").then(
          (reply) => {
            if (reply && !socket.destroyed) socket.write(frame(reply));
          },
          (err: unknown) => this.#opts.log.warn(`dns ${this.address}: ${String(err)}`),
        );
      }
    });
  }

  /** The reply to one query, or null to stay silent (garbage in). */
  async #answer(msg: Buffer, client: string, transport: "udp" | "tcp"): Promise<Buffer | null> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return null;
    }
    if (query.type !== "query") return null;
    const resolver = this.#opts.resolver;
    const questions = query.questions ?? [];
    if (!resolver.allowed(client)) return reply(query, RCODE_REFUSED, []);
    const q = questions[0];
    if (questions.length === 1 && q && (q.class ?? "IN") === "IN") {
      const name = q.name.toLowerCase().replace(/\.$/, "");
      if (q.type === "A" || q.type === "AAAA") {
        const ips = resolver.lookup(client, name);
        if (ips) {
          const answers: dnsPacket.Answer[] =
            q.type === "A" ? ips.map((ip) => ({ type: "A", name: q.name, ttl: TTL, class: "IN", data: ip })) : [];
          return reply(query, 0, answers);
        }
      } else if (q.type === "PTR") {
        const ip = ptrToIp(name);
        const target = ip === null ? null : resolver.reverse(client, ip);
        if (target) return reply(query, 0, [{ type: "PTR", name: q.name, ttl: TTL, class: "IN", data: target }]);
      }
    }
    for (const upstream of resolver.upstreams(client)) {
      const { host, port } = parseUpstream(upstream);
      try {
        return transport === "udp" ? await forwardUdp(msg, host, port, this.#opts.timeoutMs ?? 2000) : await forwardTcp(msg, host, port, this.#opts.timeoutMs ?? 2000);
      } catch (err) {
        this.#opts.log.debug(`dns ${this.address}: upstream ${upstream}: ${String(err)}`);
      }
    }
    return reply(query, RCODE_SERVFAIL, []);
  }
}

function reply(query: dnsPacket.DecodedPacket, rcode: number, answers: dnsPacket.Answer[]): Buffer {
  const authoritative = rcode === 0 ? dnsPacket.AUTHORITATIVE_ANSWER : 0;
  return dnsPacket.encode({
    type: "response",
    id: query.id ?? 0,
    // Echo RD, offer RA (we forward), rcode in the low 4 bits.
    flags: (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE | authoritative | rcode,
    questions: query.questions ?? [],
    answers,
  });
}

function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length);
  return Buffer.concat([len, msg]);
}

/** `4.3.2.1.in-addr.arpa` → `1.2.3.4` */
export function ptrToIp(name: string): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
  return m ? `${m[4]}.${m[3]}.${m[2]}.${m[1]}` : null;
}

export function parseUpstream(spec: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : 53 };
  const v4 = /^([^:]+):(\d+)$/.exec(spec);
  if (v4) return { host: v4[1]!, port: Number(v4[2]) };
  return { host: spec, port: 53 };
}

function forwardUdp(msg: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
    const id = msg.readUInt16BE(0);
    const timer = setTimeout(() => done(new Error("timeout")), timeoutMs);
    const done = (err: Error | null, reply?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    socket.on("error", (err) => done(err));
    socket.on("message", (reply) => {
      // Anything but the answer to our ID (spoofing, stray packets) is ignored.
      if (reply.length >= 2 && reply.readUInt16BE(0) === id) done(null, reply);
    });
    socket.send(msg, port, host);
  });
}

function forwardTcp(msg: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let buf = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error("timeout"));
    });
    socket.on("error", reject);
    socket.on("connect", () => socket.write(frame(msg)));
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        socket.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    socket.on("close", () => reject(new Error("connection closed")));
  });
}
