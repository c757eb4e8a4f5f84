/**
 * The `network` layer: networks (Docker's `/networks` objects) and each
 * container's network sandbox.
 *
 * Lifecycle of a container, as this layer sees it:
 *
 *   attach(id, request) → Sandbox   (before `runtime.create`: the netns and
 *                                     the /etc files go into the OCI spec)
 *     → [connect / disconnect while it runs]
 *     → detach(id)                   (after the container stopped)
 *
 * - A sandbox is a network namespace bind-mounted on a file
 *   (`<execRoot>/netns/<id>`), so it exists before the container's process
 *   and outlives the daemon: containers keep their network across a daemon
 *   restart (live restore). `recover(liveIds)` after a restart keeps the
 *   sandboxes of live containers and removes everything else.
 * - Everything an attach wires (leases, veths, NAT rules, port reservations,
 *   DNS records) is recorded in `<dataRoot>/network/sandboxes/<id>.json`
 *   before it is wired, so a crash at any point leaves a record `recover`
 *   can clean up from.
 * - The kernel state is derived from the records: the iptables chains
 *   owned by Wharf are rewritten whole from them at start, on recovery and
 *   when networks change (one `iptables-restore --noflush`); a container's
 *   port rules are appended/deleted incrementally on attach/detach, for
 *   latency (see `firewall.ts`).
 *
 * Predefined networks: `bridge` (the default, bridge `wharf0`), `host` (the
 * host's stack, no sandbox netns) and `none` (a netns with only `lo`, which
 * the runtime creates with the container: nothing to wire, so no netns file
 * and no process spawned for it here).
 * Containers on user-defined bridge networks resolve each other by name
 * through an embedded DNS server; on the default bridge only `/etc/hosts`
 * (self + links) is available, as in Docker.
 *
 * Errors (all from `src/lib/errors.ts`):
 * - `NotFoundError`: unknown network (`network X not found`) or container
 *   without a sandbox.
 * - `AlreadyExistsError`: network name taken; container already attached.
 * - `InvalidArgumentError`: bad subnet/gateway/IP/alias/extra host, subnet
 *   overlapping another network, an option the driver does not support.
 * - `ConflictError`: host port already allocated, address in use, removing
 *   a network with endpoints, connecting twice to the same network.
 * - `ForbiddenError`: removing a predefined network; creating a second
 *   `host`/`null` network.
 * - `InternalError`: `ip`/`iptables`/`unshare` failed; the message is theirs.
 */

// ---------------------------------------------------------------------------
// Networks

export type NetworkDriver = "bridge" | "host" | "null";

export interface IpamConfig {
  Subnet: string;
  Gateway: string;
  /** Sub-range addresses are allocated from (Docker's `--ip-range`). */
  IPRange?: string;
}

/** A container on a network, as `GET /networks/{id}` lists it. */
export interface NetworkContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  /** `10.213.0.2/16` */
  IPv4Address: string;
  IPv6Address: string;
}

/**
 * A network in Docker's `NetworkResource` shape (the fields that apply), plus
 * `bridgeName` for our own use.
 * https://docs.docker.com/engine/api/v1.45/#tag/Network/operation/NetworkInspect
 */
