import { NotFoundError } from "../lib/errors.js";
import { ociArchitecture } from "../image/media-types.js";

/**
 * Choosing one manifest of an image index / manifest list for this host, as
 * containerd's default platform matcher does
 * (https://github.com/opencontainers/image-spec/blob/main/image-index.md#platform-variants):
 * os and architecture must match; among those, the variant we asked for
 * (or, when none was asked, the first listed). Entries without a platform
 * (attestations, other artifacts) are never chosen.
 */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface IndexEntry {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size?: number;
  readonly platform?: { os?: string; architecture?: string; variant?: string };
  readonly annotations?: Record<string, string>;
}

/** This host: `linux/<GOARCH of process.arch>`. */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: ociArchitecture() };
}

/** `linux`, `linux/amd64`, `linux/arm/v7` → a platform; missing parts come from the host. */
export function parsePlatform(s: string | undefined): Platform {
  const host = hostPlatform();
  if (!s) return host;
  const [os = host.os, architecture = host.architecture, variant] = s.toLowerCase().split("/");
  return { os, architecture: architecture === "x86_64" ? "amd64" : architecture === "aarch64" ? "arm64" : architecture, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** The entry to pull, or `NotFoundError("no matching manifest for linux/amd64 in the manifest list entries")` as Docker says it. */
export function selectManifest(entries: readonly IndexEntry[], want: Platform = hostPlatform()): IndexEntry {
  const candidates = entries.filter((e) => e.platform?.os === want.os && e.platform?.architecture === want.architecture);
  const chosen = want.variant !== undefined ? candidates.find((e) => (e.platform?.variant ?? defaultVariant(want.architecture)) === want.variant) : (candidates.find((e) => e.platform?.variant === undefined || e.platform.variant === defaultVariant(want.architecture)) ?? candidates[0]);
  if (!chosen) throw new NotFoundError(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
  return chosen;
}

/** The variant an image means when it names none (arm64 is v8; others have no default). */
function defaultVariant(arch: string): string | undefined {
  return arch === "arm64" ? "v8" : undefined;
}
