import { archivePath, exportTree, extractionPoint, statPath } from "../../container/archive.js";
import type { ContainerService } from "../../container/container-service.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { encodePathStat } from "../../lib/path-stat.js";
import { unpackLayer } from "../../snapshot/index.js";
import { sendNoContent } from "../http-io.js";
import type { Router } from "../router.js";

const statHeader = "X-Docker-Container-Path-Stat";

/** `docker cp`: HEAD (stat), GET (tar out) and PUT (tar in) of a path in a container; `docker export`. */
export function archiveRoutes(router: Router, containers: ContainerService): void {
  const pathOf = (query: URLSearchParams) => {
    const p = query.get("path");
    if (!p) throw new InvalidArgumentError("path is required");
    return p;
  };

  router.add("HEAD", "/containers/{id}/archive", async (ctx) => {
    const { record, root, release } = await containers.rootfsFor(ctx.params.id!);
    try {
      const { stat } = await statPath(root, pathOf(ctx.query), record.name);
      ctx.res!.setHeader(statHeader, encodePathStat(stat));
      sendNoContent(ctx.res!, 200);
    } finally {
      await release();
    }
  });

  router.add("GET", "/containers/{id}/archive", async (ctx) => {
    const { record, root, release } = await containers.rootfsFor(ctx.params.id!);
    try {
      const { stat, tar } = await archivePath(root, pathOf(ctx.query), record.name);
      const res = ctx.res!;
      res.writeHead(200, { "Content-Type": "application/x-tar", [statHeader]: encodePathStat(stat) });
      tar.pipe(res);
      await new Promise<void>((resolve) => res.once("close", resolve));
    } finally {
      await release();
    }
  });

  router.add("PUT", "/containers/{id}/archive", async (ctx) => {
    const { record, root, release } = await containers.rootfsFor(ctx.params.id!);
    try {
      if (record.hostConfig.ReadonlyRootfs) throw new InvalidArgumentError("container rootfs is marked read-only");
      const dest = await extractionPoint(root, pathOf(ctx.query), record.name);
      await unpackLayer(ctx.req, dest);
      sendNoContent(ctx.res!, 200);
    } finally {
      await release();
    }
  });

  router.add("GET", "/containers/{id}/export", async (ctx) => {
    const { root, release } = await containers.rootfsFor(ctx.params.id!, "layer");
    try {
      const res = ctx.res!;
      res.writeHead(200, { "Content-Type": "application/x-tar" });
      const tar = exportTree(root);
      // A tree that cannot be read to the end must cut the response short, not leave it hanging.
      tar.once("error", (err) => res.destroy(err));
      tar.pipe(res);
      await new Promise<void>((resolve) => res.once("close", resolve));
    } finally {
      await release();
    }
  });
}
