/** `wharf stop`: POST /containers/{id}/stop?t=&signal= for each container. */
import { forEachTargetConcurrently, intFlag, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers", io.stdout)
    .option("-s, --signal <string>", "Signal to send to the container")
    .option("-t, --time <int>", "Seconds to wait before killing the container");
  const { options: o, args } = parseArgs(cmd, "stop", argv);
  requireArgs("stop", args, { min: 1 });
  const t = intFlag("stop", "-t, --time", o.time);
  return forEachTargetConcurrently(io, args, async (name) => {
    await io.client.call("POST", `/containers/${encodeURIComponent(name)}/stop`, {
      query: { t, signal: o.signal as string | undefined },
    });
    return name;
  });
}
