import type { DaemonOptions } from "../../daemon/daemon-options.js";
import type { Engine } from "../../daemon/engine.js";
import type { Logger } from "../../lib/logger.js";
import { Router } from "../router.js";
import { archiveRoutes } from "./archive.js";
import { authRoutes } from "./auth.js";
import { buildRoutes } from "./build.js";
import { containerRoutes } from "./containers.js";
import { diskUsageRoutes } from "./disk-usage.js";
import { execRoutes } from "./exec.js";
import { imageRoutes } from "./images.js";
import { networkRoutes } from "./networks.js";
import { systemRoutes } from "./system.js";
import { volumeRoutes } from "./volumes.js";

/** Every Docker Engine API route Wharf serves, wired to the engine's services. */
export function buildRouter(engine: Engine, options: DaemonOptions, log: Logger): Router {
  const router = new Router();
  systemRoutes(router, {
    containers: engine.containers,
    events: engine.events,
    imageCount: async () => (await engine.images.list()).length,
    dataRoot: options.dataRoot,
    runtimePath: options.runtime,
    startedAt: new Date(),
  });
  containerRoutes(router, {
    containers: engine.containers,
    networks: engine.networks,
    resolveImageId: async (ref) => (await engine.images.get(ref).catch(() => undefined))?.id,
    imageSize: async (id) => (await engine.images.get(id).catch(() => undefined))?.size ?? 0,
  });
  archiveRoutes(router, engine.containers);
  execRoutes(router, engine.execs);
  imageRoutes(router, engine.images);
  authRoutes(router, engine.images);
  buildRoutes(router, engine.builder, log);
  volumeRoutes(router, engine.volumes, engine.events);
  diskUsageRoutes(router, { images: engine.images, containers: engine.containers, volumes: engine.volumes, networks: engine.networks });
  networkRoutes(router, { networks: engine.networks, containers: engine.containers, events: engine.events });
  return router;
}
