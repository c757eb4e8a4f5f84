/** `wharf logs`: GET /containers/{id}/logs, demuxed unless the container has a tty. */
import { newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";
import { inspectContainer } from "../attach-session.js";
import { apiTimestamp } from "../../lib/humanize.js";
import { copyStream, demuxStream } from "../stdcopy.js";

export interface LogsOptions {
  container: string;
  follow: boolean;
  tail: string;
  timestamps: boolean;
  since?: string;
  until?: string;
  details: boolean;
}

export function parseLogs(argv: string[], io: Pick<CliIo, "stdout">, now = Date.now()): LogsOptions {
  const cmd = newCommand("logs", "[OPTIONS] CONTAINER", "Fetch the logs of a container", io.stdout)
    .option("--details", "Show extra details provided to logs")
    .option("-f, --follow", "Follow log output")
    .option("--since <string>", 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .option("-n, --tail <string>", 'Number of lines to show from the end of the logs (default "all")', "all")
    .option("-t, --timestamps", "Show timestamps")
    .option("--until <string>", 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)');
  const { options: o, args } = parseArgs(cmd, "logs", argv);
  requireArgs("logs", args, { exact: 1 });
  const tail = String(o.tail);
  if (tail !== "all" && !/^-?\d+$/.test(tail)) {
    throw new UsageError("logs", `invalid value for "tail": ${tail}`);
  }
  const ts = (v: unknown, what: string) => {
    if (v === undefined) return undefined;
    try {
      return apiTimestamp(String(v), now);
    } catch {
      throw new UsageError("logs", `invalid value for "${what}": failed to parse value as time or duration: "${String(v)}"`);
    }
  };
  return {
    container: args[0]!,
    follow: !!o.follow,
    tail,
    timestamps: !!o.timestamps,
    since: ts(o.since, "since"),
    until: ts(o.until, "until"),
    details: !!o.details,
  };
}

export async function logsAction(opts: LogsOptions, io: CliIo): Promise<number> {
  const c = await inspectContainer(io, opts.container);
  const res = await io.client.stream("GET", `/containers/${c.Id}/logs`, {
    query: {
      stdout: true,
      stderr: true,
      follow: opts.follow || undefined,
      tail: opts.tail,
      timestamps: opts.timestamps || undefined,
      since: opts.since,
      until: opts.until,
      details: opts.details || undefined,
    },
  });
  if (c.Config.Tty) await copyStream(res, io.stdout);
  else await demuxStream(res, io.stdout, io.stderr);
  return 0;
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  return logsAction(parseLogs(argv, io), io);
}
