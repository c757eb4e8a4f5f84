/**
 * HostConfig fields Wharf cannot honour yet: a request that sets one is
 * refused with a message that says so, never run without it. Zero values
 * (what clients send when the user asked for nothing) pass.
 */
import { InvalidArgumentError } from "../lib/errors.js";

const refusals: Array<[field: string, isSet: (v: unknown) => boolean, why: string]> = [
  ["UsernsMode", (v) => v !== "" && v !== "host", "user namespaces (--userns) are not supported by this daemon"],
  ["DeviceRequests", nonEmpty, 'could not select device driver "" with capabilities: [[gpu]] (no GPU support in this daemon)'],
  ["StorageOpt", (v) => nonEmpty(v === null || v === undefined ? [] : Object.keys(v as object)), "--storage-opt is not supported by this daemon's overlay storage"],
  ["BlkioWeightDevice", nonEmpty, "--blkio-weight-device is not supported by this daemon"],
  ["BlkioDeviceReadBps", nonEmpty, "--device-read-bps is not supported by this daemon"],
  ["BlkioDeviceWriteBps", nonEmpty, "--device-write-bps is not supported by this daemon"],
  ["BlkioDeviceReadIOps", nonEmpty, "--device-read-iops is not supported by this daemon"],
  ["BlkioDeviceWriteIOps", nonEmpty, "--device-write-iops is not supported by this daemon"],
  ["CpuRealtimePeriod", nonZero, "--cpu-rt-period is not supported by this daemon"],
  ["CpuRealtimeRuntime", nonZero, "--cpu-rt-runtime is not supported by this daemon"],
  ["Isolation", (v) => v !== "" && v !== "default", "invalid isolation: only the default isolation is supported on Linux"],
  ["VolumeDriver", (v) => v !== "" && v !== "local", "volume drivers other than local are not supported by this daemon"],
];

export function refuseUnsupported(h: Record<string, unknown>): void {
  for (const [field, isSet, why] of refusals) {
    const v = h[field];
    if (v !== undefined && v !== null && isSet(v)) throw new InvalidArgumentError(why);
  }
}

function nonEmpty(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

function nonZero(v: unknown): boolean {
  return typeof v === "number" && v !== 0;
}
