/**
 * The subset of the OCI runtime spec (v1.0.2, what runc 1.1 speaks) that
 * Wharf writes into a bundle's `config.json`. Field names are the spec's.
 * https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config.md
 * https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config-linux.md
 */

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}

/** https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config.md#process */
export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: OciCapabilities;
  /** Only what the user asks for (`--ulimit`): Docker's defaults raise limits, which fails with EPERM without CAP_SYS_RESOURCE. */
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface OciCapabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/** https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config.md#mounts */
export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export type OciNamespaceType = "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup";

export interface OciNamespace {
  type: OciNamespaceType;
  /** Join this namespace instead of creating one. */
  path?: string;
}

/** https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config-linux.md#device-allowlist */
export interface OciDeviceRule {
  allow: boolean;
  type?: "a" | "c" | "b";
  major?: number;
  minor?: number;
  access?: string;
}

/**
 * https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config-linux.md#control-groups
 * Only `devices` is set today; the rest is typed so that `--memory`,
 * `--cpus`, `--pids-limit` can be added without touching the runtime.
 */
export interface OciResources {
  devices?: OciDeviceRule[];
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

export interface OciLinux {
  namespaces: OciNamespace[];
  /** cgroupfs driver form (`/wharf/<id>`), relative to each hierarchy's root. */
  cgroupsPath?: string;
  resources?: OciResources;
  devices?: { path: string; type: string; major: number; minor: number; fileMode?: number; uid?: number; gid?: number }[];
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
  seccomp?: OciSeccomp;
}

/** https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config-linux.md#seccomp */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: Array<{
    names: string[];
    action: string;
    errnoRet?: number;
    args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
  }>;
}
