import type { Readable } from "node:stream";

/**
 * The snapshot layer: image layers unpacked once and shared read-only, plus
 * one writable overlay per container
 * (https://docs.kernel.org/filesystems/overlayfs.html).
 *
 * Lifecycle of a container's filesystem:
 *   prepareImage(layers) → lowerDirs      (unpacks what is missing; shared by all)
 *   createRw(id, lowerDirs)               (empty upper + work dirs)
 *   mount(id) → merged path               (overlay; lowerdir topmost first)
 *   … container runs in merged …
 *   diff(id) → layer tar                  (for commit; mounted or not)
 *   unmount(id)                           (lazy if busy)
 *   remove(id)                            (unmount + delete upper/work/merged)
 *
 * Layers are keyed by chain ID (see `chainIds`), so the same layer on top of
 * the same parents is stored once whatever image uses it. A layer becomes
 * visible only once completely unpacked (temp dir + rename), so a crash never
 * leaves a half layer that a later run would use.
 */

/** One layer of an image, bottom first: its diffID and a way to read its tar (plain or gzip'd). */
export interface LayerSource {
  readonly diffId: string;
  open(): Promise<Readable>;
  /**
   * For bytes still arriving (a layer unpacked while it downloads): resolves
   * once they are known good (digest and diffID checked). The unpacked layer
   * becomes visible only then; when it rejects, nothing is kept.
   */
  readonly verified?: Promise<void>;
}

export interface RwPaths {
  upper: string;
  work: string;
  merged: string;
}

export interface Snapshotter {
  /**
   * Make sure every layer is unpacked and return their directories in image
   * order (index 0 = bottom layer), ready for `createRw`. Layers already
   * present are not opened. Safe to call concurrently for images that share
   * layers (each layer is unpacked once). `InvalidArgumentError` for a layer
   * tar that is malformed or tries to escape its directory.
   */
  prepareImage(layers: readonly LayerSource[]): Promise<string[]>;
  /**
   * Make sure the layer `layer` on top of the layers with diffIDs `parents`
   * (bottom first) is unpacked, and return its directory; the parents need
   * not be unpacked. What `prepareImage` does for one layer, so layers can
   * be unpacked as each arrives, in any order.
   */
  prepareLayer(parents: readonly string[], layer: LayerSource): Promise<string>;
  /**
   * Create the writable layer of `id` on top of `lowerDirs` (bottom first, as
   * `prepareImage` returns them; `[]` for an empty root, e.g. `FROM scratch`).
   * `AlreadyExistsError` when `id` exists; `InvalidArgumentError` for a bad id.
   */
  createRw(id: string, lowerDirs: readonly string[]): Promise<RwPaths>;
  /**
   * Mount the overlay and return the merged path. Mounting a mounted id returns the same path. `NotFoundError` for an unknown id.
   * `volatile`: for a writable layer thrown away when the container ends (`--rm`): overlayfs
   * never syncs it (neither the container's fsyncs nor the flush at unmount).
   */
  mount(id: string, options?: { volatile?: boolean }): Promise<string>;
  /** Unmount; lazily (`umount -l`) if busy. Idempotent; unknown ids are fine. */
  unmount(id: string): Promise<void>;
  /** Unmount and delete the writable layer. Idempotent. */
  remove(id: string): Promise<void>;
  isMounted(id: string): Promise<boolean>;
  /** True when `createRw` made `id` and `remove` has not removed it. */
  exists(id: string): Promise<boolean>;
  /** Paths of a writable layer; `NotFoundError` for an unknown id. */
  paths(id: string): Promise<RwPaths>;
  /** Ids of every writable layer. */
  list(): Promise<string[]>;
  /**
   * The changes of `id` as an OCI layer tar (with whiteouts), from its upper
   * dir. `NotFoundError` for an unknown id.
   */
  diff(id: string): Promise<Readable>;
  /** Bytes and inodes used by the upper dir (Docker's `SizeRw`). `NotFoundError` for an unknown id. */
  usage(id: string): Promise<{ size: number; inodes: number }>;
  /**
   * Make the upper dir of `id` the unpacked layer whose chain is `diffIds`
   * (the diffIDs of `id`'s lower layers, bottom first, then the diffID of
   * `diff(id)`), so an image just committed from `id` need not unpack its
   * new layer from the blob again: the upper dir already is that layer, in
   * the form overlayfs wants. `id` is unmounted first and keeps an empty
   * upper dir (remove it next). A no-op when the layer exists already.
   * `NotFoundError` for an unknown id.
   */
  adoptUpper(id: string, diffIds: readonly string[]): Promise<void>;
  /**
   * Delete unpacked layers that no writable layer uses and whose chain ID is
   * not in `keep` (the chain IDs of images still present). Returns the
   * removed chain IDs.
   */
  pruneLayers(keep: Iterable<string>): Promise<string[]>;
}
