/** `wharf start`: POST /containers/{id}/start; with -a, attach first and exit with the container's code. */
import { daemonStatusOf } from "../client.js";
import { attachAndFollow, inspectContainer } from "../attach-session.js";
import { ExitCode, newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";
import { startErrorExitCode } from "../attach-stream.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("start", "[OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", io.stdout)
    .option("-a, --attach", "Attach STDOUT/STDERR and forward signals")
    .option("-i, --interactive", "Attach container's STDIN")
    .option("--detach-keys <string>", "Override the key sequence for detaching a container");
  const { options: o, args } = parseArgs(cmd, "start", argv);
  requireArgs("start", args, { min: 1 });
  if (o.attach || o.interactive) {
    if (args.length > 1) throw new UsageError("start", "you cannot start and attach multiple containers at once");
    const c = await inspectContainer(io, args[0]!);
    return attachAndFollow(io, c, {
      stdin: !!o.interactive,
      detachKeys: o.detachKeys as string | undefined,
      sigProxy: true,
      beforePump: async () => {
        try {
          await io.client.call("POST", `/containers/${c.Id}/start`);
        } catch (err) {
          if (daemonStatusOf(err) === undefined) throw err;
          throw new ExitCode(startErrorExitCode((err as Error).message), `Error response from daemon: ${(err as Error).message}`);
        }
      },
    });
  }
  const failed: string[] = [];
  for (const name of args) {
    try {
      await io.client.call("POST", `/containers/${encodeURIComponent(name)}/start`);
      io.stdout.write(`${name}\n`);
    } catch (err) {
      if (daemonStatusOf(err) === undefined) throw err;
      io.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
      failed.push(name);
    }
  }
  if (failed.length > 0) io.stderr.write(`Error: failed to start containers: ${failed.join(", ")}\n`);
  return failed.length > 0 ? 1 : 0;
}
