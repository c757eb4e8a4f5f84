import { isAbsolute, normalize } from "node:path";
import { InvalidArgumentError } from "../lib/errors.js";
import type { MountSpec } from "./types.js";

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
