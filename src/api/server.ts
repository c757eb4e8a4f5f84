import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { httpStatusOf, isWharfError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import type { Router, RouteContext } from "./router.js";
import { compareApiVersions, maxApiVersion, minApiVersion, wharfVersion } from "./version.js";

const versionPrefix = /^\/v(\d+\.\d+)(\/.*)$/;

/**
 * The Docker Engine API over HTTP: version prefix handling, routing, and the
 * one place where errors become `{"message": …}` with a status code.
 */
export function createApiServer(router: Router, log: Logger): Server {
  const server = createServer((req, res) => {
    void dispatch(router, log, req, res, undefined);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void splitBody(req, socket, head).then(
      ({ body, rest }) => dispatch(router, log, req, undefined, { socket, head: rest, body }),
      () => socket.destroy(),
    );
  });
  // Long-lived streams (events, logs -f, wait) must not be cut by Node's defaults.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 30_000;
  return server;
}

async function dispatch(
  router: Router,
  log: Logger,
  req: IncomingMessage,
  res: ServerResponse | undefined,
  upgrade: RouteContext["upgrade"],
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://wharf");
  let path = url.pathname;
  let apiVersion = maxApiVersion;
  const m = versionPrefix.exec(path);
  if (m) {
    apiVersion = m[1]!;
    path = m[2]!;
  }
  const method = req.method ?? "GET";
  log.debug(`${method} ${req.url}`);
  try {
    if (m && compareApiVersions(apiVersion, maxApiVersion) > 0) {
      throw new VersionError(`client version ${apiVersion} is too new. Maximum supported API version is ${maxApiVersion}`);
    }
    if (m && compareApiVersions(apiVersion, minApiVersion) < 0) {
      throw new VersionError(`client version ${apiVersion} is too old. Minimum supported API version is ${minApiVersion}, please upgrade your client to a newer version`);
    }
    const found = router.match(method, path) ?? (method === "HEAD" ? router.match("GET", path) : undefined);
    if (found === undefined) throw new RouteError(404, `page not found`);
    if (found === "method-not-allowed") throw new RouteError(405, `method ${method} not allowed for ${path}`);
    if (res) {
      res.setHeader("Api-Version", maxApiVersion);
      res.setHeader("Server", `Wharf/${wharfVersion} (linux)`);
      res.setHeader("Ostype", "linux");
    }
    await found.handler({ req, res, upgrade, params: found.params, query: url.searchParams, apiVersion });
  } catch (err) {
    const status = err instanceof RouteError || err instanceof VersionError ? err.status : httpStatusOf(err);
    const message = err instanceof Error ? err.message : String(err);
    if (!isWharfError(err) && !(err instanceof RouteError) && !(err instanceof VersionError)) {
      log.error(`${method} ${req.url}: ${err instanceof Error ? (err.stack ?? message) : message}`);
    } else {
      log.debug(`${method} ${req.url} → ${status} ${message}`);
    }
    sendError(res, upgrade, status, message);
  }
}

function sendError(res: ServerResponse | undefined, upgrade: RouteContext["upgrade"], status: number, message: string): void {
  const body = status === 304 ? "" : JSON.stringify({ message });
  if (res) {
    if (res.headersSent) {
      // A stream already began (logs, load): all we can do is end it.
      res.end();
      return;
    }
    res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (upgrade && !upgrade.socket.destroyed) {
    upgrade.socket.end(
      `HTTP/1.1 ${status} Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

/**
 * On an upgraded connection Node leaves the request body in the raw stream
 * (dockerode and the docker CLI send exec start options there): take
 * `Content-Length` bytes as the body; what follows is the client's stdin.
 */
async function splitBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(req.headers["content-length"] ?? 0) || 0;
  let data = head;
  while (data.length < length) data = Buffer.concat([data, await nextChunk(socket)]);
  return { body: data.subarray(0, length), rest: data.subarray(length) };
}

function nextChunk(socket: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = () => {
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("end", onEnd);
      socket.pause();
    };
    const onData = (chunk: Buffer) => {
      done();
      resolve(chunk);
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onEnd = () => onError(new Error("connection closed inside the request body"));
    socket.on("data", onData);
    socket.once("error", onError);
    socket.once("end", onEnd);
    socket.resume();
  });
}

class RouteError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

class VersionError extends Error {
  readonly status = 400;
}
