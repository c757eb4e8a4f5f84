/** `wharf attach`: POST /containers/{id}/attach (hijacked) to a running container. */
import { FailedPreconditionError } from "../../lib/errors.js";
import { attachAndFollow, inspectContainer } from "../attach-session.js";
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("attach", "[OPTIONS] CONTAINER", "Attach local standard input, output, and error streams to a running container", io.stdout)
    .option("--no-stdin", "Do not attach STDIN")
    .option("--sig-proxy", "Proxy all received signals to the process", true)
    .option("--no-sig-proxy", "Do not proxy signals")
    .option("--detach-keys <string>", "Override the key sequence for detaching a container");
  const { options: o, args } = parseArgs(cmd, "attach", argv);
  requireArgs("attach", args, { exact: 1 });
  const c = await inspectContainer(io, args[0]!);
  if (!c.State.Running) throw new FailedPreconditionError("You cannot attach to a stopped container, start it first");
  if (c.State.Paused) throw new FailedPreconditionError("You cannot attach to a paused container, unpause it first");
  if (c.State.Restarting) throw new FailedPreconditionError("You cannot attach to a restarting container, wait until it is running");
  return attachAndFollow(io, c, {
    stdin: o.stdin !== false,
    detachKeys: o.detachKeys as string | undefined,
    sigProxy: o.sigProxy !== false,
  });
}
