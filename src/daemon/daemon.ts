import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import { createLogger } from "../lib/logger.js";
import type { DaemonOptions } from "./daemon-options.js";
import { createEngine } from "./engine.js";
import { listenTcp, listenUnix, parseListenAddress } from "./listen.js";
import { createApiServer } from "../api/server.js";
import { buildRouter } from "../api/routes/index.js";
import { acquirePidFile } from "./pid-file.js";

/**
 * `wharf daemon`: opens the stores, re-adopts containers left running by a
 * previous daemon, and serves the Docker Engine API until SIGINT/SIGTERM.
 * Containers keep running when the daemon stops (each has its own conmon).
 */
export async function startDaemon(options: DaemonOptions): Promise<void> {
  const log = createLogger(options.logLevel);
  await mkdir(options.dataRoot, { recursive: true, mode: 0o711 });
  await mkdir(options.execRoot, { recursive: true, mode: 0o711 });
  const releasePid = await acquirePidFile(join(options.execRoot, "wharf.pid"));

  const engine = await createEngine(options, log);
  const router = buildRouter(engine, options, log);
  const servers: Server[] = [];
  for (const host of options.hosts) {
    const addr = parseListenAddress(host);
    const server = createApiServer(router, log);
    if (addr.kind === "unix") await listenUnix(server, addr.path, options.group, log);
    else await listenTcp(server, addr.host, addr.port);
    servers.push(server);
    log.info(`API listening on ${host}`);
  }
  log.info(`Wharf daemon ready (data root ${options.dataRoot})`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`received ${signal}, shutting down; containers keep running`);
    for (const s of servers) {
      s.close();
      s.closeAllConnections();
    }
    // Port reservations and DNS servers end with the process; the kernel state stays for live restore.
    void engine.networks
      .close()
      .catch((err: unknown) => log.warn(`closing networks: ${String(err)}`))
      .then(releasePid)
      .finally(() => process.exit(0));
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}
