/**
 * `wharf daemon [flags]` / `wharf -d [flags]`: dockerd's flags → DaemonOptions,
 * then the engine's `startDaemon` (loaded only here, so client verbs never pay for it).
 */
import process from "node:process";
import { defaultDaemonOptions, type DaemonOptions } from "../../daemon/daemon-options.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { checkInsecureRegistry } from "../../distribution/registry-endpoint.js";
import { collect, HelpShown, newCommand, parseArgs, requireArgs, UsageError } from "../command-kit.js";

const levels = ["debug", "info", "warn", "error"] as const;

/** Parses dockerd's flags; `globals` are the ones given before `daemon` (`wharf -H x daemon`). */
export function parseDaemonArgs(
  argv: string[],
  globals: { host?: string; debug?: boolean; logLevel?: string } = {},
  out: NodeJS.WritableStream = process.stdout,
): DaemonOptions {
  const cmd = newCommand("daemon", "[OPTIONS]", "Run the Wharf daemon (the engine behind the Docker Engine API)", out as never)
    .option("-H, --host <list>", "Daemon socket(s) to connect to", collect, [])
    .option("--data-root <string>", "Root directory of persistent Wharf state", defaultDaemonOptions.dataRoot)
    .option("--exec-root <string>", "Root directory for execution state files", defaultDaemonOptions.execRoot)
    .option("--runtime <string>", "Default OCI runtime for containers", defaultDaemonOptions.runtime)
    .option("--default-runtime <string>", "Default OCI runtime for containers (dockerd's spelling)")
    .option("-l, --log-level <string>", 'Set the logging level ("debug"|"info"|"warn"|"error")')
    .option("-D, --debug", "Enable debug mode")
    .option("-G, --group <string>", "Group for the unix socket", defaultDaemonOptions.group)
    .option("--bip <cidr>", "Address and prefix of the default bridge (default 10.213.0.1/16)")
    .option("-b, --bridge <name>", "Device of the default bridge (default wharf0)")
    .option("--default-address-pool <pool>", "Address pool of user-defined networks: base=CIDR[,size=24]")
    .option("--iptables-chain-prefix <prefix>", "Prefix of the iptables chains, to run several daemons side by side (default WHARF)")
    .option("--insecure-registry <list>", "Registry (host[:port] or IPv4 CIDR) to reach over plain HTTP; repeatable", collect, [])
    .option("--certs-dir <dir>", "Registry certificates in <dir>/<host:port>/{*.crt,*.cert,*.key}; repeatable (default /etc/wharf/certs.d, /etc/docker/certs.d)", collect, []);
  const { options: o, args } = parseArgs(cmd, "daemon", argv);
  requireArgs("daemon", args, { max: 0 });
  const hosts = [...(globals.host ? [globals.host] : []), ...(o.host as string[])];
  for (const h of hosts) {
    if (!/^(unix|tcp|fd):\/\//.test(h)) throw new UsageError("daemon", `invalid argument "${h}" for "-H, --host" flag: Invalid bind address format: ${h}`);
  }
  let level = (o.logLevel as string | undefined) ?? globals.logLevel ?? defaultDaemonOptions.logLevel;
  if (level === "fatal" || level === "panic") level = "error";
  if (level === "warning") level = "warn";
  if (o.debug || globals.debug) level = "debug";
  if (!(levels as readonly string[]).includes(level)) {
    throw new UsageError("daemon", `unable to parse logging level: ${level}`);
  }
  const pool = o.defaultAddressPool as string | undefined;
  let addressPool: string | undefined;
  if (pool !== undefined) {
    const fields = new Map(pool.split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as const));
    addressPool = fields.get("base");
    const size = fields.get("size");
    if (!addressPool || (size !== undefined && size !== "24")) {
      throw new UsageError("daemon", `invalid argument "${pool}" for "--default-address-pool" flag: expected base=CIDR[,size=24]`);
    }
  }
  const prefix = o.iptablesChainPrefix as string | undefined;
  if (prefix !== undefined && !/^[A-Za-z][A-Za-z0-9-]{0,14}$/.test(prefix)) {
    throw new UsageError("daemon", `invalid argument "${prefix}" for "--iptables-chain-prefix" flag: 1 to 15 letters, digits and -`);
  }
  const insecureRegistries = (o.insecureRegistry as string[]).map((r) => {
    try {
      return checkInsecureRegistry(r);
    } catch (err) {
      throw new UsageError("daemon", `invalid argument "${r}" for "--insecure-registry" flag: ${(err as Error).message}`);
    }
  });
  return {
    ...(o.bip !== undefined ? { bip: String(o.bip) } : {}),
    ...(insecureRegistries.length > 0 ? { insecureRegistries } : {}),
    ...((o.certsDir as string[]).length > 0 ? { certsDirs: o.certsDir as string[] } : {}),
    ...(o.bridge !== undefined ? { bridge: String(o.bridge) } : {}),
    ...(addressPool !== undefined ? { addressPool } : {}),
    ...(prefix !== undefined ? { iptablesChainPrefix: prefix } : {}),
    hosts: hosts.length > 0 ? hosts : [...defaultDaemonOptions.hosts],
    dataRoot: String(o.dataRoot),
    execRoot: String(o.execRoot),
    runtime: String(o.defaultRuntime ?? o.runtime),
    logLevel: level as DaemonOptions["logLevel"],
    group: String(o.group),
  };
}

export async function runDaemon(argv: string[], globals: { host?: string; debug?: boolean; logLevel?: string }): Promise<number> {
  let options: DaemonOptions;
  try {
    options = parseDaemonArgs(argv, globals);
  } catch (err) {
    if (err instanceof HelpShown) return 0;
    throw err;
  }
  // A variable specifier keeps the build independent of the daemon module while it is being written.
  const specifier = "../../daemon/daemon.js";
  let mod: { startDaemon?: (o: DaemonOptions) => Promise<void> };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (err) {
    throw new InvalidArgumentError(`the wharf daemon is not available in this build: ${(err as Error).message}`);
  }
  if (typeof mod.startDaemon !== "function") throw new InvalidArgumentError("the wharf daemon is not available in this build");
  await mod.startDaemon(options);
  // startDaemon resolves once listening; the servers keep the process alive until a signal stops it.
  return new Promise<number>(() => {});
}
