import { posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { Digest } from "../content/content-store.js";
import { decompressed } from "../content/compression.js";
import { digestHex, isDigest, sha256Digest } from "../content/digest.js";
import { readAll, tarEntries } from "../content/tar-entries.js";
import { InvalidArgumentError } from "../lib/errors.js";
import type { ContainerConfig, ImageConfig, ImageRecord, ImageStore, LayerDescriptor } from "./image-store.js";
import { describeLayerBlob, ingestLayer } from "./layer-blob.js";
import { isGzipLayerType, MediaTypes, ociArchitecture } from "./media-types.js";
import { familiarName, familiarString, formatReference, parseReference, withDefaultTag, type Reference } from "./reference.js";

/**
 * `docker load` / `docker save` / `docker import` on top of an ImageStore.
 *
 * Formats:
 * - docker-archive: `manifest.json` ([{Config, RepoTags, Layers}]) plus the
 *   files it names (https://github.com/moby/docker-image-spec/blob/main/spec.md,
 *   "Combined Image JSON + Filesystem Changeset Format"),
 * - OCI image layout: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`
 *   (https://github.com/opencontainers/image-spec/blob/main/image-layout.md).
 * Docker 25+ writes both in one tar; `manifest.json` wins then. The whole tar
 * may be gzip'd, and so may each layer.
 */

export interface LoadResult {
  /** Docker's lines: `Loaded image: busybox:latest` or `Loaded image ID: sha256:…`. */
  loaded: string[];
  images: ImageRecord[];
}

/** Files kept in memory while reading an archive; everything else goes to the content store. */
const metadataFiles = new Set(["manifest.json", "repositories", "index.json", "oci-layout"]);
const maxMetadataBytes = 16 << 20;

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string; variant?: string };
}

/**
 * Read an image archive and record its images. Every blob is ingested and
 * checked (layer diffIDs against the config, OCI blobs against their path
 * digest) before anything is tagged, so a bad or truncated archive leaves no
 * tag behind (only unreferenced blobs, which `gcBlobs` removes).
 * `InvalidArgumentError` for malformed archives.
 */
export async function loadImages(store: ImageStore, input: Readable): Promise<LoadResult> {
  return store.hold(async () => {
    const { stream } = await decompressed(input);
    const meta = new Map<string, Buffer>();
    const blobs = new Map<string, Digest>();
    const links = new Map<string, string>();
    for await (const { header, stream: body } of tarEntries(stream)) {
      const name = cleanArchivePath(header.name);
      if (header.type === "file" || header.type === "contiguous-file") {
        if (metadataFiles.has(name)) {
          meta.set(name, await readAll(body, maxMetadataBytes).catch((err: unknown) => {
            throw new InvalidArgumentError(`${name}: ${(err as Error).message}`);
          }));
        } else {
          const blobPath = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
          // Paths that claim a digest are verified while ingesting.
          const info = await store.content.ingest(body, blobPath ? { digest: `sha256:${blobPath[1]}` } : undefined);
          blobs.set(name, info.digest);
        }
      } else if (header.type === "symlink" && header.linkname) {
        links.set(name, cleanArchivePath(posix.join(posix.dirname(name), header.linkname)));
      } else if (header.type === "link" && header.linkname) {
        links.set(name, cleanArchivePath(header.linkname));
      }
    }
    const blobAt = (path: string): Digest => {
      let p = cleanArchivePath(path);
      for (let hops = 0; hops < 16 && !blobs.has(p) && links.has(p); hops++) p = links.get(p)!;
      const d = blobs.get(p);
      if (d === undefined) throw new InvalidArgumentError(`archive is missing ${path}`);
      return d;
    };

    const pending: { config: Buffer; layers: LayerDescriptor[]; tags: Reference[] }[] = [];
    if (meta.has("manifest.json")) {
      const manifest = parseJson<DockerManifestEntry[]>(meta.get("manifest.json")!, "manifest.json");
      if (!Array.isArray(manifest)) throw new InvalidArgumentError("manifest.json must be a JSON array");
      for (const entry of manifest) {
        if (typeof entry?.Config !== "string" || !Array.isArray(entry.Layers)) throw new InvalidArgumentError("manifest.json entry needs Config and Layers");
        const configBytes = await store.content.readBytes(blobAt(entry.Config));
        const layers: LayerDescriptor[] = [];
        for (const path of entry.Layers) layers.push(await describeLayerBlob(store.content, blobAt(path)));
        const tags = (entry.RepoTags ?? []).map((t) => withDefaultTag(parseReference(t)));
        pending.push({ config: configBytes, layers, tags });
      }
    } else if (meta.has("index.json")) {
      const index = parseJson<{ manifests?: Descriptor[] }>(meta.get("index.json")!, "index.json");
      for (const desc of index.manifests ?? []) {
        await collectOci(store, desc, blobAt, pending, nameFromAnnotations(desc.annotations));
      }
    } else {
      throw new InvalidArgumentError("not an image archive: no manifest.json or index.json");
    }

    for (const p of pending) verifyDiffIds(p.config, p.layers);
    const images: ImageRecord[] = [];
    const loaded: string[] = [];
    for (const p of pending) {
      const rec = await store.create({ config: p.config, layers: p.layers });
      images.push(rec);
    }
    for (const [i, p] of pending.entries()) {
      for (const ref of p.tags) {
        await store.tag(images[i]!.id, formatReference(ref));
        loaded.push(`Loaded image: ${familiarString(ref)}`);
      }
      if (p.tags.length === 0) loaded.push(`Loaded image ID: ${images[i]!.id}`);
    }
    return { loaded, images: await Promise.all(images.map((img) => store.get(img.id))) };
  });
}

