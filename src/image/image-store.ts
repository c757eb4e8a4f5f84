import type { ContentStore, Digest } from "../content/content-store.js";

/**
 * The image layer: image configs and layer lists on top of the content store,
 * plus the tag table that maps references to image IDs.
 *
 * An image's ID is the digest of its config blob (as in Docker and the OCI
 * image spec, https://github.com/opencontainers/image-spec/blob/main/config.md).
 * Its layers are blobs in the content store, each with the diffID (digest of
 * the uncompressed tar) that the config's `rootfs.diff_ids` lists.
 *
 * Lifecycle: blobs are ingested first (while `hold` keeps `gcBlobs` away),
 * then `create` records the image, then `tag` names it. `delete` forgets an
 * image and its tags; its blobs stay until `gcBlobs` finds nothing that uses
 * them. Every change to disk is atomic: a crash leaves either the old or the
 * new state, and never a tag that points to a missing image.
 */

/** The runtime defaults of an image: the `config` object of an image config. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  OnBuild?: string[] | null;
  Shell?: string[];
  /** Docker writes more fields (Hostname, Tty, …); they are kept as they came. */
  [key: string]: unknown;
}

/** One entry of an image config's `history` (oldest first). */
export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  /** True when the step changed only metadata and added no layer. */
  empty_layer?: boolean;
}

/** The image config JSON (OCI image config, plus Docker's extra fields kept as-is). */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ContainerConfig;
  rootfs: { type: "layers"; diff_ids: Digest[] };
  history?: HistoryEntry[];
  [key: string]: unknown;
}

/** One layer of an image, bottom layer first. */
export interface LayerDescriptor {
  /** Digest of the blob as stored in the content store (compressed or not). */
  digest: Digest;
  /** Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffId: Digest;
  /** Size of the stored blob in bytes. */
  size: number;
  /** `application/vnd.oci.image.layer.v1.tar` or `…tar+gzip` (or a Docker equivalent). */
  mediaType: string;
  /** Size of the uncompressed tar when known (equal to `size` for uncompressed blobs). */
  uncompressedSize?: number;
}

export interface ImageRecord {
  /** `sha256:<hex>` of the config blob. */
  id: Digest;
  /** Familiar tagged names (`busybox:latest`, `localhost:5000/x:1`), sorted, as Docker's `RepoTags`. */
  repoTags: string[];
  /** Familiar digested names (`busybox@sha256:…`), as Docker's `RepoDigests`. */
  repoDigests: string[];
  /** The config's `created` (RFC 3339), or the Unix epoch when the config has none. */
  created: string;
  /** Sum of the layers' uncompressed sizes (blob sizes where unknown). */
  size: number;
  layers: LayerDescriptor[];
  /** The local image this one was committed/built on, when known. */
  parent?: Digest;
  config: ImageConfig;
}

/** One row of `docker history`, newest first. */
export interface HistoryItem {
  /** The image ID whose top this step is, or `<missing>`. */
  id: string;
  /** Unix seconds. */
  created: number;
  createdBy: string;
  tags: string[];
  size: number;
  comment: string;
}

export interface CreateImageOptions {
  /**
   * The config. Bytes are stored exactly as given (so an image loaded from an
   * archive keeps its ID); an object is serialized with `JSON.stringify`.
   */
  config: ImageConfig | Uint8Array;
  /** Layers in `rootfs.diff_ids` order; every blob must already be in the content store. */
  layers: LayerDescriptor[];
  parent?: Digest;
}

/** Read side. */
export interface ImageReader {
  /** Every image (order unspecified). */
  list(): Promise<ImageRecord[]>;
  /**
   * Resolve what a user typed, in Docker's order: a full ID (`sha256:<hex>`
   * or 64 hex), then a name (`busybox` = `busybox:latest`, `name@sha256:…`),
   * then a unique ID prefix (with or without `sha256:`).
   * `NotFoundError("No such image: <ref>")` when nothing matches;
   * `InvalidArgumentError` when an ID prefix matches several images.
   */
  get(refOrId: string): Promise<ImageRecord>;
  /** The parsed config of an image (`get` semantics for the argument). */
  config(refOrId: string): Promise<ImageConfig>;
  /** `docker history` rows, newest first (`get` semantics). */
  history(refOrId: string): Promise<HistoryItem[]>;
  /** Images whose `parent` is this image. */
  children(id: Digest): Promise<ImageRecord[]>;
}

/** Write side. */
export interface ImageWriter {
  /**
   * Record an image whose blobs are already in the content store; writes the
   * config blob. Creating an image that exists returns the existing record
   * (safe to repeat). `InvalidArgumentError` when the layers do not match
   * `rootfs.diff_ids`, `NotFoundError` when a layer blob is missing.
   */
  create(options: CreateImageOptions): Promise<ImageRecord>;
  /**
   * Point `ref` (`name[:tag]`, default tag `latest`; or `name@sha256:…` to
   * record a repo digest) at the image `refOrId` resolves to, taking it from
   * whichever image had it. Safe to repeat.
   */
  tag(refOrId: string, ref: string): Promise<void>;
  /**
   * Remove a tag or repo digest (`busybox` = `busybox:latest`). Returns the
   * image ID it pointed to; `NotFoundError` when the reference is not in the
   * tag table.
   */
  untag(ref: string): Promise<Digest>;
  /**
   * Forget an image and every tag and digest that points to it; returns the
   * record as it was. Blobs stay until `gcBlobs`. `NotFoundError` when
   * missing. Refusing to delete images with children or containers is the
   * caller's policy (see `children`).
   */
  delete(refOrId: string): Promise<ImageRecord>;
  /**
   * Delete every blob that no image references (configs and layers).
   * Waits for running `hold` sections and blocks new ones while it runs.
   */
  gcBlobs(): Promise<{ deleted: Digest[]; reclaimedBytes: number }>;
  /**
   * Run `fn` (which ingests blobs and then calls `create`) so that
   * `gcBlobs` cannot delete its not-yet-referenced blobs meanwhile. Do not
   * nest `hold` calls: a GC queued between them would wait for the outer one
   * forever. (`loadImages`, `importRootfs`, `commitImage` and `saveImages`
   * each take one hold; don't call them from inside `hold`.)
   */
  hold<T>(fn: () => Promise<T>): Promise<T>;
}

export interface ImageStore extends ImageReader, ImageWriter {
  /** The content store that holds this store's blobs. */
  readonly content: ContentStore;
}
