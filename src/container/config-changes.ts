import { InvalidArgumentError } from "../lib/errors.js";
import type { ContainerConfig as ImageRuntimeConfig } from "../image/index.js";

const allowed = new Set(["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"]);

/**
 * `--change` for `commit` and `import`: Dockerfile instructions that alter
 * only the image config. `CMD echo hi` (shell form) becomes
 * `["/bin/sh","-c","echo hi"]`; `CMD ["echo","hi"]` is taken as is.
 */
export function applyChanges(base: ImageRuntimeConfig, changes: string[]): ImageRuntimeConfig {
  const out: ImageRuntimeConfig = { ...base };
  for (const change of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(change);
    if (!m) throw new InvalidArgumentError(`dockerfile parse error: invalid change '${change}'`);
    const op = m[1]!.toUpperCase();
    const arg = m[2]!.trim();
    if (!allowed.has(op)) throw new InvalidArgumentError(`${op} is not a valid change command`);
    switch (op) {
      case "CMD":
        out.Cmd = commandForm(arg);
        break;
      case "ENTRYPOINT":
        out.Entrypoint = commandForm(arg);
        break;
      case "ENV":
        out.Env = mergeEnv(out.Env ?? [], keyValues(arg, "ENV"));
        break;
      case "LABEL":
        out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(keyValues(arg, "LABEL")) };
        break;
      case "EXPOSE":
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of arg.split(/\s+/)) out.ExposedPorts[p.includes("/") ? p : `${p}/tcp`] = {};
        break;
      case "VOLUME":
        out.Volumes = { ...(out.Volumes ?? {}) };
        for (const v of arg.startsWith("[") ? jsonArray(arg) : arg.split(/\s+/)) out.Volumes[v] = {};
        break;
      case "WORKDIR":
        out.WorkingDir = arg;
        break;
      case "USER":
        out.User = arg;
        break;
      case "STOPSIGNAL":
        out.StopSignal = arg;
        break;
      case "ONBUILD":
        out.OnBuild = [...(out.OnBuild ?? []), arg];
        break;
    }
  }
  return out;
}

function commandForm(arg: string): string[] {
  return arg.startsWith("[") ? jsonArray(arg) : ["/bin/sh", "-c", arg];
}

function jsonArray(arg: string): string[] {
  try {
    const v: unknown = JSON.parse(arg);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError(`invalid JSON array: ${arg}`);
}

/** `K=V K2="v 2"` or the legacy `K V` form. */
function keyValues(arg: string, op: string): Array<[string, string]> {
  if (!arg.includes("=")) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(arg);
    if (!m) throw new InvalidArgumentError(`${op} requires at least one argument`);
    return [[m[1]!, m[2]!]];
  }
  const out: Array<[string, string]> = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of arg.matchAll(re)) {
    let v = m[2]!;
    if (v.startsWith('"')) v = JSON.parse(v) as string;
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
  }
  return out;
}

function mergeEnv(env: string[], add: Array<[string, string]>): string[] {
  const map = new Map(env.map((e) => [e.split("=")[0]!, e]));
  for (const [k, v] of add) map.set(k, `${k}=${v}`);
  return [...map.values()];
}
