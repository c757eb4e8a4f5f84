import type { Builder } from "../../build/index.js";
import type { Logger } from "../../lib/logger.js";
import { isWharfError, InvalidArgumentError } from "../../lib/errors.js";
import { queryBool, queryFilters, sendJson } from "../http-io.js";
import type { Router } from "../router.js";

/**
 * `POST /build` (the classic builder's API: a context tar in, a JSON-message
 * stream out) and `POST /build/prune`.
 * https://docs.docker.com/engine/api/v1.45/#tag/Image/operation/ImageBuild
 */
export function buildRoutes(router: Router, builds: Builder, log: Logger): void {
  router.add("POST", "/build", async (ctx) => {
    const q = ctx.query;
    if (q.get("remote")) throw new InvalidArgumentError("remote build contexts are not supported; send the context as a tar");
    const request = {
      dockerfile: q.get("dockerfile") || "Dockerfile",
      tags: q.getAll("t").filter(Boolean),
      buildArgs: jsonMap<string | null>(q.get("buildargs"), "buildargs"),
      labels: jsonMap<string>(q.get("labels"), "labels"),
      target: q.get("target") || undefined,
      noCache: queryBool(q, "nocache"),
      pull: queryBool(q, "pull"),
      networkMode: q.get("networkmode") || undefined,
    };
    const quiet = queryBool(q, "q");
    const res = ctx.res!;
    const abort = new AbortController();
    // A client that goes away (Ctrl-C) cancels the build: its containers are killed and removed.
    res.on("close", () => {
      if (!res.writableFinished) abort.abort(new InvalidArgumentError("build cancelled: the client disconnected"));
    });
    res.writeHead(200, { "Content-Type": "application/json" });
    const write = (m: unknown) => {
      if (!res.destroyed) res.write(JSON.stringify(m) + "\r\n");
    };
    try {
      await builds.buildFromTar(ctx.req, { ...request, signal: abort.signal }, {
        stream: (text) => {
          if (!quiet) write({ stream: text });
        },
        aux: (value) => write({ aux: value }),
      });
    } catch (err) {
      // The status line is gone already: errors travel in the stream, as Docker sends them.
      const message = err instanceof Error ? err.message : String(err);
      const code = typeof (err as { exitCode?: unknown }).exitCode === "number" ? (err as { exitCode: number }).exitCode : 1;
      if (!isWharfError(err) && !abort.signal.aborted) log.error(`build: ${err instanceof Error ? (err.stack ?? message) : message}`);
      write({ errorDetail: { code, message }, error: message });
    }
    res.end();
  });

  router.add("POST", "/build/prune", async (ctx) => {
    // The classic builder's cache is images: none of BuildKit's cache-record filters apply, and
    // ignoring one would prune everything.
    for (const key of queryFilters(ctx.query).keys()) throw new InvalidArgumentError(`invalid filter '${key}': the build cache prune takes no filters`);
    const { deleted, reclaimed } = await builds.prune();
    sendJson(ctx.res!, 200, { CachesDeleted: deleted, SpaceReclaimed: reclaimed });
  });
}

function jsonMap<T>(raw: string | null, name: string): Record<string, T> {
  if (!raw) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid ${name}: not a JSON object`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError(`invalid ${name}: not a JSON object`);
  return parsed as Record<string, T>;
}
