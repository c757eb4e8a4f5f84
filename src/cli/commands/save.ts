/** `wharf save`: GET /images/get?names=… → a tar on stdout or in -o FILE (written atomically). */
import { createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { dirname, join, basename } from "node:path";
import { pipeline } from "node:stream/promises";
import { InvalidArgumentError } from "../../lib/errors.js";
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("save", "[OPTIONS] IMAGE [IMAGE...]", "Save one or more images to a tar archive (streamed to STDOUT by default)", io.stdout)
    .option("-o, --output <string>", "Write to a file, instead of STDOUT");
  const { options: o, args } = parseArgs(cmd, "save", argv);
  requireArgs("save", args, { min: 1 });
  const output = o.output as string | undefined;
  if (!output && io.terminal.stdoutIsTty) {
    throw new InvalidArgumentError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
  const res = await io.client.stream("GET", "/images/get", { query: { names: args } });
  if (!output) {
    await pipeline(res, io.stdout, { end: false });
    return 0;
  }
  // Temp file next to the target, then rename: an interrupted save never leaves a truncated tar under the name.
  const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
  try {
    await pipeline(res, createWriteStream(tmp));
    await rename(tmp, output);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  return 0;
}
