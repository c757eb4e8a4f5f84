/**
 * Network namespaces bound to files and the veth pairs into them.
 *
 * A sandbox netns is created with `unshare --net=<file> ip -batch -`: unshare
 * bind-mounts the new namespace on the file (so it outlives every process,
 * the daemon included) and runs `ip` inside it, which brings `lo` up,
 * creates each veth pair from the inside (the container end named ethN, the
 * peer sent straight to the daemon's namespace via `/proc/<pid>/ns/net`),
 * sets addresses and the default route. A second `ip -batch` on the host
 * enslaves the peers to their bridges. Two processes per sandbox, whatever
 * the number of interfaces.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { mustRun, runCommand } from "./command.js";

export interface VethSpec {
  /** Inside the sandbox: eth0, eth1, … */
  ifName: string;
  /** On the host, enslaved to `bridge`. */
  hostIfName: string;
  mac: string;
  ip: string;
  prefixLen: number;
  bridge: string;
}

/** `veth` + 7 hex, like Docker's host-side names (15 chars max for a Linux ifname). */
export function newHostIfName(): string {
  return `veth${randomBytes(4).toString("hex").slice(0, 7)}`;
}

function insideScript(veths: readonly VethSpec[], gateway: { ip: string; ifName: string } | null, withLo: boolean): string {
  const lines: string[] = [];
  if (withLo) lines.push("link set lo up");
  for (const v of veths) {
    lines.push(
      `link add ${v.ifName} address ${v.mac} type veth peer name ${v.hostIfName} netns /proc/${process.pid}/ns/net`,
      `addr add ${v.ip}/${v.prefixLen} dev ${v.ifName}`,
      `link set ${v.ifName} up`,
    );
  }
  if (gateway) lines.push(`route replace default via ${gateway.ip} dev ${gateway.ifName}`);
  return lines.join("\n") + "\n";
}

async function enslave(veths: readonly VethSpec[]): Promise<void> {
  if (veths.length === 0) return;
  const lines: string[] = [];
  for (const v of veths) {
    lines.push(
      `link set dev ${v.hostIfName} master ${v.bridge} up`,
      // A container reaching its own published port through a host address comes back in on the same port.
      `link set dev ${v.hostIfName} type bridge_slave hairpin on`,
    );
  }
  await mustRun("ip", ["-batch", "-"], lines.join("\n") + "\n");
}

/**
 * Create the namespace on `path` (its directory is created) with `lo` up
 * and the given interfaces. On failure the file and any veth are removed.
 */
export async function createNetns(path: string, veths: readonly VethSpec[], gateway: { ip: string; ifName: string } | null): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // A leftover (crash between mount and record) would make the mount stack up.
  await removeNetns(path);
  await (await open(path, "w", 0o444)).close();
  try {
    await mustRun("unshare", [`--net=${path}`, "ip", "-batch", "-"], insideScript(veths, gateway, true));
    await enslave(veths);
  } catch (err) {
    await deleteLinks(veths.map((v) => v.hostIfName));
    await removeNetns(path);
    throw err;
  }
}

/** Add interfaces to an existing namespace (`docker network connect`). */
export async function addInterfaces(path: string, veths: readonly VethSpec[], gateway: { ip: string; ifName: string } | null): Promise<void> {
  try {
    await mustRun("nsenter", [`--net=${path}`, "ip", "-batch", "-"], insideScript(veths, gateway, false));
    await enslave(veths);
  } catch (err) {
    await deleteLinks(veths.map((v) => v.hostIfName));
    throw err;
  }
}

/** Point the default route at `gateway`, or remove it. */
export async function setDefaultRoute(path: string, gateway: { ip: string; ifName: string } | null): Promise<void> {
  if (gateway) {
    await mustRun("nsenter", [`--net=${path}`, "ip", "route", "replace", "default", "via", gateway.ip, "dev", gateway.ifName]);
  } else {
    await runCommand("nsenter", [`--net=${path}`, "ip", "route", "del", "default"]);
  }
}

/** Delete links by name (a veth's peer goes with it). Missing links are fine. */
export async function deleteLinks(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  // -force: keep going past links that are already gone; their errors are expected.
  await runCommand("ip", ["-force", "-batch", "-"], names.map((n) => `link del dev ${n}`).join("\n") + "\n");
}

/** Unmount and delete a netns file. Safe when it is not mounted or does not exist. */
export async function removeNetns(path: string): Promise<void> {
  // Loop: a crash-and-retry may have stacked more than one mount on the file.
  // Each round asks the file system first, so the usual case (nothing
  // mounted, or one mount) starts no `umount` that can only fail.
  for (let i = 0; i < 4 && (await mayBeMounted(path)); i++) {
    const r = await runCommand("umount", [path]);
    if (r.code !== 0) break;
  }
  await rm(path, { force: true });
}

/**
 * Whether something is mounted on `path`: a bound namespace shows the nsfs
 * device, not the one of the directory holding the file. A missing file is
 * not a mount point; when in doubt, say yes (the caller then tries umount).
 */
async function mayBeMounted(path: string): Promise<boolean> {
  try {
    const [file, dir] = await Promise.all([stat(path), stat(dirname(path))]);
    return file.dev !== dir.dev;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

export interface LinkInfo {
  ifname: string;
  /** The link's MAC address. */
  mac?: string;
  master?: string;
  linkKind?: string;
  addresses: Array<{ local: string; prefixlen: number }>;
}

/** Every link of the host namespace with its addresses (`ip -j addr`). */
export async function listLinks(): Promise<LinkInfo[]> {
  const out = await mustRun("ip", ["-j", "-d", "addr", "show"]);
  const parsed = JSON.parse(out) as Array<{
    ifname: string;
    address?: string;
    master?: string;
    linkinfo?: { info_kind?: string };
    addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
  }>;
  return parsed.map((l) => ({
    ifname: l.ifname,
    ...(l.address ? { mac: l.address } : {}),
    ...(l.master ? { master: l.master } : {}),
    ...(l.linkinfo?.info_kind ? { linkKind: l.linkinfo.info_kind } : {}),
    addresses: (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => ({ local: a.local, prefixlen: a.prefixlen })),
  }));
}

/** IPv4 routes of the main table (destinations), for picking subnets that do not clash with the host's. */
export async function hostRoutes(): Promise<string[]> {
  const out = await mustRun("ip", ["-j", "-4", "route", "show"]);
  const parsed = JSON.parse(out) as Array<{ dst: string }>;
  return parsed.map((r) => r.dst).filter((d) => d !== "default");
}
