/** `wharf rename`: POST /containers/{id}/rename?name=. */
import { UsageError, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("rename", "CONTAINER NEW_NAME", "Rename a container", io.stdout);
  const { args } = parseArgs(cmd, "rename", argv);
  requireArgs("rename", args, { exact: 2 });
  const [oldName, newName] = [args[0]!.trim(), args[1]!.trim()];
  if (!oldName || !newName) throw new UsageError("rename", "Error: Neither old nor new names may be empty");
  await io.client.call("POST", `/containers/${encodeURIComponent(oldName)}/rename`, { query: { name: newName } });
  return 0;
}
