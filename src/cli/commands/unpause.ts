/** `wharf unpause`: POST /containers/{id}/unpause for each container. */
import { forEachTargetConcurrently, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("unpause", "CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers", io.stdout);
  const { args } = parseArgs(cmd, "unpause", argv);
  requireArgs("unpause", args, { min: 1 });
  return forEachTargetConcurrently(io, args, async (name) => {
    await io.client.call("POST", `/containers/${encodeURIComponent(name)}/unpause`);
    return name;
  });
}
