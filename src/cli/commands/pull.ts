/** `wharf pull [-q] NAME[:TAG|@DIGEST]`: the image from its registry, with docker's progress and final line. */
import { formatReference, withDefaultTag } from "../../image/reference.js";
import { parseRemoteReference } from "../../distribution/registry-endpoint.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { newCommand, parseArgs, println, requireArgs, type CliIo } from "../command-kit.js";
import { pullImage } from "../pull-image.js";

export interface PullOptions {
  image: string;
  quiet: boolean;
  platform?: string;
  allTags: boolean;
}

export function parsePull(argv: string[], io: Pick<CliIo, "stdout">): PullOptions {
  const cmd = newCommand("pull", "[OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", io.stdout)
    .option("-a, --all-tags", "Download all tagged images in the repository")
    .option("--platform <string>", "Set platform if server is multi-platform capable")
    .option("-q, --quiet", "Suppress verbose output")
    .option("--disable-content-trust", "Skip image verification (always)");
  const { options: o, args } = parseArgs(cmd, "pull", argv);
  requireArgs("pull", args, { exact: 1 });
  return { image: args[0]!, quiet: !!o.quiet, allTags: !!o.allTags, ...(o.platform !== undefined ? { platform: String(o.platform) } : {}) };
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const opts = parsePull(argv, io);
  // Invalid names are refused here, before the daemon (or a registry) hears of them.
  const ref = parseRemoteReference(opts.image);
  const bare = ref.tag === undefined && ref.digest === undefined;
  if (opts.allTags && !bare) throw new InvalidArgumentError("tag can't be used with --all-tags/-a");
  if (bare && !opts.allTags && !opts.quiet) println(io.stdout, "Using default tag: latest");
  await pullImage(io, opts.image, { out: io.stdout, quiet: opts.quiet, allTags: opts.allTags, ...(opts.platform ? { platform: opts.platform } : {}) });
  println(io.stdout, opts.allTags ? ref.name : formatReference(withDefaultTag(ref)));
  return 0;
}
