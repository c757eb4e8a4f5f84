import type { Readable } from "node:stream";

/**
 * The content layer: immutable blobs addressed by their sha256 digest
 * (`sha256:<64 lowercase hex>`), per the OCI image spec's descriptor digests
 * (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests).
 *
 * Lifecycle of a blob: ingest (stream into a temp file, hashing as it is
 * written) → verify against the expected digest/size → fsync → rename into
 * place. A blob is visible only once complete; a process killed mid-ingest
 * leaves a temp file that the next `open` removes. Blobs are never modified;
 * they are removed only by `delete` (normally driven by the image layer's
 * garbage collection).
 *
 * Every method validates digest strings strictly and rejects anything else
 * with `InvalidArgumentError` (so a digest can never smuggle a path).
 */

/** A digest string `sha256:<64 lowercase hex chars>`. */
export type Digest = string;

export interface BlobInfo {
  readonly digest: Digest;
  /** Size in bytes. */
  readonly size: number;
}

/** What an ingest must match; any field left out is not checked. */
export interface ExpectedBlob {
  readonly digest?: Digest;
  readonly size?: number;
}

/** Read side. */
export interface Provider {
  /** True when the blob is fully committed. Never throws for a missing blob. */
  has(digest: Digest): Promise<boolean>;
  /** Digest and size; `NotFoundError` when missing. */
  info(digest: Digest): Promise<BlobInfo>;
  /**
   * A stream of the blob's bytes (optionally the inclusive byte range
   * `start..end`, as HTTP ranges count). `NotFoundError` when missing (thrown
   * before the stream is returned, never emitted later).
   */
  readStream(digest: Digest, range?: { start?: number; end?: number }): Promise<Readable>;
  /** The whole blob in memory (meant for configs and manifests). `NotFoundError` when missing. */
  readBytes(digest: Digest): Promise<Buffer>;
  /**
   * The file that holds the blob, for fast paths that want a file (e.g.
   * `sendfile`, tar from disk). Callers must treat it as read-only.
   * `NotFoundError` when missing.
   */
  path(digest: Digest): Promise<string>;
}

/** Write side. */
export interface Ingester {
  /**
   * Consume `stream` into a new blob. When `expected` is given and the data
   * does not match it, throws `DigestMismatchError` or `SizeMismatchError`
   * (both `InvalidArgumentError`s) and nothing is written
   * (the temp file is removed). Ingesting a blob that already exists is safe
   * and returns the same info. Concurrent ingests of the same content are
   * safe (the last rename wins with identical bytes).
   */
  ingest(stream: Readable | AsyncIterable<Uint8Array>, expected?: ExpectedBlob): Promise<BlobInfo>;
  /** `ingest` for bytes already in memory. */
  put(bytes: Uint8Array | string, expected?: ExpectedBlob): Promise<BlobInfo>;
  /**
   * Moves `file` (on the store's filesystem, e.g. a registry upload
   * session's data) into place as blob `digest`, after fsync, so a large
   * blob already hashed while it arrived is not copied again. The caller has
   * verified the digest. When the blob exists, `file` is removed and the
   * existing blob kept. Safe to call twice.
   */
  commitFile(file: string, digest: Digest): Promise<BlobInfo>;
}

/** Housekeeping side. */
export interface Manager {
  /** Remove a blob. Idempotent: deleting a missing blob is not an error. */
  delete(digest: Digest): Promise<void>;
  /** Every committed blob (order unspecified). */
  list(): Promise<BlobInfo[]>;
}

export interface ContentStore extends Provider, Ingester, Manager {}
