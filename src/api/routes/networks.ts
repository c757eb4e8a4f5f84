/**
 * `/networks`: list, inspect, create, remove, connect, disconnect, prune.
 * https://docs.docker.com/engine/api/v1.45/#tag/Network
 */
import type { ContainerService } from "../../container/container-service.js";
import type { EventBus } from "../../container/events.js";
import type { EndpointConfig } from "../../container/types.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import type { CreateNetworkRequest, Network, NetworkStore } from "../../network/index.js";
import { queryFilters, readJson, sendJson, sendNoContent } from "../http-io.js";
import { untilTime } from "../prune-filters.js";
import type { Router } from "../router.js";

export interface NetworkRouteDeps {
  networks: NetworkStore;
  containers: ContainerService;
  events: EventBus;
}

/** Docker's NetworkResource: our record without the fields that are ours. */
function view(n: Network, withContainers = true): Record<string, unknown> {
  const { bridgeName: _b, predefined: _p, Containers, ...rest } = n;
  void _b;
  void _p;
  return { ...rest, Containers: withContainers ? Containers : {} };
}

export function networkRoutes(router: Router, deps: NetworkRouteDeps): void {
  const { networks, containers, events } = deps;

  router.add("GET", "/networks", async (ctx) => {
    const filters = queryFilters(ctx.query);
    sendJson(ctx.res!, 200, networks.list().filter(matcher(filters)).map((n) => view(n, false)));
  });

  router.add("GET", "/networks/{id}", async (ctx) => {
    sendJson(ctx.res!, 200, view(networks.get(ctx.params.id!)));
  });

  router.add("POST", "/networks/create", async (ctx) => {
    const body = await readJson<CreateNetworkRequest>(ctx, { Name: "" });
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new InvalidArgumentError("invalid JSON: expected an object");
    if (typeof body.Name !== "string" || body.Name === "") throw new InvalidArgumentError("network name is required");
    const n = await networks.create(body);
    events.emit("network", "create", n.Id, { name: n.Name, type: n.Driver });
    sendJson(ctx.res!, 201, { Id: n.Id, Warning: "" });
  });

  router.add("DELETE", "/networks/{id}", async (ctx) => {
    const n = networks.get(ctx.params.id!);
    await networks.remove(n.Id);
    events.emit("network", "destroy", n.Id, { name: n.Name, type: n.Driver });
    sendNoContent(ctx.res!);
  });

  router.add("POST", "/networks/{id}/connect", async (ctx) => {
    const n = networks.get(ctx.params.id!);
    const body = await readJson<{ Container?: string; EndpointConfig?: EndpointConfig | null }>(ctx, {});
    if (typeof body.Container !== "string" || body.Container === "") throw new InvalidArgumentError("container is required");
    await containers.connectNetwork(body.Container, n.Name, body.EndpointConfig ?? {});
    events.emit("network", "connect", n.Id, { name: n.Name, type: n.Driver, container: containers.get(body.Container).id });
    sendNoContent(ctx.res!, 200);
  });

  router.add("POST", "/networks/{id}/disconnect", async (ctx) => {
    const n = networks.get(ctx.params.id!);
    const body = await readJson<{ Container?: string; Force?: boolean }>(ctx, {});
    if (typeof body.Container !== "string" || body.Container === "") throw new InvalidArgumentError("container is required");
    const id = containers.get(body.Container).id;
    await containers.disconnectNetwork(id, n.Name, body.Force === true);
    events.emit("network", "disconnect", n.Id, { name: n.Name, type: n.Driver, container: id });
    sendNoContent(ctx.res!, 200);
  });

  router.add("POST", "/networks/prune", async (ctx) => {
    const filters = queryFilters(ctx.query);
    for (const key of filters.keys()) if (key !== "label" && key !== "label!" && key !== "until") throw new InvalidArgumentError(`invalid filter '${key}'`);
    const before = new Map(networks.list().map((n) => [n.Name, n] as const));
    const removed = await networks.prune(matcher(filters));
    for (const name of removed) {
      const n = before.get(name);
      if (n) events.emit("network", "destroy", n.Id, { name, type: n.Driver });
    }
    sendJson(ctx.res!, 200, { NetworksDeleted: removed });
  });
}

/** The list/prune filters: driver, id, label, label!, name, scope, type (custom|builtin), dangling, until. */
function matcher(filters: Map<string, string[]>): (n: Network) => boolean {
  for (const key of filters.keys()) {
    if (!["driver", "id", "label", "label!", "name", "scope", "type", "dangling", "until"].includes(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
  }
  for (const t of filters.get("type") ?? []) if (t !== "custom" && t !== "builtin") throw new InvalidArgumentError(`invalid filter: 'type'='${t}'`);
  const label = (n: Network, v: string) => {
    const i = v.indexOf("=");
    return i < 0 ? v in n.Labels : n.Labels[v.slice(0, i)] === v.slice(i + 1);
  };
  return (n) => {
    for (const [key, values] of filters) {
      const ok = (() => {
        switch (key) {
          case "driver":
            return values.includes(n.Driver);
          case "id":
            return values.some((v) => n.Id.startsWith(v));
          case "name":
            return values.some((v) => n.Name.includes(v));
          case "scope":
            return values.includes(n.Scope);
          case "type":
            return values.includes(n.predefined ? "builtin" : "custom");
          case "label":
            return values.every((v) => label(n, v));
          case "label!":
            return !values.some((v) => label(n, v));
          case "dangling":
            return values.some((v) => (v === "true" || v === "1") === (!n.predefined && Object.keys(n.Containers).length === 0));
          case "until":
            return values.every((v) => Date.parse(n.Created) < untilTime(v));
          default:
            return true;
        }
      })();
      if (!ok) return false;
    }
    return true;
  };
}
