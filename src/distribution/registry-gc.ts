import { resolve } from "node:path";
import type { Digest } from "../content/content-store.js";
import { ConflictError, NotFoundError } from "../lib/errors.js";
import { LocalContentStore } from "../content/local-content-store.js";
import { referencesOf } from "./manifests.js";
import type { GcOptions, GcReport } from "./registry-server.js";
import { FileRepositoryStore } from "./repository-store.js";
import { lockHolder } from "./root-lock.js";
import { FileUploadSessions } from "./upload-sessions.js";

const week = 7 * 24 * 3600 * 1000;

/**
 * Mark and sweep over a storage root. Mark: every manifest linked in any
 * repository, and recursively what it references (config, layers, an
 * index's children). Sweep: every other blob, and the repository links that
 * pointed at it. A blob pushed but not yet referenced by a manifest is
 * garbage by this rule, which is why gc refuses to delete while a registry
 * serves the root (Docker's registry has the same rule: gc offline).
 */
export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const root = resolve(options.root);
  const log = options.log ?? (() => {});
  const dryRun = options.dryRun ?? false;
  if (!dryRun) {
    const holder = await lockHolder(root);
    if (holder !== undefined && holder !== process.pid) {
      throw new ConflictError(`the registry (pid ${holder}) is serving ${root}: stop it before gc, or use --dry-run`);
    }
  }
  const blobs = LocalContentStore.view(root);
  const repos = new FileRepositoryStore(root);
  const marked = new Set<Digest>();
  const names = await repos.catalog();
  let manifests = 0;

  const visit = async (digest: Digest, mediaType: string | undefined): Promise<void> => {
    if (marked.has(digest)) return;
    marked.add(digest);
    let bytes: Buffer;
    try {
      bytes = await blobs.readBytes(digest);
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
    const refs = referencesOf(bytes, mediaType ?? "");
    for (const b of refs.blobs) marked.add(b);
    for (const c of refs.children) await visit(c, undefined);
  };

  for (const name of names) {
    for (const link of await repos.manifests(name)) {
      manifests++;
      await visit(link.digest, link.mediaType);
    }
    // Tags point at linked manifests; visiting them too costs nothing and survives a half-deleted manifest.
    for (const tag of await repos.tags(name)) {
      const d = await repos.tag(name, tag);
      if (d) await visit(d, (await repos.manifest(name, d))?.mediaType);
    }
  }

  const swept: Digest[] = [];
  let bytesFreed = 0;
  for (const b of (await blobs.list()).sort((x, y) => (x.digest < y.digest ? -1 : 1))) {
    if (marked.has(b.digest)) continue;
    log(`blob eligible for deletion: ${b.digest} (${b.size} bytes)`);
    swept.push(b.digest);
    bytesFreed += b.size;
    if (dryRun) continue;
    await blobs.delete(b.digest);
    for (const name of names) await repos.unlinkBlob(name, b.digest);
  }

  let uploadsRemoved = 0;
  const sessions = FileUploadSessions.view(root, blobs);
  const cutoff = Date.now() - (options.uploadMaxAgeMs ?? week);
  for (const s of await sessions.list()) {
    if (s.modified.getTime() >= cutoff) continue;
    log(`upload session eligible for deletion: ${s.id}`);
    uploadsRemoved++;
    if (!dryRun) await sessions.purge(s.id);
  }
  return { repositories: names.length, manifests, marked: marked.size, swept, bytesFreed, uploadsRemoved };
}
