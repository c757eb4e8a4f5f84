/**
 * Published ports as the Docker API spells them (`ExposedPorts` keys like
 * `80/tcp`, `HostConfig.PortBindings`, `PublishAllPorts`) → the network
 * layer's bindings, and the network layer's bound ports → Docker's `PortMap`
 * (inspect) and `Port[]` (ps) views.
 */
import { InvalidArgumentError } from "../lib/errors.js";
import type { PortBinding as NetPortBinding } from "../network/index.js";
import type { ContainerConfig, HostConfig } from "./types.js";

export type Protocol = "tcp" | "udp";

export interface PortKey {
  port: number;
  protocol: Protocol;
}

/** `80/tcp`, `80` (tcp), `53/udp`; ranges `7000-7010/tcp` expand. */
export function parsePortKeys(key: string): PortKey[] {
  const slash = key.indexOf("/");
  const range = slash < 0 ? key : key.slice(0, slash);
  const proto = (slash < 0 ? "tcp" : key.slice(slash + 1)).toLowerCase();
  if (proto !== "tcp" && proto !== "udp") {
    if (proto === "sctp") throw new InvalidArgumentError(`sctp port ${key}: only tcp and udp ports can be published`);
    throw new InvalidArgumentError(`invalid proto: ${proto}`);
  }
  const r = parseRange(range);
  if (!r) throw new InvalidArgumentError(`invalid containerPort: ${range}`);
  const out: PortKey[] = [];
  for (let p = r[0]; p <= r[1]; p++) out.push({ port: p, protocol: proto });
  return out;
}

/** `8080` → [8080, 8080]; `8000-8010` → [8000, 8010]; `""` → [0, 0]; anything else undefined. */
function parseRange(s: string, allowZero = false): [number, number] | undefined {
  if (allowZero && s === "") return [0, 0];
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  const min = allowZero ? 0 : 1;
  if (a < min || a > 65535 || b < a || b > 65535) return undefined;
  return [a, b];
}

/**
 * The bindings to set up when the container starts: every `PortBindings`
 * entry, and with `PublishAllPorts` every exposed port not bound otherwise
 * (to a port the kernel picks). Throws `InvalidArgumentError` on bad syntax,
 * so `create` can refuse what `start` would fail on.
 */
export function publishedPorts(config: Pick<ContainerConfig, "ExposedPorts">, hostConfig: Pick<HostConfig, "PortBindings" | "PublishAllPorts">): NetPortBinding[] {
  const out: NetPortBinding[] = [];
  const bound = new Set<string>();
  const bindings = hostConfig.PortBindings ?? {};
  if (typeof bindings !== "object" || Array.isArray(bindings)) throw new InvalidArgumentError("HostConfig.PortBindings must be an object");
  for (const [key, list] of Object.entries(bindings)) {
    const ports = parsePortKeys(key);
    for (const b of list ?? [{ HostIp: "", HostPort: "" }]) {
      const hostIp = b?.HostIp ?? "";
      if (typeof hostIp !== "string" || (hostIp !== "" && !isIpv4(hostIp))) {
        throw new InvalidArgumentError(`invalid host IP address ${String(hostIp)} in port binding ${key}${hostIp.includes(":") ? " (IPv6 is not supported)" : ""}`);
      }
      const hostRange = parseRange(String(b?.HostPort ?? ""), true);
      if (!hostRange) throw new InvalidArgumentError(`invalid hostPort: ${String(b?.HostPort)}`);
      const [lo, hi] = hostRange;
      const span = hi - lo + 1;
      for (const [i, p] of ports.entries()) {
        bound.add(`${p.port}/${p.protocol}`);
        // Equal ranges pair up (`8000-8001:80-81`); a host range for one port means "any of these".
        if (lo === 0) out.push({ containerPort: p.port, protocol: p.protocol, hostIp, hostPort: 0 });
        else if (ports.length > 1 && span === ports.length) out.push({ containerPort: p.port, protocol: p.protocol, hostIp, hostPort: lo + i });
        else if (ports.length > 1) throw new InvalidArgumentError(`invalid ranges specified for container and host ports: ${key} and ${String(b?.HostPort)}`);
        else out.push({ containerPort: p.port, protocol: p.protocol, hostIp, hostPort: lo, ...(hi > lo ? { hostPortEnd: hi } : {}) });
      }
    }
  }
  if (hostConfig.PublishAllPorts) {
    for (const key of Object.keys(config.ExposedPorts ?? {})) {
      for (const p of parsePortKeys(key)) {
        if (bound.has(`${p.port}/${p.protocol}`)) continue;
        bound.add(`${p.port}/${p.protocol}`);
        out.push({ containerPort: p.port, protocol: p.protocol, hostIp: "", hostPort: 0 });
      }
    }
  }
  return out;
}

/** Exposed ports sorted like Docker's `nat.Sort`: by number, then protocol. */
export function exposedPortKeys(config: Pick<ContainerConfig, "ExposedPorts">): PortKey[] {
  const keys = Object.keys(config.ExposedPorts ?? {}).flatMap((k) => {
    try {
      return parsePortKeys(k);
    } catch {
      return [];
    }
  });
  return keys.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}

/** `NetworkSettings.Ports` of inspect: bound ports, and exposed ones without a binding as null. */
export function portMap(exposed: PortKey[], bound: NetPortBinding[]): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const map: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  for (const p of exposed) map[`${p.port}/${p.protocol}`] = null;
  for (const b of bound) {
    const key = `${b.containerPort}/${b.protocol}`;
    (map[key] ??= []).push({ HostIp: b.hostIp || "0.0.0.0", HostPort: String(b.hostPort) });
  }
  return map;
}

/** `Ports` of a `GET /containers/json` item. */
export function portList(exposed: PortKey[], bound: NetPortBinding[]): Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: Protocol }> {
  const out: Array<{ IP?: string; PrivatePort: number; PublicPort?: number; Type: Protocol }> = [];
  const published = new Set(bound.map((b) => `${b.containerPort}/${b.protocol}`));
  for (const b of bound) out.push({ IP: b.hostIp || "0.0.0.0", PrivatePort: b.containerPort, PublicPort: b.hostPort, Type: b.protocol });
  for (const p of exposed) if (!published.has(`${p.port}/${p.protocol}`)) out.push({ PrivatePort: p.port, Type: p.protocol });
  return out;
}

function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
