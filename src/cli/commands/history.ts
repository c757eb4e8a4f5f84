/** `wharf history`: GET /images/{name}/history. */
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { historyHeaders, HistoryContext, type ApiHistory } from "../format/image-context.js";
import { renderRows } from "../format/table.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("history", "[OPTIONS] IMAGE", "Show the history of an image", io.stdout)
    .option("--format <string>", "Format output using a custom template")
    .option("-H, --human", "Print sizes and dates in human readable format", true)
    .option("--no-human", "Print raw sizes and dates")
    .option("--no-trunc", "Don't truncate output")
    .option("-q, --quiet", "Only show image IDs");
  const { options: o, args } = parseArgs(cmd, "history", argv);
  requireArgs("history", args, { exact: 1 });
  const history = await io.client.json<ApiHistory[]>("GET", `/images/${encodeURIComponent(args[0]!)}/history`);
  let format = (o.format as string | undefined) ?? "";
  if (o.quiet) format = "{{.ID}}";
  else if (format === "" || format === "table") format = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
  const rows = (history ?? []).map((h) => new HistoryContext(h, o.trunc !== false, o.human !== false));
  io.stdout.write(renderRows({ format, headers: historyHeaders }, rows));
  return 0;
}
