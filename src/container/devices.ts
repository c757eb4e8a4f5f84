/**
 * `--device HOST[:CONTAINER[:PERMS]]` and `--device-cgroup-rule`: host device
 * nodes made in the container, and the device cgroup rules that let it use
 * them (HostConfig.Devices, DeviceCgroupRules). A host directory brings every
 * device under it, as dockerd does.
 * https://docs.docker.com/reference/cli/docker/container/run/#device
 */
import { InvalidArgumentError } from "../lib/errors.js";
import { deviceAt, hostDevices, type OciDevice } from "../runtime/index.js";
import type { OciResources } from "../runtime/oci-types.js";
import { stat } from "node:fs/promises";
import { join, relative } from "node:path";

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

type DeviceRule = NonNullable<OciResources["devices"]>[number];

export function normalizeDevices(value: unknown): DeviceMapping[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw new InvalidArgumentError("json: cannot unmarshal into Go struct field HostConfig.Devices of type []container.DeviceMapping");
  return value.map((d: Partial<DeviceMapping>) => {
    if (typeof d?.PathOnHost !== "string" || !d.PathOnHost.startsWith("/")) throw new InvalidArgumentError(`invalid device: ${JSON.stringify(d)}: PathOnHost must be an absolute path`);
    const inContainer = d.PathInContainer || d.PathOnHost;
    if (!inContainer.startsWith("/")) throw new InvalidArgumentError(`invalid device path in container: ${inContainer}`);
    const perms = d.CgroupPermissions || "rwm";
    if (!/^[rwm]{1,3}$/.test(perms)) throw new InvalidArgumentError(`invalid device mode: ${perms}`);
    return { PathOnHost: d.PathOnHost, PathInContainer: inContainer, CgroupPermissions: perms };
  });
}

const cgroupRule = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

export function normalizeDeviceCgroupRules(value: unknown): string[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value) || value.some((r) => typeof r !== "string" || !cgroupRule.test(r))) {
    throw new InvalidArgumentError(`invalid device cgroup rule: ${JSON.stringify(value)} (want e.g. "c 1:3 rwm")`);
  }
  return [...(value as string[])];
}

/** The device nodes and cgroup rules for these mappings; `InvalidArgumentError` for a host path that is no device. */
export async function resolveDevices(mappings: readonly DeviceMapping[], rules: readonly string[]): Promise<{ devices: OciDevice[]; allow: DeviceRule[] }> {
  const devices: OciDevice[] = [];
  const allow: DeviceRule[] = [];
  for (const m of mappings) {
    const st = await stat(m.PathOnHost).catch(() => undefined);
    if (!st) throw new InvalidArgumentError(`error gathering device information while adding custom device "${m.PathOnHost}": no such file or directory`);
    const found = st.isDirectory()
      ? (await hostDevices(m.PathOnHost)).map((d) => ({ ...d, path: join(m.PathInContainer, relative(m.PathOnHost, d.path)) }))
      : [await deviceAt(m.PathOnHost)].filter((d) => d !== undefined).map((d) => ({ ...d, path: m.PathInContainer }));
    if (found.length === 0) throw new InvalidArgumentError(`error gathering device information while adding custom device "${m.PathOnHost}": not a device node`);
    for (const d of found) {
      devices.push(d);
      allow.push({ allow: true, type: d.type as "c" | "b", major: d.major, minor: d.minor, access: m.CgroupPermissions });
    }
  }
  for (const r of rules) {
    const [, type, major, minor, access] = cgroupRule.exec(r)!;
    allow.push({
      allow: true,
      type: type as "a" | "c" | "b",
      ...(major === "*" ? {} : { major: Number(major) }),
      ...(minor === "*" ? {} : { minor: Number(minor) }),
      access: access!,
    });
  }
  return { devices, allow };
}
