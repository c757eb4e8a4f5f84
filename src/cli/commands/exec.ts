/**
 * `wharf exec`: POST /containers/{id}/exec → POST /exec/{id}/start (hijacked
 * unless -d) → GET /exec/{id}/json for the exit code.
 * https://docs.docker.com/engine/api/v1.45/#tag/Exec
 */
import { daemonStatusOf } from "../client.js";
import { collect, ExitCode, newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";
import { defaultDetachKeys, parseDetachKeys, pumpHijacked, setupTty, startErrorExitCode } from "../attach-stream.js";
import { parseEnvFile, resolveEnv } from "../container-opts.js";
import { readFileSync } from "node:fs";

export interface ExecOptions {
  container: string;
  cmd: string[];
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  env: string[];
  workdir?: string;
  user?: string;
  privileged: boolean;
  detachKeys?: string;
}

export function parseExec(argv: string[], io: Pick<CliIo, "stdout" | "env">): ExecOptions {
  const cmd = newCommand("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", io.stdout)
    .option("-d, --detach", "Detached mode: run command in the background")
    .option("--detach-keys <string>", "Override the key sequence for detaching a container")
    .option("-e, --env <list>", "Set environment variables", collect, [])
    .option("--env-file <list>", "Read in a file of environment variables", collect, [])
    .option("-i, --interactive", "Keep STDIN open even if not attached")
    .option("--privileged", "Give extended privileges to the command")
    .option("-t, --tty", "Allocate a pseudo-TTY")
    .option("-u, --user <string>", "Username or UID (format: <name|uid>[:<group|gid>])")
    .option("-w, --workdir <string>", "Working directory inside the container");
  const { options: o, args } = parseArgs(cmd, "exec", argv, { passThrough: true });
  requireArgs("exec", args, { min: 2 });
  const env: string[] = [];
  try {
    for (const f of o.envFile as string[]) env.push(...parseEnvFile(readFileSync(f, "utf8"), f, io.env));
  } catch (e) {
    throw new UsageError("exec", (e as Error).message);
  }
  for (const e of o.env as string[]) {
    const v = resolveEnv(e, io.env);
    if (v !== undefined) env.push(v);
  }
  return {
    container: args[0]!,
    cmd: args.slice(1),
    interactive: !!o.interactive,
    tty: !!o.tty,
    detach: !!o.detach,
    env,
    workdir: o.workdir as string | undefined,
    user: o.user as string | undefined,
    privileged: !!o.privileged,
    detachKeys: o.detachKeys as string | undefined,
  };
}

export async function execAction(opts: ExecOptions, io: CliIo): Promise<number> {
  const size = opts.tty ? io.terminal.size() : undefined;
  const created = await io.client.json<{ Id: string }>("POST", `/containers/${encodeURIComponent(opts.container)}/exec`, {
    body: {
      User: opts.user ?? "",
      Privileged: opts.privileged,
      Tty: opts.tty,
      AttachStdin: opts.interactive && !opts.detach,
      AttachStdout: !opts.detach,
      AttachStderr: !opts.detach,
      Env: opts.env,
      WorkingDir: opts.workdir ?? "",
      Cmd: opts.cmd,
      ...(opts.detachKeys !== undefined ? { DetachKeys: opts.detachKeys } : {}),
      ...(size ? { ConsoleSize: [size.rows, size.cols] } : {}),
    },
  });
  const execPath = `/exec/${created.Id}`;
  const startFailed = (err: unknown): never => {
    if (daemonStatusOf(err) === undefined) throw err;
    const msg = (err as Error).message;
    throw new ExitCode(startErrorExitCode(msg) === 125 ? 1 : startErrorExitCode(msg), `Error response from daemon: ${msg}`);
  };
  if (opts.detach) {
    await io.client.call("POST", `${execPath}/start`, { body: { Detach: true, Tty: opts.tty } }).catch(startFailed);
    return 0;
  }
  const conn = await io.client
    .hijack(`${execPath}/start`, { body: { Detach: false, Tty: opts.tty, ...(size ? { ConsoleSize: [size.rows, size.cols] } : {}) } })
    .catch(startFailed);
  const raw = opts.tty && opts.interactive && io.terminal.stdinIsTty;
  let undoTty = () => {};
  try {
    if (raw) io.terminal.setRawMode(true);
    if (opts.tty && io.terminal.stdoutIsTty) {
      undoTty = setupTty(io.terminal, (h, w) => io.client.call("POST", `${execPath}/resize`, { query: { h, w } }), false);
    }
    const keys = opts.detachKeys !== undefined ? parseDetachKeys(opts.detachKeys) : defaultDetachKeys;
    const { detached } = await pumpHijacked(conn, io, {
      tty: opts.tty,
      stdin: opts.interactive ? io.stdin : undefined,
      detachKeys: raw ? keys : undefined,
    });
    if (detached) return 0;
  } finally {
    undoTty();
    if (raw) io.terminal.setRawMode(false);
  }
  const info = await io.client.json<{ ExitCode: number | null; Running: boolean }>("GET", `${execPath}/json`);
  return info.ExitCode ?? 0;
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  return execAction(parseExec(argv, io), io);
}
