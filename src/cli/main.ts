/**
 * `wharf` entry point: global flags, then one verb module loaded lazily so
 * `wharf ps` pays only for what it uses (commander and the verb code load after
 * dispatch). `wharf daemon` / `wharf -d` start the engine instead of talking to it.
 * bin/wharf.js runs this from one bundle with a V8 code cache (scripts/bundle-cli.js),
 * else from the ESM build; `runProgram` is the entry either way.
 */
import type { Readable } from "node:stream";
import { isWharfError } from "../lib/errors.js";
import { daemonStatusOf, ExitCode, HelpShown, isBug, UsageError } from "./cli-errors.js";
import type { CliIo, Terminal } from "./command-kit.js";

/** Same as client.ts's; repeated so `main` need not load node:http before it knows the verb. */
const defaultHost = "unix:///run/wharf/wharf.sock";

export interface VerbModule {
  execute(argv: string[], io: CliIo): Promise<number>;
}

type Loader = () => Promise<VerbModule>;

const verbs: Record<string, Loader> = {
  run: () => import("./commands/run.js"),
  create: () => import("./commands/create.js"),
  start: () => import("./commands/start.js"),
  attach: () => import("./commands/attach.js"),
  ps: () => import("./commands/ps.js"),
  logs: () => import("./commands/logs.js"),
  exec: () => import("./commands/exec.js"),
  stop: () => import("./commands/stop.js"),
  kill: () => import("./commands/kill.js"),
  restart: () => import("./commands/restart.js"),
  rm: () => import("./commands/rm.js"),
  inspect: () => import("./commands/inspect.js"),
  top: () => import("./commands/top.js"),
  wait: () => import("./commands/wait.js"),
  rename: () => import("./commands/rename.js"),
  pause: () => import("./commands/pause.js"),
  unpause: () => import("./commands/unpause.js"),
  cp: () => import("./commands/cp.js"),
  commit: () => import("./commands/commit.js"),
  diff: () => import("./commands/diff.js"),
  port: () => import("./commands/port.js"),
  images: () => import("./commands/images.js"),
  build: () => import("./commands/build.js"),
  builder: () => import("./commands/builder.js"),
  tag: () => import("./commands/tag.js"),
  rmi: () => import("./commands/rmi.js"),
  save: () => import("./commands/save.js"),
  load: () => import("./commands/load.js"),
  import: () => import("./commands/import.js"),
  export: () => import("./commands/export.js"),
  history: () => import("./commands/history.js"),
  version: () => import("./commands/version.js"),
  info: () => import("./commands/info.js"),
  events: () => import("./commands/events.js"),
  network: () => import("./commands/network.js"),
  volume: () => import("./commands/volume.js"),
  registry: () => import("./commands/registry.js"),
  pull: () => import("./commands/pull.js"),
  push: () => import("./commands/push.js"),
  login: () => import("./commands/login.js"),
  logout: () => import("./commands/logout.js"),
  // Reachable only as `wharf <group> <sub>` (no single argv word has a space).
  "system df": () => import("./commands/system-df.js"),
  "container prune": () => import("./commands/prune.js").then((m) => ({ execute: m.pruneContainers })),
  "image prune": () => import("./commands/prune.js").then((m) => ({ execute: m.pruneImages })),
  "system prune": () => import("./commands/prune.js").then((m) => ({ execute: m.pruneSystem })),
};

