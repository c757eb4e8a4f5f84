import type { IncomingMessage, ServerResponse } from "node:http";
import { finished, pipeline } from "node:stream/promises";
import type { Digest } from "../content/content-store.js";
import { sha256Digest } from "../content/digest.js";
import { MediaTypes } from "../image/media-types.js";
import { NotFoundError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { Authorizer, Grant } from "./access.js";
import { parseContentRange, resolveRange, uploadRangeHeader } from "./byte-range.js";
import { parseManifest } from "./manifests.js";
import { checkDigest, checkName, parseReference } from "./names.js";
import { nextLink, paginate, parsePageQuery } from "./pagination.js";
import { registryCodeOf, registryError, toErrorResponse } from "./registry-errors.js";
import type { ReferrerDescriptor, RegistryBlobs, RepositoryStore, UploadSessions, UploadStatus } from "./registry-server.js";
import type { TokenEndpoint } from "./token-endpoint.js";
import type { Access } from "./token.js";

/**
 * The Distribution API's routes
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#endpoints)
 * over the storage roles. No state of its own: everything a request leaves
 * behind is in the stores, so a restarted server answers the same.
 */
export interface RegistryAppOptions {
  readonly blobs: RegistryBlobs;
  readonly repos: RepositoryStore;
  readonly uploads: UploadSessions;
  readonly auth: Authorizer;
  readonly tokens?: TokenEndpoint;
  readonly log: Logger;
  readonly maxManifestBytes: number;
}

type Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; ref: string }
  | { kind: "uploads"; name: string }
  | { kind: "upload"; name: string; id: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "referrers"; name: string; digest: string };

const routes: Array<[RegExp, (m: string[]) => Route]> = [
  [/^\/v2\/?$/, () => ({ kind: "base" })],
  [/^\/v2\/_catalog\/?$/, () => ({ kind: "catalog" })],
  [/^\/v2\/(.+)\/tags\/list\/?$/, (m) => ({ kind: "tags", name: m[1]! })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: "manifest", name: m[1]!, ref: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: "uploads", name: m[1]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: "upload", name: m[1]!, id: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: "blob", name: m[1]!, digest: m[2]! })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: "referrers", name: m[1]!, digest: m[2]! })],
];

const allowedMethods: Record<Route["kind"], string[]> = {
  base: ["GET", "HEAD"],
  catalog: ["GET"],
  tags: ["GET"],
  manifest: ["GET", "HEAD", "PUT", "DELETE"],
  uploads: ["POST"],
  upload: ["GET", "PATCH", "PUT", "DELETE"],
  blob: ["GET", "HEAD", "DELETE"],
  referrers: ["GET"],
};

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw registryError("NAME_INVALID", `malformed URL escape in ${JSON.stringify(s)}`);
  }
}

function matchRoute(path: string): Route | undefined {
  for (const [re, make] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    const r = make(m.map((x) => (x === undefined ? x : decode(x))) as string[]);
    if ("name" in r) checkName(r.name);
    return r;
  }
  return undefined;
}

/** The access a route needs, Docker's way (see access.ts). */
function requiredAccess(route: Route, method: string): Access[] {
  if (route.kind === "base") return [];
  if (route.kind === "catalog") return [{ type: "registry", name: "catalog", actions: ["*"] }];
  const repo = (actions: string[]): Access[] => [{ type: "repository", name: route.name, actions }];
  if (route.kind === "uploads" || route.kind === "upload") return repo(["pull", "push"]);
  if (method === "PUT") return repo(["pull", "push"]);
  if (method === "DELETE") return repo(["delete"]);
  return repo(["pull"]);
}

const v2Headers = { "Docker-Distribution-API-Version": "registry/2.0" };

export class RegistryApp {
  readonly #o: RegistryAppOptions;

  constructor(o: RegistryAppOptions) {
    this.#o = o;
  }

