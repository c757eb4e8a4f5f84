/** `wharf import`: POST /images/create?fromSrc=-|URL&repo=&tag=&message=&changes= with the tar as body. */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { InvalidArgumentError } from "../../lib/errors.js";
import { collect, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { splitRepoTag } from "../format/image-context.js";
import { displayJsonMessages } from "../json-messages.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("import", "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]", "Import the contents from a tarball to create a filesystem image", io.stdout)
    .option("-c, --change <list>", "Apply Dockerfile instruction to the created image", collect, [])
    .option("-m, --message <string>", "Set commit message for imported image")
    .option("--platform <string>", "Set platform if server is multi-platform capable");
  const { options: o, args } = parseArgs(cmd, "import", argv);
  requireArgs("import", args, { min: 1, max: 2 });
  const source = args[0]!;
  let fromSrc = "-";
  let body: Readable | undefined;
  if (source === "-") body = io.stdin;
  else if (/^(https?):\/\//.test(source)) fromSrc = source;
  else {
    await stat(source).catch(() => {
      throw new InvalidArgumentError(`open ${source}: no such file or directory`);
    });
    body = createReadStream(source);
  }
  const [repo, tag] = args[1] ? splitRepoTag(args[1]) : ["", ""];
  const res = await io.client.stream("POST", "/images/create", {
    query: {
      fromSrc,
      repo: repo || undefined,
      tag: tag || undefined,
      message: o.message as string | undefined,
      changes: (o.change as string[]).length > 0 ? (o.change as string[]) : undefined,
      platform: o.platform as string | undefined,
    },
    body,
    contentType: "application/x-tar",
  });
  await displayJsonMessages(res, io.stdout, io.terminal.stdoutIsTty);
  return 0;
}
