/** `wharf export`: GET /containers/{id}/export → the container's filesystem as a tar on stdout or in -o FILE. */
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { checkTarDestination, writeTarOutput } from "../tar-output.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("export", "[OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", io.stdout)
    .option("-o, --output <string>", "Write to a file, instead of STDOUT");
  const { options: o, args } = parseArgs(cmd, "export", argv);
  requireArgs("export", args, { exact: 1 });
  const output = o.output as string | undefined;
  checkTarDestination(output, io);
  await writeTarOutput(await io.client.stream("GET", `/containers/${encodeURIComponent(args[0]!)}/export`), output, io);
  return 0;
}
