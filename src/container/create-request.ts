/**
 * Reading a create request (`POST /containers/create`): the HostConfig with
 * dockerd's defaults and validation, and the container Config with the image's
 * defaults under it. Everything a client sends is either applied at start or
 * refused here with dockerd's message — never dropped.
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerCreate
 */

import { InvalidArgumentError } from "../lib/errors.js";
import { checkCapabilityList } from "./capabilities.js";
import { normalizeDeviceCgroupRules, normalizeDevices } from "./devices.js";
import { checkHealthConfig, mergeHealthConfig, type HealthConfig } from "./health-check.js";
import { normalizeLogConfig } from "./log-config.js";
import { parseVolumesFrom } from "./mounts.js";
import { checkSysctls, normalizeNamespaceModes } from "./namespace-options.js";
import { normalizeResourceLimits } from "./resource-limits.js";
import { parseRestartPolicy } from "./restart-policy.js";
import { parseSecurityOptions } from "./security-options.js";
import type { ContainerConfig, HostConfig } from "./types.js";
import { normalizeUlimits } from "./ulimits.js";
import { refuseUnsupported } from "./unsupported-options.js";

/** Fills Docker's defaults and validates what clients send in HostConfig. */
export function normalizeHostConfig(hc: Partial<HostConfig> | undefined): HostConfig {
  const h = hc ?? {};
  const restart = parseRestartPolicy(h.RestartPolicy);
  if (h.AutoRemove && restart.Name !== "" && restart.Name !== "no") {
    throw new InvalidArgumentError(`conflicting options: cannot specify both --restart and --rm`);
  }
  const mode = h.NetworkMode ?? "default";
  if (!/^(default|bridge|host|none|container:.+|[a-zA-Z0-9][a-zA-Z0-9_.-]*)$/.test(mode)) {
    throw new InvalidArgumentError(`invalid network mode: ${mode}`);
  }
  if (h.Binds != null && !Array.isArray(h.Binds)) throw new InvalidArgumentError("HostConfig.Binds must be an array");
  refuseUnsupported(h as Record<string, unknown>);
  const oomScoreAdj = h.OomScoreAdj ?? 0;
  if (!Number.isInteger(oomScoreAdj) || oomScoreAdj < -1000 || oomScoreAdj > 1000) {
    throw new InvalidArgumentError(`Invalid value ${String(oomScoreAdj)}, range for oom score adj is [-1000, 1000]`);
  }
  const cgroupParent = h.CgroupParent ?? "";
  if (typeof cgroupParent !== "string" || cgroupParent.split("/").includes("..")) throw new InvalidArgumentError(`invalid cgroup parent: ${String(cgroupParent)}`);
  const cgroupns = h.CgroupnsMode ?? "";
  if (!["", "host", "private"].includes(cgroupns)) throw new InvalidArgumentError(`invalid cgroup namespace mode: ${cgroupns}`);
  const volumesFrom = stringArray(h.VolumesFrom, "VolumesFrom");
  for (const v of volumesFrom ?? []) parseVolumesFrom(v);
  const modes = normalizeNamespaceModes(h as Record<string, unknown>);
  const securityOpt = stringArray(h.SecurityOpt, "SecurityOpt");
  parseSecurityOptions(securityOpt); // refused now, not at start; applied at each start

  return {
    Binds: h.Binds ?? null,
    Mounts: h.Mounts ?? [],
    NetworkMode: mode,
    PortBindings: h.PortBindings ?? {},
    RestartPolicy: restart,
    AutoRemove: h.AutoRemove ?? false,
    VolumesFrom: volumesFrom,
    Links: stringArray(h.Links, "Links"),
    PublishAllPorts: h.PublishAllPorts ?? false,
    Privileged: h.Privileged ?? false,
    CapAdd: checkCapabilityList(h.CapAdd, "CapAdd"),
    CapDrop: checkCapabilityList(h.CapDrop, "CapDrop"),
    SecurityOpt: securityOpt,
    MaskedPaths: absolutePaths(h.MaskedPaths, "MaskedPaths"),
    ReadonlyPaths: absolutePaths(h.ReadonlyPaths, "ReadonlyPaths"),
    ...normalizeResourceLimits(h as Record<string, unknown>),
    ReadonlyRootfs: h.ReadonlyRootfs ?? false,
    ...modes,
    Sysctls: checkSysctls(h.Sysctls, { ...modes, NetworkMode: mode }),
    GroupAdd: stringArray(h.GroupAdd, "GroupAdd"),
    Devices: normalizeDevices(h.Devices),
    DeviceCgroupRules: normalizeDeviceCgroupRules(h.DeviceCgroupRules),
    Ulimits: normalizeUlimits(h.Ulimits),
    OomScoreAdj: oomScoreAdj,
    CgroupParent: cgroupParent,
    CgroupnsMode: cgroupns === "" ? "host" : cgroupns,
    Annotations: stringMap(h.Annotations, "Annotations"),
    LogConfig: normalizeLogConfig(h.LogConfig),
    Init: h.Init ?? null,
    ExtraHosts: stringArray(h.ExtraHosts, "ExtraHosts"),
    Dns: stringArray(h.Dns, "Dns") ?? [],
    DnsSearch: stringArray(h.DnsSearch, "DnsSearch") ?? [],
    DnsOptions: stringArray(h.DnsOptions, "DnsOptions") ?? [],
    Tmpfs: h.Tmpfs,
    ShmSize: h.ShmSize ?? 67108864,
    ConsoleSize: validConsoleSize(h.ConsoleSize),
    Runtime: h.Runtime ?? "runc",
  };
}

