/**
 * The container model. `Config` and `HostConfig` keep the Docker Engine API
 * shapes (what clients send on create and read back on inspect), so the API
 * edge does no translation beyond validation.
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerCreate
 */
import type { DeviceMapping } from "./devices.js";
import type { HealthConfig, HealthState } from "./health-check.js";
import type { LogConfig } from "./log-config.js";
import type { ResourceLimits } from "./resource-limits.js";
import type { Ulimit } from "./ulimits.js";

export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Image: string;
  Volumes?: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  /** `--mac-address` as clients before API 1.44 send it: the first network's. */
  MacAddress?: string;
  /** The image's HEALTHCHECK under the client's `--health-*` (health-check.ts). */
  Healthcheck?: HealthConfig;
  StopTimeout?: number;
}

export interface RestartPolicy {
  Name: "" | "no" | "always" | "unless-stopped" | "on-failure";
  MaximumRetryCount: number;
}

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface MountSpec {
  Type: "bind" | "volume" | "tmpfs";
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
}

/**
 * What the container runs with (HostConfig of the Docker Engine API). Records written before a
 * field existed lack it: readers treat a missing limit or list as none.
 */
export interface HostConfig extends Partial<ResourceLimits> {
  Binds: string[] | null;
  Mounts?: MountSpec[];
  NetworkMode: string;
  PortBindings: Record<string, PortBinding[] | null>;
  RestartPolicy: RestartPolicy;
  AutoRemove: boolean;
  VolumesFrom?: string[] | null;
  Links?: string[] | null;
  PublishAllPorts: boolean;
  Privileged: boolean;
  /** As the client sent them (names with or without `CAP_`, `ALL`); validated at create. */
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  /** `--security-opt` entries as sent; validated at create (security-options.ts). */
  SecurityOpt?: string[] | null;
  /** Paths hidden from / read-only in the container instead of Docker's defaults (API 1.40+; `[]`: none). */
  MaskedPaths?: string[] | null;
  ReadonlyPaths?: string[] | null;
  ReadonlyRootfs: boolean;
  /** `--pid`, `--ipc`, `--uts` (namespace-options.ts); absent in records from before they existed. */
  PidMode?: string;
  IpcMode?: string;
  UTSMode?: string;
  /** `--sysctl`, validated against those modes. */
  Sysctls?: Record<string, string> | null;
  /** `--group-add`: group names (of the image's /etc/group) or numbers. */
  GroupAdd?: string[] | null;
  LogConfig?: LogConfig;
  /** `--device`, `--device-cgroup-rule` (devices.ts). */
  Devices?: DeviceMapping[] | null;
  DeviceCgroupRules?: string[] | null;
  /** `--ulimit` (ulimits.ts). */
  Ulimits?: Ulimit[] | null;
  OomScoreAdj?: number;
  /** `--cgroup-parent`: the cgroup under which the container's goes (default `wharf`). */
  CgroupParent?: string;
  /** "host" (default on cgroup v1, as dockerd) or "private". */
  CgroupnsMode?: string;
  /** OCI annotations passed to the runtime. */
  Annotations?: Record<string, string> | null;
  Init?: boolean | null;
  ExtraHosts?: string[] | null;
  /** `--dns`, `--dns-search`, `--dns-option`. */
  Dns?: string[] | null;
  DnsSearch?: string[] | null;
  DnsOptions?: string[] | null;
  Tmpfs?: Record<string, string>;
  ShmSize?: number;
  Runtime?: string;
  /** [height, width] of the tty at start (API 1.42+). */
  ConsoleSize?: [number, number];
}

/** A container's settings on one network (`NetworkingConfig.EndpointsConfig[name]` on create, `docker network connect`). */
export interface EndpointConfig {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string } | null;
  /** `--mac-address` (API 1.44+; older clients send Config.MacAddress). */
  MacAddress?: string;
}

/** A mount as the container sees it (`Mounts` in inspect). */
export interface MountPoint {
  Type: "bind" | "volume" | "tmpfs";
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Created for this container because the image declares a VOLUME: removed with `rm -v`. */
  anonymous?: boolean;
}

export type ContainerStatus = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Present while a container with a health check runs, and its last value after. */
  Health?: HealthState;
}

/** What the daemon persists per container (`<data-root>/containers/<id>/container.json`). */
export interface ContainerRecord {
  id: string;
  /** Without the leading slash Docker shows in inspect. */
  name: string;
  created: string;
  /** Image ID (`sha256:…`) the container was created from. */
  image: string;
  path: string;
  args: string[];
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: ContainerState;
  mounts: MountPoint[];
  /**
   * The networks the container joins when it starts, by network name (the
   * default bridge is `bridge`). Empty for `host`, `none` and `container:`
   * modes. Absent in records written before networking existed.
   */
  networks?: Record<string, EndpointConfig>;
  restartCount: number;
  /** Set by an explicit stop or kill: `always` does not restart it until the daemon restarts, `unless-stopped` never. */
  manuallyStopped: boolean;
  logPath: string;
}

export const zeroTime = "0001-01-01T00:00:00Z";
