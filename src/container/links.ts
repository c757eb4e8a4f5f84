/**
 * Legacy container links (`--link name:alias`): parsing, and the environment
 * variables Docker gives the linking container so programs written for links
 * find their peer (`DB_PORT_5432_TCP_ADDR=…`).
 * https://docs.docker.com/engine/network/links/#environment-variables
 */
import { InvalidArgumentError } from "../lib/errors.js";
import type { PortKey } from "./ports.js";

export interface Link {
  /** The linked container's name or ID, without `/`. */
  target: string;
  alias: string;
}

/** `db`, `db:alias`, or the stored form `/db:/web/alias`. */
export function parseLink(spec: string): Link {
  if (typeof spec !== "string" || spec === "") throw new InvalidArgumentError(`invalid link: ${String(spec)}`);
  const colon = spec.indexOf(":");
  const target = (colon < 0 ? spec : spec.slice(0, colon)).replace(/^\/+/, "");
  const rawAlias = colon < 0 ? target : spec.slice(colon + 1);
  const alias = rawAlias.slice(rawAlias.lastIndexOf("/") + 1);
  if (target === "" || alias === "" || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(alias)) throw new InvalidArgumentError(`invalid link: ${spec}`);
  return { target, alias };
}

/** Variables of the linked container's env that are not passed on (Docker's list). */
const privateEnv = new Set(["HOME", "HOSTNAME", "PATH"]);

/**
 * The `<ALIAS>_…` variables for one link. `self` and `target` are container
 * names without `/`; `ports` the target's exposed ports, sorted.
 */
export function linkEnv(link: { alias: string; self: string; ip: string; ports: PortKey[]; env: string[] }): string[] {
  const prefix = link.alias.toUpperCase().replace(/-/g, "_");
  const out = [`${prefix}_NAME=/${link.self}/${link.alias}`];
  const first = link.ports[0];
  if (first) out.push(`${prefix}_PORT=${first.protocol}://${link.ip}:${first.port}`);
  for (const p of link.ports) {
    const base = `${prefix}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
    out.push(`${base}=${p.protocol}://${link.ip}:${p.port}`, `${base}_ADDR=${link.ip}`, `${base}_PORT=${p.port}`, `${base}_PROTO=${p.protocol}`);
  }
  for (const e of link.env) {
    const eq = e.indexOf("=");
    if (eq <= 0 || privateEnv.has(e.slice(0, eq))) continue;
    out.push(`${prefix}_ENV_${e}`);
  }
  return out;
}
