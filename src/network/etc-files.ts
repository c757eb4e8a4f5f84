/**
 * The container's /etc/hosts, /etc/hostname and /etc/resolv.conf, rendered
 * as Docker writes them. Pure functions; the manager writes the files.
 * https://docs.docker.com/engine/network/#dns-services
 */
import { InvalidArgumentError } from "../lib/errors.js";
import { parseIpv4 } from "./ipam.js";

export interface HostsEntry {
  ip: string;
  names: string[];
}

const DEFAULT_HOSTS = [
  "127.0.0.1\tlocalhost",
  "::1\tlocalhost ip6-localhost ip6-loopback",
  "fe00::0\tip6-localnet",
  "ff00::0\tip6-mcastprefix",
  "ff02::1\tip6-allnodes",
  "ff02::2\tip6-allrouters",
];

/**
 * Docker's layout: the defaults, then `--add-host` entries, then links
 * (`ip alias hostname name`), then the container's own addresses.
 */
export function renderHosts(input: { extraHosts: HostsEntry[]; links: HostsEntry[]; self: HostsEntry[] }): string {
  const lines = [...DEFAULT_HOSTS];
  for (const e of [...input.extraHosts, ...input.links, ...input.self]) lines.push(`${e.ip}\t${e.names.join(" ")}`);
  return lines.join("\n") + "\n";
}

/** `name:ip` or `name=ip` (ip may be IPv6 and contain colons); `host-gateway` becomes `hostGateway`. */
export function parseExtraHost(spec: string, hostGateway: string): HostsEntry {
  const sep = /[=:]/.exec(spec);
  const name = sep ? spec.slice(0, sep.index) : "";
  let ip = sep ? spec.slice(sep.index + 1) : "";
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  if (ip === "host-gateway") ip = hostGateway;
  const looksIp = parseIpv4(ip) !== null || (ip.includes(":") && /^[0-9a-fA-F:.]+$/.test(ip));
  if (name === "" || !looksIp) throw new InvalidArgumentError(`invalid IP address in add-host: "${ip}"`);
  return { ip, names: [name] };
}

/** The self entry: `ip hostname.domain hostname` (or just `ip hostname`). */
export function selfNames(hostname: string, domainname?: string): string[] {
  return domainname ? [`${hostname}.${domainname}`, hostname] : [hostname];
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === "nameserver" && rest[0]) conf.nameservers.push(rest[0]);
    // The last search/domain line wins (resolv.conf(5)).
    else if (key === "search" || key === "domain") conf.search = rest;
    else if (key === "options") conf.options.push(...rest);
  }
  return conf;
}

const isLoopback = (ns: string) => ns.startsWith("127.") || ns === "::1";

/** Docker's fallback when nothing usable is left. */
const DEFAULT_NAMESERVERS = ["8.8.8.8", "8.8.4.4"];

/**
 * resolv.conf for a container without the embedded DNS (default bridge,
 * none): the host's, minus loopback nameservers (they would be the
 * container's own loopback), `--dns*` overriding each part.
 */
export function renderPlainResolvConf(host: ResolvConf, overrides: { dns?: string[]; dnsSearch?: string[]; dnsOptions?: string[] }): string {
  let nameservers = overrides.dns?.length ? overrides.dns : host.nameservers.filter((ns) => !isLoopback(ns) && !ns.includes(":"));
  if (nameservers.length === 0) nameservers = DEFAULT_NAMESERVERS;
  const search = overrides.dnsSearch?.length ? overrides.dnsSearch.filter((s) => s !== ".") : host.search;
  const options = overrides.dnsOptions?.length ? overrides.dnsOptions : host.options;
  return format(nameservers, search, options);
}

/**
 * resolv.conf pointing at the embedded DNS server. `ndots:0` unless the
 * user set ndots, as Docker does, so single names go straight to it.
 */
export function renderEmbeddedResolvConf(server: string, host: ResolvConf, overrides: { dnsSearch?: string[]; dnsOptions?: string[] }): string {
  const search = overrides.dnsSearch?.length ? overrides.dnsSearch.filter((s) => s !== ".") : host.search;
  const options = [...(overrides.dnsOptions?.length ? overrides.dnsOptions : host.options)];
  if (!options.some((o) => o.startsWith("ndots:"))) options.push("ndots:0");
  return format([server], search, options);
}

function format(nameservers: string[], search: string[], options: string[]): string {
  const lines = nameservers.map((ns) => `nameserver ${ns}`);
  if (search.length) lines.push(`search ${search.join(" ")}`);
  if (options.length) lines.push(`options ${options.join(" ")}`);
  return lines.join("\n") + "\n";
}

/**
 * Where the embedded DNS forwards names it does not know: `--dns` or the
 * host's nameservers. Loopback ones are kept: the server runs in the host's
 * namespace, where 127.0.0.53 and friends are reachable.
 */
export function upstreamsFor(host: ResolvConf, dns: readonly string[] | undefined): string[] {
  return dns?.length ? [...dns] : host.nameservers;
}
