/**
 * `wharf daemon [flags]` / `wharf -d [flags]`: dockerd's flags → DaemonOptions,
 * then the engine's `startDaemon` (loaded only here, so client verbs never pay for it).
 */
import process from "node:process";
import { defaultDaemonOptions, type DaemonOptions } from "../../daemon/daemon-options.js";
import { InvalidArgumentError } from "../../lib/errors.js";
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
    .option("-G, --group <string>", "Group for the unix socket", defaultDaemonOptions.group);
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
  return {
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
