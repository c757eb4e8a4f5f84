/**
 * A small Docker Engine API client: JSON calls, streaming responses and
 * hijacked connections (attach, exec start), over a unix socket or TCP.
 * It speaks only the public API, so it works against dockerd as well as
 * against `wharf daemon`.
 *
 * Lifecycle: construct (no I/O) → the first request negotiates the API
 * version with `GET /_ping` (like the docker CLI) → `close()` drops idle
 * keep-alive sockets. Errors from the daemon become the closed set of
 * `src/lib/errors.ts`, with the HTTP status kept (`daemonStatusOf`).
 * https://docs.docker.com/engine/api/v1.45/
 */
import http from "node:http";
import type { IncomingMessage } from "node:http";
import type { Duplex, Readable } from "node:stream";
import {
  ConflictError,
  ForbiddenError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  NotModifiedError,
  UnauthorizedError,
  UnavailableError,
  type WharfError,
} from "../lib/errors.js";
import { tagDaemonStatus } from "./cli-errors.js";

/** The newest API version this client speaks; we use min(server, this). */
export const clientMaxApiVersion = "1.45";
export const defaultHost = "unix:///run/wharf/wharf.sock";

export type QueryValue = string | number | boolean | undefined | null | string[];
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  query?: Query;
  /** A plain value is sent as JSON; a stream is piped with `contentType`. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A hijacked attach/exec connection: one raw duplex for stdin and output. */
export interface HijackedConnection {
  /** Write stdin here; `end()` half-closes so the container sees EOF. */
  socket: Duplex;
  /** The output bytes (the socket itself, or the response when the server did not upgrade). */
  output: Readable;
  /** `application/vnd.docker.multiplexed-stream` means stdcopy framing. */
  contentType: string;
}

export { daemonStatusOf } from "./cli-errors.js";

/** Maps a daemon error answer to our closed error set, remembering the status. */
export function errorFromStatus(status: number, message: string): WharfError {
  let err: WharfError;
  if (status === 404) err = new NotFoundError(message);
  else if (status === 400) err = new InvalidArgumentError(message);
  else if (status === 409) err = new ConflictError(message);
  else if (status === 401) err = new UnauthorizedError(message);
  else if (status === 403) err = new ForbiddenError(message);
  else if (status === 503) err = new UnavailableError(message);
  else if (status === 304) err = new NotModifiedError(message);
  else err = new InternalError(message);
  return tagDaemonStatus(err, status);
}

interface Endpoint {
  socketPath?: string;
  host?: string;
  port?: number;
}

/**
 * Every request names its (empty) TLS server name: otherwise Node's agent
 * works one out from the host and first compiles its IPv6 regex to rule out
 * an address, ~6 ms of a CLI call's CPU. Plain HTTP never uses the name.
 */
const noServerName = { servername: "" } as const;

/** Parses `unix:///path`, `tcp://host:port`, `http://host:port`. */
export function parseHost(host: string): Endpoint {
  if (host.startsWith("unix://")) {
    const socketPath = host.slice("unix://".length);
    if (!socketPath) throw new InvalidArgumentError(`invalid host: ${host}`);
    return { socketPath };
  }
  const m = /^(?:tcp|http):\/\/(\[[^\]]+\]|[^:/]*)(?::(\d+))?\/?$/.exec(host);
  if (!m) throw new InvalidArgumentError(`unable to parse docker host \`${host}\``);
  const h = m[1]!.replace(/^\[|\]$/g, "") || "127.0.0.1";
  return { host: h, port: m[2] ? Number(m[2]) : 2375 };
}

export function compareApiVersions(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split(".").map(Number);
  const [bmaj = 0, bmin = 0] = b.split(".").map(Number);
  return amaj - bmaj || amin - bmin;
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const item of v) params.append(k, item);
    else if (typeof v === "boolean") params.append(k, v ? "1" : "0");
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

/**
 * Filters as the docker CLI sends them (`{"label":{"a=b":true}}`), the form
 * every daemon accepts. Returns undefined when there are none.
 */
export function encodeFilters(filters: Record<string, string[]>): string | undefined {
  const out: Record<string, Record<string, boolean>> = {};
  let any = false;
  for (const [k, values] of Object.entries(filters)) {
    if (values.length === 0) continue;
    out[k] = Object.fromEntries(values.map((v) => [v, true]));
    any = true;
  }
  return any ? JSON.stringify(out) : undefined;
}

function isReadable(v: unknown): v is Readable {
  return typeof v === "object" && v !== null && typeof (v as Readable).pipe === "function";
}

async function readAll(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

function messageOf(body: Buffer, status: number): string {
  const text = body.toString("utf8").trim();
  if (text) {
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (parsed && typeof parsed.message === "string") return parsed.message;
    } catch {
      // not JSON: the daemon sent plain text
    }
    return text;
  }
  return status === 404 ? "page not found" : `${status} ${http.STATUS_CODES[status] ?? ""}`.trim();
}

export class EngineClient {
  readonly host: string;
  #endpoint: Endpoint | undefined;
  #agent = new http.Agent({ keepAlive: true });
  #version: string | undefined;
  #negotiating: Promise<string> | undefined;

  /** `apiVersion` pins the version (like `DOCKER_API_VERSION`) and skips negotiation. */
  constructor(host: string = defaultHost, apiVersion?: string) {
    this.host = host;
    this.#version = apiVersion;
  }

