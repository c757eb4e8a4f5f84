import { isIPv4 } from "node:net";
import { InvalidArgumentError } from "../lib/errors.js";
import { defaultDomain, parseReference, type Reference } from "../image/reference.js";

/**
 * Where a reference's registry is reached, as dockerd decides it
 * (https://docs.docker.com/reference/cli/dockerd/#insecure-registries):
 * `docker.io` is served by `registry-1.docker.io`; `localhost`, loopback
 * addresses and the `--insecure-registry` hosts (or CIDR ranges) speak
 * plain HTTP; everything else HTTPS. (dockerd also tries HTTPS first for
 * insecure hosts; Wharf goes straight to HTTP, which is what such a host
 * serves in practice.)
 */
export interface RegistryEndpoint {
  /** The domain as it appears in references: `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** `https://registry-1.docker.io`, `http://localhost:5000`: no trailing slash. */
  readonly baseUrl: string;
  readonly insecure: boolean;
}

export const dockerHubRegistryHost = "registry-1.docker.io";

export function resolveEndpoint(domain: string, insecureRegistries: readonly string[] = []): RegistryEndpoint {
  const d = domain.toLowerCase();
  if (d === defaultDomain || d === "index.docker.io" || d === dockerHubRegistryHost) {
    return { domain: defaultDomain, baseUrl: `https://${dockerHubRegistryHost}`, insecure: false };
  }
  const insecure = isLoopback(d) || insecureRegistries.some((entry) => matchesInsecure(entry, d));
  return { domain, baseUrl: `${insecure ? "http" : "https"}://${domain}`, insecure };
}

/** Host part of `host[:port]` / `[v6]:port`. */
function hostPart(domain: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(domain);
  if (v6) return v6[1]!;
  return domain.replace(/:\d+$/, "");
}

function isLoopback(domain: string): boolean {
  const h = hostPart(domain);
  return h === "localhost" || h === "::1" || (isIPv4(h) && h.startsWith("127."));
}

/** An `--insecure-registry` value: `host`, `host:port`, or an IPv4 CIDR. */
function matchesInsecure(entry: string, domain: string): boolean {
  const e = entry.trim().toLowerCase().replace(/^https?:\/\//, "").replace(/\/+$/, "");
  if (e === domain) return true;
  if (!e.includes(":") && !e.includes("/") && e === hostPart(domain)) return true;
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(e);
  const h = hostPart(domain);
  if (cidr && isIPv4(h)) {
    const bits = Number(cidr[2]);
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return (ipv4(cidr[1]!) & mask) === (ipv4(h) & mask);
  }
  return false;
}

function ipv4(s: string): number {
  return s.split(".").reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

/** Validates an `--insecure-registry` value (host[:port] or CIDR); `InvalidArgumentError` otherwise. */
export function checkInsecureRegistry(value: string): string {
  const e = value.trim().replace(/^https?:\/\//, "").replace(/\/+$/, "");
  if (/^\d+\.\d+\.\d+\.\d+\/\d{1,2}$/.test(e) && Number(e.split("/")[1]) <= 32) return e;
  if (/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(e)) return e;
  throw new InvalidArgumentError(`insecure registry ${value} is not valid: want host[:port] or an IPv4 CIDR`);
}

/**
 * A reference that can name an image in a registry: `parseReference`, and
 * one more rule. The reference grammar reads an uppercase first component
 * (`UPPER/case`) as a registry host, as distribution/reference does; no
 * registry is reached that way (hostnames are lowercase in practice, and a
 * bare uppercase word is a typo for a repository), so pulls and pushes
 * refuse it up front, before any lookup, in Docker's words for the typo.
 */
export function parseRemoteReference(s: string): Reference {
  const ref = parseReference(s);
  const d = ref.domain;
  if (d !== d.toLowerCase() && !/[.:]/.test(d) && !d.startsWith("[")) {
    throw new InvalidArgumentError(`invalid reference format: repository name (${s}) must be lowercase`);
  }
  return ref;
}
