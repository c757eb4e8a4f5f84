import type { Readable } from "node:stream";
import type { Digest } from "../content/content-store.js";
import type { ContainerConfig, HistoryEntry, ImageConfig, ImageRecord, ImageStore, LayerDescriptor } from "./image-store.js";
import { ingestLayer } from "./layer-blob.js";
import { ociArchitecture } from "./media-types.js";
import { formatReference, parseReference, withDefaultTag } from "./reference.js";

export interface CommitOptions {
  /** The runtime config of the new image; defaults to the parent's (`{}` without a parent). */
  config?: ContainerConfig;
  /** Fields set on top of `config`, key by key (`docker commit --change`, already parsed). */
  changes?: Partial<ContainerConfig>;
  author?: string;
  comment?: string;
  /** The history line, e.g. `/bin/sh -c #(nop)  CMD ["sh"]` or the container's command. */
  createdBy?: string;
  /** Tag for the new image (`name[:tag]`). */
  ref?: string;
  /** Recorded as the config's `container` (Docker sets the source container ID). */
  container?: string;
  /** Creation time; defaults to now (builders pin it for reproducible IDs). */
  created?: Date;
}

/**
 * A new image = the parent's layers + one more (or none), the parent's
 * history + one entry. Pass `layer: null` for a metadata-only step: the
 * history entry is then marked `empty_layer` and no layer is added, as the
 * OCI config spec requires for steps that leave the filesystem unchanged
 * (https://github.com/opencontainers/image-spec/blob/main/config.md, `history`).
 * `parent` may be null to start from scratch. `NotFoundError` when the parent
 * is missing; `InvalidArgumentError` for a bad `ref`.
 */
export async function commitImage(
  store: ImageStore,
  parent: string | null,
  layer: Readable | null,
  options: CommitOptions = {},
): Promise<ImageRecord> {
  const ref = options.ref !== undefined ? withDefaultTag(parseReference(options.ref)) : undefined;
  return store.hold(async () => {
    const base = parent === null ? undefined : await store.get(parent);
    const layers: LayerDescriptor[] = base ? base.layers.map((l) => ({ ...l })) : [];
    const baseConfig: ImageConfig | undefined = base?.config;
    if (layer !== null) layers.push(await ingestLayer(store.content, layer));
    const created = (options.created ?? new Date()).toISOString();
    const history: HistoryEntry[] = [...(baseConfig?.history ?? [])];
    const entry: HistoryEntry = { created, created_by: options.createdBy ?? "" };
    if (options.author) entry.author = options.author;
    if (options.comment) entry.comment = options.comment;
    if (layer === null) entry.empty_layer = true;
    history.push(entry);
    const config: ImageConfig = {
      ...(baseConfig ?? {}),
      architecture: baseConfig?.architecture ?? ociArchitecture(),
      os: baseConfig?.os ?? "linux",
      created,
      config: { ...(options.config ?? baseConfig?.config ?? {}), ...(options.changes ?? {}) },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history,
    };
    // Never inherit authorship or provenance from the parent.
    delete config.author;
    delete config.container;
    delete config.container_config;
    if (options.author) config.author = options.author;
    if (options.container) config.container = options.container;
    const createOptions: { config: ImageConfig; layers: LayerDescriptor[]; parent?: Digest } = { config, layers };
    if (base) createOptions.parent = base.id;
    const rec = await store.create(createOptions);
    if (ref) await store.tag(rec.id, formatReference(ref));
    return store.get(rec.id);
  });
}
