import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/**
 * What a route handler gets. `res` is absent when the client asked for a
 * protocol upgrade (attach, exec start): the handler then owns `socket`.
 */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse | undefined;
  /** Set for upgrade requests: the raw connection, its request body, and stream bytes already read past it. */
  upgrade: { socket: Duplex; head: Buffer; body: Buffer } | undefined;
  params: Record<string, string>;
  query: URLSearchParams;
  /** API version the client asked for (from the `/v1.xx` prefix), or the server's default. */
  apiVersion: string;
}

export type RouteHandler = (ctx: RouteContext) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

/**
 * A route table in Docker's path syntax: `{id}` matches one segment, `{name:.*}`
 * matches the rest including slashes (image names like `localhost:5000/a/b`
 * appear unescaped inside paths, e.g. `/images/{name:.*}/json`).
 */
export class Router {
  #routes: Route[] = [];

  add(method: string, path: string, handler: RouteHandler): this {
    const names: string[] = [];
    const source = path
      .split(/(\{\w+(?::\.\*)?\})/)
      .map((part) => {
        const param = /^\{(\w+)(:\.\*)?\}$/.exec(part);
        if (!param) return part.replace(/[.+?^$()|[\]\\*]/g, "\\$&");
        names.push(param[1]!);
        return param[2] ? "(.+)" : "([^/]+)";
      })
      .join("");
    this.#routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  /** The handler for `method path`, or `undefined`; HEAD falls back to GET routes only when no HEAD route exists. */
  match(method: string, path: string): { handler: RouteHandler; params: Record<string, string> } | "method-not-allowed" | undefined {
    let pathMatched = false;
    for (const route of this.#routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      return { handler: route.handler, params };
    }
    return pathMatched ? "method-not-allowed" : undefined;
  }
}
