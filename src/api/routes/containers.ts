import type { ContainerService, WaitCondition } from "../../container/container-service.js";
import { networksOf } from "../../container/container-network.js";
import type { ContainerRecord } from "../../container/types.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { hijack } from "../hijack.js";
import { queryBool, queryFilters, queryInt, readJson, sendJson, sendNoContent } from "../http-io.js";
import { pruneMatcher } from "../prune-filters.js";
import type { Router, RouteContext } from "../router.js";
import { frame } from "../stdcopy.js";
import type { NetworkStore } from "../../network/index.js";
import { inspectContainer, networkLookupFor, summarizeContainer } from "../views/container-view.js";

export interface ContainerRouteDeps {
  containers: ContainerService;
  networks: NetworkStore;
  /** Image ID for a reference, used by the `ancestor` filter; undefined if unknown. */
  resolveImageId(ref: string): Promise<string | undefined>;
  /** Size of an image by ID (0 for one that is gone), for `SizeRootFs`. */
  imageSize(id: string): Promise<number>;
}

const rawStream = "application/vnd.docker.raw-stream";
const multiplexedStream = "application/vnd.docker.multiplexed-stream";

export function containerRoutes(router: Router, deps: ContainerRouteDeps): void {
  const { containers, networks } = deps;
  const networkLookup = networkLookupFor(containers, networks);
  // `size=true` (docker ps -s, inspect -s) walks the container's writable layer: only on request.
  const withSizes = async (r: ContainerRecord, view: Record<string, unknown>, imageSize: (id: string) => Promise<number>) => {
    const sizeRw = await containers.sizeRw(r.id);
    return { ...view, SizeRw: sizeRw, SizeRootFs: sizeRw + (await imageSize(r.image)) };
  };

  router.add("POST", "/containers/create", async (ctx) => {
    const body = await readJson<Record<string, unknown>>(ctx, {});
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new InvalidArgumentError("invalid JSON: expected an object");
    const { HostConfig, NetworkingConfig, ...config } = body;
    if (HostConfig !== undefined && (typeof HostConfig !== "object" || HostConfig === null)) throw new InvalidArgumentError("HostConfig must be an object");
    if (NetworkingConfig != null && (typeof NetworkingConfig !== "object" || Array.isArray(NetworkingConfig))) throw new InvalidArgumentError("NetworkingConfig must be an object");
    const endpoints = (NetworkingConfig as { EndpointsConfig?: Record<string, never> } | null | undefined)?.EndpointsConfig ?? undefined;
    const name = ctx.query.get("name") ?? undefined;
    const { id, warnings } = await containers.create({ name, config: config as never, hostConfig: (HostConfig ?? {}) as never, endpoints });
    sendJson(ctx.res!, 201, { Id: id, Warnings: warnings });
  });

  router.add("GET", "/containers/json", async (ctx) => {
    const all = queryBool(ctx.query, "all");
    const limit = queryInt(ctx.query, "limit") ?? -1;
    const filters = queryFilters(ctx.query);
    let list = containers.list().sort((a, b) => b.created.localeCompare(a.created));
    if (!all && !filters.has("status") && limit <= 0) list = list.filter((r) => r.state.Running || r.state.Restarting);
    list = await applyFilters(list, filters, deps);
    if (limit > 0) list = list.slice(0, limit);
    const views = list.map((r) => summarizeContainer(r, r.config.Image, networkLookup(r)));
    if (!queryBool(ctx.query, "size")) return sendJson(ctx.res!, 200, views);
    sendJson(ctx.res!, 200, await Promise.all(list.map((r, i) => withSizes(r, views[i]!, deps.imageSize))));
  });

  router.add("GET", "/containers/{id}/json", async (ctx) => {
    const r = containers.get(ctx.params.id!);
    const view = inspectContainer(r, networkLookup(r));
    sendJson(ctx.res!, 200, queryBool(ctx.query, "size") ? await withSizes(r, view, deps.imageSize) : view);
  });

  router.add("POST", "/containers/{id}/start", async (ctx) => {
    await containers.start(ctx.params.id!);
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/containers/{id}/stop", async (ctx) => {
    await containers.stop(ctx.params.id!, { timeout: queryInt(ctx.query, "t"), signal: ctx.query.get("signal") || undefined });
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/containers/{id}/restart", async (ctx) => {
    await containers.restart(ctx.params.id!, { timeout: queryInt(ctx.query, "t"), signal: ctx.query.get("signal") || undefined });
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/containers/{id}/kill", async (ctx) => {
    await containers.kill(ctx.params.id!, ctx.query.get("signal") || "SIGKILL");
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/containers/{id}/pause", async (ctx) => {
    await containers.pause(ctx.params.id!);
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/containers/{id}/unpause", async (ctx) => {
    await containers.unpause(ctx.params.id!);
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/containers/{id}/rename", async (ctx) => {
    const name = ctx.query.get("name");
    if (!name) throw new InvalidArgumentError("name is required");
    await containers.rename(ctx.params.id!, name);
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/containers/{id}/resize", async (ctx) => {
    await containers.resize(ctx.params.id!, queryInt(ctx.query, "h") ?? 0, queryInt(ctx.query, "w") ?? 0);
    sendNoContent(ctx.res!, 200);
  });

  router.add("DELETE", "/containers/{id}", async (ctx) => {
    await containers.remove(ctx.params.id!, { force: queryBool(ctx.query, "force"), volumes: queryBool(ctx.query, "v") });
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/containers/prune", async (ctx) => {
    const match = pruneMatcher(queryFilters(ctx.query), ["until", "label", "label!"]);
    const { deleted, reclaimed } = await containers.prune((r) => match({ created: Date.parse(r.created), labels: r.config.Labels }));
    sendJson(ctx.res!, 200, { ContainersDeleted: deleted, SpaceReclaimed: reclaimed });
  });

  router.add("POST", "/containers/{id}/wait", async (ctx) => {
    const condition = (ctx.query.get("condition") || "not-running") as WaitCondition;
    if (!["not-running", "next-exit", "removed"].includes(condition)) throw new InvalidArgumentError(`invalid condition: "${condition}"`);
    const exit = containers.wait(ctx.params.id!, condition);
    // Headers go out at once: the docker CLI starts the container only after the wait is registered.
    const res = ctx.res!;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders();
    const code = await exit;
    res.end(JSON.stringify({ StatusCode: code, Error: null }) + "\n");
  });

  router.add("POST", "/containers/{id}/attach", async (ctx) => {
    const record = containers.get(ctx.params.id!);
    await attach(ctx, containers, record);
  });

  router.add("GET", "/containers/{id}/logs", async (ctx) => {
    const record = containers.get(ctx.params.id!);
    const stdout = queryBool(ctx.query, "stdout");
    const stderr = queryBool(ctx.query, "stderr");
    if (!stdout && !stderr) throw new InvalidArgumentError("Bad parameters: you must choose at least one stream");
    const tailRaw = ctx.query.get("tail");
    const tailNumber = tailRaw === null || tailRaw === "" || tailRaw === "all" ? undefined : Number(tailRaw);
    if (tailNumber !== undefined && !Number.isInteger(tailNumber)) throw new InvalidArgumentError(`invalid tail value: ${tailRaw}`);
    // Docker reads a negative tail as "all".
    const tail = tailNumber !== undefined && tailNumber >= 0 ? tailNumber : undefined;
    const timestamps = queryBool(ctx.query, "timestamps");
    const entries = containers.logs(record.id, {
      stdout,
      stderr,
      follow: queryBool(ctx.query, "follow"),
      tail,
      since: parseTime(ctx.query.get("since")),
      until: parseTime(ctx.query.get("until")),
    });
    const res = ctx.res!;
    res.writeHead(200, { "Content-Type": record.config.Tty ? rawStream : multiplexedStream });
    res.flushHeaders();
    let gone = false;
    res.once("close", () => (gone = true));
    for await (const e of entries) {
      if (gone) break;
      const data = timestamps ? Buffer.concat([Buffer.from(`${e.timestamp} `), e.data]) : e.data;
      res.write(record.config.Tty ? data : frame(e.stream, data));
    }
    res.end();
  });

  router.add("GET", "/containers/{id}/top", async (ctx) => {
    sendJson(ctx.res!, 200, await containers.top(ctx.params.id!, ctx.query.get("ps_args") || "-ef"));
  });
}

