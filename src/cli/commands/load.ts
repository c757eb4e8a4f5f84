/** `wharf load`: POST /images/load (tar from -i FILE or stdin) → "Loaded image: busybox:latest". */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { InvalidArgumentError } from "../../lib/errors.js";
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { displayJsonMessages } from "../json-messages.js";
import { copyStream } from "../stdcopy.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("load", "[OPTIONS]", "Load an image from a tar archive or STDIN", io.stdout)
    .option("-i, --input <string>", "Read from tar archive file, instead of STDIN")
    .option("-q, --quiet", "Suppress the load output");
  const { options: o, args } = parseArgs(cmd, "load", argv);
  requireArgs("load", args, { max: 0 });
  const input = o.input as string | undefined;
  let body: Readable;
  if (input) {
    await stat(input).catch(() => {
      throw new InvalidArgumentError(`open ${input}: no such file or directory`);
    });
    body = createReadStream(input);
  } else {
    if (io.terminal.stdinIsTty) throw new InvalidArgumentError("requested load from stdin, but stdin is empty");
    body = io.stdin;
  }
  // Progress bars only make sense on a terminal; elsewhere ask for the quiet form, as docker does.
  const quiet = !!o.quiet || !io.terminal.stdoutIsTty;
  const res = await io.client.stream("POST", "/images/load", { query: { quiet }, body, contentType: "application/x-tar" });
  const ct = String(res.headers["content-type"] ?? "");
  if (ct.includes("json")) await displayJsonMessages(res, io.stdout, io.terminal.stdoutIsTty);
  else await copyStream(res, io.stdout);
  return 0;
}
