/**
 * `NetworkManager` on Linux bridges, veth pairs, iptables (nf_tables
 * backend or legacy, through the `iptables-restore` CLI) and file-bound
 * network namespaces. See `network-manager.ts` for the contract.
 *
 * On disk:
 *   <dataRoot>/network/networks/<id>.json               one per network (predefined ones too: stable IDs)
 *   <dataRoot>/network/containers/<cid>/sandbox.json    a sandbox: leases, veths, ports, links, dns
 *   <dataRoot>/network/containers/<cid>/{hosts,hostname,resolv.conf}
 *   <execRoot>/netns/<cid>                              the netns bind mount
 */
import { randomBytes } from "node:crypto";
import { readFile, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { networkInterfaces } from "node:os";
import type {
  AttachRequest,
  CreateNetworkRequest,
  Endpoint,
  Network,
  NetworkContainer,
  NetworkDriver,
  NetworkManager,
  PortBinding,
  Sandbox,
} from "./network-manager.js";
import type { Logger } from "../lib/logger.js";
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  errnoCode,
} from "../lib/errors.js";
import { writeJsonAtomic } from "../lib/atomic-file.js";
import {
  SubnetAllocator,
  contains,
  firstFreeSubnet,
  formatCidr,
  formatIpv4,
  macForIp,
  overlaps,
  parseCidr,
  parseIpv4,
  type Cidr,
} from "./ipam.js";
import { Firewall, type FirewallPort, type FirewallState } from "./firewall.js";
import { ensureBridges, deleteBridges, enableForwarding } from "./bridge.js";
import { addInterfaces, createNetns, deleteLinks, hostRoutes, listLinks, newHostIfName, removeNetns, setDefaultRoute, type VethSpec } from "./netns.js";
import { PortInUseError, PortReservations, type HostPort } from "./port-reservations.js";
import { DnsServer, type DnsResolver } from "./dns-server.js";
import {
  parseExtraHost,
  parseResolvConf,
  renderEmbeddedResolvConf,
  renderHosts,
  renderPlainResolvConf,
  selfNames,
  upstreamsFor,
  type HostsEntry,
  type ResolvConf,
} from "./etc-files.js";
import { KeyedMutex } from "./keyed-mutex.js";

export interface NetworkManagerOptions {
  /** Persistent root (Docker's `--data-root`); state goes under `<dataRoot>/network`. */
  dataRoot: string;
  /** Volatile root (`--exec-root`); netns files go under `<execRoot>/netns`. */
  execRoot: string;
  /**
   * The default bridge's gateway address and prefix (`--bip`). Default
   * `10.213.0.1/16`: clear of Docker's 172.17.0.0/16 and of the usual
   * 192.168/10.0 home and office ranges.
   */
  bridgeCidr?: string;
  /** Default bridge device. Default `wharf0`. */
  bridgeName?: string;
  /** Where user-defined networks get their /24 when none is given. Default `10.214.0.0/16`. */
  poolCidr?: string;
  /** Prefix of the iptables chains. Default `WHARF` (≤ 15 chars: chain names are capped at 28). */
  chainPrefix?: string;
  /** Port of the embedded DNS servers. Default 53 (what a resolv.conf can name). */
  dnsPort?: number;
  /** Overrides the host's nameservers as the DNS forwarders' upstreams (`host` or `host:port`). */
  dnsUpstreams?: string[];
  /** Default `/etc/resolv.conf`. */
  hostResolvConf?: string;
  /** Default `/etc/hosts` (copied in host mode). */
  hostHosts?: string;
  log: Logger;
}

// ---------------------------------------------------------------------------
// Persisted records

interface NetworkRecord {
  Id: string;
  Name: string;
  Created: string;
  Driver: NetworkDriver;
  Internal: boolean;
  Attachable: boolean;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  subnet: string | null;
  gateway: string | null;
  ipRange: string | null;
  bridgeName: string | null;
  predefined: boolean;
}

interface EndpointRecord {
  networkId: string;
  endpointId: string;
  ifName: string;
  hostIfName: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  aliases: string[];
}

interface SandboxRecord {
  containerId: string;
  name: string;
  hostname: string;
  domainname: string;
  mode: "bridge" | "host" | "none";
  netnsPath: string | null;
  endpoints: EndpointRecord[];
  ports: PortBinding[];
  links: HostsEntry[];
  extraHosts: HostsEntry[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}

interface NetState {
  record: NetworkRecord;
  subnet: Cidr | null;
  allocator: SubnetAllocator | null;
  dns: DnsServer | null;
}

const BRIDGE = "bridge";
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const newId = () => randomBytes(32).toString("hex");

export class LinuxNetworkManager implements NetworkManager {
  readonly #opts: NetworkManagerOptions;
  readonly #log: Logger;
  readonly #root: string;
  readonly #netnsDir: string;
  readonly #networks = new Map<string, NetState>();
  readonly #sandboxes = new Map<string, SandboxRecord>();
  /** Sandboxes being attached whose port rules are not in the kernel yet: rewrites leave them out. */
  readonly #unwired = new Set<string>();
  readonly #ports = new PortReservations();
  readonly #firewall: Firewall;
  readonly #lock = new KeyedMutex();
  #hostResolv: ResolvConf = { nameservers: [], search: [], options: [] };
  #closed = false;
  /** Veth deletions still running after their sandbox's teardown returned (`#deleteVeths`). */
  readonly #behind = new Set<Promise<void>>();

  private constructor(opts: NetworkManagerOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#root = join(opts.dataRoot, "network");
    this.#netnsDir = join(opts.execRoot, "netns");
    this.#firewall = new Firewall(opts.chainPrefix ?? "WHARF", () => this.#firewallState());
  }

