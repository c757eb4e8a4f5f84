import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { ContentStore, Digest } from "../content/content-store.js";
import { decompressed, sniff } from "../content/compression.js";
import { readAll } from "../content/tar-entries.js";
import type { LayerDescriptor } from "./image-store.js";
import { MediaTypes } from "./media-types.js";

/**
 * Describe a layer blob already in the content store: sniff whether it is
 * gzip'd and compute its diffID (sha256 of the uncompressed tar), reading the
 * blob a second time only when it is compressed.
 */
export async function describeLayerBlob(content: ContentStore, digest: Digest, mediaType?: string): Promise<LayerDescriptor> {
  const { size } = await content.info(digest);
  const head = size === 0 ? Buffer.alloc(0) : await readAll(await content.readStream(digest, { start: 0, end: Math.min(size, 6) - 1 }));
  const compression = sniff(head);
  if (compression === "none") {
    return { digest, diffId: digest, size, mediaType: mediaType ?? MediaTypes.ociLayer, uncompressedSize: size };
  }
  const { diffId, size: uncompressedSize } = await hashStream((await decompressed(await content.readStream(digest))).stream);
  return { digest, diffId, size, mediaType: mediaType ?? MediaTypes.ociLayerGzip, uncompressedSize };
}

/** Ingest a layer tar (plain or gzip'd) and describe it. */
export async function ingestLayer(content: ContentStore, stream: Readable, mediaType?: string): Promise<LayerDescriptor> {
  const { digest } = await content.ingest(stream);
  return describeLayerBlob(content, digest, mediaType);
}

async function hashStream(stream: Readable): Promise<{ diffId: Digest; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { diffId: `sha256:${hash.digest("hex")}`, size };
}