async function collectOci(
  store: ImageStore,
  desc: Descriptor,
  blobAt: (path: string) => Digest,
  pending: { config: Buffer; layers: LayerDescriptor[]; tags: Reference[] }[],
  ref: Reference | undefined,
  depth = 0,
): Promise<void> {
  if (!isDigest(desc.digest)) throw new InvalidArgumentError(`unsupported descriptor digest ${JSON.stringify(desc.digest)}`);
  const bytes = await store.content.readBytes(blobAt(`blobs/sha256/${digestHex(desc.digest)}`));
  const doc = parseJson<{ mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(bytes, desc.digest);
  const mediaType = desc.mediaType ?? doc.mediaType;
  if (mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerManifestList || Array.isArray(doc.manifests)) {
    if (depth > 4) throw new InvalidArgumentError("image index nested too deeply");
    const manifests = doc.manifests ?? [];
    const arch = ociArchitecture();
    const pick = manifests.find((m) => m.platform?.os === "linux" && m.platform?.architecture === arch) ?? manifests.find((m) => !m.platform) ?? manifests[0];
    if (!pick) throw new InvalidArgumentError(`image index ${desc.digest} has no manifests`);
    await collectOci(store, pick, blobAt, pending, ref ?? nameFromAnnotations(pick.annotations), depth + 1);
    return;
  }
  if (!doc.config || !Array.isArray(doc.layers)) throw new InvalidArgumentError(`manifest ${desc.digest} has no config or layers`);
  if (!isDigest(doc.config.digest)) throw new InvalidArgumentError(`unsupported config digest in ${desc.digest}`);
  const config = await store.content.readBytes(blobAt(`blobs/sha256/${digestHex(doc.config.digest)}`));
  const layers: LayerDescriptor[] = [];
  for (const l of doc.layers) {
    if (!isDigest(l.digest)) throw new InvalidArgumentError(`unsupported layer digest in ${desc.digest}`);
    layers.push(await describeLayerBlob(store.content, blobAt(`blobs/sha256/${digestHex(l.digest)}`), l.mediaType));
  }
  pending.push({ config, layers, tags: ref ? [ref] : [] });
}

/** containerd and Docker put the full name in `io.containerd.image.name`; `org.opencontainers.image.ref.name` may be a full ref or only a tag. */
function nameFromAnnotations(annotations: Record<string, string> | undefined): Reference | undefined {
  for (const key of ["io.containerd.image.name", "org.opencontainers.image.ref.name"]) {
    const value = annotations?.[key];
    if (!value || !/[/:]/.test(value)) continue;
    try {
      const ref = parseReference(value);
      if (ref.tag !== undefined && ref.digest === undefined) return ref;
    } catch {
      // A bare tag or a name we cannot parse: the image loads untagged.
    }
  }
  return undefined;
}

function verifyDiffIds(configBytes: Buffer, layers: LayerDescriptor[]): void {
  const config = parseJson<ImageConfig>(configBytes, "image config");
  const diffIds = config?.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layers.length) {
    throw new InvalidArgumentError(`image config lists ${Array.isArray(diffIds) ? diffIds.length : "no"} diff_ids for ${layers.length} layers`);
  }
  layers.forEach((l, i) => {
    if (diffIds[i] !== l.diffId) throw new InvalidArgumentError(`layer ${i} is corrupt: its content hashes to ${l.diffId}, the config expects ${diffIds[i]}`);
  });
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString("utf8")) as T;
  } catch (err) {
    throw new InvalidArgumentError(`${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** `./a//b/` → `a/b`; archive member names are compared in this form. */
function cleanArchivePath(p: string): string {
  return posix.normalize(`/${p}`).slice(1).replace(/\/$/, "");
}

/**
 * `docker save`: one tar that is at once a docker-archive (`manifest.json`,
 * `repositories`) and an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/…`), as Docker 25+ writes it. Every Docker version loads it
 * through `manifest.json` (its paths point into `blobs/`), and OCI tools
 * (`skopeo copy oci-archive:…`, containerd's import) read it through
 * `index.json`, whose entries carry the image names in containerd's
 * annotations. Layers go out as stored (compressed when pulled so), which both
 * readers accept. Naming rules follow Docker: `name:tag` saves that tag, a
 * bare `name` saves every tag of the repository, an ID saves the image
 * untagged. References are resolved before the stream is returned
 * (`NotFoundError` for a missing one); blobs are streamed from the content
 * store while the tar is read.
 */
export async function saveImages(store: ImageStore, refs: string[]): Promise<Readable> {
  if (refs.length === 0) throw new InvalidArgumentError("nothing to save: no image given");
  const selected = new Map<Digest, Set<string>>(); // image ID → familiar tags to record
  const all = await store.list();
  for (const arg of refs) {
    const explicitName = parseNameArg(arg);
    if (explicitName && explicitName.tag === undefined && explicitName.digest === undefined) {
      const repo = familiarName(explicitName);
      const matches = all.filter((img) => img.repoTags.some((t) => t.startsWith(`${repo}:`)));
      if (matches.length > 0) {
        for (const img of matches) {
          const tags = selected.get(img.id) ?? new Set<string>();
          for (const t of img.repoTags) if (t.startsWith(`${repo}:`)) tags.add(t);
          selected.set(img.id, tags);
        }
        continue;
      }
    }
    const img = await store.get(arg);
    const tags = selected.get(img.id) ?? new Set<string>();
    if (explicitName && explicitName.tag !== undefined && explicitName.digest === undefined) tags.add(familiarString(explicitName));
    selected.set(img.id, tags);
  }
  const images = await Promise.all([...selected.keys()].map((id) => store.get(id)));
  const pack = tar.pack();
  const mtime = new Date(0);
  const write = async () => {
    const manifest: DockerManifestEntry[] = [];
    const index: Descriptor[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    const written = new Set<Digest>();
    const addFile = async (name: string, size: number, source: Readable | Buffer) => {
      if (Buffer.isBuffer(source)) {
        await new Promise<void>((resolve, reject) => pack.entry({ name, size, mode: 0o644, mtime }, source, (err) => (err ? reject(err) : resolve())));
      } else {
        const entry = pack.entry({ name, size, mode: 0o644, mtime });
        await pipeline(source, entry as unknown as NodeJS.WritableStream);
      }
    };
    const addBlob = async (digest: Digest, source: () => Promise<Readable | Buffer>, size: number): Promise<string> => {
      const path = `blobs/sha256/${digestHex(digest)}`;
      if (!written.has(digest)) {
        if (written.size === 0) {
          pack.entry({ name: "blobs/", type: "directory", mode: 0o755, mtime });
          pack.entry({ name: "blobs/sha256/", type: "directory", mode: 0o755, mtime });
        }
        written.add(digest);
        await addFile(path, size, await source());
      }
      return path;
    };
    for (const img of images) {
      const configBytes = await store.content.readBytes(img.id);
      const configPath = await addBlob(img.id, async () => configBytes, configBytes.length);
      const layerPaths: string[] = [];
      for (const layer of img.layers) {
        layerPaths.push(await addBlob(layer.digest, () => store.content.readStream(layer.digest), layer.size));
      }
      const ociManifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: img.id, size: configBytes.length },
        layers: img.layers.map((l) => ({ mediaType: ociLayerType(l.mediaType), digest: l.digest, size: l.size })),
      }));
      const manifestDigest = sha256Digest(ociManifest);
      await addBlob(manifestDigest, async () => ociManifest, ociManifest.length);
      const descriptor = { mediaType: MediaTypes.ociManifest, digest: manifestDigest, size: ociManifest.length };
      const tags = [...(selected.get(img.id) ?? [])].sort();
      if (tags.length === 0) index.push(descriptor);
      for (const t of tags) {
        const ref = parseReference(t);
        index.push({ ...descriptor, annotations: { "io.containerd.image.name": formatReference(ref), "org.opencontainers.image.ref.name": ref.tag! } });
      }
      manifest.push({ Config: configPath, RepoTags: tags.length ? tags : null, Layers: layerPaths });
      // `repositories` names each tag's top layer by its legacy v1 ID, which Docker derives from the diffID.
      const top = img.layers.length ? digestHex(img.layers[img.layers.length - 1]!.diffId) : digestHex(img.id);
      for (const t of tags) {
        const ref = parseReference(t);
        (repositories[familiarName(ref)] ??= {})[ref.tag!] = top;
      }
    }
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    const files: [string, Buffer][] = [
      ["index.json", json({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: index })],
      ["manifest.json", json(manifest)],
      ["oci-layout", json({ imageLayoutVersion: "1.0.0" })],
      ["repositories", json(repositories)],
    ];
    for (const [name, bytes] of files) await addFile(name, bytes.length, bytes);
    pack.finalize();
  };
  const out = Readable.from(pack as unknown as AsyncIterable<Buffer>);
  // A reader that goes away must not leave `write` (and its hold) stuck on backpressure.
  out.on("close", () => pack.destroy());
  store.hold(write).catch((err: unknown) => {
    pack.destroy(err as Error);
    out.destroy(err as Error);
  });
  return out;
}

