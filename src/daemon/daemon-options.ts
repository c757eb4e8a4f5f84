/** What `wharf daemon` is told on its command line (dockerd's flag names). */
export interface DaemonOptions {
  /** Listen addresses: `unix:///run/wharf/wharf.sock`, `tcp://127.0.0.1:2375`. */
  hosts: string[];
  /** Persistent state: images, containers, volumes. Default `/var/lib/wharf`. */
  dataRoot: string;
  /** Volatile state: bundles, sockets, exit files. Default `/run/wharf`. */
  execRoot: string;
  /** OCI runtime binary. Default: `runc` found on PATH. */
  runtime: string;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Group owning the unix socket (created if missing). Default `wharf`. */
  group: string;
  /** The default bridge's address and prefix (`--bip`). Default `10.213.0.1/16`, clear of Docker's 172.17/16. */
  bip?: string;
  /** The default bridge's device (`-b/--bridge`; created if missing). Default `wharf0`. */
  bridge?: string;
  /** Where user-defined networks get their /24 (`--default-address-pool base=…`). Default `10.214.0.0/16`. */
  addressPool?: string;
  /** Prefix of the daemon's iptables chains, so several daemons can run side by side. Default `WHARF`. */
  iptablesChainPrefix?: string;
  /** Registries spoken to over plain HTTP (`--insecure-registry`, repeatable: host[:port] or IPv4 CIDR); loopback always is. */
  insecureRegistries?: string[];
  /** Per-registry CA roots and client certificates (`--certs-dir`, repeatable). Default `/etc/wharf/certs.d`, then `/etc/docker/certs.d`. */
  certsDirs?: string[];
}

export const defaultDaemonOptions: DaemonOptions = {
  hosts: ["unix:///run/wharf/wharf.sock"],
  dataRoot: "/var/lib/wharf",
  execRoot: "/run/wharf",
  runtime: "runc",
  logLevel: "info",
  group: "wharf",
};
