import type { Digest } from "../content/content-store.js";
import { InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import type { ImageStore, LayerDescriptor } from "../image/image-store.js";
import { MediaTypes, isGzipLayerType } from "../image/media-types.js";
import { familiarName, formatReference, withDefaultTag, type Reference } from "../image/reference.js";
import { parseRemoteReference } from "./registry-endpoint.js";
import { noBlobSources } from "./blob-sources.js";
import { discardProgress, layerStatus, shortDigest, throttled, type ProgressSink } from "./progress.js";
import type { BlobSources, RegistryClient, RegistryCredentials, RegistrySession } from "./registry-client.js";
import { runLimited } from "./run-limited.js";

/**
 * `docker push`: every layer blob (skipped when the repository has it,
 * mounted from another repository of the same registry when we know one
 * that holds it, uploaded otherwise), the config, then a Docker image
 * manifest v2 schema 2 under the tag; the repo digest is recorded locally.
 *
 * Layers are pushed exactly as they are stored: pulled layers stay
 * compressed as the registry sent them (same digests, so the registry
 * dedupes them), and layers that arrived uncompressed (`docker load` of a
 * `docker save` archive, builds, commits) are pushed uncompressed with the
 * uncompressed media type (`application/vnd.docker.image.rootfs.diff.tar`),
 * which the manifest spec allows. Docker would gzip them; not doing so
 * keeps the image ID and the layer digests stable and the push CPU-free.
 */
export interface PushOptions {
  readonly client: RegistryClient;
  readonly images: ImageStore;
  readonly sources?: BlobSources;
  readonly credentials?: RegistryCredentials;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
  /** Layers uploaded at once (default 3). */
  readonly concurrency?: number;
}

export interface PushResult {
  readonly tag: string;
  readonly digest: Digest;
  /** Size of the manifest in bytes. */
  readonly size: number;
}

/** Repositories asked to mount from in one token request (more make the token URL long for no gain). */
const maxMountSources = 5;

export async function pushImage(reference: string | Reference, o: PushOptions): Promise<PushResult> {
  const ref = typeof reference === "string" ? withDefaultTag(parseRemoteReference(reference)) : reference;
  if (ref.digest !== undefined || ref.tag === undefined) throw new InvalidArgumentError(`cannot push a digest reference: ${reference as string}`);
  const progress = o.progress ?? discardProgress;
  const sources = o.sources ?? noBlobSources;
  const image = await o.images.get(formatReference(ref)).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarName(ref)}`);
    throw err;
  });
  const content = o.images.content;
  const prefix = `${ref.domain}/`;
  const mountFrom = (digest: Digest) =>
    sources
      .sources(digest)
      .filter((s) => s.startsWith(prefix) && s.slice(prefix.length) !== ref.path)
      .map((s) => s.slice(prefix.length));
  const candidates = [...new Set(image.layers.flatMap((l) => mountFrom(l.digest)))].slice(0, maxMountSources);

  progress({ status: `The push refers to repository [${ref.name}]` });
  const session = o.client.session(ref.domain, ref.path, ["pull", "push"], {
    ...(o.credentials ? { credentials: o.credentials } : {}),
    mountSources: candidates,
  });
  // Docker lists layers top first.
  const layers = [...image.layers].reverse();
  const concurrency = o.concurrency ?? 3;
  const seen = new Set<string>();
  const unique = layers.filter((l) => !seen.has(l.digest) && seen.add(l.digest));
  unique.forEach((l) => progress(layerStatus(shortDigest(l.diffId), "Preparing")));
  // Biggest first: the small layers then go up beside the big one instead of before it, with the big one alone at the end.
  const bySize = [...unique].sort((a, b) => b.size - a.size);
  bySize.slice(concurrency).forEach((l) => progress(layerStatus(shortDigest(l.diffId), "Waiting")));

  await runLimited(bySize, concurrency, o.signal, (l, signal) => pushLayer(session, l, mountFrom(l.digest).filter((s) => candidates.includes(s)), progress, signal, o.images));

  const configInfo = await content.info(image.id);
  if (!(await session.statBlob(image.id))) {
    await session.uploadBlob(image.id, configInfo.size, (start) => content.readStream(image.id, { start }), o.signal ? { signal: o.signal } : {});
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: MediaTypes.dockerConfig, size: configInfo.size, digest: image.id },
    layers: image.layers.map((l) => ({ mediaType: dockerLayerType(l), size: l.size, digest: l.digest })),
  };
  // Docker's own indentation, so a manifest looks familiar to anyone reading it off a registry.
  const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
  const digest = await session.putManifest(ref.tag, bytes, MediaTypes.dockerManifest);
  await o.images.tag(image.id, `${ref.name}@${digest}`);
  await sources.remember(ref.domain, ref.path, [image.id, ...image.layers.map((l) => l.digest)]).catch(() => undefined);
  progress({ status: `${ref.tag}: digest: ${digest} size: ${bytes.length}` });
  progress({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: bytes.length } });
  return { tag: ref.tag, digest, size: bytes.length };
}

async function pushLayer(session: RegistrySession, l: LayerDescriptor, from: string[], progress: ProgressSink, signal: AbortSignal, images: ImageStore): Promise<void> {
  const id = shortDigest(l.diffId);
  if (await session.statBlob(l.digest)) {
    progress(layerStatus(id, "Layer already exists"));
    return;
  }
  for (const repo of from) {
    if (await session.mountBlob(l.digest, repo)) {
      progress(layerStatus(id, `Mounted from ${repo}`));
      return;
    }
  }
  const report = throttled(progress);
  const content = images.content;
  await session.uploadBlob(l.digest, l.size, (start) => content.readStream(l.digest, { start }), {
    signal,
    onProgress: (sent) => report(id, "Pushing", sent, l.size),
  });
  progress(layerStatus(id, "Pushed"));
}

/** The schema 2 media type for a stored layer: gzip'd or plain tar, as the blob is. */
function dockerLayerType(l: LayerDescriptor): string {
  if (l.mediaType === MediaTypes.dockerForeignLayerGzip) return l.mediaType;
  return isGzipLayerType(l.mediaType) ? MediaTypes.dockerLayerGzip : MediaTypes.dockerLayer;
}
