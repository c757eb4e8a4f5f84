import { createHash } from "node:crypto";
import http, { type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import https from "node:https";
import { Readable, Transform } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import type { Digest } from "../content/content-store.js";
import { InvalidArgumentError, UnauthorizedError, UnavailableError } from "../lib/errors.js";
import { MediaTypes } from "../image/media-types.js";
import { findChallenge, parseChallenges, type Challenge } from "./auth-challenge.js";
import { finalError, isRetryableStatus, isTransient, registryResponseError, transient } from "./client-errors.js";
import type {
  BlobReader,
  FetchedManifest,
  RegistryClient,
  RegistryClientOptions,
  RegistryCredentials,
  RegistrySession,
  RepositoryAction,
  SessionOptions,
  UploadProgress,
} from "./registry-client.js";
import { resolveEndpoint, type RegistryEndpoint } from "./registry-endpoint.js";
import { defaultCertsDirs, loadRegistryTls, trustedRoots } from "./registry-tls.js";

/** Every manifest format `manifests.ts` knows, as Docker's client asks for them. */
const manifestAccept = [MediaTypes.dockerManifest, MediaTypes.dockerManifestList, MediaTypes.ociManifest, MediaTypes.ociIndex].join(", ");
const maxManifestBytes = 4 << 20;
const maxSmallBody = 1 << 20;

/** A list of buffers is sent one after the other, so a chunk gathered from a stream is never copied into one. */
type Body = Buffer | Buffer[] | Readable | undefined;

interface SendOptions {
  headers?: OutgoingHttpHeaders;
  /** Called once per attempt, so a retried request sends its body again. */
  body?: () => Body | Promise<Body>;
  /** Retry transient failures (only for requests that are safe to repeat). */
  retry?: boolean;
  /** Follow redirects (GET/HEAD to a storage backend). */
  follow?: boolean;
  signal?: AbortSignal;
  /** Skip authentication (the ping itself, token requests). */
  anonymous?: boolean;
}

type ClientOptions = Required<Omit<RegistryClientOptions, "insecureRegistries" | "certsDirs">> & { insecureRegistries: readonly string[]; certsDirs: readonly string[] };

/** `RegistryClient` over HTTP(S) with node:http, one keep-alive pool per scheme. */
export class HttpRegistryClient implements RegistryClient {
  /** The options with their defaults filled in. */
  readonly options: ClientOptions;
  readonly #agents: { http: http.Agent; https: https.Agent };
  /** HTTPS pools of registries with TLS settings of their own (certs.d, or insecure: unverified), by host and material. */
  readonly #hostAgents = new Map<string, https.Agent>();
  /** Insecure registries found to answer over TLS, and ones found to speak plain HTTP only. */
  readonly #tlsHosts = new Set<string>();
  readonly #plainHosts = new Set<string>();

  constructor(opts: RegistryClientOptions = {}) {
    this.options = {
      insecureRegistries: opts.insecureRegistries ?? [],
      certsDirs: opts.certsDirs ?? defaultCertsDirs,
      retries: opts.retries ?? 3,
      retryDelayMs: opts.retryDelayMs ?? 500,
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      chunkSize: opts.chunkSize ?? 32 << 20,
      userAgent: opts.userAgent ?? "wharf/0.1.0",
    };
    this.#agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };
  }

  endpoint(domain: string): RegistryEndpoint {
    return resolveEndpoint(domain, this.options.insecureRegistries);
  }

  session(domain: string, repository: string, actions: readonly RepositoryAction[], opts: SessionOptions = {}): RegistrySession {
    const scopes: string[] = [];
    if (repository !== "" && actions.length > 0) scopes.push(`repository:${repository}:${actions.join(",")}`);
    for (const src of opts.mountSources ?? []) if (src !== repository) scopes.push(`repository:${src}:pull`);
    return new HttpSession(this, this.endpoint(domain), repository, scopes, opts.credentials ?? {});
  }

  async login(domain: string, credentials: RegistryCredentials): Promise<void> {
    const s = new HttpSession(this, this.endpoint(domain), "", [], credentials);
    await s.login();
  }

  /** Closes pooled connections (the daemon calls this on shutdown; tests after a suite). */
  close(): void {
    this.#agents.http.destroy();
    this.#agents.https.destroy();
    for (const agent of this.#hostAgents.values()) agent.destroy();
    this.#hostAgents.clear();
  }

  /**
   * One HTTP exchange, no retries: resolves with the response head, whatever
   * its status. An insecure registry (its endpoint says `http://`) is tried
   * over HTTPS first, without checking its certificate, and over HTTP when
   * TLS fails, as dockerd does; the answer is kept per host. Only bodiless
   * requests probe (a body stream cannot be sent twice): the session's first
   * request, the `/v2/` ping, is one, and always probes anew, so a registry
   * that moved between HTTP and HTTPS is found again by the next pull or push
   * (dockerd tries its endpoints in order for each operation).
   */
  async exchange(method: string, url: URL, headers: OutgoingHttpHeaders, body: Body, signal?: AbortSignal): Promise<IncomingMessage> {
    if (url.protocol === "http:" && method === "GET" && url.pathname === "/v2/" && body === undefined) {
      this.#plainHosts.delete(url.host);
      this.#tlsHosts.delete(url.host);
    }
    if (url.protocol === "http:" && !this.#plainHosts.has(url.host) && this.endpoint(url.host).insecure) {
      const tlsUrl = new URL(url);
      tlsUrl.protocol = "https:";
      if (this.#tlsHosts.has(url.host)) return this.#exchangeOnce(method, tlsUrl, headers, body, signal);
      if (body === undefined) {
        try {
          const res = await this.#exchangeOnce(method, tlsUrl, headers, body, signal);
          this.#tlsHosts.add(url.host);
          return res;
        } catch (err) {
          if (signal?.aborted) throw err;
          const res = await this.#exchangeOnce(method, url, headers, body, signal);
          this.#plainHosts.add(url.host);
          return res;
        }
      }
    }
    return this.#exchangeOnce(method, url, headers, body, signal);
  }

  /**
   * The pool for a URL: the shared one, or one per host and TLS setting when
   * the host has certs.d material or is insecure (no verification). certs.d
   * is read on every request, as dockerd does, so a CA dropped in takes
   * effect without a restart; equal material shares one keep-alive pool.
   */
  async #agentFor(url: URL): Promise<http.Agent> {
    if (url.protocol !== "https:") return this.#agents.http;
    const insecure = this.endpoint(url.host).insecure;
    const tls = await loadRegistryTls(url.host, this.options.certsDirs);
    if (!tls && !insecure) return this.#agents.https;
    const key = createHash("sha256").update(JSON.stringify([url.host, insecure, tls ?? null])).digest("hex");
    let agent = this.#hostAgents.get(key);
    if (!agent) {
      agent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: !insecure, ca: trustedRoots(tls), cert: tls?.cert, key: tls?.key });
      this.#hostAgents.set(key, agent);
    }
    return agent;
  }

  async #exchangeOnce(method: string, url: URL, headers: OutgoingHttpHeaders, body: Body, signal?: AbortSignal): Promise<IncomingMessage> {
    const secure = url.protocol === "https:";
    const mod = secure ? https : http;
    const agent = await this.#agentFor(url);
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const req = mod.request(url, { method, headers: { "User-Agent": this.options.userAgent, ...headers }, agent, signal }, (res) => {
        response = res;
        resolve(res);
      });
      req.setTimeout(this.options.idleTimeoutMs, () => {
        const err = transient(new UnavailableError(`${method} ${url.origin}${url.pathname}: no data for ${this.options.idleTimeoutMs < 1000 ? `${this.options.idleTimeoutMs}ms` : `${Math.round(this.options.idleTimeoutMs / 1000)}s`}`));
        // A silent body must fail with this reason, not a bare "aborted".
        if (response && !response.complete) response.destroy(err);
        req.destroy(err);
      });
      req.on("error", reject);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else if (Array.isArray(body)) {
        for (const b of body) req.write(b);
        req.end();
      } else {
        body.on("error", (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }
}

class HttpSession implements RegistrySession {
  readonly endpoint: RegistryEndpoint;
  readonly repository: string;
  readonly #client: HttpRegistryClient;
  readonly #opts: ClientOptions;
  readonly #creds: RegistryCredentials;
  #scopes: string[];
  #ready: Promise<void> | undefined;
  #authorization: string | undefined;

  constructor(client: HttpRegistryClient, endpoint: RegistryEndpoint, repository: string, scopes: string[], creds: RegistryCredentials) {
    this.#client = client;
    this.#opts = client.options;
    this.endpoint = endpoint;
    this.repository = repository;
    this.#scopes = scopes;
    this.#creds = creds;
  }

  #url(path: string): URL {
    return new URL(path, `${this.endpoint.baseUrl}/`);
  }

  get #repoPath(): string {
    return `/v2/${this.repository}`;
  }

  // ---------------------------------------------------------------- auth

  async login(): Promise<void> {
    await this.#ensureAuth();
    const res = await this.#send("GET", this.#url("/v2/"), { retry: true });
    const body = await readBody(res, maxSmallBody);
    if (res.statusCode === 200) return;
    throw registryResponseError(res.statusCode ?? 500, body, `GET ${this.endpoint.baseUrl}/v2/`);
  }

  #ensureAuth(): Promise<void> {
    this.#ready ??= this.#ping().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /** `GET /v2/` without credentials: which scheme (if any) this registry wants. */
  async #ping(): Promise<void> {
    const url = this.#url("/v2/");
    const res = await this.#send("GET", url, { retry: true, anonymous: true });
    const body = await readBody(res, maxSmallBody);
    const status = res.statusCode ?? 500;
    if (status === 401) {
      await this.#useChallenges(parseChallenges(res.headers["www-authenticate"]));
      return;
    }
    if (status >= 500) throw registryResponseError(status, body, `GET ${url.href}`);
    // 200, or a registry that does not answer /v2/ (404): no auth until a request asks for it.
  }

  async #useChallenges(challenges: Challenge[], extraScope?: string): Promise<void> {
    const bearer = findChallenge(challenges, "bearer");
    if (bearer) {
      if (extraScope && !this.#scopes.includes(extraScope)) this.#scopes = [...this.#scopes, extraScope];
      this.#authorization = `Bearer ${await this.#token(bearer)}`;
      return;
    }
    if (findChallenge(challenges, "basic")) {
      this.#authorization = this.#creds.username !== undefined ? basicHeader(this.#creds) : undefined;
      if (this.#authorization === undefined) throw new UnauthorizedError("unauthorized: authentication required");
      return;
    }
    throw new UnauthorizedError(`unauthorized: the registry asks for an unsupported authentication scheme (${challenges.map((c) => c.scheme).join(", ") || "none"})`);
  }

  /** A token from the challenge's realm for this session's scopes (https://distribution.github.io/distribution/spec/auth/token/#requesting-a-token). */
  async #token(ch: Challenge): Promise<string> {
    if (this.#creds.registryToken) return this.#creds.registryToken;
    const realm = ch.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? "");
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError("not http(s)");
    } catch {
      throw new UnauthorizedError(`unauthorized: the registry's token realm ${JSON.stringify(realm)} is not an http(s) URL`);
    }
    if (ch.params.service) url.searchParams.set("service", ch.params.service);
    for (const s of this.#scopes) url.searchParams.append("scope", s);
    if (this.#creds.username) url.searchParams.set("account", this.#creds.username);
    const headers: OutgoingHttpHeaders = { Accept: "application/json" };
    if (this.#creds.username !== undefined) headers.Authorization = basicHeader(this.#creds);
    const res = await this.#send("GET", url, { retry: true, anonymous: true, follow: true, headers });
    const body = await readBody(res, maxSmallBody);
    const status = res.statusCode ?? 500;
    if (status === 401 || status === 403) {
      const err = registryResponseError(status, body);
      throw new UnauthorizedError(/unauthorized|incorrect|denied/i.test(err.message) ? err.message : `unauthorized: ${err.message}`);
    }
    if (status !== 200) throw registryResponseError(status, body, `GET ${url.origin}${url.pathname}`);
    let token: unknown;
    try {
      const parsed = JSON.parse(body.toString("utf8")) as { token?: unknown; access_token?: unknown };
      token = parsed.token ?? parsed.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== "string" || token === "") throw new UnauthorizedError(`unauthorized: the token server at ${url.origin} sent no token`);
    return token;
  }

  // ---------------------------------------------------------------- transport

  /**
   * One request with auth, redirects and (when `retry`) bounded retries of
   * transient failures. Resolves with the final response whatever its status
   * (a 401 that re-authenticating did not cure included).
   */
  async #send(method: string, url: URL, o: SendOptions = {}): Promise<IncomingMessage> {
    if (!o.anonymous) await this.#ensureAuth();
    const attempts = o.retry ? this.#opts.retries + 1 : 1;
    let reauthenticated = false;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await this.#follow(method, url, o);
        const status = res.statusCode ?? 500;
        if (status === 401 && !o.anonymous && !reauthenticated) {
          const challenges = parseChallenges(res.headers["www-authenticate"]);
          const bearer = findChallenge(challenges, "bearer");
          if (bearer || (findChallenge(challenges, "basic") && this.#creds.username !== undefined && this.#authorization === undefined)) {
            await readBody(res, maxSmallBody);
            reauthenticated = true;
            await this.#useChallenges(challenges, bearer?.params.scope);
            attempt--;
            continue;
          }
        }
        if (isRetryableStatus(status) && o.retry) {
          const body = await readBody(res, maxSmallBody).catch(() => Buffer.alloc(0));
          lastErr = registryResponseError(status, body, `${method} ${url.origin}${url.pathname}`);
          if (attempt >= attempts) throw lastErr;
          await this.#backoff(attempt, o.signal);
          continue;
        }
        return res;
      } catch (err) {
        lastErr = err;
        // Without `retry` the caller runs its own attempts (uploads, blob reads): it gets the error as it is.
        if (!o.retry) throw err;
        if (!isTransient(err) || attempt >= attempts) throw finalError(err, `${method} ${url.origin}${url.pathname}`, attempt);
        await this.#backoff(attempt, o.signal);
      }
    }
    throw finalError(lastErr, `${method} ${url.origin}${url.pathname}`, attempts);
  }

  async #follow(method: string, start: URL, o: SendOptions): Promise<IncomingMessage> {
    let url = start;
    for (let hops = 0; ; hops++) {
      const headers: OutgoingHttpHeaders = { ...o.headers };
      // Credentials go to the registry only, never to a storage backend it redirects to.
      if (!o.anonymous && this.#authorization && url.host === this.#url("/").host && headers.Authorization === undefined) headers.Authorization = this.#authorization;
      const res = await this.#client.exchange(method, url, headers, o.body ? await o.body() : undefined, o.signal);
      const status = res.statusCode ?? 500;
      const location = res.headers.location;
      if (o.follow && status >= 300 && status < 400 && status !== 304 && location && hops < 5) {
        res.resume();
        url = new URL(location, url);
        continue;
      }
      return res;
    }
  }

  #backoff(attempt: number, signal?: AbortSignal): Promise<void> {
    return sleep(this.#opts.retryDelayMs * 2 ** (attempt - 1), undefined, { signal });
  }

  /** Throws the registry's error for a response that is not one of `ok`. */
  async #expect(res: IncomingMessage, ok: number[], what: string): Promise<void> {
    const status = res.statusCode ?? 500;
    if (ok.includes(status)) return;
    const body = await readBody(res, maxSmallBody).catch(() => Buffer.alloc(0));
    throw registryResponseError(status, body, what);
  }

  // ---------------------------------------------------------------- manifests

  async getManifest(reference: string): Promise<FetchedManifest> {
    const url = this.#url(`${this.#repoPath}/manifests/${reference}`);
    const res = await this.#send("GET", url, { retry: true, follow: true, headers: { Accept: manifestAccept } });
    await this.#expect(res, [200], `GET ${url.href}`);
    const bytes = await readBody(res, maxManifestBytes).catch((err: unknown) => {
      throw isTransient(err) ? finalError(err, `GET ${url.href}`, 1) : err;
    });
    const digest = sha256(bytes);
    if (reference.startsWith("sha256:") && reference !== digest) {
      throw new InvalidArgumentError(`manifest verification failed for digest ${reference}: the registry sent content that hashes to ${digest}`);
    }
    const header = res.headers["docker-content-digest"];
    if (typeof header === "string" && header.startsWith("sha256:") && header !== digest) {
      throw new InvalidArgumentError(`manifest verification failed: Docker-Content-Digest says ${header}, the content hashes to ${digest}`);
    }
    let mediaType = String(res.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (mediaType === "" || mediaType === "application/json" || mediaType === "text/plain" || mediaType === "application/octet-stream") {
      try {
        const parsed = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown; manifests?: unknown };
        mediaType = typeof parsed.mediaType === "string" ? parsed.mediaType : Array.isArray(parsed.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
      } catch {
        throw new InvalidArgumentError(`manifest ${reference} of ${this.repository} is not JSON`);
      }
    }
    return { bytes, mediaType, digest };
  }

  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | undefined = this.#url(`${this.#repoPath}/tags/list`);
    // A registry that keeps sending `Link` must not keep us here forever.
    for (let page = 0; url && page < 1000; page++) {
      const res = await this.#send("GET", url, { retry: true, follow: true });
      await this.#expect(res, [200], `GET ${url.href}`);
      const body = JSON.parse((await readBody(res, maxManifestBytes)).toString("utf8")) as { tags?: unknown };
      if (Array.isArray(body.tags)) tags.push(...body.tags.filter((t): t is string => typeof t === "string"));
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers.link ?? ""))?.[1];
      url = next ? new URL(next, url) : undefined;
    }
    return tags;
  }

  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<Digest> {
    const url = this.#url(`${this.#repoPath}/manifests/${reference}`);
    const res = await this.#send("PUT", url, { retry: true, body: () => bytes, headers: { "Content-Type": mediaType, "Content-Length": bytes.length } });
    await this.#expect(res, [200, 201, 202], `PUT ${url.href}`);
    res.resume();
    const digest = sha256(bytes);
    const header = res.headers["docker-content-digest"];
    if (typeof header === "string" && header.startsWith("sha256:") && header !== digest) {
      throw new InvalidArgumentError(`the registry stored the manifest as ${header}, but it hashes to ${digest}`);
    }
    return digest;
  }

  // ---------------------------------------------------------------- blobs

  async statBlob(digest: Digest): Promise<{ size: number } | undefined> {
    const url = this.#url(`${this.#repoPath}/blobs/${digest}`);
    const res = await this.#send("HEAD", url, { retry: true, follow: true });
    res.resume();
    const status = res.statusCode ?? 500;
    if (status === 404) return undefined;
    await this.#expect(res, [200], `HEAD ${url.href}`);
    return { size: Number(res.headers["content-length"] ?? -1) };
  }

  async openBlob(digest: Digest, opts: { size?: number; signal?: AbortSignal } = {}): Promise<BlobReader> {
    const url = this.#url(`${this.#repoPath}/blobs/${digest}`);
    const what = `GET ${url.href}`;
    // One budget of attempts for the whole blob, whether a request fails or its body stops early.
    const attempts = this.#opts.retries + 1;
    let failures = 0;
    const final = new WeakSet<object>();
    const failed = async (err: unknown): Promise<void> => {
      failures++;
      if (!isTransient(err) || failures >= attempts) {
        const e = finalError(err, what, failures);
        final.add(e);
        throw e;
      }
      await this.#backoff(failures, opts.signal);
    };
    const get = async (offset: number): Promise<IncomingMessage> => {
      for (;;) {
        try {
          const res = await this.#send("GET", url, { follow: true, signal: opts.signal, headers: offset > 0 ? { Range: `bytes=${offset}-` } : {} });
          await this.#expect(res, offset > 0 ? [200, 206] : [200], what);
          return res;
        } catch (err) {
          await failed(err);
        }
      }
    };
    const first = await get(0);
    async function* body(): AsyncGenerator<Buffer> {
      let res: IncomingMessage | undefined = first;
      let offset = 0;
      for (;;) {
        try {
          res ??= await get(offset);
          // A registry that ignores Range sends everything again: skip what we have.
          let skip = offset > 0 && res.statusCode === 200 ? offset : 0;
          if (offset > 0 && res.statusCode === 206) {
            const start = /^bytes (\d+)-/.exec(String(res.headers["content-range"] ?? ""))?.[1];
            if (start !== undefined && Number(start) !== offset) throw new InvalidArgumentError(`${what}: asked for bytes from ${offset}, got from ${start}`);
          }
          for await (const c of res) {
            let chunk = c as Buffer;
            if (skip > 0) {
              const n = Math.min(skip, chunk.length);
              skip -= n;
              chunk = chunk.subarray(n);
              if (chunk.length === 0) continue;
            }
            offset += chunk.length;
            yield chunk;
          }
          if (opts.size !== undefined && offset < opts.size) throw transient(new UnavailableError(`the body ended after ${offset} of ${opts.size} bytes`));
          return;
        } catch (err) {
          res?.destroy();
          res = undefined;
          if (err instanceof Error && final.has(err)) throw err;
          await failed(err);
        }
      }
    }
    return { stream: Readable.from(body(), { objectMode: false, highWaterMark: 1 << 20 }) };
  }

  async mountBlob(digest: Digest, from: string): Promise<boolean> {
    const url = this.#url(`${this.#repoPath}/blobs/uploads/`);
    url.searchParams.set("mount", digest);
    url.searchParams.set("from", from);
    const res = await this.#send("POST", url, { retry: true, headers: { "Content-Length": 0 } });
    res.resume();
    const status = res.statusCode ?? 500;
    if (status === 201) return true;
    if (status === 202 && res.headers.location) {
      // The registry opened an ordinary upload instead: cancel it, the caller uploads.
      const cancel = await this.#send("DELETE", new URL(res.headers.location, url), {}).catch(() => undefined);
      cancel?.resume();
      return false;
    }
    if (status === 202) return false;
    await this.#expect(res, [201, 202], `POST ${url.href}`);
    return false;
  }

  async #startUpload(signal?: AbortSignal): Promise<URL> {
    const url = this.#url(`${this.#repoPath}/blobs/uploads/`);
    const res = await this.#send("POST", url, { retry: true, signal, headers: { "Content-Length": 0 } });
    await this.#expect(res, [202], `POST ${url.href}`);
    res.resume();
    const location = res.headers.location;
    if (!location) throw new InvalidArgumentError(`POST ${url.href}: the registry sent no upload Location`);
    return new URL(location, url);
  }

  async uploadBlob(digest: Digest, size: number, open: (start: number) => Promise<Readable>, opts: { onProgress?: UploadProgress; signal?: AbortSignal } = {}): Promise<void> {
    if (size > this.#opts.chunkSize) return this.#uploadChunked(digest, size, open, opts);
    const attempts = this.#opts.retries + 1;
    for (let attempt = 1; ; attempt++) {
      let what = `upload of ${digest}`;
      try {
        const location = await this.#startUpload(opts.signal);
        location.searchParams.set("digest", digest);
        what = `PUT ${location.origin}${location.pathname}`;
        const res = await this.#send("PUT", location, {
          signal: opts.signal,
          headers: { "Content-Type": "application/octet-stream", "Content-Length": size },
          body: async () => counting(await open(0), 0, opts.onProgress),
        });
        await this.#expect(res, [201, 204], what);
        res.resume();
        return;
      } catch (err) {
        if (!isTransient(err) || attempt >= attempts) throw finalError(err, what, attempt);
        await this.#backoff(attempt, opts.signal);
      }
    }
  }

  /**
   * PATCH chunk by chunk (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-a-blob-in-chunks);
   * after a failed chunk, `GET` of the session says how much arrived and the rest of the chunk follows.
   */
  async #uploadChunked(digest: Digest, size: number, open: (start: number) => Promise<Readable>, opts: { onProgress?: UploadProgress; signal?: AbortSignal }): Promise<void> {
    const attempts = this.#opts.retries + 1;
    let failures = 0;
    let location = await this.#startUpload(opts.signal);
    const source = (await open(0))[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const reader = new ChunkReader(source);
    const chunkSize = this.#opts.chunkSize;
    let offset = 0;
    // The next chunk is read off the file while this one is on the wire.
    let ahead: Promise<Buffer[]> | undefined = reader.read(Math.min(chunkSize, size));
    try {
      while (offset < size) {
        let chunk = await ahead!;
        let length = byteLength(chunk);
        if (length === 0) throw new InvalidArgumentError(`blob ${digest} ended after ${offset} of ${size} bytes`);
        const end = offset + length;
        ahead = end < size ? reader.read(Math.min(chunkSize, size - end)) : undefined;
        // A read failure surfaces when its chunk's turn comes, not as an unhandled rejection.
        ahead?.catch(() => undefined);
        for (;;) {
          const what = `PATCH ${location.origin}${location.pathname}`;
          try {
            const body = chunk;
            const res = await this.#send("PATCH", location, {
              signal: opts.signal,
              headers: { "Content-Type": "application/octet-stream", "Content-Range": `${offset}-${offset + length - 1}`, "Content-Length": length },
              body: () => body,
            });
            await this.#expect(res, [202], what);
            res.resume();
            if (res.headers.location) location = new URL(res.headers.location, location);
            offset += length;
            opts.onProgress?.(offset);
            break;
          } catch (err) {
            if (!isTransient(err) || ++failures >= attempts) throw finalError(err, what, failures);
            await this.#backoff(failures, opts.signal);
            const received = await this.#uploadOffset(location, opts.signal);
            if (received < offset || received > offset + length) throw finalError(err, `${what} (the registry has ${received} bytes, we sent ${offset})`, failures);
            chunk = dropBytes(chunk, received - offset);
            length -= received - offset;
            offset = received;
            if (length === 0) break;
          }
        }
      }
    } finally {
      await ahead?.catch(() => undefined);
      await source.return?.();
    }
    location.searchParams.set("digest", digest);
    const res = await this.#send("PUT", location, { retry: true, signal: opts.signal, headers: { "Content-Length": 0 } });
    await this.#expect(res, [201, 204], `PUT ${location.origin}${location.pathname}`);
    res.resume();
  }

  /** Bytes an upload session holds, from its `Range: 0-<last>` header. */
  async #uploadOffset(location: URL, signal?: AbortSignal): Promise<number> {
    const res = await this.#send("GET", location, { retry: true, signal });
    res.resume();
    await this.#expect(res, [204], `GET ${location.origin}${location.pathname}`);
    const m = /^(?:bytes=)?0-(\d+)$/.exec(String(res.headers.range ?? ""));
    return m ? Number(m[1]) + 1 : 0;
  }
}