  #ep(): Endpoint {
    this.#endpoint ??= parseHost(this.host);
    return this.#endpoint;
  }

  /** The API version in use (negotiating first if needed). */
  async apiVersion(): Promise<string> {
    if (this.#version) return this.#version;
    this.#negotiating ??= this.ping().then((p) => {
      const server = p.apiVersion;
      this.#version =
        server && compareApiVersions(server, clientMaxApiVersion) < 0 ? server : clientMaxApiVersion;
      return this.#version;
    });
    return this.#negotiating;
  }

  /**
   * Starts the version negotiation now, so its round trip overlaps whatever
   * the caller does next (loading a verb, parsing flags). A failure surfaces
   * at the first request, as it would have without this.
   */
  prefetchVersion(): void {
    this.apiVersion().catch(() => {});
  }

  /** `GET /_ping` (unversioned): the server's API version and OS from the headers. */
  async ping(): Promise<{ apiVersion?: string; osType?: string }> {
    const res = await this.#send("GET", "/_ping", {});
    await readAll(res);
    if (res.statusCode !== 200) throw errorFromStatus(res.statusCode ?? 500, "ping failed");
    const h = res.headers;
    return {
      apiVersion: typeof h["api-version"] === "string" ? h["api-version"] : undefined,
      osType: typeof h["ostype"] === "string" ? h["ostype"] : undefined,
    };
  }

  /** Sends a request and returns the response whatever its status. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const v = await this.apiVersion();
    return this.#send(method, `/v${v}${path}${buildQuery(opts.query)}`, opts);
  }

  /** Sends a request; throws the daemon's error for a status ≥ 400; returns the response to stream. */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const res = await this.raw(method, path, opts);
    const status = res.statusCode ?? 500;
    if (status >= 400) throw errorFromStatus(status, messageOf(await readAll(res), status));
    return res;
  }

  /** A call whose answer is JSON (or empty: then undefined). 304 counts as success. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.stream(method, path, opts);
    const body = await readAll(res);
    if (body.length === 0) return undefined as T;
    try {
      return JSON.parse(body.toString("utf8")) as T;
    } catch {
      return body.toString("utf8") as T;
    }
  }

  /** A call whose answer body is ignored. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.stream(method, path, opts);
    await readAll(res);
  }

  /**
   * Opens a hijacked connection (`Connection: Upgrade`, `Upgrade: tcp`,
   * answered with 101): the socket then carries stdin one way and the
   * container's output the other. A server that answers 200 instead streams
   * output over the response and takes no stdin.
   * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerAttach
   */
  async hijack(path: string, opts: RequestOptions = {}): Promise<HijackedConnection> {
    const v = await this.apiVersion();
    const ep = this.#ep();
    const body = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
    return new Promise<HijackedConnection>((resolve, reject) => {
      const req = http.request({
        ...ep,
        ...noServerName,
        agent: false,
        method: "POST",
        path: `/v${v}${path}${buildQuery(opts.query)}`,
        headers: {
          Connection: "Upgrade",
          Upgrade: "tcp",
          ...(body ? { "Content-Type": "application/json", "Content-Length": String(body.length) } : {}),
        },
      });
      req.on("upgrade", (res, socket, head) => {
        if (head.length > 0) socket.unshift(head);
        const ct = res.headers["content-type"];
        resolve({ socket, output: socket, contentType: typeof ct === "string" ? ct : "" });
      });
      req.on("response", (res) => {
        const status = res.statusCode ?? 500;
        if (status >= 400) {
          readAll(res).then(
            (b) => reject(errorFromStatus(status, messageOf(b, status))),
            reject,
          );
          return;
        }
        const ct = res.headers["content-type"];
        resolve({ socket: res.socket, output: res, contentType: typeof ct === "string" ? ct : "" });
      });
      req.on("error", (err) => reject(this.#connectError(err)));
      req.end(body);
    });
  }

  /** Drops idle keep-alive sockets so the process can exit. */
  close(): void {
    this.#agent.destroy();
  }

  #send(method: string, path: string, opts: RequestOptions): Promise<IncomingMessage> {
    let ep: Endpoint;
    try {
      ep = this.#ep();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<IncomingMessage>((resolve, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      let payload: Buffer | Readable | undefined;
      if (isReadable(opts.body)) {
        payload = opts.body;
        headers["Content-Type"] = opts.contentType ?? "application/x-tar";
      } else if (Buffer.isBuffer(opts.body)) {
        payload = opts.body;
        headers["Content-Type"] = opts.contentType ?? "application/octet-stream";
        headers["Content-Length"] = String(opts.body.length);
      } else if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers["Content-Type"] = "application/json";
        headers["Content-Length"] = String(payload.length);
      }
      const req = http.request({ ...ep, ...noServerName, agent: this.#agent, method, path, headers }, resolve);
      req.on("error", (err) => reject(this.#connectError(err)));
      if (payload === undefined || Buffer.isBuffer(payload)) req.end(payload);
      else {
        payload.on("error", (err) => req.destroy(err));
        payload.pipe(req);
      }
    });
  }

  #connectError(err: unknown): Error {
    const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
    if (["ENOENT", "ECONNREFUSED", "EACCES", "ENOTSOCK", "EHOSTUNREACH"].includes(code)) {
      const hint =
        code === "EACCES"
          ? `permission denied while trying to connect to the Wharf daemon socket at ${this.host}`
          : `Cannot connect to the Wharf daemon at ${this.host}. Is the wharf daemon running?`;
      return new UnavailableError(hint, { cause: err });
    }
    return err instanceof Error ? err : new InternalError(String(err));
  }
}
