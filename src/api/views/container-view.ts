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
    Status: humanStatus(r),
    HostConfig: { NetworkMode: r.hostConfig.NetworkMode },
    NetworkSettings: { Networks: {} },
    Mounts: r.mounts.map(mountView),
  };
}

function quoteIfNeeded(s: string): string {
  return /\s/.test(s) ? JSON.stringify(s) : s;
}

/** Docker's STATUS column: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created". */
export function humanStatus(r: ContainerRecord, now = Date.now()): string {
  const s = r.state;
  if (s.Status === "removing") return "Removal In Progress";
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Running) {
    const up = `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
    return s.Paused ? `${up} (Paused)` : up;
  }
  if (s.Dead) return "Dead";
  if (s.StartedAt === "0001-01-01T00:00:00Z") return "Created";
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}
