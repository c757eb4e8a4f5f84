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
}

export const defaultDaemonOptions: DaemonOptions = {
  hosts: ["unix:///run/wharf/wharf.sock"],
  dataRoot: "/var/lib/wharf",
  execRoot: "/run/wharf",
  runtime: "runc",
  logLevel: "info",
  group: "wharf",
};
