/** `wharf diff`: GET /containers/{id}/changes → "A /path", "C /path", "D /path". */
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

const kinds = ["C", "A", "D"];

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("diff", "CONTAINER", "Inspect changes to files or directories on a container's filesystem", io.stdout);
  const { args } = parseArgs(cmd, "diff", argv);
  requireArgs("diff", args, { exact: 1 });
  const changes = await io.client.json<Array<{ Path: string; Kind: number }> | null>(
    "GET",
    `/containers/${encodeURIComponent(args[0]!)}/changes`,
  );
  for (const c of changes ?? []) io.stdout.write(`${kinds[c.Kind] ?? "?"} ${c.Path}\n`);
  return 0;
}
