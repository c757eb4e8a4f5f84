/** `wharf wait`: POST /containers/{id}/wait for each container; prints each exit code. */
import { InternalError } from "../../lib/errors.js";
import { forEachTarget, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("wait", "CONTAINER [CONTAINER...]", "Block until one or more containers stop, then print their exit codes", io.stdout);
  const { args } = parseArgs(cmd, "wait", argv);
  requireArgs("wait", args, { min: 1 });
  return forEachTarget(io, args, async (name) => {
    const r = await io.client.json<{ StatusCode: number; Error?: { Message?: string } | null }>(
      "POST",
      `/containers/${encodeURIComponent(name)}/wait`,
    );
    if (r?.Error?.Message) throw new InternalError(r.Error.Message);
    return String(r?.StatusCode ?? "");
  });
}
