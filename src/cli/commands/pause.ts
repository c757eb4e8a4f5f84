/** `wharf pause`: POST /containers/{id}/pause for each container. */
import { forEachTargetConcurrently, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("pause", "CONTAINER [CONTAINER...]", "Pause all processes within one or more containers", io.stdout);
  const { args } = parseArgs(cmd, "pause", argv);
  requireArgs("pause", args, { min: 1 });
  return forEachTargetConcurrently(io, args, async (name) => {
    await io.client.call("POST", `/containers/${encodeURIComponent(name)}/pause`);
    return name;
  });
}
