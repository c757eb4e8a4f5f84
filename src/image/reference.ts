import { InvalidArgumentError } from "../lib/errors.js";

/**
 * Image references, parsed and normalized the way Docker does, following the
 * grammar of distribution/reference
 * (https://github.com/distribution/reference/blob/main/reference.go, grammar
 * in the package doc) and Docker's normalization
 * (https://github.com/distribution/reference/blob/main/normalize.go):
 *
 *   busybox            → docker.io/library/busybox
 *   user/app:1         → docker.io/user/app:1
 *   localhost:5000/x   → localhost:5000/x
 *   index.docker.io/x  → docker.io/library/x
 *
 * A `Reference` is always normalized; no tag is added by parsing (see
 * `withDefaultTag`).
 */
export interface Reference {
  /** Registry host[:port], e.g. `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly path: string;
  /** `domain/path`, e.g. `docker.io/library/busybox`. */
  readonly name: string;
  readonly tag?: string;
  /** `sha256:<hex>` when the reference pins a digest. */
  readonly digest?: string;
}

export const defaultDomain = "docker.io";
export const defaultTag = "latest";
const legacyDefaultDomain = "index.docker.io";
const officialRepoPrefix = "library/";
const nameTotalLengthMax = 255;

// The grammar, piece by piece, as in distribution/reference's regexp.go.
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const referencePat = new RegExp(`^((?:${domainAndPort}/)?${remoteName})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const domainOnly = new RegExp(`^${domainAndPort}$`);
const tagOnly = new RegExp(`^${tagPat}$`);
const identifierPat = /^[a-f0-9]{64}$/;

/** True for a full image ID in hex (no algorithm). */
export function isIdentifier(s: string): boolean {
  return identifierPat.test(s);
}

/** True for a valid tag (`[\w][\w.-]{0,127}`). */
export function isValidTag(s: string): boolean {
  return tagOnly.test(s);
}

function fail(s: string, why: string): never {
  throw new InvalidArgumentError(`invalid reference format: ${why}${s ? ` (${JSON.stringify(s)})` : ""}`);
}

/**
 * Parse a reference as a user typed it (`busybox`, `user/app:1`,
 * `localhost:5000/x@sha256:…`) into its normalized form. Throws
 * `InvalidArgumentError` for anything the grammar refuses, for uppercase
 * repository names, and for a bare 64-hex string (an ID, not a name).
 */
export function parseReference(s: string): Reference {
  if (s === "") fail(s, "repository name must have at least one component");
  if (identifierPat.test(s)) {
    throw new InvalidArgumentError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  const tagSep = remainder.indexOf(":");
  const repoPart = tagSep >= 0 ? remainder.slice(0, tagSep) : remainder.split("@")[0]!;
  if (repoPart.toLowerCase() !== repoPart) fail(s, "repository name must be lowercase");
  const full = `${domain}/${remainder}`;
  const m = referencePat.exec(full);
  if (!m) fail(s, "does not match the reference grammar");
  const name = m[1]!;
  if (name.length > nameTotalLengthMax) fail(s, `repository name must not be more than ${nameTotalLengthMax} characters`);
  const slash = name.indexOf("/");
  const ref: { domain: string; path: string; name: string; tag?: string; digest?: string } = {
    domain: name.slice(0, slash),
    path: name.slice(slash + 1),
    name,
  };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    const digest = m[3];
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) fail(s, "unsupported digest (want sha256:<64 lowercase hex>)");
    ref.digest = digest;
  }
  return ref;
}

/**
 * Docker's `splitDockerDomain`: the first path component is a registry only
 * when it looks like a host (has `.` or `:`, is `localhost`, or has
 * uppercase letters); otherwise the image lives on Docker Hub, and a
 * one-component Hub name is an official image under `library/`.
 */
function splitDockerDomain(s: string): { domain: string; remainder: string } {
  const i = s.indexOf("/");
  let domain: string;
  let remainder: string;
  const first = i >= 0 ? s.slice(0, i) : "";
  if (i === -1 || (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)) {
    domain = defaultDomain;
    remainder = s;
  } else {
    domain = first;
    remainder = s.slice(i + 1);
  }
  if (domain === legacyDefaultDomain) domain = defaultDomain;
  if (domain === defaultDomain && !remainder.includes("/")) remainder = officialRepoPrefix + remainder;
  return { domain, remainder };
}

/** `ref` with tag `latest` when it has neither tag nor digest (Docker's `TagNameOnly`). */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: defaultTag } : ref;
}

/** Parse and add the default tag: what `docker pull busybox` means. */
export function parseNormalizedTagged(s: string): Reference {
  return withDefaultTag(parseReference(s));
}

/** The fully qualified string: `docker.io/library/busybox:latest`, `name@sha256:…`. */
export function formatReference(ref: Reference): string {
  return `${ref.name}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** The short repository name Docker shows: `busybox`, `user/app`, `localhost:5000/x`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== defaultDomain) return ref.name;
  const rest = ref.path;
  if (rest.startsWith(officialRepoPrefix) && !rest.slice(officialRepoPrefix.length).includes("/")) {
    return rest.slice(officialRepoPrefix.length);
  }
  return rest;
}

/** The short form with tag/digest, as in `RepoTags`: `busybox:latest`, `localhost:5000/x:latest`. */
export function familiarString(ref: Reference): string {
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`;
}

/** A registry host as it may appear in front of a repository (validation for `--registry`-like inputs). */
export function isValidDomain(s: string): boolean {
  return domainOnly.test(s);
}

/**
 * What a user's image argument means, in Docker's `ParseAnyReference` order:
 * 64 hex chars or `sha256:<64 hex>` is an image ID; anything else is a
 * (normalized) name. Throws `InvalidArgumentError` for invalid names.
 */
export function parseAnyReference(s: string): { kind: "id"; id: string } | { kind: "named"; ref: Reference } {
  if (identifierPat.test(s)) return { kind: "id", id: `sha256:${s}` };
  if (/^sha256:[a-f0-9]{64}$/.test(s)) return { kind: "id", id: s };
  return { kind: "named", ref: parseReference(s) };
}
