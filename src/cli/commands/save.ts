/** `wharf save`: GET /images/get?names=… → a tar on stdout or in -o FILE (written atomically). */
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { checkTarDestination, writeTarOutput } from "../tar-output.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("save", "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", io.stdout)
    .option("-o, --output <string>", "Write to a file, instead of STDOUT");
  const { options: o, args } = parseArgs(cmd, "save", argv);
  requireArgs("save", args, { min: 1 });
  const output = o.output as string | undefined;
  checkTarDestination(output, io);
  await writeTarOutput(await io.client.stream("GET", "/images/get", { query: { names: args } }), output, io);
  return 0;
}