/** Reads exact-size chunks off a byte iterator as lists of the buffers it yields (no copy), keeping what is left over. */
class ChunkReader {
  readonly #it: AsyncIterator<Buffer>;
  #rest: Buffer | undefined;
  #done = false;

  constructor(it: AsyncIterator<Buffer>) {
    this.#it = it;
  }

  /** `n` bytes, or fewer at the end of the data. */
  async read(n: number): Promise<Buffer[]> {
    const parts: Buffer[] = [];
    let have = 0;
    if (this.#rest) {
      parts.push(this.#rest);
      have = this.#rest.length;
      this.#rest = undefined;
    }
    while (have < n && !this.#done) {
      const r = await this.#it.next();
      if (r.done) {
        this.#done = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      parts.push(b);
      have += b.length;
    }
    if (have > n) {
      const last = parts.pop()!;
      const keep = last.length - (have - n);
      parts.push(last.subarray(0, keep));
      this.#rest = last.subarray(keep);
    }
    return parts;
  }
}

function byteLength(parts: Buffer[]): number {
  return parts.reduce((n, b) => n + b.length, 0);
}

/** `parts` without its first `n` bytes. */
function dropBytes(parts: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of parts) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}

function counting(stream: Readable, start: number, onProgress: UploadProgress | undefined): Readable {
  if (!onProgress) return stream;
  let sent = start;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      onProgress(sent);
      cb(null, chunk);
    },
  });
  stream.on("error", (err) => t.destroy(err));
  return stream.pipe(t);
}

function basicHeader(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username ?? ""}:${c.password ?? ""}`).toString("base64")}`;
}

function sha256(b: Buffer): Digest {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res) {
    size += (c as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new InvalidArgumentError(`the registry's answer is larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
