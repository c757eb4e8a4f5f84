import { PassThrough } from "node:stream";
import type { ContentStore, Digest } from "../content/content-store.js";
import { isDigest } from "../content/digest.js";
import { InvalidArgumentError, NotFoundError, UnauthorizedError, UnavailableError, isWharfError } from "../lib/errors.js";
import type { ImageRecord, ImageStore, LayerDescriptor } from "../image/image-store.js";
import { describeLayerBlob } from "../image/layer-blob.js";
import { MediaTypes } from "../image/media-types.js";
import { familiarString, formatReference, withDefaultTag, type Reference } from "../image/reference.js";
import type { LayerSource } from "../snapshot/snapshotter.js";
import { parseRemoteReference } from "./registry-endpoint.js";
import { noBlobSources } from "./blob-sources.js";
import { indexTypes, manifestTypes } from "./manifests.js";
import { hostPlatform, selectManifest, type IndexEntry, type Platform } from "./platform.js";
import { discardProgress, layerStatus, shortDigest, throttled, type ProgressSink } from "./progress.js";
import type { BlobSources, RegistryClient, RegistryCredentials, RegistrySession } from "./registry-client.js";
import { DiffIdHasher } from "./diff-id.js";
import { runLimited } from "./run-limited.js";

/**
 * `docker pull`: manifest (an index or manifest list resolved to this
 * host's platform) → config → layers, downloaded in parallel into the
 * content store exactly as the registry serves them (compressed, so their
 * digests stay valid for a later push), each verified against its digest
 * and size, and its uncompressed content against the config's `diff_ids`.
 * Then the image is recorded, unpacked (`unpack`), and only then tagged
 * with the reference and its repo digest: a pull that fails at any point
 * tags nothing and leaves only unreferenced blobs for garbage collection.
 */
export interface PullOptions {
  readonly client: RegistryClient;
  readonly images: ImageStore;
  readonly sources?: BlobSources;
  readonly credentials?: RegistryCredentials;
  readonly platform?: Platform;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
  /** Unpacks the image before it is tagged (the image service hands the snapshotter in here). */
  readonly unpack?: (image: ImageRecord) => Promise<void>;
  /**
   * Unpacks a layer (on top of the layers with diffIDs `parents`) from its
   * bytes as they download, so the disk writes the layer's files while the
   * blob still arrives instead of after it; the unpacked layer is kept only
   * once `layer.verified` resolves (digest and diffID checked). `unpack`
   * then finds it done.
   */
  readonly unpackLayer?: (parents: readonly string[], layer: LayerSource) => Promise<void>;
  /** Layers downloaded at once (default 3, as dockerd's `max-concurrent-downloads`). */
  readonly concurrency?: number;
}

export interface PullResult {
  readonly image: ImageRecord;
  /** Digest of what the reference named (the index when there was one): the repo digest. */
  readonly digest: Digest;
  /** The reference pulled, normalized (`docker.io/library/busybox:latest`). */
  readonly reference: Reference;
  /** False when the tag already named this image and nothing was downloaded. */
  readonly updated: boolean;
}

interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
}

const layerTypes = new Set<string>([MediaTypes.ociLayer, MediaTypes.ociLayerGzip, MediaTypes.dockerLayer, MediaTypes.dockerLayerGzip, MediaTypes.dockerForeignLayerGzip, "application/vnd.oci.image.layer.nondistributable.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"]);
const configTypes = new Set<string>([MediaTypes.dockerConfig, MediaTypes.ociConfig]);

/**
 * `docker pull -a`: every tag of the repository `name` (a name without tag or
 * digest), one after the other, as dockerd does. `NotFoundError` when the
 * repository is unknown or has no tags.
 */
export async function pullAllTags(name: string, o: PullOptions): Promise<PullResult[]> {
  const repo = parseRemoteReference(name);
  if (repo.tag !== undefined || repo.digest !== undefined) throw new InvalidArgumentError("tag can't be used with --all-tags/-a");
  const session = o.client.session(repo.domain, repo.path, ["pull"], o.credentials ? { credentials: o.credentials } : {});
  const tags = await session.listTags().catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new NotFoundError(`repository ${familiarString(repo)} not found: ${err.message}`, { cause: err });
    throw pullError(err, repo);
  });
  if (tags.length === 0) throw new NotFoundError(`repository ${familiarString(repo)} has no tags`);
  const results: PullResult[] = [];
  for (const tag of tags) results.push(await pullImage({ ...repo, tag }, o));
  return results;
}

