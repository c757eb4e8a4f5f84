/** Linux bridges for `bridge` networks, and the sysctls they need. */
import { writeFile } from "node:fs/promises";
import { mustRun } from "./command.js";
import { deleteLinks, listLinks } from "./netns.js";
import { errnoCode } from "../lib/errors.js";

export interface BridgeSpec {
  name: string;
  gateway: string;
  prefixLen: number;
}

/**
 * Make each bridge exist, be up and carry exactly its gateway address (a
 * changed `--bip` replaces the old one). One `ip -batch` for all of them.
 */
export async function ensureBridges(bridges: readonly BridgeSpec[]): Promise<void> {
  if (bridges.length === 0) return;
  const links = new Map((await listLinks()).map((l) => [l.ifname, l]));
  const lines: string[] = [];
  for (const b of bridges) {
    const have = links.get(b.name);
    if (!have) lines.push(`link add name ${b.name} type bridge`);
    const ok = have?.addresses.some((a) => a.local === b.gateway && a.prefixlen === b.prefixLen);
    if (!ok) {
      for (const a of have?.addresses ?? []) lines.push(`addr del ${a.local}/${a.prefixlen} dev ${b.name}`);
      lines.push(`addr add ${b.gateway}/${b.prefixLen} dev ${b.name}`);
    }
    lines.push(`link set ${b.name} up`);
  }
  await mustRun("ip", ["-batch", "-"], lines.join("\n") + "\n");
  // Written straight to /proc/sys: same effect as `sysctl -w`, without a process per bridge.
  for (const b of bridges) await writeSysctl(`net/ipv4/conf/${b.name}/route_localnet`, "1");
}

export async function deleteBridges(names: readonly string[]): Promise<void> {
  await deleteLinks(names);
}

/**
 * Host-wide prerequisites: forwarding on, and bridged traffic through
 * iptables (br_netfilter) so hairpin NAT and isolation see it. Returns
 * warnings instead of failing: a host without br_netfilter still works,
 * minus hairpin to published ports.
 */
export async function enableForwarding(): Promise<string[]> {
  const warnings: string[] = [];
  await writeSysctl("net/ipv4/ip_forward", "1");
  try {
    await writeSysctl("net/bridge/bridge-nf-call-iptables", "1");
  } catch (err) {
    if (errnoCode(err) !== "ENOENT") throw err;
    const r = await mustRun("modprobe", ["br_netfilter"]).then(
      () => null,
      (e: unknown) => e,
    );
    if (r) warnings.push(`br_netfilter is not available: containers cannot reach their own published ports through host addresses (${String(r)})`);
    else await writeSysctl("net/bridge/bridge-nf-call-iptables", "1");
  }
  return warnings;
}

async function writeSysctl(key: string, value: string): Promise<void> {
  await writeFile(`/proc/sys/${key}`, value);
}