/** `wharf container <verb>` / `wharf image <verb>`: the docker management-command spellings. */
const managementAliases: Record<string, Record<string, string[]>> = {
  container: {
    ls: ["ps"], list: ["ps"], ps: ["ps"], attach: ["attach"], commit: ["commit"], cp: ["cp"],
    create: ["create"], diff: ["diff"], exec: ["exec"], inspect: ["inspect", "--type", "container"],
    kill: ["kill"], logs: ["logs"], pause: ["pause"], port: ["port"], rename: ["rename"],
    restart: ["restart"], rm: ["rm"], remove: ["rm"], run: ["run"], start: ["start"], stop: ["stop"],
    top: ["top"], unpause: ["unpause"], wait: ["wait"], export: ["export"], prune: ["container prune"],
  },
  image: {
    ls: ["images"], list: ["images"], history: ["history"], import: ["import"],
    build: ["build"], inspect: ["inspect", "--type", "image"], load: ["load"], rm: ["rmi"], remove: ["rmi"],
    save: ["save"], tag: ["tag"], pull: ["pull"], push: ["push"], prune: ["image prune"],
  },
  system: { info: ["info"], events: ["events"], df: ["system df"], prune: ["system prune"] },
};

const usageText = `
Usage:  wharf [OPTIONS] COMMAND

A self-sufficient runtime for containers

Common Commands:
  run         Create and run a new container from an image
  exec        Execute a command in a running container
  ps          List containers
  build       Build an image from a Dockerfile
  pull        Download an image from a registry
  push        Upload an image to a registry
  images      List images
  login       Authenticate to a registry
  logout      Log out from a registry
  version     Show the Wharf version information
  info        Display system-wide information

Management Commands:
  builder     Manage builds
  container   Manage containers
  image       Manage images
  network     Manage networks
  system      Manage Wharf
  volume      Manage volumes
  daemon      Run the Wharf daemon (like dockerd; also "wharf -d")
  registry    Run an image registry (OCI Distribution API; "registry gc" collects garbage)

Commands:
  attach      Attach local standard input, output, and error streams to a running container
  commit      Create a new image from a container's changes
  cp          Copy files/folders between a container and the local filesystem
  create      Create a new container
  diff        Inspect changes to files or directories on a container's filesystem
  events      Get real time events from the server
  export      Export a container's filesystem as a tar archive
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Return low-level information on Wharf objects
  kill        Kill one or more running containers
  load        Load an image from a tar archive or STDIN
  logs        Fetch the logs of a container
  pause       Pause all processes within one or more containers
  port        List port mappings or a specific mapping for the container
  rename      Rename a container
  restart     Restart one or more containers
  rm          Remove one or more containers
  rmi         Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  start       Start one or more stopped containers
  stop        Stop one or more running containers
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  top         Display the running processes of a container
  unpause     Unpause all processes within one or more containers
  wait        Block until one or more containers stop, then print their exit codes

Global Options:
  -D, --debug              Enable debug mode
  -H, --host string        Daemon socket to connect to
  -l, --log-level string   Set the logging level ("debug", "info", "warn", "error", "fatal")
  -v, --version            Print version information and quit
      --help               Print usage

Run 'wharf COMMAND --help' for more information on a command.
`;

function managementUsage(group: string): string {
  const subs = Object.keys(managementAliases[group] ?? {}).sort();
  return `\nUsage:  wharf ${group} COMMAND\n\nManage ${group}s\n\nCommands:\n${subs.map((s) => `  ${s}`).join("\n")}\n\nRun 'wharf ${group} COMMAND --help' for more information on a command.\n`;
}

export interface GlobalOptions {
  host?: string;
  debug: boolean;
  logLevel?: string;
  version: boolean;
  help: boolean;
  daemon: boolean;
  rest: string[];
}

/** Parses the flags before the verb (docker's global options). */
export function parseGlobalFlags(argv: string[]): GlobalOptions {
  const g: GlobalOptions = { debug: false, version: false, help: false, daemon: false, rest: [] };
  let i = 0;
  const value = (flag: string, a: string): string => {
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq >= 0) return a.slice(eq + 1);
    if (!a.startsWith("--") && a.length > 2) return a.slice(2).replace(/^=/, "");
    const v = argv[++i];
    if (v === undefined) throw new UsageError("", `flag needs an argument: ${flag}`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-d" || a === "--daemon") {
      g.daemon = true;
      i++;
      break;
    }
    if (a === "-H" || a.startsWith("-H") || a === "--host" || a.startsWith("--host=")) g.host = value("--host", a);
    else if (a === "-l" || a === "--log-level" || a.startsWith("--log-level=") || a.startsWith("-l"))
      g.logLevel = value("--log-level", a);
    else if (a === "-D" || a === "--debug") g.debug = true;
    else if (a === "-v" || a === "--version") g.version = true;
    else if (a === "--help" || a === "-h") g.help = true;
    else if (a.startsWith("--tls") || a === "--context" || a === "-c" || a === "--config") {
      // Accepted for docker muscle memory; TLS and contexts are not supported.
      if (!a.startsWith("--tls") || a === "--tlscacert" || a === "--tlscert" || a === "--tlskey") i++;
    } else if (a.startsWith("-")) {
      throw new UsageError("", `unknown flag: ${a}`);
    } else break;
  }
  g.rest = argv.slice(i);
  return g;
}

