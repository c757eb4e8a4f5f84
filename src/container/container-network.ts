/**
 * Where containers meet the network layer: checks a container's network
 * settings at create time (so `start` does not fail on what `create` could
 * have refused), wires its sandbox when it starts, and tears it down when it
 * stops. Modes, as Docker's `NetworkMode`:
 *
 * - `default`/`bridge`/a network name: a sandbox of its own (netns, veth per
 *   network, published ports, /etc files) from the network layer;
 * - `host`: the host's stack; the host's /etc/hosts and resolv.conf;
 * - `none`: a netns with only `lo`;
 * - `container:<ref>`: the namespace and /etc files of another running
 *   container (no sandbox of its own).
 */
import { hostname } from "node:os";
import { ConflictError, InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import type { NetworkManager, Sandbox } from "../network/index.js";
import type { NetworkNamespace } from "../runtime/index.js";
import { linkEnv, parseLink } from "./links.js";
import { exposedPortKeys, publishedPorts } from "./ports.js";
import type { ContainerConfig, ContainerRecord, EndpointConfig, HostConfig } from "./types.js";

/** What `start` hands the runtime. */
export interface JoinedNetwork {
  namespace: NetworkNamespace;
  etcFiles?: { hosts: string; hostname: string; resolvConf: string };
  /** Link variables (`DB_PORT_…`) for the process environment. */
  env: string[];
}

type Lookup = (ref: string) => ContainerRecord;

export class ContainerNetworking {
  readonly #network: NetworkManager;
  readonly #lookup: Lookup;

  /** `lookup` finds a container by ID, prefix or name (`NotFoundError` otherwise). */
  constructor(network: NetworkManager, lookup: Lookup) {
    this.#network = network;
    this.#lookup = lookup;
  }

  get manager(): NetworkManager {
    return this.#network;
  }

  /**
   * Validates the network part of a create request and returns the
   * container's networks by name. May set `config.Hostname` (a container
   * sharing another's namespace shows that one's hostname, as in Docker).
   */
  plan(config: ContainerConfig, hostConfig: HostConfig, endpoints: Record<string, EndpointConfig> | undefined, hostnameGiven: boolean): Record<string, EndpointConfig> {
    if (endpoints !== undefined && (typeof endpoints !== "object" || endpoints === null || Array.isArray(endpoints))) {
      throw new InvalidArgumentError("NetworkingConfig.EndpointsConfig must be an object");
    }
    // A daemon started with `--bridge none` has no default bridge: `default` then means no network, as in Docker.
    const hasBridge = this.#network.list().some((n) => n.Name === "bridge" && n.predefined);
    const mode = hostConfig.NetworkMode === "default" ? (hasBridge ? "bridge" : "none") : hostConfig.NetworkMode;
    const links = (hostConfig.Links ?? []).map(parseLink);
    const ports = publishedPorts(config, hostConfig);
    if (mode.startsWith("container:")) {
      if (hostnameGiven) throw new InvalidArgumentError("conflicting options: hostname and the network mode");
      if (ports.length > 0) throw new InvalidArgumentError("conflicting options: port publishing and the container type network mode");
      if (links.length > 0) throw new InvalidArgumentError("conflicting options: container type network can't be used with links. This would result in undefined behavior");
      if (hostConfig.Dns?.length || hostConfig.ExtraHosts?.length) throw new InvalidArgumentError("conflicting options: dns and the network mode");
      const peer = this.#peer(mode.slice("container:".length), "no such container:");
      config.Hostname = peer.config.Hostname;
      return {};
    }
    if (mode === "host" && links.length > 0) {
      throw new InvalidArgumentError("conflicting options: host type networking can't be used with links. This would result in undefined behavior");
    }
    // The host's stack comes with the host's name, as in Docker.
    if (mode === "host" && !hostnameGiven) config.Hostname = hostname();
    for (const l of links) this.#peer(l.target, "could not get container for");
    const out: Record<string, EndpointConfig> = {};
    const requested: Record<string, unknown> = { [mode]: {} };
    // Clients name the default network `default` too (the docker CLI does).
    for (const [ref, settings] of Object.entries(endpoints ?? {})) requested[ref === "default" ? mode : ref] = settings;
    for (const [ref, settings] of Object.entries(requested)) {
      // Like Docker, an unknown network is not an error until start (then a 404 "network X not found").
      const net = this.#network.list().find((n) => n.Name === ref || n.Id === ref);
      const cfg = endpointConfig(settings, ref);
      // Config.MacAddress (before API 1.44 the only place for it) is the first network's.
      if (ref === mode && config.MacAddress && !cfg.MacAddress) cfg.MacAddress = checkMac(config.MacAddress);
      const predefined = net?.predefined ?? false;
      if (predefined && cfg.Aliases?.length) throw new InvalidArgumentError("network-scoped alias is supported only for containers in user defined networks");
      if (predefined && cfg.IPAMConfig?.IPv4Address) throw new InvalidArgumentError("user specified IP address is supported on user defined networks only");
      out[net?.Name ?? ref] = cfg;
    }
    const special = Object.keys(out).find((n) => n === "host" || n === "none");
    if (special && Object.keys(out).length > 1) throw new InvalidArgumentError(`container cannot be connected to network "${special}" and to other networks`);
    return out;
  }

  /**
   * A container named in a create request. A 404 here would make the docker
   * CLI believe the image is missing and try to pull it, so it is a 400.
   */
  #peer(ref: string, what: string): ContainerRecord {
    try {
      return this.#lookup(ref);
    } catch (err) {
      if (err instanceof NotFoundError) throw new InvalidArgumentError(`${what} ${ref}`);
      throw err;
    }
  }

  /** Wires the network of a container about to start. Undo with `leave`. */
  async join(record: ContainerRecord): Promise<JoinedNetwork> {
    const mode = record.hostConfig.NetworkMode;
    if (mode.startsWith("container:")) return this.#joinPeer(record, mode.slice("container:".length), 0);
    const links = (record.hostConfig.Links ?? []).map(parseLink).map((l) => {
      const target = this.#lookup(l.target);
      if (!target.state.Running) throw new ConflictError(`Cannot link to a non running container: /${target.name} AS /${record.name}/${l.alias}`);
      return { ...l, target };
    });
    const networks = Object.entries(networksOf(record)).map(([network, cfg]) => ({
      network,
      aliases: cfg.Aliases ?? undefined,
      ipv4: cfg.IPAMConfig?.IPv4Address || undefined,
      mac: cfg.MacAddress || undefined,
    }));
    const sandbox = await this.#network.attach(record.id, {
      name: record.name,
      hostname: record.config.Hostname,
      domainname: record.config.Domainname || undefined,
      networks,
      ports: publishedPorts(record.config, record.hostConfig),
      links: links.map((l) => ({ name: l.target.name, alias: l.alias, containerId: l.target.id })),
      extraHosts: record.hostConfig.ExtraHosts ?? undefined,
      dns: record.hostConfig.Dns ?? undefined,
      dnsSearch: record.hostConfig.DnsSearch ?? undefined,
      dnsOptions: record.hostConfig.DnsOptions ?? undefined,
    });
    const env = links.flatMap((l) => {
      const ip = addressOf(this.#network.sandboxOf(l.target.id));
      return ip ? linkEnv({ alias: l.alias, self: record.name, ip, ports: exposedPortKeys(l.target.config), env: l.target.config.Env }) : [];
    });
    return { namespace: namespaceOf(sandbox), etcFiles: sandbox.etcFiles, env };
  }

  #joinPeer(record: ContainerRecord, ref: string, depth: number): JoinedNetwork {
    const peer = this.#lookup(ref);
    if (peer.id === record.id) throw new InvalidArgumentError("cannot join own network namespace");
    if (!peer.state.Running) throw new ConflictError(`cannot join network namespace of a non running container: ${peer.id}`);
    const peerMode = peer.hostConfig.NetworkMode;
    if (peerMode.startsWith("container:") && depth < 8) return this.#joinPeer(record, peerMode.slice("container:".length), depth + 1);
    const sandbox = this.#network.sandboxOf(peer.id);
    if (!sandbox) throw new ConflictError(`cannot join network namespace of container ${peer.id}: it has no network sandbox`);
    const namespace = namespaceOf(sandbox);
    // A `none` peer's namespace is the one runc made for it: its init process holds it.
    if (namespace.kind === "new") return { namespace: { kind: "path", path: `/proc/${peer.state.Pid}/ns/net` }, etcFiles: sandbox.etcFiles, env: [] };
    return { namespace, etcFiles: sandbox.etcFiles, env: [] };
  }

  /** Tears the container's sandbox down (idempotent; nothing for `container:` mode). */
  async leave(id: string): Promise<void> {
    await this.#network.detach(id);
  }

  sandboxOf(id: string): Sandbox | undefined {
    return this.#network.sandboxOf(id);
  }

  /** `docker network connect`: the network's name, after checking the container may join it. */
  checkConnect(record: ContainerRecord, network: string, cfg: EndpointConfig): string {
    const mode = record.hostConfig.NetworkMode;
    if (mode === "host" || mode === "none" || mode.startsWith("container:")) {
      throw new InvalidArgumentError(`container sharing network namespace with another container or host cannot be connected to any other network`);
    }
    const net = this.#network.get(network);
    if (net.Driver !== "bridge") throw new InvalidArgumentError(`container cannot be disconnected from host network or connected to host network`);
    if (networksOf(record)[net.Name]) throw new ConflictError(`endpoint with name ${record.name} already exists in network ${net.Name}`);
    endpointConfig(cfg, net.Name);
    if (net.predefined && cfg.Aliases?.length) throw new InvalidArgumentError("network-scoped alias is supported only for containers in user defined networks");
    return net.Name;
  }
}