/** The OCI spelling of a stored layer's media type (OCI manifests may not name Docker's types). */
function ociLayerType(mediaType: string): string {
  if (mediaType.startsWith("application/vnd.oci.image.layer.")) return mediaType;
  if (isGzipLayerType(mediaType)) return MediaTypes.ociLayerGzip;
  if (mediaType.endsWith("zstd")) return MediaTypes.ociLayerZstd;
  return MediaTypes.ociLayer;
}

/** A save argument as a name, or undefined when it is an ID (or an ID prefix that is not a valid name). */
function parseNameArg(arg: string): Reference | undefined {
  if (/^(sha256:)?[a-f0-9]{64}$/.test(arg)) return undefined;
  try {
    return parseReference(arg);
  } catch {
    return undefined;
  }
}

export interface ImportOptions {
  /** Tag for the new image (`name[:tag]`). */
  ref?: string;
  /** Runtime config for the image (`docker import --change`, already parsed). */
  changes?: ContainerConfig;
  /** History comment (`docker import --message`). */
  message?: string;
  architecture?: string;
  os?: string;
}

/**
 * `docker import`: a root filesystem tar (plain or gzip'd) becomes a one-layer
 * image with a fresh config. `InvalidArgumentError` for a bad `ref`.
 */
export async function importRootfs(store: ImageStore, stream: Readable, options: ImportOptions = {}): Promise<ImageRecord> {
  const ref = options.ref !== undefined ? withDefaultTag(parseReference(options.ref)) : undefined;
  return store.hold(async () => {
    const layer = await ingestLayer(store.content, stream);
    const created = new Date().toISOString();
    const config: ImageConfig = {
      architecture: options.architecture ?? ociArchitecture(),
      os: options.os ?? "linux",
      created,
      config: { ...(options.changes ?? {}) },
      rootfs: { type: "layers", diff_ids: [layer.diffId] },
      history: [{ created, created_by: "", comment: options.message ?? "Imported from -" }],
    };
    const rec = await store.create({ config, layers: [layer] });
    if (ref) await store.tag(rec.id, formatReference(ref));
    return store.get(rec.id);
  });
}