export interface Network {
  /** 64 hex */
  Id: string;
  Name: string;
  /** RFC 3339 */
  Created: string;
  Scope: "local";
  Driver: NetworkDriver;
  EnableIPv6: false;
  IPAM: { Driver: "default"; Options: Record<string, string> | null; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: false;
  ConfigFrom: { Network: string };
  ConfigOnly: false;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** Keyed by container ID; filled by `list` and `get`. */
  Containers: Record<string, NetworkContainer>;
  /** Linux bridge device for `bridge` networks, null for `host`/`null`. */
  bridgeName: string | null;
  /** bridge/host/none: cannot be removed. */
  predefined: boolean;
}

/** `POST /networks/create` body (the fields that apply). */
export interface CreateNetworkRequest {
  Name: string;
  /** Default `bridge`; the only one that can be created. */
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Labels?: Record<string, string>;
  /** `com.docker.network.bridge.name` picks the bridge device name; others are kept and shown. */
  Options?: Record<string, string>;
  /** At most one config; a subnet is picked from the pool when none is given. */
  IPAM?: { Driver?: string; Options?: Record<string, string>; Config?: Array<{ Subnet?: string; Gateway?: string; IPRange?: string }> };
  /** Ignored: names are always unique (Docker ≥ 25). */
  CheckDuplicate?: boolean;
  /** Must be false/absent: IPv6 is not supported. */
  EnableIPv6?: boolean;
}

export interface NetworkStore {
  /** All networks, predefined first. */
  list(): Network[];
  /**
   * By full ID, exact name, or unique ID prefix. `NotFoundError` ("network X
   * not found"); `InvalidArgumentError` for an ambiguous prefix.
   */
  get(idOrName: string): Network;
  /**
   * Create a user-defined bridge network: its bridge device, NAT and
   * isolation rules and (from then on) its DNS server. `AlreadyExistsError`
   * when the name is taken.
   */
  create(request: CreateNetworkRequest): Promise<Network>;
  /**
   * Remove a user-defined network. `ForbiddenError` for predefined ones,
   * `ConflictError` while containers are attached, `NotFoundError` when
   * unknown (so not idempotent: Docker answers 404 the second time).
   */
  remove(idOrName: string): Promise<void>;
  /** Remove user-defined networks without containers (and that `filter` accepts). Returns the removed names. */
  prune(filter?: (network: Network) => boolean): Promise<string[]>;
}

// ---------------------------------------------------------------------------
// Sandboxes

/** A published port (`-p`). Port ranges are expanded by the caller. */
export interface PortBinding {
  containerPort: number;
  protocol: "tcp" | "udp";
  /** `""` = all host addresses (0.0.0.0). */
  hostIp: string;
  /** 0 = pick a free port from the kernel's ephemeral range. */
  hostPort: number;
  /** With `hostPort`, a range (`-p 8000-8010:80`): the first free port of hostPort..hostPortEnd is taken. */
  hostPortEnd?: number;
}

export interface EndpointRequest {
  /**
   * Network name or ID, or `host` / `none`. (`container:<id>` is the
   * caller's business: it joins `sandboxOf(id).netnsPath`, or the peer's
   * own namespace in `none` mode.)
   */
  network: string;
  /** Network-scoped DNS aliases (user-defined networks only). */
  aliases?: string[];
  /** Static address (user-defined networks only, inside the subnet). */
  ipv4?: string;
  /** The interface's MAC address; default one derived from the IP address (Docker's `02:42:…`). */
  mac?: string;
}

/** `--link name:alias` */
export interface LinkRequest {
  /** The linked container's name (without `/`). */
  name: string;
  alias: string;
  /** The linked container's ID: its address and hostname are read from its sandbox when `ip` is not given. */
  containerId?: string;
  ip?: string;
}

export interface AttachRequest {
  /** Container name (without `/`): a DNS name on user-defined networks. */
  name?: string;
  hostname: string;
  domainname?: string;
  /** Empty or absent: the default `bridge`. `host` and `none` must stand alone. */
  networks?: EndpointRequest[];
  /** Ignored in `host`/`none` mode (as Docker does). */
  ports?: PortBinding[];
  links?: LinkRequest[];
  /** `host:ip` (or `host=ip`); ip `host-gateway` = the default bridge's gateway. */
  extraHosts?: string[];
  /** `--dns`: replaces the host's nameservers (on user-defined networks: the DNS server's upstreams for this container). */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}

export interface Endpoint {
  networkId: string;
  network: string;
  /** 64 hex */
  endpointId: string;
  /** Interface name inside the sandbox: eth0, eth1, … */
  ifName: string;
  ip: string;
  prefixLen: number;
  /** Empty on internal networks that are not the first one. */
  gateway: string;
  mac: string;
  aliases: string[];
}

export interface EtcFiles {
  hosts: string;
  hostname: string;
  resolvConf: string;
}

export interface Sandbox {
  containerId: string;
  mode: "bridge" | "host" | "none";
  /**
   * The netns file to join (`{kind:"path"}`); null in host mode
   * (`{kind:"host"}`) and in none mode (`{kind:"new"}`: the runtime makes
   * the namespace, `lo` only). Sandboxes in none mode recorded before that
   * change still have a file, and keep it until they are torn down.
   */
  netnsPath: string | null;
  /** Host files to bind-mount over the container's /etc files. */
  etcFiles: EtcFiles;
  endpoints: Endpoint[];
  /** The published ports with the host ports actually bound. */
  ports: PortBinding[];
}

export interface SandboxManager {
  /**
   * Create the container's sandbox and wire it. `AlreadyExistsError` when the
   * container already has one; on any failure nothing is left behind (ports
   * released, netns and veths removed, leases freed).
   */
  attach(containerId: string, request: AttachRequest): Promise<Sandbox>;
  /** The container's sandbox, or undefined. */
  sandboxOf(containerId: string): Sandbox | undefined;
  /**
   * Add an interface on another network to a live sandbox (`docker network
   * connect`). `NotFoundError` for an unknown container or network;
   * `ConflictError` when already connected; `InvalidArgumentError` for
   * host/none sandboxes.
   */
  connect(containerId: string, network: string, options?: { aliases?: string[]; ipv4?: string }): Promise<Endpoint>;
  /**
   * Remove the interface on `network`. `NotFoundError` when the container is
   * not connected to it (unless `force`, which makes it a no-op).
   */
  disconnect(containerId: string, network: string, force?: boolean): Promise<void>;
  /** The container was renamed (`docker rename`): its DNS name follows. No-op without a sandbox. */
  rename(containerId: string, name: string): Promise<void>;
  /**
   * Tear the sandbox down entirely. Resolves once its namespace is unmounted, its rules and ports
   * are gone and its record is removed; its veths are deleted after that (their addresses are
   * reused only once they are gone), and `close()` waits for those deletions. Idempotent: unknown IDs resolve.
   */
  detach(containerId: string): Promise<void>;
  /**
   * After a daemon restart: keep the sandboxes of `liveContainerIds`
   * (re-reserve their ports, serve their DNS names), remove every other
   * sandbox, netns file and veth this manager owns. Safe to call twice.
   */
  recover(liveContainerIds: readonly string[]): Promise<void>;
}

export interface NetworkManager extends NetworkStore, SandboxManager {
  /**
   * Release what lives in this process (port sockets, DNS servers) and leave
   * the kernel state alone, as a daemon shutdown with live restore does
   * (veth deletions already under way are finished first).
   */
  close(): Promise<void>;
  /** For tests: detach everything, delete the bridges and iptables chains this manager created. */
  teardownAll(): Promise<void>;
}
