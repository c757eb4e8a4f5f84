/**
 * `wharf container prune`, `image prune`, `volume prune`, `network prune`
 * and `system prune`: the prune endpoints, with docker's warnings, `[y/N]`
 * prompt (skipped by `-f`), `--filter` (until, label, label!: the daemon
 * refuses what it does not apply) and report.
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerPrune
 */
import { humanSize } from "../../lib/humanize.js";
import { collect, ExitCode, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { encodeFilters } from "../client.js";
import { UsageError } from "../cli-errors.js";
import { confirm } from "../confirm.js";
import { parseFilters } from "./ps.js";

type Filters = Record<string, string[]>;

interface PruneReport {
  sections: { title: string; items: string[] }[];
  reclaimed: number;
}

interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

const pruners = {
  async containers(io: CliIo, _all: boolean, filters: Filters): Promise<PruneReport> {
    const r = await io.client.json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>("POST", "/containers/prune", { query: { filters: encodeFilters(filters) } });
    return { sections: [{ title: "Deleted Containers:", items: r.ContainersDeleted ?? [] }], reclaimed: r.SpaceReclaimed };
  },
  async images(io: CliIo, all: boolean, filters: Filters): Promise<PruneReport> {
    const query = { filters: encodeFilters(all ? { ...filters, dangling: ["false"] } : filters) };
    const r = await io.client.json<{ ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }>("POST", "/images/prune", { query });
    const items = (r.ImagesDeleted ?? []).map((d) => (d.Untagged ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted}`));
    return { sections: [{ title: "Deleted Images:", items }], reclaimed: r.SpaceReclaimed };
  },
  async volumes(io: CliIo, all: boolean, filters: Filters): Promise<PruneReport> {
    const query = { filters: encodeFilters(all ? { ...filters, all: ["true"] } : filters) };
    const r = await io.client.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>("POST", "/volumes/prune", { query });
    return { sections: [{ title: "Deleted Volumes:", items: r.VolumesDeleted ?? [] }], reclaimed: r.SpaceReclaimed };
  },
  async networks(io: CliIo, _all: boolean, filters: Filters): Promise<PruneReport> {
    const r = await io.client.json<{ NetworksDeleted: string[] | null }>("POST", "/networks/prune", { query: { filters: encodeFilters(filters) } });
    return { sections: [{ title: "Deleted Networks:", items: r.NetworksDeleted ?? [] }], reclaimed: 0 };
  },
  async buildCache(io: CliIo): Promise<PruneReport> {
    const r = await io.client.json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>("POST", "/build/prune", { body: {} });
    return { sections: [{ title: "Deleted build cache objects:", items: (r.CachesDeleted ?? []).map((id) => id.replace(/^sha256:/, "")) }], reclaimed: r.SpaceReclaimed };
  },
};

function printReport(io: CliIo, reports: PruneReport[]): void {
  let reclaimed = 0;
  for (const r of reports) {
    reclaimed += r.reclaimed;
    for (const s of r.sections) {
      if (s.items.length === 0) continue;
      io.stdout.write(`${s.title}\n${s.items.map((i) => `${i}\n`).join("")}\n`);
    }
  }
  io.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
}

function declined(verb: string): never {
  throw new ExitCode(1, `${verb} has been cancelled`);
}

interface SinglePrune {
  verb: string;
  description: string;
  /** Help of `-a`, for the verbs that have it. */
  all?: string;
  warning(all: boolean): string;
  run(io: CliIo, all: boolean, filters: Filters): Promise<PruneReport>;
  /** `network prune` reports no reclaimed space, as docker's does not. */
  noTotal?: boolean;
}

/** One kind of prune: `-f`, `--filter` (and `-a` where the verb has it), the prompt unless forced, the call, the report. */
function singlePrune(spec: SinglePrune): (argv: string[], io: CliIo) => Promise<number> {
  return async (argv, io) => {
    const cmd = newCommand(spec.verb, "[OPTIONS]", spec.description, io.stdout)
      .option("--filter <filter>", 'Provide filter values (e.g. "until=<timestamp>")', collect, [])
      .option("-f, --force", "Do not prompt for confirmation");
    if (spec.all) cmd.option("-a, --all", spec.all);
    const { options: o, args } = parseArgs(cmd, spec.verb, argv);
    requireArgs(spec.verb, args, { max: 0 });
    const all = !!o.all;
    const filters = parseFilters(spec.verb, o.filter as string[]);
    if (!o.force && !(await confirm(io, spec.warning(all)))) declined(spec.verb);
    const report = await spec.run(io, all, filters);
    if (!spec.noTotal) printReport(io, [report]);
    else for (const sec of report.sections) if (sec.items.length) io.stdout.write(`${sec.title}\n${sec.items.map((n) => `${n}\n`).join("")}`);
    return 0;
  };
}

export const pruneContainers = singlePrune({
  verb: "container prune",
  description: "Remove all stopped containers",
  warning: () => "WARNING! This will remove all stopped containers.",
  run: pruners.containers,
});

export const pruneImages = singlePrune({
  verb: "image prune",
  description: "Remove unused images",
  all: "Remove all unused images, not just dangling ones",
  warning: (all) => (all ? "WARNING! This will remove all images without at least one container associated to them." : "WARNING! This will remove all dangling images."),
  run: pruners.images,
});

export const pruneVolumes = singlePrune({
  verb: "volume prune",
  description: "Remove unused local volumes",
  all: "Remove all unused volumes, not just anonymous ones",
  warning: (all) => (all ? "WARNING! This will remove all local volumes not used by at least one container." : "WARNING! This will remove anonymous local volumes not used by at least one container."),
  run: pruners.volumes,
});

export const pruneNetworks = singlePrune({
  verb: "network prune",
  description: "Remove all unused networks",
  warning: () => "WARNING! This will remove all custom networks not used by at least one container.",
  run: pruners.networks,
  noTotal: true,
});

export async function pruneSystem(argv: string[], io: CliIo): Promise<number> {
  const verb = "system prune";
  const cmd = newCommand(verb, "[OPTIONS]", "Remove unused data", io.stdout)
    .option("-a, --all", "Remove all unused images not just dangling ones")
    .option("--filter <filter>", 'Provide filter values (e.g. "label=<key>=<value>")', collect, [])
    .option("-f, --force", "Do not prompt for confirmation")
    .option("--volumes", "Prune anonymous volumes");
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { max: 0 });
  const all = !!o.all;
  const volumes = !!o.volumes;
  const filters = parseFilters(verb, o.filter as string[]);
  // As docker's: volumes have no creation-time filter.
  if (volumes && filters.until) throw new UsageError(verb, 'The "until" filter is not supported with "--volumes"');
  const what = [
    "all stopped containers",
    "all networks not used by at least one container",
    ...(volumes ? ["all anonymous volumes not used by at least one container"] : []),
    all ? "all images without at least one container associated to them" : "all dangling images",
    all ? "all build cache" : "unused build cache",
  ];
  if (!o.force && !(await confirm(io, `WARNING! This will remove:\n${what.map((w) => `  - ${w}\n`).join("")}`))) declined(verb);
  // Containers first: they are what keeps networks, volumes and images in use.
  const reports = [await pruners.containers(io, all, filters), await pruners.networks(io, all, filters)];
  if (volumes) reports.push(await pruners.volumes(io, false, filters));
  reports.push(await pruners.images(io, all, filters));
  // The build cache takes no filters (see POST /build/prune): with some, it is left alone.
  if (Object.keys(filters).length === 0) reports.push(await pruners.buildCache(io));
  else io.stderr.write("build cache not pruned: it takes no filters\n");
  printReport(io, reports);
  return 0;
}