async function attach(ctx: RouteContext, containers: ContainerService, record: ContainerRecord): Promise<void> {
  const tty = record.config.Tty;
  const stream = hijack(ctx, tty ? rawStream : multiplexedStream);
  const wantStdin = queryBool(ctx.query, "stdin");
  const session = await containers.attach(
    record.id,
    {
      stdin: wantStdin ? stream.input : undefined,
      stdout: queryBool(ctx.query, "stdout"),
      stderr: queryBool(ctx.query, "stderr"),
      logs: queryBool(ctx.query, "logs"),
      stream: queryBool(ctx.query, "stream"),
    },
    (s, data) => stream.write(tty ? data : frame(s, data)),
  );
  void stream.closed.then(() => session.detach());
  await session.done;
  stream.end();
}

/** Docker's `since`/`until`: unix seconds (with fraction), RFC 3339, or a duration like `10m` before now. */
export function parseTime(v: string | null): number | undefined {
  if (v === null || v === "" || v === "0") return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const rel = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (rel) {
    const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    return Date.now() / 1000 - Number(rel[1]) * unit[rel[2]!]!;
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid time value: ${v}`);
  return t / 1000;
}

async function applyFilters(list: ContainerRecord[], filters: Map<string, string[]>, deps: ContainerRouteDeps): Promise<ContainerRecord[]> {
  for (const [key, values] of filters) {
    switch (key) {
      case "id":
        list = list.filter((r) => values.some((v) => r.id.startsWith(v)));
        break;
      case "name":
        list = list.filter((r) => values.some((v) => new RegExp(v.replace(/^\//, "")).test(r.name)));
        break;
      case "status":
        for (const v of values) {
          if (!["created", "restarting", "running", "removing", "paused", "exited", "dead"].includes(v)) {
            throw new InvalidArgumentError(`invalid filter 'status=${v}'`);
          }
        }
        list = list.filter((r) => values.includes(r.state.Status));
        break;
      case "exited":
        list = list.filter((r) => r.state.Status === "exited" && values.includes(String(r.state.ExitCode)));
        break;
      case "health":
        for (const v of values) {
          if (!["starting", "healthy", "unhealthy", "none"].includes(v)) {
            throw new InvalidArgumentError(`Unrecognised filter value for health: ${v}`);
          }
        }
        // "none": no health check; a stopped container's last health status still counts, as in dockerd.
        list = list.filter((r) => values.includes(r.state.Health?.Status ?? "none"));
        break;
      case "label":
        list = list.filter((r) =>
          values.every((v) => {
            const i = v.indexOf("=");
            return i < 0 ? v in r.config.Labels : r.config.Labels[v.slice(0, i)] === v.slice(i + 1);
          }),
        );
        break;
      case "ancestor": {
        const ids = new Set<string>();
        for (const v of values) {
          const id = await deps.resolveImageId(v);
          if (id) ids.add(id);
        }
        list = list.filter((r) => ids.has(r.image) || values.includes(r.config.Image));
        break;
      }
      case "network": {
        const names = values.map((v) => deps.networks.list().find((n) => n.Name === v || n.Id.startsWith(v))?.Name ?? v);
        list = list.filter((r) => names.some((n) => n in networksOf(r)));
        break;
      }
      case "publish":
      case "expose":
        list = list.filter((r) => {
          const bound = deps.containers.sandboxOf(r.id)?.ports ?? [];
          return values.some((v) => {
            const [port, proto = "tcp"] = v.split("/");
            return key === "expose"
              ? Object.keys(r.config.ExposedPorts ?? {}).some((k) => k === `${port}/${proto}` || (k === port && proto === "tcp"))
              : bound.some((b) => String(b.hostPort) === port && b.protocol === proto);
          });
        });
        break;
      default:
        throw new InvalidArgumentError(`invalid filter '${key}'`);
    }
  }
  return list;
}
