/** `wharf rm`: DELETE /containers/{id}?force=&v=&link= for each container. */
import { forEachTargetConcurrently, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", io.stdout)
    .option("-f, --force", "Force the removal of a running container (uses SIGKILL)")
    .option("-l, --link", "Remove the specified link")
    .option("-v, --volumes", "Remove anonymous volumes associated with the container");
  const { options: o, args } = parseArgs(cmd, "rm", argv);
  requireArgs("rm", args, { min: 1 });
  return forEachTargetConcurrently(io, args, async (name) => {
    const target = name.replace(/^\//, "");
    await io.client.call("DELETE", `/containers/${encodeURIComponent(target)}`, {
      query: { force: !!o.force || undefined, v: !!o.volumes || undefined, link: !!o.link || undefined },
    });
    return name;
  });
}
