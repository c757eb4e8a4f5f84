import { diskUsage, type DiskUsageKind, type DiskUsageSources } from "../../container/disk-usage.js";
import type { NetworkStore } from "../../network/index.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { sendJson } from "../http-io.js";
import type { Router } from "../router.js";
import { networkLookupFor, summarizeContainer } from "../views/container-view.js";
import { summarizeImage } from "./images.js";
import { volumeView } from "./volumes.js";

const kinds: readonly DiskUsageKind[] = ["container", "image", "volume", "build-cache"];

/**
 * `GET /system/df` (`docker system df`). `type` (API 1.42+, repeatable)
 * narrows what is measured. The build cache is always empty: the classic
 * builder's cache is its intermediate images, counted under Images, as
 * Docker's classic builder reports it.
 */
export function diskUsageRoutes(router: Router, deps: DiskUsageSources & { networks: NetworkStore }): void {
  router.add("GET", "/system/df", async (ctx) => {
    const asked = ctx.query.getAll("type");
    for (const t of asked) if (!kinds.includes(t as DiskUsageKind)) throw new InvalidArgumentError(`invalid type: ${t}`);
    const want = new Set<DiskUsageKind>(asked.length ? (asked as DiskUsageKind[]) : kinds);
    const du = await diskUsage(deps, want);
    const body: Record<string, unknown> = {};
    if (want.has("image")) {
      body.LayersSize = du.layersSize;
      body.Images = du.images.map((i) => summarizeImage(i.image, i.containers, i.sharedSize));
    }
    if (want.has("container")) {
      const lookup = networkLookupFor(deps.containers, deps.networks);
      body.Containers = du.containers.map((c) => ({
        ...summarizeContainer(c.container, c.container.config.Image, lookup(c.container)),
        SizeRw: c.sizeRw,
        SizeRootFs: c.sizeRootFs,
      }));
    }
    if (want.has("volume")) body.Volumes = du.volumes.map((v) => ({ ...volumeView(v.volume), UsageData: { Size: v.size, RefCount: v.refCount } }));
    if (want.has("build-cache")) body.BuildCache = [];
    sendJson(ctx.res!, 200, body);
  });
}
