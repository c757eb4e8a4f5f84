import type { ImageService } from "../../container/image-service.js";
import { familiarName, isValidTag, parseReference, type ImageRecord } from "../../image/index.js";
import { credentialsOf, decodeAuthHeader } from "../../distribution/auth-config.js";
import { parsePlatform } from "../../distribution/platform.js";
import { parseRemoteReference } from "../../distribution/registry-endpoint.js";
import { ProgressStream } from "../progress-stream.js";
import { applyChanges } from "../../container/config-changes.js";
import { InvalidArgumentError, NotFoundError } from "../../lib/errors.js";
import { queryBool, queryFilters, readJson, sendJson } from "../http-io.js";
import { pruneMatcher } from "../prune-filters.js";
import type { Router } from "../router.js";

/** Docker's image endpoints; names may hold slashes, so `{name:.*}` routes. */
export function imageRoutes(router: Router, images: ImageService): void {
  router.add("GET", "/images/json", async (ctx) => {
    const all = queryBool(ctx.query, "all");
    const filters = queryFilters(ctx.query);
    let list = await images.list();
    for (const [key, values] of filters) {
      switch (key) {
        case "dangling": {
          const want = values.includes("true") || values.includes("1");
          list = list.filter((i) => (i.repoTags.length === 0) === want);
          break;
        }
        case "reference":
          list = list.filter((i) => i.repoTags.some((t) => values.some((v) => globMatch(v.includes(":") ? v : `${v}:*`, t))));
          break;
        case "label":
          list = list.filter((i) => values.every((v) => labelMatch(i.config.config?.Labels ?? {}, v)));
          break;
        case "before":
        case "since": {
          const pivot = await images.get(values[0]!);
          list = list.filter((i) => (key === "before" ? i.created < pivot.created : i.created > pivot.created));
          break;
        }
        default:
          throw new InvalidArgumentError(`invalid filter '${key}'`);
      }
    }
    // Without `all`, Docker hides untagged intermediate images that have children.
    if (!all) list = list.filter((i) => i.repoTags.length > 0 || !list.some((o) => o.parent === i.id));
    list.sort((a, b) => b.created.localeCompare(a.created));
    sendJson(ctx.res!, 200, list.map((i) => summarizeImage(i, images.containersUsing(i.id))));
  });

  router.add("POST", "/images/load", async (ctx) => {
    const quiet = queryBool(ctx.query, "quiet");
    const loaded = await images.load(ctx.req);
    const res = ctx.res!;
    res.writeHead(200, { "Content-Type": "application/json" });
    for (const line of loaded) res.write(JSON.stringify({ stream: `${line}\n` }) + "\n");
    if (quiet && loaded.length === 0) res.write(JSON.stringify({ stream: "" }) + "\n");
    res.end();
  });

  const save = async (ctx: Parameters<Parameters<Router["add"]>[2]>[0], names: string[]) => {
    if (names.length === 0) throw new InvalidArgumentError("no image names given");
    const tar = await images.save(names);
    const res = ctx.res!;
    res.writeHead(200, { "Content-Type": "application/x-tar" });
    tar.pipe(res);
    await new Promise<void>((resolve) => res.once("close", resolve));
  };
  router.add("GET", "/images/get", (ctx) => save(ctx, ctx.query.getAll("names")));
  router.add("GET", "/images/{name:.*}/get", (ctx) => save(ctx, [ctx.params.name!]));

  router.add("POST", "/images/create", async (ctx) => {
    const fromSrc = ctx.query.get("fromSrc");
    const fromImage = ctx.query.get("fromImage");
    if (fromSrc) {
      const repo = ctx.query.get("repo") || undefined;
      const tag = ctx.query.get("tag") || undefined;
      const opts = {
        ref: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
        changes: applyChanges({}, ctx.query.getAll("changes")),
        message: ctx.query.get("message") || undefined,
      };
      // `-` means the request body; anything else is a URL the daemon fetches, as Docker's does.
      const image = fromSrc === "-" ? await images.importRootfs(ctx.req, opts) : await images.importUrl(fromSrc, opts);
      const res = ctx.res!;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ status: image.id }) + "\n");
      return;
    }
    if (fromImage) {
      const tag = ctx.query.get("tag") || undefined;
      const out = new ProgressStream(ctx.res!);
      const platform = ctx.query.get("platform") || undefined;
      const opts = { credentials: credentialsOf(decodeAuthHeader(ctx.req.headers["x-registry-auth"])), progress: out.send, signal: out.signal(), ...(platform ? { platform: parsePlatform(platform) } : {}) };
      // The docker CLI leaves `tag` out only for `pull -a`: a bare name then means every tag, as in dockerd.
      const allTags = tag === undefined && isBareName(fromImage);
      const ref = allTags ? fromImage : pullReference(fromImage, tag);
      await streamed(out, () => (allTags ? images.pullAllTags(ref, opts) : images.pull(ref, opts)));
      return;
    }
    throw new InvalidArgumentError("fromImage or fromSrc is required");
  });

  router.add("POST", "/images/{name:.*}/push", async (ctx) => {
    const name = ctx.params.name!;
    const tag = ctx.query.get("tag") || undefined;
    const credentials = credentialsOf(decodeAuthHeader(ctx.req.headers["x-registry-auth"]));
    // Without a tag Docker pushes every local tag of the repository.
    const refs = tag ? [`${name}:${tag}`] : await repositoryTags(images, name);
    const out = new ProgressStream(ctx.res!);
    const signal = out.signal();
    await streamed(out, async () => {
      for (const ref of refs) await images.push(ref, { credentials, progress: out.send, signal });
    });
  });

  router.add("POST", "/images/prune", async (ctx) => {
    const filters = queryFilters(ctx.query);
    const match = pruneMatcher(filters, ["dangling", "until", "label", "label!"]);
    const all = (filters.get("dangling") ?? []).some((v) => v === "false" || v === "0");
    const { deleted, reclaimed } = await images.prune({ all, filter: (i) => match({ created: Date.parse(i.created), labels: i.config.config?.Labels }) });
    sendJson(ctx.res!, 200, { ImagesDeleted: deleted, SpaceReclaimed: reclaimed });
  });

  router.add("POST", "/commit", async (ctx) => {
    const container = ctx.query.get("container");
    if (!container) throw new InvalidArgumentError("container is required");
    const repo = ctx.query.get("repo") || undefined;
    const tag = ctx.query.get("tag") || undefined;
    const body = await readJson<Record<string, unknown> | null>(ctx, null);
    const changes = applyChanges((body ?? {}) as never, ctx.query.getAll("changes").flatMap((c) => c.split("\n")).filter(Boolean));
    const image = await images.commit(container, {
      ref: repo ? (tag ? `${repo}:${tag}` : repo) : undefined,
      author: ctx.query.get("author") || undefined,
      comment: ctx.query.get("comment") || undefined,
      changes,
      pause: queryBool(ctx.query, "pause", true),
    });
    sendJson(ctx.res!, 201, { Id: image.id });
  });

  router.add("GET", "/images/{name:.*}/json", async (ctx) => {
    const image = await images.get(ctx.params.name!);
    sendJson(ctx.res!, 200, inspectImage(image));
  });

  router.add("GET", "/images/{name:.*}/history", async (ctx) => {
    const rows = await images.store.history(ctx.params.name!);
    sendJson(ctx.res!, 200, rows.map((r) => ({ Id: r.id, Created: r.created, CreatedBy: r.createdBy, Tags: r.tags.length ? r.tags : null, Size: r.size, Comment: r.comment })));
  });

  router.add("POST", "/images/{name:.*}/tag", async (ctx) => {
    const repo = ctx.query.get("repo");
    if (!repo) throw new InvalidArgumentError("repository name must have at least one component");
    await images.tag(ctx.params.name!, repo, ctx.query.get("tag") || undefined);
    sendJson(ctx.res!, 201, {});
  });

  router.add("DELETE", "/images/{name:.*}", async (ctx) => {
    sendJson(ctx.res!, 200, await images.remove(ctx.params.name!, { force: queryBool(ctx.query, "force") }));
  });
}

