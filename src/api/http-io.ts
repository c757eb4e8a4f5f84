import type { ServerResponse } from "node:http";
import type { RouteContext } from "./router.js";
import { InvalidArgumentError } from "../lib/errors.js";

const maxJsonBody = 16 * 1024 * 1024;

/**
 * Reads and parses a JSON request body (for upgrade requests, the body the
 * server already split off the raw stream). An empty body yields
 * `fallback`; malformed JSON is a 400.
 */
export async function readJson<T>(ctx: RouteContext, fallback: T): Promise<T> {
  let raw: Buffer;
  if (ctx.upgrade) {
    raw = ctx.upgrade.body;
  } else {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxJsonBody) throw new InvalidArgumentError("request body too large");
      chunks.push(chunk);
    }
    raw = Buffer.concat(chunks);
  }
  const text = raw.toString("utf8").trim();
  if (text === "") return fallback;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InvalidArgumentError(`invalid JSON: ${(err as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) });
  res.end(data);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

/** Docker's query booleans: `1`, `true`, `True` are true; absent, `0`, `false` false. */
export function queryBool(query: URLSearchParams, name: string, fallback = false): boolean {
  const v = query.get(name);
  if (v === null || v === "") return fallback;
  return !(v === "0" || v.toLowerCase() === "false");
}

export function queryInt(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`invalid value for ${name}: ${v}`);
  return n;
}

/** `filters={"status":["running"],"label":["a=b"]}` (also the legacy `{"status":{"running":true}}` form). */
export function queryFilters(query: URLSearchParams): Map<string, string[]> {
  const raw = query.get("filters");
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid filter '${raw}'`);
  }
  if (typeof parsed !== "object" || parsed === null) throw new InvalidArgumentError(`invalid filter '${raw}'`);
  for (const [key, value] of Object.entries(parsed)) {
    if (Array.isArray(value)) out.set(key, value.map(String));
    else if (typeof value === "object" && value !== null) out.set(key, Object.keys(value));
    else throw new InvalidArgumentError(`invalid filter '${key}'`);
  }
  return out;
}
