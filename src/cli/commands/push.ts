/** `wharf push NAME[:TAG]`: POST /images/{name}/push with docker's progress; the digest line comes from the daemon. */
import { familiarName } from "../../image/reference.js";
import { parseRemoteReference } from "../../distribution/registry-endpoint.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { newCommand, parseArgs, println, requireArgs, type CliIo } from "../command-kit.js";
import { displayJsonMessages } from "../json-messages.js";
import { registryAuthHeader } from "../registry-auth.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("push", "[OPTIONS] NAME[:TAG]", "Upload an image to a registry", io.stdout)
    .option("-a, --all-tags", "Push all tags of an image to the repository")
    .option("-q, --quiet", "Suppress verbose output")
    .option("--disable-content-trust", "Skip image signing (always)");
  const { options: o, args } = parseArgs(cmd, "push", argv);
  requireArgs("push", args, { exact: 1 });
  const ref = parseRemoteReference(args[0]!);
  if (ref.digest !== undefined) throw new InvalidArgumentError(`cannot push a digest reference: ${args[0]}`);
  if (o.allTags && ref.tag !== undefined) throw new InvalidArgumentError("tag can't be used with --all-tags/-a");
  const tag = o.allTags ? undefined : (ref.tag ?? "latest");
  if (!o.allTags && ref.tag === undefined && !o.quiet) println(io.stdout, "Using default tag: latest");
  const res = await io.client.stream("POST", `/images/${familiarName(ref)}/push`, {
    query: { tag },
    headers: { "X-Registry-Auth": await registryAuthHeader(args[0]!, io.env) },
  });
  if (o.quiet) {
    const { readJsonLines } = await import("../json-messages.js");
    const { InternalError } = await import("../../lib/errors.js");
    for await (const m of readJsonLines(res)) if (m.error || m.errorDetail?.message) throw new InternalError(m.errorDetail?.message ?? m.error ?? "");
    println(io.stdout, `${familiarName(ref)}${tag ? `:${tag}` : ""}`);
    return 0;
  }
  await displayJsonMessages(res, io.stdout, io.terminal.stdoutIsTty);
  return 0;
}
