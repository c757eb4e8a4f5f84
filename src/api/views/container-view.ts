import { containerStatusText } from "../../lib/humanize.js";
import type { ContainerRecord } from "../../container/types.js";

/** `GET /containers/{id}/json`: the record in Docker's ContainerInspectResponse shape. */
export function inspectContainer(r: ContainerRecord): Record<string, unknown> {
  return {
    Id: r.id,
    Created: r.created,
    Path: r.path,
    Args: r.args,
    State: { ...r.state, Health: undefined },
    Image: r.image,
    ResolvConfPath: "",
    HostnamePath: "",
    HostsPath: "",
    LogPath: r.logPath,
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
      LogConfig: { Type: "json-file", Config: {} },
      Runtime: r.hostConfig.Runtime ?? "runc",
      ConsoleSize: [0, 0],
      CapAdd: null,
      CapDrop: null,
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      GroupAdd: null,
      IpcMode: "private",
      PidMode: "",
      UTSMode: "",
      UsernsMode: "",
      SecurityOpt: null,
      Memory: 0,
      NanoCpus: 0,
      CpuShares: 0,
    },
    GraphDriver: { Name: "overlay2", Data: null },
    Mounts: r.mounts.map(mountView),
    Config: r.config,
    NetworkSettings: {
      Bridge: "",
      SandboxID: "",
      HairpinMode: false,
      Ports: {},
      SandboxKey: "",
      IPAddress: "",
      IPPrefixLen: 0,
      Gateway: "",
      MacAddress: "",
      Networks: {},
    },
  };
}

function mountView(m: ContainerRecord["mounts"][number]): Record<string, unknown> {
  const { anonymous: _anonymous, ...rest } = m;
  void _anonymous;
  return rest;
}

/** `GET /containers/json` item (ContainerSummary). */
export function summarizeContainer(r: ContainerRecord, imageName: string): Record<string, unknown> {
  return {
    Id: r.id,
    Names: [`/${r.name}`],
    Image: imageName,
    ImageID: r.image,
    Command: [r.path, ...r.args].map(quoteIfNeeded).join(" "),
    Created: Math.floor(Date.parse(r.created) / 1000),
    Ports: [],
    Labels: r.config.Labels,
    State: r.state.Status,
    Status: containerStatusText({ ...r.state, Running: r.state.Running || r.state.Restarting, RemovalInProgress: r.state.Status === "removing" }),
    HostConfig: { NetworkMode: r.hostConfig.NetworkMode },
    NetworkSettings: { Networks: {} },
    Mounts: r.mounts.map(mountView),
  };
}

function quoteIfNeeded(s: string): string {
  return /\s/.test(s) ? JSON.stringify(s) : s;
}
