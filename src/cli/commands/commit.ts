/** `wharf commit`: POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes= → prints the image ID. */
import { collect, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { splitRepoTag } from "../format/image-context.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image from a container's changes", io.stdout)
    .option("-a, --author <string>", 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    .option("-c, --change <list>", "Apply Dockerfile instruction to the created image", collect, [])
    .option("-m, --message <string>", "Commit message")
    .option("-p, --pause", "Pause container during commit", true)
    .option("--no-pause", "Do not pause the container during commit");
  const { options: o, args } = parseArgs(cmd, "commit", argv);
  requireArgs("commit", args, { min: 1, max: 2 });
  const [repo, tag] = args[1] ? splitRepoTag(args[1]) : ["", ""];
  const changes = o.change as string[];
  const r = await io.client.json<{ Id: string }>("POST", "/commit", {
    query: {
      container: args[0],
      repo: repo || undefined,
      tag: tag || undefined,
      comment: o.message as string | undefined,
      author: o.author as string | undefined,
      pause: o.pause !== false,
      changes: changes.length > 0 ? changes : undefined,
    },
    body: {},
  });
  io.stdout.write(`${r.Id}\n`);
  return 0;
}
