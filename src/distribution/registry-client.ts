import type { Readable } from "node:stream";
import type { Digest } from "../content/content-store.js";
import type { RegistryEndpoint } from "./registry-endpoint.js";

/**
 * The registry client half of the distribution layer: the OCI Distribution
 * API (https://github.com/opencontainers/distribution-spec/blob/main/spec.md)
 * as a client speaks it, with Docker's auth
 * (https://distribution.github.io/distribution/spec/auth/token/).
 * `pull.ts` and `push.ts` build image transfers on top of it.
 *
 * Lifecycle: one `RegistryClient` per daemon (it pools connections) →
 * `session(repository, actions, credentials)` per transfer → requests. A
 * session authenticates lazily on its first request: `GET /v2/`, then on a
 * `401` with a `Bearer` challenge a token from the realm for the session's
 * scopes (with Basic credentials when it has some), or Basic credentials on
 * every request for a `Basic` challenge; a later `401` (an expired token, a
 * scope it lacked) fetches a new token once and retries.
 *
 * Failures: a `5xx`, a `429`, a refused/reset/timed-out connection, or a
 * body that stops early is retried a bounded number of times with backoff
 * (blob reads resume with `Range` where the registry honours it); after
 * that the last error stands, as `UnavailableError`. Registry error bodies
 * (`{"errors":[{code,message}]}`) become the closed error set with Docker's
 * wording (`unauthorized: authentication required`, `manifest unknown: …`):
 * 401 → `UnauthorizedError`, 403 → `ForbiddenError`, 404 → `NotFoundError`,
 * other 4xx → `InvalidArgumentError`.
 */

/** What a session may do; a token is asked for exactly these. */
export type RepositoryAction = "pull" | "push";

/** Credentials for one registry (from `X-Registry-Auth`, `POST /auth` or config.json). */
export interface RegistryCredentials {
  readonly username?: string;
  readonly password?: string;
  /** A bearer token to send as-is (skips the token endpoint). */
  readonly registryToken?: string;
}

export interface FetchedManifest {
  readonly bytes: Buffer;
  /** The response's `Content-Type`, else the body's `mediaType`. */
  readonly mediaType: string;
  /** sha256 of `bytes` (checked against `Docker-Content-Digest` and against a digest asked for). */
  readonly digest: Digest;
}

/** An open blob read. */
export interface BlobReader {
  /**
   * The blob's bytes from the requested offset to the end. Transient
   * failures mid-body are retried and resumed inside the stream (with
   * `Range: bytes=N-`, or by skipping what was read when the registry
   * ignores ranges); after the last retry the stream errors.
   */
  readonly stream: Readable;
}

export interface UploadProgress {
  (bytesSent: number): void;
}

export interface RegistrySession {
  readonly endpoint: RegistryEndpoint;
  /** The repository path in the registry (`library/busybox`). */
  readonly repository: string;

  /**
   * `GET /v2/<name>/manifests/<tag|digest>` accepting every format of
   * `manifests.ts`. `NotFoundError` (`manifest unknown`) when missing;
   * `InvalidArgumentError` when the bytes do not hash to the digest asked for.
   */
  getManifest(reference: string): Promise<FetchedManifest>;
  /**
   * Every tag of the repository (`GET /v2/<name>/tags/list`, following the
   * `Link` pages), in the registry's order. `NotFoundError` when the
   * repository is unknown.
   */
  listTags(): Promise<string[]>;
  /** `HEAD` of a blob: its size, or undefined when the repository does not have it. */
  statBlob(digest: Digest): Promise<{ size: number } | undefined>;
  /** `GET` a blob (following redirects to storage backends, without our Authorization). */
  openBlob(digest: Digest, opts?: { size?: number; signal?: AbortSignal }): Promise<BlobReader>;
  /**
   * Cross-repository mount (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`).
   * True when mounted; false when the registry declined (an upload session it
   * opened instead is cancelled).
   */
  mountBlob(digest: Digest, from: string): Promise<boolean>;
  /**
   * Uploads a blob: monolithic (`POST` then one `PUT ?digest=` with the body)
   * for blobs up to the client's chunk size, chunked (`PATCH` with
   * `Content-Range` per chunk, then `PUT ?digest=`) for bigger ones; a chunk
   * that fails is resumed from the offset the registry reports.
   * `open(start)` must return the blob's bytes from `start`.
   */
  uploadBlob(digest: Digest, size: number, open: (start: number) => Promise<Readable>, opts?: { onProgress?: UploadProgress; signal?: AbortSignal }): Promise<void>;
  /** `PUT /v2/<name>/manifests/<tag|digest>`; returns the registry's digest (checked against ours). */
  putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<Digest>;
}

export interface SessionOptions {
  readonly credentials?: RegistryCredentials;
  /** Other repositories (same registry) the token should also cover for `pull`, for cross-repository mounts. */
  readonly mountSources?: readonly string[];
}

export interface RegistryClient {
  /** The endpoint a reference domain is served from (`docker.io` → `https://registry-1.docker.io`). */
  endpoint(domain: string): RegistryEndpoint;
  /** A session on `repository` of the registry at `domain`; no I/O until its first request. */
  session(domain: string, repository: string, actions: readonly RepositoryAction[], opts?: SessionOptions): RegistrySession;
  /**
   * Checks credentials the way `docker login` does: `GET /v2/`, and on a
   * challenge a token (or a Basic retry) with them. `UnauthorizedError`
   * when the registry refuses them.
   */
  login(domain: string, credentials: RegistryCredentials): Promise<void>;
}

export interface RegistryClientOptions {
  /**
   * `--insecure-registry` values: hosts (or IPv4 CIDRs) that may speak plain
   * HTTP or present a certificate nobody vouches for (loopback always may).
   */
  readonly insecureRegistries?: readonly string[];
  /** Where per-registry CA roots and client certificates live (default `/etc/wharf/certs.d`, then `/etc/docker/certs.d`). */
  readonly certsDirs?: readonly string[];
  /** Retries after the first attempt of a request or blob read (default 3). */
  readonly retries?: number;
  /** Delay before the first retry, doubled each time (default 500 ms). */
  readonly retryDelayMs?: number;
  /** A connection silent for this long is dropped and retried (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Blobs larger than this are pushed in chunks of this size (default 32 MiB). */
  readonly chunkSize?: number;
  readonly userAgent?: string;
}

/**
 * Where the daemon remembers which repositories a blob came from or went
 * to, so a push to another repository of the same registry can mount it
 * instead of uploading it (Docker's "v2 metadata"). Best effort: losing it
 * only costs uploads.
 */
export interface BlobSources {
  /** `domain/repository` names known to hold `digest`, most recent first. */
  sources(digest: Digest): string[];
  /** Records that `domain/repository` holds these blobs (persisted before returning). */
  remember(domain: string, repository: string, digests: readonly Digest[]): Promise<void>;
  /** Drops what is known about blobs the engine deleted (so the table never outgrows the store). */
  forget(digests: readonly Digest[]): Promise<void>;
}
