/** `wharf tag`: POST /images/{source}/tag?repo=&tag=. */
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { splitRepoTag } from "../format/image-context.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", io.stdout);
  const { args } = parseArgs(cmd, "tag", argv);
  requireArgs("tag", args, { exact: 2 });
  const [repo, tag] = splitRepoTag(args[1]!);
  await io.client.call("POST", `/images/${encodeURIComponent(args[0]!)}/tag`, { query: { repo, tag: tag || "latest" } });
  return 0;
}