/** `fromImage` + `tag` as the docker CLI sends them (`tag` may be a digest) → one reference; invalid names fail here, before any network call. */
/** `busybox`, `host:5000/a/b`: a repository without tag or digest (invalid names are left to the pull to refuse). */
function isBareName(fromImage: string): boolean {
  try {
    const ref = parseRemoteReference(fromImage);
    return ref.tag === undefined && ref.digest === undefined;
  } catch {
    return false;
  }
}

function pullReference(fromImage: string, tag: string | undefined): string {
  const ref = parseRemoteReference(fromImage);
  if (tag === undefined) return fromImage;
  if (tag.startsWith("sha256:")) return `${ref.name}@${tag}`;
  if (!isValidTag(tag)) throw new InvalidArgumentError(`invalid tag format: ${JSON.stringify(tag)}`);
  return `${ref.name}:${tag}`;
}

/** Every local tag of a repository (`docker push name` without a tag). */
async function repositoryTags(images: ImageService, name: string): Promise<string[]> {
  const repo = familiarName(parseReference(name));
  const tags = (await images.list()).flatMap((i) => i.repoTags).filter((t) => t.startsWith(`${repo}:`));
  if (tags.length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${repo}`);
  return [...new Set(tags)].sort();
}

/** Runs a transfer into a progress stream: errors before the first message are the answer's status, later ones an error message. */
async function streamed(out: ProgressStream, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!out.started) throw err;
    out.fail(err);
  }
  out.end();
}

/** An `ImageSummary` of /images/json; `sharedSize` is -1 unless computed (only /system/df does). */
export function summarizeImage(i: ImageRecord, containers: number, sharedSize = -1): Record<string, unknown> {
  return {
    Id: i.id,
    ParentId: i.parent ?? "",
    RepoTags: i.repoTags,
    RepoDigests: i.repoDigests,
    Created: Math.floor(Date.parse(i.created) / 1000),
    Size: i.size,
    SharedSize: sharedSize,
    VirtualSize: i.size,
    Labels: i.config.config?.Labels ?? {},
    Containers: containers,
  };
}

/** Docker's image inspect lists every Config field, empty ones too; clients read them unguarded. */
const emptyImageConfig = {
  Hostname: "",
  Domainname: "",
  User: "",
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: null,
  Image: "",
  Volumes: null,
  WorkingDir: "",
  Entrypoint: null,
  OnBuild: null,
  Labels: null,
};

function inspectImage(i: ImageRecord): Record<string, unknown> {
  const c = i.config;
  return {
    Id: i.id,
    RepoTags: i.repoTags,
    RepoDigests: i.repoDigests,
    Parent: i.parent ?? "",
    Comment: c.history?.at(-1)?.comment ?? "",
    Created: i.created,
    DockerVersion: "",
    Author: c.author ?? "",
    Config: { ...emptyImageConfig, ...(c.config ?? {}) },
    Architecture: c.architecture,
    Variant: c.variant,
    Os: c.os,
    Size: i.size,
    VirtualSize: i.size,
    GraphDriver: { Name: "overlay2", Data: null },
    RootFS: { Type: "layers", Layers: c.rootfs.diff_ids },
    Metadata: { LastTagTime: "0001-01-01T00:00:00Z" },
  };
}

function labelMatch(labels: Record<string, string>, v: string): boolean {
  const i = v.indexOf("=");
  return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
}

/** Docker's `reference` filter: shell-style `*` within a path component. */
function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp("^" + pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*") + "$");
  return re.test(value);
}
