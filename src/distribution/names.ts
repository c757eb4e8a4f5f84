import type { Digest } from "../content/content-store.js";
import { registryError } from "./registry-errors.js";

/**
 * The grammar of the things a URL names, from the distribution spec's
 * "Pulling manifests" section
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests).
 * These checks are also what keeps a request inside the storage root: a
 * valid name has no `.`/`..` component, no empty component and no leading
 * `_`, a tag cannot start with `.`, and only sha256 digests are stored.
 */

const component = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const namePattern = new RegExp(`^${component}(?:/${component})*$`);
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const sha256Pattern = /^sha256:[a-f0-9]{64}$/;
/** The spec's digest grammar: `algorithm ":" encoded`. */
const anyDigestPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const uploadIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Docker's limit on a name (the spec leaves it to clients, which use 255 for host/name). */
export const maxNameLength = 255;

export function isRepositoryName(s: string): boolean {
  return s.length <= maxNameLength && namePattern.test(s);
}

export function isTag(s: string): boolean {
  return tagPattern.test(s);
}

/** True for the only digests this registry stores: `sha256:<64 lowercase hex>`. */
export function isSha256Digest(s: string): s is Digest {
  return sha256Pattern.test(s);
}

/** True for an upload ID as this registry mints them (a lowercase UUID). */
export function isUploadId(s: string): boolean {
  return uploadIdPattern.test(s);
}

/** The name, or NAME_INVALID. */
export function checkName(s: string): string {
  if (!isRepositoryName(s)) throw registryError("NAME_INVALID", `invalid repository name: ${JSON.stringify(s)}`, { detail: { name: s } });
  return s;
}

/** The tag, or TAG_INVALID. */
export function checkTag(s: string): string {
  if (!isTag(s)) throw registryError("TAG_INVALID", `invalid tag: ${JSON.stringify(s)}`, { detail: { tag: s } });
  return s;
}

/** The digest, or DIGEST_INVALID (also for a well-formed digest of another algorithm, with a message saying so). */
export function checkDigest(s: string | null | undefined): Digest {
  if (s === null || s === undefined || s === "") throw registryError("DIGEST_INVALID", "digest missing");
  if (isSha256Digest(s)) return s;
  const why = anyDigestPattern.test(s) ? "only sha256 digests are supported" : "malformed digest";
  throw registryError("DIGEST_INVALID", `${why}: ${JSON.stringify(s)}`, { detail: { digest: s } });
}

/** A manifest reference: a digest when it has a colon, else a tag. */
export function parseReference(s: string): { digest: Digest } | { tag: string } {
  return s.includes(":") ? { digest: checkDigest(s) } : { tag: checkTag(s) };
}