/** The container's networks by name; records from before networking default to their mode. */
export function networksOf(record: ContainerRecord): Record<string, EndpointConfig> {
  if (record.networks) return record.networks;
  const mode = record.hostConfig.NetworkMode === "default" ? "bridge" : record.hostConfig.NetworkMode;
  return mode.startsWith("container:") ? {} : { [mode]: {} };
}

function endpointConfig(v: unknown, network: string): EndpointConfig {
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new InvalidArgumentError(`endpoint settings for network ${network} must be an object`);
  const e = v as EndpointConfig;
  if (e.Aliases != null && (!Array.isArray(e.Aliases) || e.Aliases.some((a) => typeof a !== "string"))) {
    throw new InvalidArgumentError(`Aliases for network ${network} must be an array of strings`);
  }
  const ip = e.IPAMConfig?.IPv4Address;
  if (ip !== undefined && typeof ip !== "string") throw new InvalidArgumentError(`IPv4Address for network ${network} must be a string`);
  const out: EndpointConfig = {};
  if (e.Aliases?.length) out.Aliases = [...e.Aliases];
  if (ip) out.IPAMConfig = { IPv4Address: ip };
  if (e.MacAddress) out.MacAddress = checkMac(e.MacAddress);
  return out;
}

/** A unicast Ethernet address, as `--mac-address` takes it; dockerd's message otherwise. */
function checkMac(mac: unknown): string {
  if (typeof mac !== "string" || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new InvalidArgumentError(`invalid MAC address: ${String(mac)}`);
  // The low bit of the first octet marks a multicast address, which no interface can have.
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new InvalidArgumentError(`invalid MAC address: ${mac}: a multicast address`);
  return mac.toLowerCase();
}

function namespaceOf(s: Sandbox): NetworkNamespace {
  if (s.netnsPath) return { kind: "path", path: s.netnsPath };
  return s.mode === "host" ? { kind: "host" } : { kind: "new" };
}

function addressOf(s: Sandbox | undefined): string | undefined {
  return s?.endpoints.find((e) => e.network === "bridge")?.ip ?? s?.endpoints[0]?.ip;
}