/** -H, else $WHARF_HOST, else $DOCKER_HOST, else the default socket. */
export function resolveHost(flag: string | undefined, env: Record<string, string | undefined>): string {
  return flag || env.WHARF_HOST || env.DOCKER_HOST || defaultHost;
}

/** Turns argv after the global flags into a verb module and its arguments. */
export function resolveVerb(rest: string[]): { verb: string; argv: string[] } | { group: string } | undefined {
  const [first, ...args] = rest;
  if (first === undefined) return undefined;
  const group = managementAliases[first];
  if (group) {
    const [sub, ...subArgs] = args;
    if (sub === undefined || sub === "--help") return { group: first };
    const target = group[sub];
    if (!target) return { verb: `${first} ${sub}`, argv: [] };
    const [verb, ...extra] = target;
    return { verb: verb!, argv: [...extra, ...subArgs] };
  }
  return { verb: first, argv: args };
}

let rawModeUsed = false;

function processTerminal(): Terminal {
  return {
    get stdinIsTty() {
      return !!process.stdin.isTTY;
    },
    stdoutIsTty: !!process.stdout.isTTY,
    setRawMode(on) {
      if (process.stdin.isTTY) {
        rawModeUsed = true;
        process.stdin.setRawMode(on);
      }
    },
    size() {
      const out = process.stdout;
      return out.isTTY ? { rows: out.rows, cols: out.columns } : undefined;
    },
    onResize(cb) {
      process.stdout.on("resize", cb);
      return () => void process.stdout.off("resize", cb);
    },
    onSignal(cb) {
      const sigs: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
      const handlers = sigs.map((s) => {
        const h = () => cb(s.slice(3));
        process.on(s, h);
        return [s, h] as const;
      });
      return () => handlers.forEach(([s, h]) => process.off(s, h));
    },
  };
}

async function makeIo(host: string): Promise<CliIo> {
  const env = process.env;
  // The reader went away (`wharf events | head`): stop quietly, as a docker CLI killed by SIGPIPE does.
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(141);
    throw err;
  });
  const pinned = env.WHARF_API_VERSION || env.DOCKER_API_VERSION || undefined;
  const { EngineClient } = await import("./client.js");
  return {
    client: new EngineClient(host, pinned),
    stdout: process.stdout,
    stderr: process.stderr,
    // process.stdin is created on first use: commands that never read it don't pay for it.
    get stdin(): Readable {
      return process.stdin;
    },
    terminal: processTerminal(),
    env,
  };
}

/** Verbs whose daemon errors exit 125 with docker run's "docker: …." wording. */
const runStyle = new Set(["run"]);

