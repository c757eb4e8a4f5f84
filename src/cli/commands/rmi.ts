/** `wharf rmi`: DELETE /images/{name}?force=&noprune= → "Untagged: …" / "Deleted: …". */
import { forEachTarget, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("rmi", "[OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", io.stdout)
    .option("-f, --force", "Force removal of the image")
    .option("--no-prune", "Do not delete untagged parents");
  const { options: o, args } = parseArgs(cmd, "rmi", argv);
  requireArgs("rmi", args, { min: 1 });
  return forEachTarget(io, args, async (name) => {
    const items = await io.client.json<Array<{ Untagged?: string; Deleted?: string }> | null>(
      "DELETE",
      `/images/${encodeURIComponent(name)}`,
      { query: { force: !!o.force || undefined, noprune: o.prune === false || undefined } },
    );
    const lines = (items ?? []).map((i) => (i.Untagged ? `Untagged: ${i.Untagged}` : `Deleted: ${i.Deleted ?? ""}`));
    return lines.length > 0 ? lines.join("\n") : undefined;
  });
}
