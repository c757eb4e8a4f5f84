/**
 * A tiny in-process Docker Engine API stand-in for CLI unit tests: a real
 * HTTP server on a real unix socket (under a `wharf-test-` temp dir) whose
 * routes the test supplies. Upgrade requests (attach, exec start) get a 101
 * and the raw socket.
 */
import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import type { Duplex } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FakeRequest {
  method: string;
  /** Path without the /vX.Y prefix. */
  path: string;
  version: string | undefined;
  query: URLSearchParams;
  body: string;
  headers: IncomingMessage["headers"];
}

export type Handler = (req: FakeRequest, res: ServerResponse) => void | Promise<void>;
export type UpgradeHandler = (req: FakeRequest, socket: Duplex) => void;

export interface FakeEngine {
  host: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

function parse(req: IncomingMessage, body: string): FakeRequest {
  const url = new URL(req.url ?? "/", "http://x");
  const m = /^\/v(\d+\.\d+)(\/.*)$/.exec(url.pathname);
  return {
    method: req.method ?? "GET",
    path: m ? m[2]! : url.pathname,
    version: m?.[1],
    query: url.searchParams,
    body,
    headers: req.headers,
  };
}

export async function startFakeEngine(
  routes: Record<string, Handler>,
  upgrades: Record<string, UpgradeHandler> = {},
  apiVersion = "1.45",
): Promise<FakeEngine> {
  const dir = await mkdtemp(join(tmpdir(), "wharf-test-cli-"));
  const socketPath = join(dir, "engine.sock");
  const requests: FakeRequest[] = [];
  const sockets = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = parse(req, Buffer.concat(chunks).toString("utf8"));
      requests.push(r);
      res.setHeader("Api-Version", apiVersion);
      if (r.path === "/_ping") {
        res.end("OK");
        return;
      }
      const h = routes[`${r.method} ${r.path}`];
      if (!h) {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ message: `page not found: ${r.method} ${r.path}` }));
        return;
      }
      Promise.resolve(h(r, res)).catch((err: unknown) => {
        res.writeHead(500);
        res.end(JSON.stringify({ message: String(err) }));
      });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    const r = parse(req, "");
    requests.push(r);
    const h = upgrades[`${r.method} ${r.path}`];
    if (!h) {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"message\":\"no such path\"}");
      return;
    }
    if (head.length > 0) socket.unshift(head);
    socket.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
    h(r, socket);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    host: `unix://${socketPath}`,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Answers JSON with a status. */
export function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(value));
}
