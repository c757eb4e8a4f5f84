import type { BlobInfo, ContentStore, Digest } from "../content/content-store.js";
import type { Logger } from "../lib/logger.js";

/**
 * The registry server half of the distribution layer: `wharf registry`, an
 * OCI Distribution API server
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md)
 * that `docker push/pull`, skopeo and containerd talk to.
 *
 * Lifecycle: `startRegistryServer(options)` takes the root's lock (one
 * server per root), removes the temp files a killed process left behind,
 * and listens → a `RegistryServer`; `close()` stops accepting, waits for
 * in-flight requests, and releases the lock. Upload sessions survive a
 * restart (and kill -9), so a client can resume where it stopped.
 *
 * On disk, under `root` (every write that a reader trusts is temp file →
 * fsync → rename, so a crash leaves the old state or the new, never half):
 *
 * ```
 * blobs/sha256/<hex>                       content, shared by every repository
 * ingest/<random>                          blobs being written; wiped at start
 * uploads/<uuid>/{data,session.json}       upload sessions (bytes so far + owner repository)
 * repositories/<name>/_blobs/<hex>         "this repository has this blob"
 * repositories/<name>/_manifests/<hex>     "this repository has this manifest" (+ its media type)
 * repositories/<name>/_tags/<tag>          tag → manifest digest
 * repositories/<name>/_referrers/<subject-hex>/<hex>   descriptor of a manifest whose subject is that digest
 * registry.pid                             the lock of the server that owns the root
 * ```
 *
 * A repository name can never reach outside `repositories/`: names are
 * checked against the spec's grammar (no `.`/`..`, no leading `_`, so a name
 * cannot collide with the `_…` directories either), tags against theirs,
 * digests are `sha256:<64 hex>` only, upload IDs are UUIDs we minted.
 *
 * Errors leave the server as the spec's JSON (`{"errors":[{code,message,detail}]}`)
 * with the spec's codes; inside, they are the closed `WharfError` set tagged
 * with a code (see `registry-errors.ts`).
 */

/** Where to listen. Port 0 picks a free port (see `RegistryServer.address`). */
export interface ListenAddr {
  readonly host: string;
  readonly port: number;
}

/**
 * How requests are authenticated.
 * - `none`: anyone may pull and push.
 * - `basic`: HTTP Basic against an htpasswd file of bcrypt entries (as
 *   `htpasswd -B` writes them); every authenticated user may do everything.
 * - `token`: Docker's bearer-token scheme
 *   (https://distribution.github.io/distribution/spec/auth/token/): requests
 *   without a valid token get `401` and a `Bearer realm=…,service=…,scope=…`
 *   challenge; the token endpoint (served by this registry at `/token` when it
 *   holds the signing key) checks credentials against `htpasswd` when given
 *   (anonymous clients then get tokens that grant nothing), else grants every
 *   scope asked for.
 */
export type RegistryAuth =
  | { readonly kind: "none" }
  | { readonly kind: "basic"; readonly htpasswd: string; readonly realm?: string }
  | {
      readonly kind: "token";
      /** The URL clients are sent to for a token, e.g. `http://127.0.0.1:5000/token`. */
      readonly realm: string;
      /** `iss` of issued tokens, and the only issuer accepted. */
      readonly issuer: string;
      /** `aud` of issued tokens and the `service` of the challenge, e.g. `127.0.0.1:5000`. */
      readonly service: string;
      readonly htpasswd?: string;
      /**
       * PEM file of the ES256 (P-256) key. A private key signs and verifies
       * (and enables `/token`); a public key only verifies, for tokens issued
       * elsewhere. Absent: a private key generated once and kept in
       * `<root>/auth/token-key.pem`.
       */
      readonly key?: string;
      /** Lifetime of issued tokens (default 300 s, as Docker Hub's). */
      readonly expiresInSeconds?: number;
    };

export interface RegistryServerOptions {
  readonly addr: ListenAddr;
  /** Storage root (default of the CLI: `/var/lib/wharf-registry`). */
  readonly root: string;
  /** PEM files; both or neither. With them the server speaks HTTPS only. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly auth: RegistryAuth;
  readonly logger?: Logger;
  /** Largest manifest accepted by PUT (default 4 MiB, the size the spec says registries SHOULD accept). */
  readonly maxManifestBytes?: number;
}

