/** `wharf restart`: POST /containers/{id}/restart?t=&signal= for each container. */
import { forEachTarget, intFlag, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("restart", "[OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers", io.stdout)
    .option("-s, --signal <string>", "Signal to send to the container")
    .option("-t, --time <int>", "Seconds to wait before killing the container");
  const { options: o, args } = parseArgs(cmd, "restart", argv);
  requireArgs("restart", args, { min: 1 });
  const t = intFlag("restart", "-t, --time", o.time);
  return forEachTarget(io, args, async (name) => {
    await io.client.call("POST", `/containers/${encodeURIComponent(name)}/restart`, {
      query: { t, signal: o.signal as string | undefined },
    });
    return name;
  });
}
