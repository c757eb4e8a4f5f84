import { readFile, mkdir } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { InvalidArgumentError, UnavailableError } from "../lib/errors.js";
import { silentLogger } from "../lib/logger.js";
import { basicAuth, bearerAuth, noAuth, type Authorizer } from "./access.js";
import { LocalContentStore } from "../content/local-content-store.js";
import { HtpasswdFile } from "./htpasswd.js";
import { RegistryApp } from "./registry-http.js";
import type { ListenAddr, RegistryServer, RegistryServerOptions } from "./registry-server.js";
import { FileRepositoryStore } from "./repository-store.js";
import { acquireRootLock } from "./root-lock.js";
import { TokenEndpoint } from "./token-endpoint.js";
import { TokenKeys } from "./token.js";
import { FileUploadSessions } from "./upload-sessions.js";

const defaultRealm = "Wharf Registry";

/**
 * Opens the storage root and starts serving (see `registry-server.ts` for
 * the lifecycle). A token realm given as `""` means "this server's own
 * `/token`", resolved once the port is known.
 */
export async function startRegistryServer(options: RegistryServerOptions): Promise<RegistryServer> {
  const log = options.logger ?? silentLogger;
  const root = resolve(options.root);
  await mkdir(root, { recursive: true });
  const release = await acquireRootLock(root);
  let server: Server | undefined;
  try {
    const blobs = await LocalContentStore.open(root);
    const repos = new FileRepositoryStore(root);
    const uploads = await FileUploadSessions.open(root, blobs);
    const tls = options.tls ? { cert: await readOption(options.tls.cert, "TLS certificate"), key: await readOption(options.tls.key, "TLS key") } : undefined;
    const scheme = tls ? "https" : "http";

    // Everything that can fail or wait happens before listening; what needs the bound
    // port (a derived realm) is wired synchronously right after, before any request can
    // be read. Until then every request is refused, never let through.
    const a = options.auth;
    const htpasswdPath = a.kind === "basic" ? a.htpasswd : a.kind === "token" ? a.htpasswd : undefined;
    const htpasswd = htpasswdPath !== undefined ? await HtpasswdFile.load(htpasswdPath, log) : undefined;
    const keys = a.kind === "token" ? await TokenKeys.load(a.key, root).catch((err: Error) => {
      throw new InvalidArgumentError(`token key: ${err.message}`, { cause: err });
    }) : undefined;
    if (a.kind === "token" && !keys!.canSign && a.realm === "") {
      throw new InvalidArgumentError("a token key without its private half cannot issue tokens: give --token-realm of the server that does");
    }
    let auth: Authorizer = {
      authorize: async () => {
        throw new UnavailableError("the registry is starting");
      },
    };
    let tokens: TokenEndpoint | undefined;
    const app = new RegistryApp({
      blobs,
      repos,
      uploads,
      auth: { authorize: (h, r) => auth.authorize(h, r) },
      get tokens() {
        return tokens;
      },
      log,
      maxManifestBytes: options.maxManifestBytes ?? 4 * 1024 * 1024,
    });
    server = tls ? createHttpsServer({ ...tls }, app.listener) : createHttpServer(app.listener);
    // Layers take as long as they take: no whole-request deadline, only one for the headers.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((ok, fail) => {
      server!.once("error", (err) => fail(new UnavailableError(`cannot listen on ${options.addr.host}:${options.addr.port}: ${err.message}`, { cause: err })));
      server!.listen(options.addr.port, options.addr.host, () => {
        server!.removeAllListeners("error");
        ok();
      });
    });
    server.on("error", (err) => log.error(`server: ${err.message}`));
    const bound = server.address() as AddressInfo;
    const address: ListenAddr = { host: bound.address, port: bound.port };
    const hostPart = address.host.includes(":") ? `[${address.host}]` : address.host;
    const url = `${scheme}://${hostPart}:${address.port}`;

    if (a.kind === "none") auth = noAuth;
    else if (a.kind === "basic") auth = basicAuth(htpasswd!, a.realm ?? defaultRealm);
    else {
      auth = bearerAuth(keys!, { realm: a.realm === "" ? `${url}/token` : a.realm, issuer: a.issuer, service: a.service });
      if (keys!.canSign) {
        tokens = new TokenEndpoint({
          keys: keys!,
          issuer: a.issuer,
          service: a.service,
          expiresInSeconds: a.expiresInSeconds ?? 300,
          realm: defaultRealm,
          ...(htpasswd ? { htpasswd } : {}),
        });
      }
    }

    let closing: Promise<void> | undefined;
    const srv = server;
    const close = () =>
      (closing ??= (async () => {
        await new Promise<void>((ok) => {
          srv.close(() => ok());
          srv.closeIdleConnections();
          // In-flight uploads get a moment to finish; then their sockets go (their bytes so far stay).
          setTimeout(() => srv.closeAllConnections(), 2000).unref();
        });
        await release();
      })());
    return { address, url, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    server?.close();
    await release();
    throw err;
  }
}

async function readOption(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}