/** A listening registry. `close()` is idempotent. */
export interface RegistryServer extends AsyncDisposable {
  /** The bound address (the real port when 0 was asked for). */
  readonly address: ListenAddr;
  /** `http://host:port` or `https://host:port`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Blob storage: the content layer's contract plus adoption of a finished upload file. */
/** The registry's blobs: a content store (`LocalContentStore` under the registry root), shared by every repository. */
export type RegistryBlobs = ContentStore;

/** What a repository records about one of its manifests. */
export interface ManifestLink {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
}

/** One entry of the referrers API answer (an OCI descriptor). */
export interface ReferrerDescriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

/**
 * The per-repository records. Every method takes an already validated name
 * (see `names.ts`); missing things are `undefined`/`false`, never thrown,
 * and every remove is idempotent.
 */
export interface RepositoryStore {
  /** True when the repository holds at least one blob or manifest link. */
  exists(name: string): Promise<boolean>;
  /** Every repository with content, sorted lexically. */
  catalog(): Promise<string[]>;

  hasBlob(name: string, digest: Digest): Promise<boolean>;
  linkBlob(name: string, digest: Digest): Promise<void>;
  unlinkBlob(name: string, digest: Digest): Promise<void>;

  manifest(name: string, digest: Digest): Promise<ManifestLink | undefined>;
  linkManifest(name: string, link: ManifestLink): Promise<void>;
  /** Removes the link, every tag pointing at it, and its referrer entry. */
  unlinkManifest(name: string, digest: Digest): Promise<void>;
  manifests(name: string): Promise<ManifestLink[]>;

  tag(name: string, tag: string): Promise<Digest | undefined>;
  setTag(name: string, tag: string, digest: Digest): Promise<void>;
  deleteTag(name: string, tag: string): Promise<boolean>;
  /** Tags, sorted lexically. */
  tags(name: string): Promise<string[]>;

  addReferrer(name: string, subject: Digest, descriptor: ReferrerDescriptor): Promise<void>;
  /** Descriptors of this repository's manifests whose subject is `subject` (only manifests still linked). */
  referrers(name: string, subject: Digest): Promise<ReferrerDescriptor[]>;
}

/** The state of an upload session. */
export interface UploadStatus {
  readonly id: string;
  readonly repository: string;
  /** Bytes received so far: the next chunk must start here. */
  readonly offset: number;
}

/**
 * Upload sessions: `start` → `append`* → `finish` (or `cancel`). Bytes are
 * written to the session's own file as they arrive and stay there when the
 * client disconnects or the server dies, so `status` tells a client where to
 * resume. Nothing is visible as a blob until `finish` verified the digest.
 */
export interface UploadSessions {
  start(repository: string): Promise<UploadStatus>;
  /** `undefined` when the session does not exist or belongs to another repository. */
  status(repository: string, id: string): Promise<UploadStatus | undefined>;
  /**
   * Appends `body` at `at` (the current offset, or the caller's Content-Range
   * start, which must equal it); at most `limit` bytes when given. Returns the
   * new status; bytes received before a stream error stay appended.
   */
  append(repository: string, id: string, body: AsyncIterable<Uint8Array>, opts?: { at?: number; limit?: number }): Promise<UploadStatus>;
  /**
   * Verifies the session's bytes against `digest` and commits them as a blob.
   * On a mismatch the session is removed and `DIGEST_INVALID` thrown: nothing
   * becomes visible.
   */
  finish(repository: string, id: string, digest: Digest): Promise<BlobInfo>;
  cancel(repository: string, id: string): Promise<boolean>;
  /** Every session (for gc: ids and last-modified times). */
  list(): Promise<Array<{ id: string; modified: Date }>>;
}

export interface GcOptions {
  readonly root: string;
  /** Report what would be removed, remove nothing. */
  readonly dryRun?: boolean;
  /** Upload sessions untouched for this long are removed too (default 7 days). */
  readonly uploadMaxAgeMs?: number;
  /** One line per blob considered for removal. */
  readonly log?: (line: string) => void;
}

/**
 * The result of a garbage collection: mark every blob reachable from any
 * manifest of any repository (config, layers, index children, recursively),
 * sweep the rest.
 */
export interface GcReport {
  readonly repositories: number;
  readonly manifests: number;
  readonly marked: number;
  /** Blobs removed (or, with `dryRun`, that would be). */
  readonly swept: readonly Digest[];
  readonly bytesFreed: number;
  readonly uploadsRemoved: number;
}
