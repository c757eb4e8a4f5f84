import type { Digest } from "../content/content-store.js";
import { MediaTypes } from "../image/media-types.js";
import { checkDigest } from "./names.js";
import { registryError } from "./registry-errors.js";

/**
 * What the registry must know about a pushed manifest before it stores it:
 * its media type, the blobs and child manifests it points to (which must be
 * in the repository already), and its `subject` for the referrers API.
 * Formats: OCI image manifest and index
 * (https://github.com/opencontainers/image-spec/blob/main/manifest.md,
 * …/image-index.md), Docker image manifest v2 schema 2 and manifest list
 * (https://github.com/distribution/distribution/blob/main/docs/content/spec/manifest-v2-2.md).
 * Schema 1 is refused: nothing has pushed it for years and it needs JWS.
 */

export const manifestTypes: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
export const indexTypes: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);

export function isManifestMediaType(t: string): boolean {
  return manifestTypes.has(t) || indexTypes.has(t);
}

export interface ParsedManifest {
  readonly mediaType: string;
  readonly kind: "manifest" | "index";
  /** Config and layers that must be in the repository (foreign/non-distributable layers with URLs excepted). */
  readonly blobs: Digest[];
  /** Foreign/non-distributable layers: not required, but kept by gc when present. */
  readonly externalBlobs: Digest[];
  /** Manifests an index lists. */
  readonly children: Digest[];
  readonly subject?: Digest;
  /** For referrers: `artifactType`, else (image manifests) the config's media type. */
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
}

const genericTypes = new Set(["", "application/json", "application/octet-stream"]);

function invalid(message: string): never {
  throw registryError("MANIFEST_INVALID", `manifest invalid: ${message}`);
}

function descriptor(value: unknown, where: string): Descriptor {
  if (typeof value !== "object" || value === null || Array.isArray(value)) invalid(`${where} is not a descriptor`);
  const d = value as Record<string, unknown>;
  if (typeof d.mediaType !== "string" || d.mediaType === "") invalid(`${where}.mediaType missing`);
  if (typeof d.digest !== "string") invalid(`${where}.digest missing`);
  if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0) invalid(`${where}.size is not a size`);
  const urls = Array.isArray(d.urls) ? d.urls.filter((u): u is string => typeof u === "string") : undefined;
  return { mediaType: d.mediaType, digest: checkDigest(d.digest), size: d.size, ...(urls ? { urls } : {}) };
}

/** Layers a registry need not hold: they are fetched from their `urls` (Docker foreign layers, OCI non-distributable ones). */
function isExternal(d: Descriptor): boolean {
  return (d.urls?.length ?? 0) > 0 && /foreign|nondistributable/.test(d.mediaType);
}

/**
 * Parses and checks a manifest body. The media type is the request's
 * `Content-Type` when it names one, else the body's `mediaType`; the two
 * must agree when both are there, and it must be one of the four formats.
 * Throws MANIFEST_INVALID (or DIGEST_INVALID for a malformed descriptor digest).
 */
export function parseManifest(body: Uint8Array, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    invalid("not JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) invalid("not a JSON object");
  const m = json as Record<string, unknown>;
  const declared = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const inBody = typeof m.mediaType === "string" ? m.mediaType : undefined;
  let mediaType: string | undefined;
  if (!genericTypes.has(declared)) {
    if (!isManifestMediaType(declared)) invalid(`unsupported manifest media type ${JSON.stringify(declared)}`);
    if (inBody !== undefined && inBody !== declared) invalid(`Content-Type ${declared} does not match the mediaType ${inBody} of the body`);
    mediaType = declared;
  } else if (inBody !== undefined) {
    if (!isManifestMediaType(inBody)) invalid(`unsupported manifest media type ${JSON.stringify(inBody)}`);
    mediaType = inBody;
  } else if (Array.isArray(m.manifests)) {
    // OCI lets mediaType out of the body (it SHOULD be there); the shape says which one it is.
    mediaType = MediaTypes.ociIndex;
  } else if (typeof m.config === "object" && m.config !== null) {
    mediaType = MediaTypes.ociManifest;
  } else {
    invalid("no media type (neither Content-Type nor mediaType)");
  }
  if (m.schemaVersion !== 2) invalid(`schemaVersion ${JSON.stringify(m.schemaVersion)} (want 2)`);

  const subject = m.subject === undefined ? undefined : descriptor(m.subject, "subject").digest;
  const annotations = stringMap(m.annotations);
  const explicitArtifactType = typeof m.artifactType === "string" && m.artifactType !== "" ? m.artifactType : undefined;
  const common = {
    ...(subject ? { subject } : {}),
    ...(annotations ? { annotations } : {}),
  };

  if (indexTypes.has(mediaType)) {
    if (!Array.isArray(m.manifests)) invalid("manifests is not a list");
    const children = (m.manifests as unknown[]).map((d, i) => descriptor(d, `manifests[${i}]`).digest);
    return { mediaType, kind: "index", blobs: [], externalBlobs: [], children, ...common, ...(explicitArtifactType ? { artifactType: explicitArtifactType } : {}) };
  }
  const config = descriptor(m.config, "config");
  if (m.layers !== undefined && !Array.isArray(m.layers)) invalid("layers is not a list");
  const layers = ((m.layers as unknown[] | undefined) ?? []).map((d, i) => descriptor(d, `layers[${i}]`));
  const blobs = [config.digest, ...layers.filter((l) => !isExternal(l)).map((l) => l.digest)];
  const externalBlobs = layers.filter(isExternal).map((l) => l.digest);
  return { mediaType, kind: "manifest", blobs, externalBlobs, children: [], ...common, artifactType: explicitArtifactType ?? config.mediaType };
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

/**
 * Everything a stored manifest points to, for gc: blobs and children,
 * tolerant of anything (a manifest that no longer parses marks nothing).
 */
export function referencesOf(body: Uint8Array, mediaType: string): { blobs: Digest[]; children: Digest[] } {
  try {
    const p = parseManifest(body, mediaType);
    return { blobs: [...p.blobs, ...p.externalBlobs], children: p.children };
  } catch {
    return { blobs: [], children: [] };
  }
}
