import type { EventBus } from "../../container/events.js";
import type { Volume, VolumeStore } from "../../container/volume-store.js";
import { queryBool, queryFilters, readJson, sendJson, sendNoContent } from "../http-io.js";
import { pruneMatcher } from "../prune-filters.js";
import type { Router } from "../router.js";
import { compareApiVersions } from "../version.js";

/** A volume as the API shows it (the record's bookkeeping fields left out). */
export function volumeView(v: Volume): Omit<Volume, "anonymous"> {
  const { anonymous: _a, ...rest } = v;
  void _a;
  return rest;
}

export function volumeRoutes(router: Router, volumes: VolumeStore, events: EventBus): void {
  router.add("GET", "/volumes", async (ctx) => {
    sendJson(ctx.res!, 200, { Volumes: (await volumes.list()).map(volumeView), Warnings: [] });
  });
  router.add("POST", "/volumes/create", async (ctx) => {
    const body = await readJson<{ Name?: string; Labels?: Record<string, string> }>(ctx, {});
    const v = await volumes.create(body.Name, { labels: body.Labels });
    events.emit("volume", "create", v.Name, { driver: "local" });
    sendJson(ctx.res!, 201, volumeView(v));
  });
  router.add("GET", "/volumes/{name}", async (ctx) => {
    sendJson(ctx.res!, 200, volumeView(await volumes.get(ctx.params.name!)));
  });
  router.add("DELETE", "/volumes/{name}", async (ctx) => {
    await volumes.remove(ctx.params.name!, queryBool(ctx.query, "force"));
    events.emit("volume", "destroy", ctx.params.name!, { driver: "local" });
    sendNoContent(ctx.res!);
  });
  router.add("POST", "/volumes/prune", async (ctx) => {
    // API 1.42 made pruning named volumes opt-in (`all=true`); older clients expect every unused one to go.
    const filters = queryFilters(ctx.query);
    const match = pruneMatcher(filters, ["all", "label", "label!"]);
    const all = (filters.get("all") ?? []).some((v) => v === "true" || v === "1") || compareApiVersions(ctx.apiVersion, "1.42") < 0;
    const { removed, reclaimed } = await volumes.prune({ all, filter: (v) => match({ created: Date.parse(v.CreatedAt), labels: v.Labels }) });
    for (const name of removed) events.emit("volume", "destroy", name, { driver: "local" });
    sendJson(ctx.res!, 200, { VolumesDeleted: removed, SpaceReclaimed: reclaimed });
  });
}
