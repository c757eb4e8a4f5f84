/** `wharf images`: GET /images/json → REPOSITORY TAG IMAGE ID CREATED SIZE. */
import { encodeFilters } from "../client.js";
import { collect, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { imageHeaders, imageRows, type ApiImage } from "../format/image-context.js";
import { renderRows } from "../format/table.js";
import { parseFilters } from "./ps.js";

export interface ImagesOptions {
  all: boolean;
  quiet: boolean;
  noTrunc: boolean;
  digests: boolean;
  filters: Record<string, string[]>;
  format: string;
}

export function parseImages(argv: string[], io: Pick<CliIo, "stdout">): ImagesOptions {
  const cmd = newCommand("images", "[OPTIONS] [REPOSITORY[:TAG]]", "List images", io.stdout)
    .option("-a, --all", "Show all images (default hides intermediate images)")
    .option("--digests", "Show digests")
    .option("-f, --filter <filter>", "Filter output based on conditions provided", collect, [])
    .option("--format <string>", "Format output using a custom template")
    .option("--no-trunc", "Don't truncate output")
    .option("-q, --quiet", "Only show image IDs");
  const { options: o, args } = parseArgs(cmd, "images", argv);
  requireArgs("images", args, { max: 1 });
  const filters = parseFilters("images", o.filter as string[]);
  if (args[0]) (filters.reference ??= []).push(args[0]);
  const digests = !!o.digests;
  let format = (o.format as string | undefined) ?? "";
  if (o.quiet) format = "{{.ID}}";
  else if (format === "" || format === "table") {
    format = digests
      ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
      : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  }
  return { all: !!o.all, quiet: !!o.quiet, noTrunc: o.trunc === false, digests, filters, format };
}

export async function imagesAction(opts: ImagesOptions, io: Pick<CliIo, "client" | "stdout">, now = Date.now()): Promise<number> {
  const images = await io.client.json<ApiImage[]>("GET", "/images/json", {
    query: { all: opts.all || undefined, digests: opts.digests || undefined, filters: encodeFilters(opts.filters) },
  });
  let rows = imageRows(images ?? [], { trunc: !opts.noTrunc, digests: opts.digests, now });
  if (opts.quiet) {
    // -q lists each image once even when it has several tags.
    const seen = new Set<string>();
    rows = rows.filter((r) => !seen.has(r.ID()) && seen.add(r.ID()) !== undefined);
  }
  io.stdout.write(renderRows({ format: opts.format, headers: imageHeaders }, rows));
  return 0;
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  return imagesAction(parseImages(argv, io), io);
}