  /**
   * Load networks and sandboxes, create the default bridge and any missing
   * bridge, install the iptables chains, start the DNS servers. Call
   * `recover(liveIds)` next: until then sandboxes of dead containers are
   * kept and no host port is reserved.
   */
  static async open(opts: NetworkManagerOptions): Promise<LinuxNetworkManager> {
    const m = new LinuxNetworkManager(opts);
    await m.#load();
    return m;
  }

  // -------------------------------------------------------------------------
  // Startup

  async #load(): Promise<void> {
    await mkdir(join(this.#root, "networks"), { recursive: true });
    await mkdir(join(this.#root, "containers"), { recursive: true });
    await mkdir(this.#netnsDir, { recursive: true });
    await this.#refreshHostResolv();

    for (const f of await readdir(join(this.#root, "networks"))) {
      if (!f.endsWith(".json")) continue;
      try {
        const rec = JSON.parse(await readFile(join(this.#root, "networks", f), "utf8")) as NetworkRecord;
        this.#networks.set(rec.Id, this.#stateOf(rec));
      } catch (err) {
        this.#log.warn(`network: skipping unreadable ${f}: ${String(err)}`);
      }
    }
    await this.#ensurePredefined();

    for (const cid of await readdir(join(this.#root, "containers"))) {
      let rec: SandboxRecord;
      try {
        rec = JSON.parse(await readFile(join(this.#root, "containers", cid, "sandbox.json"), "utf8")) as SandboxRecord;
      } catch {
        continue; // no record: recover() removes the directory
      }
      for (const ep of rec.endpoints) {
        const n = this.#networks.get(ep.networkId);
        try {
          n?.allocator?.reserve(parseIpv4(ep.ip)!);
        } catch (err) {
          this.#log.warn(`network: lease ${ep.ip} of ${cid.slice(0, 12)}: ${String(err)}`);
        }
      }
      this.#sandboxes.set(rec.containerId, rec);
    }

    for (const w of await enableForwarding()) this.#log.warn(`network: ${w}`);
    await ensureBridges(this.#bridgeSpecs([...this.#networks.values()]));
    await this.#firewall.install();
    for (const n of this.#networks.values()) await this.#startDns(n);
  }

  async #ensurePredefined(): Promise<void> {
    const bip = parseCidr(this.#opts.bridgeCidr ?? "10.213.0.1/16", false);
    const subnet = formatCidr(bip);
    const gateway = formatIpv4(bip.address);
    const bridgeName = this.#opts.bridgeName ?? "wharf0";
    // dockerd's `--bridge=none`: no default bridge network at all (containers default to `none`).
    const noBridge = bridgeName === "none";
    for (const [name, driver] of [[BRIDGE, "bridge"], ["host", "host"], ["none", "null"]] as const) {
      const existing = this.#byName(name);
      if (noBridge && driver === "bridge") {
        if (existing?.record.predefined) {
          await rm(join(this.#root, "networks", `${existing.record.Id}.json`), { force: true });
          this.#networks.delete(existing.record.Id);
        }
        continue;
      }
      if (existing && !existing.record.predefined) {
        this.#log.warn(`network: a user-defined network is named ${name}; it shadows the predefined one`);
        continue;
      }
      const rec = existing?.record;
      const wanted: Pick<NetworkRecord, "subnet" | "gateway" | "bridgeName" | "Options"> =
        driver === "bridge"
          ? {
              subnet,
              gateway,
              bridgeName,
              Options: {
                "com.docker.network.bridge.default_bridge": "true",
                "com.docker.network.bridge.enable_icc": "true",
                "com.docker.network.bridge.enable_ip_masquerade": "true",
                "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                "com.docker.network.bridge.name": bridgeName,
                "com.docker.network.driver.mtu": "1500",
              },
            }
          : { subnet: null, gateway: null, bridgeName: null, Options: {} };
      if (rec && rec.subnet === wanted.subnet && rec.gateway === wanted.gateway && rec.bridgeName === wanted.bridgeName) continue;
      const fresh: NetworkRecord = {
        Id: rec?.Id ?? newId(),
        Name: name,
        Created: rec?.Created ?? new Date().toISOString(),
        Driver: driver,
        Internal: false,
        Attachable: false,
        Labels: {},
        ipamOptions: null,
        ipRange: null,
        predefined: true,
        ...wanted,
      };
      await writeJsonAtomic(join(this.#root, "networks", `${fresh.Id}.json`), fresh);
      this.#networks.set(fresh.Id, this.#stateOf(fresh));
    }
  }

  #stateOf(rec: NetworkRecord): NetState {
    const subnet = rec.subnet ? parseCidr(rec.subnet) : null;
    const allocator =
      subnet && rec.gateway ? new SubnetAllocator(subnet, parseIpv4(rec.gateway)!, rec.ipRange ? parseCidr(rec.ipRange) : undefined) : null;
    return { record: rec, subnet, allocator, dns: null };
  }

  #bridgeSpecs(nets: NetState[]) {
    return nets
      .filter((n) => n.record.bridgeName && n.subnet && n.record.gateway)
      .map((n) => ({ name: n.record.bridgeName!, gateway: n.record.gateway!, prefixLen: n.subnet!.prefixLen }));
  }

  async #refreshHostResolv(): Promise<void> {
    try {
      this.#hostResolv = parseResolvConf(await readFile(this.#opts.hostResolvConf ?? "/etc/resolv.conf", "utf8"));
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
      this.#hostResolv = { nameservers: [], search: [], options: [] };
    }
  }

  // -------------------------------------------------------------------------
  // Networks

  list(): Network[] {
    const all = [...this.#networks.values()];
    all.sort((a, b) => Number(b.record.predefined) - Number(a.record.predefined) || a.record.Created.localeCompare(b.record.Created));
    return all.map((n) => this.#view(n));
  }

  get(idOrName: string): Network {
    return this.#view(this.#find(idOrName));
  }

  #find(idOrName: string): NetState {
    const byId = this.#networks.get(idOrName);
    if (byId) return byId;
    const byName = this.#byName(idOrName);
    if (byName) return byName;
    const matches = idOrName.length > 0 ? [...this.#networks.values()].filter((n) => n.record.Id.startsWith(idOrName)) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw new InvalidArgumentError(`network ${idOrName} is ambiguous (${matches.length} matches found based on ID prefix)`);
    throw new NotFoundError(`network ${idOrName} not found`);
  }

  #byName(name: string): NetState | undefined {
    for (const n of this.#networks.values()) if (n.record.Name === name) return n;
    return undefined;
  }

  #view(n: NetState): Network {
    const r = n.record;
    const containers: Record<string, NetworkContainer> = {};
    for (const s of this.#sandboxes.values()) {
      for (const ep of s.endpoints) {
        if (ep.networkId !== r.Id) continue;
        containers[s.containerId] = {
          Name: s.name,
          EndpointID: ep.endpointId,
          MacAddress: ep.mac,
          IPv4Address: `${ep.ip}/${ep.prefixLen}`,
          IPv6Address: "",
        };
      }
    }
    return {
      Id: r.Id,
      Name: r.Name,
      Created: r.Created,
      Scope: "local",
      Driver: r.Driver,
      EnableIPv6: false,
      IPAM: {
        Driver: "default",
        Options: r.ipamOptions,
        Config: r.subnet && r.gateway ? [{ Subnet: r.subnet, Gateway: r.gateway, ...(r.ipRange ? { IPRange: r.ipRange } : {}) }] : [],
      },
      Internal: r.Internal,
      Attachable: r.Attachable,
      Ingress: false,
      ConfigFrom: { Network: "" },
      ConfigOnly: false,
      Options: { ...r.Options },
      Labels: { ...r.Labels },
      Containers: containers,
      bridgeName: r.bridgeName,
      predefined: r.predefined,
    };
  }

  create(req: CreateNetworkRequest): Promise<Network> {
    return this.#lock.run("#networks", () => this.#create(req));
  }

  async #create(req: CreateNetworkRequest): Promise<Network> {
    const name = req.Name ?? "";
    if (!NAME_RE.test(name)) throw new InvalidArgumentError(`invalid network name "${name}": must match ${NAME_RE.source}`);
    if (this.#byName(name)) throw new AlreadyExistsError(`network with name ${name} already exists`);
    const driver = req.Driver || "bridge";
    if (driver === "host" || driver === "null") throw new ForbiddenError(`only one instance of "${driver}" network is allowed`);
    if (driver !== "bridge") throw new NotFoundError(`plugin "${driver}" not found`);
    if (req.EnableIPv6) throw new InvalidArgumentError("IPv6 networks are not supported");
    if (req.IPAM?.Driver && req.IPAM.Driver !== "default") throw new NotFoundError(`plugin "${req.IPAM.Driver}" not found`);
    const configs = req.IPAM?.Config ?? [];
    if (configs.length > 1) throw new InvalidArgumentError("only one IPAM config per network is supported");
    const cfg = configs[0] ?? {};
    if (cfg.Subnet?.includes(":")) throw new InvalidArgumentError("IPv6 subnets are not supported");

    const taken = [...this.#networks.values()].flatMap((n) => (n.subnet ? [n.subnet] : []));
    let subnet: Cidr;
    if (cfg.Subnet) {
      subnet = parseCidr(cfg.Subnet);
      if (subnet.prefixLen > 30) throw new InvalidArgumentError(`subnet ${cfg.Subnet} is too small`);
      const clash = [...this.#networks.values()].find((n) => n.subnet && overlaps(n.subnet, subnet));
      if (clash) throw new InvalidArgumentError(`invalid pool request: Pool overlaps with other one on this address space (network ${clash.record.Name}, ${clash.record.subnet})`);
    } else {
      if (cfg.Gateway || cfg.IPRange) throw new InvalidArgumentError("a gateway or ip-range needs a subnet");
      const routes = (await hostRoutes()).flatMap((r) => {
        try {
          return [parseCidr(r.includes("/") ? r : `${r}/32`, false)];
        } catch {
          return [];
        }
      });
      const picked = firstFreeSubnet(parseCidr(this.#opts.poolCidr ?? "10.214.0.0/16"), 24, [...taken, ...routes]);
      if (!picked) throw new ConflictError("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
      subnet = picked;
    }
    let gateway = subnet.base + 1;
    if (cfg.Gateway) {
      const g = parseIpv4(cfg.Gateway);
      if (g === null || !contains(subnet, g)) throw new InvalidArgumentError(`invalid gateway ${cfg.Gateway}: not in subnet ${formatCidr(subnet)}`);
      gateway = g;
    }
    if (cfg.IPRange) {
      const range = parseCidr(cfg.IPRange);
      if (!contains(subnet, range.base) || range.prefixLen < subnet.prefixLen) {
        throw new InvalidArgumentError(`invalid ip-range ${cfg.IPRange}: not in subnet ${formatCidr(subnet)}`);
      }
    }

    const id = newId();
    const bridgeName = req.Options?.["com.docker.network.bridge.name"] || `br-${id.slice(0, 12)}`;
    if (bridgeName.length > 15 || !/^[a-zA-Z0-9_.-]+$/.test(bridgeName)) throw new InvalidArgumentError(`invalid bridge name ${bridgeName}`);
    if ([...this.#networks.values()].some((n) => n.record.bridgeName === bridgeName) || (await listLinks()).some((l) => l.ifname === bridgeName)) {
      throw new ConflictError(`bridge device ${bridgeName} already exists`);
    }
    const rec: NetworkRecord = {
      Id: id,
      Name: name,
      Created: new Date().toISOString(),
      Driver: "bridge",
      Internal: !!req.Internal,
      Attachable: !!req.Attachable,
      Labels: { ...(req.Labels ?? {}) },
      Options: { ...(req.Options ?? {}) },
      ipamOptions: req.IPAM?.Options ?? null,
      subnet: formatCidr(subnet),
      gateway: formatIpv4(gateway),
      ipRange: cfg.IPRange ?? null,
      bridgeName,
      predefined: false,
    };
    const state = this.#stateOf(rec);
    await writeJsonAtomic(join(this.#root, "networks", `${id}.json`), rec);
    this.#networks.set(id, state);
    try {
      await ensureBridges(this.#bridgeSpecs([state]));
      await this.#firewall.rewrite();
      await this.#startDns(state);
    } catch (err) {
      this.#networks.delete(id);
      await deleteBridges([bridgeName]);
      await this.#firewall.rewrite().catch(() => {});
      await rm(join(this.#root, "networks", `${id}.json`), { force: true });
      throw err;
    }
    this.#log.info(`network: created ${name} (${rec.subnet}, bridge ${bridgeName})`);
    return this.#view(state);
  }

  remove(idOrName: string): Promise<void> {
    return this.#lock.run("#networks", async () => {
      const n = this.#find(idOrName);
      await this.#remove(n);
    });
  }

  async #remove(n: NetState): Promise<void> {
    const r = n.record;
    if (r.predefined) throw new ForbiddenError(`${r.Name} is a pre-defined network and cannot be removed`);
    if ([...this.#sandboxes.values()].some((s) => s.endpoints.some((e) => e.networkId === r.Id))) {
      throw new ConflictError(`error while removing network: network ${r.Name} id ${r.Id} has active endpoints`);
    }
    await n.dns?.close();
    n.dns = null;
    this.#networks.delete(r.Id);
    if (r.bridgeName) await deleteBridges([r.bridgeName]);
    await this.#firewall.rewrite();
    await rm(join(this.#root, "networks", `${r.Id}.json`), { force: true });
    this.#log.info(`network: removed ${r.Name}`);
  }

  prune(filter?: (network: Network) => boolean): Promise<string[]> {
    return this.#lock.run("#networks", async () => {
      const removed: string[] = [];
      for (const n of [...this.#networks.values()]) {
        if (n.record.predefined) continue;
        const view = this.#view(n);
        if (Object.keys(view.Containers).length > 0 || (filter && !filter(view))) continue;
        await this.#remove(n);
        removed.push(n.record.Name);
      }
      return removed;
    });
  }

  // -------------------------------------------------------------------------
  // DNS

  async #startDns(n: NetState): Promise<void> {
    if (n.record.predefined || n.dns || !n.record.gateway || this.#closed) return;
    try {
      n.dns = await DnsServer.start({
        address: n.record.gateway,
        port: this.#opts.dnsPort ?? 53,
        log: this.#log,
        resolver: this.#resolverFor(n.record.Id),
      });
    } catch (err) {
      this.#log.warn(`network ${n.record.Name}: embedded DNS unavailable on ${n.record.gateway}:${this.#opts.dnsPort ?? 53}: ${String(err)}`);
    }
  }

  #resolverFor(networkId: string): DnsResolver {
    const self = this;
    const clientSandbox = (client: string) => {
      for (const s of self.#sandboxes.values()) if (s.endpoints.some((e) => e.networkId === networkId && e.ip === client)) return s;
      return undefined;
    };
    // The networks whose names a client sees: all user-defined networks it is on (Docker's scope), else this one.
    const scope = (client: string) => {
      const s = clientSandbox(client);
      const ids = s ? s.endpoints.map((e) => e.networkId).filter((id) => !self.#networks.get(id)?.record.predefined) : [];
      return { sandbox: s, networkIds: ids.length ? ids : [networkId] };
    };
    return {
      allowed(client) {
        const n = self.#networks.get(networkId);
        const ip = parseIpv4(client);
        if (n?.subnet && ip !== null && contains(n.subnet, ip)) return true;
        // The host itself may ask too (debugging, tests); it sends from one of its own addresses.
        return Object.values(networkInterfaces()).some((addrs) => addrs?.some((a) => a.address === client));
      },
      lookup(client, name) {
        const { sandbox, networkIds } = scope(client);
        for (const l of sandbox?.links ?? []) if (l.names.some((x) => x.toLowerCase() === name)) return [l.ip];
        const ips: string[] = [];
        for (const nid of networkIds) {
          const netName = self.#networks.get(nid)?.record.Name.toLowerCase();
          const bare = netName && name.endsWith(`.${netName}`) ? name.slice(0, -netName.length - 1) : name;
          for (const s of self.#sandboxes.values()) {
            for (const e of s.endpoints) {
              if (e.networkId !== nid) continue;
              const names = [s.name, s.containerId.slice(0, 12), ...e.aliases].map((x) => x.toLowerCase());
              if (names.includes(bare) && !ips.includes(e.ip)) ips.push(e.ip);
            }
          }
        }
        return ips.length ? ips : null;
      },
      reverse(client, ip) {
        const { networkIds } = scope(client);
        for (const s of self.#sandboxes.values()) {
          for (const e of s.endpoints) {
            if (e.ip === ip && networkIds.includes(e.networkId)) return `${s.name || s.containerId.slice(0, 12)}.${self.#networks.get(e.networkId)?.record.Name}`;
          }
        }
        return null;
      },
      upstreams(client) {
        const s = clientSandbox(client);
        if (s?.dns.length) return s.dns;
        return self.#opts.dnsUpstreams ?? upstreamsFor(self.#hostResolv, undefined);
      },
    };
  }

  // -------------------------------------------------------------------------
  // Sandboxes

  sandboxOf(containerId: string): Sandbox | undefined {
    const s = this.#sandboxes.get(containerId);
    return s ? this.#sandboxView(s) : undefined;
  }

  #dir(cid: string): string {
    return join(this.#root, "containers", cid);
  }

  #sandboxView(s: SandboxRecord): Sandbox {
    const dir = this.#dir(s.containerId);
    return {
      containerId: s.containerId,
      mode: s.mode,
      netnsPath: s.netnsPath,
      etcFiles: { hosts: join(dir, "hosts"), hostname: join(dir, "hostname"), resolvConf: join(dir, "resolv.conf") },
      endpoints: s.endpoints.map((e) => this.#endpointView(e)),
      ports: s.ports.map((p) => ({ ...p })),
    };
  }

  #endpointView(e: EndpointRecord): Endpoint {
    return {
      networkId: e.networkId,
      network: this.#networks.get(e.networkId)?.record.Name ?? e.networkId,
      endpointId: e.endpointId,
      ifName: e.ifName,
      ip: e.ip,
      prefixLen: e.prefixLen,
      gateway: e.gateway,
      mac: e.mac,
      aliases: [...e.aliases],
    };
  }

  attach(containerId: string, request: AttachRequest): Promise<Sandbox> {
    return this.#lock.run(containerId, () => this.#attach(containerId, request));
  }

  async #attach(cid: string, req: AttachRequest): Promise<Sandbox> {
    if (!/^[0-9a-f]{1,64}$/.test(cid)) throw new InvalidArgumentError(`invalid container ID ${cid}`);
    if (this.#sandboxes.has(cid)) throw new AlreadyExistsError(`container ${cid.slice(0, 12)} already has a network sandbox`);
    await this.#refreshHostResolv();
    const wanted = req.networks?.length ? req.networks : [{ network: BRIDGE }];
    const nets = wanted.map((w) => ({ w, n: this.#find(w.network) }));
    const special = nets.find(({ n }) => n.record.Driver !== "bridge");
    if (special && nets.length > 1) {
      throw new InvalidArgumentError(`container cannot be connected to network "${special.n.record.Name}" and to other networks`);
    }
    const rec: SandboxRecord = {
      containerId: cid,
      name: req.name ?? "",
      hostname: req.hostname,
      domainname: req.domainname ?? "",
      mode: special ? (special.n.record.Driver === "host" ? "host" : "none") : "bridge",
      // Only bridge mode has anything to wire into the namespace; in none mode runc makes it.
      netnsPath: special ? null : join(this.#netnsDir, cid),
      endpoints: [],
      ports: [],
      links: [],
      extraHosts: (req.extraHosts ?? []).map((h) => parseExtraHost(h, this.#defaultGateway())),
      dns: req.dns ?? [],
      dnsSearch: req.dnsSearch ?? [],
      dnsOptions: req.dnsOptions ?? [],
    };
    if (rec.mode === "bridge") {
      const seen = new Set<string>();
      for (const { w, n } of nets) {
        if (seen.has(n.record.Id)) throw new InvalidArgumentError(`container is connected to network ${n.record.Name} twice`);
        seen.add(n.record.Id);
        this.#checkEndpointOptions(n, w.aliases, w.ipv4);
      }
      for (const l of req.links ?? []) rec.links.push(this.#resolveLink(l));
    }

    // Leases are taken synchronously: a concurrent attach cannot get the same address.
    try {
      if (rec.mode === "bridge") {
        for (const [i, { w, n }] of nets.entries()) {
          const ip = this.#lease(n, w.ipv4);
          rec.endpoints.push(this.#newEndpoint(n, ip, `eth${i}`, w.aliases ?? [], w.mac));
        }
      }
      this.#unwired.add(cid);
      this.#sandboxes.set(cid, rec);
      if (rec.mode === "bridge" && this.#gatewayEndpoint(rec)) await this.#reservePorts(rec, req.ports ?? []);
      // Recorded before wiring: a crash from here on leaves a record recover() cleans up from.
      await this.#save(rec);
      const gw = this.#gatewayEndpoint(rec);
      const netnsPath = rec.netnsPath;
      // The DNAT rules wait for the veth: a connection DNAT'ed to an address not on the
      // bridge yet loses its SYN, and TCP retries only after a second. Until the rules
      // are in, a connection meets the port reservation and is refused at once.
      const wired = (async () => {
        if (netnsPath) await createNetns(netnsPath, rec.endpoints.map((e) => this.#vethOf(e)), gw ? { ip: gw.gateway, ifName: gw.ifName } : null);
        await this.#firewall.addPorts(this.#firewallPorts(rec), () => this.#unwired.delete(cid));
      })();
      const results = await Promise.allSettled([this.#writeEtcFiles(rec), wired]);
      for (const r of results) if (r.status === "rejected") throw r.reason;
    } catch (err) {
      // Releases the leases and ports too, and removes whatever rules made it in.
      await this.#teardownSandbox(rec).catch((e: unknown) => this.#log.warn(`network: rollback of ${cid.slice(0, 12)}: ${String(e)}`));
      if (err instanceof PortInUseError) {
        throw new ConflictError(
          `driver failed programming external connectivity on endpoint ${rec.name || cid.slice(0, 12)} (${rec.endpoints[0]?.endpointId ?? ""}): ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    }
    return this.#sandboxView(rec);
  }

  #checkEndpointOptions(n: NetState, aliases: string[] | undefined, ipv4: string | undefined): void {
    if (n.record.predefined && aliases?.length) throw new InvalidArgumentError("network-scoped alias is supported only for containers in user defined networks");
    if (n.record.predefined && ipv4) throw new InvalidArgumentError("user specified IP address is supported on user defined networks only");
  }

  #lease(n: NetState, ipv4: string | undefined): number {
    if (!n.allocator) throw new InvalidArgumentError(`network ${n.record.Name} has no address space`);
    if (!ipv4) return n.allocator.allocate();
    const ip = parseIpv4(ipv4);
    if (ip === null) throw new InvalidArgumentError(`invalid IPv4 address: ${ipv4}`);
    n.allocator.reserve(ip);
    return ip;
  }

  #newEndpoint(n: NetState, ip: number, ifName: string, aliases: string[], mac?: string): EndpointRecord {
    return {
      networkId: n.record.Id,
      endpointId: newId(),
      ifName,
      hostIfName: newHostIfName(),
      ip: formatIpv4(ip),
      prefixLen: n.subnet!.prefixLen,
      gateway: n.record.gateway!,
      mac: mac ?? macForIp(ip),
      aliases: [...aliases],
    };
  }

  #vethOf(e: EndpointRecord): VethSpec {
    const bridge = this.#networks.get(e.networkId)?.record.bridgeName;
    if (!bridge) throw new NotFoundError(`network ${e.networkId} not found`);
    return { ifName: e.ifName, hostIfName: e.hostIfName, mac: e.mac, ip: e.ip, prefixLen: e.prefixLen, bridge };
  }

  /** The endpoint that carries the default route and the published ports: the first on a non-internal network. */
  #gatewayEndpoint(s: SandboxRecord): EndpointRecord | undefined {
    return s.endpoints.find((e) => !this.#networks.get(e.networkId)?.record.Internal);
  }

  #defaultGateway(): string {
    return this.#byName(BRIDGE)?.record.gateway ?? "";
  }

  #resolveLink(l: { name: string; alias: string; containerId?: string; ip?: string }): HostsEntry {
    const target = l.containerId ? this.#sandboxes.get(l.containerId) : undefined;
    const ip = l.ip ?? target?.endpoints.find((e) => e.networkId === this.#byName(BRIDGE)?.record.Id)?.ip ?? target?.endpoints[0]?.ip;
    if (!ip) throw new InvalidArgumentError(`cannot link to ${l.name}: it has no network address (is it running?)`);
    const names: string[] = [];
    for (const x of [l.alias, target?.hostname, l.name]) if (x && !names.includes(x)) names.push(x);
    return { ip, names };
  }

  async #reservePorts(rec: SandboxRecord, ports: readonly PortBinding[]): Promise<void> {
    for (const p of ports) {
      if (p.hostIp.includes(":")) throw new InvalidArgumentError(`IPv6 host address ${p.hostIp} is not supported for port bindings`);
      if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) {
        throw new InvalidArgumentError(`invalid container port ${p.containerPort}`);
      }
      if (!Number.isInteger(p.hostPort) || p.hostPort < 0 || p.hostPort > 65535) throw new InvalidArgumentError(`invalid host port ${p.hostPort}`);
      const last = p.hostPortEnd ?? p.hostPort;
      if (!Number.isInteger(last) || last < p.hostPort || last > 65535) throw new InvalidArgumentError(`invalid host port range ${p.hostPort}-${last}`);
      const hostIp = p.hostIp === "0.0.0.0" ? "" : p.hostIp;
      const hostPort = await this.#reserveInRange({ protocol: p.protocol, hostIp, hostPort: p.hostPort }, last);
      rec.ports.push({ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPort });
    }
  }

  /** The first free port of `p.hostPort..last`; the last one's error when all are taken. */
  async #reserveInRange(p: HostPort, last: number): Promise<number> {
    for (let port = p.hostPort; ; port++) {
      try {
        return await this.#ports.reserve({ ...p, hostPort: port });
      } catch (err) {
        if (!(err instanceof PortInUseError) || port >= last) throw err;
      }
    }
  }

  async #save(rec: SandboxRecord): Promise<void> {
    // What it describes (netns, veths, rules, leases) does not outlive a reboot; a daemon crash is what it is for.
    await writeJsonAtomic(join(this.#dir(rec.containerId), "sandbox.json"), rec, { durable: false });
  }

  /**
   * Written in place (not renamed over): once a container runs, these
   * inodes are bind-mounted into it and a rename would not be seen.
   */
  async #writeEtcFiles(rec: SandboxRecord): Promise<void> {
    const dir = this.#dir(rec.containerId);
    let hosts: string;
    let resolv: string;
    if (rec.mode === "host") {
      hosts = await readFile(this.#opts.hostHosts ?? "/etc/hosts", "utf8").catch(() => renderHosts({ extraHosts: [], links: [], self: [] }));
      if (rec.extraHosts.length) hosts += rec.extraHosts.map((e) => `${e.ip}\t${e.names.join(" ")}`).join("\n") + "\n";
      resolv = await readFile(this.#opts.hostResolvConf ?? "/etc/resolv.conf", "utf8").catch(() => "");
    } else {
      const names = selfNames(rec.hostname, rec.domainname);
      const self = rec.endpoints.map((e) => ({ ip: e.ip, names }));
      hosts = renderHosts({ extraHosts: rec.extraHosts, links: rec.links, self });
      const dnsNet = rec.endpoints.map((e) => this.#networks.get(e.networkId)).find((n) => n && !n.record.predefined && n.dns);
      resolv = dnsNet
        ? renderEmbeddedResolvConf(dnsNet.record.gateway!, this.#hostResolv, rec)
        : renderPlainResolvConf(this.#hostResolv, rec);
    }
    await mkdir(dir, { recursive: true });
    await Promise.all([
      writeFile(join(dir, "hosts"), hosts),
      writeFile(join(dir, "hostname"), `${rec.hostname}\n`),
      writeFile(join(dir, "resolv.conf"), resolv),
    ]);
  }

  connect(containerId: string, network: string, options: { aliases?: string[]; ipv4?: string } = {}): Promise<Endpoint> {
    return this.#lock.run(containerId, async () => {
      const rec = this.#sandboxes.get(containerId);
      if (!rec) throw new NotFoundError(`container ${containerId.slice(0, 12)} has no network sandbox (is it running?)`);
      const n = this.#find(network);
      if (rec.mode !== "bridge" || n.record.Driver !== "bridge") {
        throw new InvalidArgumentError("container cannot be disconnected from host network or connected to host network");
      }
      if (rec.endpoints.some((e) => e.networkId === n.record.Id)) {
        throw new ConflictError(`endpoint with name ${rec.name || containerId.slice(0, 12)} already exists in network ${n.record.Name}`);
      }
      this.#checkEndpointOptions(n, options.aliases, options.ipv4);
      const ip = this.#lease(n, options.ipv4);
      const used = new Set(rec.endpoints.map((e) => e.ifName));
      let i = 0;
      while (used.has(`eth${i}`)) i++;
      const ep = this.#newEndpoint(n, ip, `eth${i}`, options.aliases ?? []);
      const gwBefore = this.#gatewayEndpoint(rec);
      rec.endpoints.push(ep);
      const gwAfter = this.#gatewayEndpoint(rec);
      try {
        await this.#save(rec);
        await addInterfaces(rec.netnsPath!, [this.#vethOf(ep)], gwAfter !== gwBefore && gwAfter ? { ip: gwAfter.gateway, ifName: gwAfter.ifName } : null);
      } catch (err) {
        rec.endpoints = rec.endpoints.filter((e) => e !== ep);
        n.allocator?.release(ip);
        await this.#save(rec).catch(() => {});
        throw err;
      }
      await this.#writeEtcFiles(rec);
      if (rec.ports.length && gwAfter !== gwBefore) await this.#firewall.rewrite(["nat"]);
      return this.#endpointView(ep);
    });
  }

  disconnect(containerId: string, network: string, force = false): Promise<void> {
    return this.#lock.run(containerId, async () => {
      const rec = this.#sandboxes.get(containerId);
      const n = this.#networks.get(network) ?? this.#byName(network) ?? (force ? undefined : this.#find(network));
      const ep = rec && n ? rec.endpoints.find((e) => e.networkId === n.record.Id) : undefined;
      if (!rec || !n || !ep) {
        if (force) return;
        if (rec && rec.mode !== "bridge") throw new InvalidArgumentError("container cannot be disconnected from host network or connected to host network");
        throw new NotFoundError(`container ${containerId.slice(0, 12)} is not connected to network ${network}`);
      }
      const gwBefore = this.#gatewayEndpoint(rec);
      await deleteLinks([ep.hostIfName]);
      rec.endpoints = rec.endpoints.filter((e) => e !== ep);
      n.allocator?.release(parseIpv4(ep.ip)!);
      await this.#save(rec);
      const gwAfter = this.#gatewayEndpoint(rec);
      if (gwAfter !== gwBefore && rec.netnsPath) {
        await setDefaultRoute(rec.netnsPath, gwAfter ? { ip: gwAfter.gateway, ifName: gwAfter.ifName } : null);
      }
      await this.#writeEtcFiles(rec);
      if (rec.ports.length && gwAfter !== gwBefore) await this.#firewall.rewrite(["nat"]);
    });
  }

  rename(containerId: string, name: string): Promise<void> {
    return this.#lock.run(containerId, async () => {
      const rec = this.#sandboxes.get(containerId);
      if (!rec) return;
      rec.name = name;
      await this.#save(rec);
    });
  }

  detach(containerId: string): Promise<void> {
    return this.#lock.run(containerId, async () => {
      const rec = this.#sandboxes.get(containerId);
      if (!rec) {
        // Idempotent, and also sweeps what a crashed attach may have left without a record.
        await removeNetns(join(this.#netnsDir, containerId));
        await rm(this.#dir(containerId), { recursive: true, force: true });
        return;
      }
      await this.#teardownSandbox(rec, { vethsBehind: true });
    });
  }

  /**
   * Undo a sandbox: netns, port rules, ports, veths, leases, files. `rules: false` leaves the
   * port rules to a rewrite the caller does (recover, teardownAll); with `vethsBehind` the veths
   * are deleted after this returns (`#deleteVeths`), not before.
   */
  async #teardownSandbox(rec: SandboxRecord, opts: { rules?: boolean; vethsBehind?: boolean } = {}): Promise<void> {
    const { rules = true, vethsBehind = false } = opts;
    const fwPorts = this.#unwired.delete(rec.containerId) ? [] : this.#firewallPorts(rec);
    // Out of the state first, so a concurrent rewrite no longer renders its rules.
    if (this.#sandboxes.get(rec.containerId) === rec) this.#sandboxes.delete(rec.containerId);
    const results = await Promise.allSettled([
      rec.netnsPath ? removeNetns(rec.netnsPath) : null,
      rules && fwPorts.length ? this.#firewall.removePorts(fwPorts) : null,
    ]);
    // Ports are given back only once no rule points at them any more.
    for (const p of rec.ports) this.#ports.release({ protocol: p.protocol, hostIp: p.hostIp === "0.0.0.0" ? "" : p.hostIp, hostPort: p.hostPort });
    const vethsGone = this.#deleteVeths(rec);
    if (!vethsBehind) await vethsGone;
    for (const r of results) if (r.status === "rejected") throw r.reason;
    // The record goes last: until then a crash leaves something recover() can finish.
    await rm(this.#dir(rec.containerId), { recursive: true, force: true });
  }

  /**
   * Deletes a torn-down sandbox's veths. `detach` does not wait for it (`docker rm`, the end of a
   * `run --rm`): each deletion spends 10+ ms in the kernel's RCU grace periods. They are deleted
   * explicitly, not left to the namespace going away: that happens asynchronously too, and never
   * while a straggling process still holds the namespace. Their addresses are given back only
   * once the links are gone, so no new container gets an address a dying link still has.
   * Host names are random (`newHostIfName`): a restarted container never gets one of these.
   * After a crash meanwhile, recover() deletes what is left (links on our bridges no record has).
   */
  #deleteVeths(rec: SandboxRecord): Promise<void> {
    if (rec.endpoints.length === 0) return Promise.resolve();
    const done: Promise<void> = deleteLinks(rec.endpoints.map((e) => e.hostIfName))
      .catch((err: unknown) => this.#log.warn(`network: deleting the veths of ${rec.containerId.slice(0, 12)}: ${String(err)}`))
      .finally(() => {
        for (const e of rec.endpoints) this.#networks.get(e.networkId)?.allocator?.release(parseIpv4(e.ip)!);
        this.#behind.delete(done);
      });
    this.#behind.add(done);
    return done;
  }

  async recover(liveContainerIds: readonly string[]): Promise<void> {
    const live = new Set(liveContainerIds);
    for (const rec of [...this.#sandboxes.values()]) {
      if (live.has(rec.containerId)) continue;
      await this.#lock.run(rec.containerId, () => this.#teardownSandbox(rec, { rules: false }));
      this.#log.info(`network: removed sandbox of gone container ${rec.containerId.slice(0, 12)}`);
    }
    for (const rec of this.#sandboxes.values()) {
      for (const p of rec.ports) {
        const hp = { protocol: p.protocol, hostIp: p.hostIp === "0.0.0.0" ? "" : p.hostIp, hostPort: p.hostPort };
        if (this.#ports.isHeld(hp)) continue;
        await this.#ports.reserve(hp).catch((err: unknown) =>
          this.#log.warn(`network: cannot re-reserve ${p.protocol} ${p.hostIp || "0.0.0.0"}:${p.hostPort} for ${rec.containerId.slice(0, 12)}: ${String(err)}`),
        );
      }
    }
    // Files and links no record accounts for: leftovers of a crash mid-attach or mid-detach.
    for (const f of await readdir(this.#netnsDir).catch(() => [] as string[])) {
      if (!this.#sandboxes.has(f) && !f.startsWith(".")) await removeNetns(join(this.#netnsDir, f));
    }
    for (const d of await readdir(join(this.#root, "containers"))) {
      if (!this.#sandboxes.has(d)) await rm(this.#dir(d), { recursive: true, force: true });
    }
    const ours = new Set([...this.#networks.values()].flatMap((n) => (n.record.bridgeName ? [n.record.bridgeName] : [])));
    const known = new Set([...this.#sandboxes.values()].flatMap((s) => s.endpoints.map((e) => e.hostIfName)));
    const stray = (await listLinks()).filter((l) => l.master && ours.has(l.master) && l.linkKind === "veth" && !known.has(l.ifname));
    await deleteLinks(stray.map((l) => l.ifname));
    await this.#firewall.install();
  }

  #firewallState(): FirewallState {
    const networks = [...this.#networks.values()]
      .filter((n) => n.record.bridgeName && n.record.subnet)
      .map((n) => ({ bridge: n.record.bridgeName!, subnet: n.record.subnet!, internal: n.record.Internal }));
    const wired = [...this.#sandboxes.values()].filter((s) => !this.#unwired.has(s.containerId));
    return { networks, ports: wired.flatMap((s) => this.#firewallPorts(s)) };
  }

  /** A sandbox's published ports, aimed at the address of its gateway endpoint. */
  #firewallPorts(s: SandboxRecord): FirewallPort[] {
    const ep = this.#gatewayEndpoint(s);
    if (!ep) return [];
    return s.ports.map((p) => ({
      containerId: s.containerId,
      protocol: p.protocol,
      hostIp: p.hostIp,
      hostPort: p.hostPort,
      containerIp: ep.ip,
      containerPort: p.containerPort,
    }));
  }

  // -------------------------------------------------------------------------
  // Shutdown

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#behind);
    for (const n of this.#networks.values()) {
      await n.dns?.close();
      n.dns = null;
    }
    this.#ports.releaseAll();
  }

  async teardownAll(): Promise<void> {
    // Every step runs even if an earlier one failed: this is the cleanup of last resort.
    const errors: unknown[] = [];
    const step = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    };
    for (const rec of [...this.#sandboxes.values()]) await step(() => this.#lock.run(rec.containerId, () => this.#teardownSandbox(rec, { rules: false })));
    await step(() => this.close());
    await step(() => this.#firewall.teardown());
    await step(() => deleteBridges([...this.#networks.values()].flatMap((n) => (n.record.bridgeName ? [n.record.bridgeName] : []))));
    if (errors.length) throw errors[0];
  }
}