  /** The node:http request listener. Never rejects. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    res.on("finish", () => this.#o.log.debug(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`));
    this.#handle(req, res).catch((err: unknown) => this.#fail(req, res, err));
  };

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://registry.invalid");
    const method = req.method ?? "GET";
    if (url.pathname === "/token" && this.#o.tokens) return this.#o.tokens.handle(req, res, url);
    if (!url.pathname.startsWith("/v2")) throw registryError("UNSUPPORTED", `no such endpoint: ${url.pathname}`, { status: 404 });
    for (const [k, v] of Object.entries(v2Headers)) res.setHeader(k, v);
    const route = matchRoute(url.pathname);
    if (!route) throw registryError("UNSUPPORTED", `no such endpoint: ${url.pathname}`, { status: 404 });
    const allowed = allowedMethods[route.kind];
    if (!allowed.includes(method)) throw registryError("UNSUPPORTED", `${method} is not allowed on ${url.pathname}`, { headers: { Allow: allowed.join(", ") } });
    const grant = await this.#o.auth.authorize(req.headers, requiredAccess(route, method));
    switch (route.kind) {
      case "base":
        return json(res, 200, {}, method);
      case "catalog":
        return this.#catalog(res, url);
      case "tags":
        return this.#tags(res, route.name, url);
      case "manifest":
        if (method === "PUT") return this.#putManifest(req, res, route.name, route.ref);
        if (method === "DELETE") return this.#deleteManifest(res, route.name, route.ref);
        return this.#getManifest(req, res, route.name, route.ref, method === "HEAD");
      case "blob":
        if (method === "DELETE") return this.#deleteBlob(res, route.name, route.digest);
        return this.#getBlob(req, res, route.name, route.digest, method === "HEAD");
      case "uploads":
        return this.#startUpload(req, res, route.name, url, grant);
      case "upload":
        return this.#upload(req, res, method, route.name, route.id, url);
      case "referrers":
        return this.#referrers(res, route.name, route.digest, url);
    }
  }

  #fail(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    if (req.destroyed && !req.complete) {
      // The client went away mid-body (an upload it will resume, or not): nothing to answer, nothing broken.
      this.#o.log.debug(`${req.method} ${req.url}: client disconnected: ${err instanceof Error ? err.message : String(err)}`);
      res.destroy();
      return;
    }
    const e = toErrorResponse(err);
    if (e.fault) this.#o.log.error(`${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(e.body);
    res.writeHead(e.status, {
      ...(req.url?.startsWith("/v2") ? v2Headers : {}),
      ...e.headers,
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
    });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  async #catalog(res: ServerResponse, url: URL): Promise<void> {
    const q = parsePageQuery(url.searchParams);
    const page = paginate(await this.#o.repos.catalog(), q);
    if (page.next !== undefined) res.setHeader("Link", nextLink("/v2/_catalog", page.next, q.n));
    json(res, 200, { repositories: page.items });
  }

  async #tags(res: ServerResponse, name: string, url: URL): Promise<void> {
    const q = parsePageQuery(url.searchParams);
    if (!(await this.#o.repos.exists(name))) throw nameUnknown(name);
    const page = paginate(await this.#o.repos.tags(name), q);
    if (page.next !== undefined) res.setHeader("Link", nextLink(`/v2/${name}/tags/list`, page.next, q.n));
    json(res, 200, { name, tags: page.items });
  }

  async #resolveManifest(name: string, ref: string): Promise<{ digest: Digest; byTag: boolean }> {
    const r = parseReference(ref);
    if ("digest" in r) return { digest: r.digest, byTag: false };
    const digest = await this.#o.repos.tag(name, r.tag);
    if (!digest) throw manifestUnknown(name, ref);
    return { digest, byTag: true };
  }

  async #getManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string, head: boolean): Promise<void> {
    const { digest, byTag } = await this.#resolveManifest(name, ref);
    const link = await this.#o.repos.manifest(name, digest);
    if (!link) throw manifestUnknown(name, ref);
    // By digest the client named the exact bytes; by tag it says which formats it can read.
    if (byTag && !accepts(req.headers.accept, link.mediaType)) {
      throw registryError("MANIFEST_UNKNOWN", `manifest ${name}:${ref} is ${link.mediaType}, which the Accept header does not allow`, {
        detail: { name, reference: ref, mediaType: link.mediaType },
      });
    }
    let bytes: Buffer;
    try {
      bytes = await this.#o.blobs.readBytes(digest);
    } catch (err) {
      // Linked but gone from the blob store: only a hand-edited root gets here.
      if (err instanceof NotFoundError) throw manifestUnknown(name, ref);
      throw err;
    }
    const etag = `"${digest}"`;
    const headers = {
      "Content-Type": link.mediaType,
      "Docker-Content-Digest": digest,
      ETag: etag,
    };
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": bytes.length });
    res.end(head ? undefined : bytes);
  }

  async #putManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    const r = parseReference(ref);
    const body = await readBody(req, this.#o.maxManifestBytes);
    const parsed = parseManifest(body, req.headers["content-type"]);
    const digest = sha256Digest(body);
    if ("digest" in r && r.digest !== digest) {
      throw registryError("DIGEST_INVALID", `manifest digest is ${digest}, not ${r.digest}`, { detail: { digest: r.digest } });
    }
    for (const b of parsed.blobs) {
      if (!(await this.#hasBlob(name, b))) {
        throw registryError("MANIFEST_BLOB_UNKNOWN", `manifest references blob ${b}, unknown to repository ${name}`, { detail: { digest: b } });
      }
    }
    for (const c of parsed.children) {
      if (!(await this.#o.repos.manifest(name, c))) {
        throw registryError("MANIFEST_UNKNOWN", `index references manifest ${c}, unknown to repository ${name}`, { status: 400, detail: { digest: c } });
      }
    }
    await this.#o.blobs.put(body, { digest });
    if (parsed.subject) {
      const d: ReferrerDescriptor = {
        mediaType: parsed.mediaType,
        digest,
        size: body.length,
        ...(parsed.artifactType !== undefined ? { artifactType: parsed.artifactType } : {}),
        ...(parsed.annotations && Object.keys(parsed.annotations).length > 0 ? { annotations: parsed.annotations } : {}),
      };
      await this.#o.repos.addReferrer(name, parsed.subject, d);
    }
    await this.#o.repos.linkManifest(name, { digest, mediaType: parsed.mediaType, size: body.length });
    if ("tag" in r) await this.#o.repos.setTag(name, r.tag, digest);
    res.writeHead(201, {
      Location: `/v2/${name}/manifests/${digest}`,
      "Docker-Content-Digest": digest,
      ...(parsed.subject ? { "OCI-Subject": parsed.subject } : {}),
      "Content-Length": 0,
    });
    res.end();
  }

  async #deleteManifest(res: ServerResponse, name: string, ref: string): Promise<void> {
    const r = parseReference(ref);
    if ("tag" in r) {
      if (!(await this.#o.repos.deleteTag(name, r.tag))) throw manifestUnknown(name, ref);
    } else {
      if (!(await this.#o.repos.manifest(name, r.digest))) throw manifestUnknown(name, ref);
      await this.#o.repos.unlinkManifest(name, r.digest);
    }
    accepted(res);
  }

  /** A blob this repository may serve: linked to it (as a blob or a manifest) and present. */
  async #hasBlob(name: string, digest: Digest): Promise<boolean> {
    const linked = (await this.#o.repos.hasBlob(name, digest)) || (await this.#o.repos.manifest(name, digest)) !== undefined;
    return linked && (await this.#o.blobs.has(digest));
  }

  async #getBlob(req: IncomingMessage, res: ServerResponse, name: string, raw: string, head: boolean): Promise<void> {
    const digest = checkDigest(raw);
    if (!(await this.#hasBlob(name, digest))) throw blobUnknown(digest);
    const { size } = await this.#o.blobs.info(digest);
    const common = {
      "Docker-Content-Digest": digest,
      "Content-Type": "application/octet-stream",
      "Accept-Ranges": "bytes",
      ETag: `"${digest}"`,
    };
    if (head) {
      res.writeHead(200, { ...common, "Content-Length": size });
      res.end();
      return;
    }
    const range = resolveRange(req.headers.range, size);
    if (range === "unsatisfiable") {
      throw registryError("RANGE_INVALID", `range ${req.headers.range} is not satisfiable for ${size} bytes`, {
        headers: { "Content-Range": `bytes */${size}` },
      });
    }
    const stream = await this.#o.blobs.readStream(digest, range);
    if (range) res.writeHead(206, { ...common, "Content-Length": range.end - range.start + 1, "Content-Range": `bytes ${range.start}-${range.end}/${size}` });
    else res.writeHead(200, { ...common, "Content-Length": size });
    await pipeline(stream, res).catch(() => res.destroy());
  }

  async #deleteBlob(res: ServerResponse, name: string, raw: string): Promise<void> {
    const digest = checkDigest(raw);
    if (!(await this.#o.repos.hasBlob(name, digest))) throw blobUnknown(digest);
    await this.#o.repos.unlinkBlob(name, digest);
    accepted(res);
  }

  async #startUpload(req: IncomingMessage, res: ServerResponse, name: string, url: URL, grant: Grant): Promise<void> {
    const mount = url.searchParams.get("mount");
    const digestParam = url.searchParams.get("digest");
    if (mount !== null) {
      const digest = checkDigest(mount);
      const from = url.searchParams.get("from");
      if (from !== null) checkName(from);
      // Without the source repository or the right to read it, the spec's answer is a plain upload session.
      const mountable =
        (await this.#hasBlob(name, digest)) ||
        (from !== null && grant.can("repository", from, "pull") && (await this.#o.repos.hasBlob(from, digest)) && (await this.#o.blobs.has(digest)));
      if (mountable) {
        await drain(req);
        await this.#o.repos.linkBlob(name, digest);
        return created(res, name, digest);
      }
    } else if (digestParam !== null) {
      const digest = checkDigest(digestParam);
      const info = await this.#o.blobs.ingest(req, { digest, ...declaredLength(req) });
      await this.#o.repos.linkBlob(name, info.digest);
      return created(res, name, info.digest);
    }
    await drain(req);
    const st = await this.#o.uploads.start(name);
    uploadResponse(res, 202, st);
  }

  async #upload(req: IncomingMessage, res: ServerResponse, method: string, name: string, id: string, url: URL): Promise<void> {
    const st = await this.#o.uploads.status(name, id);
    if (!st) throw registryError("BLOB_UPLOAD_UNKNOWN", `blob upload unknown to registry: ${id}`, { detail: { uuid: id } });
    if (method === "GET") return uploadResponse(res, 204, st);
    if (method === "DELETE") {
      await this.#o.uploads.cancel(name, id);
      res.writeHead(204, { "Content-Length": 0 });
      res.end();
      return;
    }
    // PUT validates its digest before taking any bytes, so a bad request changes nothing.
    const digest = method === "PUT" ? checkDigest(url.searchParams.get("digest")) : undefined;
    let now = st;
    if (method === "PATCH" || hasBody(req)) now = await this.#append(req, st);
    if (method === "PATCH") return uploadResponse(res, 202, now);
    const info = await this.#o.uploads.finish(name, id, digest!);
    await this.#o.repos.linkBlob(name, info.digest);
    created(res, name, info.digest);
  }

  /** Appends the request body to a session, checking its Content-Range (and Content-Length) against the session. */
  async #append(req: IncomingMessage, st: UploadStatus): Promise<UploadStatus> {
    const header = req.headers["content-range"];
    const length = declaredLength(req).size;
    let at: number | undefined;
    let limit: number | undefined;
    if (header !== undefined) {
      const range = parseContentRange(header);
      const rangeError = (why: string) => registryError("RANGE_INVALID", why, { headers: uploadHeaders(st) });
      if (!range) throw rangeError(`malformed Content-Range ${JSON.stringify(header)} (want <start>-<end>)`);
      if (range.start !== st.offset) throw rangeError(`chunk starts at ${range.start}, but the upload has ${st.offset} bytes`);
      limit = range.end - range.start + 1;
      if (length !== undefined && length !== limit) throw rangeError(`Content-Range covers ${limit} bytes, Content-Length says ${length}`);
      at = range.start;
    }
    try {
      return await this.#o.uploads.append(st.repository, st.id, req, { ...(at !== undefined ? { at } : {}), ...(limit !== undefined ? { limit } : {}) });
    } catch (err) {
      if (registryCodeOf(err) === "RANGE_INVALID") {
        const now = (await this.#o.uploads.status(st.repository, st.id)) ?? st;
        throw registryError("RANGE_INVALID", (err as Error).message, { headers: uploadHeaders(now) });
      }
      throw err;
    }
  }

  async #referrers(res: ServerResponse, name: string, raw: string, url: URL): Promise<void> {
    const digest = checkDigest(raw);
    let list = await this.#o.repos.referrers(name, digest);
    const artifactType = url.searchParams.get("artifactType");
    if (artifactType !== null && artifactType !== "") {
      list = list.filter((d) => d.artifactType === artifactType);
      res.setHeader("OCI-Filters-Applied", "artifactType");
    }
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: list });
    res.writeHead(200, { "Content-Type": MediaTypes.ociIndex, "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  }
}

function json(res: ServerResponse, status: number, value: unknown, method = "GET"): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(method === "HEAD" ? undefined : body);
}

function accepted(res: ServerResponse): void {
  res.writeHead(202, { "Content-Length": 0 });
  res.end();
}

function created(res: ServerResponse, name: string, digest: Digest): void {
  res.writeHead(201, { Location: `/v2/${name}/blobs/${digest}`, "Docker-Content-Digest": digest, "Content-Length": 0 });
  res.end();
}

function uploadHeaders(st: UploadStatus): Record<string, string> {
  return {
    Location: `/v2/${st.repository}/blobs/uploads/${st.id}`,
    Range: uploadRangeHeader(st.offset),
    "Docker-Upload-UUID": st.id,
  };
}

function uploadResponse(res: ServerResponse, status: number, st: UploadStatus): void {
  res.writeHead(status, { ...uploadHeaders(st), "Content-Length": 0 });
  res.end();
}

/**
 * True when `Accept` allows `mediaType`. No header (or an empty one) and
 * wildcards allow everything; `q=0` excludes a type.
 */
export function accepts(header: string | undefined, mediaType: string): boolean {
  if (header === undefined || header.trim() === "") return true;
  const [major] = mediaType.split("/");
  for (const part of header.split(",")) {
    const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (params.some((p) => /^q=0(?:\.0*)?$/.test(p))) continue;
    if (type === mediaType || type === "*/*" || type === `${major}/*`) return true;
  }
  return false;
}

function declaredLength(req: IncomingMessage): { size?: number } {
  const h = req.headers["content-length"];
  if (h === undefined || req.headers["transfer-encoding"] !== undefined) return {};
  const n = Number(h);
  return Number.isSafeInteger(n) && n >= 0 ? { size: n } : {};
}

function hasBody(req: IncomingMessage): boolean {
  const len = declaredLength(req).size;
  return req.headers["transfer-encoding"] !== undefined || (len !== undefined && len > 0);
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = declaredLength(req).size;
  if (declared !== undefined && declared > max) {
    throw registryError("SIZE_INVALID", `manifest of ${declared} bytes is larger than the ${max} this registry accepts`, { status: 413 });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw registryError("SIZE_INVALID", `manifest is larger than the ${max} bytes this registry accepts`, { status: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads and drops a body this request carries for nothing (so the connection can be reused). */
async function drain(req: IncomingMessage): Promise<void> {
  if (req.complete) return;
  req.resume();
  await finished(req);
}

function nameUnknown(name: string) {
  return registryError("NAME_UNKNOWN", `repository name not known to registry: ${name}`, { detail: { name } });
}

function manifestUnknown(name: string, ref: string) {
  return registryError("MANIFEST_UNKNOWN", `manifest unknown: ${name}:${ref}`, { detail: { name, reference: ref } });
}

function blobUnknown(digest: Digest) {
  return registryError("BLOB_UNKNOWN", `blob unknown to registry: ${digest}`, { detail: { digest } });
}
