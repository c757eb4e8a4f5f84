/**
 * `wharf system df`: GET /system/df as docker prints it, a summary per type
 * (TYPE TOTAL ACTIVE SIZE RECLAIMABLE, with docker's definitions of active
 * and reclaimable) or, with `-v`, every image, container and volume.
 * https://docs.docker.com/reference/cli/docker/system/df/
 */
import { humanSize } from "../../lib/humanize.js";
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { ContainerContext, type ApiContainer } from "../format/container-context.js";
import { imageHeaders, imageRows, type ApiImage } from "../format/image-context.js";
import { renderRows } from "../format/table.js";

interface ApiVolumeUsage {
  Name: string;
  UsageData?: { Size: number; RefCount: number } | null;
}

interface DiskUsageResponse {
  LayersSize?: number;
  Images?: ApiImage[] | null;
  Containers?: (ApiContainer & { SizeRw?: number })[] | null;
  Volumes?: ApiVolumeUsage[] | null;
  BuildCache?: { Size: number; InUse: boolean; Shared: boolean }[] | null;
}

const summaryHeaders = { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" };
const defaultSummary = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";

interface SummaryRow {
  Type: string;
  TotalCount: number;
  Active: number;
  Size: string;
  Reclaimable: string;
}

/** "11.63MB (70%)"; docker leaves the percentage out when there is nothing at all. */
function reclaimableText(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize(reclaimable)} (${Math.floor((reclaimable * 100) / total)}%)` : humanSize(reclaimable);
}

export function summarize(du: DiskUsageResponse): SummaryRow[] {
  const images = du.Images ?? [];
  const layers = du.LayersSize ?? 0;
  // An image in use can free only what it does not share.
  const usedByImages = images.filter((i) => (i.Containers ?? 0) > 0 && (i.SharedSize ?? -1) !== -1).reduce((n, i) => n + i.Size - i.SharedSize!, 0);
  const containers = du.Containers ?? [];
  const isActive = (c: ApiContainer) => /running|paused|restarting/.test(c.State ?? "");
  const containerSize = containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const containerFree = containers.filter((c) => !isActive(c)).reduce((n, c) => n + (c.SizeRw ?? 0), 0);
  const volumes = du.Volumes ?? [];
  const volSize = (v: ApiVolumeUsage) => Math.max(v.UsageData?.Size ?? 0, 0);
  const volumeSize = volumes.reduce((n, v) => n + volSize(v), 0);
  const volumeFree = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((n, v) => n + volSize(v), 0);
  const cache = du.BuildCache ?? [];
  const cacheSize = cache.filter((b) => !b.Shared).reduce((n, b) => n + b.Size, 0);
  const cacheFree = cache.filter((b) => !b.Shared && !b.InUse).reduce((n, b) => n + b.Size, 0);
  return [
    { Type: "Images", TotalCount: images.length, Active: images.filter((i) => (i.Containers ?? 0) > 0).length, Size: humanSize(layers), Reclaimable: reclaimableText(layers - usedByImages, layers) },
    { Type: "Containers", TotalCount: containers.length, Active: containers.filter(isActive).length, Size: humanSize(containerSize), Reclaimable: reclaimableText(containerFree, containerSize) },
    { Type: "Local Volumes", TotalCount: volumes.length, Active: volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length, Size: humanSize(volumeSize), Reclaimable: reclaimableText(volumeFree, volumeSize) },
    { Type: "Build Cache", TotalCount: cache.length, Active: cache.filter((b) => b.InUse).length, Size: humanSize(cacheSize), Reclaimable: humanSize(cacheFree) },
  ];
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const verb = "system df";
  const cmd = newCommand(verb, "[OPTIONS]", "Show docker disk usage", io.stdout)
    .option("--format <string>", "Format output using a custom template")
    .option("-v, --verbose", "Show detailed information on space usage");
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { max: 0 });
  const du = await io.client.json<DiskUsageResponse>("GET", "/system/df");
  if (!o.verbose) {
    const format = (o.format as string | undefined) || defaultSummary;
    io.stdout.write(renderRows({ format: format === "table" ? defaultSummary : format, headers: summaryHeaders }, summarize(du)));
    return 0;
  }
  const images = imageRows(du.Images ?? [], { trunc: true, digests: false });
  io.stdout.write("Images space usage:\n\n");
  io.stdout.write(renderRows({ format: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}", headers: imageHeaders }, images));
  io.stdout.write("\nContainers space usage:\n\n");
  const containers = (du.Containers ?? []).map((c) => new ContainerContext(c, true));
  io.stdout.write(renderRows({ format: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}", headers: containerDfHeaders }, containers));
  io.stdout.write("\nLocal Volumes space usage:\n\n");
  const volumes = (du.Volumes ?? []).map((v) => ({ Name: v.Name, Links: v.UsageData?.RefCount ?? 0, Size: humanSize(Math.max(v.UsageData?.Size ?? 0, 0)) }));
  io.stdout.write(renderRows({ format: "table {{.Name}}\t{{.Links}}\t{{.Size}}", headers: { Name: "VOLUME NAME", Links: "LINKS", Size: "SIZE" } }, volumes));
  const cacheSize = (du.BuildCache ?? []).reduce((n, b) => n + b.Size, 0);
  io.stdout.write(`\nBuild cache usage: ${humanSize(cacheSize)}\n\n`);
  io.stdout.write(renderRows({ format: "table {{.ID}}\t{{.Type}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}", headers: { ID: "CACHE ID", Type: "CACHE TYPE", Size: "SIZE", CreatedSince: "CREATED", LastUsedSince: "LAST USED", UsageCount: "USAGE", Shared: "SHARED" } }, []));
  return 0;
}

const containerDfHeaders = { ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", LocalVolumes: "LOCAL VOLUMES", Size: "SIZE", RunningFor: "CREATED", Status: "STATUS", Names: "NAMES" };