export async function pullImage(reference: string | Reference, o: PullOptions): Promise<PullResult> {
  const ref = withDefaultTag(typeof reference === "string" ? parseRemoteReference(reference) : reference);
  const progress = o.progress ?? discardProgress;
  const sources = o.sources ?? noBlobSources;
  const session = o.client.session(ref.domain, ref.path, ["pull"], o.credentials ? { credentials: o.credentials } : {});
  const tagOrDigest = ref.digest ?? ref.tag!;

  const top = await session.getManifest(tagOrDigest).catch((err: unknown) => {
    throw pullError(err, ref);
  });
  let manifest = top;
  if (indexTypes.has(top.mediaType)) {
    const entries = parseJson<{ manifests?: IndexEntry[] }>(top.bytes, "image index").manifests;
    if (!Array.isArray(entries)) throw new InvalidArgumentError(`image index ${top.digest} has no manifests list`);
    const entry = selectManifest(entries, o.platform ?? hostPlatform());
    if (!isDigest(entry.digest)) throw new InvalidArgumentError(`unsupported digest ${JSON.stringify(entry.digest)} in image index ${top.digest}`);
    manifest = await session.getManifest(entry.digest).catch((err: unknown) => {
      throw pullError(err, ref);
    });
  }
  if (!manifestTypes.has(manifest.mediaType)) {
    const hint = /v1\+(pretty)?jws|schema1/.test(manifest.mediaType) ? " (Docker schema 1 images are not supported; push the image again with a current client)" : "";
    throw new InvalidArgumentError(`unsupported manifest media type ${JSON.stringify(manifest.mediaType)} for ${familiarString(ref)}${hint}`);
  }
  const doc = parseJson<{ config?: Descriptor; layers?: Descriptor[] }>(manifest.bytes, "image manifest");
  const config = checkDescriptor(doc.config, "config");
  if (!configTypes.has(config.mediaType)) throw new InvalidArgumentError(`${familiarString(ref)} is not a container image (config media type ${config.mediaType})`);
  const layers = (Array.isArray(doc.layers) ? doc.layers : []).map((l, i) => checkDescriptor(l, `layers[${i}]`));
  for (const l of layers) {
    if (!layerTypes.has(l.mediaType)) throw new InvalidArgumentError(`unsupported layer media type ${l.mediaType} (layer ${l.digest})`);
  }

  progress({ status: `Pulling from ${ref.path}`, id: tagOrDigest });
  return o.images.hold(async () => {
    const content = o.images.content;
    if (!(await content.has(config.digest))) {
      const { stream } = await session.openBlob(config.digest, { size: config.size, signal: o.signal });
      await content.ingest(stream, { digest: config.digest, size: config.size });
    }
    const configBytes = await content.readBytes(config.digest);
    const diffIds = parseJson<{ rootfs?: { diff_ids?: unknown } }>(configBytes, "image config").rootfs?.diff_ids;
    if (!Array.isArray(diffIds) || diffIds.length !== layers.length) {
      throw new InvalidArgumentError(`image config of ${familiarString(ref)} lists ${Array.isArray(diffIds) ? diffIds.length : "no"} diff_ids for ${layers.length} layers`);
    }

    // What local images already know about these blobs (their diffIDs), so present layers are not re-hashed.
    const known = new Map<Digest, LayerDescriptor>();
    for (const img of await o.images.list()) for (const l of img.layers) known.set(l.digest, l);

    const present = await Promise.all(layers.map((l) => content.has(l.digest)));
    const concurrency = o.concurrency ?? 3;
    const pending = layers.filter((_, i) => !present[i]);
    layers.forEach((l, i) => progress(layerStatus(shortDigest(l.digest), present[i] ? "Already exists" : "Pulling fs layer")));
    pending.slice(concurrency).forEach((l) => progress(layerStatus(shortDigest(l.digest), "Waiting")));

    const descriptors = await runLimited(layers.map((l, i) => ({ l, i })), concurrency, o.signal, async ({ l, i }, signal) => {
      const id = shortDigest(l.digest);
      const early = !present[i] && o.unpackLayer ? unpackWhileDownloading(o.unpackLayer, diffIds.slice(0, i).map(String), String(diffIds[i])) : undefined;
      let desc: Pick<LayerDescriptor, "diffId" | "uncompressedSize">;
      try {
        const fetched = present[i] ? undefined : await download(content, session, l, id, progress, signal, early?.tee);
        desc = fetched
          ? { diffId: fetched.diffId, uncompressedSize: fetched.size }
          : (known.get(l.digest) ?? (await describeLayerBlob(content, l.digest, l.mediaType)));
        if (desc.diffId !== diffIds[i]) {
          throw new InvalidArgumentError(`layer ${l.digest} is corrupt: its content hashes to ${desc.diffId}, the image config expects ${String(diffIds[i])}`);
        }
      } catch (err) {
        await early?.fail(err);
        throw err;
      }
      await early?.succeed();
      if (!present[i]) progress(layerStatus(id, "Download complete"));
      const layer: LayerDescriptor = { digest: l.digest, diffId: desc.diffId, size: l.size, mediaType: l.mediaType };
      if (desc.uncompressedSize !== undefined) layer.uncompressedSize = desc.uncompressedSize;
      return layer;
    });

    const existing = await o.images.get(config.digest).catch(() => undefined);
    const image = await o.images.create({ config: configBytes, layers: descriptors });
    try {
      await o.unpack?.(image);
    } catch (err) {
      if (!existing) await o.images.delete(image.id).catch(() => undefined);
      throw err;
    }
    layers.forEach((l, i) => {
      if (!present[i]) progress(layerStatus(shortDigest(l.digest), "Pull complete"));
    });

    const before = await o.images.get(ref.tag !== undefined ? formatReference(ref) : `${ref.name}@${top.digest}`).catch(() => undefined);
    if (ref.tag !== undefined) await o.images.tag(image.id, formatReference(ref));
    await o.images.tag(image.id, `${ref.name}@${top.digest}`);
    await sources.remember(ref.domain, ref.path, [config.digest, ...layers.map((l) => l.digest)]).catch(() => undefined);
    const updated = pending.length > 0 || before?.id !== image.id;
    progress({ status: `Digest: ${top.digest}` });
    progress({ status: `Status: ${updated ? "Downloaded newer image for" : "Image is up to date for"} ${familiarString(ref)}` });
    return { image: await o.images.get(image.id), digest: top.digest, reference: ref, updated };
  });
}

