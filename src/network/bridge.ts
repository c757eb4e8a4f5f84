/** Linux bridges for `bridge` networks, and the sysctls they need. */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
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
 *
 * Each bridge's MAC address is set, not left to the kernel: a bridge whose
 * address was never set takes the lowest MAC of its ports, so a container's
 * veth joining it could change the gateway's MAC under the other containers,
 * whose ARP entries then point nowhere until they expire (lost packets, DNS
 * queries timing out). An address set by hand stays.
 */
export async function ensureBridges(bridges: readonly BridgeSpec[]): Promise<void> {
  if (bridges.length === 0) return;
  const links = new Map((await listLinks()).map((l) => [l.ifname, l]));
  const lines: string[] = [];
  for (const b of bridges) {
    const have = links.get(b.name);
    if (!have) lines.push(`link add name ${b.name} address ${randomBridgeMac()} type bridge`);
    // One made before the address was set: pin the one it has.
    else if (have.mac && (await addressAssignType(b.name)) !== "3") lines.push(`link set dev ${b.name} address ${have.mac}`);
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

/** A locally administered unicast address, Docker's 02:42 prefix. */
function randomBridgeMac(): string {
  return ["02", "42", ...randomBytes(4).toString("hex").match(/../g)!].join(":");
}

/** /sys/class/net/<link>/addr_assign_type: "3" when the address was set by hand (NET_ADDR_SET). */
async function addressAssignType(link: string): Promise<string | undefined> {
  return (await readFile(`/sys/class/net/${link}/addr_assign_type`, "utf8").catch(() => undefined))?.trim();
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
