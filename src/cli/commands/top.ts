/** `wharf top`: GET /containers/{id}/top?ps_args= → a table of processes. */
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { tabwrite } from "../format/table.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("top", "CONTAINER [ps OPTIONS]", "Display the running processes of a container", io.stdout);
  const { args } = parseArgs(cmd, "top", argv, { passThrough: true });
  requireArgs("top", args, { min: 1 });
  const [container, ...psArgs] = args;
  const r = await io.client.json<{ Titles: string[]; Processes: string[][] | null }>(
    "GET",
    `/containers/${encodeURIComponent(container!)}/top`,
    { query: { ps_args: psArgs.length > 0 ? psArgs.join(" ") : undefined } },
  );
  let text = `${r.Titles.join("\t")}\n`;
  for (const p of r.Processes ?? []) text += `${p.join("\t")}\n`;
  io.stdout.write(tabwrite(text, 20, 3));
  return 0;
}
