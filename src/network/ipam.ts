/**
 * IPv4 address arithmetic and the per-network address allocator. Pure: no
 * I/O, so the rules (which address is free, which subnets overlap) are unit
 * tested without a kernel. Leases are persisted by the manager (each
 * sandbox record lists its addresses); on start it replays them into
 * `SubnetAllocator.reserve`.
 */
import { ConflictError, InvalidArgumentError } from "../lib/errors.js";

/** An IPv4 prefix; `base` is the network address as an unsigned 32-bit number. */
export interface Cidr {
  base: number;
  prefixLen: number;
}

export function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return null;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i]!.length > 1 && m[i]!.startsWith("0"))) return null;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function maskOf(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

/**
 * `10.1.0.0/16` → Cidr. With `strict`, host bits must be zero (Docker's
 * "it should be 10.1.0.0/16"); otherwise they are kept out of `base` and the
 * address is returned separately (for `--bip 10.213.0.1/16`).
 */
export function parseCidr(text: string, strict = true): Cidr & { address: number } {
  const slash = text.indexOf("/");
  const ip = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  const prefixLen = slash < 0 ? NaN : Number(text.slice(slash + 1));
  if (ip === null || !Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 32 || !/^\d+$/.test(text.slice(slash + 1))) {
    throw new InvalidArgumentError(`invalid CIDR address: ${text}`);
  }
  const base = (ip & maskOf(prefixLen)) >>> 0;
  if (strict && base !== ip) {
    throw new InvalidArgumentError(`invalid subnet ${text}: it should be ${formatIpv4(base)}/${prefixLen}`);
  }
  return { base, prefixLen, address: ip };
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefixLen}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefixLen);
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefixLen)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const len = Math.min(a.prefixLen, b.prefixLen);
  return ((a.base & maskOf(len)) >>> 0) === ((b.base & maskOf(len)) >>> 0);
}

/**
 * The first `/childLen` inside `pool` that overlaps none of `taken`, or null
 * when the pool is exhausted.
 */
export function firstFreeSubnet(pool: Cidr, childLen: number, taken: readonly Cidr[]): Cidr | null {
  if (childLen < pool.prefixLen) return null;
  const step = 2 ** (32 - childLen);
  const count = 2 ** (childLen - pool.prefixLen);
  for (let i = 0; i < count; i++) {
    const candidate = { base: pool.base + i * step, prefixLen: childLen };
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  }
  return null;
}

/** 02:42 followed by the four address bytes, as Docker derives container MACs. */
export function macForIp(ip: number): string {
  const bytes = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/**
 * Hands out host addresses of one subnet (optionally restricted to an
 * `IPRange`), never the network, broadcast or gateway address. Allocation
 * goes round-robin after the last address handed out, so an address just
 * released is not reused at once (stale ARP entries and conntrack state in
 * peers would otherwise hit the new owner) — Docker's IPAM does the same.
 */
export class SubnetAllocator {
  readonly subnet: Cidr;
  readonly gateway: number;
  readonly #range: Cidr;
  readonly #used = new Set<number>();
  #next: number;

  constructor(subnet: Cidr, gateway: number, range?: Cidr) {
    this.subnet = subnet;
    this.gateway = gateway;
    this.#range = range ?? subnet;
    this.#next = this.#first();
  }

  #first(): number {
    return this.#range.base;
  }

  #usable(ip: number): boolean {
    const size = cidrSize(this.subnet);
    if (!contains(this.subnet, ip) || ip === this.gateway) return false;
    // /31 and /32 have no network/broadcast address (RFC 3021).
    if (size > 2 && (ip === this.subnet.base || ip === this.subnet.base + size - 1)) return false;
    return true;
  }

  /** Mark an address as taken (a lease read back from disk, or a requested `--ip`). ConflictError if it already is. */
  reserve(ip: number): void {
    if (!this.#usable(ip)) {
      throw new InvalidArgumentError(`no configured subnet or ip-range contain the IP address ${formatIpv4(ip)}`);
    }
    if (this.#used.has(ip)) throw new ConflictError(`Address already in use: ${formatIpv4(ip)}`);
    this.#used.add(ip);
  }

  isUsed(ip: number): boolean {
    return this.#used.has(ip);
  }

  /** The next free address; ConflictError when the range is full. */
  allocate(): number {
    const size = cidrSize(this.#range);
    const start = this.#next;
    for (let i = 0; i < size; i++) {
      const ip = this.#range.base + ((start - this.#range.base + i) % size);
      if (this.#usable(ip) && !this.#used.has(ip)) {
        this.#used.add(ip);
        this.#next = this.#range.base + ((ip - this.#range.base + 1) % size);
        return ip;
      }
    }
    throw new ConflictError(`no available IPv4 addresses on this network's address pools: ${formatCidr(this.subnet)}`);
  }

  /** Give an address back. Releasing a free address is a no-op. */
  release(ip: number): void {
    this.#used.delete(ip);
  }

  get usedCount(): number {
    return this.#used.size;
  }
}
