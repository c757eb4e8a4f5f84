/** `wharf ps`: GET /containers/json → docker's table (or --format / -q). */
import { encodeFilters } from "../client.js";
import { collect, intFlag, newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";
import { ContainerContext, containerHeaders, type ApiContainer } from "../format/container-context.js";
import { renderRows } from "../format/table.js";

export interface PsOptions {
  all: boolean;
  quiet: boolean;
  last: number;
  noTrunc: boolean;
  size: boolean;
  filters: Record<string, string[]>;
  format: string;
}

export const defaultPsFormat = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

/** `--filter a=b --filter a=c` → { a: ["b", "c"] }. */
export function parseFilters(verb: string, specs: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of specs) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw new UsageError(verb, `invalid argument "${f}" for "-f, --filter" flag: bad format of filter (expected name=value)`);
    (out[f.slice(0, eq).trim().toLowerCase()] ??= []).push(f.slice(eq + 1));
  }
  return out;
}

export function parsePs(argv: string[], io: Pick<CliIo, "stdout">): PsOptions {
  const cmd = newCommand("ps", "[OPTIONS]", "List containers", io.stdout)
    .option("-a, --all", "Show all containers (default shows just running)")
    .option("-f, --filter <filter>", "Filter output based on conditions provided", collect, [])
    .option("--format <string>", "Format output using a custom template")
    .option("-n, --last <int>", "Show n last created containers (includes all states)")
    .option("-l, --latest", "Show the latest created container (includes all states)")
    .option("--no-trunc", "Don't truncate output")
    .option("-q, --quiet", "Only display container IDs")
    .option("-s, --size", "Display total file sizes");
  const { options: o, args } = parseArgs(cmd, "ps", argv);
  requireArgs("ps", args, { max: 0 });
  let last = intFlag("ps", "-n, --last", o.last) ?? -1;
  if (o.latest) last = 1;
  const size = !!o.size;
  let format = (o.format as string | undefined) ?? "";
  if (o.quiet) format = "{{.ID}}";
  else if (format === "" || format === "table") format = defaultPsFormat + (size ? "\t{{.Size}}" : "");
  return {
    all: !!o.all,
    quiet: !!o.quiet,
    last,
    noTrunc: o.trunc === false,
    size,
    filters: parseFilters("ps", o.filter as string[]),
    format,
  };
}

export async function psAction(opts: PsOptions, io: Pick<CliIo, "client" | "stdout">, now = Date.now()): Promise<number> {
  const all = opts.all || opts.last !== -1;
  const list = await io.client.json<ApiContainer[]>("GET", "/containers/json", {
    query: {
      all: all || undefined,
      limit: opts.last > 0 ? opts.last : undefined,
      // Sizes are costly for the daemon: ask only when the output shows them (json shows every field).
      size: opts.size || /\.Size\b|json/.test(opts.format) || undefined,
      filters: encodeFilters(opts.filters),
    },
  });
  const rows = (list ?? []).map((c) => new ContainerContext(c, !opts.noTrunc, now));
  io.stdout.write(renderRows({ format: opts.format, headers: containerHeaders }, rows));
  return 0;
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  return psAction(parsePs(argv, io), io);
}
