/** `wharf create`: POST /containers/create, prints the new ID. */
import { daemonStatusOf } from "../client.js";
import { newCommand, parseArgs, println, type CliIo } from "../command-kit.js";
import { addContainerFlags, buildCreateRequest, withDefaultTag, type CreateRequest } from "../container-opts.js";

export function parseCreate(argv: string[], io: Pick<CliIo, "stdout" | "env" | "terminal">, verb = "create"): CreateRequest {
  const cmd = addContainerFlags(
    newCommand(verb, "[OPTIONS] IMAGE [COMMAND] [ARG...]", verb === "run" ? "Create and run a new container from an image" : "Create a new container", io.stdout),
    verb === "run",
  );
  const { options, args } = parseArgs(cmd, verb, argv, { passThrough: true });
  return buildCreateRequest(verb, options, args, io.env, io.terminal.size());
}

/**
 * Creates the container. A missing image is reported like docker does
 * ("Unable to find image 'x:latest' locally"), pulled (progress on stderr,
 * none with -q) and the create tried again; `--pull always` pulls first,
 * `--pull never` lets the "No such image" error stand.
 */
export async function createContainer(io: CliIo, req: CreateRequest): Promise<{ Id: string; Warnings?: string[] }> {
  // The registry client side (credentials, progress rendering) loads only when a pull happens.
  const pull = async () => {
    const { pullImage } = await import("../pull-image.js");
    await pullImage(io, req.image, { out: io.stderr, quiet: req.quiet, ...(req.platform ? { platform: req.platform } : {}) });
  };
  if (req.pull === "always") await pull();
  const create = async () => {
    const res = await io.client.json<{ Id: string; Warnings?: string[] | null }>("POST", "/containers/create", {
      query: { name: req.name, platform: req.platform },
      body: req.body,
    });
    for (const w of res.Warnings ?? []) println(io.stderr, `WARNING: ${w}`);
    return { Id: res.Id };
  };
  try {
    return await create();
  } catch (err) {
    if (daemonStatusOf(err) === 404 && /no such image/i.test((err as Error).message) && req.pull !== "never") {
      println(io.stderr, `Unable to find image '${withDefaultTag(req.image)}' locally`);
      await pull();
      return create();
    }
    throw err;
  }
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const req = parseCreate(argv, io);
  const { Id } = await createContainer(io, req);
  println(io.stdout, Id);
  return 0;
}