/** Prints an error the way the docker CLI does and returns the exit code. */
export function reportError(err: unknown, verb: string, stderr: NodeJS.WritableStream, debug: boolean): number {
  if (err instanceof HelpShown) return 0;
  if (err instanceof ExitCode) {
    if (err.message) stderr.write(`${err.message}\n`);
    return err.code;
  }
  if (err instanceof UsageError) {
    const see = err.verb || verb ? `wharf ${err.verb || verb} --help` : "wharf --help";
    stderr.write(`${err.message}\nSee '${see}'.\n`);
    return 125;
  }
  const fromDaemon = daemonStatusOf(err) !== undefined;
  if (err instanceof Error && (isWharfError(err) || fromDaemon) && !isBug(err)) {
    let msg = fromDaemon ? `Error response from daemon: ${err.message}` : err.message;
    if (runStyle.has(verb)) {
      if (!/[.?]$/.test(msg)) msg += ".";
      stderr.write(`wharf: ${msg}\nSee 'wharf ${verb} --help'.\n`);
      return 125;
    }
    stderr.write(`${msg}\n`);
    if (debug && err.stack) stderr.write(`${err.stack}\n`);
    return 1;
  }
  // A fault of ours, not the user's: one line unless debugging.
  const e = err instanceof Error ? err : new Error(String(err));
  stderr.write(debug ? `${e.stack ?? e.message}\n` : `Error: ${e.message}\n`);
  return 1;
}

/** Loads the ESM build's `main`: bin/wharf.js passes it when this runs from the CLI bundle. */
export type EsmMain = () => Promise<{ main(argv: string[]): Promise<number> }>;

/**
 * The verbs that start a server (the daemon, a registry). From the bundle they run in the ESM
 * build instead, whole (its reportError checks its own error classes): the bundle is read and
 * deserialized on every call, and their code would more than double it.
 */
function isServerVerb(g: GlobalOptions): boolean {
  return g.daemon || g.rest[0] === "daemon" || g.rest[0] === "registry";
}

export async function main(argv: string[], esmMain?: EsmMain): Promise<number> {
  const debugEnv = !!process.env.WHARF_DEBUG;
  let globals: GlobalOptions;
  try {
    globals = parseGlobalFlags(argv);
  } catch (err) {
    return reportError(err, "", process.stderr, debugEnv);
  }
  if (esmMain && isServerVerb(globals)) return (await esmMain()).main(argv);
  const debug = debugEnv || globals.debug;
  if (globals.version) {
    const { versionLine } = await import("./build-info.js");
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  if (globals.daemon || globals.rest[0] === "daemon") {
    const args = globals.daemon ? globals.rest : globals.rest.slice(1);
    try {
      const { runDaemon } = await import("./commands/daemon.js");
      return await runDaemon(args, { host: globals.host, debug: globals.debug, logLevel: globals.logLevel });
    } catch (err) {
      return reportError(err, "daemon", process.stderr, debug);
    }
  }
  if (globals.help || globals.rest.length === 0 || globals.rest[0] === "help") {
    const topic = globals.rest[0] === "help" ? globals.rest[1] : undefined;
    if (topic && verbs[topic]) return main([topic, "--help"], esmMain);
    process.stdout.write(usageText);
    return 0;
  }
  const resolved = resolveVerb(globals.rest);
  if (resolved && "group" in resolved) {
    process.stdout.write(managementUsage(resolved.group));
    return 0;
  }
  const load = resolved ? verbs[resolved.verb] : undefined;
  if (!resolved || !load) {
    process.stderr.write(`wharf: '${resolved?.verb ?? ""}' is not a wharf command.\nSee 'wharf --help'\n`);
    return 1;
  }
  const ioReady = makeIo(resolveHost(globals.host, process.env));
  // The /_ping goes out while the verb's modules load (not for help, which never asks the daemon).
  if (!resolved.argv.includes("--help")) void ioReady.then((io) => io.client.prefetchVersion(), () => {});
  const [io, mod] = await Promise.all([ioReady, load()]);
  try {
    return await mod.execute(resolved.argv, io);
  } catch (err) {
    return reportError(err, resolved.verb, process.stderr, debug);
  } finally {
    io.client.close();
  }
}

/** Runs `wharf` with the process's argv and exits with its code. */
export function runProgram(esmMain?: EsmMain): void {
  main(process.argv.slice(2), esmMain).then(
    (code) => {
      // Whatever happened, never leave the user's terminal in raw mode.
      if (rawModeUsed) process.stdin.setRawMode(false);
      process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