/** A layer's unpacking fed from its download: `tee` gets the bytes, then `succeed` or `fail` settles it. */
interface EarlyUnpack {
  readonly tee: PassThrough;
  /** The bytes are verified: the unpacked layer may be kept. Throws what unpacking threw. */
  succeed(): Promise<void>;
  /** The download or its checks failed: nothing is kept. Never throws. */
  fail(err: unknown): Promise<void>;
}

function unpackWhileDownloading(unpackLayer: NonNullable<PullOptions["unpackLayer"]>, parents: string[], diffId: string): EarlyUnpack {
  // A few MiB of slack, then the download waits for the disk (see feed).
  const tee = new PassThrough({ highWaterMark: 4 << 20 });
  tee.on("error", () => undefined);
  let settle!: { resolve: () => void; reject: (err: unknown) => void };
  const verified = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  verified.catch(() => undefined);
  const done = unpackLayer(parents, { diffId, open: async () => tee, verified });
  done.catch(() => undefined);
  return {
    tee,
    async succeed() {
      settle.resolve();
      await done;
    },
    async fail(err) {
      settle.reject(err);
      tee.destroy();
      await done.catch(() => undefined);
    },
  };
}

/** Writes to the unpacking side, waiting while it is behind; once it stopped reading (done or failed), drops the bytes. */
async function feed(tee: PassThrough, chunk: Buffer): Promise<void> {
  if (tee.destroyed || tee.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const go = () => {
      tee.off("drain", go);
      tee.off("close", go);
      resolve();
    };
    tee.on("drain", go);
    tee.on("close", go);
  });
}

/**
 * Downloads one layer into the content store (digest and size checked there) and returns its diffID, computed on the way.
 * With `tee`, every byte also goes there, and `tee` ends once the blob is stored.
 */
async function download(content: ContentStore, session: RegistrySession, l: Descriptor, id: string, progress: ProgressSink, signal: AbortSignal, tee?: PassThrough): Promise<{ diffId: Digest; size: number }> {
  const report = throttled(progress);
  const { stream } = await session.openBlob(l.digest, { size: l.size, signal });
  const diff = new DiffIdHasher({ blobDigest: l.digest });
  let received = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of stream) {
      received += (chunk as Buffer).length;
      await diff.update(chunk as Buffer);
      if (tee) await feed(tee, chunk as Buffer);
      report(id, "Downloading", received, l.size);
      yield chunk as Buffer;
    }
    progress(layerStatus(id, "Verifying Checksum"));
  }
  await content.ingest(counted(), { digest: l.digest, size: l.size });
  const result = await diff.digest();
  tee?.end();
  return result;
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  const x = d as Partial<Descriptor> | undefined;
  if (!x || typeof x !== "object" || typeof x.mediaType !== "string" || typeof x.size !== "number" || !Number.isSafeInteger(x.size) || x.size < 0) {
    throw new InvalidArgumentError(`manifest ${where} is not a valid descriptor`);
  }
  if (!isDigest(x.digest)) throw new InvalidArgumentError(`manifest ${where}: unsupported digest ${JSON.stringify(x.digest)} (only sha256)`);
  return { mediaType: x.mediaType, digest: x.digest, size: x.size };
}

/** Docker's wording for what goes wrong while resolving the reference. */
function pullError(err: unknown, ref: Reference): unknown {
  if (!isWharfError(err)) return err;
  if (err instanceof NotFoundError) return new NotFoundError(`manifest for ${familiarString(ref)} not found: ${err.message}`, { cause: err });
  if (err instanceof UnauthorizedError) {
    return new UnauthorizedError(`pull access denied for ${familiarString({ ...ref, tag: undefined, digest: undefined } as Reference)}, repository does not exist or may require 'docker login': ${err.message}`, { cause: err });
  }
  if (err instanceof UnavailableError) return new UnavailableError(`failed to resolve reference "${formatReference(ref)}": ${err.message}`, { cause: err });
  return err;
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    const v = JSON.parse(bytes.toString("utf8")) as T;
    if (typeof v !== "object" || v === null) throw new SyntaxError("not an object");
    return v;
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