interface ImageConfigBody {
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
}

/** Applies the image's defaults under what the client asked for, as Docker does at create time. */
export function mergeConfig(cfg: Partial<ContainerConfig>, image: ImageConfigBody): ContainerConfig {
  checkHealthConfig(cfg.Healthcheck);
  checkStringArray(cfg.Env, "Env");
  checkStringArray(cfg.Cmd, "Cmd");
  checkStringArray(cfg.Entrypoint, "Entrypoint");
  const env = new Map<string, string>();
  for (const e of [...(image.Env ?? []), ...(cfg.Env ?? [])]) {
    const i = e.indexOf("=");
    env.set(i < 0 ? e : e.slice(0, i), e);
  }
  let entrypoint = cfg.Entrypoint ?? null;
  let cmd = cfg.Cmd ?? null;
  const userSetEntrypoint = entrypoint !== null && entrypoint.length > 0;
  // `--entrypoint ""` arrives as [""]: it resets the image's entrypoint.
  if (entrypoint !== null && entrypoint.length === 1 && entrypoint[0] === "") entrypoint = [];
  if (entrypoint === null) entrypoint = image.Entrypoint ?? null;
  if ((cmd === null || cmd.length === 0) && !userSetEntrypoint) cmd = image.Cmd ?? null;
  return {
    Hostname: cfg.Hostname ?? "",
    Domainname: cfg.Domainname ?? "",
    User: cfg.User || image.User || "",
    AttachStdin: cfg.AttachStdin ?? false,
    AttachStdout: cfg.AttachStdout ?? false,
    AttachStderr: cfg.AttachStderr ?? false,
    ExposedPorts: { ...(image.ExposedPorts ?? {}), ...(cfg.ExposedPorts ?? {}) },
    Tty: cfg.Tty ?? false,
    OpenStdin: cfg.OpenStdin ?? false,
    StdinOnce: cfg.StdinOnce ?? false,
    Env: [...env.values()],
    Cmd: cmd,
    Image: cfg.Image!,
    Volumes: { ...(image.Volumes ?? {}), ...(cfg.Volumes ?? {}) },
    WorkingDir: cfg.WorkingDir || image.WorkingDir || "",
    Entrypoint: entrypoint && entrypoint.length > 0 ? entrypoint : null,
    Labels: { ...(image.Labels ?? {}), ...(cfg.Labels ?? {}) },
    StopSignal: cfg.StopSignal ?? image.StopSignal,
    ...(typeof cfg.MacAddress === "string" && cfg.MacAddress !== "" ? { MacAddress: cfg.MacAddress } : {}),
    Healthcheck: mergeHealthConfig(cfg.Healthcheck, image.Healthcheck),
    StopTimeout: cfg.StopTimeout,
  };
}

function stringMap(v: unknown, field: string): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some((x) => typeof x !== "string")) {
    throw new InvalidArgumentError(`json: cannot unmarshal into Go struct field HostConfig.${field} of type map[string]string`);
  }
  return { ...(v as Record<string, string>) };
}

function absolutePaths(v: unknown, field: string): string[] | null {
  const paths = stringArray(v, field);
  const bad = paths?.find((p) => !p.startsWith("/"));
  if (bad !== undefined) throw new InvalidArgumentError(`HostConfig.${field}: not an absolute path: ${bad}`);
  return paths;
}

function stringArray(v: unknown, field: string): string[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new InvalidArgumentError(`json: cannot unmarshal ${typeof v} into Go struct field HostConfig.${field} of type []string`);
  }
  return [...v];
}

function checkStringArray(v: unknown, field: string): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new InvalidArgumentError(`json: cannot unmarshal ${typeof v} into Go struct field Config.${field} of type []string`);
  }
}

function validConsoleSize(v: unknown): [number, number] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => Number.isInteger(n) && n >= 0 && n < 65536)) {
    throw new InvalidArgumentError("ConsoleSize must be [height, width]");
  }
  return [v[0], v[1]];
}
