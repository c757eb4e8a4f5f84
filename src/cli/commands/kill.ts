/** `wharf kill`: POST /containers/{id}/kill?signal= for each container. */
import { forEachTargetConcurrently, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("kill", "[OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", io.stdout)
    .option("-s, --signal <string>", "Signal to send to the container");
  const { options: o, args } = parseArgs(cmd, "kill", argv);
  requireArgs("kill", args, { min: 1 });
  return forEachTargetConcurrently(io, args, async (name) => {
    await io.client.call("POST", `/containers/${encodeURIComponent(name)}/kill`, {
      query: { signal: o.signal as string | undefined },
    });
    return name;
  });
}
