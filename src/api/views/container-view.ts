import { createHash } from "node:crypto";
import { containerStatusText } from "../../lib/humanize.js";
import { networksOf } from "../../container/container-network.js";
import { exposedPortKeys, portList, portMap } from "../../container/ports.js";
import { readResourceLimits } from "../../container/resource-limits.js";
import { MASKED_PATHS, READONLY_PATHS } from "../../runtime/index.js";
import type { ContainerRecord } from "../../container/types.js";
import type { ContainerService } from "../../container/container-service.js";
import type { Endpoint, NetworkStore, Sandbox } from "../../network/index.js";

/** What the views need from the network layer besides the record. */
export interface NetworkLookup {
  sandbox: Sandbox | undefined;
  /** Network ID by name; undefined for a network that is gone. */
  networkId(name: string): string | undefined;
}

/** The lookup the views need, from the live services. */
export function networkLookupFor(containers: Pick<ContainerService, "sandboxOf">, networks: Pick<NetworkStore, "list">): (r: ContainerRecord) => NetworkLookup {
  return (r) => ({
    sandbox: containers.sandboxOf(r.id),
    networkId: (name) => networks.list().find((n) => n.Name === name)?.Id,
  });
}

/** `GET /containers/{id}/json`: the record in Docker's ContainerInspectResponse shape. */
export function inspectContainer(r: ContainerRecord, net: NetworkLookup): Record<string, unknown> {
  const etc = net.sandbox?.etcFiles;
  return {
    Id: r.id,
    Created: r.created,
    Path: r.path,
    Args: r.args,
    State: r.state,
    Image: r.image,
    ResolvConfPath: etc?.resolvConf ?? "",
    HostnamePath: etc?.hostname ?? "",
    HostsPath: etc?.hosts ?? "",
    LogPath: r.hostConfig.LogConfig?.Type === "none" ? "" : r.logPath,
    Name: `/${r.name}`,
    RestartCount: r.restartCount,
    Driver: "overlay2",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: null,
    HostConfig: {
      ...r.hostConfig,
      LogConfig: r.hostConfig.LogConfig ?? { Type: "json-file", Config: {} },
      Runtime: r.hostConfig.Runtime ?? "runc",
      ConsoleSize: [0, 0],
      CapAdd: r.hostConfig.CapAdd ?? null,
      CapDrop: r.hostConfig.CapDrop ?? null,
      Dns: r.hostConfig.Dns ?? [],
      DnsOptions: r.hostConfig.DnsOptions ?? [],
      DnsSearch: r.hostConfig.DnsSearch ?? [],
      GroupAdd: r.hostConfig.GroupAdd ?? null,
      IpcMode: r.hostConfig.IpcMode ?? "private",
      PidMode: r.hostConfig.PidMode ?? "",
      UTSMode: r.hostConfig.UTSMode ?? "",
      Sysctls: r.hostConfig.Sysctls ?? undefined,
      UsernsMode: "",
      SecurityOpt: r.hostConfig.SecurityOpt ?? null,
      // What the container runs with, as dockerd shows it: its defaults unless privileged or told otherwise.
      MaskedPaths: r.hostConfig.Privileged ? null : (r.hostConfig.MaskedPaths ?? MASKED_PATHS),
      ReadonlyPaths: r.hostConfig.Privileged ? null : (r.hostConfig.ReadonlyPaths ?? READONLY_PATHS),
      // Records from before limits existed have none: dockerd's zero values.
      ...readResourceLimits(r.hostConfig as unknown as Record<string, unknown>),
    },
    GraphDriver: { Name: "overlay2", Data: null },
    Mounts: r.mounts.map(mountView),
    Config: r.config,
    NetworkSettings: networkSettings(r, net),
  };
}

function mountView(m: ContainerRecord["mounts"][number]): Record<string, unknown> {
  const { anonymous: _anonymous, ...rest } = m;
  void _anonymous;
  return rest;
}

/** `GET /containers/json` item (ContainerSummary). */
export function summarizeContainer(r: ContainerRecord, imageName: string, net: NetworkLookup): Record<string, unknown> {
  return {
    Id: r.id,
    Names: [`/${r.name}`],
    Image: imageName,
    ImageID: r.image,
    Command: [r.path, ...r.args].map(quoteIfNeeded).join(" "),
    Created: Math.floor(Date.parse(r.created) / 1000),
    Ports: portList(exposedPortKeys(r.config), r.state.Running ? (net.sandbox?.ports ?? []) : []),
    Labels: r.config.Labels,
    State: r.state.Status,
    Status: containerStatusText({ ...r.state, Running: r.state.Running || r.state.Restarting, RemovalInProgress: r.state.Status === "removing" }),
    HostConfig: { NetworkMode: r.hostConfig.NetworkMode },
    NetworkSettings: { Networks: endpointViews(r, net) },
    Mounts: r.mounts.map(mountView),
  };
}

function quoteIfNeeded(s: string): string {
  return /\s/.test(s) ? JSON.stringify(s) : s;
}

/**
 * `NetworkSettings` of inspect. The top-level address fields describe the
 * default bridge only (Docker keeps them for old clients); everything else
 * is per network in `Networks`.
 */
function networkSettings(r: ContainerRecord, net: NetworkLookup): Record<string, unknown> {
  const sandbox = r.state.Running ? net.sandbox : undefined;
  const bridge = sandbox?.endpoints.find((e) => e.network === "bridge");
  return {
    Bridge: "",
    SandboxID: sandbox ? createHash("sha256").update(r.id).digest("hex") : "",
    // In none mode the namespace is the container's own, held by its init process.
    SandboxKey: sandbox?.netnsPath ?? (sandbox?.mode === "none" ? `/proc/${r.state.Pid}/ns/net` : ""),
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: sandbox ? portMap(exposedPortKeys(r.config), sandbox.ports) : {},
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridge?.endpointId ?? "",
    Gateway: bridge?.gateway ?? "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.ip ?? "",
    IPPrefixLen: bridge?.prefixLen ?? 0,
    IPv6Gateway: "",
    MacAddress: bridge?.mac ?? "",
    Networks: endpointViews(r, net),
  };
}

/** Docker's `EndpointSettings` per network: configured ones always, addresses while running. */
function endpointViews(r: ContainerRecord, net: NetworkLookup): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const live = r.state.Running ? net.sandbox?.endpoints : undefined;
  for (const [name, cfg] of Object.entries(networksOf(r))) {
    const e: Endpoint | undefined = live?.find((x) => x.network === name);
    out[name] = {
      IPAMConfig: cfg.IPAMConfig ?? null,
      Links: name === "bridge" && r.hostConfig.Links?.length ? r.hostConfig.Links : null,
      Aliases: cfg.Aliases ?? null,
      MacAddress: e?.mac ?? "",
      DriverOpts: null,
      NetworkID: e?.networkId ?? net.networkId(name) ?? "",
      EndpointID: e?.endpointId ?? "",
      Gateway: e?.gateway ?? "",
      IPAddress: e?.ip ?? "",
      IPPrefixLen: e?.prefixLen ?? 0,
      IPv6Gateway: "",
      GlobalIPv6Address: "",
      GlobalIPv6PrefixLen: 0,
      DNSNames: e && name !== "bridge" && name !== "host" && name !== "none" ? [r.name, r.id.slice(0, 12), ...(cfg.Aliases ?? [])] : null,
    };
  }
  return out;
}
