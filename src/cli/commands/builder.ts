/** `wharf builder prune`: POST /build/prune → "Total reclaimed space: …". */
import { humanSize } from "../../lib/humanize.js";
import { newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== "prune") {
    throw new UsageError("builder", sub === undefined ? `"wharf builder" requires a subcommand: prune` : `unknown command "${sub}" for "wharf builder"`);
  }
  const cmd = newCommand("builder prune", "[OPTIONS]", "Remove build cache", io.stdout)
    .option("-a, --all", "Remove all unused build cache, not just dangling ones")
    .option("-f, --force", "Do not prompt for confirmation");
  const { args } = parseArgs(cmd, "builder prune", rest);
  requireArgs("builder prune", args, { max: 0 });
  const r = await io.client.json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>("POST", "/build/prune", { body: {} });
  const deleted = r.CachesDeleted ?? [];
  if (deleted.length > 0) {
    io.stdout.write("Deleted build cache objects:\n");
    for (const id of deleted) io.stdout.write(`${id.replace(/^sha256:/, "")}\n`);
    io.stdout.write("\n");
  }
  io.stdout.write(`Total reclaimed space: ${humanSize(r.SpaceReclaimed)}\n`);
  return 0;
}
