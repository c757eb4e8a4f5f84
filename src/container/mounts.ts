import { isAbsolute, normalize } from "node:path";
import { InvalidArgumentError } from "../lib/errors.js";
import type { MountPoint, MountSpec } from "./types.js";

/** A parsed `-v`/`Binds` entry or `Mounts` item, before volumes are created. */
export interface MountRequest {
  type: "bind" | "volume" | "tmpfs";
  /** Host path for binds, volume name for named volumes, undefined for anonymous volumes. */
  source: string | undefined;
  target: string;
  readOnly: boolean;
  mode: string;
}

const bindOptions = new Set(["ro", "rw", "z", "Z", "nocopy", "consistent", "cached", "delegated", "shared", "rshared", "slave", "rslave", "private", "rprivate"]);

/**
 * Parses Docker's bind syntax: `/host:/ctr[:opts]`, `name:/ctr[:opts]`, or
 * `/ctr` (an anonymous volume). Rejects what Docker rejects, with its wording.
 */
export function parseBind(spec: string): MountRequest {
  const bad = () => new InvalidArgumentError(`invalid volume specification: '${spec}'`);
  const parts = spec.split(":");
  let source: string | undefined;
  let target: string;
  let mode = "";
  if (parts.length === 1) {
    target = parts[0]!;
  } else if (parts.length === 2) {
    if (isAbsolute(parts[1]!)) {
      [source, target] = [parts[0]!, parts[1]!];
    } else {
      // `/ctr:ro` is an anonymous volume with a mode.
      [target, mode] = [parts[0]!, parts[1]!];
    }
  } else if (parts.length === 3) {
    [source, target, mode] = [parts[0]!, parts[1]!, parts[2]!];
  } else {
    throw bad();
  }
  if (parts.some((x) => x === "")) throw bad();
  if (!isAbsolute(target)) throw new InvalidArgumentError(`invalid volume specification: '${spec}': invalid mount config for type "${source && isAbsolute(source) ? "bind" : "volume"}": invalid mount path: '${target}' mount path must be absolute`);
  if (normalize(target) === "/") throw new InvalidArgumentError(`invalid volume specification: '${spec}': invalid mount config: destination can't be '/'`);
  const opts = mode === "" ? [] : mode.split(",");
  for (const o of opts) if (!bindOptions.has(o)) throw new InvalidArgumentError(`invalid mode: ${o}`);
  return {
    type: source !== undefined && isAbsolute(source) ? "bind" : "volume",
    source: source === undefined ? undefined : isAbsolute(source) ? normalize(source) : source,
    target: normalize(target),
    readOnly: opts.includes("ro"),
    mode,
  };
}

export function fromMountSpec(m: MountSpec): MountRequest {
  if (!m.Target || !isAbsolute(m.Target)) throw new InvalidArgumentError(`invalid mount config for type "${m.Type}": invalid mount path: '${m.Target ?? ""}' mount path must be absolute`);
  if (m.Type === "bind" && (!m.Source || !isAbsolute(m.Source))) throw new InvalidArgumentError(`invalid mount config for type "bind": invalid mount path: '${m.Source ?? ""}' mount path must be absolute`);
  if (m.Type !== "bind" && m.Type !== "volume" && m.Type !== "tmpfs") throw new InvalidArgumentError(`mount type unknown: '${String(m.Type)}'`);
  return {
    type: m.Type,
    source: m.Source === "" ? undefined : m.Source,
    target: normalize(m.Target),
    readOnly: m.ReadOnly ?? false,
    mode: m.ReadOnly ? "ro" : "",
  };
}

/**
 * `--volumes-from CONTAINER[:ro|:rw]`: the mounts of another container, at
 * the same places; `ro`/`rw` overrides their mode, otherwise each keeps its own.
 * https://docs.docker.com/reference/cli/docker/container/run/#volumes-from
 */
export function parseVolumesFrom(spec: string): { container: string; readOnly?: boolean } {
  const colon = spec.lastIndexOf(":");
  if (colon < 0) return { container: spec };
  const mode = spec.slice(colon + 1);
  if (mode !== "ro" && mode !== "rw") throw new InvalidArgumentError(`invalid mode for volumes-from: ${spec}`);
  if (colon === 0) throw new InvalidArgumentError(`invalid volumes-from: ${spec}`);
  return { container: spec.slice(0, colon), readOnly: mode === "ro" };
}

/** The mounts `from` lends under `--volumes-from`, minus those at a destination `own` already has. */
export function inheritedMounts(own: readonly MountPoint[], from: readonly MountPoint[], readOnly: boolean | undefined): MountPoint[] {
  const taken = new Set(own.map((m) => m.Destination));
  return from
    .filter((m) => !taken.has(m.Destination))
    .map((m) => {
      const rw = readOnly === undefined ? m.RW : !readOnly;
      // Lent, not owned: `rm -v` of the borrower never removes the lender's volumes.
      const { anonymous: _anonymous, ...rest } = m;
      void _anonymous;
      return { ...rest, RW: rw, Mode: readOnly === undefined ? m.Mode : readOnly ? "ro" : "rw" };
    });
}
