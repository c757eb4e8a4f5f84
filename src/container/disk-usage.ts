import type { ImageRecord } from "../image/index.js";
import { chainIds } from "../snapshot/index.js";
import type { ContainerService } from "./container-service.js";
import type { ImageService } from "./image-service.js";
import type { ContainerRecord } from "./types.js";
import type { Volume, VolumeStore } from "./volume-store.js";

/**
 * `docker system df`: what images, containers and volumes hold on disk and
 * what of it is in use. The numbers follow Docker's definitions
 * (https://docs.docker.com/engine/api/v1.45/#tag/System/operation/SystemDataUsage):
 * a layer shared by several images is counted once in `layersSize` and in
 * each of those images' `sharedSize`; a container's `sizeRw` is its own
 * writable layer, `sizeRootFs` that plus its image.
 */
export type DiskUsageKind = "image" | "container" | "volume" | "build-cache";

export interface DiskUsage {
  layersSize: number;
  images: { image: ImageRecord; containers: number; sharedSize: number }[];
  containers: { container: ContainerRecord; sizeRw: number; sizeRootFs: number }[];
  volumes: { volume: Volume; size: number; refCount: number }[];
}

export interface DiskUsageSources {
  images: ImageService;
  containers: ContainerService;
  volumes: VolumeStore;
}

/** Only the kinds asked for are measured (walking upper dirs and volumes costs I/O); the others come back empty. */
export async function diskUsage(src: DiskUsageSources, kinds: ReadonlySet<DiskUsageKind>): Promise<DiskUsage> {
  const out: DiskUsage = { layersSize: 0, images: [], containers: [], volumes: [] };
  const imageList = kinds.has("image") || kinds.has("container") ? await src.images.list() : [];
  if (kinds.has("image")) {
    // A layer is the same on disk wherever its whole chain is the same.
    const layerSize = new Map<string, number>();
    const imagesUsing = new Map<string, number>();
    const chainsOf = new Map<string, string[]>();
    for (const img of imageList) {
      const chains = chainIds(img.layers.map((l) => l.diffId));
      chainsOf.set(img.id, chains);
      chains.forEach((c, i) => {
        const l = img.layers[i]!;
        layerSize.set(c, l.uncompressedSize ?? l.size);
        imagesUsing.set(c, (imagesUsing.get(c) ?? 0) + 1);
      });
    }
    for (const size of layerSize.values()) out.layersSize += size;
    for (const img of imageList) {
      const shared = [...new Set(chainsOf.get(img.id))].filter((c) => imagesUsing.get(c)! > 1);
      out.images.push({ image: img, containers: src.images.containersUsing(img.id), sharedSize: shared.reduce((n, c) => n + layerSize.get(c)!, 0) });
    }
  }
  if (kinds.has("container")) {
    const imageSize = new Map(imageList.map((i) => [i.id, i.size]));
    for (const c of src.containers.list()) {
      const sizeRw = await src.containers.sizeRw(c.id);
      out.containers.push({ container: c, sizeRw, sizeRootFs: sizeRw + (imageSize.get(c.image) ?? 0) });
    }
  }
  if (kinds.has("volume")) {
    for (const v of await src.volumes.list()) out.volumes.push({ volume: v, size: await src.volumes.size(v.Name), refCount: src.volumes.refCount(v.Name) });
  }
  return out;
}
